//! Database handle, sessions (connections) with transaction state, prepared statements,
//! DDL/DML statement execution.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use sqlparser::ast::{self, Statement};

use crate::catalog::{self, Catalog, ColumnDef, IndexDef, TableDef, TriggerEvent, ViewDef};
use crate::codec::{index_prefix, table_prefix};
use crate::ctl::{Ctl, InterruptHandle, StatementLimits};
use crate::error::{name_err, unsupported, Error, Result};
use crate::exec::{Exec, Flow, OnConflict, Row};
use crate::expr::Expr;
use crate::func::{Arity, Functions};
use crate::kv::{range_is_empty, KvBackend, KvPairs, KvTxn, MemBackend, MergeWrites};
use crate::parse::{count_params, parse, parse_one};
use crate::plan::Plan;
use crate::planner::{object_name, Column, Planned, Planner};
use crate::trigger::{Fired, Firing, Image, Outcome};
use crate::value::{Affinity, DataType, Value};

/// Attempts for an autocommit statement that hits a write-write conflict.
const AUTOCOMMIT_RETRIES: u32 = 64;

/// The result of a statement: result columns and rows (empty for non-queries).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct QueryResult {
    /// Result columns.
    pub columns: Vec<Column>,
    /// Result rows.
    pub rows: Vec<Vec<Value>>,
    /// Rows inserted, updated or deleted by a DML statement.
    pub rows_affected: u64,
    /// Rowid of the last row inserted by this statement (INSERT only).
    pub last_insert_rowid: Option<i64>,
}

/// A shared database: a storage backend plus the SQL layer.
#[derive(Clone)]
pub struct Database {
    backend: Arc<dyn KvBackend>,
    functions: Functions,
    interrupt: InterruptHandle,
    limits: StatementLimits,
    spill_dir: Option<Arc<std::path::PathBuf>>,
}

/// The spill directory of an engine: its directory when it is a real one (not in-memory).
fn engine_spill_dir(engine: &toondb_storage::Engine) -> Option<Arc<std::path::PathBuf>> {
    let p = engine.path();
    p.is_dir().then(|| Arc::new(p.to_path_buf()))
}

impl Database {
    /// A database over any backend.
    pub fn with_backend(backend: Arc<dyn KvBackend>) -> Self {
        Database {
            backend,
            functions: Functions::default(),
            interrupt: InterruptHandle::new(),
            limits: StatementLimits::default(),
            spill_dir: None,
        }
    }

    /// A database over a toondb-storage engine.
    pub fn from_engine(engine: toondb_storage::Engine) -> Self {
        let spill = engine_spill_dir(&engine);
        let mut db = Self::with_backend(Arc::new(crate::storage::StorageBackend::new(engine)));
        db.spill_dir = spill;
        db
    }

    /// A database whose keys all live under `prefix` in the engine's key space.
    pub fn from_engine_with_prefix(engine: toondb_storage::Engine, prefix: &[u8]) -> Self {
        let spill = engine_spill_dir(&engine);
        let mut db = Self::with_backend(Arc::new(
            crate::storage::StorageBackend::new(engine).with_prefix(prefix),
        ));
        db.spill_dir = spill;
        db
    }

    /// Same database with these limits for the sessions created afterwards.
    pub fn with_limits(mut self, limits: StatementLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Same database, sharing the function registry and interrupt handle of `other` (used
    /// to run SQL over another backend, e.g. one transaction, with the same functions).
    pub fn sharing_with(mut self, other: &Database) -> Self {
        self.functions = other.functions.clone();
        self.interrupt = other.interrupt.clone();
        self.limits = other.limits;
        self.spill_dir = other.spill_dir.clone();
        self
    }

    /// Where sorts spill when they outgrow the memory budget (no directory: they fail with
    /// [`Error::ResourceExhausted`] instead).
    pub fn with_spill_dir(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.spill_dir = dir.map(Arc::new);
        self
    }

    /// The limits new sessions start with.
    pub fn limits(&self) -> StatementLimits {
        self.limits
    }

    /// A handle that interrupts the statements running on this database (all sessions),
    /// from any thread, like rusqlite's `get_interrupt_handle`.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// Registers a user scalar function for every session of this database. `arity` is the
    /// accepted argument count; `deterministic` lets the planner fold calls on constants.
    pub fn register_scalar_function<F>(
        &self,
        name: &str,
        arity: Arity,
        deterministic: bool,
        f: F,
    ) -> Result<()>
    where
        F: Fn(&[Value]) -> Result<Value> + Send + Sync + 'static,
    {
        self.functions.register(name, arity, deterministic, f)
    }

    /// The function registry.
    pub fn functions(&self) -> &Functions {
        &self.functions
    }

    /// A fresh in-memory database on toondb-storage's in-memory engine.
    pub fn open_in_memory() -> Result<Self> {
        let engine = toondb_storage::Engine::open_in_memory(toondb_storage::Options::default())
            .map_err(crate::storage::storage_err)?;
        Ok(Self::from_engine(engine))
    }

    /// A fresh database on the simple `BTreeMap` backend (tests, fuzzing).
    pub fn open_mem() -> Self {
        Self::with_backend(Arc::new(MemBackend::new()))
    }

    /// A new session (connection). Sessions are independent; each may hold one transaction.
    pub fn session(&self) -> Session {
        Session {
            backend: self.backend.clone(),
            txn: None,
            catalog: None,
            attached: Attached {
                functions: self.functions.clone(),
                temp_triggers: BTreeMap::new(),
            },
            temp_seq: 0,
            interrupt: self.interrupt.clone(),
            limits: self.limits,
            spill_dir: self.spill_dir.clone(),
        }
    }
}

type PlanCache = std::sync::Mutex<Option<(u64, Arc<Planned>)>>;

/// A prepared statement: parsed once; a query's plan is cached and reused until the catalog
/// changes (parameters are bound at execution).
#[derive(Debug, Clone)]
pub struct Prepared {
    stmt: Statement,
    nparams: usize,
    plan: Arc<PlanCache>,
}

impl Prepared {
    /// Number of parameters the statement expects.
    pub fn param_count(&self) -> usize {
        self.nparams
    }
}

/// Statement-level write buffer over a transaction (statement atomicity inside BEGIN..COMMIT).
struct Overlay<'a> {
    base: &'a mut dyn KvTxn,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl KvTxn for Overlay<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.writes.get(key) {
            Some(w) => Ok(w.clone()),
            None => self.base.get(key),
        }
    }
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.writes.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.writes.insert(key.to_vec(), None);
        Ok(())
    }
    fn scan(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Result<KvPairs<'_>> {
        if range_is_empty(lower, upper) {
            return Ok(Box::new(std::iter::empty()));
        }
        let base = self.base.scan(lower, upper, reverse)?;
        Ok(Box::new(MergeWrites::with_direction(
            base,
            &self.writes,
            lower,
            upper,
            reverse,
        )))
    }
    fn scan_chunk(
        &mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let base = &mut *self.base;
        crate::kv::merged_chunk(&self.writes, lower, upper, limit, reverse, |l, h, n| {
            base.scan_chunk(l, h, n, reverse)
        })
    }
    fn commit(self: Box<Self>) -> Result<()> {
        for (k, w) in self.writes {
            match w {
                Some(v) => self.base.put(&k, &v)?,
                None => self.base.delete(&k)?,
            }
        }
        Ok(())
    }
    fn rollback(self: Box<Self>) {}
}

/// A connection: executes statements, holds the open explicit transaction.
pub struct Session {
    backend: Arc<dyn KvBackend>,
    txn: Option<Box<dyn KvTxn>>,
    catalog: Option<Arc<Catalog>>,
    attached: Attached,
    /// TEMP triggers created so far (orders them newest first).
    temp_seq: u64,
    interrupt: InterruptHandle,
    limits: StatementLimits,
    spill_dir: Option<Arc<std::path::PathBuf>>,
}

/// What a session adds to every catalog snapshot it loads: the database's user functions and
/// the session's own TEMP triggers (which live only as long as the session, as in SQLite).
struct Attached {
    functions: Functions,
    temp_triggers: BTreeMap<String, Arc<crate::trigger::Trigger>>,
}

enum TxnCtl {
    Begin,
    Commit,
    Rollback,
}

fn is_write(stmt: &Statement) -> bool {
    !matches!(stmt, Statement::Query(_) | Statement::Explain { .. })
}

impl Session {
    /// Sets the timeout applied to each following statement (`None`: no timeout).
    pub fn set_timeout(&mut self, timeout: Option<std::time::Duration>) {
        self.limits.timeout = timeout;
    }

    /// Sets the memory budget of each following statement, in bytes.
    pub fn set_memory_budget(&mut self, bytes: u64) {
        self.limits.memory_budget = bytes;
    }

    /// The limits applied to this session's statements.
    pub fn limits(&self) -> StatementLimits {
        self.limits
    }

