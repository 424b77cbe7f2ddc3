//! Node.js bindings for ToonDB (napi-rs v2), loaded by `index.js` as `toondb.node`.
//!
//! Every blocking call exists twice: `put(...)` runs on the calling thread, `putAsync(...)`
//! returns a promise computed on the libuv thread pool (napi `AsyncTask`; no tokio). Errors
//! are `Error` objects whose `code` is the engine's error kind in upper case (`CONFLICT`,
//! `NOT_FOUND`, `INVALID_ARGUMENT`, `CLOSED`, `INTERRUPTED`, `RESOURCE_EXHAUSTED`, ...):
//! [`toondb::ErrorKind::code`], for every error this module raises.
//!
//! `Database` and `Transaction` offer the same operations; each is written once as an [`Op`]
//! run on a [`toondb::Target`], and the two classes only choose the target.
// The napi macros generate undocumented public glue functions for every class and method.
#![allow(missing_docs)]

use std::sync::{Arc, Mutex, RwLock};

use napi::bindgen_prelude::{
    AsyncTask, BigInt, Buffer, Either, Either3, Either5, Float32Array, Float64Array,
};
use napi::{Env, JsObject, JsUnknown, Status, Task};
use napi_derive::napi;
use serde_json::Value as Json;
use toondb::Value;

mod embed;

// ------------------------------------------------------------------ errors

/// A failure with its JS `code`.
#[doc(hidden)]
pub struct Fail {
    code: &'static str,
    msg: String,
}

impl From<toondb::Error> for Fail {
    fn from(e: toondb::Error) -> Fail {
        Fail::of(e.kind(), e.to_string())
    }
}

impl Fail {
    /// A failure of class `kind`; its JS `code` is [`toondb::ErrorKind::code`], the one
    /// mapping every binding shares.
    fn of(kind: toondb::ErrorKind, msg: impl Into<String>) -> Fail {
        Fail {
            code: kind.code(),
            msg: msg.into(),
        }
    }
}

fn invalid(msg: impl Into<String>) -> Fail {
    Fail::of(toondb::ErrorKind::InvalidArgument, msg)
}

/// Parses the JSON text of graph arguments (absent or empty = no arguments).
fn graph_args(args: Option<String>) -> Result<Json, Fail> {
    Ok(toondb::graph::json::parse_args(
        args.as_deref().unwrap_or_default(),
    )?)
}

fn closed() -> Fail {
    Fail::of(toondb::ErrorKind::Closed, "database is closed")
}

/// An `Error` object with `code` set, as a napi error that throws/rejects with it.
fn js_err(env: Env, f: Fail) -> napi::Error {
    let mut obj = match env.create_error(napi::Error::new(Status::GenericFailure, f.msg)) {
        Ok(o) => o,
        Err(e) => return e,
    };
    match env
        .create_string(f.code)
        .and_then(|c| obj.set_named_property("code", c))
    {
        Ok(()) => napi::Error::from(obj.into_unknown()),
        Err(e) => e,
    }
}

// ------------------------------------------------------------------ jobs

/// What a job produces; turned into JS on the main thread.
#[doc(hidden)]
pub enum Out {
    Unit,
    Bytes(Option<Vec<u8>>),
    Count(u64),
    Bool(bool),
    Size(usize),
    Strings(Vec<String>),
    Pairs(Vec<(Vec<u8>, Vec<u8>)>),
    Rows(toondb::Rows),
    /// A statement's outcome for `run`: `{ changes, lastInsertRowid }`.
    Run(toondb::Rows),
    /// The first row of a query (`undefined` when none); as an array when the flag is set.
    First(Option<toondb::Row>, bool),
    Hits(Vec<toondb::SearchHit>),
    Doc(Option<toondb::Document>),
    Context(toondb::ContextResult),
    Json(Json),
}

type Work = Box<dyn FnOnce() -> Result<Out, Fail> + Send>;

fn prepared(r: Result<Work, Fail>) -> Work {
    r.unwrap_or_else(|f| Box::new(move || Err(f)))
}

/// A blocking call run on the libuv pool.
pub struct Job(Option<Work>);

impl Task for Job {
    type Output = Result<Out, Fail>;
    type JsValue = JsUnknown;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let w = self
            .0
            .take()
            .ok_or_else(|| napi::Error::from_reason("task already ran"))?;
        Ok(w())
    }

    fn resolve(&mut self, env: Env, out: Self::Output) -> napi::Result<JsUnknown> {
        match out {
            Ok(o) => to_js(env, o),
            Err(f) => Err(js_err(env, f)),
        }
    }
}

fn run_sync(env: Env, w: Result<Work, Fail>) -> napi::Result<JsUnknown> {
    match w.and_then(|w| w()) {
        Ok(o) => to_js(env, o),
        Err(f) => Err(js_err(env, f)),
    }
}

fn task(w: Result<Work, Fail>) -> AsyncTask<Job> {
    AsyncTask::new(Job(Some(prepared(w))))
}

// ------------------------------------------------------------------ conversions

const MAX_SAFE: i64 = (1 << 53) - 1;

fn value_to_js(env: Env, v: &Value) -> napi::Result<JsUnknown> {
    Ok(match v {
        Value::Null => env.get_null()?.into_unknown(),
        Value::Integer(i) if (-MAX_SAFE..=MAX_SAFE).contains(i) => {
            env.create_int64(*i)?.into_unknown()
        }
        Value::Integer(i) => env.create_bigint_from_i64(*i)?.into_unknown()?,
        Value::Real(f) => env.create_double(*f)?.into_unknown(),
        Value::Text(s) => env.create_string(s)?.into_unknown(),
        Value::Blob(b) => env.create_buffer_with_data(b.clone())?.into_unknown(),
    })
}

