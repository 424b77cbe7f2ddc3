//! fjall 2 (an LSM tree, lz4 on by default): atomic cross-partition `Batch` with
//! `durability(Some(PersistMode::SyncAll))`, i.e. the journal is fsynced per commit. The
//! 10-write transaction is a read of each key followed by one such batch.

use std::path::{Path, PathBuf};

use fjall::{Config, Keyspace, PartitionCreateOptions, PartitionHandle, PersistMode};

use super::{err, KvEngine, KvReader, Op, Res};

pub struct Fjall {
    dir: PathBuf,
    ks: Option<(Keyspace, PartitionHandle)>,
}

fn open_ks(dir: &Path) -> Res<(Keyspace, PartitionHandle)> {
    let ks = Config::new(dir).open().map_err(err)?;
    let p = ks
        .open_partition("kv", PartitionCreateOptions::default())
        .map_err(err)?;
    Ok((ks, p))
}

impl Fjall {
    pub fn open(dir: &Path) -> Res<Fjall> {
        Ok(Fjall {
            dir: dir.to_owned(),
            ks: Some(open_ks(dir)?),
        })
    }
    fn ks(&self) -> Res<&(Keyspace, PartitionHandle)> {
        self.ks.as_ref().ok_or_else(|| "closed".to_string())
    }
}

impl KvEngine for Fjall {
    fn durability(&self) -> &'static str {
        "Batch::durability(Some(PersistMode::SyncAll)) (journal fsync per commit)"
    }
    fn write(&mut self, ops: &[Op]) -> Res<()> {
        let (ks, p) = self.ks()?;
        let mut b = ks.batch().durability(Some(PersistMode::SyncAll));
        for (k, v) in ops {
            match v {
                Some(v) => b.insert(p, k.as_slice(), v.as_slice()),
                None => b.remove(p, k.as_slice()),
            }
        }
        b.commit().map_err(err)
    }
    fn txn_read_write(&mut self, keys: &[Vec<u8>], value: &[u8]) -> Res<()> {
        let (ks, p) = self.ks()?;
        let mut b = ks.batch().durability(Some(PersistMode::SyncAll));
        for k in keys {
            p.get(k).map_err(err)?;
            b.insert(p, k.as_slice(), value);
        }
        b.commit().map_err(err)
    }
    fn reader(&self) -> Res<Box<dyn KvReader + Send>> {
        Ok(Box::new(Reader(self.ks()?.1.clone())))
    }
    fn reopen(&mut self) -> Res<()> {
        if let Some((ks, _)) = self.ks.take() {
            ks.persist(PersistMode::SyncAll).map_err(err)?;
        }
        self.ks = Some(open_ks(&self.dir)?);
        Ok(())
    }
    fn close(mut self: Box<Self>) -> Res<()> {
        if let Some((ks, _)) = self.ks.take() {
            ks.persist(PersistMode::SyncAll).map_err(err)?;
        }
        Ok(())
    }
}

struct Reader(PartitionHandle);

impl KvReader for Reader {
    fn get(&mut self, key: &[u8]) -> Res<Option<Vec<u8>>> {
        Ok(self.0.get(key).map_err(err)?.map(|v| v.to_vec()))
    }
    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize> {
        let mut c = 0;
        for kv in self.0.range(start.to_vec()..).take(n) {
            kv.map_err(err)?;
            c += 1;
        }
        Ok(c)
    }
}
