//! SQLite (rusqlite, bundled) with `journal_mode=WAL` and `synchronous=FULL` (the WAL is
//! fsynced at every commit); one `WITHOUT ROWID` table `kv(k BLOB PRIMARY KEY, v BLOB)`.
//! Each reader thread has its own connection.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use super::{err, KvEngine, KvReader, Op, Res};

pub struct Sqlite {
    file: PathBuf,
    conn: Option<Connection>,
}

fn connect(file: &Path) -> Res<Connection> {
    let c = Connection::open(file).map_err(err)?;
    c.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    c.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    c.execute_batch("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")
        .map_err(err)?;
    Ok(c)
}

impl Sqlite {
    pub fn open(dir: &Path) -> Res<Sqlite> {
        std::fs::create_dir_all(dir).map_err(err)?;
        let file = dir.join("kv.sqlite");
        Ok(Sqlite {
            conn: Some(connect(&file)?),
            file,
        })
    }
    fn conn(&mut self) -> Res<&mut Connection> {
        self.conn.as_mut().ok_or_else(|| "closed".to_string())
    }
}

impl KvEngine for Sqlite {
    fn durability(&self) -> &'static str {
        "journal_mode=WAL, synchronous=FULL (WAL fsync per commit)"
    }
    fn write(&mut self, ops: &[Op]) -> Res<()> {
        let tx = self.conn()?.transaction().map_err(err)?;
        {
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")
                .map_err(err)?;
            let mut del = tx
                .prepare_cached("DELETE FROM kv WHERE k = ?1")
                .map_err(err)?;
            for (k, v) in ops {
                match v {
                    Some(v) => put.execute(params![k, v]).map_err(err)?,
                    None => del.execute(params![k]).map_err(err)?,
                };
            }
        }
        tx.commit().map_err(err)
    }
    fn txn_read_write(&mut self, keys: &[Vec<u8>], value: &[u8]) -> Res<()> {
        let tx = self.conn()?.transaction().map_err(err)?;
        {
            let mut get = tx
                .prepare_cached("SELECT v FROM kv WHERE k = ?1")
                .map_err(err)?;
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")
                .map_err(err)?;
            for k in keys {
                let _: Option<Vec<u8>> = get
                    .query_row(params![k], |r| r.get(0))
                    .optional()
                    .map_err(err)?;
                put.execute(params![k, value]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }
    fn reader(&self) -> Res<Box<dyn KvReader + Send>> {
        Ok(Box::new(Reader(connect(&self.file)?)))
    }
    fn reopen(&mut self) -> Res<()> {
        self.conn = None;
        self.conn = Some(connect(&self.file)?);
        Ok(())
    }
    fn close(mut self: Box<Self>) -> Res<()> {
        if let Some(c) = self.conn.take() {
            c.close().map_err(|(_, e)| err(e))?;
        }
        Ok(())
    }
}

struct Reader(Connection);

impl KvReader for Reader {
    fn get(&mut self, key: &[u8]) -> Res<Option<Vec<u8>>> {
        let mut s = self
            .0
            .prepare_cached("SELECT v FROM kv WHERE k = ?1")
            .map_err(err)?;
        s.query_row(params![key], |r| r.get(0))
            .optional()
            .map_err(err)
    }
    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize> {
        let mut s = self
            .0
            .prepare_cached("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2")
            .map_err(err)?;
        let mut rows = s.query(params![start, n as i64]).map_err(err)?;
        let mut c = 0;
        while let Some(r) = rows.next().map_err(err)? {
            let v: Vec<u8> = r.get(1).map_err(err)?;
            std::hint::black_box(v);
            c += 1;
        }
        Ok(c)
    }
}
