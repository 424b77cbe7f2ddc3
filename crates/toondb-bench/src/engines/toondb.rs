//! ToonDB's storage engine with `SyncMode::Full`: the WAL is fsynced before a commit returns.

use std::ops::Bound;
use std::path::{Path, PathBuf};

use toondb_storage::{Direction, Engine, Isolation, Options, SyncMode, WriteBatch};

use super::{err, KvEngine, KvReader, Op, Res};

pub struct Toon {
    dir: PathBuf,
    db: Option<Engine>,
}

fn opts() -> Options {
    Options {
        sync: SyncMode::Full,
        ..Options::default()
    }
}

impl Toon {
    pub fn open(dir: &Path) -> Res<Toon> {
        Ok(Toon {
            dir: dir.to_owned(),
            db: Some(Engine::open(dir, opts()).map_err(err)?),
        })
    }
    fn db(&self) -> Res<&Engine> {
        self.db.as_ref().ok_or_else(|| "closed".to_string())
    }
}

impl KvEngine for Toon {
    fn durability(&self) -> &'static str {
        "SyncMode::Full (WAL fdatasync per commit, group commit)"
    }
    fn write(&mut self, ops: &[Op]) -> Res<()> {
        let mut b = WriteBatch::new();
        for (k, v) in ops {
            match v {
                Some(v) => b.put(k, v),
                None => b.delete(k),
            };
        }
        self.db()?.write(b).map_err(err)
    }
    fn txn_read_write(&mut self, keys: &[Vec<u8>], value: &[u8]) -> Res<()> {
        let mut t = self.db()?.begin(Isolation::Snapshot).map_err(err)?;
        for k in keys {
            t.get(k).map_err(err)?;
            t.put(k, value).map_err(err)?;
        }
        t.commit().map_err(err)
    }
    fn reader(&self) -> Res<Box<dyn KvReader + Send>> {
        Ok(Box::new(Reader(self.db()?.clone())))
    }
    fn reopen(&mut self) -> Res<()> {
        if let Some(db) = self.db.take() {
            db.close().map_err(err)?;
        }
        self.db = Some(Engine::open(&self.dir, opts()).map_err(err)?);
        Ok(())
    }
    fn close(mut self: Box<Self>) -> Res<()> {
        match self.db.take() {
            Some(db) => db.close().map_err(err),
            None => Ok(()),
        }
    }
}

struct Reader(Engine);

impl KvReader for Reader {
    fn get(&mut self, key: &[u8]) -> Res<Option<Vec<u8>>> {
        self.0.get(key).map_err(err)
    }
    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize> {
        let it = self
            .0
            .scan(Bound::Included(start), Bound::Unbounded, Direction::Forward)
            .map_err(err)?;
        let mut c = 0;
        for kv in it.take(n) {
            kv.map_err(err)?;
            c += 1;
        }
        Ok(c)
    }
}
