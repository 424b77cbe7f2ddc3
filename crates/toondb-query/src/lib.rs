//! ToonDB's SQL engine: sqlparser AST, binder, planner, optimizer and executor over
//! toondb-storage.
//!
//! ```
//! use toondb_query::{Database, Value};
//! let db = Database::open_mem();
//! let mut s = db.session();
//! s.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)").unwrap();
//! s.execute("INSERT INTO t(name) VALUES ('a'), ('b')").unwrap();
//! let r = s.execute_with("SELECT id, upper(name) FROM t WHERE id = ?", &[Value::Integer(2)]).unwrap();
//! assert_eq!(r.rows, vec![vec![Value::Integer(2), Value::from("B")]]);
//! ```
#![forbid(unsafe_code)]

pub mod catalog;
pub mod codec;
pub mod corefunc;
pub mod ctl;
pub mod datetime;
pub mod error;
pub mod exec;
pub mod expr;
pub mod format;
pub mod func;
pub mod json;
pub mod json_each;
pub mod kv;
pub mod parse;
pub mod plan;
pub mod planner;
mod pragma;
pub mod session;
pub mod spill;
pub mod stats;
pub mod storage;
pub mod trigger;
pub mod value;
pub mod window;

pub use ctl::{
    current_cancel_token, with_cancel_token, CancelToken, InterruptHandle, StatementLimits,
    DEFAULT_MEMORY_BUDGET,
};
pub use error::{Error, ErrorClass, RaiseKind, Result};
pub use exec::Flow;
pub use format::{to_json, to_table};
pub use func::{Arity, Functions, ScalarFunction};
pub use kv::{KvBackend, KvTxn, MemBackend};
pub use parse::{parse, with_sql_stack, MAX_EXPR_DEPTH};
pub use planner::Column;
pub use session::{Database, Prepared, QueryResult, RowCallback, RowIter, Session};
pub use storage::StorageBackend;
pub use value::{Affinity, DataType, Value};
