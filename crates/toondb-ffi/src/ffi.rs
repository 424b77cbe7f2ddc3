//! The extern "C" functions. This is the only module of the crate allowed to use `unsafe`;
//! every `unsafe` block states why it is sound.
//!
//! Status codes are the `TOONDB_*` constants. Out-pointers are written only on success.
//! Ownership: bytes returned through `uint8_t **` + `size_t *` are freed with
//! [`toondb_free_bytes`]; strings returned through `char **` with [`toondb_free_string`];
//! handles with their `*_free` (or, for transactions, `commit`/`rollback`) function.
#![allow(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::RwLock;

use toondb::{Database, Document, Target};

use crate::conv::{self, FfiError, FfiResult};

/// Success.
pub const TOONDB_OK: i32 = 0;
/// A transaction lost a race; retrying may succeed.
pub const TOONDB_ERR_CONFLICT: i32 = 1;
/// The named thing (collection, table, document) does not exist.
pub const TOONDB_ERR_NOT_FOUND: i32 = 2;
/// The named thing already exists.
pub const TOONDB_ERR_ALREADY_EXISTS: i32 = 3;
/// Invalid argument: NULL pointer, bad UTF-8, bad JSON, SQL syntax, wrong dimension, ...
pub const TOONDB_ERR_INVALID_ARGUMENT: i32 = 4;
/// A SQL constraint was violated.
pub const TOONDB_ERR_CONSTRAINT: i32 = 5;
/// Valid but not supported.
pub const TOONDB_ERR_UNSUPPORTED: i32 = 6;
/// Stored data is damaged.
pub const TOONDB_ERR_CORRUPTION: i32 = 7;
/// The database is closed (or poisoned by an earlier failure; reopen it).
pub const TOONDB_ERR_CLOSED: i32 = 8;
/// The database directory is locked by another handle or process.
pub const TOONDB_ERR_BUSY: i32 = 9;
/// An operating-system I/O error.
pub const TOONDB_ERR_IO: i32 = 10;
/// A bug or unexpected failure.
pub const TOONDB_ERR_INTERNAL: i32 = 11;
/// A Rust panic was caught at the boundary (a bug; the handle may still be used).
pub const TOONDB_ERR_PANIC: i32 = 12;
/// The operation was interrupted (interrupt handle, timeout, cancelled statement).
pub const TOONDB_ERR_INTERRUPTED: i32 = 13;
/// The operation needed more of a resource (statement memory budget) than allowed.
pub const TOONDB_ERR_RESOURCE_EXHAUSTED: i32 = 14;

/// An open database. Safe to use from several threads at once.
pub struct ToondbDatabase {
    db: RwLock<Option<Database>>,
}

/// A transaction. Use from one thread at a time; released by commit or rollback.
pub struct ToondbTxn {
    tx: toondb::Transaction,
}

/// A key-value scan. Use from one thread at a time; released by [`toondb_iter_free`].
pub struct ToondbIter {
    it: toondb::KvIter,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(c));
}

/// Runs `f`, catching panics, and turns its outcome into a status code.
fn guard(f: impl FnOnce() -> FfiResult<()>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => TOONDB_OK,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.code
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("panic: {msg}"));
            TOONDB_ERR_PANIC
        }
    }
}

fn null(what: &str) -> FfiError {
    FfiError::invalid(format!("{what} is NULL"))
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid for `'a`.
unsafe fn opt_str<'a>(p: *const c_char, what: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null and, by the caller's contract, NUL-terminated and live for 'a.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map(Some)
        .map_err(|_| FfiError::invalid(format!("{what} is not valid UTF-8")))
}

/// # Safety
/// As [`opt_str`].
unsafe fn req_str<'a>(p: *const c_char, what: &str) -> FfiResult<&'a str> {
    // SAFETY: forwarded contract.
    unsafe { opt_str(p, what) }?.ok_or_else(|| null(what))
}

/// # Safety
/// `p` points to `len` readable bytes (or `len == 0`), valid for `'a`.
unsafe fn bytes<'a>(p: *const u8, len: usize, what: &str) -> FfiResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-null, `len` readable bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// # Safety
/// `out` is NULL or valid for a write of `T`.
unsafe fn write<T>(out: *mut T, v: T, what: &str) -> FfiResult<()> {
    if out.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-null and writable by the caller's contract.
    unsafe { out.write(v) };
    Ok(())
}

/// # Safety
/// `p` is NULL or a live handle from [`toondb_open`].
unsafe fn db_of(p: *const ToondbDatabase) -> FfiResult<Database> {
    if p.is_null() {
        return Err(null("db"));
    }
    // SAFETY: non-null live handle by the caller's contract; only shared access is taken.
    let h = unsafe { &*p };
    h.db.read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or_else(|| FfiError {
            code: TOONDB_ERR_CLOSED,
            message: "database is closed".into(),
        })
}

/// # Safety
/// `out_ptr`/`out_len` are NULL or writable.
unsafe fn give_bytes(v: Vec<u8>, out_ptr: *mut *mut u8, out_len: *mut usize) -> FfiResult<()> {
    if out_ptr.is_null() || out_len.is_null() {
        return Err(null("output pointer"));
    }
    let len = v.len();
    let p = Box::into_raw(v.into_boxed_slice()).cast::<u8>();
    // SAFETY: both non-null and writable by the caller's contract.
    unsafe {
        out_ptr.write(p);
        out_len.write(len);
    }
    Ok(())
}

/// # Safety
/// `out` is NULL or writable.
unsafe fn give_string(s: String, out: *mut *mut c_char) -> FfiResult<()> {
    let c = CString::new(s).map_err(|_| FfiError::invalid("result contains a NUL byte"))?;
    if out.is_null() {
        return Err(null("output pointer"));
    }
    // SAFETY: non-null and writable by the caller's contract.
    unsafe { out.write(c.into_raw()) };
    Ok(())
}

// ------------------------------------------------------------------ memory, errors, version

/// The library version as a static NUL-terminated string (do not free).
#[no_mangle]
pub extern "C" fn toondb_version() -> *const c_char {
    static V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    V.as_ptr().cast()
}

/// The message of the last failed call on this thread, or NULL. The pointer stays valid until
/// the next failing call on the same thread; do not free it.
#[no_mangle]
pub extern "C" fn toondb_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
}

/// Frees a buffer returned through a `uint8_t **` out-pointer. NULL is ignored.
///
/// # Safety
/// `ptr`/`len` must be exactly a pair returned by this library, freed once.
#[no_mangle]
pub unsafe extern "C" fn toondb_free_bytes(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: by contract this is a Box<[u8]> of `len` bytes leaked by `give_bytes`.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
}

/// Frees a string returned through a `char **` out-pointer. NULL is ignored.
///
/// # Safety
/// `ptr` must be a string returned by this library, freed once.
#[no_mangle]
pub unsafe extern "C" fn toondb_free_string(ptr: *mut c_char) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: by contract this is a CString leaked by `give_string`.
    drop(unsafe { CString::from_raw(ptr) });
}

// ------------------------------------------------------------------ open / close

/// Opens (creating if needed) the database in directory `path`; NULL or `":memory:"` opens
/// an in-memory database. On success `*out_db` receives a handle to release with
/// [`toondb_free_database`].
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `out_db` is writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_open(path: *const c_char, out_db: *mut *mut ToondbDatabase) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `path` is NULL or a NUL-terminated string.
        let path = unsafe { opt_str(path, "path") }?;
        let db = match path {
            None | Some(":memory:") => Database::open_in_memory()?,
            Some(p) => Database::open(p)?,
        };
        let h = Box::into_raw(Box::new(ToondbDatabase {
            db: RwLock::new(Some(db)),
        }));
        // SAFETY: as the `# Safety` section requires: `out_db` is NULL (refused) or writable.
        if let Err(e) = unsafe { write(out_db, h, "out_db") } {
            // SAFETY: `h` was just leaked above and never shared.
            drop(unsafe { Box::from_raw(h) });
            return Err(e);
        }
        Ok(())
    })
}

