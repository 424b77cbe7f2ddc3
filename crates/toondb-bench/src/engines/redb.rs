//! redb 2 with its default `Durability::Immediate`: every write transaction is fsynced on
//! commit. Readers hold one read transaction (a snapshot) each, as redb's own benchmark does.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, TableDefinition};

use super::{err, KvEngine, KvReader, Op, Res};

const T: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

pub struct Redb {
    file: PathBuf,
    db: Option<std::sync::Arc<Database>>,
}

impl Redb {
    pub fn open(dir: &Path) -> Res<Redb> {
        std::fs::create_dir_all(dir).map_err(err)?;
        let file = dir.join("db.redb");
        let db = Database::create(&file).map_err(err)?;
        let tx = db.begin_write().map_err(err)?;
        tx.open_table(T).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Redb {
            file,
            db: Some(std::sync::Arc::new(db)),
        })
    }
    fn db(&self) -> Res<&Database> {
        self.db.as_deref().ok_or_else(|| "closed".to_string())
    }
}

impl KvEngine for Redb {
    fn durability(&self) -> &'static str {
        "Durability::Immediate (fsync per write transaction)"
    }
    fn write(&mut self, ops: &[Op]) -> Res<()> {
        let tx = self.db()?.begin_write().map_err(err)?;
        {
            let mut t = tx.open_table(T).map_err(err)?;
            for (k, v) in ops {
                match v {
                    Some(v) => {
                        t.insert(k.as_slice(), v.as_slice()).map_err(err)?;
                    }
                    None => {
                        t.remove(k.as_slice()).map_err(err)?;
                    }
                }
            }
        }
        tx.commit().map_err(err)
    }
    fn txn_read_write(&mut self, keys: &[Vec<u8>], value: &[u8]) -> Res<()> {
        let tx = self.db()?.begin_write().map_err(err)?;
        {
            let mut t = tx.open_table(T).map_err(err)?;
            for k in keys {
                t.get(k.as_slice()).map_err(err)?;
                t.insert(k.as_slice(), value).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }
    fn reader(&self) -> Res<Box<dyn KvReader + Send>> {
        let rtx = self.db()?.begin_read().map_err(err)?;
        Ok(Box::new(Reader(rtx.open_table(T).map_err(err)?)))
    }
    fn reopen(&mut self) -> Res<()> {
        self.db = None;
        self.db = Some(std::sync::Arc::new(
            Database::create(&self.file).map_err(err)?,
        ));
        Ok(())
    }
    fn close(mut self: Box<Self>) -> Res<()> {
        self.db = None;
        Ok(())
    }
}

struct Reader(redb::ReadOnlyTable<&'static [u8], &'static [u8]>);

impl KvReader for Reader {
    fn get(&mut self, key: &[u8]) -> Res<Option<Vec<u8>>> {
        Ok(self.0.get(key).map_err(err)?.map(|g| g.value().to_vec()))
    }
    fn scan(&mut self, start: &[u8], n: usize) -> Res<usize> {
        let mut c = 0;
        for kv in self.0.range(start..).map_err(err)?.take(n) {
            let (k, v) = kv.map_err(err)?;
            std::hint::black_box((k.value().len(), v.value().len()));
            c += 1;
        }
        Ok(c)
    }
}
