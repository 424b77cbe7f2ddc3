//! Running SQL statements from the command line, including `BEGIN` / `COMMIT` /
//! `ROLLBACK`, which map onto an explicit [`toondb::Transaction`].
//!
//! Every statement goes through [`Runner::execute_statement`].

use toondb::{Database, Transaction};
use toondb_query::Value;

use crate::error::{Error, Result};
use crate::output::ResultSet;
use crate::params::Params;
use crate::sqltext;

/// Transaction-control statements, recognised by their leading keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Begin,
    Commit,
    Rollback,
}

fn control(sql: &str) -> Option<Control> {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(3)
        .map(str::to_ascii_uppercase)
        .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["BEGIN"]
        | ["BEGIN", "TRANSACTION"]
        | ["BEGIN", "DEFERRED" | "IMMEDIATE" | "EXCLUSIVE"]
        | ["BEGIN", "DEFERRED" | "IMMEDIATE" | "EXCLUSIVE", "TRANSACTION"]
        | ["START", "TRANSACTION"] => Some(Control::Begin),
        ["COMMIT"] | ["COMMIT", "TRANSACTION"] | ["END"] | ["END", "TRANSACTION"] => {
            Some(Control::Commit)
        }
        ["ROLLBACK"] | ["ROLLBACK", "TRANSACTION"] => Some(Control::Rollback),
        _ => None,
    }
}

/// Statements a `-readonly` session may run (by first keyword; the schema pragmas only read).
const READ_KEYWORDS: &[&str] = &["SELECT", "WITH", "VALUES", "EXPLAIN", "CONTEXT", "PRAGMA"];

/// Runs statements one at a time against a database, holding the transaction opened by
/// `BEGIN` until `COMMIT` or `ROLLBACK`.
pub struct Runner {
    db: Database,
    tx: Option<Transaction>,
    /// Refuse statements that write (`-readonly`).
    readonly: bool,
    /// Statements run inside the open transaction.
    tx_statements: usize,
    /// Rows changed by the last INSERT/UPDATE/DELETE, and by all of them.
    changes: (u64, u64),
}

impl Runner {
    /// A runner on `db` with no open transaction.
    /// Ctrl-C interrupts the statement this runner is executing (see [`crate::interrupt`]).
    pub fn new(db: Database) -> Runner {
        crate::interrupt::watch(db.interrupt_handle());
        Runner {
            db,
            tx: None,
            readonly: false,
            tx_statements: 0,
            changes: (0, 0),
        }
    }