/// Opens the existing database in directory `path` read-only: the WAL is replayed in memory
/// only, nothing in the directory is created, renamed or deleted, and no lock is taken (works
/// while another process has the database open read-write). Writes fail with
/// `TOONDB_ERR_UNSUPPORTED`. On success `*out_db` receives a handle to release with
/// [`toondb_free_database`].
///
/// # Safety
/// `path` is a NUL-terminated string; `out_db` is writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_open_read_only(
    path: *const c_char,
    out_db: *mut *mut ToondbDatabase,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `path` is NULL or a NUL-terminated string.
        let path = unsafe { opt_str(path, "path") }?;
        let Some(p) = path else {
            return Err(FfiError::invalid(
                "path: a read-only open needs a database directory",
            ));
        };
        let db = Database::open_read_only(p)?;
        let h = Box::into_raw(Box::new(ToondbDatabase {
            db: RwLock::new(Some(db)),
        }));
        // SAFETY: as the `# Safety` section requires: `out_db` is NULL (refused) or writable.
        if let Err(e) = unsafe { write(out_db, h, "out_db") } {
            // SAFETY: `h` was just leaked above and never shared.
            drop(unsafe { Box::from_raw(h) });
            return Err(e);
        }
        Ok(())
    })
}

/// Syncs and closes the database. The handle stays valid (calls then fail with
/// `TOONDB_ERR_CLOSED`) until [`toondb_free_database`]. Closing twice is a no-op.
///
/// # Safety
/// `db` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn toondb_close(db: *mut ToondbDatabase) -> i32 {
    guard(|| {
        if db.is_null() {
            return Err(null("db"));
        }
        // SAFETY: live handle by contract; shared access only (the RwLock serialises).
        let h = unsafe { &*db };
        let taken = h.db.write().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(d) = taken {
            d.close()?;
        }
        Ok(())
    })
}

/// Releases a handle (closing the database first if needed). NULL is ignored. No other
/// thread may be using the handle.
///
/// # Safety
/// `db` is NULL or a live handle from [`toondb_open`], freed once.
#[no_mangle]
pub unsafe extern "C" fn toondb_free_database(db: *mut ToondbDatabase) {
    if db.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: by contract the handle came from Box::into_raw in toondb_open and is
        // released once, with no concurrent users.
        let h = unsafe { Box::from_raw(db) };
        if let Some(d) = h.db.into_inner().unwrap_or_else(|e| e.into_inner()) {
            let _ = d.close();
        }
    }));
}

// ------------------------------------------------------------------ key-value

/// Sets `key` to `value`.
///
/// # Safety
/// `db` live; `key`/`value` point to `key_len`/`value_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn toondb_put(
    db: *const ToondbDatabase,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle.
        let d = unsafe { db_of(db)? };
        // SAFETY: as the `# Safety` section requires: `key` points to `key_len` readable
        // elements (or the length is 0); `value` points to `value_len` readable elements (or
        // the length is 0).
        unsafe { kv_put(Target::Db(&d), key, key_len, value, value_len) }
    })
}

/// Reads `key`. On success `*out_value`/`*out_len` receive a buffer to free with
/// [`toondb_free_bytes`], or NULL/0 if the key is absent.
///
/// # Safety
/// `db` live; `key` readable for `key_len`; out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_get(
    db: *const ToondbDatabase,
    key: *const u8,
    key_len: usize,
    out_value: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle.
        let d = unsafe { db_of(db)? };
        // SAFETY: as the `# Safety` section requires: `key` points to `key_len` readable
        // elements (or the length is 0); the out-pointers are NULL (refused) or writable.
        unsafe { kv_get(Target::Db(&d), key, key_len, out_value, out_len) }
    })
}

/// Deletes `key` (no error if absent).
///
/// # Safety
/// `db` live; `key` readable for `key_len`.
#[no_mangle]
pub unsafe extern "C" fn toondb_delete(
    db: *const ToondbDatabase,
    key: *const u8,
    key_len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle.
        let d = unsafe { db_of(db)? };
        // SAFETY: as the `# Safety` section requires: `key` points to `key_len` readable
        // elements (or the length is 0).
        unsafe { kv_delete(Target::Db(&d), key, key_len) }
    })
}

/// The one implementation of [`toondb_put`] and [`toondb_txn_put`].
///
/// # Safety
/// `key`/`value` point to `key_len`/`value_len` readable bytes (or the length is 0).
unsafe fn kv_put(
    mut t: Target<'_>,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> FfiResult<()> {
    // SAFETY: both buffers are readable for their lengths per this function's contract.
    let (k, v) = unsafe {
        (
            bytes(key, key_len, "key")?,
            bytes(value, value_len, "value")?,
        )
    };
    Ok(t.put(k, v)?)
}

/// The one implementation of [`toondb_get`] and [`toondb_txn_get`].
///
/// # Safety
/// `key` points to `key_len` readable bytes (or the length is 0); `out_value` and `out_len`
/// are NULL or writable.
unsafe fn kv_get(
    mut t: Target<'_>,
    key: *const u8,
    key_len: usize,
    out_value: *mut *mut u8,
    out_len: *mut usize,
) -> FfiResult<()> {
    // SAFETY: `key` is readable for `key_len` bytes per this function's contract.
    let k = unsafe { bytes(key, key_len, "key")? };
    match t.get(k)? {
        // SAFETY: `out_value` and `out_len` are NULL (refused) or writable per this
        // function's contract.
        Some(v) => unsafe { give_bytes(v, out_value, out_len) },
        // SAFETY: `out_value` and `out_len` are NULL (refused) or writable per this
        // function's contract.
        None => unsafe {
            write(out_value, std::ptr::null_mut(), "out_value")?;
            write(out_len, 0, "out_len")
        },
    }
}

/// The one implementation of [`toondb_delete`] and [`toondb_txn_delete`].
///
/// # Safety
/// `key` points to `key_len` readable bytes (or the length is 0).
unsafe fn kv_delete(mut t: Target<'_>, key: *const u8, key_len: usize) -> FfiResult<()> {
    // SAFETY: `key` is readable for `key_len` bytes per this function's contract.
    let k = unsafe { bytes(key, key_len, "key")? };
    Ok(t.delete(k)?)
}

/// Starts a scan of the keys starting with `prefix`, in key order. Release the iterator with
/// [`toondb_iter_free`].
///
/// # Safety
/// `db` live; `prefix` readable for `prefix_len`; `out_iter` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_scan_prefix(
    db: *const ToondbDatabase,
    prefix: *const u8,
    prefix_len: usize,
    out_iter: *mut *mut ToondbIter,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `prefix`
        // points to `prefix_len` readable elements (or the length is 0).
        let (d, p) = unsafe { (db_of(db)?, bytes(prefix, prefix_len, "prefix")?) };
        let it = d.scan_prefix(p)?;
        if out_iter.is_null() {
            return Err(null("out_iter"));
        }
        let h = Box::into_raw(Box::new(ToondbIter { it }));
        // SAFETY: checked non-null; writable by contract.
        unsafe { out_iter.write(h) };
        Ok(())
    })
}

