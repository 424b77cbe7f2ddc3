//! The SQL catalog (tables, indexes, views, triggers), stored as JSON under the reserved `0x00` prefix
//! and changed inside the same transaction as the data.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::codec::{prefix_successor, CATALOG_PREFIX};
use crate::error::{Error, Result};
use crate::kv::KvTxn;
use crate::value::{Affinity, DataType};

/// One column of a table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Column name as declared.
    pub name: String,
    /// Declared type text (may be empty).
    pub decl_type: String,
    /// Mapped type.
    pub ty: DataType,
    /// Storage affinity.
    pub affinity: Affinity,
    /// NOT NULL constraint.
    pub not_null: bool,
    /// DEFAULT expression as SQL text.
    pub default: Option<String>,
    /// Value of this column for rows stored before it was added by ALTER TABLE ADD COLUMN.
    #[serde(default)]
    pub added_default: Option<crate::value::Value>,
}

/// A secondary index (explicit, or created for a PRIMARY KEY / UNIQUE constraint).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexDef {
    /// Unique id within the table.
    pub id: u32,
    /// Index name (auto indexes get `autoindex_<table>_<n>`).
    pub name: String,
    /// Indexed column positions.
    pub columns: Vec<usize>,
    /// UNIQUE index.
    pub unique: bool,
    /// Created by a constraint (cannot be dropped with DROP INDEX).
    pub auto: bool,
}

/// A table definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableDef {
    /// Unique table id (key prefix).
    pub id: u32,
    /// Table name as declared.
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<ColumnDef>,
    /// Position of the INTEGER PRIMARY KEY column (an alias of the rowid), if any.
    pub rowid_column: Option<usize>,
    /// Indexes on this table.
    pub indexes: Vec<IndexDef>,
    /// Next index id to assign.
    pub next_index_id: u32,
    /// Statistics from the last ANALYZE (absent until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<TableStats>,
    /// Declared `INTEGER PRIMARY KEY AUTOINCREMENT`: automatic rowids are never reused (a
    /// persistent counter keeps the largest one ever used). Without it a new rowid is one more
    /// than the largest present, as in SQLite.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autoincrement: bool,
    /// Declared PRIMARY KEY columns (catalogs written before this field: derived from
    /// `rowid_column`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Vec<usize>>,
}

/// Table statistics collected by ANALYZE, used by the optimizer's row estimates (join order,
/// hash-join build side, index selectivity) and shown by EXPLAIN.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableStats {
    /// Number of rows.
    pub rows: u64,
    /// Estimated distinct non-NULL values per column (declaration order).
    pub distinct: Vec<u64>,
}

impl TableDef {
    /// PRIMARY KEY column positions in key order (empty without one).
    pub fn primary_key_columns(&self) -> Vec<usize> {
        match &self.primary_key {
            Some(pk) => pk.clone(),
            None => self.rowid_column.into_iter().collect(),
        }
    }

    /// Id of the index that enforces a PRIMARY KEY other than the rowid alias.
    pub fn primary_key_index(&self) -> Option<u32> {
        let pk = self.primary_key.as_ref()?;
        if self.rowid_column.is_some() {
            return None;
        }
        self.indexes
            .iter()
            .find(|i| i.auto && i.unique && &i.columns == pk)
            .map(|i| i.id)
    }

    /// Case-insensitive column lookup.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// A view: stored SQL text, planned on use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ViewDef {
    /// View name.
    pub name: String,
    /// The SELECT text.
    pub sql: String,
    /// Optional column names given in CREATE VIEW v(a, b).
    pub columns: Vec<String>,
}

/// When a trigger runs relative to the write of its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerTiming {
    /// Before the row is written (`BEFORE`, SQLite's default).
    Before,
    /// After the row is written.
    After,
    /// In place of the write (views only).
    InsteadOf,
}

/// The kind of write a trigger fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerEvent {
    /// INSERT (and the insert half of an UPSERT).
    Insert,
    /// UPDATE (and `ON CONFLICT DO UPDATE`).
    Update,
    /// DELETE.
    Delete,
}

