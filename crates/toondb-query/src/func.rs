//! User-defined scalar SQL functions, registered on a [`Database`](crate::Database) and
//! resolved by the binder after the built-in functions.
//!
//! ```
//! use toondb_query::{Arity, Database, Value};
//! let db = Database::open_mem();
//! db.register_scalar_function("twice", Arity::Exact(1), true, |args| {
//!     Ok(match &args[0] {
//!         Value::Integer(i) => Value::Integer(i * 2),
//!         _ => Value::Null,
//!     })
//! })
//! .unwrap();
//! let r = db.session().execute("SELECT twice(21)").unwrap();
//! assert_eq!(r.rows, vec![vec![Value::Integer(42)]]);
//! ```

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};
use crate::value::Value;

/// The Rust side of a scalar function.
pub type ScalarFn = dyn Fn(&[Value]) -> Result<Value> + Send + Sync;

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exact(usize),
    /// Any number (including none).
    Variadic,
}

/// A registered scalar function.
pub struct ScalarFunction {
    name: String,
    arity: Arity,
    deterministic: bool,
    f: Box<ScalarFn>,
}

impl std::fmt::Debug for ScalarFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScalarFunction")
            .field("name", &self.name)
            .field("arity", &self.arity)
            .field("deterministic", &self.deterministic)
            .finish()
    }
}

impl ScalarFunction {
    /// Lower-cased name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Accepted argument count.
    pub fn arity(&self) -> Arity {
        self.arity
    }
    /// Whether equal arguments always give equal results (allows constant folding).
    pub fn is_deterministic(&self) -> bool {
        self.deterministic
    }
    /// Calls the function. A Rust panic inside it becomes [`Error::Runtime`].
    pub fn call(&self, args: &[Value]) -> Result<Value> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.f)(args))) {
            Ok(r) => r,
            Err(_) => Err(Error::Runtime(format!(
                "user function {}() panicked",
                self.name
            ))),
        }
    }
}

/// The functions registered on one database (shared by all its sessions).
#[derive(Clone, Default, Debug)]
pub struct Functions {
    inner: Arc<RwLock<HashMap<String, Arc<ScalarFunction>>>>,
}

impl Functions {
    /// Registers (or replaces) a user function. Built-in function and aggregate names are
    /// refused, so SQL keeps its meaning whatever is registered.
    pub fn register<F>(&self, name: &str, arity: Arity, deterministic: bool, f: F) -> Result<()>
    where
        F: Fn(&[Value]) -> Result<Value> + Send + Sync + 'static,
    {
        let lname = name.to_ascii_lowercase();
        if lname.is_empty() || !lname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::Param(format!("invalid function name: {name:?}")));
        }
        if crate::expr::Func::lookup(&lname).is_some()
            || matches!(
                lname.as_str(),
                "count" | "sum" | "avg" | "total" | "min" | "max" | "group_concat"
            )
        {
            return Err(Error::Name(format!(
                "cannot replace built-in function {lname}()"
            )));
        }
        let func = Arc::new(ScalarFunction {
            name: lname.clone(),
            arity,
            deterministic,
            f: Box::new(f),
        });
        self.inner
            .write()
            .map_err(|_| Error::Internal("function registry lock poisoned".into()))?
            .insert(lname, func);
        Ok(())
    }

    /// Looks a function up by (case-insensitive) name.
    pub fn get(&self, name: &str) -> Option<Arc<ScalarFunction>> {
        self.inner
            .read()
            .ok()
            .and_then(|m| m.get(&name.to_ascii_lowercase()).cloned())
    }
}