/// Advances a scan. On success either `*out_key`/`*out_value` receive buffers (free each
/// with [`toondb_free_bytes`]) or, at the end, `*out_key` is set to NULL.
///
/// # Safety
/// `it` live and not used concurrently; out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_iter_next(
    it: *mut ToondbIter,
    out_key: *mut *mut u8,
    out_key_len: *mut usize,
    out_value: *mut *mut u8,
    out_value_len: *mut usize,
) -> i32 {
    guard(|| {
        if it.is_null() {
            return Err(null("iter"));
        }
        // SAFETY: live, exclusively used handle by contract.
        let h = unsafe { &mut *it };
        if out_key.is_null()
            || out_key_len.is_null()
            || out_value.is_null()
            || out_value_len.is_null()
        {
            return Err(null("output pointer"));
        }
        match h.it.next() {
            None => {
                // SAFETY: checked non-null; writable by contract.
                unsafe { out_key.write(std::ptr::null_mut()) };
                Ok(())
            }
            Some(r) => {
                let (k, v) = r?;
                // SAFETY: checked non-null; writable by contract. If the second write failed
                // the first buffer would leak, but both pointers were checked above.
                unsafe {
                    give_bytes(k, out_key, out_key_len)?;
                    give_bytes(v, out_value, out_value_len)
                }
            }
        }
    })
}

/// Releases a scan. NULL is ignored.
///
/// # Safety
/// `it` is NULL or a live iterator, freed once.
#[no_mangle]
pub unsafe extern "C" fn toondb_iter_free(it: *mut ToondbIter) {
    if !it.is_null() {
        // SAFETY: came from Box::into_raw in toondb_scan_prefix, freed once by contract.
        drop(unsafe { Box::from_raw(it) });
    }
}

// ------------------------------------------------------------------ SQL

/// Runs SQL (autocommit) with parameters given as a JSON array (NULL for none); writes the
/// rows affected by the last statement to `*out_affected` (may be NULL).
///
/// # Safety
/// `db` live; strings NUL-terminated or NULL where allowed; `out_affected` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_execute(
    db: *const ToondbDatabase,
    sql: *const c_char,
    params_json: *const c_char,
    out_affected: *mut u64,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle.
        let d = unsafe { db_of(db)? };
        // SAFETY: as the `# Safety` section requires: `sql` and `params_json` are NULL or
        // NUL-terminated strings; `out_affected` is NULL or writable.
        unsafe { sql_execute(Target::Db(&d), sql, params_json, out_affected) }
    })
}

/// Runs a query; `*out_json` receives `{"columns":[..],"rows":[[..]],"rows_affected":n}`
/// (blobs as `{"$blob":"hex"}`), to free with [`toondb_free_string`].
///
/// # Safety
/// `db` live; strings NUL-terminated (params may be NULL); `out_json` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_query(
    db: *const ToondbDatabase,
    sql: *const c_char,
    params_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle.
        let d = unsafe { db_of(db)? };
        // SAFETY: as the `# Safety` section requires: `sql` and `params_json` are NULL or
        // NUL-terminated strings; `out_json` is NULL (refused) or writable.
        unsafe { sql_query(Target::Db(&d), sql, params_json, out_json) }
    })
}

/// The one implementation of [`toondb_execute`] and [`toondb_txn_execute`].
///
/// # Safety
/// `sql` and `params_json` are NULL or NUL-terminated strings; `out_affected` is NULL or
/// writable.
unsafe fn sql_execute(
    mut t: Target<'_>,
    sql: *const c_char,
    params_json: *const c_char,
    out_affected: *mut u64,
) -> FfiResult<()> {
    // SAFETY: both strings are NULL or NUL-terminated per this function's contract.
    let (sql, ps) = unsafe { (req_str(sql, "sql")?, opt_str(params_json, "params")?) };
    let n = t.execute(sql, &conv::params_from_json(ps)?)?;
    if !out_affected.is_null() {
        // SAFETY: non-null, and writable per this function's contract.
        unsafe { out_affected.write(n) };
    }
    Ok(())
}

/// The one implementation of [`toondb_query`] and [`toondb_txn_query`].
///
/// # Safety
/// `sql` and `params_json` are NULL or NUL-terminated strings; `out_json` is NULL or writable.
unsafe fn sql_query(
    mut t: Target<'_>,
    sql: *const c_char,
    params_json: *const c_char,
    out_json: *mut *mut c_char,
) -> FfiResult<()> {
    // SAFETY: both strings are NULL or NUL-terminated per this function's contract.
    let (sql, ps) = unsafe { (req_str(sql, "sql")?, opt_str(params_json, "params")?) };
    let rows = t.query(sql, &conv::params_from_json(ps)?)?;
    // SAFETY: `out_json` is NULL (refused) or writable per this function's contract.
    unsafe { give_string(conv::rows_to_json(&rows), out_json) }
}

// ------------------------------------------------------------------ transactions

/// Starts a transaction. Finish it with [`toondb_txn_commit`] or [`toondb_txn_rollback`],
/// which also release the handle.
///
/// # Safety
/// `db` live; `out_txn` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_begin(
    db: *const ToondbDatabase,
    out_txn: *mut *mut ToondbTxn,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle.
        let d = unsafe { db_of(db)? };
        if out_txn.is_null() {
            return Err(null("out_txn"));
        }
        let tx = d.begin()?;
        // SAFETY: checked non-null; writable by contract.
        unsafe { out_txn.write(Box::into_raw(Box::new(ToondbTxn { tx }))) };
        Ok(())
    })
}

/// # Safety
/// `t` is NULL or a live transaction not used concurrently.
unsafe fn txn_mut<'a>(t: *mut ToondbTxn) -> FfiResult<&'a mut ToondbTxn> {
    if t.is_null() {
        return Err(null("txn"));
    }
    // SAFETY: live, exclusively used handle by contract.
    Ok(unsafe { &mut *t })
}

/// Sets `key` inside the transaction.
///
/// # Safety
/// `txn` live; buffers readable for their lengths.
#[no_mangle]
pub unsafe extern "C" fn toondb_txn_put(
    txn: *mut ToondbTxn,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `txn` is a live transaction no other
        // thread uses during the call.
        let t = unsafe { txn_mut(txn)? };
        // SAFETY: as the `# Safety` section requires: `key` points to `key_len` readable
        // elements (or the length is 0); `value` points to `value_len` readable elements (or
        // the length is 0).
        unsafe { kv_put(Target::Txn(&mut t.tx), key, key_len, value, value_len) }
    })
}

/// Reads `key` as the transaction sees it; like [`toondb_get`].
///
/// # Safety
/// `txn` live; `key` readable; out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_txn_get(
    txn: *mut ToondbTxn,
    key: *const u8,
    key_len: usize,
    out_value: *mut *mut u8,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `txn` is a live transaction no other
        // thread uses during the call.
        let t = unsafe { txn_mut(txn)? };
        // SAFETY: as the `# Safety` section requires: `key` points to `key_len` readable
        // elements (or the length is 0); the out-pointers are NULL (refused) or writable.
        unsafe { kv_get(Target::Txn(&mut t.tx), key, key_len, out_value, out_len) }
    })
}

/// Deletes `key` inside the transaction.
///
/// # Safety
/// `txn` live; `key` readable.
#[no_mangle]
pub unsafe extern "C" fn toondb_txn_delete(
    txn: *mut ToondbTxn,
    key: *const u8,
    key_len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `txn` is a live transaction no other
        // thread uses during the call.
        let t = unsafe { txn_mut(txn)? };
        // SAFETY: as the `# Safety` section requires: `key` points to `key_len` readable
        // elements (or the length is 0).
        unsafe { kv_delete(Target::Txn(&mut t.tx), key, key_len) }
    })
}

