//! Opening databases from the command line, and reading the SQL catalog for `.tables`,
//! `.schema`, `stats` and `import`.

use std::path::Path;

use toondb::Database;
use toondb_query::catalog::{self, Catalog, TableDef};
use toondb_query::KvBackend;

use crate::error::{Error, Result};

/// Whether a command may create a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create the database if `path` does not exist or is an empty directory.
    Create,
    /// `path` must already hold a database (read-mostly commands: a typo must not create
    /// an empty database).
    Existing,
}

/// The path that names an in-memory database (as in sqlite3).
pub const MEMORY: &str = ":memory:";

/// True when `path` is `:memory:`.
pub fn is_memory(path: &Path) -> bool {
    path.as_os_str() == MEMORY
}

/// True when `path` is a directory holding a ToonDB database (it has a `CURRENT` file).
pub fn is_database(path: &Path) -> bool {
    path.join("CURRENT").is_file()
}

/// True when `path` is missing or an empty directory.
pub fn is_missing_or_empty(path: &Path) -> Result<bool> {
    match std::fs::read_dir(path) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory || path.is_file() => {
            Err(Error::Usage(format!(
                "{} is a file, not a database directory",
                path.display()
            )))
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Checks that `path` may be opened in `mode` (without opening it).
pub fn check_path(path: &Path, mode: Mode) -> Result<()> {
    if is_memory(path) || is_database(path) {
        return Ok(());
    }
    let empty = is_missing_or_empty(path)?;
    match mode {
        Mode::Existing => Err(Error::Usage(format!(
            "{} is not a ToonDB database (no CURRENT file)",
            path.display()
        ))),
        Mode::Create if empty => Ok(()),
        Mode::Create => Err(Error::Usage(format!(
            "{} is a non-empty directory that is not a ToonDB database; refusing to touch it",
            path.display()
        ))),
    }
}

/// Opens the database in `path`; `:memory:` is a fresh in-memory database (nothing is
/// written to disk).
pub fn open(path: &Path, mode: Mode) -> Result<Database> {
    check_path(path, mode)?;
    if is_memory(path) {
        return Ok(Database::open_in_memory()?);
    }
    Ok(Database::open(path)?)
}

/// Opens an existing database for `-readonly` use: a read-only open of the library
/// ([`Database::open_read_only`]: the WAL is replayed in memory, nothing in the directory is
/// created, renamed or deleted, and it works while another process has the database open),
/// and the caller additionally refuses writing statements up front with a clear message
/// ([`crate::exec::Runner::read_only`]). `:memory:` has nothing to protect and opens as usual.
pub fn open_read_only(path: &Path) -> Result<Database> {
    check_path(path, Mode::Existing)?;
    if is_memory(path) {
        return Ok(Database::open_in_memory()?);
    }
    Ok(Database::open_read_only(path)?)
}

/// SQL text that recreates the tables (schema and rows), indexes, views and triggers of `db`,
/// or only of `table`: `.dump`. Collections are not SQL objects and are listed as comments.
pub fn dump(db: &Database, table: Option<&str>) -> Result<String> {
    let cat = load_catalog(db)?;
    let mut out = String::from("BEGIN TRANSACTION;\n");
    let mut found = false;
    let wanted = |name: &str| table.is_none_or(|t| t.eq_ignore_ascii_case(name));
    for t in cat.tables.values().filter(|t| wanted(&t.name)) {
        found = true;
        // The explicit indexes are created after the rows.
        out.push_str(&create_table_sql(t));
        out.push('\n');
        let names: Vec<String> = t.columns.iter().map(|c| quote_ident(&c.name)).collect();
        let rows = db.query(
            &format!("SELECT {} FROM {}", names.join(", "), quote_ident(&t.name)),
            &[],
        )?;
        for row in rows.iter() {
            let vals: Vec<String> = row
                .values()
                .iter()
                .map(crate::params::sql_literal)
                .collect();
            out.push_str(&format!(
                "INSERT INTO {} VALUES ({});\n",
                quote_ident(&t.name),
                vals.join(", ")
            ));
        }
        for ix in t.indexes.iter().filter(|ix| !ix.auto) {
            out.push_str(&index_ddl(t, ix));
            out.push('\n');
        }
    }
    let views: Vec<(&str, &str)> = cat
        .views
        .values()
        .filter(|v| wanted(&v.name))
        .map(|v| (v.name.as_str(), v.sql.as_str()))
        .collect();
    for (name, sql) in views_in_dependency_order(views) {
        found = true;
        out.push_str(&format!("CREATE VIEW {} AS {sql};\n", quote_ident(name)));
    }
    // Triggers after the rows (so loading the dump does not fire them) and after the views
    // (INSTEAD OF triggers are attached to views).
    for t in cat.triggers.values().filter(|t| wanted(&t.def.table)) {
        out.push_str(&trigger_ddl(&t.def));
        out.push('\n');
    }
    if let (Some(t), false) = (table, found) {
        return Err(Error::Usage(format!("no such table: {t}")));
    }
    if table.is_none() {
        for c in db.list_collections()? {
            out.push_str(&format!(
                "-- collection {c} is not SQL and is not dumped (use the API to copy it)\n"
            ));
        }
    }
    out.push_str("COMMIT;\n");
    Ok(out)
}

/// A trigger's stored `CREATE TRIGGER` statement, terminated.
pub fn trigger_ddl(t: &toondb_query::catalog::TriggerDef) -> String {
    let sql = t.sql.trim_end();
    if sql.ends_with(';') {
        sql.to_string()
    } else {
        format!("{sql};")
    }
}

/// A snapshot of the SQL catalog (tables, their columns and indexes, views, triggers).
pub fn load_catalog(db: &Database) -> Result<Catalog> {
    let backend = toondb_query::StorageBackend::new(db.engine().clone());
    let mut txn = backend.begin()?;
    let cat = catalog::load(&mut *txn);
    txn.rollback();
    Ok(cat?)
}

/// `name` as a double-quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    catalog::quote_ident(name)
}

/// Views ordered so that each comes after the views its SQL names (by name, as a word);
/// views that name each other in a cycle keep their order.
fn views_in_dependency_order<'a>(mut rest: Vec<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    let mentions = |sql: &str, name: &str| {
        let lower = sql.to_lowercase();
        let name = name.to_lowercase();
        lower.match_indices(&name).any(|(i, _)| {
            let word = |c: char| c.is_alphanumeric() || c == '_';
            !lower[..i].chars().next_back().is_some_and(word)
                && !lower[i + name.len()..].chars().next().is_some_and(word)
        })
    };
    let mut out = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        let ready = rest
            .iter()
            .position(|(n, sql)| {
                !rest
                    .iter()
                    .any(|(other, _)| other != n && mentions(sql, other))
            })
            .unwrap_or(0);
        out.push(rest.remove(ready));
    }
    out
}