fn rows_to_js(env: Env, rows: &toondb::Rows) -> napi::Result<JsUnknown> {
    let mut arr = env.create_array_with_length(rows.len())?;
    for (i, row) in rows.iter().enumerate() {
        let mut o = env.create_object()?;
        for (c, v) in rows.columns().iter().zip(row.values()) {
            o.set_named_property(c, value_to_js(env, v)?)?;
        }
        arr.set_element(u32::try_from(i).unwrap_or(u32::MAX), o)?;
    }
    Ok(arr.into_unknown())
}

/// One row as an object keyed by column name, or an array of values with `raw`.
fn row_to_js(env: Env, row: &toondb::Row, raw: bool) -> napi::Result<JsUnknown> {
    if raw {
        let mut arr = env.create_array_with_length(row.values().len())?;
        for (i, v) in row.values().iter().enumerate() {
            arr.set_element(u32::try_from(i).unwrap_or(u32::MAX), value_to_js(env, v)?)?;
        }
        return Ok(arr.into_unknown());
    }
    let mut o = env.create_object()?;
    for (c, v) in row.columns().iter().zip(row.values()) {
        o.set_named_property(c, value_to_js(env, v)?)?;
    }
    Ok(o.into_unknown())
}

/// The first row of a query, stopping the statement there.
fn first_row(
    run: impl FnOnce(
        &mut dyn FnMut(toondb::Row) -> toondb::Result<std::ops::ControlFlow<()>>,
    ) -> toondb::Result<()>,
) -> toondb::Result<Option<toondb::Row>> {
    let mut first = None;
    run(&mut |row| {
        first = Some(row);
        Ok(std::ops::ControlFlow::Break(()))
    })?;
    Ok(first)
}

fn opt_f32(env: Env, v: Option<f32>) -> napi::Result<JsUnknown> {
    match v {
        Some(x) => Ok(env.create_double(f64::from(x))?.into_unknown()),
        None => Ok(env.get_null()?.into_unknown()),
    }
}

fn to_js(env: Env, out: Out) -> napi::Result<JsUnknown> {
    Ok(match out {
        Out::Unit => env.get_undefined()?.into_unknown(),
        Out::Bytes(None) | Out::Doc(None) => env.get_null()?.into_unknown(),
        Out::Bytes(Some(b)) => env.create_buffer_with_data(b)?.into_unknown(),
        Out::Count(n) => env.create_double(n as f64)?.into_unknown(),
        Out::Bool(b) => env.get_boolean(b)?.into_unknown(),
        Out::Size(n) => env.create_double(n as f64)?.into_unknown(),
        Out::Strings(s) => env.to_js_value(&s)?,
        Out::Json(j) => env.create_string(&j.to_string())?.into_unknown(),
        Out::Pairs(ps) => {
            let mut arr = env.create_array_with_length(ps.len())?;
            for (i, (k, v)) in ps.into_iter().enumerate() {
                let mut o = env.create_object()?;
                o.set_named_property("key", env.create_buffer_with_data(k)?.into_raw())?;
                o.set_named_property("value", env.create_buffer_with_data(v)?.into_raw())?;
                arr.set_element(u32::try_from(i).unwrap_or(u32::MAX), o)?;
            }
            arr.into_unknown()
        }
        Out::Rows(r) => rows_to_js(env, &r)?,
        Out::First(None, _) => env.get_undefined()?.into_unknown(),
        Out::First(Some(row), raw) => row_to_js(env, &row, raw)?,
        Out::Run(r) => {
            let mut o = env.create_object()?;
            o.set_named_property("changes", env.create_double(r.rows_affected() as f64)?)?;
            let id = match r.last_insert_rowid() {
                Some(i) => value_to_js(env, &Value::Integer(i))?,
                None => env.get_null()?.into_unknown(),
            };
            o.set_named_property("lastInsertRowid", id)?;
            o.into_unknown()
        }
        Out::Hits(hits) => {
            let mut arr = env.create_array_with_length(hits.len())?;
            for (i, h) in hits.into_iter().enumerate() {
                let mut o = env.create_object()?;
                o.set_named_property("id", env.create_string(&h.id)?)?;
                o.set_named_property("score", env.create_double(f64::from(h.score))?)?;
                o.set_named_property("distance", opt_f32(env, h.distance)?)?;
                o.set_named_property("keywordScore", opt_f32(env, h.keyword_score)?)?;
                o.set_named_property(
                    "text",
                    match &h.text {
                        Some(t) => env.create_string(t)?.into_unknown(),
                        None => env.get_null()?.into_unknown(),
                    },
                )?;
                o.set_named_property("metadata", env.to_js_value(&h.metadata)?)?;
                arr.set_element(u32::try_from(i).unwrap_or(u32::MAX), o)?;
            }
            arr.into_unknown()
        }
        Out::Doc(Some(d)) => {
            let mut o = env.create_object()?;
            o.set_named_property("id", env.create_string(&d.id)?)?;
            let mut v = env.create_array_with_length(d.vector.len())?;
            for (i, x) in d.vector.iter().enumerate() {
                v.set_element(
                    u32::try_from(i).unwrap_or(u32::MAX),
                    env.create_double(f64::from(*x))?,
                )?;
            }
            o.set_named_property("vector", v)?;
            o.set_named_property(
                "text",
                match &d.text {
                    Some(t) => env.create_string(t)?.into_unknown(),
                    None => env.get_null()?.into_unknown(),
                },
            )?;
            o.set_named_property("metadata", env.to_js_value(&d.metadata)?)?;
            o.into_unknown()
        }
        Out::Context(r) => {
            let mut o: JsObject = env.create_object()?;
            o.set_named_property("text", env.create_string(&r.text)?)?;
            o.set_named_property("totalTokens", env.create_double(r.total_tokens as f64)?)?;
            o.set_named_property("budget", env.create_double(r.budget as f64)?)?;
            o.set_named_property("tokenizer", env.create_string(r.tokenizer.name())?)?;
            let secs: Vec<Json> = r
                .sections
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "name": s.name, "priority": s.priority, "tokens": s.tokens,
                        "itemsIncluded": s.items_included, "itemsDropped": s.items_dropped,
                        "duplicates": s.duplicates, "truncated": s.truncated,
                    })
                })
                .collect();
            o.set_named_property("sections", env.to_js_value(&secs)?)?;
            o.into_unknown()
        }
    })
}