/// A trigger as stored: its `CREATE TRIGGER` text plus the header fields the executor needs
/// to pick it without parsing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriggerDef {
    /// Trigger name.
    pub name: String,
    /// The table or view it is attached to.
    pub table: String,
    /// BEFORE / AFTER / INSTEAD OF.
    pub timing: TriggerTiming,
    /// INSERT / UPDATE / DELETE.
    pub event: TriggerEvent,
    /// `UPDATE OF` columns (empty: any update).
    pub columns: Vec<String>,
    /// Creation sequence number: triggers of one event fire newest first, as in SQLite.
    pub seq: u64,
    /// A TEMP trigger: kept by its session, never stored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub temporary: bool,
    /// The whole `CREATE TRIGGER` statement.
    pub sql: String,
}

/// In-memory snapshot of the catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Tables by lower-cased name.
    pub tables: BTreeMap<String, Arc<TableDef>>,
    /// Views by lower-cased name.
    pub views: BTreeMap<String, Arc<ViewDef>>,
    /// Triggers by lower-cased name, compiled for execution.
    pub triggers: BTreeMap<String, Arc<crate::trigger::Trigger>>,
    /// Version counter at load time.
    pub version: u64,
    /// User-defined functions of the database (not stored; attached when loaded).
    pub functions: crate::func::Functions,
}

const K_TABLE: u8 = b'T';
const K_VIEW: u8 = b'V';
const K_TRIGGER: u8 = b'G';
const K_NEXT_ID: &[u8] = &[0x00, b'N'];
const K_VERSION: &[u8] = &[0x00, b'S'];

fn key(kind: u8, name: &str) -> Vec<u8> {
    let mut k = CATALOG_PREFIX.to_vec();
    k.push(kind);
    k.extend_from_slice(name.to_ascii_lowercase().as_bytes());
    k
}

fn corrupt(k: &[u8], detail: impl Into<String>) -> Error {
    Error::Corruption {
        what: "catalog",
        key: k.to_vec(),
        detail: detail.into(),
    }
}

fn read_u64(txn: &mut dyn KvTxn, k: &[u8]) -> Result<u64> {
    match txn.get(k)? {
        None => Ok(0),
        Some(v) if v.len() == 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&v);
            Ok(u64::from_be_bytes(a))
        }
        Some(_) => Err(corrupt(k, "bad counter length")),
    }
}

/// Key of a table's rowid counter (largest rowid ever used).
pub fn rowid_counter_key(table_id: u32) -> Vec<u8> {
    let mut k = CATALOG_PREFIX.to_vec();
    k.push(b'R');
    k.extend_from_slice(&table_id.to_be_bytes());
    k
}

/// Current catalog version token (changed by every DDL statement; 0 = empty catalog).
pub fn version(txn: &mut dyn KvTxn) -> Result<u64> {
    read_u64(txn, K_VERSION)
}

/// Every DDL statement stores a fresh random version token (not a counter), so two
/// different catalogs (e.g. after a rolled-back DDL and a concurrent committed one) never
/// share a version and cached plans keyed by version stay valid.
fn bump_version(txn: &mut dyn KvTxn) -> Result<()> {
    use std::hash::{BuildHasher, Hasher};
    let old = read_u64(txn, K_VERSION)?;
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(old);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    let v = h.finish() | 1;
    txn.put(K_VERSION, &v.to_be_bytes())
}

/// Allocates a new table id.
pub fn next_table_id(txn: &mut dyn KvTxn) -> Result<u32> {
    let v = read_u64(txn, K_NEXT_ID)? + 1;
    let id = u32::try_from(v).map_err(|_| Error::Runtime("too many tables created".into()))?;
    txn.put(K_NEXT_ID, &v.to_be_bytes())?;
    Ok(id)
}

/// Checks the internal consistency of a decoded table definition.
fn validate(t: &TableDef) -> std::result::Result<(), String> {
    let n = t.columns.len();
    if n == 0 {
        return Err(format!("table {} has no columns", t.name));
    }
    if t.rowid_column.is_some_and(|c| c >= n) {
        return Err(format!("table {}: rowid column out of range", t.name));
    }
    for i in &t.indexes {
        if i.columns.is_empty() || i.columns.iter().any(|&c| c >= n) {
            return Err(format!("index {}: column out of range", i.name));
        }
    }
    Ok(())
}