    /// The interrupt handle this session's statements obey.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        self.interrupt.clone()
    }

    /// Control for a statement starting now; a statement started under a cancel token that
    /// is already cancelled fails at once (a short one might otherwise finish before its
    /// first periodic check).
    fn start_ctl(&self) -> Result<Ctl> {
        let ctl = Ctl::start(&self.interrupt, &self.limits, self.spill_dir.clone());
        ctl.poll()?;
        Ok(ctl)
    }

    /// True while a BEGIN ... COMMIT/ROLLBACK transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    /// Executes one or more `;`-separated statements; returns the last statement's result.
    pub fn execute(&mut self, sql: &str) -> Result<QueryResult> {
        self.execute_with(sql, &[])
    }

    /// Like [`Session::execute`] with positional parameters for `?`, `?N` and `$N`.
    pub fn execute_with(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        crate::parse::with_sql_stack(|| self.execute_with_inner(sql, params, None))
    }

    /// Runs `sql` like [`Session::execute_with`], but hands the rows of the last statement to
    /// `each` one at a time as the executor produces them instead of collecting them: a query's
    /// memory does not grow with its result, and returning [`Flow::Stop`] ends the statement
    /// early (its reads stop; nothing else happens). Rows of a statement that writes
    /// (`RETURNING`) are handed over once the statement has committed. Column types the plan
    /// does not know are taken from the first row. Returns the result without its rows.
    ///
    /// ```
    /// use toondb_query::{exec::Flow, Database, Value};
    /// let db = Database::open_in_memory().unwrap();
    /// let mut s = db.session();
    /// s.execute("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3)").unwrap();
    /// let mut seen = Vec::new();
    /// s.query_each("SELECT x FROM t ORDER BY x", &[], &mut |_cols, row| {
    ///     seen.push(row[0].clone());
    ///     Ok(if seen.len() == 2 { Flow::Stop } else { Flow::More })
    /// })
    /// .unwrap();
    /// assert_eq!(seen, [Value::Integer(1), Value::Integer(2)]);
    /// ```
    pub fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        each: &mut RowCallback<'_>,
    ) -> Result<QueryResult> {
        crate::parse::with_sql_stack(|| self.execute_with_inner(sql, params, Some(each)))
    }

    fn execute_with_inner(
        &mut self,
        sql: &str,
        params: &[Value],
        mut each: Option<&mut RowCallback<'_>>,
    ) -> Result<QueryResult> {
        if let Some(r) = self.special(sql)? {
            return feed_rows(r, each);
        }
        let (sql, if_not_exists) = crate::trigger::strip_if_not_exists(sql);
        let stmts = parse(&sql)?;
        if !params.is_empty() {
            // Every statement of a script numbers its parameters from 1 and sees the same
            // values, so the script needs as many as its hungriest statement; more is a
            // caller error (SQLite: SQLITE_RANGE), never silently ignored.
            let most = stmts
                .iter()
                .map(|st| count_params(&st.to_string()).1)
                .max()
                .unwrap_or(0);
            check_no_surplus(most, params)?;
        }
        let mut last = QueryResult::default();
        let mut triggers_seen = 0;
        for (i, s) in stmts.iter().enumerate() {
            if let Statement::CreateTrigger(ct) = s {
                let ine = if_not_exists.get(triggers_seen) == Some(&true);
                triggers_seen += 1;
                if ine
                    && self
                        .current_catalog()?
                        .trigger(&object_name(&ct.name))
                        .is_some()
                {
                    last = QueryResult::default();
                    continue;
                }
            }
            let sink = if i + 1 == stmts.len() {
                each.as_deref_mut()
            } else {
                None
            };
            last = self.run_statement(s, params, None, sink)?;
        }
        Ok(last)
    }

    /// Parses a single statement for repeated execution.
    ///
    /// ```
    /// use toondb_query::{Database, Value};
    /// let db = Database::open_in_memory().unwrap();
    /// let mut s = db.session();
    /// s.execute("CREATE TABLE kv(k TEXT PRIMARY KEY, v INTEGER)").unwrap();
    /// let ins = s.prepare("INSERT INTO kv VALUES (?1, ?2)").unwrap();
    /// for (k, v) in [("a", 1), ("b", 2)] {
    ///     s.execute_prepared(&ins, &[Value::from(k), Value::from(v)]).unwrap();
    /// }
    /// let get = s.prepare("SELECT v FROM kv WHERE k = $1").unwrap();
    /// let r = s.execute_prepared(&get, &[Value::from("b")]).unwrap();
    /// assert_eq!(r.rows, vec![vec![Value::Integer(2)]]);
    /// ```
    pub fn prepare(&mut self, sql: &str) -> Result<Prepared> {
        crate::parse::with_sql_stack(|| self.prepare_inner(sql))
    }

    fn prepare_inner(&mut self, sql: &str) -> Result<Prepared> {
        let stmt = parse_one(sql)?;
        // Count parameters by binding once against the current catalog.
        let nparams = match &stmt {
            Statement::Query(q) => {
                let cat = self.current_catalog()?;
                let mut p = Planner::new(&cat);
                p.plan_query(q)?;
                p.nparams
            }
            _ => count_params(sql).0,
        };
        Ok(Prepared {
            stmt,
            nparams,
            plan: Arc::new(std::sync::Mutex::new(None)),
        })
    }

    /// Executes a prepared statement with parameters.
    pub fn execute_prepared(&mut self, p: &Prepared, params: &[Value]) -> Result<QueryResult> {
        if params.len() < p.nparams {
            return Err(Error::Param(expects_params(p.nparams, params.len())));
        }
        crate::parse::with_sql_stack(|| {
            check_no_surplus(p.nparams.max(count_params(&p.stmt.to_string()).1), params)?;
            self.run_statement(&p.stmt, params, Some(&p.plan), None)
        })
    }

    /// Runs a query and returns an iterator over its rows (rows are computed eagerly).
    pub fn query_iter(&mut self, sql: &str, params: &[Value]) -> Result<RowIter> {
        let r = self.execute_with(sql, params)?;
        Ok(RowIter {
            columns: r.columns,
            rows: r.rows.into_iter(),
        })
    }

    fn special(&mut self, sql: &str) -> Result<Option<QueryResult>> {
        // REINDEX is not in sqlparser's grammar; indexes are always consistent, so it only
        // validates its argument.
        let t = sql.trim().trim_end_matches(';').trim();
        let mut words = t.split_whitespace();
        if words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("reindex"))
        {
            let name = words.next();
            if words.next().is_some() {
                return Err(Error::Syntax {
                    message: format!("unexpected text after REINDEX: {t}"),
                });
            }
            if let Some(n) = name {
                let cat = self.current_catalog()?;
                let n = n.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']');
                if cat.table(n).is_none() && cat.index(n).is_none() {
                    return name_err(format!(
                        "unable to identify the object to be reindexed: {n}"
                    ));
                }
            }
            return Ok(Some(QueryResult::default()));
        }
        if let Some(p) = crate::pragma::parse(t) {
            let (name, arg) = p?;
            let cat = self.current_catalog()?;
            return crate::pragma::run(&cat, &name, arg.as_deref()).map(Some);
        }
        if let Some(r) = self.vacuum(t)? {
            return Ok(Some(r));
        }
        let mut words = t.split_whitespace();
        if words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("analyze"))
        {
            let name = words.next().map(|n| {
                n.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
                    .to_string()
            });
            if words.next().is_some() {
                return Err(Error::Syntax {
                    message: format!("unexpected text after ANALYZE: {t}"),
                });
            }
            self.analyze(name.as_deref())?;
            return Ok(Some(QueryResult::default()));
        }
        Ok(None)
    }

    /// `VACUUM [main]`: compacts the backend's whole key range (see [`KvBackend::vacuum`]).
    /// `None` when `t` is not a VACUUM statement. Refused inside a transaction, as in SQLite.
    fn vacuum(&mut self, t: &str) -> Result<Option<QueryResult>> {
        let mut words = t.split_whitespace();
        if !words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("vacuum"))
        {
            return Ok(None);
        }
        let rest: Vec<&str> = words.collect();
        match rest.as_slice() {
            [] => {}
            [schema] => {
                let s = schema.trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']');
                if !s.eq_ignore_ascii_case("main") {
                    return Err(Error::Semantic(format!("unknown database {s}")));
                }
            }
            [.., into, _] if into.eq_ignore_ascii_case("into") => {
                return unsupported("VACUUM INTO");
            }
            _ => {
                return Err(Error::Syntax {
                    message: format!("unexpected text after VACUUM: {t}"),
                })
            }
        }
        if self.txn.is_some() {
            return Err(Error::Transaction(
                "cannot VACUUM from within a transaction".into(),
            ));
        }
        self.backend.vacuum()?;
        Ok(Some(QueryResult::default()))
    }

    /// ANALYZE [table]: stores row counts and distinct estimates in the catalog.
    fn analyze(&mut self, name: Option<&str>) -> Result<()> {
        let ctl = self.start_ctl()?;
        let run = |cat: &Catalog, txn: &mut dyn KvTxn| -> Result<()> {
            let tables: Vec<Arc<TableDef>> = match name {
                None => cat.tables.values().cloned().collect(),
                Some(n) => match cat.table(n) {
                    Some(t) => vec![t.clone()],
                    None => return name_err(format!("no such table: {n}")),
                },
            };
            for t in tables {
                let stats = {
                    let mut ex = Exec::with_ctl(txn, &[], ctl.clone());
                    crate::stats::collect(&mut ex, &t)?
                };
                let mut t2 = (*t).clone();
                t2.stats = Some(stats);
                catalog::put_table(txn, &t2)?;
            }
            Ok(())
        };
        match self.txn.as_deref_mut() {
            Some(t) => {
                let cat = load_catalog(&mut self.catalog, t, &self.attached)?;
                let mut ov = Box::new(Overlay {
                    base: t,
                    writes: BTreeMap::new(),
                });
                run(&cat, ov.as_mut())?;
                ov.commit()
            }
            None => {
                let mut t = self.backend.begin()?;
                let cat = load_catalog(&mut self.catalog, t.as_mut(), &self.attached)?;
                match run(&cat, t.as_mut()) {
                    Ok(()) => t.commit(),
                    Err(e) => {
                        t.rollback();
                        Err(e)
                    }
                }
            }
        }
    }

    fn current_catalog(&mut self) -> Result<Arc<Catalog>> {
        match self.txn.as_deref_mut() {
            Some(t) => load_catalog(&mut self.catalog, t, &self.attached),
            None => {
                let mut t = self.backend.begin()?;
                let r = load_catalog(&mut self.catalog, t.as_mut(), &self.attached);
                t.rollback();
                r
            }
        }
    }

    fn txn_ctl(stmt: &Statement) -> Option<TxnCtl> {
        match stmt {
            Statement::StartTransaction { .. } => Some(TxnCtl::Begin),
            Statement::Commit { .. } => Some(TxnCtl::Commit),
            Statement::Rollback {
                savepoint: None, ..
            } => Some(TxnCtl::Rollback),
            _ => None,
        }
    }

    /// Runs one statement; with `each`, a query's rows stream to it and other statements' rows
    /// (RETURNING, EXPLAIN) are handed over after they commit.
    fn run_statement(
        &mut self,
        stmt: &Statement,
        params: &[Value],
        cache: Option<&PlanCache>,
        each: Option<&mut RowCallback<'_>>,
    ) -> Result<QueryResult> {
        if matches!(stmt, Statement::Query(_)) {
            return self.run_statement_inner(stmt, params, cache, each);
        }
        if let Some(r) = self.temp_trigger_ddl(stmt)? {
            return Ok(r);
        }
        let r = self.run_statement_inner(stmt, params, cache, None)?;
        if let Statement::Drop {
            object_type: ast::ObjectType::Table | ast::ObjectType::View,
            names,
            ..
        } = stmt
        {
            // A dropped table or view takes the session's TEMP triggers on it along.
            let dropped: Vec<String> = names.iter().map(object_name).collect();
            let before = self.attached.temp_triggers.len();
            self.attached
                .temp_triggers
                .retain(|_, t| !dropped.iter().any(|d| d.eq_ignore_ascii_case(&t.def.table)));
            if self.attached.temp_triggers.len() != before {
                self.catalog = None;
            }
        }
        feed_rows(r, each)
    }

    /// `CREATE TEMP TRIGGER` and `DROP TRIGGER` of a TEMP trigger: the session keeps those
    /// triggers (they fire only for its own statements and end with it).
    fn temp_trigger_ddl(&mut self, stmt: &Statement) -> Result<Option<QueryResult>> {
        match stmt {
            Statement::CreateTrigger(ct) if ct.temporary => {
                let cat = self.current_catalog()?;
                self.temp_seq += 1;
                let t = crate::trigger::define(
                    &cat,
                    ct,
                    crate::trigger::TEMP_SEQ_FLOOR + self.temp_seq,
                )?;
                self.attached
                    .temp_triggers
                    .insert(t.def.name.to_ascii_lowercase(), Arc::new(t));
                self.catalog = None;
                Ok(Some(QueryResult::default()))
            }
            Statement::DropTrigger(dt) if dt.table_name.is_none() && dt.option.is_none() => {
                let name = object_name(&dt.trigger_name).to_ascii_lowercase();
                if self.attached.temp_triggers.remove(&name).is_none() {
                    return Ok(None);
                }
                self.catalog = None;
                Ok(Some(QueryResult::default()))
            }
            _ => Ok(None),
        }
    }

    fn run_statement_inner(
        &mut self,
        stmt: &Statement,
        params: &[Value],
        cache: Option<&PlanCache>,
        mut each: Option<&mut RowCallback<'_>>,
    ) -> Result<QueryResult> {
        if let Some(ctl) = Self::txn_ctl(stmt) {
            return match ctl {
                TxnCtl::Begin => {
                    if self.txn.is_some() {
                        return Err(Error::Transaction(
                            "cannot start a transaction within a transaction".into(),
                        ));
                    }
                    self.txn = Some(self.backend.begin()?);
                    Ok(QueryResult::default())
                }
                TxnCtl::Commit => match self.txn.take() {
                    None => Err(Error::Transaction(
                        "cannot commit - no transaction is active".into(),
                    )),
                    Some(t) => {
                        let r = t.commit();
                        if r.is_err() {
                            self.catalog = None;
                        }
                        r.map(|()| QueryResult::default())
                    }
                },
                TxnCtl::Rollback => match self.txn.take() {
                    None => Err(Error::Transaction(
                        "cannot rollback - no transaction is active".into(),
                    )),
                    Some(t) => {
                        t.rollback();
                        self.catalog = None;
                        Ok(QueryResult::default())
                    }
                },
            };
        }
        let ctl = self.start_ctl()?;
        match self.txn.as_deref_mut() {
            Some(base) => {
                let mut ov = Box::new(Overlay {
                    base,
                    writes: BTreeMap::new(),
                });
                let r = exec_statement(
                    &mut self.catalog,
                    &self.attached,
                    ov.as_mut(),
                    stmt,
                    params,
                    cache,
                    &ctl,
                    each,
                );
                match r {
                    Ok(res) => {
                        ov.commit()?;
                        Ok(res)
                    }
                    Err(e) if keeps_writes(&e) => {
                        ov.commit()?;
                        Err(e)
                    }
                    Err(e) => {
                        drop(ov);
                        self.catalog = None;
                        if matches!(
                            e,
                            Error::Raise {
                                kind: crate::error::RaiseKind::Rollback,
                                ..
                            }
                        ) {
                            // RAISE(ROLLBACK) ends the whole explicit transaction.
                            if let Some(t) = self.txn.take() {
                                t.rollback();
                            }
                        }
                        Err(e)
                    }
                }
            }
            None => {
                // Autocommit: a statement that loses a write-write race is simply re-run
                // (nothing of it was visible), like SQLite waiting for the write lock.
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match self.autocommit_once(stmt, params, cache, each.as_deref_mut()) {
                        Err(e) if e.is_conflict() && attempt < AUTOCOMMIT_RETRIES => {
                            std::thread::sleep(std::time::Duration::from_micros(
                                20 * u64::from(attempt),
                            ));
                        }
                        r => return r,
                    }
                }
            }
        }
    }
}

