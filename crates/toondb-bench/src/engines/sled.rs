//! sled 0.34: `apply_batch` / `transaction` followed by `flush()` (fsync) before returning,
//! since sled does not sync on commit by itself.

use std::path::{Path, PathBuf};

use super::{err, KvEngine, KvReader, Op, Res};

pub struct Sled {
    dir: PathBuf,
    db: Option<sled::Db>,
}

impl Sled {
    pub fn open(dir: &Path) -> Res<Sled> {
        Ok(Sled {
            dir: dir.to_owned(),
            db: Some(sled::open(dir).map_err(err)?),
        })
    }
    fn db(&self) -> Res<&sled::Db> {
        self.db.as_ref().ok_or_else(|| "closed".to_string())
    }
}

/// Opens `dir` again after the previous `Db` was dropped. sled releases its file lock only when
/// its background flusher thread has let go of the file, which can be a moment after the drop,
/// so an immediate reopen may fail to take the lock; retry that (only that) for up to 10 s.
/// sled 0.34 reports it as an `Other` I/O error whose text starts with "could not acquire lock"
/// (config.rs), so the text is what can be matched.
fn open_when_unlocked(dir: &Path) -> Res<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(dir) {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(err(e)),
        }
    }
}

impl KvEngine for Sled {
    fn durability(&self) -> &'static str {
        "apply_batch/transaction + Db::flush() (fsync) per commit"
    }
    fn write(&mut self, ops: &[Op]) -> Res<()> {
        let mut b = sled::Batch::default();
        for (k, v) in ops {
            match v {
                Some(v) => b.insert(k.as_slice(), v.as_slice()),
                None => b.remove(k.as_slice()),
            }
        }
        let db = self.db()?;
        db.apply_batch(b).map_err(err)?;
        db.flush().map_err(err)?;
        Ok(())
    }
    fn txn_read_write(&mut self, keys: &[Vec<u8>], value: &[u8]) -> Res<()> {
        let db = self.db()?;
        let r: sled::transaction::TransactionResult<()> = db.transaction(|tx| {
            for k in keys {
                tx.get(k.as_slice())?;
                tx.insert(k.as_slice(), value)?;
            }
            Ok(())
        });
        r.map_err(|e| format!("{e:?}"))?;
        db.flush().map_err(err)?;
        Ok(())
    }
    fn reader(&self) -> Res<Box<dyn KvReader + Send>> {
        Ok(Box::new(Reader(self.db()?.clone())))
    }
    fn reopen(&mut self) -> Res<()> {
        if let Some(db) = self.db.take() {
            db.flush().map_err(err)?;
        }
        self.db = Some(open_when_unlocked(&self.dir)?);
        Ok(())
    }
    fn close(mut self: Box<Self>) -> Res<()> {
        if let Some(db) = self.db.take() {
            db.flush().map_err(err)?;
        }
        Ok(())
    }
}

struct Reader(sled::Db);

impl KvReader for Reader {
    fn get(&mut self, key: &[u8]) -> Res<Option<Vec<u8>>> {
        Ok(self.0.get(key).map_err(err)?.map(|v| v.to_vec()))
    }
    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize> {
        let mut c = 0;
        for kv in self.0.range(start..).take(n) {
            kv.map_err(err)?;
            c += 1;
        }
        Ok(c)
    }
}