    /// A runner that refuses every statement that could write: only `SELECT`, `WITH`,
    /// `VALUES`, `EXPLAIN` and `CONTEXT` statements run, each inside a transaction that is
    /// always rolled back (so not even a data-modifying `WITH` can change anything).
    pub fn read_only(db: Database) -> Runner {
        Runner {
            readonly: true,
            ..Runner::new(db)
        }
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// True when statements that write are refused.
    pub fn is_read_only(&self) -> bool {
        self.readonly
    }

    /// True while a `BEGIN` is open.
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// Rows changed by the last data-changing statement, and in total.
    pub fn changes(&self) -> (u64, u64) {
        self.changes
    }

    /// Runs one statement (without its `;`), binding the parameters it uses from `params`.
    pub fn run(&mut self, sql: &str, params: &Params) -> Result<ResultSet> {
        match control(sql) {
            Some(Control::Begin) => {
                if self.tx.is_some() {
                    return Err(Error::Usage(
                        "a transaction is already open (COMMIT or ROLLBACK it first)".into(),
                    ));
                }
                self.tx = Some(self.db.begin()?);
                self.tx_statements = 0;
                Ok(ResultSet::default())
            }
            Some(Control::Commit) => match self.tx.take() {
                // Read-only: nothing may be written, so COMMIT just ends the transaction.
                Some(tx) if self.readonly => {
                    tx.rollback();
                    Ok(ResultSet::default())
                }
                Some(tx) => Ok(tx.commit().map(|()| ResultSet::default())?),
                None => Err(Error::Usage("no transaction is open".into())),
            },
            Some(Control::Rollback) => match self.tx.take() {
                Some(tx) => {
                    tx.rollback();
                    Ok(ResultSet::default())
                }
                None => Err(Error::Usage("no transaction is open".into())),
            },
            None => {
                let keyword = sqltext::first_keyword(sql);
                if self.readonly && !READ_KEYWORDS.contains(&keyword.as_str()) {
                    return Err(Error::ReadOnly(format!(
                        "the database was opened with -readonly; {} statements are refused",
                        if keyword.is_empty() { "this" } else { &keyword }
                    )));
                }
                let params = params.bind(sql)?;
                if self.tx.is_some() {
                    self.tx_statements += 1;
                }
                let rs = self.execute_statement(sql, &params, keyword == "CONTEXT")?;
                if rs.columns.is_empty() {
                    self.changes.0 = rs.rows_affected;
                    self.changes.1 += rs.rows_affected;
                }
                Ok(rs)
            }
        }
    }

    /// Executes one statement: inside the open transaction if there is one, else on its own
    /// (autocommit); read-only runners roll every statement back.
    fn execute_statement(
        &mut self,
        sql: &str,
        params: &[Value],
        context: bool,
    ) -> Result<ResultSet> {
        let in_tx = self.tx.is_some();
        let result = match &mut self.tx {
            Some(tx) => tx.query(sql, params),
            // CONTEXT statements only read; they run on the database itself.
            None if self.readonly && !context => {
                let mut tx = self.db.begin()?;
                let r = tx.query(sql, params);
                tx.rollback();
                r
            }
            None => self.db.query(sql, params),
        };
        let rows = match result {
            Ok(rows) => rows,
            Err(e) if e.kind() == toondb::ErrorKind::Interrupted => {
                return Err(Error::Interrupted(if in_tx {
                    "the statement was cancelled and applied nothing; the transaction is still open"
                        .into()
                } else {
                    "the statement was cancelled and applied nothing".into()
                }));
            }
            Err(e) => return Err(e.into()),
        };
        if self.readonly && rows.rows_affected() > 0 {
            return Err(Error::ReadOnly(format!(
                "the statement changed {} {}; the change was rolled back",
                rows.rows_affected(),
                crate::output::plural(rows.rows_affected(), "row")
            )));
        }
        Ok(rows.into())
    }

    /// Rolls back an open transaction (if any) and closes the database. Returns how many
    /// statements of the transaction were rolled back, or `None` if none was open.
    pub fn close(mut self) -> Result<Option<usize>> {
        let had_tx = self.tx.take().map(Transaction::rollback).is_some();
        self.db.close()?;
        Ok(had_tx.then_some(self.tx_statements))
    }
}

/// The message for a transaction left open at the end of the input (rolled back).
pub fn open_transaction_message(statements: usize) -> String {
    format!(
        "the transaction left open at the end of the input was rolled back \
         ({statements} {} since BEGIN discarded)",
        crate::output::plural(statements as u64, "statement")
    )
}

/// Adds the input position to a statement's error. `start` is where the statement starts
/// in the input (line, column); `file` names the input file, if any. Syntax errors carry
/// a position inside the statement (`Line: L, Column: C`), which is rewritten to the input
/// position.
pub fn locate(e: Error, file: Option<&str>, start: (usize, usize)) -> Error {
    let (line, message) = match &e {
        Error::Interrupted(_) | Error::StdoutClosed | Error::At { .. } => return e,
        Error::Db(toondb::Error::Syntax {
            line,
            column,
            message,
        }) => {
            let (l, c) = sqltext::shift(start, (*line, *column));
            (
                l,
                format!("syntax error at line {l}, column {c}: {message}"),
            )
        }
        _ => {
            let text = e.to_string();
            match rewrite_positions(&text, start) {
                Some((l, t)) => (l, t),
                None => (start.0, text),
            }
        }
    };
    let place = match file {
        Some(f) => format!("{f}:{line}"),
        None => format!("line {line}"),
    };
    Error::At { place, message }
}

/// Rewrites every `Line: L, Column: C` in a parser message to input positions; returns the
/// first rewritten line and the new text, or `None` if the message has no position.
fn rewrite_positions(text: &str, start: (usize, usize)) -> Option<(usize, String)> {
    const L: &str = "Line: ";
    const C: &str = ", Column: ";
    let mut out = String::new();
    let mut rest = text;
    let mut first = None;
    while let Some(i) = rest.find(L) {
        let after = &rest[i + L.len()..];
        let ld = after.bytes().take_while(u8::is_ascii_digit).count();
        let Some(tail) = after[ld..].strip_prefix(C) else {
            out.push_str(&rest[..i + L.len()]);
            rest = after;
            continue;
        };
        let cd = tail.bytes().take_while(u8::is_ascii_digit).count();
        let (Ok(l), Ok(c)) = (after[..ld].parse(), tail[..cd].parse()) else {
            out.push_str(&rest[..i + L.len()]);
            rest = after;
            continue;
        };
        let (l, c) = sqltext::shift(start, (l, c));
        first.get_or_insert(l);
        out.push_str(&rest[..i]);
        out.push_str(&format!("{L}{l}{C}{c}"));
        rest = &tail[cd..];
    }
    out.push_str(rest);
    first.map(|l| (l, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_transaction_control() {
        assert_eq!(control("begin"), Some(Control::Begin));
        assert_eq!(control("BEGIN IMMEDIATE TRANSACTION"), Some(Control::Begin));
        assert_eq!(control("commit"), Some(Control::Commit));
        assert_eq!(control("End"), Some(Control::Commit));
        assert_eq!(control("rollback"), Some(Control::Rollback));
        assert_eq!(control("ROLLBACK TO sp"), None);
        assert_eq!(control("select 1"), None);
    }

    #[test]
    fn begin_commit_rollback() {
        let p = Params::default();
        let mut r = Runner::new(Database::open_in_memory().unwrap());
        r.run("CREATE TABLE t(x INTEGER)", &p).unwrap();
        r.run("BEGIN", &p).unwrap();
        assert!(r.run("BEGIN", &p).is_err());
        r.run("INSERT INTO t VALUES (1)", &p).unwrap();
        r.run("ROLLBACK", &p).unwrap();
        r.run("BEGIN", &p).unwrap();
        r.run("INSERT INTO t VALUES (2)", &p).unwrap();
        assert_eq!(r.tx_statements, 1);
        r.run("COMMIT", &p).unwrap();
        assert!(r.run("COMMIT", &p).is_err());
        let rs = r.run("SELECT x FROM t", &p).unwrap();
        assert_eq!(rs.rows, vec![vec![toondb::Value::Integer(2)]]);
        assert_eq!(r.changes(), (1, 2));
    }

    #[test]
    fn read_only_refuses_writes() {
        let p = Params::default();
        let db = Database::open_in_memory().unwrap();
        db.execute("CREATE TABLE t(x INTEGER)", &[]).unwrap();
        db.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
        let mut r = Runner::read_only(db);
        let e = r
            .run("INSERT INTO t VALUES (2)", &p)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("read-only: "), "{e}");
        assert!(e.contains("INSERT statements are refused"), "{e}");
        assert!(r.run("DROP TABLE t", &p).is_err());
        r.run("BEGIN", &p).unwrap();
        assert!(r.run("DELETE FROM t", &p).is_err());
        r.run("COMMIT", &p).unwrap();
        let rs = r.run("SELECT count(*) FROM t", &p).unwrap();
        assert_eq!(rs.rows, vec![vec![toondb::Value::Integer(1)]]);
    }

    #[test]
    fn positions_are_rewritten_to_the_input() {
        let e = Error::Usage("syntax error: found: X at Line: 1, Column: 5".into());
        assert_eq!(
            locate(e, None, (3, 10)).to_string(),
            "line 3: syntax error: found: X at Line: 3, Column: 14"
        );
        let e = Error::Usage("no such table: nope".into());
        assert_eq!(
            locate(e, Some("a.sql"), (7, 1)).to_string(),
            "a.sql:7: no such table: nope"
        );
        assert_eq!(
            rewrite_positions("(Line: 2, Column: 3)", (5, 9)),
            Some((6, "(Line: 6, Column: 3)".into()))
        );
    }
}