impl Session {
    fn autocommit_once(
        &mut self,
        stmt: &Statement,
        params: &[Value],
        cache: Option<&PlanCache>,
        each: Option<&mut RowCallback<'_>>,
    ) -> Result<QueryResult> {
        let mut t = self.backend.begin()?;
        let ctl = self.start_ctl()?;
        match exec_statement(
            &mut self.catalog,
            &self.attached,
            t.as_mut(),
            stmt,
            params,
            cache,
            &ctl,
            each,
        ) {
            Ok(res) => {
                if is_write(stmt) {
                    if let Err(e) = t.commit() {
                        self.catalog = None;
                        return Err(e);
                    }
                } else {
                    t.rollback();
                }
                Ok(res)
            }
            Err(e) if keeps_writes(&e) => {
                if let Err(c) = t.commit() {
                    self.catalog = None;
                    return Err(c);
                }
                Err(e)
            }
            Err(e) => {
                t.rollback();
                self.catalog = None;
                Err(e)
            }
        }
    }
}

/// `RAISE(FAIL, ..)` ends the statement but, as in SQLite, keeps what it wrote before.
fn keeps_writes(e: &Error) -> bool {
    matches!(
        e,
        Error::Raise {
            kind: crate::error::RaiseKind::Fail,
            ..
        }
    )
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(t) = self.txn.take() {
            t.rollback();
        }
    }
}

/// Iterator over the rows of a query result.
pub struct RowIter {
    columns: Vec<Column>,
    rows: std::vec::IntoIter<Vec<Value>>,
}

impl RowIter {
    /// Result columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }
}

impl Iterator for RowIter {
    type Item = Vec<Value>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rows.next()
    }
}

/// "statement expects 1 parameter, 0 given" (singular for one).
fn expects_params(needed: usize, given: usize) -> String {
    let s = if needed == 1 { "" } else { "s" };
    format!("statement expects {needed} parameter{s}, {given} given")
}

