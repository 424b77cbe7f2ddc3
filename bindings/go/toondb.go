// Package toondb is the Go binding of ToonDB, an embedded AI-native database: key-value,
// SQL, vector/keyword/hybrid collections and token-budgeted TOON context queries.
//
// It links the C ABI of crates/toondb-ffi (header include/toondb.h). Build the library
// first and point cgo at it:
//
//	cargo build -p toondb-ffi            # or --release
//	export CGO_LDFLAGS="-L$CARGO_TARGET_DIR/debug"
//	export LD_LIBRARY_PATH="$CARGO_TARGET_DIR/debug"   # when linking the shared library
//	go test ./...
//
// A *DB is safe for concurrent use by multiple goroutines; a *Tx is serialised internally.
package toondb

/*
#cgo CFLAGS: -I${SRCDIR}/../../crates/toondb-ffi/include
#cgo LDFLAGS: -ltoondb_ffi -lm -ldl -lpthread
#include <stdlib.h>
#include "toondb.h"
*/
import "C"

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Sentinel errors; every error returned by this package wraps exactly one of them, so use
// errors.Is(err, toondb.ErrConflict).
var (
	ErrConflict        = errors.New("toondb: conflict")
	ErrNotFound        = errors.New("toondb: not found")
	ErrAlreadyExists   = errors.New("toondb: already exists")
	ErrInvalidArgument = errors.New("toondb: invalid argument")
	ErrConstraint      = errors.New("toondb: constraint violated")
	ErrUnsupported     = errors.New("toondb: unsupported")
	ErrCorruption      = errors.New("toondb: corruption")
	ErrClosed          = errors.New("toondb: database closed")
	ErrBusy            = errors.New("toondb: database busy (locked by another handle)")
	ErrIO              = errors.New("toondb: I/O error")
	ErrInternal        = errors.New("toondb: internal error")
	// ErrInterrupted: the statement was interrupted (interrupt handle, timeout, cancel).
	ErrInterrupted = errors.New("toondb: interrupted")
	// ErrResourceExhausted: the statement needed more memory (or another resource) than allowed.
	ErrResourceExhausted = errors.New("toondb: resource exhausted")
)

// Error is a failure: the C status code (0 when detected in Go), the message and the
// sentinel it wraps.
type Error struct {
	Code    int
	Message string
	kind    error
}

func (e *Error) Error() string { return e.kind.Error() + ": " + e.Message }

// Unwrap returns the sentinel (ErrConflict, ErrNotFound, ...).
func (e *Error) Unwrap() error { return e.kind }

func sentinel(code int) error {
	switch code {
	case int(C.TOONDB_ERR_CONFLICT):
		return ErrConflict
	case int(C.TOONDB_ERR_NOT_FOUND):
		return ErrNotFound
	case int(C.TOONDB_ERR_ALREADY_EXISTS):
		return ErrAlreadyExists
	case int(C.TOONDB_ERR_INVALID_ARGUMENT):
		return ErrInvalidArgument
	case int(C.TOONDB_ERR_CONSTRAINT):
		return ErrConstraint
	case int(C.TOONDB_ERR_UNSUPPORTED):
		return ErrUnsupported
	case int(C.TOONDB_ERR_CORRUPTION):
		return ErrCorruption
	case int(C.TOONDB_ERR_CLOSED):
		return ErrClosed
	case int(C.TOONDB_ERR_BUSY):
		return ErrBusy
	case int(C.TOONDB_ERR_IO):
		return ErrIO
	case int(C.TOONDB_ERR_INTERRUPTED):
		return ErrInterrupted
	case int(C.TOONDB_ERR_RESOURCE_EXHAUSTED):
		return ErrResourceExhausted
	default:
		return ErrInternal
	}
}

// newErr is an error detected on the Go side (Code 0).
func newErr(kind error, msg string) error {
	return &Error{Message: msg, kind: kind}
}

// call runs one C call on a locked OS thread so the thread-local last error belongs to it.
func call(f func() C.int32_t) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := int(f())
	if rc == int(C.TOONDB_OK) {
		return nil
	}
	msg := "unknown error"
	if p := C.toondb_last_error(); p != nil {
		msg = C.GoString(p)
	}
	return &Error{Code: rc, Message: msg, kind: sentinel(rc)}
}

