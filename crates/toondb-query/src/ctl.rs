//! Statement control: interruption (handle and timeout) and the per-statement memory budget.
//!
//! The executor calls [`Ctl::tick`] inside every loop that can run long (scans, joins, sorts,
//! aggregation, DML) and [`Ctl::charge`] whenever an operator keeps rows (sort buffers, hash
//! tables, aggregation groups, DISTINCT sets, materialised join inputs).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Default memory budget of one statement: 256 MiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 256 * 1024 * 1024;

/// How often (in loop iterations) the clock and the interrupt flag are looked at.
const POLL_EVERY: u32 = 256;

/// Stops the statements running on a database, from any thread (like rusqlite's
/// `InterruptHandle`). Statements that start after the call are not affected.
#[derive(Clone, Debug, Default)]
pub struct InterruptHandle {
    generation: Arc<AtomicU64>,
}

impl InterruptHandle {
    /// A new handle with nothing interrupted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Interrupts every statement currently running under this handle. They fail with
    /// [`Error::Interrupted`]; nothing they wrote is applied.
    pub fn interrupt(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn current(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// Cancels the statements of one caller (a gRPC request, a Python call) without touching
/// other callers' statements on the same database. Statements pick up the token of the
/// thread they start on (see [`with_cancel_token`]).
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    cancelled: Arc<std::sync::atomic::AtomicBool>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }
    /// Cancels the statements running under this token (and any started later under it).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

thread_local! {
    static CURRENT_TOKEN: std::cell::RefCell<Option<CancelToken>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` so that every SQL statement started by it on this thread obeys `token`.
pub fn with_cancel_token<T>(token: &CancelToken, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<CancelToken>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT_TOKEN.with(|c| *c.borrow_mut() = prev);
        }
    }
    let prev = CURRENT_TOKEN.with(|c| c.borrow_mut().replace(token.clone()));
    let _restore = Restore(prev);
    f()
}

/// The token [`with_cancel_token`] set on this thread, if any: code that moves a statement to
/// another thread (a streaming worker) passes it on so cancelling still reaches the statement.
pub fn current_cancel_token() -> Option<CancelToken> {
    CURRENT_TOKEN.with(|c| c.borrow().clone())
}

/// Limits applied to every statement of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatementLimits {
    /// Wall-clock time after which a statement is stopped ([`Error::Interrupted`]).
    pub timeout: Option<Duration>,
    /// Bytes of operator state (sort buffers, hash tables, groups) one statement may hold.
    /// Past it a sort spills to temporary files when a spill directory is configured;
    /// other operators fail with [`Error::ResourceExhausted`].
    pub memory_budget: u64,
    /// Rows one recursive CTE may produce before the statement fails with
    /// [`Error::TooBig`] (a guard against recursions that never end; default 10,000,000).
    pub recursion_rows: u64,
}

/// Default of [`StatementLimits::recursion_rows`].
pub const DEFAULT_RECURSION_ROWS: u64 = 10_000_000;

impl Default for StatementLimits {
    fn default() -> Self {
        StatementLimits {
            timeout: None,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            recursion_rows: DEFAULT_RECURSION_ROWS,
        }
    }
}

/// The control state of one running statement.
#[derive(Clone, Debug)]
pub struct Ctl {
    interrupt: Option<(InterruptHandle, u64)>,
    deadline: Option<Instant>,
    budget: u64,
    used: u64,
    ticks: u32,
    spill_dir: Option<Arc<std::path::PathBuf>>,
    token: Option<CancelToken>,
    recursion_rows: u64,
}

impl Default for Ctl {
    fn default() -> Self {
        Ctl::unlimited()
    }
}

impl Ctl {
    /// No interruption, no timeout, the default budget.
    pub fn unlimited() -> Self {
        Ctl {
            interrupt: None,
            deadline: None,
            budget: DEFAULT_MEMORY_BUDGET,
            used: 0,
            ticks: 0,
            spill_dir: None,
            token: None,
            recursion_rows: DEFAULT_RECURSION_ROWS,
        }
    }

    /// Control for a statement starting now.
    pub fn start(
        handle: &InterruptHandle,
        limits: &StatementLimits,
        spill_dir: Option<Arc<std::path::PathBuf>>,
    ) -> Self {
        Ctl {
            interrupt: Some((handle.clone(), handle.current())),
            deadline: limits.timeout.map(|t| Instant::now() + t),
            budget: limits.memory_budget,
            used: 0,
            ticks: 0,
            spill_dir,
            token: CURRENT_TOKEN.with(|c| c.borrow().clone()),
            recursion_rows: limits.recursion_rows,
        }
    }

    /// Called once per loop iteration; every [`POLL_EVERY`] calls it checks the interrupt
    /// flag and the deadline.
    #[inline]
    pub fn tick(&mut self) -> Result<()> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(POLL_EVERY) {
            self.poll()?;
        }
        Ok(())
    }

    /// Checks the interrupt flag and the deadline now.
    pub fn poll(&self) -> Result<()> {
        if let Some((h, started)) = &self.interrupt {
            if h.current() != *started {
                return Err(Error::Interrupted("statement interrupted".into()));
            }
        }
        if self.token.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Err(Error::Interrupted("statement cancelled".into()));
        }
        if let Some(d) = self.deadline {
            if Instant::now() >= d {
                return Err(Error::Interrupted("statement timeout expired".into()));
            }
        }
        Ok(())
    }

    /// Accounts `bytes` of operator state; fails when the budget is exceeded.
    pub fn charge(&mut self, bytes: usize, operator: &'static str) -> Result<()> {
        self.used = self.used.saturating_add(bytes as u64);
        if self.used > self.budget {
            return Err(Error::ResourceExhausted {
                operator,
                budget: self.budget,
            });
        }
        Ok(())
    }

    /// Whether `bytes` more would exceed the budget (operators that can spill ask first).
    pub fn would_exceed(&self, bytes: usize) -> bool {
        self.used.saturating_add(bytes as u64) > self.budget
    }

    /// Returns `bytes` of operator state to the budget.
    pub fn release(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes as u64);
    }

    /// The budget in bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Rows a recursive CTE may produce ([`StatementLimits::recursion_rows`]).
    pub fn recursion_rows(&self) -> u64 {
        self.recursion_rows
    }

    /// Directory for temporary spill files, when the database has one.
    pub fn spill_dir(&self) -> Option<&std::path::Path> {
        self.spill_dir.as_deref().map(|p| p.as_path())
    }
}

/// Approximate heap and inline size of a row, for budget accounting.
pub fn row_bytes(r: &[crate::value::Value]) -> usize {
    use crate::value::Value;
    let mut n = 24 + std::mem::size_of_val(r);
    for v in r {
        match v {
            Value::Text(s) => n += s.len(),
            Value::Blob(b) => n += b.len(),
            _ => {}
        }
    }
    n
}