/// Refuses parameters beyond the `most` a statement can use.
fn check_no_surplus(most: usize, given: &[Value]) -> Result<()> {
    if given.len() > most {
        return Err(Error::Param(format!(
            "{} parameter{} given, but the statement uses {most}",
            given.len(),
            if given.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// A column definition from its declared name and type, before its constraints are applied
/// (shared by CREATE TABLE and ALTER TABLE ADD COLUMN).
fn new_column_def(c: &ast::ColumnDef) -> ColumnDef {
    let decl = c.data_type.to_string();
    let decl = if decl.eq_ignore_ascii_case("unspecified") {
        String::new()
    } else {
        decl
    };
    ColumnDef {
        name: c.name.value.clone(),
        ty: DataType::from_type_name(&decl),
        affinity: Affinity::from_type_name(&decl),
        decl_type: decl,
        not_null: false,
        default: None,
        added_default: None,
    }
}

fn load_catalog(
    cache: &mut Option<Arc<Catalog>>,
    txn: &mut dyn KvTxn,
    attached: &Attached,
) -> Result<Arc<Catalog>> {
    let v = catalog::version(txn)?;
    if let Some(c) = cache {
        if c.version == v {
            return Ok(c.clone());
        }
    }
    let mut c = catalog::load(txn)?;
    c.functions = attached.functions.clone();
    for (name, t) in &attached.temp_triggers {
        // A TEMP trigger whose table another session dropped stays inert.
        if c.table(&t.def.table).is_some() || c.view(&t.def.table).is_some() {
            c.triggers.insert(name.clone(), t.clone());
        }
    }
    let c = Arc::new(c);
    *cache = Some(c.clone());
    Ok(c)
}

fn fill_types(columns: &mut [Column], rows: &[Row]) {
    for (i, c) in columns.iter_mut().enumerate() {
        if c.ty == DataType::Null {
            if let Some(v) = rows.iter().filter_map(|r| r.get(i)).find(|v| !v.is_null()) {
                c.ty = v.data_type();
            }
        }
    }
}

/// Receives the rows of a streamed statement: the result columns and one row; returns whether
/// to go on (see [`Session::query_each`]).
pub type RowCallback<'a> = dyn FnMut(&[Column], Vec<Value>) -> Result<Flow> + 'a;

/// Hands a finished result's rows to `each` (if any) and returns the result without them.
fn feed_rows(mut r: QueryResult, each: Option<&mut RowCallback<'_>>) -> Result<QueryResult> {
    if let Some(each) = each {
        for row in std::mem::take(&mut r.rows) {
            if each(&r.columns, row)? == Flow::Stop {
                break;
            }
        }
    }
    Ok(r)
}

#[allow(clippy::too_many_arguments)]
fn exec_statement(
    catalog_cache: &mut Option<Arc<Catalog>>,
    attached: &Attached,
    txn: &mut dyn KvTxn,
    stmt: &Statement,
    params: &[Value],
    cache: Option<&PlanCache>,
    ctl: &Ctl,
    each: Option<&mut RowCallback<'_>>,
) -> Result<QueryResult> {
    let cat = load_catalog(catalog_cache, txn, attached)?;
    match stmt {
        Statement::Query(q) => {
            let cached = cache.and_then(|c| {
                c.lock().ok().and_then(|g| {
                    g.as_ref()
                        .filter(|(v, _)| *v == cat.version)
                        .map(|(_, p)| p.clone())
                })
            });
            let p = match cached {
                Some(p) => p,
                None => {
                    let mut planner = Planner::new(&cat);
                    let p = Arc::new(planner.plan_query(q)?);
                    check_params(planner.nparams, params)?;
                    if let Some(c) = cache {
                        if let Ok(mut g) = c.lock() {
                            *g = Some((cat.version, p.clone()));
                        }
                    }
                    p
                }
            };
            let mut ex = Exec::with_ctl(txn, params, ctl.clone());
            if let Some(each) = each {
                let mut columns = p.columns.clone();
                let mut first = true;
                ex.stream(&p.plan, &mut |_, row| {
                    if first {
                        fill_types(&mut columns, std::slice::from_ref(&row));
                        first = false;
                    }
                    each(&columns, row)
                })?;
                return Ok(QueryResult {
                    columns,
                    rows: Vec::new(),
                    rows_affected: 0,
                    last_insert_rowid: None,
                });
            }
            let rows = ex.run(&p.plan)?;
            let mut columns = p.columns.clone();
            fill_types(&mut columns, &rows);
            Ok(QueryResult {
                columns,
                rows,
                rows_affected: 0,
                last_insert_rowid: None,
            })
        }
        Statement::Explain { statement, .. } => {
            let lines = explain(&cat, statement)?;
            Ok(QueryResult {
                columns: vec![Column::planned("plan".into(), DataType::Text, None)],
                rows: lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
                rows_affected: 0,
                last_insert_rowid: None,
            })
        }
        Statement::Insert(ins) => insert(top_level(&cat, ctl), txn, ins, params),
        Statement::Update(u) => update(top_level(&cat, ctl), txn, u, params),
        Statement::Delete(d) => delete(top_level(&cat, ctl), txn, d, params),
        Statement::CreateTable(ct) => create_table(&cat, txn, ct),
        Statement::CreateIndex(ci) => create_index(&cat, txn, ci, ctl),
        Statement::CreateView(cv) => create_view(&cat, txn, cv),
        Statement::Drop {
            object_type,
            if_exists,
            names,
            ..
        } => drop_objects(&cat, txn, *object_type, *if_exists, names),
        Statement::AlterTable(at) => alter_table(&cat, txn, at, ctl),
        Statement::CreateTrigger(ct) => crate::trigger::create_trigger(&cat, txn, ct),
        Statement::DropTrigger(dt) => crate::trigger::drop_trigger(&cat, txn, dt),
        other => {
            let s = other.to_string();
            let head: String = s.chars().take(40).collect();
            unsupported(format!("statement {head}"))
        }
    }
}

/// A statement the user ran (not part of a trigger program).
fn top_level<'a>(cat: &'a Catalog, ctl: &'a Ctl) -> Firing<'a> {
    Firing {
        cat,
        ctl,
        frame: None,
        conflict: None,
    }
}

/// Runs one statement of a trigger program with the row's values as parameters.
pub(crate) fn run_trigger_step(
    fire: Firing<'_>,
    txn: &mut dyn KvTxn,
    stmt: &Statement,
    params: &[Value],
) -> Result<()> {
    match stmt {
        Statement::Query(q) => {
            let mut p = Planner::new(fire.cat).in_trigger(true);
            let planned = p.plan_query(q)?;
            check_params(p.nparams, params)?;
            let mut ex = Exec::with_ctl(txn, params, fire.ctl.clone());
            ex.stream(&planned.plan, &mut |_, _| Ok(Flow::More))?;
            Ok(())
        }
        Statement::Insert(i) => insert(fire, txn, i, params).map(drop),
        Statement::Update(u) => update(fire, txn, u, params).map(drop),
        Statement::Delete(d) => delete(fire, txn, d, params).map(drop),
        other => unsupported(format!(
            "statement in a trigger program: {}",
            other.to_string().chars().take(30).collect::<String>()
        )),
    }
}

/// Evaluates a trigger's `WHEN` (compiled as `SELECT (<when>)`) for one row.
pub(crate) fn trigger_condition(
    fire: Firing<'_>,
    txn: &mut dyn KvTxn,
    when: &Statement,
    params: &[Value],
) -> Result<bool> {
    let Statement::Query(q) = when else {
        return Err(Error::Internal("trigger WHEN is not a query".into()));
    };
    let mut p = Planner::new(fire.cat).in_trigger(true);
    let planned = p.plan_query(q)?;
    check_params(p.nparams, params)?;
    let mut ex = Exec::with_ctl(txn, params, fire.ctl.clone());
    let rows = ex.run(&planned.plan)?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .is_some_and(|v| v.truthy() == Some(true)))
}

fn check_params(needed: usize, given: &[Value]) -> Result<()> {
    if given.len() < needed {
        return Err(Error::Param(expects_params(needed, given.len())));
    }
    Ok(())
}

fn explain(cat: &Catalog, stmt: &Statement) -> Result<Vec<String>> {
    match stmt {
        Statement::Query(q) => {
            let mut p = Planner::new(cat);
            Ok(p.plan_query(q)?.plan.explain())
        }
        Statement::Update(u) => {
            let (t, pred, access) =
                dml_target(cat, &u.table.relation, u.selection.as_ref(), false)?;
            let plan = Plan::Scan {
                table: t.clone(),
                alias: t.name.clone(),
                access,
                filter: pred,
                reverse: false,
            };
            let mut v = vec![format!("Update {}", t.name)];
            v.extend(plan.explain().into_iter().map(|l| format!("  {l}")));
            Ok(v)
        }
        Statement::Delete(d) => {
            let rel = delete_relation(d)?;
            let (t, pred, access) = dml_target(cat, rel, d.selection.as_ref(), false)?;
            let plan = Plan::Scan {
                table: t.clone(),
                alias: t.name.clone(),
                access,
                filter: pred,
                reverse: false,
            };
            let mut v = vec![format!("Delete {}", t.name)];
            v.extend(plan.explain().into_iter().map(|l| format!("  {l}")));
            Ok(v)
        }
        Statement::Insert(ins) => Ok(vec![format!("Insert {}", ins.table)]),
        other => Ok(vec![format!(
            "{}",
            other.to_string().chars().take(60).collect::<String>()
        )]),
    }
}

// ---------------------------------------------------------------- DDL

fn create_table(cat: &Catalog, txn: &mut dyn KvTxn, ct: &ast::CreateTable) -> Result<QueryResult> {
    let name = object_name(&ct.name);
    crate::error::check_object_name(&name)?;
    if cat.table(&name).is_some() || cat.view(&name).is_some() {
        if ct.if_not_exists {
            return Ok(QueryResult::default());
        }
        return name_err(format!("table {name} already exists"));
    }
    if ct.query.is_some() {
        return unsupported("CREATE TABLE ... AS SELECT");
    }
    if ct.columns.is_empty() {
        return Err(Error::Syntax {
            message: format!("table {name} must have at least one column"),
        });
    }
    let mut columns: Vec<ColumnDef> = Vec::new();
    let mut pk: Option<Vec<usize>> = None;
    let mut uniques: Vec<Vec<usize>> = Vec::new();
    let mut autoincrement: Option<usize> = None;
    for (i, c) in ct.columns.iter().enumerate() {
        if columns
            .iter()
            .any(|x| x.name.eq_ignore_ascii_case(&c.name.value))
        {
            return name_err(format!("duplicate column name: {}", c.name.value));
        }
        let mut cd = new_column_def(c);
        for o in &c.options {
            match &o.option {
                ast::ColumnOption::NotNull => cd.not_null = true,
                ast::ColumnOption::Null => {}
                ast::ColumnOption::Default(e) => cd.default = Some(e.to_string()),
                ast::ColumnOption::PrimaryKey(_) => {
                    if pk.is_some() {
                        return Err(Error::Name(format!(
                            "table {name} has more than one primary key"
                        )));
                    }
                    pk = Some(vec![i]);
                }
                ast::ColumnOption::Unique(_) => uniques.push(vec![i]),
                ast::ColumnOption::Check(_)
                | ast::ColumnOption::Collation(_)
                | ast::ColumnOption::Comment(_) => {}
                ast::ColumnOption::DialectSpecific(tokens) => {
                    if tokens
                        .iter()
                        .any(|t| t.to_string().eq_ignore_ascii_case("autoincrement"))
                    {
                        autoincrement = Some(i);
                    }
                }
                other => return unsupported(format!("column option {other}")),
            }
        }
        columns.push(cd);
    }
    let col_pos = |ic: &ast::IndexColumn| -> Result<usize> {
        let n = match &ic.column.expr {
            ast::Expr::Identifier(id) => id.value.clone(),
            other => other.to_string(),
        };
        columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(&n))
            .ok_or_else(|| Error::Name(format!("no such column: {n}")))
    };
    for tc in &ct.constraints {
        match tc {
            ast::TableConstraint::PrimaryKey(p) => {
                if pk.is_some() {
                    return Err(Error::Name(format!(
                        "table {name} has more than one primary key"
                    )));
                }
                pk = Some(p.columns.iter().map(col_pos).collect::<Result<_>>()?);
            }
            ast::TableConstraint::Unique(u) => {
                uniques.push(u.columns.iter().map(col_pos).collect::<Result<_>>()?)
            }
            ast::TableConstraint::Check(_) | ast::TableConstraint::ForeignKey(_) => {}
            other => return unsupported(format!("table constraint {other}")),
        }
    }
    let mut rowid_column = None;
    if let Some(p) = &pk {
        if p.len() == 1 && columns[p[0]].decl_type.eq_ignore_ascii_case("integer") {
            rowid_column = Some(p[0]);
        } else {
            uniques.insert(0, p.clone());
        }
    }
    if autoincrement.is_some() && autoincrement != rowid_column {
        return Err(Error::Semantic(
            "AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY".into(),
        ));
    }
    let id = catalog::next_table_id(txn)?;
    let mut t = TableDef {
        stats: None,
        autoincrement: autoincrement.is_some(),
        primary_key: pk.clone(),
        id,
        name: name.clone(),
        columns,
        rowid_column,
        indexes: Vec::new(),
        next_index_id: 1,
    };
    for (n, u) in uniques.into_iter().enumerate() {
        t.indexes.push(IndexDef {
            id: t.next_index_id,
            name: format!("sqlite_autoindex_{}_{}", name, n + 1),
            columns: u,
            unique: true,
            auto: true,
        });
        t.next_index_id += 1;
    }
    catalog::put_table(txn, &t)?;
    Ok(QueryResult::default())
}

fn alter_table(
    cat: &Catalog,
    txn: &mut dyn KvTxn,
    at: &ast::AlterTable,
    ctl: &Ctl,
) -> Result<QueryResult> {
    let name = object_name(&at.name);
    let Some(t) = cat.table(&name) else {
        if at.if_exists {
            return Ok(QueryResult::default());
        }
        return name_err(format!("no such table: {name}"));
    };
    let mut t2: TableDef = (**t).clone();
    for op in &at.operations {
        match op {
            ast::AlterTableOperation::RenameTable { table_name } => {
                let new = match table_name {
                    ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => {
                        object_name(n)
                    }
                };
                if cat.table(&new).is_some() || cat.view(&new).is_some() {
                    return name_err(format!(
                        "there is already another table or view with this name: {new}"
                    ));
                }
                catalog::delete_table(txn, &t2.name)?;
                rename_in_views(cat, txn, &t2.name, &new)?;
                crate::trigger::rename_table_in_triggers(cat, txn, &t2.name, &new)?;
                t2.name = new;
            }
            ast::AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let Some(ci) = t2.column_index(&old_column_name.value) else {
                    return name_err(format!("no such column: \"{}\"", old_column_name.value));
                };
                if t2.column_index(&new_column_name.value).is_some() {
                    return name_err(format!("duplicate column name: {}", new_column_name.value));
                }
                let old_name =
                    std::mem::replace(&mut t2.columns[ci].name, new_column_name.value.clone());
                rename_column_in_views(cat, txn, &t2, &old_name, &new_column_name.value)?;
                crate::trigger::rename_column_in_triggers(
                    cat,
                    txn,
                    &t2.name,
                    &old_name,
                    &new_column_name.value,
                )?;
            }
            ast::AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                for c in column_names {
                    let Some(ci) = t2.column_index(&c.value) else {
                        if *if_exists {
                            continue;
                        }
                        return name_err(format!("no such column: \"{}\"", c.value));
                    };
                    t2 = drop_column(cat, txn, t2, ci, ctl)?;
                }
            }
            ast::AlterTableOperation::AddColumn {
                column_def,
                if_not_exists,
                ..
            } => {
                if t2.column_index(&column_def.name.value).is_some() {
                    if *if_not_exists {
                        continue;
                    }
                    return name_err(format!("duplicate column name: {}", column_def.name.value));
                }
                let mut cd = new_column_def(column_def);
                for o in &column_def.options {
                    match &o.option {
                        ast::ColumnOption::NotNull => cd.not_null = true,
                        ast::ColumnOption::Null => {}
                        ast::ColumnOption::Default(e) => cd.default = Some(e.to_string()),
                        ast::ColumnOption::PrimaryKey(_) | ast::ColumnOption::Unique(_) => {
                            return Err(Error::Semantic(
                                "Cannot add a PRIMARY KEY or UNIQUE column".into(),
                            ))
                        }
                        _ => {}
                    }
                }
                t2.columns.push(cd);
                let i = t2.columns.len() - 1;
                let dv = default_value(&t2, i)?;
                let dv = t2.columns[i].affinity.apply(dv);
                if t2.columns[i].not_null && dv.is_null() {
                    return Err(Error::Semantic(
                        "Cannot add a NOT NULL column with default value NULL".into(),
                    ));
                }
                t2.columns[i].added_default = Some(dv);
            }
            other => {
                let s = other.to_string();
                return unsupported(format!(
                    "ALTER TABLE {}",
                    s.chars().take(40).collect::<String>()
                ));
            }
        }
    }
    catalog::put_table(txn, &t2)?;
    Ok(QueryResult::default())
}

/// `ALTER TABLE t DROP COLUMN`, with SQLite's refusals: the column may not be (part of) the
/// PRIMARY KEY, UNIQUE, indexed, used by a view, nor the table's only column. Each stored row
/// is rewritten without the value, in the statement's transaction (as SQLite rewrites the
/// table): reads stay a plain decode with no per-row position mapping, and the catalog keeps
/// no trace of the dropped column that every later DDL would have to respect.
fn drop_column(
    cat: &Catalog,
    txn: &mut dyn KvTxn,
    t: TableDef,
    ci: usize,
    ctl: &Ctl,
) -> Result<TableDef> {
    let cname = t.columns[ci].name.clone();
    let refuse = |why: String| Err(Error::Semantic(why));
    if t.columns.len() == 1 {
        return refuse(format!(
            "cannot drop column \"{cname}\": no other columns exist"
        ));
    }
    if t.primary_key_columns().contains(&ci) {
        return refuse(format!("cannot drop PRIMARY KEY column: \"{cname}\""));
    }
    for idx in &t.indexes {
        if !idx.columns.contains(&ci) {
            continue;
        }
        if idx.auto {
            return refuse(format!("cannot drop UNIQUE column: \"{cname}\""));
        }
        return refuse(format!(
            "error in index {} after drop column: no such column: {cname}",
            idx.name
        ));
    }
    let shift = |c: usize| if c > ci { c - 1 } else { c };
    let mut t2 = t.clone();
    t2.columns.remove(ci);
    t2.rowid_column = t.rowid_column.map(shift);
    t2.primary_key = t
        .primary_key
        .as_ref()
        .map(|pk| pk.iter().map(|&c| shift(c)).collect());
    for idx in &mut t2.indexes {
        idx.columns = idx.columns.iter().map(|&c| shift(c)).collect();
    }
    if let Some(st) = &mut t2.stats {
        if ci < st.distinct.len() {
            st.distinct.remove(ci);
        }
    }
    // Views must still plan against the table without the column.
    let mut after = cat.clone();
    after
        .tables
        .insert(t2.name.to_ascii_lowercase(), Arc::new(t2.clone()));
    check_views(&after, "drop column")?;
    let mut ex = Exec::with_ctl(txn, &[], ctl.clone());
    ex.rewrite_rows(&t, &mut |row| {
        row.remove(ci);
    })?;
    Ok(t2)
}

/// Every view must still plan against the catalog a schema change leaves (`after`), else the
/// change fails as in SQLite: "error in view v after <what>: ...".
fn check_views(after: &Catalog, what: &str) -> Result<()> {
    for v in after.views.values() {
        let Ok(Statement::Query(q)) = parse_one(&v.sql) else {
            continue;
        };
        if let Err(e) = Planner::new(after).plan_query(&q) {
            return Err(Error::Semantic(format!(
                "error in view {} after {what}: {e}",
                v.name
            )));
        }
    }
    Ok(())
}

/// Makes views follow a renamed column of `t` (already renamed in `t`): in every view that
/// reads `t`, references to `old` qualified by `t`'s name or alias become `new`, and so do
/// unqualified ones when no other table the view reads has a column `old`. A view that no
/// longer plans afterwards makes the statement fail, as in SQLite.
fn rename_column_in_views(
    cat: &Catalog,
    txn: &mut dyn KvTxn,
    t: &TableDef,
    old: &str,
    new: &str,
) -> Result<()> {
    use sqlparser::ast::{Ident, TableFactor, Visit, VisitMut, Visitor, VisitorMut};
    use std::ops::ControlFlow;
    /// Names (lower-cased) by which a view refers to `t`, and whether another table it
    /// reads also has a column `old`.
    struct Refs<'a> {
        cat: &'a Catalog,
        table: &'a str,
        old: &'a str,
        quals: Vec<String>,
        ambiguous: bool,
    }
    impl Visitor for Refs<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, alias, .. } = tf {
                let n = object_name(name);
                if n.eq_ignore_ascii_case(self.table) {
                    self.quals.push(match alias {
                        Some(a) => a.name.value.to_ascii_lowercase(),
                        None => n.to_ascii_lowercase(),
                    });
                } else if self
                    .cat
                    .table(&n)
                    .is_some_and(|o| o.column_index(self.old).is_some())
                {
                    self.ambiguous = true;
                }
            }
            ControlFlow::Continue(())
        }
    }
    struct Renamer<'a> {
        old: &'a str,
        new: &'a str,
        quals: &'a [String],
        unqualified: bool,
    }
    impl VisitorMut for Renamer<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
            match e {
                ast::Expr::Identifier(id)
                    if self.unqualified && id.value.eq_ignore_ascii_case(self.old) =>
                {
                    *id = Ident::new(self.new);
                }
                ast::Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                    let n = parts.len();
                    if parts[n - 1].value.eq_ignore_ascii_case(self.old)
                        && self
                            .quals
                            .contains(&parts[n - 2].value.to_ascii_lowercase())
                    {
                        parts[n - 1] = Ident::new(self.new);
                    }
                }
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let mut after = cat.clone();
    after
        .tables
        .insert(t.name.to_ascii_lowercase(), Arc::new(t.clone()));
    let mut changed = Vec::new();
    for v in cat.views.values() {
        let Ok(Statement::Query(mut q)) = parse_one(&v.sql) else {
            continue;
        };
        let mut refs = Refs {
            cat,
            table: &t.name,
            old,
            quals: Vec::new(),
            ambiguous: false,
        };
        let _ = q.visit(&mut refs);
        if refs.quals.is_empty() {
            continue;
        }
        let mut r = Renamer {
            old,
            new,
            quals: &refs.quals,
            unqualified: !refs.ambiguous,
        };
        let _ = VisitMut::visit(&mut *q, &mut r);
        let mut v2 = (**v).clone();
        v2.sql = q.to_string();
        after
            .views
            .insert(v2.name.to_ascii_lowercase(), Arc::new(v2.clone()));
        changed.push(v2);
    }
    check_views(&after, "rename")?;
    for v in &changed {
        catalog::put_view(txn, v)?;
    }
    Ok(())
}

