//! Ctrl-C handling: a handler sets a flag that long-running commands check between batches,
//! so they can commit what they have, close the database cleanly and exit. It also
//! interrupts the SQL statement running on the watched database (see [`watch`]), which then
//! fails with an error of kind `Interrupted` and applies nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static STATEMENTS: Mutex<Option<toondb::InterruptHandle>> = Mutex::new(None);

/// Ctrl-C from now on also interrupts the statements running on the database of `handle`.
pub fn watch(handle: toondb::InterruptHandle) {
    if let Ok(mut g) = STATEMENTS.lock() {
        *g = Some(handle);
    }
}

/// Installs the Ctrl-C (SIGINT/SIGTERM) handler. A second Ctrl-C while the first is being
/// handled exits at once with status 130: the WAL makes committed data durable either way.
pub fn install() {
    // Failure means a handler is already installed (only possible in tests); the flag
    // still works then, so the error is deliberately ignored.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        if let Ok(g) = STATEMENTS.lock() {
            if let Some(h) = g.as_ref() {
                h.interrupt();
            }
        }
    });
}

/// True once Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Clears the flag (the shell does this after cancelling a running statement).
pub fn clear() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}