/// Loads the whole catalog.
pub fn load(txn: &mut dyn KvTxn) -> Result<Catalog> {
    let mut cat = Catalog {
        version: version(txn)?,
        ..Catalog::default()
    };
    let lo = CATALOG_PREFIX.to_vec();
    let hi = prefix_successor(CATALOG_PREFIX).unwrap_or_default();
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = txn
        .scan(Bound::Included(&lo), Bound::Excluded(&hi), false)?
        .collect::<Result<_>>()?;
    for (k, v) in pairs {
        match k.get(1) {
            Some(&K_TABLE) => {
                let t: TableDef =
                    serde_json::from_slice(&v).map_err(|e| corrupt(&k, e.to_string()))?;
                validate(&t).map_err(|d| corrupt(&k, d))?;
                cat.tables.insert(t.name.to_ascii_lowercase(), Arc::new(t));
            }
            Some(&K_VIEW) => {
                let t: ViewDef =
                    serde_json::from_slice(&v).map_err(|e| corrupt(&k, e.to_string()))?;
                cat.views.insert(t.name.to_ascii_lowercase(), Arc::new(t));
            }
            Some(&K_TRIGGER) => {
                let t: TriggerDef =
                    serde_json::from_slice(&v).map_err(|e| corrupt(&k, e.to_string()))?;
                let name = t.name.to_ascii_lowercase();
                let t =
                    crate::trigger::Trigger::compile(t).map_err(|e| corrupt(&k, e.to_string()))?;
                cat.triggers.insert(name, Arc::new(t));
            }
            _ => {}
        }
    }
    Ok(cat)
}

/// Writes (creates or replaces) a table definition.
pub fn put_table(txn: &mut dyn KvTxn, t: &TableDef) -> Result<()> {
    let v = serde_json::to_vec(t).map_err(|e| Error::Runtime(e.to_string()))?;
    txn.put(&key(K_TABLE, &t.name), &v)?;
    bump_version(txn)
}

/// Removes a table definition (not its data).
pub fn delete_table(txn: &mut dyn KvTxn, name: &str) -> Result<()> {
    txn.delete(&key(K_TABLE, name))?;
    bump_version(txn)
}

/// Writes a view definition.
pub fn put_view(txn: &mut dyn KvTxn, v: &ViewDef) -> Result<()> {
    let b = serde_json::to_vec(v).map_err(|e| Error::Runtime(e.to_string()))?;
    txn.put(&key(K_VIEW, &v.name), &b)?;
    bump_version(txn)
}

/// Removes a view definition.
pub fn delete_view(txn: &mut dyn KvTxn, name: &str) -> Result<()> {
    txn.delete(&key(K_VIEW, name))?;
    bump_version(txn)
}

/// Writes (creates or replaces) a trigger definition.
pub fn put_trigger(txn: &mut dyn KvTxn, t: &TriggerDef) -> Result<()> {
    let b = serde_json::to_vec(t).map_err(|e| Error::Runtime(e.to_string()))?;
    txn.put(&key(K_TRIGGER, &t.name), &b)?;
    bump_version(txn)
}

/// Removes a trigger definition.
pub fn delete_trigger(txn: &mut dyn KvTxn, name: &str) -> Result<()> {
    txn.delete(&key(K_TRIGGER, name))?;
    bump_version(txn)
}

impl Catalog {
    /// Trigger by name (case-insensitive).
    pub fn trigger(&self, name: &str) -> Option<&Arc<crate::trigger::Trigger>> {
        self.triggers.get(&name.to_ascii_lowercase())
    }

    /// Triggers attached to table or view `table` (any event), in creation order.
    pub fn triggers_on(&self, table: &str) -> Vec<&Arc<crate::trigger::Trigger>> {
        let mut v: Vec<_> = self
            .triggers
            .values()
            .filter(|t| t.def.table.eq_ignore_ascii_case(table))
            .collect();
        v.sort_by_key(|t| t.def.seq);
        v
    }

    /// Table by name (case-insensitive).
    pub fn table(&self, name: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(&name.to_ascii_lowercase())
    }
    /// View by name (case-insensitive).
    pub fn view(&self, name: &str) -> Option<&Arc<ViewDef>> {
        self.views.get(&name.to_ascii_lowercase())
    }
    /// Finds an index by name: (table, index).
    pub fn index(&self, name: &str) -> Option<(&Arc<TableDef>, &IndexDef)> {
        self.tables.values().find_map(|t| {
            t.indexes
                .iter()
                .find(|i| i.name.eq_ignore_ascii_case(name))
                .map(|i| (t, i))
        })
    }
}

// ------------------------------------------------------------------ SQL text of the schema

/// `name` as a double-quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn column_ref(t: &TableDef, i: usize) -> String {
    t.columns
        .get(i)
        .map_or_else(|| format!("#{i}"), |c| quote_ident(&c.name))
}