/// Makes views follow a renamed table: every reference to `old` in a view's query becomes
/// `new AS old` (an existing alias is kept), so column references qualified with the old
/// name keep resolving. Views whose query defines a CTE named `old` are left alone.
fn rename_in_views(cat: &Catalog, txn: &mut dyn KvTxn, old: &str, new: &str) -> Result<()> {
    use sqlparser::ast::{Ident, TableAlias, TableFactor, VisitMut, VisitorMut};
    use std::ops::ControlFlow;
    struct Renamer<'a> {
        old: &'a str,
        new: &'a str,
        changed: bool,
    }
    impl VisitorMut for Renamer<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &mut ast::Query) -> ControlFlow<()> {
            let shadowed = q.with.as_ref().is_some_and(|w| {
                w.cte_tables
                    .iter()
                    .any(|c| c.alias.name.value.eq_ignore_ascii_case(self.old))
            });
            if shadowed {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table { name, alias, .. } = tf {
                if object_name(name).eq_ignore_ascii_case(self.old) {
                    *name = ast::ObjectName::from(vec![Ident::new(self.new)]);
                    if alias.is_none() {
                        *alias = Some(TableAlias {
                            explicit: true,
                            name: Ident::new(self.old),
                            columns: Vec::new(),
                            at: None,
                        });
                    }
                    self.changed = true;
                }
            }
            ControlFlow::Continue(())
        }
    }
    for v in cat.views.values() {
        let Ok(Statement::Query(mut q)) = parse_one(&v.sql) else {
            continue;
        };
        let mut r = Renamer {
            old,
            new,
            changed: false,
        };
        if q.visit(&mut r).is_break() || !r.changed {
            continue;
        }
        let mut v2 = (**v).clone();
        v2.sql = q.to_string();
        catalog::put_view(txn, &v2)?;
    }
    Ok(())
}

fn create_index(
    cat: &Catalog,
    txn: &mut dyn KvTxn,
    ci: &ast::CreateIndex,
    ctl: &Ctl,
) -> Result<QueryResult> {
    let Some(iname) = ci.name.as_ref().map(object_name) else {
        return Err(Error::Syntax {
            message: "CREATE INDEX requires an index name".into(),
        });
    };
    crate::error::check_object_name(&iname)?;
    if cat.index(&iname).is_some() || cat.table(&iname).is_some() {
        if ci.if_not_exists {
            return Ok(QueryResult::default());
        }
        return name_err(format!("index {iname} already exists"));
    }
    if ci.predicate.is_some() {
        return unsupported("partial indexes");
    }
    let tname = object_name(&ci.table_name);
    let Some(t) = cat.table(&tname) else {
        return name_err(format!("no such table: {tname}"));
    };
    let mut cols = Vec::new();
    for c in &ci.columns {
        let n = match &c.column.expr {
            ast::Expr::Identifier(id) => id.value.clone(),
            other => return unsupported(format!("index on expression {other}")),
        };
        match t.column_index(&n) {
            Some(p) => cols.push(p),
            None => return name_err(format!("no such column: {n}")),
        }
    }
    let mut t2: TableDef = (**t).clone();
    let idx = IndexDef {
        id: t2.next_index_id,
        name: iname,
        columns: cols,
        unique: ci.unique,
        auto: false,
    };
    t2.next_index_id += 1;
    let mut ex = Exec::with_ctl(txn, &[], ctl.clone());
    ex.build_index(&t2, &idx)?;
    t2.indexes.push(idx);
    catalog::put_table(txn, &t2)?;
    Ok(QueryResult::default())
}