func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

func floatsPtr(v []float32) *C.float {
	if len(v) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&v[0]))
}

func cstr(s string) *C.char { return C.CString(s) }

// optCstr is NULL for "".
func optCstr(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

func takeBytes(p *C.uint8_t, n C.size_t) []byte {
	b := C.GoBytes(unsafe.Pointer(p), C.int(n))
	C.toondb_free_bytes(p, n)
	return b
}

func takeString(p *C.char) string {
	s := C.GoString(p)
	C.toondb_free_string(p)
	return s
}

// DB is an open database.
type DB struct {
	mu sync.RWMutex
	h  *C.ToondbDatabase
}

// Open opens (creating if needed) the database in directory path; ":memory:" opens an
// in-memory database.
func Open(path string) (*DB, error) {
	p := cstr(path)
	defer free(p)
	var h *C.ToondbDatabase
	if err := call(func() C.int32_t { return C.toondb_open(p, &h) }); err != nil {
		return nil, err
	}
	return &DB{h: h}, nil
}

// OpenReadOnly opens the existing database in directory path read-only: the WAL is replayed
// in memory only and nothing in the directory is created, renamed or deleted. No lock is
// taken, so it works while another process has the database open read-write. Writes fail
// with ErrUnsupported.
func OpenReadOnly(path string) (*DB, error) {
	p := cstr(path)
	defer free(p)
	var h *C.ToondbDatabase
	if err := call(func() C.int32_t { return C.toondb_open_read_only(p, &h) }); err != nil {
		return nil, err
	}
	return &DB{h: h}, nil
}

// OpenInMemory opens a fresh in-memory database.
func OpenInMemory() (*DB, error) { return Open(":memory:") }

// Close syncs and closes the database and releases the handle. Later calls fail with
// ErrClosed. Closing twice is a no-op.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.h == nil {
		return nil
	}
	h := db.h
	err := call(func() C.int32_t { return C.toondb_close(h) })
	C.toondb_free_database(h)
	db.h = nil
	return err
}

// with runs f with the live handle (read-locked) or returns ErrClosed.
func (db *DB) with(f func(h *C.ToondbDatabase) C.int32_t) error {
	return run(db, func(h *C.ToondbDatabase, _ *C.ToondbTxn) C.int32_t { return f(h) })
}

// locked calls f with the live handle (and a nil transaction) under the read lock, or
// returns ErrClosed.
func (db *DB) locked(f func(h *C.ToondbDatabase, t *C.ToondbTxn) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.h == nil {
		return newErr(ErrClosed, "database is closed")
	}
	return f(db.h, nil)
}

// target is where an operation runs: a DB (each call auto-committed) or a Tx (calls commit
// with it). Every operation both offer is written once over a target; the DB and Tx methods
// only delegate. locked hands f exactly one non-nil handle.
type target interface {
	locked(f func(h *C.ToondbDatabase, t *C.ToondbTxn) error) error
}

// run is call on the target's handle.
func run(tg target, f func(h *C.ToondbDatabase, t *C.ToondbTxn) C.int32_t) error {
	return tg.locked(func(h *C.ToondbDatabase, t *C.ToondbTxn) error {
		return call(func() C.int32_t { return f(h, t) })
	})
}

func put(tg target, key, value []byte) error {
	return run(tg, func(h *C.ToondbDatabase, t *C.ToondbTxn) C.int32_t {
		k, kn, v, vn := bytesPtr(key), C.size_t(len(key)), bytesPtr(value), C.size_t(len(value))
		if t != nil {
			return C.toondb_txn_put(t, k, kn, v, vn)
		}
		return C.toondb_put(h, k, kn, v, vn)
	})
}

func get(tg target, key []byte) ([]byte, error) {
	var p *C.uint8_t
	var n C.size_t
	err := run(tg, func(h *C.ToondbDatabase, t *C.ToondbTxn) C.int32_t {
		if t != nil {
			return C.toondb_txn_get(t, bytesPtr(key), C.size_t(len(key)), &p, &n)
		}
		return C.toondb_get(h, bytesPtr(key), C.size_t(len(key)), &p, &n)
	})
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, newErr(ErrNotFound, fmt.Sprintf("key %q", key))
	}
	return takeBytes(p, n), nil
}