/// A `CREATE TABLE` statement equivalent to `t` (columns, PRIMARY KEY, NOT NULL, DEFAULT,
/// UNIQUE constraints; explicit indexes are separate, see [`create_index_sql`]), without a
/// trailing `;`.
pub fn create_table_sql(t: &TableDef) -> String {
    let mut cols = Vec::new();
    for (i, c) in t.columns.iter().enumerate() {
        let mut s = quote_ident(&c.name);
        if !c.decl_type.is_empty() {
            s.push(' ');
            s.push_str(&c.decl_type);
        }
        if t.rowid_column == Some(i) {
            s.push_str(" PRIMARY KEY");
            if t.autoincrement {
                s.push_str(" AUTOINCREMENT");
            }
        }
        if c.not_null {
            s.push_str(" NOT NULL");
        }
        if let Some(d) = &c.default {
            s.push_str(" DEFAULT ");
            s.push_str(d);
        }
        cols.push(s);
    }
    for ix in t.indexes.iter().filter(|ix| ix.auto) {
        // Indexes made for PRIMARY KEY / UNIQUE constraints (other than the rowid alias).
        let names: Vec<String> = ix.columns.iter().map(|&i| column_ref(t, i)).collect();
        cols.push(format!("UNIQUE ({})", names.join(", ")));
    }
    format!(
        "CREATE TABLE {} (\n  {}\n)",
        quote_ident(&t.name),
        cols.join(",\n  ")
    )
}

/// A `CREATE [UNIQUE] INDEX` statement for `ix` on `t`, without a trailing `;`.
pub fn create_index_sql(t: &TableDef, ix: &IndexDef) -> String {
    let names: Vec<String> = ix.columns.iter().map(|&i| column_ref(t, i)).collect();
    format!(
        "CREATE {}INDEX {} ON {} ({})",
        if ix.unique { "UNIQUE " } else { "" },
        quote_ident(&ix.name),
        quote_ident(&t.name),
        names.join(", ")
    )
}

/// The rows of SQLite's `sqlite_schema` (`sqlite_master`) table for this catalog: `type`,
/// `name`, `tbl_name`, `rootpage`, `sql` of every table (in creation order) followed by its
/// indexes (constraint indexes have NULL `sql`, as in SQLite), then views and triggers.
/// `rootpage` is the table's id (0 for other objects: there are no pages).
pub fn schema_rows(cat: &Catalog) -> Vec<[crate::value::Value; 5]> {
    use crate::value::Value;
    let text = |s: &str| Value::Text(s.to_string());
    let mut tables: Vec<&Arc<TableDef>> = cat.tables.values().collect();
    tables.sort_by_key(|t| t.id);
    let mut out = Vec::new();
    for t in tables {
        out.push([
            text("table"),
            text(&t.name),
            text(&t.name),
            Value::Integer(i64::from(t.id)),
            text(&create_table_sql(t)),
        ]);
        for ix in &t.indexes {
            out.push([
                text("index"),
                text(&ix.name),
                text(&t.name),
                Value::Integer(0),
                if ix.auto {
                    Value::Null
                } else {
                    text(&create_index_sql(t, ix))
                },
            ]);
        }
    }
    for v in cat.views.values() {
        out.push([
            text("view"),
            text(&v.name),
            text(&v.name),
            Value::Integer(0),
            text(&format!(
                "CREATE VIEW {} AS {}",
                quote_ident(&v.name),
                v.sql
            )),
        ]);
    }
    for tr in cat.triggers.values().filter(|t| !t.def.temporary) {
        out.push([
            text("trigger"),
            text(&tr.def.name),
            text(&tr.def.table),
            Value::Integer(0),
            text(tr.def.sql.trim_end().trim_end_matches(';')),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{KvBackend, MemBackend};

    #[test]
    fn corrupt_catalog_entries_are_errors() {
        let b = MemBackend::new();
        let mut t = b.begin().unwrap();
        t.put(&key(K_TABLE, "x"), b"{not json").unwrap();
        assert!(matches!(load(t.as_mut()), Err(Error::Corruption { .. })));
        let bad = TableDef {
            stats: None,
            autoincrement: false,
            primary_key: None,
            id: 1,
            name: "x".into(),
            columns: vec![],
            rowid_column: Some(3),
            indexes: vec![],
            next_index_id: 1,
        };
        put_table(t.as_mut(), &bad).unwrap();
        assert!(matches!(load(t.as_mut()), Err(Error::Corruption { .. })));
    }
}