/// Runs SQL inside the transaction; like [`toondb_execute`].
///
/// # Safety
/// As [`toondb_execute`], with a live `txn`.
#[no_mangle]
pub unsafe extern "C" fn toondb_txn_execute(
    txn: *mut ToondbTxn,
    sql: *const c_char,
    params_json: *const c_char,
    out_affected: *mut u64,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `txn` is a live transaction no other
        // thread uses during the call.
        let t = unsafe { txn_mut(txn)? };
        // SAFETY: as the `# Safety` section requires: `sql` and `params_json` are NULL or
        // NUL-terminated strings; `out_affected` is NULL or writable.
        unsafe { sql_execute(Target::Txn(&mut t.tx), sql, params_json, out_affected) }
    })
}

/// Runs a query inside the transaction; like [`toondb_query`].
///
/// # Safety
/// As [`toondb_query`], with a live `txn`.
#[no_mangle]
pub unsafe extern "C" fn toondb_txn_query(
    txn: *mut ToondbTxn,
    sql: *const c_char,
    params_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `txn` is a live transaction no other
        // thread uses during the call.
        let t = unsafe { txn_mut(txn)? };
        // SAFETY: as the `# Safety` section requires: `sql` and `params_json` are NULL or
        // NUL-terminated strings; `out_json` is NULL (refused) or writable.
        unsafe { sql_query(Target::Txn(&mut t.tx), sql, params_json, out_json) }
    })
}

/// Commits and releases the transaction (the handle is invalid afterwards, whatever the
/// outcome). `TOONDB_ERR_CONFLICT` means a concurrent transaction won and nothing was written.
///
/// # Safety
/// `txn` is a live transaction, released here.
#[no_mangle]
pub unsafe extern "C" fn toondb_txn_commit(txn: *mut ToondbTxn) -> i32 {
    guard(|| {
        if txn.is_null() {
            return Err(null("txn"));
        }
        // SAFETY: came from Box::into_raw in toondb_begin; released once by contract.
        let t = unsafe { Box::from_raw(txn) };
        Ok(t.tx.commit()?)
    })
}

/// Discards the transaction's writes and releases it. NULL is ignored.
///
/// # Safety
/// `txn` is NULL or a live transaction, released here.
#[no_mangle]
pub unsafe extern "C" fn toondb_txn_rollback(txn: *mut ToondbTxn) {
    if txn.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: came from Box::into_raw in toondb_begin; released once by contract.
        let t = unsafe { Box::from_raw(txn) };
        t.tx.rollback();
    }));
}

// ------------------------------------------------------------------ collections

/// Creates a collection of `dim`-dimensional vectors; `metric` is "cosine" (also for NULL),
/// "l2" or "ip".
///
/// # Safety
/// `db` live; strings NUL-terminated (metric may be NULL).
#[no_mangle]
pub unsafe extern "C" fn toondb_create_collection(
    db: *const ToondbDatabase,
    name: *const c_char,
    dim: usize,
    metric: *const c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `name` is
        // NULL or a NUL-terminated string; `metric` is NULL or a NUL-terminated string.
        let (d, name, metric) = unsafe {
            (
                db_of(db)?,
                req_str(name, "name")?,
                opt_str(metric, "metric")?,
            )
        };
        let metric = conv::parse_metric(metric.unwrap_or(""))?;
        d.create_collection(name, dim, metric, Default::default())?;
        Ok(())
    })
}

/// Drops a collection; `*out_existed` (may be NULL) tells whether it existed.
///
/// # Safety
/// `db` live; `name` NUL-terminated; `out_existed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_drop_collection(
    db: *const ToondbDatabase,
    name: *const c_char,
    out_existed: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `name` is
        // NULL or a NUL-terminated string.
        let (d, name) = unsafe { (db_of(db)?, req_str(name, "name")?) };
        let existed = d.drop_collection(name)?;
        if !out_existed.is_null() {
            // SAFETY: non-null, writable by contract.
            unsafe { out_existed.write(existed) };
        }
        Ok(())
    })
}

/// Writes the collection names as a JSON array of strings to `*out_json`.
///
/// # Safety
/// `db` live; `out_json` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_list_collections(
    db: *const ToondbDatabase,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle.
        let d = unsafe { db_of(db)? };
        let names = d.list_collections()?;
        // SAFETY: as the `# Safety` section requires: `out_json` is NULL (refused) or writable.
        unsafe { give_string(serde_json::Value::from(names).to_string(), out_json) }
    })
}

/// Inserts or replaces a document: `vector` holds `dim` floats (must equal the collection's
/// dimension), `text` (may be NULL) is indexed for keyword search, `metadata_json` (may be
/// NULL) is a JSON object usable in filters.
///
/// # Safety
/// `db` live; strings NUL-terminated or NULL where allowed; `vector` readable for `dim` floats.
#[no_mangle]
pub unsafe extern "C" fn toondb_upsert(
    db: *const ToondbDatabase,
    collection: *const c_char,
    id: *const c_char,
    vector: *const f32,
    dim: usize,
    text: *const c_char,
    metadata_json: *const c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `collection`
        // is NULL or a NUL-terminated string; `id` is NULL or a NUL-terminated string; `text` is
        // NULL or a NUL-terminated string; `metadata_json` is NULL or a NUL-terminated string.
        let (d, coll, id, text, meta) = unsafe {
            (
                db_of(db)?,
                req_str(collection, "collection")?,
                req_str(id, "id")?,
                opt_str(text, "text")?,
                opt_str(metadata_json, "metadata")?,
            )
        };
        // SAFETY: as the `# Safety` section requires: `vector` points to `dim` readable elements
        // (or the length is 0).
        let v = unsafe { floats(vector, dim)? };
        let mut doc = Document::new(id, v).with_metadata(conv::metadata_from_json(meta)?);
        if let Some(t) = text {
            doc = doc.with_text(t);
        }
        d.collection(coll)?.upsert(doc)?;
        Ok(())
    })
}

/// # Safety
/// `p` readable for `n` floats (or `n == 0`).
unsafe fn floats(p: *const f32, n: usize) -> FfiResult<Vec<f32>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(null("vector"));
    }
    // SAFETY: non-null and readable for `n` floats by contract (alignment is the caller's
    // duty, as for any `const float *`).
    Ok(unsafe { std::slice::from_raw_parts(p, n) }.to_vec())
}

/// Fetches a document as JSON `{"id","vector","text","metadata"}` into `*out_json`, or NULL
/// if absent.
///
/// # Safety
/// `db` live; strings NUL-terminated; `out_json` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_collection_get(
    db: *const ToondbDatabase,
    collection: *const c_char,
    id: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `collection`
        // is NULL or a NUL-terminated string; `id` is NULL or a NUL-terminated string.
        let (d, coll, id) = unsafe {
            (
                db_of(db)?,
                req_str(collection, "collection")?,
                req_str(id, "id")?,
            )
        };
        match d.collection(coll)?.get(id)? {
            // SAFETY: as the `# Safety` section requires: `out_json` is NULL (refused) or writable.
            Some(doc) => unsafe { give_string(conv::document_to_json(&doc), out_json) },
            // SAFETY: as the `# Safety` section requires: `out_json` is NULL (refused) or writable.
            None => unsafe { write(out_json, std::ptr::null_mut(), "out_json") },
        }
    })
}