/// A key, value or prefix: `Buffer` or string (UTF-8).
type BytesArg = Either<Buffer, String>;

fn bytes(b: BytesArg) -> Vec<u8> {
    match b {
        Either::A(b) => b.to_vec(),
        Either::B(s) => s.into_bytes(),
    }
}

/// A SQL parameter: null/undefined, boolean, number, bigint, string or Buffer.
type ParamArg = Option<Either5<bool, f64, BigInt, String, Buffer>>;

fn params(ps: Option<Vec<ParamArg>>) -> Result<Vec<Value>, Fail> {
    ps.unwrap_or_default()
        .into_iter()
        .map(|p| {
            Ok(match p {
                None => Value::Null,
                Some(Either5::A(b)) => Value::Integer(i64::from(b)),
                Some(Either5::B(f)) => {
                    if f.fract() == 0.0 && f.abs() <= MAX_SAFE as f64 {
                        Value::Integer(f as i64)
                    } else {
                        Value::Real(f)
                    }
                }
                Some(Either5::C(b)) => {
                    let (v, lossless) = b.get_i64();
                    if !lossless {
                        return Err(invalid("bigint parameter out of the 64-bit range"));
                    }
                    Value::Integer(v)
                }
                Some(Either5::D(s)) => Value::Text(s),
                Some(Either5::E(b)) => Value::Blob(b.to_vec()),
            })
        })
        .collect()
}

/// A vector: `Float32Array`, `Float64Array` or `number[]`.
type VectorArg = Either3<Float32Array, Float64Array, Vec<f64>>;

fn vector(v: VectorArg) -> Vec<f32> {
    match v {
        Either3::A(a) => a.to_vec(),
        Either3::B(a) => a.iter().map(|x| *x as f32).collect(),
        Either3::C(a) => a.into_iter().map(|x| x as f32).collect(),
    }
}

fn filter(f: Option<Json>) -> Result<Option<toondb::Filter>, Fail> {
    match f {
        None | Some(Json::Null) => Ok(None),
        Some(j) => Ok(Some(toondb::json::filter(&j)?)),
    }
}

type Shared = Arc<RwLock<Option<toondb::Database>>>;

fn handle(s: &Shared) -> Result<toondb::Database, Fail> {
    s.read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or_else(closed)
}

// ------------------------------------------------------------------ Database

/// An open ToonDB database.
#[napi]
pub struct Database {
    db: Shared,
}

/// One operation that `Database` and `Transaction` both offer, with its arguments already
/// converted; [`Op::run`] is its only implementation.
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Get(Vec<u8>),
    Delete(Vec<u8>),
    Scan(Vec<u8>),
    Execute(String, Vec<Value>),
    Run(String, Vec<Value>),
    First(String, Vec<Value>, bool),
    Query(String, Vec<Value>),
    Graph(String, String, Json),
}

impl Op {
    fn graph(ns: String, op: String, args: Option<String>) -> Result<Op, Fail> {
        Ok(Op::Graph(ns, op, graph_args(args)?))
    }

    fn run(self, mut t: toondb::Target<'_>) -> toondb::Result<Out> {
        Ok(match self {
            Op::Put(k, v) => t.put(k, v).map(|()| Out::Unit)?,
            Op::Get(k) => Out::Bytes(t.get(k)?),
            Op::Delete(k) => t.delete(k).map(|()| Out::Unit)?,
            Op::Scan(p) => Out::Pairs(t.scan_prefix(p)?.collect_all()?),
            Op::Execute(sql, ps) => Out::Count(t.execute(&sql, &ps)?),
            Op::Run(sql, ps) => Out::Run(t.query(&sql, &ps)?),
            Op::First(sql, ps, raw) => Out::First(first_row(|f| t.query_each(&sql, &ps, f))?, raw),
            Op::Query(sql, ps) => Out::Rows(t.query(&sql, &ps)?),
            Op::Graph(ns, op, args) => Out::Json(t.graph_call(&ns, &op, &args)?),
        })
    }
}

