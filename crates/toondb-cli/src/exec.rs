//! Running SQL statements from the command line, including `BEGIN` / `COMMIT` /
//! `ROLLBACK`, which map onto an explicit [`toondb::Transaction`].

use toondb::{Database, Transaction};

use crate::error::{Error, Result};
use crate::output::ResultSet;

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

/// Runs statements one at a time against a database, holding the transaction opened by
/// `BEGIN` until `COMMIT` or `ROLLBACK`.
pub struct Runner {
    db: Database,
    tx: Option<Transaction>,
}

impl Runner {
    /// A runner on `db` with no open transaction.
    /// Ctrl-C interrupts the statement this runner is executing (see [`crate::interrupt`]).
    pub fn new(db: Database) -> Runner {
        crate::interrupt::watch(db.interrupt_handle());
        Runner { db, tx: None }
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// True while a `BEGIN` is open.
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// Runs one statement (without its `;`).
    pub fn run(&mut self, sql: &str) -> Result<ResultSet> {
        match control(sql) {
            Some(Control::Begin) => {
                if self.tx.is_some() {
                    return Err(Error::Usage(
                        "a transaction is already open (COMMIT or ROLLBACK it first)".into(),
                    ));
                }
                self.tx = Some(self.db.begin()?);
                Ok(ResultSet::default())
            }
            Some(Control::Commit) => match self.tx.take() {
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
                let rows = match &mut self.tx {
                    Some(tx) => tx.query(sql, &[]),
                    None => self.db.query(sql, &[]),
                };
                match rows {
                    Ok(rows) => Ok(rows.into()),
                    Err(e) if e.kind() == toondb::ErrorKind::Interrupted => {
                        Err(Error::Interrupted(if self.tx.is_some() {
                            "the statement was cancelled and applied nothing; the transaction is still open".into()
                        } else {
                            "the statement was cancelled and applied nothing".into()
                        }))
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Rolls back an open transaction (if any) and closes the database. Returns whether a
    /// transaction had to be rolled back.
    pub fn close(mut self) -> Result<bool> {
        let had_tx = self.tx.take().map(Transaction::rollback).is_some();
        self.db.close()?;
        Ok(had_tx)
    }
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
        let mut r = Runner::new(Database::open_in_memory().unwrap());
        r.run("CREATE TABLE t(x INTEGER)").unwrap();
        r.run("BEGIN").unwrap();
        assert!(r.run("BEGIN").is_err());
        r.run("INSERT INTO t VALUES (1)").unwrap();
        r.run("ROLLBACK").unwrap();
        r.run("BEGIN").unwrap();
        r.run("INSERT INTO t VALUES (2)").unwrap();
        r.run("COMMIT").unwrap();
        assert!(r.run("COMMIT").is_err());
        let rs = r.run("SELECT x FROM t").unwrap();
        assert_eq!(rs.rows, vec![vec![toondb::Value::Integer(2)]]);
    }
}