/// Deletes a document; `*out_existed` (may be NULL) tells whether it existed.
///
/// # Safety
/// `db` live; strings NUL-terminated; `out_existed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_collection_delete(
    db: *const ToondbDatabase,
    collection: *const c_char,
    id: *const c_char,
    out_existed: *mut bool,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `collection`
        // is NULL or a NUL-terminated string; `id` is NULL or a NUL-terminated string.
        let (d, coll, id) = unsafe {
            (
                db_of(db)?,
                req_str(collection, "collection")?,
                req_str(id, "id")?,
            )
        };
        let existed = d.collection(coll)?.delete(id)?;
        if !out_existed.is_null() {
            // SAFETY: non-null, writable by contract.
            unsafe { out_existed.write(existed) };
        }
        Ok(())
    })
}

/// Writes the number of documents in a collection to `*out_len`.
///
/// # Safety
/// `db` live; `collection` NUL-terminated; `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_collection_len(
    db: *const ToondbDatabase,
    collection: *const c_char,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `collection`
        // is NULL or a NUL-terminated string.
        let (d, coll) = unsafe { (db_of(db)?, req_str(collection, "collection")?) };
        let n = d.collection(coll)?.len();
        // SAFETY: as the `# Safety` section requires: `out_len` is NULL (refused) or writable.
        unsafe { write(out_len, n, "out_len") }
    })
}

/// Searches a collection: by vector (`vector` non-NULL with `dim` floats), by keyword (`text`
/// non-NULL) or both (hybrid, fused by reciprocal rank fusion), keeping `k` hits that match
/// the optional `filter_json`. `*out_json` receives a JSON array of hits
/// `{"id","score","distance","keyword_score","text","metadata"}`.
///
/// # Safety
/// `db` live; strings NUL-terminated or NULL where allowed; `vector` NULL or readable for
/// `dim` floats; `out_json` writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn toondb_search(
    db: *const ToondbDatabase,
    collection: *const c_char,
    vector: *const f32,
    dim: usize,
    text: *const c_char,
    k: usize,
    filter_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `collection`
        // is NULL or a NUL-terminated string; `text` is NULL or a NUL-terminated string;
        // `filter_json` is NULL or a NUL-terminated string.
        let (d, coll, text, filter) = unsafe {
            (
                db_of(db)?,
                req_str(collection, "collection")?,
                opt_str(text, "text")?,
                opt_str(filter_json, "filter")?,
            )
        };
        let v = if vector.is_null() {
            None
        } else {
            // SAFETY: as the `# Safety` section requires: `vector` points to `dim` readable
            // elements (or the length is 0).
            Some(unsafe { floats(vector, dim)? })
        };
        let req = conv::search_request(
            v,
            text.map(str::to_string),
            k,
            conv::filter_from_json(filter)?,
        )?;
        let hits = d.collection(coll)?.search_with(&req)?;
        // SAFETY: as the `# Safety` section requires: `out_json` is NULL (refused) or writable.
        unsafe { give_string(conv::hits_to_json(&hits), out_json) }
    })
}

// ------------------------------------------------------------------ context

/// Builds a token-budgeted context from a JSON spec (see `conv::build_context`); `*out_json`
/// receives `{"text","total_tokens","budget","tokenizer","sections":[..]}`.
///
/// # Safety
/// `db` live; `spec_json` NUL-terminated; `out_json` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_context(
    db: *const ToondbDatabase,
    spec_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `spec_json`
        // is NULL or a NUL-terminated string.
        let (d, spec) = unsafe { (db_of(db)?, req_str(spec_json, "spec")?) };
        let r = conv::build_context(&d, spec)?;
        // SAFETY: as the `# Safety` section requires: `out_json` is NULL (refused) or writable.
        unsafe { give_string(conv::context_to_json(&r), out_json) }
    })
}

/// Runs a `CONTEXT SELECT ...` statement; output as [`toondb_context`].
///
/// # Safety
/// `db` live; `statement` NUL-terminated; `out_json` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_context_query(
    db: *const ToondbDatabase,
    statement: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `statement`
        // is NULL or a NUL-terminated string.
        let (d, stmt) = unsafe { (db_of(db)?, req_str(statement, "statement")?) };
        let r = d.execute_context(stmt)?;
        // SAFETY: as the `# Safety` section requires: `out_json` is NULL (refused) or writable.
        unsafe { give_string(conv::context_to_json(&r), out_json) }
    })
}

/// Runs one operation of the graph's JSON command interface (`toondb::graph::json`) in
/// namespace `ns`, auto-committed. `args_json` is a JSON object (NULL = none); on success
/// `*out_json` receives the result as JSON (free with [`toondb_free_string`]).
///
/// # Safety
/// `db` live; `ns`, `op` NUL-terminated; `args_json` NUL-terminated or NULL; `out_json`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_graph_call(
    db: *const ToondbDatabase,
    ns: *const c_char,
    op: *const c_char,
    args_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle.
        let d = unsafe { db_of(db)? };
        // SAFETY: as the `# Safety` section requires: `ns`, `op` and `args_json` are NULL or
        // NUL-terminated strings; `out_json` is NULL (refused) or writable.
        unsafe { graph_call(Target::Db(&d), ns, op, args_json, out_json) }
    })
}

/// [`toondb_graph_call`] inside a transaction (the write commits with it).
///
/// # Safety
/// As [`toondb_graph_call`], with a live `txn`.
#[no_mangle]
pub unsafe extern "C" fn toondb_txn_graph_call(
    txn: *mut ToondbTxn,
    ns: *const c_char,
    op: *const c_char,
    args_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `txn` is a live transaction no other
        // thread uses during the call.
        let t = unsafe { txn_mut(txn)? };
        // SAFETY: as the `# Safety` section requires: `ns`, `op` and `args_json` are NULL or
        // NUL-terminated strings; `out_json` is NULL (refused) or writable.
        unsafe { graph_call(Target::Txn(&mut t.tx), ns, op, args_json, out_json) }
    })
}

/// The one implementation of [`toondb_graph_call`] and [`toondb_txn_graph_call`].
///
/// # Safety
/// `ns`, `op` and `args_json` are NULL or NUL-terminated strings; `out_json` is NULL or
/// writable.
unsafe fn graph_call(
    mut t: Target<'_>,
    ns: *const c_char,
    op: *const c_char,
    args_json: *const c_char,
    out_json: *mut *mut c_char,
) -> FfiResult<()> {
    // SAFETY: each string is NULL or NUL-terminated per this function's contract.
    let (ns, op, args) = unsafe {
        (
            req_str(ns, "namespace")?,
            req_str(op, "op")?,
            opt_str(args_json, "args")?,
        )
    };
    let args = toondb::graph::json::parse_args(args.unwrap_or_default())?;
    let r = t.graph_call(ns, op, &args)?;
    // SAFETY: `out_json` is NULL (refused) or writable per this function's contract.
    unsafe { give_string(r.to_string(), out_json) }
}

// ------------------------------------------------------------------ built-in embeddings

/// Attaches a text embedder to a collection for this process: the sentence-transformers model
/// in `model_dir`, or (NULL) the default one (`TOONDB_MODEL_DIR`, else the model `toondb model
/// fetch` installed). NOT_FOUND with instructions when there is no model; UNSUPPORTED when the
/// library was built without the `embed` feature.
///
/// # Safety
/// `db` live; `collection` NUL-terminated; `model_dir` NUL-terminated or NULL.
#[no_mangle]
pub unsafe extern "C" fn toondb_collection_set_embedder(
    db: *const ToondbDatabase,
    collection: *const c_char,
    model_dir: *const c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `collection`
        // is NULL or a NUL-terminated string; `model_dir` is NULL or a NUL-terminated string.
        let (d, coll, model) = unsafe {
            (
                db_of(db)?,
                req_str(collection, "collection")?,
                opt_str(model_dir, "model_dir")?,
            )
        };
        let e = crate::conv::load_embedder(model)?;
        d.collection(coll)?.set_embedder(e)?;
        Ok(())
    })
}