fn create_view(cat: &Catalog, txn: &mut dyn KvTxn, cv: &ast::CreateView) -> Result<QueryResult> {
    let name = object_name(&cv.name);
    crate::error::check_object_name(&name)?;
    if cat.table(&name).is_some() || cat.view(&name).is_some() {
        if cv.if_not_exists {
            return Ok(QueryResult::default());
        }
        if !(cv.or_replace && cat.view(&name).is_some()) {
            return name_err(format!("view {name} already exists"));
        }
    }
    if cv.materialized {
        return unsupported("materialized views");
    }
    // Validate the query now.
    let mut p = Planner::new(cat);
    p.plan_query(&cv.query)?;
    let v = ViewDef {
        name,
        sql: cv.query.to_string(),
        columns: cv.columns.iter().map(|c| c.name.value.clone()).collect(),
    };
    catalog::put_view(txn, &v)?;
    Ok(QueryResult::default())
}

fn drop_objects(
    cat: &Catalog,
    txn: &mut dyn KvTxn,
    kind: ast::ObjectType,
    if_exists: bool,
    names: &[ast::ObjectName],
) -> Result<QueryResult> {
    for n in names {
        let name = object_name(n);
        match kind {
            ast::ObjectType::Table => match cat.table(&name) {
                Some(t) => {
                    let mut ex = Exec::new(txn, &[]);
                    ex.delete_prefix(&table_prefix(t.id))?;
                    txn.delete(&catalog::rowid_counter_key(t.id))?;
                    crate::trigger::drop_triggers_on(cat, txn, &t.name)?;
                    catalog::delete_table(txn, &t.name)?;
                }
                None if if_exists => {}
                None => return name_err(format!("no such table: {name}")),
            },
            ast::ObjectType::View => match cat.view(&name) {
                Some(v) => {
                    crate::trigger::drop_triggers_on(cat, txn, &v.name)?;
                    catalog::delete_view(txn, &v.name)?
                }
                None if if_exists => {}
                None => return name_err(format!("no such view: {name}")),
            },
            ast::ObjectType::Index => match cat.index(&name) {
                Some((t, idx)) => {
                    if idx.auto {
                        return Err(Error::Runtime(format!(
                            "index associated with UNIQUE or PRIMARY KEY constraint cannot be dropped: {name}"
                        )));
                    }
                    let mut ex = Exec::new(txn, &[]);
                    ex.delete_prefix(&index_prefix(t.id, idx.id))?;
                    let mut t2: TableDef = (**t).clone();
                    t2.indexes.retain(|i| i.id != idx.id);
                    catalog::put_table(txn, &t2)?;
                }
                None if if_exists => {}
                None => return name_err(format!("no such index: {name}")),
            },
            other => return unsupported(format!("DROP {other}")),
        }
    }
    Ok(QueryResult::default())
}

// ---------------------------------------------------------------- DML

/// The conflict policy a statement states (`OR ...`, `REPLACE INTO`), if it states one.
fn explicit_conflict(or: Option<ast::SqliteOnConflict>, replace_into: bool) -> Option<OnConflict> {
    if replace_into {
        return Some(OnConflict::Replace);
    }
    Some(match or? {
        ast::SqliteOnConflict::Abort
        | ast::SqliteOnConflict::Fail
        | ast::SqliteOnConflict::Rollback => OnConflict::Abort,
        ast::SqliteOnConflict::Replace => OnConflict::Replace,
        ast::SqliteOnConflict::Ignore => OnConflict::Ignore,
    })
}

fn table_for_write<'c>(cat: &'c Catalog, name: &str) -> Result<&'c Arc<TableDef>> {
    match cat.table(name) {
        Some(t) => Ok(t),
        None if cat.view(name).is_some() => Err(Error::Runtime(format!(
            "cannot modify {name} because it is a view"
        ))),
        None => name_err(format!("no such table: {name}")),
    }
}

fn default_value(t: &TableDef, i: usize) -> Result<Value> {
    match &t.columns[i].default {
        None => Ok(Value::Null),
        Some(sql) => {
            let e = crate::parse::parse_expr(sql)?;
            let cat = Catalog::default();
            let mut p = Planner::new(&cat);
            let b = p.bind_in_table(None, &e)?;
            crate::exec::eval_const(&b)
        }
    }
}

fn insert(
    fire: Firing<'_>,
    txn: &mut dyn KvTxn,
    ins: &ast::Insert,
    params: &[Value],
) -> Result<QueryResult> {
    let (cat, ctl) = (fire.cat, fire.ctl);
    let ast::TableObject::TableName(tn) = &ins.table else {
        return unsupported("INSERT INTO TABLE FUNCTION");
    };
    let name = object_name(tn);
    if cat.table(&name).is_none() && cat.view(&name).is_some() {
        let fired = Fired::new(cat, &name, TriggerEvent::Insert, &[]);
        if !fired.instead.is_empty() {
            return insert_into_view(fire, txn, ins, params, &name, &fired);
        }
    }
    let t = table_for_write(cat, &name)?.clone();
    let fire = fire.with_conflict(explicit_conflict(ins.or, ins.replace_into));
    let mode = fire.conflict.unwrap_or(OnConflict::Abort);
    let mut planner = Planner::new(cat).in_trigger(fire.in_trigger());
    let upsert = match &ins.on {
        None => None,
        Some(ast::OnInsert::OnConflict(oc)) => Some(bind_upsert(&mut planner, &t, oc)?),
        Some(_) => return unsupported("ON DUPLICATE KEY UPDATE (use ON CONFLICT)"),
    };
    let returning = match &ins.returning {
        Some(items) => Some(planner.bind_returning(&t, items)?),
        None => None,
    };
    let targets: Vec<usize> = if ins.columns.is_empty() {
        (0..t.columns.len()).collect()
    } else {
        let mut v = Vec::new();
        for c in &ins.columns {
            let n = object_name(c);
            match t.column_index(&n) {
                Some(p) => v.push(p),
                None => return name_err(format!("table {} has no column named {n}", t.name)),
            }
        }
        v
    };
    let trig = InsertTriggers::new(cat, &t, upsert.as_ref());
    let Some(source) = &ins.source else {
        // INSERT ... DEFAULT VALUES
        check_params(planner.nparams, params)?;
        let mut ex = Exec::with_ctl(txn, params, ctl.clone());
        let row: Result<Row> = (0..t.columns.len()).map(|i| default_value(&t, i)).collect();
        let mut out = DmlOutput::new(returning);
        let w = RowWrite {
            t: &t,
            mode,
            upsert: upsert.as_ref(),
            trig: &trig,
            fire,
        };
        w.insert(&mut ex, row?, &mut out)?;
        return Ok(out.finish(ex.last_rowid));
    };
    let planned = match source.body.as_ref() {
        ast::SetExpr::Values(v) if source.order_by.is_none() && source.limit_clause.is_none() => {
            planner.plan_values(v)?
        }
        _ => planner.plan_query(source)?,
    };
    check_params(planner.nparams, params)?;
    let width = planned.plan.width();
    if width != targets.len() {
        return Err(Error::Semantic(if ins.columns.is_empty() {
            format!(
                "table {} has {} columns but {} values were supplied",
                t.name,
                t.columns.len(),
                width
            )
        } else {
            format!("{} values for {} columns", width, targets.len())
        }));
    }
    let defaults: Vec<Value> = (0..t.columns.len())
        .map(|i| {
            if targets.contains(&i) {
                Ok(Value::Null)
            } else {
                default_value(&t, i)
            }
        })
        .collect::<Result<_>>()?;
    let mut ex = Exec::with_ctl(txn, params, ctl.clone());
    let rows = ex.run(&planned.plan)?;
    let mut out = DmlOutput::new(returning);
    let w = RowWrite {
        t: &t,
        mode,
        upsert: upsert.as_ref(),
        trig: &trig,
        fire,
    };
    for src in rows {
        ex.ctl().tick()?;
        let mut row = defaults.clone();
        for (v, &ti) in src.into_iter().zip(&targets) {
            row[ti] = v;
        }
        w.insert(&mut ex, row, &mut out)?;
    }
    Ok(out.finish(ex.last_rowid))
}

/// A bound `ON CONFLICT` clause.
struct Upsert {
    /// Conflict target columns; `None` = any uniqueness constraint.
    target: Option<Vec<usize>>,
    action: UpsertAction,
}

enum UpsertAction {
    Nothing,
    /// SET assignments and WHERE, bound over the existing row followed by `excluded`.
    Update {
        sets: Vec<(usize, Expr)>,
        pred: Option<Expr>,
    },
}

/// Binds `ON CONFLICT (cols) DO NOTHING | DO UPDATE SET .. WHERE ..` for table `t`.
fn bind_upsert(planner: &mut Planner, t: &TableDef, oc: &ast::OnConflict) -> Result<Upsert> {
    let target = match &oc.conflict_target {
        None => None,
        Some(ast::ConflictTarget::Columns { columns, predicate }) => {
            if predicate.is_some() {
                return unsupported("ON CONFLICT target with WHERE (partial indexes)");
            }
            let mut cols = Vec::new();
            for c in columns {
                match t.column_index(&c.value) {
                    Some(i) => cols.push(i),
                    None => return name_err(format!("no such column: {}", c.value)),
                }
            }
            let matches =
                |set: &[usize]| set.len() == cols.len() && cols.iter().all(|c| set.contains(c));
            let ok = t.rowid_column.is_some_and(|rc| matches(&[rc]))
                || t.indexes.iter().any(|i| i.unique && matches(&i.columns));
            if !ok {
                return Err(Error::Semantic(
                    "ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint".into(),
                ));
            }
            Some(cols)
        }
        Some(ast::ConflictTarget::OnConstraint(_)) => {
            return unsupported("ON CONFLICT ON CONSTRAINT");
        }
    };
    let action = match &oc.action {
        ast::OnConflictAction::DoNothing => UpsertAction::Nothing,
        ast::OnConflictAction::DoUpdate(du) => {
            let scope = [(t.name.as_str(), t), ("excluded", t)];
            let mut sets: Vec<(usize, Expr)> = Vec::new();
            for a in &du.assignments {
                let ci = assignment_column(t, a)?;
                let e = planner.bind_in_tables(&scope, &a.value)?;
                sets.retain(|(c, _)| *c != ci);
                sets.push((ci, e));
            }
            let pred = match &du.selection {
                Some(w) => Some(planner.bind_in_tables(&scope, w)?),
                None => None,
            };
            UpsertAction::Update { sets, pred }
        }
    };
    Ok(Upsert { target, action })
}

