//! Fuzz target: arbitrary SQL text is parsed, planned and executed against a small in-memory
//! database (tables with rows and indexes). Any panic or stack overflow is a bug; errors are fine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toondb_query::Database;

const SETUP: &str = "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c REAL, d BLOB);
CREATE INDEX t1b ON t1(b);
CREATE TABLE t2(x INTEGER, y TEXT UNIQUE, z);
INSERT INTO t1 VALUES (1, 'one', 1.5, x'00ff'), (2, 'two', NULL, NULL), (3, NULL, -2.0, x'');
INSERT INTO t2 VALUES (1, 'a', 10), (NULL, 'b', 'txt'), (3, NULL, 2.5);
CREATE VIEW v1 AS SELECT a, b FROM t1 WHERE a > 1;";

/// Inputs starting with `#` and a count byte are expanded: the rest is repeated `count * 256`
/// times, so short inputs reach the long-statement paths (operator chains of tens of thousands
/// of terms, deep nesting) that a 4 KiB input cannot.
fn expand(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match data {
        [b'#', n, rest @ ..] if !rest.is_empty() && rest.len() <= 64 => {
            let times = usize::from(*n).max(1) * 256;
            std::borrow::Cow::Owned(rest.repeat(times))
        }
        _ => std::borrow::Cow::Borrowed(data),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 256 * 1024 {
        return;
    }
    let data = expand(data);
    let sql = String::from_utf8_lossy(&data);
    let db = Database::open_mem();
    let mut s = db.session();
    if s.execute(SETUP).is_err() {
        return;
    }
    // Run statements one by one so later ones still run after an error.
    for stmt in sql.split(';') {
        let _ = s.execute(stmt);
    }
    // The session must stay usable.
    let _ = s.execute("SELECT count(*) FROM t1");
});