func del(tg target, key []byte) error {
	return run(tg, func(h *C.ToondbDatabase, t *C.ToondbTxn) C.int32_t {
		if t != nil {
			return C.toondb_txn_delete(t, bytesPtr(key), C.size_t(len(key)))
		}
		return C.toondb_delete(h, bytesPtr(key), C.size_t(len(key)))
	})
}

func exec(tg target, sql string, args []any) (int64, error) {
	ps, err := paramsJSON(args)
	if err != nil {
		return 0, err
	}
	defer free(ps)
	s := cstr(sql)
	defer free(s)
	var n C.uint64_t
	err = run(tg, func(h *C.ToondbDatabase, t *C.ToondbTxn) C.int32_t {
		if t != nil {
			return C.toondb_txn_execute(t, s, ps, &n)
		}
		return C.toondb_execute(h, s, ps, &n)
	})
	return int64(n), err
}

func query(tg target, sql string, args []any) (*Rows, error) {
	ps, err := paramsJSON(args)
	if err != nil {
		return nil, err
	}
	defer free(ps)
	s := cstr(sql)
	defer free(s)
	var out *C.char
	if err := run(tg, func(h *C.ToondbDatabase, t *C.ToondbTxn) C.int32_t {
		if t != nil {
			return C.toondb_txn_query(t, s, ps, &out)
		}
		return C.toondb_query(h, s, ps, &out)
	}); err != nil {
		return nil, err
	}
	return decodeRows(takeString(out))
}

// Put sets key to value.
func (db *DB) Put(key, value []byte) error { return put(db, key, value) }

// Get returns the value of key, or an error wrapping ErrNotFound if it is absent.
func (db *DB) Get(key []byte) ([]byte, error) { return get(db, key) }

// Delete removes key (no error if absent).
func (db *DB) Delete(key []byte) error { return del(db, key) }

// KV is one key-value pair.
type KV struct {
	Key, Value []byte
}

// ScanPrefix returns the pairs whose key starts with prefix, in key order.
func (db *DB) ScanPrefix(prefix []byte) ([]KV, error) {
	var out []KV
	err := db.Scan(prefix, func(k, v []byte) bool {
		out = append(out, KV{k, v})
		return true
	})
	return out, err
}

// Scan calls fn for each pair under prefix in key order until fn returns false.
func (db *DB) Scan(prefix []byte, fn func(key, value []byte) bool) error {
	var it *C.ToondbIter
	if err := db.with(func(h *C.ToondbDatabase) C.int32_t {
		return C.toondb_scan_prefix(h, bytesPtr(prefix), C.size_t(len(prefix)), &it)
	}); err != nil {
		return err
	}
	defer C.toondb_iter_free(it)
	for {
		var kp, vp *C.uint8_t
		var kn, vn C.size_t
		if err := call(func() C.int32_t { return C.toondb_iter_next(it, &kp, &kn, &vp, &vn) }); err != nil {
			return err
		}
		if kp == nil {
			return nil
		}
		if !fn(takeBytes(kp, kn), takeBytes(vp, vn)) {
			return nil
		}
	}
}

// ------------------------------------------------------------------ SQL

// Rows is a query result.
type Rows struct {
	Columns      []string
	Rows         [][]any // nil, int64, float64, string or []byte
	RowsAffected int64
}

// Map returns row i as a column -> value map.
func (r *Rows) Map(i int) map[string]any {
	m := make(map[string]any, len(r.Columns))
	for j, c := range r.Columns {
		m[c] = r.Rows[i][j]
	}
	return m
}

func encodeArg(a any) (any, error) {
	switch v := a.(type) {
	case nil, bool, string, int, int8, int16, int32, int64, uint8, uint16, uint32, float32, float64:
		return v, nil
	case uint:
		return v, nil
	case uint64:
		if v > 1<<63-1 {
			return nil, newErr(ErrInvalidArgument, "uint64 parameter out of range")
		}
		return v, nil
	case []byte:
		return map[string]string{"$blob": hex.EncodeToString(v)}, nil
	default:
		return nil, newErr(ErrInvalidArgument, fmt.Sprintf("unsupported SQL parameter type %T", a))
	}
}