impl Database {
    /// `op` as a job on this database (each call auto-committed).
    fn prep(&self, op: Result<Op, Fail>) -> Result<Work, Fail> {
        let db = handle(&self.db)?;
        let op = op?;
        Ok(Box::new(move || Ok(op.run(toondb::Target::Db(&db))?)))
    }
    fn prep_put(&self, key: BytesArg, value: BytesArg) -> Result<Work, Fail> {
        self.prep(Ok(Op::Put(bytes(key), bytes(value))))
    }
    fn prep_get(&self, key: BytesArg) -> Result<Work, Fail> {
        self.prep(Ok(Op::Get(bytes(key))))
    }
    fn prep_delete(&self, key: BytesArg) -> Result<Work, Fail> {
        self.prep(Ok(Op::Delete(bytes(key))))
    }
    fn prep_scan(&self, prefix: BytesArg) -> Result<Work, Fail> {
        self.prep(Ok(Op::Scan(bytes(prefix))))
    }
    fn prep_execute(&self, sql: String, ps: Option<Vec<ParamArg>>) -> Result<Work, Fail> {
        self.prep(params(ps).map(|ps| Op::Execute(sql, ps)))
    }
    fn prep_run(&self, sql: String, ps: Option<Vec<ParamArg>>) -> Result<Work, Fail> {
        self.prep(params(ps).map(|ps| Op::Run(sql, ps)))
    }
    fn prep_first(
        &self,
        sql: String,
        ps: Option<Vec<ParamArg>>,
        raw: Option<bool>,
    ) -> Result<Work, Fail> {
        let raw = raw.unwrap_or(false);
        self.prep(params(ps).map(|ps| Op::First(sql, ps, raw)))
    }
    fn prep_query(&self, sql: String, ps: Option<Vec<ParamArg>>) -> Result<Work, Fail> {
        self.prep(params(ps).map(|ps| Op::Query(sql, ps)))
    }
    fn prep_context(&self, spec: Json) -> Result<Work, Fail> {
        let db = handle(&self.db)?;
        Ok(Box::new(move || {
            Ok(Out::Context(toondb::json::build_context(
                &db,
                &spec.to_string(),
            )?))
        }))
    }
    fn prep_graph(&self, ns: String, op: String, args: Option<String>) -> Result<Work, Fail> {
        self.prep(Op::graph(ns, op, args))
    }
    fn prep_context_query(&self, stmt: String) -> Result<Work, Fail> {
        let db = handle(&self.db)?;
        Ok(Box::new(move || {
            Ok(Out::Context(db.execute_context(&stmt)?))
        }))
    }
}

#[napi]
impl Database {
    /// Opens (creating if needed) the database in directory `path`; ":memory:" for an
    /// in-memory one.
    #[napi(factory)]
    pub fn open(env: Env, path: String) -> napi::Result<Database> {
        let r = if path == ":memory:" {
            toondb::Database::open_in_memory()
        } else {
            toondb::Database::open(&path)
        };
        match r {
            Ok(db) => Ok(Database {
                db: Arc::new(RwLock::new(Some(db))),
            }),
            Err(e) => Err(js_err(env, e.into())),
        }
    }

    /// Opens the existing database in directory `path` read-only: the WAL is replayed in
    /// memory only and nothing in the directory is created, renamed or deleted. No lock is
    /// taken, so it works while another process has the database open read-write. Writes
    /// fail with `err.code === "unsupported"`.
    #[napi(factory)]
    pub fn open_read_only(env: Env, path: String) -> napi::Result<Database> {
        match toondb::Database::open_read_only(&path) {
            Ok(db) => Ok(Database {
                db: Arc::new(RwLock::new(Some(db))),
            }),
            Err(e) => Err(js_err(env, e.into())),
        }
    }

    /// A fresh in-memory database.
    #[napi(factory)]
    pub fn open_in_memory(env: Env) -> napi::Result<Database> {
        Database::open(env, ":memory:".into())
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.db.read().map(|g| g.is_none()).unwrap_or(true)
    }

    /// Syncs and closes the database (idempotent).
    #[napi]
    pub fn close(&self, env: Env) -> napi::Result<()> {
        let taken = self.db.write().unwrap_or_else(|e| e.into_inner()).take();
        match taken.map(toondb::Database::close) {
            Some(Err(e)) => Err(js_err(env, e.into())),
            _ => Ok(()),
        }
    }

