//! RocksDB through rust-rocksdb 0.25 (bundled RocksDB C++ sources), opened as an
//! `OptimisticTransactionDB` so that `txn10` is a real snapshot transaction, like ToonDB's.
//!
//! Settings, all else RocksDB's defaults (block-based tables, 32 MiB block cache, 64 MiB
//! memtable, level compaction, background threads as configured by RocksDB):
//! - WAL on; every commit (`WriteBatch` or transaction) is written with
//!   `WriteOptions::set_sync(true)`, i.e. the WAL is fdatasynced before the commit returns;
//! - compression lz4 (the only codec compiled in, and fjall's default);
//! - `txn10`: an optimistic transaction with a snapshot (`set_snapshot(true)`), 10 reads then
//!   10 writes, committed with the same synced write options;
//! - close = drop (RocksDB does not flush memtables on close when they are in the WAL).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{
    DBCompressionType, Direction, IteratorMode, OptimisticTransactionDB,
    OptimisticTransactionOptions, Options, WriteBatchWithTransaction, WriteOptions,
};

use super::{err, KvEngine, KvReader, Op, Res};

type Db = OptimisticTransactionDB;

pub struct Rocks {
    dir: PathBuf,
    db: Option<Arc<Db>>,
}

fn open_db(dir: &Path) -> Res<Arc<Db>> {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.set_compression_type(DBCompressionType::Lz4);
    Ok(Arc::new(Db::open(&o, dir).map_err(err)?))
}

fn synced() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

impl Rocks {
    pub fn open(dir: &Path) -> Res<Rocks> {
        Ok(Rocks {
            dir: dir.to_owned(),
            db: Some(open_db(dir)?),
        })
    }
    fn db(&self) -> Res<&Arc<Db>> {
        self.db.as_ref().ok_or_else(|| "closed".to_string())
    }
}

impl KvEngine for Rocks {
    fn durability(&self) -> &'static str {
        "WAL on, WriteOptions::set_sync(true) (WAL fdatasync per commit); lz4"
    }
    fn write(&mut self, ops: &[Op]) -> Res<()> {
        let mut b = WriteBatchWithTransaction::<true>::default();
        for (k, v) in ops {
            match v {
                Some(v) => b.put(k, v),
                None => b.delete(k),
            }
        }
        self.db()?.write_opt(b, &synced()).map_err(err)
    }
    fn txn_read_write(&mut self, keys: &[Vec<u8>], value: &[u8]) -> Res<()> {
        let db = self.db()?;
        let mut to = OptimisticTransactionOptions::default();
        to.set_snapshot(true);
        let t = db.transaction_opt(&synced(), &to);
        for k in keys {
            t.get_pinned(k).map_err(err)?;
            t.put(k, value).map_err(err)?;
        }
        t.commit().map_err(err)
    }
    fn reader(&self) -> Res<Box<dyn KvReader + Send>> {
        Ok(Box::new(Reader(Arc::clone(self.db()?))))
    }
    fn reopen(&mut self) -> Res<()> {
        // Readers are dropped by now; dropping the last handle closes the database and
        // releases its lock file.
        self.db = None;
        self.db = Some(open_db(&self.dir)?);
        Ok(())
    }
    fn close(mut self: Box<Self>) -> Res<()> {
        self.db = None;
        Ok(())
    }
}

struct Reader(Arc<Db>);

impl KvReader for Reader {
    fn get(&mut self, key: &[u8]) -> Res<Option<Vec<u8>>> {
        self.0.get(key).map_err(err)
    }
    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize> {
        let mut c = 0;
        for kv in self
            .0
            .iterator(IteratorMode::From(start, Direction::Forward))
            .take(n)
        {
            kv.map_err(err)?;
            c += 1;
        }
        Ok(c)
    }
}