func encodeArgs(args []any) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		v, err := encodeArg(a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func paramsJSON(args []any) (*C.char, error) {
	if len(args) == 0 {
		return nil, nil
	}
	enc, err := encodeArgs(args)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(enc)
	if err != nil {
		return nil, newErr(ErrInvalidArgument, err.Error())
	}
	return C.CString(string(b)), nil
}

func decodeValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		if h, ok := x["$blob"].(string); ok {
			b, _ := hex.DecodeString(h)
			return b
		}
		return x
	default:
		return x
	}
}

func decodeRows(s string) (*Rows, error) {
	var raw struct {
		Columns      []string `json:"columns"`
		Rows         [][]any  `json:"rows"`
		RowsAffected int64    `json:"rows_affected"`
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return nil, newErr(ErrInternal, "decoding rows: "+err.Error())
	}
	for _, r := range raw.Rows {
		for j := range r {
			r[j] = decodeValue(r[j])
		}
	}
	return &Rows{Columns: raw.Columns, Rows: raw.Rows, RowsAffected: raw.RowsAffected}, nil
}

// Exec runs SQL (autocommit) with positional ? parameters and returns the rows affected.
func (db *DB) Exec(sql string, args ...any) (int64, error) { return exec(db, sql, args) }

// Query runs a query with positional ? parameters. CONTEXT SELECT statements return one
// row (context, tokens, budget).
func (db *DB) Query(sql string, args ...any) (*Rows, error) { return query(db, sql, args) }

// ------------------------------------------------------------------ transactions

// Tx is a transaction: reads see a snapshot plus its own writes; nothing is visible to
// others before Commit. Commit or Rollback exactly once (Rollback after Commit is a no-op).
type Tx struct {
	mu sync.Mutex
	h  *C.ToondbTxn
}

// Begin starts a transaction.
func (db *DB) Begin() (*Tx, error) {
	var t *C.ToondbTxn
	if err := db.with(func(h *C.ToondbDatabase) C.int32_t { return C.toondb_begin(h, &t) }); err != nil {
		return nil, err
	}
	return &Tx{h: t}, nil
}

// locked calls f with the live transaction (and a nil database) under the lock, or fails
// once the transaction has finished.
func (tx *Tx) locked(f func(h *C.ToondbDatabase, t *C.ToondbTxn) error) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.h == nil {
		return newErr(ErrInvalidArgument, "transaction already finished")
	}
	return f(nil, tx.h)
}

// Put sets key inside the transaction.
func (tx *Tx) Put(key, value []byte) error { return put(tx, key, value) }

// Get reads key as the transaction sees it (ErrNotFound if absent).
func (tx *Tx) Get(key []byte) ([]byte, error) { return get(tx, key) }

// Delete removes key inside the transaction.
func (tx *Tx) Delete(key []byte) error { return del(tx, key) }

// Exec runs SQL inside the transaction.
func (tx *Tx) Exec(sql string, args ...any) (int64, error) { return exec(tx, sql, args) }

// Query runs a query inside the transaction (it sees the transaction's own writes).
func (tx *Tx) Query(sql string, args ...any) (*Rows, error) { return query(tx, sql, args) }

// Commit commits atomically; an error wrapping ErrConflict means a concurrent transaction
// won and nothing was written.
func (tx *Tx) Commit() error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.h == nil {
		return newErr(ErrInvalidArgument, "transaction already finished")
	}
	t := tx.h
	tx.h = nil
	return call(func() C.int32_t { return C.toondb_txn_commit(t) })
}

// Rollback discards the transaction's writes. It is a no-op after Commit or Rollback.
func (tx *Tx) Rollback() {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.h != nil {
		C.toondb_txn_rollback(tx.h)
		tx.h = nil
	}
}

// Update runs fn in a transaction and commits it, retrying from scratch (with exponential
// back-off) up to 10 times when it conflicts with a concurrent transaction. An error from fn
// rolls back and is returned.
func (db *DB) Update(fn func(tx *Tx) error) error {
	delay := time.Millisecond
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		var tx *Tx
		tx, err = db.Begin()
		if err != nil {
			return err
		}
		if err = fn(tx); err != nil {
			tx.Rollback()
		} else {
			err = tx.Commit()
		}
		if err == nil || !errors.Is(err, ErrConflict) {
			return err
		}
		time.Sleep(delay)
		if delay < 64*time.Millisecond {
			delay *= 2
		}
	}
	return err
}