/// Embeds and upserts documents given as a JSON array `[{"id","text","metadata"?}, ...]`
/// (one transaction) with the collection's embedder.
///
/// # Safety
/// `db` live; strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn toondb_upsert_texts(
    db: *const ToondbDatabase,
    collection: *const c_char,
    items_json: *const c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `collection`
        // is NULL or a NUL-terminated string; `items_json` is NULL or a NUL-terminated string.
        let (d, coll, items) = unsafe {
            (
                db_of(db)?,
                req_str(collection, "collection")?,
                req_str(items_json, "items_json")?,
            )
        };
        let items = crate::conv::text_items_from_json(items)?;
        d.collection(coll)?.upsert_texts(items)?;
        Ok(())
    })
}

/// Searches a collection with text alone: the text's embedding (collection's embedder) for
/// the vector half, and with `hybrid` its keywords too, keeping `k` hits matching the
/// optional `filter_json`. `*out_json` receives hits as [`toondb_search`] does.
///
/// # Safety
/// `db` live; strings NUL-terminated or NULL where allowed; `out_json` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_search_text(
    db: *const ToondbDatabase,
    collection: *const c_char,
    text: *const c_char,
    k: usize,
    hybrid: bool,
    filter_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `db` is a live database handle; `collection`
        // is NULL or a NUL-terminated string; `text` is NULL or a NUL-terminated string;
        // `filter_json` is NULL or a NUL-terminated string.
        let (d, coll, text, filter) = unsafe {
            (
                db_of(db)?,
                req_str(collection, "collection")?,
                req_str(text, "text")?,
                opt_str(filter_json, "filter")?,
            )
        };
        let c = d.collection(coll)?;
        let mut v = c.embed_texts(&[text])?;
        let req = conv::search_request(
            v.pop(),
            hybrid.then(|| text.to_string()),
            k,
            conv::filter_from_json(filter)?,
        )?;
        let hits = c.search_with(&req)?;
        // SAFETY: as the `# Safety` section requires: `out_json` is NULL (refused) or writable.
        unsafe { give_string(conv::hits_to_json(&hits), out_json) }
    })
}

/// Embeds texts given as a JSON array of strings with the model in `model_dir` (NULL: the
/// default one); `*out_json` receives a JSON array of float arrays, in input order.
///
/// # Safety
/// `texts_json` NUL-terminated; `model_dir` NUL-terminated or NULL; `out_json` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_embed(
    model_dir: *const c_char,
    texts_json: *const c_char,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        // SAFETY: as the `# Safety` section requires: `model_dir` is NULL or a NUL-terminated
        // string; `texts_json` is NULL or a NUL-terminated string.
        let (model, texts) = unsafe {
            (
                opt_str(model_dir, "model_dir")?,
                req_str(texts_json, "texts_json")?,
            )
        };
        let texts: Vec<String> = serde_json::from_str(texts)
            .map_err(|e| FfiError::invalid(format!("texts_json: {e}")))?;
        let e = crate::conv::load_embedder(model)?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let v = e.embed_texts(&refs)?;
        let out = serde_json::Value::from(v).to_string();
        // SAFETY: as the `# Safety` section requires: `out_json` is NULL (refused) or writable.
        unsafe { give_string(out, out_json) }
    })
}

// ------------------------------------------------------------------ statements with a target

/// Cancels the statements started with it (from any thread): they fail with
/// `TOONDB_ERR_INTERRUPTED` and apply nothing. Made by [`toondb_cancel_new`], released by
/// [`toondb_cancel_free`]. Safe to use from several threads at once.
pub struct ToondbCancel {
    token: toondb::CancelToken,
}

/// The rows of a query, read one at a time with [`toondb_cursor_next`] and released by
/// [`toondb_cursor_free`] (which stops a query still running). Use from one thread at a time.
pub struct ToondbCursor {
    columns: String,
    rows: CursorRows,
}

enum CursorRows {
    /// Outside a transaction: produced by a worker while the caller reads (bounded memory).
    Stream(toondb::RowStream),
    /// Inside a transaction (the transaction cannot be lent to a worker): the finished result.
    Done(std::vec::IntoIter<toondb::Row>),
}

/// Where a statement runs: the database (autocommit) or a transaction; the handles behind a
/// [`Target`].
enum Handle<'a> {
    Db(Database),
    Txn(&'a mut ToondbTxn),
}

impl Handle<'_> {
    fn target(&mut self) -> Target<'_> {
        match self {
            Handle::Db(d) => Target::Db(d),
            Handle::Txn(t) => Target::Txn(&mut t.tx),
        }
    }
}

/// # Safety
/// `db` is NULL or a live database handle; `txn` is NULL or a live transaction handle not
/// used by another thread during the call. Exactly one must be non-NULL.
unsafe fn target<'a>(db: *const ToondbDatabase, txn: *mut ToondbTxn) -> FfiResult<Handle<'a>> {
    match (db.is_null(), txn.is_null()) {
        // SAFETY: `db` non-null; a live handle per this function's contract.
        (false, true) => Ok(Handle::Db(unsafe { db_of(db)? })),
        // SAFETY: `txn` non-null; live and exclusively ours per this function's contract.
        (true, false) => Ok(Handle::Txn(unsafe { txn_mut(txn)? })),
        (true, true) => Err(FfiError::invalid("db and txn are both NULL: give one")),
        (false, false) => Err(FfiError::invalid("db and txn are both set: give one")),
    }
}

/// The token of a cancel handle (a fresh one for NULL). A statement started under a token
/// that is already cancelled fails at once (the SQL session checks when it starts).
///
/// # Safety
/// `c` is NULL or a live cancel handle.
unsafe fn cancel_of(c: *const ToondbCancel) -> toondb::CancelToken {
    if c.is_null() {
        return toondb::CancelToken::new();
    }
    // SAFETY: non-null; live by this function's contract; only shared access is taken.
    unsafe { &*c }.token.clone()
}

/// Makes a cancel handle (not cancelled).
///
/// # Safety
/// `out` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_cancel_new(out: *mut *mut ToondbCancel) -> i32 {
    guard(|| {
        let h = Box::into_raw(Box::new(ToondbCancel {
            token: toondb::CancelToken::new(),
        }));
        // SAFETY: `out` is NULL (refused by `write`) or writable per this function's contract.
        unsafe { write(out, h, "out") }.inspect_err(|_| {
            // SAFETY: `h` came from Box::into_raw just above and was not handed out.
            drop(unsafe { Box::from_raw(h) })
        })
    })
}

/// Cancels every statement started with `c`, now or later. NULL is ignored.
///
/// # Safety
/// `c` is NULL or a live cancel handle (any thread).
#[no_mangle]
pub unsafe extern "C" fn toondb_cancel(c: *const ToondbCancel) {
    if !c.is_null() {
        // SAFETY: non-null and live per this function's contract; `cancel` takes `&self`.
        unsafe { &*c }.token.cancel();
    }
}

/// Releases a cancel handle. NULL is ignored.
///
/// # Safety
/// `c` is NULL or a live cancel handle, freed once, with no call using it in flight.
#[no_mangle]
pub unsafe extern "C" fn toondb_cancel_free(c: *mut ToondbCancel) {
    if !c.is_null() {
        // SAFETY: came from Box::into_raw in toondb_cancel_new; freed once per the contract.
        drop(unsafe { Box::from_raw(c) });
    }
}