    /// Sets `key` to `value`.
    #[napi(ts_return_type = "void")]
    pub fn put(&self, env: Env, key: BytesArg, value: BytesArg) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_put(key, value))
    }
    /// `put` on the libuv pool.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn put_async(&self, key: BytesArg, value: BytesArg) -> AsyncTask<Job> {
        task(self.prep_put(key, value))
    }
    /// The value of `key`, or null.
    #[napi(ts_return_type = "Buffer | null")]
    pub fn get(&self, env: Env, key: BytesArg) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_get(key))
    }
    /// `get` on the libuv pool.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn get_async(&self, key: BytesArg) -> AsyncTask<Job> {
        task(self.prep_get(key))
    }
    /// Deletes `key`.
    #[napi(ts_return_type = "void")]
    pub fn delete(&self, env: Env, key: BytesArg) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_delete(key))
    }
    /// `delete` on the libuv pool.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_async(&self, key: BytesArg) -> AsyncTask<Job> {
        task(self.prep_delete(key))
    }
    /// `[{key, value}]` under `prefix`, in key order.
    #[napi(ts_return_type = "Array<{ key: Buffer; value: Buffer }>")]
    pub fn scan_prefix(&self, env: Env, prefix: BytesArg) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_scan(prefix))
    }
    /// `scanPrefix` on the libuv pool.
    #[napi(ts_return_type = "Promise<Array<{ key: Buffer; value: Buffer }>>")]
    pub fn scan_prefix_async(&self, prefix: BytesArg) -> AsyncTask<Job> {
        task(self.prep_scan(prefix))
    }
    /// Runs SQL (autocommit); returns rows affected.
    #[napi(ts_return_type = "number")]
    pub fn execute(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
    ) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_execute(sql, params))
    }
    /// `execute` on the libuv pool.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn execute_async(&self, sql: String, params: Option<Vec<ParamArg>>) -> AsyncTask<Job> {
        task(self.prep_execute(sql, params))
    }
    /// Runs a query; rows are objects keyed by column name.
    #[napi(ts_return_type = "Array<Record<string, SqlValue>>")]
    pub fn query(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
    ) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_query(sql, params))
    }
    /// `query` on the libuv pool.
    #[napi(ts_return_type = "Promise<Array<Record<string, SqlValue>>>")]
    pub fn query_async(&self, sql: String, params: Option<Vec<ParamArg>>) -> AsyncTask<Job> {
        task(self.prep_query(sql, params))
    }
    /// Runs one statement (autocommit); returns `{ changes, lastInsertRowid }` (the rowid of
    /// the last row it inserted, `null` when it inserted none), like better-sqlite3's `run`.
    #[napi(ts_return_type = "RunResult")]
    pub fn run(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
    ) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_run(sql, params))
    }
    /// `run` on the libuv pool.
    #[napi(ts_return_type = "Promise<RunResult>")]
    pub fn run_async(&self, sql: String, params: Option<Vec<ParamArg>>) -> AsyncTask<Job> {
        task(self.prep_run(sql, params))
    }
    /// The first row of a query (an object, or an array with `raw`), or `undefined`; the
    /// statement stops after that row.
    #[napi(ts_return_type = "Record<string, SqlValue> | SqlValue[] | undefined")]
    pub fn query_first(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
        raw: Option<bool>,
    ) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_first(sql, params, raw))
    }
    /// `queryFirst` on the libuv pool.
    #[napi(ts_return_type = "Promise<Record<string, SqlValue> | SqlValue[] | undefined>")]
    pub fn query_first_async(
        &self,
        sql: String,
        params: Option<Vec<ParamArg>>,
        raw: Option<bool>,
    ) -> AsyncTask<Job> {
        task(self.prep_first(sql, params, raw))
    }
    /// Starts a query whose rows are produced while you read them (`RowIter.nextRow`):
    /// memory does not grow with the result, and closing the iterator stops the query.
    #[napi]
    pub fn query_iter(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
    ) -> napi::Result<RowIter> {
        let r = (|| -> Result<RowIter, Fail> {
            let db = handle(&self.db)?;
            let ps = crate::params(params)?;
            let s = db.query_stream(&sql, &ps)?;
            Ok(RowIter::new(
                s.columns().to_vec(),
                RowSource::Stream(Box::new(s)),
            ))
        })();
        r.map_err(|f| js_err(env, f))
    }
    /// Starts a transaction.
    #[napi]
    pub fn begin(&self, env: Env) -> napi::Result<Transaction> {
        let r = handle(&self.db).and_then(|db| Ok(db.begin()?));
        match r {
            Ok(tx) => Ok(Transaction {
                tx: Mutex::new(Some(tx)),
                db: self.db.clone(),
            }),
            Err(f) => Err(js_err(env, f)),
        }
    }
    /// Creates a collection (`metric`: "cosine" (default), "l2" or "ip").
    #[napi]
    pub fn create_collection(
        &self,
        env: Env,
        name: String,
        dim: u32,
        metric: Option<String>,
    ) -> napi::Result<Collection> {
        let r = (|| -> Result<Collection, Fail> {
            let db = handle(&self.db)?;
            let m = toondb::json::parse_metric(metric.as_deref().unwrap_or(""))?;
            let c = db.create_collection(&name, dim as usize, m, Default::default())?;
            Ok(Collection {
                c,
                db: self.db.clone(),
            })
        })();
        r.map_err(|f| js_err(env, f))
    }
    /// Opens an existing collection (NOT_FOUND if absent).
    #[napi]
    pub fn collection(&self, env: Env, name: String) -> napi::Result<Collection> {
        let r = handle(&self.db).and_then(|db| Ok(db.collection(&name)?));
        match r {
            Ok(c) => Ok(Collection {
                c,
                db: self.db.clone(),
            }),
            Err(f) => Err(js_err(env, f)),
        }
    }
    /// Collection names.
    #[napi(ts_return_type = "string[]")]
    pub fn list_collections(&self, env: Env) -> napi::Result<JsUnknown> {
        let w = handle(&self.db)
            .map(|db| -> Work { Box::new(move || Ok(Out::Strings(db.list_collections()?))) });
        run_sync(env, w)
    }
    /// Drops a collection; returns whether it existed.
    #[napi(ts_return_type = "boolean")]
    pub fn drop_collection(&self, env: Env, name: String) -> napi::Result<JsUnknown> {
        let w = handle(&self.db)
            .map(|db| -> Work { Box::new(move || Ok(Out::Bool(db.drop_collection(&name)?))) });
        run_sync(env, w)
    }
    /// Builds a token-budgeted context from a spec `{budget, tokenizer, sections: [...]}`.
    #[napi(ts_return_type = "ContextResult")]
    pub fn context(&self, env: Env, spec: Json) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_context(spec))
    }
    /// `context` on the libuv pool.
    #[napi(ts_return_type = "Promise<ContextResult>")]
    pub fn context_async(&self, spec: Json) -> AsyncTask<Job> {
        task(self.prep_context(spec))
    }
    /// Runs a `CONTEXT SELECT ...` statement.
    #[napi(ts_return_type = "ContextResult")]
    pub fn context_query(&self, env: Env, statement: String) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_context_query(statement))
    }
    /// `contextQuery` on the libuv pool.
    #[napi(ts_return_type = "Promise<ContextResult>")]
    pub fn context_query_async(&self, statement: String) -> AsyncTask<Job> {
        task(self.prep_context_query(statement))
    }
    /// Runs one operation of the graph's JSON command interface in namespace `namespace`
    /// (auto-commit): arguments and result are JSON text. The `graph(namespace)` wrapper in
    /// index.js is the friendlier API.
    #[napi(ts_return_type = "string")]
    pub fn graph_call(
        &self,
        env: Env,
        namespace: String,
        op: String,
        args_json: Option<String>,
    ) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_graph(namespace, op, args_json))
    }
    /// `graphCall` on the libuv pool.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn graph_call_async(
        &self,
        namespace: String,
        op: String,
        args: Option<String>,
    ) -> AsyncTask<Job> {
        task(self.prep_graph(namespace, op, args))
    }
}