/// The column an `UPDATE`-style assignment sets.
fn assignment_column(t: &TableDef, a: &ast::Assignment) -> Result<usize> {
    let n = match &a.target {
        ast::AssignmentTarget::ColumnName(n) => object_name(n),
        ast::AssignmentTarget::Tuple(_) => return unsupported("tuple assignment"),
    };
    match t.column_index(&n) {
        Some(ci) => Ok(ci),
        None => name_err(format!("no such column: {n}")),
    }
}

/// Rows written by a DML statement, and its RETURNING rows.
struct DmlOutput {
    returning: Option<(Vec<Expr>, Vec<Column>)>,
    rows: Vec<Row>,
    n: u64,
}

impl DmlOutput {
    fn new(returning: Option<(Vec<Expr>, Vec<Column>)>) -> Self {
        DmlOutput {
            returning,
            rows: Vec::new(),
            n: 0,
        }
    }

    /// Counts a written row and evaluates RETURNING over it (as stored).
    fn written(&mut self, ex: &mut Exec, row: &[Value]) -> Result<()> {
        self.n += 1;
        if let Some((exprs, _)) = &self.returning {
            let out: Result<Row> = exprs.iter().map(|e| ex.eval(e, row)).collect();
            let out = out?;
            ex.ctl().charge(crate::ctl::row_bytes(&out), "RETURNING")?;
            self.rows.push(out);
        }
        Ok(())
    }

    fn finish(self, last_insert_rowid: Option<i64>) -> QueryResult {
        let mut columns = self.returning.map(|(_, c)| c).unwrap_or_default();
        fill_types(&mut columns, &self.rows);
        QueryResult {
            columns,
            rows: self.rows,
            rows_affected: self.n,
            last_insert_rowid,
        }
    }
}

/// The triggers an INSERT fires on its table: INSERT ones, and UPDATE ones for the rows its
/// `ON CONFLICT DO UPDATE` updates.
struct InsertTriggers {
    insert: Fired,
    update: Fired,
    columns: Vec<String>,
}

impl InsertTriggers {
    fn new(cat: &Catalog, t: &TableDef, upsert: Option<&Upsert>) -> Self {
        let update = match upsert.map(|u| &u.action) {
            Some(UpsertAction::Update { sets, .. }) => {
                let set: Vec<&str> = sets
                    .iter()
                    .filter_map(|(ci, _)| t.columns.get(*ci).map(|c| c.name.as_str()))
                    .collect();
                Fired::new(cat, &t.name, TriggerEvent::Update, &set)
            }
            _ => Fired::default(),
        };
        InsertTriggers {
            insert: Fired::new(cat, &t.name, TriggerEvent::Insert, &[]),
            update,
            columns: column_names(t),
        }
    }
}

fn column_names(t: &TableDef) -> Vec<String> {
    t.columns.iter().map(|c| c.name.clone()).collect()
}

/// `row` with the table's column affinities applied (what BEFORE triggers see as NEW).
fn with_affinities(t: &TableDef, mut row: Row) -> Row {
    for (i, c) in t.columns.iter().enumerate() {
        if let Some(v) = row.get_mut(i) {
            *v = c.affinity.apply(std::mem::replace(v, Value::Null));
        }
    }
    row
}

/// The rowid of a row as stored (the INTEGER PRIMARY KEY column, else `fallback`).
fn stored_rowid(t: &TableDef, row: &[Value], fallback: Option<i64>) -> Value {
    match t.rowid_column.and_then(|rc| row.get(rc)) {
        Some(v) => v.clone(),
        None => fallback.map_or(Value::Null, Value::Integer),
    }
}

/// One row an UPDATE (or an UPSERT's DO UPDATE) changes, as its triggers see it.
struct RowUpdate<'a> {
    fire: Firing<'a>,
    t: &'a TableDef,
    columns: &'a [String],
    rowid: i64,
    old: &'a [Value],
}

impl RowUpdate<'_> {
    /// Fires UPDATE triggers `list` with OLD = the row before and NEW = `new`.
    fn fire(
        &self,
        ex: &mut Exec,
        list: &[Arc<crate::trigger::Trigger>],
        new: &[Value],
    ) -> Result<Outcome> {
        let old_id = Value::Integer(self.rowid);
        let new_id = stored_rowid(self.t, new, Some(self.rowid));
        let old = Image {
            row: self.old,
            rowid: &old_id,
        };
        let new = Image {
            row: new,
            rowid: &new_id,
        };
        self.fire.fire(ex, list, self.columns, Some(old), Some(new))
    }
}

/// How an INSERT writes each of its rows.
struct RowWrite<'a> {
    t: &'a TableDef,
    mode: OnConflict,
    upsert: Option<&'a Upsert>,
    trig: &'a InsertTriggers,
    fire: Firing<'a>,
}

impl RowWrite<'_> {
    /// Inserts one row, applying the UPSERT clause when it conflicts on its target, and
    /// fires the table's triggers around the write.
    fn insert(&self, ex: &mut Exec, row: Row, out: &mut DmlOutput) -> Result<()> {
        let t = self.t;
        let trig = self.trig;
        let mut row = row;
        if !trig.insert.before.is_empty() {
            // As in SQLite: NEW has the column affinities applied, and an automatic rowid
            // reads as -1 (it is not assigned yet).
            row = with_affinities(t, row);
            let mut img = row.clone();
            if let Some(v) = t.rowid_column.and_then(|rc| img.get_mut(rc)) {
                if v.is_null() {
                    *v = Value::Integer(-1);
                }
            }
            let rowid = stored_rowid(t, &img, Some(-1));
            let new = Image {
                row: &img,
                rowid: &rowid,
            };
            let o = self
                .fire
                .fire(ex, &trig.insert.before, &trig.columns, None, Some(new))?;
            if o == Outcome::Ignore {
                return Ok(());
            }
        }
        self.write(ex, row, out)
    }

    /// The write itself (after BEFORE INSERT triggers).
    fn write(&self, ex: &mut Exec, mut row: Row, out: &mut DmlOutput) -> Result<()> {
        let t = self.t;
        let trig = self.trig;
        if let Some(u) = self.upsert {
            row = with_affinities(t, row);
            if let Some(rowid) = ex.upsert_conflict(t, &row, u.target.as_deref())? {
                let UpsertAction::Update { sets, pred } = &u.action else {
                    return Ok(());
                };
                let Some(old) = ex.load_row(t, rowid)? else {
                    return Ok(());
                };
                let mut both = old.clone();
                both.extend(row);
                if let Some(p) = pred {
                    if ex.eval(p, &both)?.truthy() != Some(true) {
                        return Ok(());
                    }
                }
                let mut new = old.clone();
                for (ci, e) in sets {
                    new[*ci] = ex.eval(e, &both)?;
                }
                let updated = RowUpdate {
                    fire: self.fire,
                    t,
                    columns: &trig.columns,
                    rowid,
                    old: &old,
                };
                if !trig.update.before.is_empty() {
                    let img = with_affinities(t, new.clone());
                    if updated.fire(ex, &trig.update.before, &img)? == Outcome::Ignore
                        || ex.load_row(t, rowid)?.is_none()
                    {
                        return Ok(());
                    }
                }
                if let Some(stored) = ex.write_row_out(t, new, Some(rowid), OnConflict::Abort)? {
                    out.written(ex, &stored)?;
                    updated.fire(ex, &trig.update.after, &stored)?;
                }
                return Ok(());
            }
        }
        if let Some(stored) = ex.write_row_out(t, row, None, self.mode)? {
            out.written(ex, &stored)?;
            if !trig.insert.after.is_empty() {
                let id = stored_rowid(t, &stored, ex.last_rowid);
                let img = Image {
                    row: &stored,
                    rowid: &id,
                };
                self.fire
                    .fire(ex, &trig.insert.after, &trig.columns, None, Some(img))?;
            }
        }
        Ok(())
    }
}

fn dml_target(
    cat: &Catalog,
    rel: &ast::TableFactor,
    selection: Option<&ast::Expr>,
    in_trigger: bool,
) -> Result<(Arc<TableDef>, Option<Expr>, crate::plan::Access)> {
    let ast::TableFactor::Table { name, alias, .. } = rel else {
        return unsupported("UPDATE/DELETE on a non-table");
    };
    if alias.is_some() {
        return unsupported("alias on UPDATE/DELETE target");
    }
    let t = table_for_write(cat, &object_name(name))?.clone();
    let mut p = Planner::new(cat).in_trigger(in_trigger);
    let pred = match selection {
        Some(e) => Some(p.bind_in_table(Some(&t), e)?),
        None => None,
    };
    let access = p.dml_access(&t, pred.as_ref());
    Ok((t, pred, access))
}

/// The view an UPDATE/DELETE targets, when it is a view with INSTEAD OF triggers for
/// `event` (`set`: the UPDATE's SET columns).
fn view_target(
    cat: &Catalog,
    rel: &ast::TableFactor,
    event: TriggerEvent,
    set: &[&str],
) -> Option<(String, Fired)> {
    let ast::TableFactor::Table { name, .. } = rel else {
        return None;
    };
    let name = object_name(name);
    if cat.table(&name).is_some() || cat.view(&name).is_none() {
        return None;
    }
    let fired = Fired::new(cat, &name, event, set);
    // A view without INSTEAD OF triggers for the event is refused by `dml_target`.
    (!fired.instead.is_empty()).then_some((name, fired))
}