/// Runs SQL on the database (autocommit; `txn` NULL) or in a transaction (`db` NULL), with
/// parameters as a JSON array (NULL for none), under the cancel handle `cancel` (may be NULL).
/// Writes the rows affected to `*out_affected` and the rowid of the last row inserted by the
/// statement to `*out_rowid` with `*out_has_rowid` = 1 (0 when it inserted none); each output
/// pointer may be NULL.
///
/// # Safety
/// As [`target`] for `db`/`txn`; `cancel` NULL or live; strings NUL-terminated (params may be
/// NULL); output pointers NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_stmt_execute(
    db: *const ToondbDatabase,
    txn: *mut ToondbTxn,
    sql: *const c_char,
    params_json: *const c_char,
    cancel: *const ToondbCancel,
    out_affected: *mut u64,
    out_rowid: *mut i64,
    out_has_rowid: *mut i32,
) -> i32 {
    guard(|| {
        // SAFETY: the pointer arguments are as this function's contract states.
        let (mut h, sql, ps, token) = unsafe {
            (
                target(db, txn)?,
                req_str(sql, "sql")?,
                opt_str(params_json, "params")?,
                cancel_of(cancel),
            )
        };
        let params = conv::params_from_json(ps)?;
        let rows = toondb::with_cancel_token(&token, || h.target().query(sql, &params))?;
        let rowid = rows.last_insert_rowid();
        // SAFETY: each output pointer is NULL (skipped) or writable per the contract.
        unsafe {
            if !out_affected.is_null() {
                out_affected.write(rows.rows_affected());
            }
            if !out_rowid.is_null() {
                out_rowid.write(rowid.unwrap_or(0));
            }
            if !out_has_rowid.is_null() {
                out_has_rowid.write(i32::from(rowid.is_some()));
            }
        }
        Ok(())
    })
}

/// Starts a query on the database (`txn` NULL: rows stream from a worker, memory stays
/// bounded) or in a transaction (`db` NULL: the result is computed at once), under the cancel
/// handle `cancel` (may be NULL; cancelling also stops a streaming query between rows).
/// Writes the cursor to `*out_cursor` and the column names as a JSON array to
/// `*out_columns_json` (free with [`toondb_free_string`]; the pointer may be NULL).
///
/// # Safety
/// As [`toondb_stmt_execute`]; `out_cursor` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_stmt_query(
    db: *const ToondbDatabase,
    txn: *mut ToondbTxn,
    sql: *const c_char,
    params_json: *const c_char,
    cancel: *const ToondbCancel,
    out_cursor: *mut *mut ToondbCursor,
    out_columns_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        if out_cursor.is_null() {
            return Err(null("out_cursor"));
        }
        // SAFETY: the pointer arguments are as this function's contract states.
        let (tgt, sql, ps, token) = unsafe {
            (
                target(db, txn)?,
                req_str(sql, "sql")?,
                opt_str(params_json, "params")?,
                cancel_of(cancel),
            )
        };
        let params = conv::params_from_json(ps)?;
        let (columns, rows) = toondb::with_cancel_token(&token, || -> FfiResult<_> {
            Ok(match tgt {
                Handle::Db(d) => {
                    let s = d.query_stream(sql, &params)?;
                    (s.columns().to_vec(), CursorRows::Stream(s))
                }
                Handle::Txn(t) => {
                    let r = t.tx.query(sql, &params)?;
                    (r.columns().to_vec(), CursorRows::Done(r.into_iter()))
                }
            })
        })?;
        let columns = serde_json::Value::from(columns).to_string();
        if !out_columns_json.is_null() {
            // SAFETY: non-null and writable per the contract.
            unsafe { give_string(columns.clone(), out_columns_json)? };
        }
        let cur = Box::into_raw(Box::new(ToondbCursor { columns, rows }));
        // SAFETY: `out_cursor` checked non-null above and writable per the contract.
        unsafe { out_cursor.write(cur) };
        Ok(())
    })
}

/// The column names of a cursor as a JSON array (free with [`toondb_free_string`]).
///
/// # Safety
/// `cur` live; `out_json` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_cursor_columns(
    cur: *const ToondbCursor,
    out_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        if cur.is_null() {
            return Err(null("cursor"));
        }
        // SAFETY: non-null live cursor per the contract (shared access); `out_json` writable.
        unsafe { give_string((*cur).columns.clone(), out_json) }
    })
}

/// The next row as a JSON array of values (blobs as `{"$blob":"hex"}`; free with
/// [`toondb_free_string`]), or NULL in `*out_row_json` when the rows are finished. An error
/// (the statement failed, was cancelled or interrupted) ends the cursor.
///
/// # Safety
/// `cur` live and used by one thread at a time; `out_row_json` writable.
#[no_mangle]
pub unsafe extern "C" fn toondb_cursor_next(
    cur: *mut ToondbCursor,
    out_row_json: *mut *mut c_char,
) -> i32 {
    guard(|| {
        if cur.is_null() {
            return Err(null("cursor"));
        }
        if out_row_json.is_null() {
            return Err(null("out_row_json"));
        }
        // SAFETY: non-null, live and not shared during the call per the contract.
        let c = unsafe { &mut *cur };
        let next = match &mut c.rows {
            CursorRows::Stream(s) => s.next().transpose()?,
            CursorRows::Done(it) => it.next(),
        };
        match next {
            Some(row) => {
                let vals: Vec<serde_json::Value> =
                    row.values().iter().map(conv::value_to_json).collect();
                // SAFETY: `out_row_json` non-null and writable per the contract.
                unsafe { give_string(serde_json::Value::Array(vals).to_string(), out_row_json) }
            }
            None => {
                // SAFETY: as above.
                unsafe { out_row_json.write(std::ptr::null_mut()) };
                Ok(())
            }
        }
    })
}

