//! Robustness: mutated and truncated SQL (taken from the sqllogictest corpus) must produce
//! results or errors, never panics; the session must stay usable afterwards.
#![allow(clippy::unwrap_used)] // test code

use toondb_query::{Database, Session};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let text = std::fs::read_to_string(dir.join("select1.test")).unwrap()
        + &std::fs::read_to_string(dir.join("evidence/slt_lang_aggfunc.test")).unwrap()
        + &std::fs::read_to_string(dir.join("features/window.test")).unwrap();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_sql = false;
    for line in text.lines() {
        if line.starts_with("statement") || line.starts_with("query") {
            in_sql = true;
            cur.clear();
        } else if in_sql && (line.is_empty() || line == "----") {
            in_sql = false;
            out.push(cur.clone());
        } else if in_sql {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    out
}

const TOKENS: &[&str] = &[
    "(",
    ")",
    ",",
    "NULL",
    "SELECT",
    "FROM",
    "WHERE",
    "*",
    "-",
    "/",
    "%",
    "'x'",
    "x'00'",
    "?",
    "$2",
    "CASE",
    "END",
    "IN",
    "(SELECT 1)",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "GROUP BY",
    "ORDER BY",
    "LIMIT",
    "JOIN",
    "ON",
    "EXISTS",
    "NOT",
    "BETWEEN",
    "AND",
    "OR",
    "||",
    "count(*)",
    "avg(",
    "DISTINCT",
    "UNION",
    "t1",
    "a",
    ";",
    "\u{0}",
    "é",
    "abs(",
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !chars.is_empty() => {
                let at = rng.below(chars.len());
                chars.truncate(at);
            }
            1 if !chars.is_empty() => {
                let at = rng.below(chars.len());
                chars.remove(at);
            }
            2 | 3 => {
                let at = rng.below(chars.len() + 1);
                let tok = format!(" {} ", TOKENS[rng.below(TOKENS.len())]);
                for (k, c) in tok.chars().enumerate() {
                    chars.insert(at + k, c);
                }
            }
            _ if !chars.is_empty() => {
                let a = rng.below(chars.len());
                let b = rng.below(chars.len());
                chars.swap(a, b);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn fresh() -> Session {
    let db = Database::open_mem();
    let mut s = db.session();
    s.execute(
        "CREATE TABLE t1(a INTEGER, b INTEGER, c INTEGER, d INTEGER, e INTEGER);
         CREATE INDEX t1a ON t1(a);
         INSERT INTO t1 VALUES (1,2,3,4,5),(NULL,2,NULL,4,NULL),(10,20,30,40,50);",
    )
    .unwrap();
    s
}

#[test]
fn mutated_sql_never_panics() {
    let n: usize = std::env::var("TOONDB_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let corpus = corpus();
    assert!(corpus.len() > 100);
    let mut rng = Rng(0xDEAD_BEEF_1234_5678);
    let mut s = fresh();
    let mut ok = 0;
    for i in 0..n {
        let base = &corpus[rng.below(corpus.len())];
        let sql = mutate(&mut rng, base);
        if s.execute(&sql).is_ok() {
            ok += 1;
        }
        if i % 500 == 499 {
            // Keep the database small and the run fast.
            s = fresh();
        }
    }
    assert!(s.execute("SELECT count(*) FROM t1").is_ok());
    // Some mutations must still be valid SQL, or the test is not exercising the executor.
    assert!(ok > n / 50, "only {ok} of {n} mutated statements ran");
}

#[test]
fn database_and_session_are_send() {
    fn is_send<T: Send>() {}
    fn is_sync<T: Sync>() {}
    is_send::<Database>();
    is_sync::<Database>();
    is_send::<Session>();
}