/// A `CREATE TABLE` statement equivalent to `t`, followed by its explicit indexes.
pub fn table_ddl(t: &TableDef) -> String {
    let mut out = create_table_sql(t);
    for ix in t.indexes.iter().filter(|ix| !ix.auto) {
        out.push('\n');
        out.push_str(&index_ddl(t, ix));
    }
    out
}

/// The `CREATE TABLE` statement of `t` (with its constraints, without explicit indexes).
fn create_table_sql(t: &TableDef) -> String {
    format!("{};", catalog::create_table_sql(t))
}

/// A `CREATE INDEX` statement for `ix` on `t`.
pub fn index_ddl(t: &TableDef, ix: &catalog::IndexDef) -> String {
    format!("{};", catalog::create_index_sql(t, ix))
}

/// The collections as JSON: name, documents, dimension and metric of each. Opening a
/// collection loads its vector index, so this reads every vector once.
pub fn collections(db: &Database) -> Result<serde_json::Value> {
    let mut out = Vec::new();
    for name in db.list_collections()? {
        let c = db.collection(&name)?;
        out.push(serde_json::json!({
            "name": name,
            "documents": c.len(),
            "dim": c.dim(),
            "metric": format!("{:?}", c.metric()).to_ascii_lowercase(),
        }));
    }
    Ok(serde_json::Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_come_after_the_views_they_use() {
        let order = views_in_dependency_order(vec![
            ("a_top", "SELECT * FROM b_mid"),
            ("b_mid", "SELECT x FROM \"c_base\" WHERE y = 'a_top'"),
            ("c_base", "SELECT 1 AS x, 2 AS y FROM c_base_table"),
        ]);
        let names: Vec<&str> = order.iter().map(|(n, _)| *n).collect();
        // `a_top` inside a string still counts as a mention; the cycle falls back to order.
        assert_eq!(names, vec!["c_base", "a_top", "b_mid"]);
        let order = views_in_dependency_order(vec![
            ("a_top", "SELECT * FROM b_mid"),
            ("b_mid", "SELECT x FROM c_base"),
            ("c_base", "SELECT 1 AS x FROM t"),
        ]);
        let names: Vec<&str> = order.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, vec!["c_base", "b_mid", "a_top"]);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn check_path_modes() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("new");
        assert!(check_path(&fresh, Mode::Create).is_ok());
        assert!(check_path(&fresh, Mode::Existing).is_err());
        std::fs::write(dir.path().join("x.txt"), "hi").unwrap();
        let e = check_path(dir.path(), Mode::Create)
            .unwrap_err()
            .to_string();
        assert!(e.contains("refusing"), "{e}");
        let e = check_path(&dir.path().join("x.txt"), Mode::Create)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a file"), "{e}");
    }
}