// ------------------------------------------------------------------ Transaction

/// A transaction (snapshot reads plus its own writes; atomic commit).
#[napi]
pub struct Transaction {
    tx: Mutex<Option<toondb::Transaction>>,
    db: Shared,
}

impl Transaction {
    /// Runs `op` inside this transaction (the same [`Op::run`] as `Database`'s calls).
    fn with(&self, env: Env, op: Result<Op, Fail>) -> napi::Result<JsUnknown> {
        let r = op.and_then(|op| {
            handle(&self.db)?;
            let mut g = self.tx.lock().unwrap_or_else(|e| e.into_inner());
            let t = g
                .as_mut()
                .ok_or_else(|| invalid("transaction already finished"))?;
            Ok(op.run(toondb::Target::Txn(t))?)
        });
        match r {
            Ok(o) => to_js(env, o),
            Err(f) => Err(js_err(env, f)),
        }
    }
}

#[napi]
impl Transaction {
    /// Whether the transaction is still open.
    #[napi(getter)]
    pub fn active(&self) -> bool {
        self.tx.lock().map(|g| g.is_some()).unwrap_or(false)
    }
    /// Sets `key` inside the transaction.
    #[napi(ts_return_type = "void")]
    pub fn put(&self, env: Env, key: BytesArg, value: BytesArg) -> napi::Result<JsUnknown> {
        self.with(env, Ok(Op::Put(bytes(key), bytes(value))))
    }
    /// Runs one graph operation inside the transaction (see `Database.graphCall`).
    #[napi(ts_return_type = "string")]
    pub fn graph_call(
        &self,
        env: Env,
        namespace: String,
        op: String,
        args_json: Option<String>,
    ) -> napi::Result<JsUnknown> {
        self.with(env, Op::graph(namespace, op, args_json))
    }
    /// Reads `key` as the transaction sees it.
    #[napi(ts_return_type = "Buffer | null")]
    pub fn get(&self, env: Env, key: BytesArg) -> napi::Result<JsUnknown> {
        self.with(env, Ok(Op::Get(bytes(key))))
    }
    /// Deletes `key` inside the transaction.
    #[napi(ts_return_type = "void")]
    pub fn delete(&self, env: Env, key: BytesArg) -> napi::Result<JsUnknown> {
        self.with(env, Ok(Op::Delete(bytes(key))))
    }
    /// Runs SQL inside the transaction.
    #[napi(ts_return_type = "number")]
    pub fn execute(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
    ) -> napi::Result<JsUnknown> {
        self.with(env, crate::params(params).map(|ps| Op::Execute(sql, ps)))
    }
    /// Runs a query inside the transaction.
    #[napi(ts_return_type = "Array<Record<string, SqlValue>>")]
    pub fn query(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
    ) -> napi::Result<JsUnknown> {
        self.with(env, crate::params(params).map(|ps| Op::Query(sql, ps)))
    }
    /// Runs one statement inside the transaction; returns `{ changes, lastInsertRowid }`.
    #[napi(ts_return_type = "RunResult")]
    pub fn run(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
    ) -> napi::Result<JsUnknown> {
        self.with(env, crate::params(params).map(|ps| Op::Run(sql, ps)))
    }
    /// The first row of a query inside the transaction, or `undefined`.
    #[napi(ts_return_type = "Record<string, SqlValue> | SqlValue[] | undefined")]
    pub fn query_first(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
        raw: Option<bool>,
    ) -> napi::Result<JsUnknown> {
        let raw = raw.unwrap_or(false);
        self.with(env, crate::params(params).map(|ps| Op::First(sql, ps, raw)))
    }
    /// A query inside the transaction as a `RowIter` (the result is computed when the
    /// query starts: a transaction's reads are not streamed).
    #[napi]
    pub fn query_iter(
        &self,
        env: Env,
        sql: String,
        params: Option<Vec<ParamArg>>,
    ) -> napi::Result<RowIter> {
        let r = (|| -> Result<RowIter, Fail> {
            handle(&self.db)?;
            let ps = crate::params(params)?;
            let mut g = self.tx.lock().unwrap_or_else(|e| e.into_inner());
            let t = g
                .as_mut()
                .ok_or_else(|| invalid("transaction already finished"))?;
            let rows = t.query(&sql, &ps)?;
            Ok(RowIter::new(
                rows.columns().to_vec(),
                RowSource::Done(rows.into_iter()),
            ))
        })();
        r.map_err(|f| js_err(env, f))
    }
    /// Commits atomically (CONFLICT if a concurrent transaction won).
    #[napi]
    pub fn commit(&self, env: Env) -> napi::Result<()> {
        let r = (|| -> Result<(), Fail> {
            handle(&self.db)?;
            let t = self
                .tx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .ok_or_else(|| invalid("transaction already finished"))?;
            Ok(t.commit()?)
        })();
        r.map_err(|f| js_err(env, f))
    }
    /// Discards the writes (no-op if already finished).
    #[napi]
    pub fn rollback(&self) {
        if let Some(t) = self.tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.rollback();
        }
    }
}