fn update(
    fire: Firing<'_>,
    txn: &mut dyn KvTxn,
    u: &ast::Update,
    params: &[Value],
) -> Result<QueryResult> {
    let (cat, ctl) = (fire.cat, fire.ctl);
    if !u.table.joins.is_empty() || u.from.is_some() || u.limit.is_some() {
        return unsupported("UPDATE with joins / FROM / LIMIT");
    }
    let set_names: Vec<String> = u
        .assignments
        .iter()
        .filter_map(|a| match &a.target {
            ast::AssignmentTarget::ColumnName(n) => Some(object_name(n)),
            ast::AssignmentTarget::Tuple(_) => None,
        })
        .collect();
    let set_refs: Vec<&str> = set_names.iter().map(String::as_str).collect();
    if let Some((name, fired)) =
        view_target(cat, &u.table.relation, TriggerEvent::Update, &set_refs)
    {
        if u.returning.is_some() || u.or.is_some() {
            return unsupported("RETURNING or OR <conflict> on an UPDATE of a view");
        }
        let sel = u.selection.as_ref();
        return view_update_or_delete(fire, txn, &name, &fired, sel, &u.assignments, params);
    }
    let (t, pred, access) = dml_target(
        cat,
        &u.table.relation,
        u.selection.as_ref(),
        fire.in_trigger(),
    )?;
    let fire = fire.with_conflict(explicit_conflict(u.or, false));
    let mode = fire.conflict.unwrap_or(OnConflict::Abort);
    let mut p = Planner::new(cat).in_trigger(fire.in_trigger());
    let mut sets: Vec<(usize, Expr)> = Vec::new();
    for a in &u.assignments {
        let ci = assignment_column(&t, a)?;
        let e = p.bind_in_table(Some(&t), &a.value)?;
        sets.retain(|(c, _)| *c != ci);
        sets.push((ci, e));
    }
    let returning = match &u.returning {
        Some(items) => Some(p.bind_returning(&t, items)?),
        None => None,
    };
    check_params(p.nparams, params)?;
    let trig = Fired::new(cat, &t.name, TriggerEvent::Update, &set_refs);
    let columns = column_names(&t);
    let mut ex = Exec::with_ctl(txn, params, ctl.clone());
    let rows = ex.scan_rows(&t, &access, pred.as_ref())?;
    let mut out = DmlOutput::new(returning);
    for (rowid, old) in rows {
        ex.ctl().tick()?;
        let mut old = old;
        if !trig.is_empty() {
            // Earlier rows' trigger programs may have changed or deleted this row.
            match ex.load_row(&t, rowid)? {
                Some(cur) => old = cur,
                None => continue,
            }
        }
        let mut new = old.clone();
        for (ci, e) in &sets {
            new[*ci] = ex.eval(e, &old)?;
        }
        let updated = RowUpdate {
            fire,
            t: &t,
            columns: &columns,
            rowid,
            old: &old,
        };
        if !trig.before.is_empty() {
            let img = with_affinities(&t, new.clone());
            if updated.fire(&mut ex, &trig.before, &img)? == Outcome::Ignore {
                continue;
            }
            // As in SQLite: the columns the UPDATE does not set are read again.
            let Some(cur) = ex.load_row(&t, rowid)? else {
                continue;
            };
            for (i, v) in cur.into_iter().enumerate() {
                if !sets.iter().any(|(ci, _)| *ci == i) {
                    new[i] = v;
                }
            }
        }
        if let Some(stored) = ex.write_row_out(&t, new, Some(rowid), mode)? {
            out.written(&mut ex, &stored)?;
            updated.fire(&mut ex, &trig.after, &stored)?;
        }
    }
    Ok(out.finish(None))
}

fn delete_relation(d: &ast::Delete) -> Result<&ast::TableFactor> {
    let from = match &d.from {
        ast::FromTable::WithFromKeyword(v) | ast::FromTable::WithoutKeyword(v) => v,
    };
    if from.len() != 1 || !from[0].joins.is_empty() || !d.tables.is_empty() || d.using.is_some() {
        return unsupported("multi-table DELETE");
    }
    Ok(&from[0].relation)
}

fn delete(
    fire: Firing<'_>,
    txn: &mut dyn KvTxn,
    d: &ast::Delete,
    params: &[Value],
) -> Result<QueryResult> {
    let (cat, ctl) = (fire.cat, fire.ctl);
    if d.limit.is_some() {
        return unsupported("DELETE ... LIMIT");
    }
    let rel = delete_relation(d)?;
    if let Some((name, fired)) = view_target(cat, rel, TriggerEvent::Delete, &[]) {
        if d.returning.is_some() {
            return unsupported("RETURNING on a DELETE from a view");
        }
        let sel = d.selection.as_ref();
        return view_update_or_delete(fire, txn, &name, &fired, sel, &[], params);
    }
    let (t, pred, access) = dml_target(cat, rel, d.selection.as_ref(), fire.in_trigger())?;
    let returning = match &d.returning {
        Some(items) => Some(
            Planner::new(cat)
                .in_trigger(fire.in_trigger())
                .bind_returning(&t, items)?,
        ),
        None => None,
    };
    let trig = Fired::new(cat, &t.name, TriggerEvent::Delete, &[]);
    let columns = column_names(&t);
    let mut ex = Exec::with_ctl(txn, params, ctl.clone());
    let rows = ex.scan_rows(&t, &access, pred.as_ref())?;
    let mut out = DmlOutput::new(returning);
    for (rowid, row) in rows {
        ex.ctl().tick()?;
        let mut row = row;
        let id = Value::Integer(rowid);
        if !trig.is_empty() {
            // Earlier rows' trigger programs may have changed or deleted this row.
            match ex.load_row(&t, rowid)? {
                Some(cur) => row = cur,
                None => continue,
            }
        }
        if !trig.before.is_empty() {
            let old = Image {
                row: &row,
                rowid: &id,
            };
            if fire.fire(&mut ex, &trig.before, &columns, Some(old), None)? == Outcome::Ignore {
                continue;
            }
            match ex.load_row(&t, rowid)? {
                Some(cur) => row = cur,
                None => continue,
            }
        }
        ex.delete_row(&t, rowid, &row)?;
        out.written(&mut ex, &row)?;
        let old = Image {
            row: &row,
            rowid: &id,
        };
        fire.fire(&mut ex, &trig.after, &columns, Some(old), None)?;
    }
    Ok(out.finish(None))
}

// ---------------------------------------------------------------- INSTEAD OF (views)

/// A plan reading every row of view `name`, and its column names.
fn view_rows(cat: &Catalog, name: &str) -> Result<(Planned, Vec<String>)> {
    let sql = format!("SELECT * FROM \"{}\"", name.replace('"', "\"\""));
    let Statement::Query(q) = parse_one(&sql)? else {
        return Err(Error::Internal("view scan is not a query".into()));
    };
    let planned = Planner::new(cat).plan_query(&q)?;
    let names = planned.columns.iter().map(|c| c.name.clone()).collect();
    Ok((planned, names))
}

/// A stand-in table with a view's columns, to bind WHERE and SET expressions over its rows.
fn view_as_table(name: &str, columns: &[String]) -> TableDef {
    TableDef {
        id: 0,
        name: name.to_string(),
        columns: columns
            .iter()
            .map(|c| ColumnDef {
                name: c.clone(),
                decl_type: String::new(),
                ty: DataType::Null,
                affinity: Affinity::Blob,
                not_null: false,
                default: None,
                added_default: None,
            })
            .collect(),
        rowid_column: None,
        indexes: Vec::new(),
        next_index_id: 1,
        stats: None,
        autoincrement: false,
        primary_key: None,
    }
}

/// INSERT into a view with INSTEAD OF INSERT triggers: each row fires them as NEW (the view
/// itself is not written; as in SQLite, no row counts as changed).
fn insert_into_view(
    fire: Firing<'_>,
    txn: &mut dyn KvTxn,
    ins: &ast::Insert,
    params: &[Value],
    name: &str,
    fired: &Fired,
) -> Result<QueryResult> {
    if ins.returning.is_some() || ins.on.is_some() || ins.or.is_some() || ins.replace_into {
        return unsupported("RETURNING, ON CONFLICT or OR <conflict> on an INSERT into a view");
    }
    let (_, columns) = view_rows(fire.cat, name)?;
    let mut targets = Vec::new();
    for c in &ins.columns {
        let n = object_name(c);
        match columns.iter().position(|x| x.eq_ignore_ascii_case(&n)) {
            Some(p) => targets.push(p),
            None => return name_err(format!("table {name} has no column named {n}")),
        }
    }
    if ins.columns.is_empty() {
        targets = (0..columns.len()).collect();
    }
    let mut planner = Planner::new(fire.cat).in_trigger(fire.in_trigger());
    let rows = match &ins.source {
        None => vec![Vec::new()],
        Some(source) => {
            let planned = match source.body.as_ref() {
                ast::SetExpr::Values(v)
                    if source.order_by.is_none() && source.limit_clause.is_none() =>
                {
                    planner.plan_values(v)?
                }
                _ => planner.plan_query(source)?,
            };
            check_params(planner.nparams, params)?;
            if planned.plan.width() != targets.len() {
                return Err(Error::Semantic(format!(
                    "{} values for {} columns",
                    planned.plan.width(),
                    targets.len()
                )));
            }
            let mut ex = Exec::with_ctl(&mut *txn, params, fire.ctl.clone());
            ex.run(&planned.plan)?
        }
    };
    let mut ex = Exec::with_ctl(txn, params, fire.ctl.clone());
    for src in rows {
        ex.ctl().tick()?;
        ex.ctl()
            .charge(crate::ctl::row_bytes(&src), "INSTEAD OF trigger")?;
        let mut row = vec![Value::Null; columns.len()];
        for (v, &ti) in src.into_iter().zip(&targets) {
            row[ti] = v;
        }
        let new = Image {
            row: &row,
            rowid: &Value::Null,
        };
        fire.fire(&mut ex, &fired.instead, &columns, None, Some(new))?;
    }
    Ok(QueryResult::default())
}

/// UPDATE (with `sets`) or DELETE (without) on a view with INSTEAD OF triggers: each view
/// row matching `selection` fires them with OLD (and NEW for UPDATE).
fn view_update_or_delete(
    fire: Firing<'_>,
    txn: &mut dyn KvTxn,
    name: &str,
    fired: &Fired,
    selection: Option<&ast::Expr>,
    sets: &[ast::Assignment],
    params: &[Value],
) -> Result<QueryResult> {
    let (planned, columns) = view_rows(fire.cat, name)?;
    let vt = view_as_table(name, &columns);
    let mut p = Planner::new(fire.cat).in_trigger(fire.in_trigger());
    let pred = match selection {
        Some(e) => Some(p.bind_in_table(Some(&vt), e)?),
        None => None,
    };
    let mut bound: Vec<(usize, Expr)> = Vec::new();
    for a in sets {
        let ci = assignment_column(&vt, a)?;
        let e = p.bind_in_table(Some(&vt), &a.value)?;
        bound.retain(|(c, _)| *c != ci);
        bound.push((ci, e));
    }
    check_params(p.nparams, params)?;
    let mut ex = Exec::with_ctl(txn, params, fire.ctl.clone());
    let rows = ex.run(&planned.plan)?;
    let update = !sets.is_empty();
    for old in rows {
        ex.ctl().tick()?;
        ex.ctl()
            .charge(crate::ctl::row_bytes(&old), "INSTEAD OF trigger")?;
        if let Some(pr) = &pred {
            if ex.eval(pr, &old)?.truthy() != Some(true) {
                continue;
            }
        }
        let old_img = Image {
            row: &old,
            rowid: &Value::Null,
        };
        if update {
            let mut new = old.clone();
            for (ci, e) in &bound {
                new[*ci] = ex.eval(e, &old)?;
            }
            let new_img = Image {
                row: &new,
                rowid: &Value::Null,
            };
            fire.fire(
                &mut ex,
                &fired.instead,
                &columns,
                Some(old_img),
                Some(new_img),
            )?;
        } else {
            fire.fire(&mut ex, &fired.instead, &columns, Some(old_img), None)?;
        }
    }
    Ok(QueryResult::default())
}