/// Releases a cursor, stopping its query if it still runs. NULL is ignored.
///
/// # Safety
/// `cur` is NULL or a live cursor, freed once, with no call using it in flight.
#[no_mangle]
pub unsafe extern "C" fn toondb_cursor_free(cur: *mut ToondbCursor) {
    if !cur.is_null() {
        // SAFETY: came from Box::into_raw in toondb_stmt_query; freed once per the contract.
        drop(unsafe { Box::from_raw(cur) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        let p = toondb_last_error();
        assert!(!p.is_null());
        // SAFETY: a live thread-local CString.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    #[test]
    fn kv_round_trip_ownership_and_errors() {
        let mut db: *mut ToondbDatabase = std::ptr::null_mut();
        // SAFETY: all pointers below are valid locals; returned buffers are freed once.
        unsafe {
            assert_eq!(toondb_open(std::ptr::null(), &mut db), TOONDB_OK);
            assert_eq!(
                toondb_put(db, b"k".as_ptr(), 1, b"v".as_ptr(), 1),
                TOONDB_OK
            );
            let (mut p, mut n) = (std::ptr::null_mut(), 0usize);
            assert_eq!(toondb_get(db, b"k".as_ptr(), 1, &mut p, &mut n), TOONDB_OK);
            assert_eq!(std::slice::from_raw_parts(p, n), b"v");
            toondb_free_bytes(p, n);
            // Empty values are present, not absent.
            assert_eq!(
                toondb_put(db, b"e".as_ptr(), 1, std::ptr::null(), 0),
                TOONDB_OK
            );
            assert_eq!(toondb_get(db, b"e".as_ptr(), 1, &mut p, &mut n), TOONDB_OK);
            assert!(!p.is_null() && n == 0);
            toondb_free_bytes(p, n);
            assert_eq!(toondb_get(db, b"zz".as_ptr(), 2, &mut p, &mut n), TOONDB_OK);
            assert!(p.is_null());
            // NULL with a length is refused, not dereferenced.
            assert_eq!(
                toondb_put(db, std::ptr::null(), 3, b"v".as_ptr(), 1),
                TOONDB_ERR_INVALID_ARGUMENT
            );
            assert!(last_error().contains("key is NULL"));
            let mut out: *mut c_char = std::ptr::null_mut();
            let sql = c"SELEC 1";
            assert_eq!(
                toondb_query(db, sql.as_ptr(), std::ptr::null(), &mut out),
                TOONDB_ERR_INVALID_ARGUMENT
            );
            assert!(out.is_null());
            let sql = c"SELECT ? + 1 AS x";
            let ps = c"[41]";
            assert_eq!(
                toondb_query(db, sql.as_ptr(), ps.as_ptr(), &mut out),
                TOONDB_OK
            );
            let s = CStr::from_ptr(out).to_str().unwrap().to_string();
            toondb_free_string(out);
            assert!(s.contains("\"rows\":[[42]]"), "{s}");
            assert_eq!(toondb_close(db), TOONDB_OK);
            assert_eq!(toondb_close(db), TOONDB_OK);
            assert_eq!(
                toondb_put(db, b"k".as_ptr(), 1, b"v".as_ptr(), 1),
                TOONDB_ERR_CLOSED
            );
            assert_eq!(last_error(), "database is closed");
            toondb_free_database(db);
            assert_eq!(
                toondb_put(std::ptr::null(), b"k".as_ptr(), 1, b"v".as_ptr(), 1),
                TOONDB_ERR_INVALID_ARGUMENT
            );
        }
    }

    #[test]
    fn statements_run_on_a_database_or_a_transaction_with_cursors_and_cancel() {
        let mut db: *mut ToondbDatabase = std::ptr::null_mut();
        let none = std::ptr::null_mut::<ToondbTxn>();
        let no_cancel = std::ptr::null::<ToondbCancel>();
        // SAFETY: every pointer is a valid local or a handle made here and freed once.
        unsafe {
            assert_eq!(toondb_open(std::ptr::null(), &mut db), TOONDB_OK);
            let (mut n, mut rowid, mut has) = (0u64, 0i64, 0i32);
            let create = c"CREATE TABLE t(x TEXT)";
            assert_eq!(
                toondb_stmt_execute(
                    db,
                    none,
                    create.as_ptr(),
                    std::ptr::null(),
                    no_cancel,
                    &mut n,
                    &mut rowid,
                    &mut has
                ),
                TOONDB_OK
            );
            assert_eq!(has, 0);
            let ins = c"INSERT INTO t VALUES (?), (?)";
            let ps = c"[\"a\", \"b\"]";
            assert_eq!(
                toondb_stmt_execute(
                    db,
                    none,
                    ins.as_ptr(),
                    ps.as_ptr(),
                    no_cancel,
                    &mut n,
                    &mut rowid,
                    &mut has
                ),
                TOONDB_OK
            );
            assert_eq!((n, rowid, has), (2, 2, 1));
            // Exactly one target.
            assert_eq!(
                toondb_stmt_execute(
                    std::ptr::null(),
                    none,
                    ins.as_ptr(),
                    ps.as_ptr(),
                    no_cancel,
                    &mut n,
                    &mut rowid,
                    &mut has
                ),
                TOONDB_ERR_INVALID_ARGUMENT
            );
            assert!(last_error().contains("both NULL"));
            let mut tx: *mut ToondbTxn = std::ptr::null_mut();
            assert_eq!(toondb_begin(db, &mut tx), TOONDB_OK);
            assert_eq!(
                toondb_stmt_execute(
                    db,
                    tx,
                    ins.as_ptr(),
                    ps.as_ptr(),
                    no_cancel,
                    &mut n,
                    &mut rowid,
                    &mut has
                ),
                TOONDB_ERR_INVALID_ARGUMENT
            );
            let del = c"DELETE FROM t WHERE x = 'a'";
            assert_eq!(
                toondb_stmt_execute(
                    std::ptr::null(),
                    tx,
                    del.as_ptr(),
                    std::ptr::null(),
                    no_cancel,
                    &mut n,
                    &mut rowid,
                    &mut has
                ),
                TOONDB_OK
            );
            assert_eq!((n, has), (1, 0));
            // A transaction's cursor sees its writes.
            let sel = c"SELECT x FROM t ORDER BY x";
            let mut cur: *mut ToondbCursor = std::ptr::null_mut();
            let mut cols: *mut c_char = std::ptr::null_mut();
            assert_eq!(
                toondb_stmt_query(
                    std::ptr::null(),
                    tx,
                    sel.as_ptr(),
                    std::ptr::null(),
                    no_cancel,
                    &mut cur,
                    &mut cols
                ),
                TOONDB_OK
            );
            assert_eq!(CStr::from_ptr(cols).to_str().unwrap(), "[\"x\"]");
            toondb_free_string(cols);
            let mut row: *mut c_char = std::ptr::null_mut();
            assert_eq!(toondb_cursor_next(cur, &mut row), TOONDB_OK);
            assert_eq!(CStr::from_ptr(row).to_str().unwrap(), "[\"b\"]");
            toondb_free_string(row);
            assert_eq!(toondb_cursor_next(cur, &mut row), TOONDB_OK);
            assert!(row.is_null());
            toondb_cursor_free(cur);
            toondb_txn_rollback(tx);
            // A streaming cursor over an endless query stops when its cancel handle fires.
            let mut cancel: *mut ToondbCancel = std::ptr::null_mut();
            assert_eq!(toondb_cancel_new(&mut cancel), TOONDB_OK);
            let endless =
                c"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";
            assert_eq!(
                toondb_stmt_query(
                    db,
                    none,
                    endless.as_ptr(),
                    std::ptr::null(),
                    cancel,
                    &mut cur,
                    std::ptr::null_mut()
                ),
                TOONDB_OK
            );
            for want in 1..=10 {
                assert_eq!(toondb_cursor_next(cur, &mut row), TOONDB_OK);
                assert_eq!(CStr::from_ptr(row).to_str().unwrap(), format!("[{want}]"));
                toondb_free_string(row);
            }
            toondb_cancel(cancel);
            let mut rc = TOONDB_OK;
            for _ in 0..100_000 {
                rc = toondb_cursor_next(cur, &mut row);
                if rc != TOONDB_OK {
                    break;
                }
                toondb_free_string(row);
            }
            assert_eq!(rc, TOONDB_ERR_INTERRUPTED, "{}", last_error());
            toondb_cursor_free(cur);
            // A cancelled handle stops statements started with it later, too.
            assert_eq!(
                toondb_stmt_execute(
                    db,
                    none,
                    ins.as_ptr(),
                    ps.as_ptr(),
                    cancel,
                    &mut n,
                    &mut rowid,
                    &mut has
                ),
                TOONDB_ERR_INTERRUPTED
            );
            toondb_cancel_free(cancel);
            assert_eq!(toondb_close(db), TOONDB_OK);
            toondb_free_database(db);
        }
    }

    #[test]
    fn panics_are_caught() {
        assert_eq!(guard(|| panic!("boom")), TOONDB_ERR_PANIC);
        assert_eq!(last_error(), "panic: boom");
    }
}