// ------------------------------------------------------------------ RowIter

enum RowSource {
    /// Produced by a worker while the caller reads.
    Stream(Box<toondb::RowStream>),
    /// A finished result (inside a transaction).
    Done(std::vec::IntoIter<toondb::Row>),
}

/// The rows of a query, one at a time (`Database.queryIter`, `Statement.iterate`); index.js
/// makes it a JS iterator. Closing it (or reaching the end) stops the query.
#[napi]
pub struct RowIter {
    columns: Vec<String>,
    src: Mutex<Option<RowSource>>,
}

impl RowIter {
    fn new(columns: Vec<String>, src: RowSource) -> RowIter {
        RowIter {
            columns,
            src: Mutex::new(Some(src)),
        }
    }
}

#[napi]
impl RowIter {
    /// Column names.
    #[napi(getter)]
    pub fn columns(&self) -> Vec<String> {
        self.columns.clone()
    }
    /// The next row (an object keyed by column, or an array with `raw`), or `undefined` at
    /// the end. An error ends the iterator.
    #[napi(ts_return_type = "Record<string, SqlValue> | SqlValue[] | undefined")]
    pub fn next_row(&self, env: Env, raw: Option<bool>) -> napi::Result<JsUnknown> {
        let mut g = self.src.lock().unwrap_or_else(|e| e.into_inner());
        let next = match g.as_mut() {
            None => None,
            Some(RowSource::Stream(s)) => match s.next() {
                Some(Ok(r)) => Some(r),
                Some(Err(e)) => {
                    *g = None;
                    return Err(js_err(env, e.into()));
                }
                None => None,
            },
            Some(RowSource::Done(it)) => it.next(),
        };
        let Some(row) = next else {
            *g = None;
            return Ok(env.get_undefined()?.into_unknown());
        };
        row_to_js(env, &row, raw.unwrap_or(false))
    }
    /// Stops the query and releases its rows (idempotent).
    #[napi]
    pub fn close(&self) {
        self.src.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

// ------------------------------------------------------------------ Collection

/// A document to upsert.
#[napi(object)]
pub struct DocumentInput {
    /// Unique id.
    pub id: String,
    /// The embedding.
    pub vector: VectorArg,
    /// Text for keyword search.
    pub text: Option<String>,
    /// JSON metadata (an object) usable in filters.
    pub metadata: Option<Json>,
}

/// `Collection.add` input.
#[napi(object)]
pub struct AddInput {
    /// Document ids.
    pub ids: Vec<String>,
    /// Texts, one per id.
    pub documents: Vec<String>,
    /// Optional metadata objects, one per id.
    pub metadatas: Option<Vec<Option<Json>>>,
}

/// `Collection.query` input.
#[napi(object)]
pub struct QueryInput {
    /// Questions.
    pub query_texts: Vec<String>,
    /// Results per question (default 10).
    pub n_results: Option<u32>,
    /// Metadata filter.
    pub filter: Option<Json>,
}

/// Embeds texts with the built-in model (`model`: a directory; default as `setEmbedder`).
#[napi(ts_return_type = "number[][]")]
pub fn embed(env: Env, texts: Vec<String>, model: Option<String>) -> napi::Result<Json> {
    embed::embed_texts(texts, model).map_err(|f| js_err(env, f))
}

/// Search options.
#[napi(object)]
pub struct SearchOptions {
    /// Metadata filter (`{"lang": "en", "year": {"$gte": 2020}}`, `$and`/`$or`/`$not`, ...).
    pub filter: Option<Json>,
    /// RRF weight of the vector ranking (hybrid).
    pub vector_weight: Option<f64>,
    /// RRF weight of the keyword ranking (hybrid).
    pub keyword_weight: Option<f64>,
    /// HNSW candidate list size.
    pub ef_search: Option<u32>,
}

/// A named set of documents searchable by vector, keyword or both.
#[napi]
pub struct Collection {
    c: toondb::Collection,
    db: Shared,
}

impl Collection {
    fn live(&self) -> Result<toondb::Collection, Fail> {
        handle(&self.db)?;
        Ok(self.c.clone())
    }
    fn prep_upsert(&self, docs: Vec<DocumentInput>) -> Result<Work, Fail> {
        let c = self.live()?;
        let mut ds = Vec::with_capacity(docs.len());
        for d in docs {
            let meta = match d.metadata {
                None | Some(Json::Null) => Json::Null,
                Some(m @ Json::Object(_)) => m,
                Some(_) => return Err(invalid("metadata must be an object")),
            };
            let mut doc = toondb::Document::new(d.id, vector(d.vector)).with_metadata(meta);
            if let Some(t) = d.text {
                doc = doc.with_text(t);
            }
            ds.push(doc);
        }
        Ok(Box::new(move || {
            Ok(c.upsert_many(ds).map(|()| Out::Unit)?)
        }))
    }
    fn prep_search(
        &self,
        v: Option<VectorArg>,
        text: Option<String>,
        k: u32,
        opts: Option<SearchOptions>,
    ) -> Result<Work, Fail> {
        let c = self.live()?;
        let (f, vw, kw, ef) = match opts {
            Some(o) => (
                filter(o.filter)?,
                o.vector_weight,
                o.keyword_weight,
                o.ef_search,
            ),
            None => (None, None, None, None),
        };
        let mut req = toondb::json::search_request(v.map(vector), text, k as usize, f)?;
        if vw.is_some() || kw.is_some() {
            req = req.weights(vw.unwrap_or(1.0) as f32, kw.unwrap_or(1.0) as f32);
        }
        if let Some(ef) = ef {
            req = req.ef_search(ef as usize);
        }
        Ok(Box::new(move || Ok(Out::Hits(c.search_with(&req)?))))
    }
}

#[napi]
impl Collection {
    /// The name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.c.name().to_string()
    }
    /// The vector dimension.
    #[napi(getter)]
    pub fn dim(&self) -> u32 {
        u32::try_from(self.c.dim()).unwrap_or(u32::MAX)
    }
    /// Number of documents.
    #[napi(ts_return_type = "number")]
    pub fn len(&self, env: Env) -> napi::Result<JsUnknown> {
        run_sync(
            env,
            self.live()
                .map(|c| -> Work { Box::new(move || Ok(Out::Size(c.len()))) }),
        )
    }
    /// Inserts or replaces one document.
    #[napi(ts_return_type = "void")]
    pub fn upsert(&self, env: Env, doc: DocumentInput) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_upsert(vec![doc]))
    }
    /// Inserts or replaces many documents in one call.
    #[napi(ts_return_type = "void")]
    pub fn upsert_many(&self, env: Env, docs: Vec<DocumentInput>) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_upsert(docs))
    }
    /// `upsertMany` on the libuv pool.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn upsert_many_async(&self, docs: Vec<DocumentInput>) -> AsyncTask<Job> {
        task(self.prep_upsert(docs))
    }
    /// The document `{id, vector, text, metadata}` or null.
    #[napi(ts_return_type = "Document | null")]
    pub fn get(&self, env: Env, id: String) -> napi::Result<JsUnknown> {
        run_sync(
            env,
            self.live()
                .map(|c| -> Work { Box::new(move || Ok(Out::Doc(c.get(&id)?))) }),
        )
    }
    /// Deletes a document; returns whether it existed.
    #[napi(ts_return_type = "boolean")]
    pub fn delete(&self, env: Env, id: String) -> napi::Result<JsUnknown> {
        run_sync(
            env,
            self.live()
                .map(|c| -> Work { Box::new(move || Ok(Out::Bool(c.delete(&id)?))) }),
        )
    }
    /// Nearest neighbours of `vector`.
    #[napi(ts_return_type = "SearchHit[]")]
    pub fn search(
        &self,
        env: Env,
        vector: VectorArg,
        k: u32,
        opts: Option<SearchOptions>,
    ) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_search(Some(vector), None, k, opts))
    }
    /// `search` on the libuv pool.
    #[napi(ts_return_type = "Promise<SearchHit[]>")]
    pub fn search_async(
        &self,
        vector: VectorArg,
        k: u32,
        opts: Option<SearchOptions>,
    ) -> AsyncTask<Job> {
        task(self.prep_search(Some(vector), None, k, opts))
    }
    /// Attaches the built-in text embedder (`model`: a sentence-transformers directory;
    /// default `TOONDB_MODEL_DIR`, else the model `toondb model fetch` installed).
    #[napi]
    pub fn set_embedder(&self, env: Env, model: Option<String>) -> napi::Result<()> {
        let r = (|| -> Result<(), Fail> {
            let c = self.live()?;
            Ok(c.set_embedder(embed::load(model.as_deref())?)?)
        })();
        r.map_err(|f| js_err(env, f))
    }
    /// Chroma-style insert: `{ ids, documents, metadatas? }`, embedded with the collection's
    /// embedder and upserted in one transaction.
    #[napi(ts_return_type = "void")]
    pub fn add(&self, env: Env, input: AddInput) -> napi::Result<JsUnknown> {
        run_sync(env, embed::prep_add(self.live(), input))
    }
    /// Chroma-style query: `{ queryTexts, nResults? }` ->
    /// `{ ids, documents, metadatas, distances }`, one inner array per query text.
    #[napi(
        ts_return_type = "{ ids: string[][]; documents: (string | null)[][]; metadatas: Record<string, unknown>[][]; distances: (number | null)[][] }"
    )]
    pub fn query(&self, env: Env, input: QueryInput) -> napi::Result<Json> {
        embed::query(self.live(), input).map_err(|f| js_err(env, f))
    }
    /// The `k` documents nearest in meaning to `text` (embedded with the collection's embedder).
    #[napi(ts_return_type = "SearchHit[]")]
    pub fn search_text(&self, env: Env, text: String, k: u32) -> napi::Result<JsUnknown> {
        let w = self.live().map(|c| -> Work {
            Box::new(move || Ok(Out::Hits(c.search_text(&text, k as usize)?)))
        });
        run_sync(env, w)
    }
    /// BM25 keyword search.
    #[napi(ts_return_type = "SearchHit[]")]
    pub fn keyword_search(
        &self,
        env: Env,
        text: String,
        k: u32,
        opts: Option<SearchOptions>,
    ) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_search(None, Some(text), k, opts))
    }
    /// Vector + keyword search fused by reciprocal rank fusion.
    #[napi(ts_return_type = "SearchHit[]")]
    pub fn hybrid_search(
        &self,
        env: Env,
        text: String,
        vector: VectorArg,
        k: u32,
        opts: Option<SearchOptions>,
    ) -> napi::Result<JsUnknown> {
        run_sync(env, self.prep_search(Some(vector), Some(text), k, opts))
    }
    /// `hybridSearch` on the libuv pool.
    #[napi(ts_return_type = "Promise<SearchHit[]>")]
    pub fn hybrid_search_async(
        &self,
        text: String,
        vector: VectorArg,
        k: u32,
        opts: Option<SearchOptions>,
    ) -> AsyncTask<Job> {
        task(self.prep_search(Some(vector), Some(text), k, opts))
    }
}
