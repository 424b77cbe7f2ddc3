package toondb

/*
#include <stdlib.h>
#include "toondb.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
)

// canceller ties a context to a C cancel handle: when ctx ends, the statements started with
// the handle stop (they fail with ErrInterrupted). stop must be called once the handle is no
// longer used; it waits for the watcher so the handle is never cancelled after being freed.
type canceller struct {
	h    *C.ToondbCancel
	done chan struct{}
	wg   sync.WaitGroup
}

func newCanceller(ctx context.Context) (*canceller, error) {
	c := &canceller{done: make(chan struct{})}
	if ctx == nil || ctx.Done() == nil {
		return c, nil // never cancelled: no handle, no goroutine
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := call(func() C.int32_t { return C.toondb_cancel_new(&c.h) }); err != nil {
		return nil, err
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-ctx.Done():
			C.toondb_cancel(c.h)
		case <-c.done:
		}
	}()
	return c, nil
}

func (c *canceller) stop() {
	if c == nil || c.done == nil {
		return
	}
	close(c.done)
	c.wg.Wait()
	if c.h != nil {
		C.toondb_cancel_free(c.h)
		c.h = nil
	}
	c.done = nil
}

// ctxErr prefers the context's error when the statement was interrupted because ctx ended.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx != nil && ctx.Err() != nil {
		if e, ok := err.(*Error); ok && e.kind == ErrInterrupted {
			return ctx.Err()
		}
	}
	return err
}

// ExecResult is what a statement did: rows affected and the rowid of the last row it
// inserted (HasRowID false when it inserted none).
type ExecResult struct {
	RowsAffected int64
	LastInsertID int64
	HasRowID     bool
}

// stmtExec runs sql on db (tx nil) or in the transaction tx, stopping when ctx ends.
func stmtExec(ctx context.Context, db *C.ToondbDatabase, tx *C.ToondbTxn, sql string, args []any) (ExecResult, error) {
	ps, err := paramsJSON(args)
	if err != nil {
		return ExecResult{}, err
	}
	defer free(ps)
	s := cstr(sql)
	defer free(s)
	cc, err := newCanceller(ctx)
	if err != nil {
		return ExecResult{}, err
	}
	defer cc.stop()
	var n C.uint64_t
	var rowid C.int64_t
	var has C.int32_t
	err = call(func() C.int32_t {
		return C.toondb_stmt_execute(db, tx, s, ps, cc.h, &n, &rowid, &has)
	})
	if err != nil {
		return ExecResult{}, ctxErr(ctx, err)
	}
	return ExecResult{RowsAffected: int64(n), LastInsertID: int64(rowid), HasRowID: has != 0}, nil
}

// Cursor is the rows of a query read one at a time. Outside a transaction the rows stream
// from the engine while you read them (memory does not grow with the result); inside one
// the result is computed when the query starts. Always Close it (closing stops a query
// still running). A Cursor is not safe for concurrent use.
type Cursor struct {
	h       *C.ToondbCursor
	ctx     context.Context
	cc      *canceller
	columns []string
	row     []any
	err     error
}

// stmtQuery starts a query. The cursor does not use db or tx after this call (a streaming
// query holds its own reference to the database; a transaction's result is computed here).
func stmtQuery(ctx context.Context, db *C.ToondbDatabase, tx *C.ToondbTxn, sql string, args []any) (*Cursor, error) {
	fail := func(err error) (*Cursor, error) { return nil, err }
	ps, err := paramsJSON(args)
	if err != nil {
		return fail(err)
	}
	defer free(ps)
	s := cstr(sql)
	defer free(s)
	cc, err := newCanceller(ctx)
	if err != nil {
		return fail(err)
	}
	var h *C.ToondbCursor
	var cols *C.char
	if err := call(func() C.int32_t { return C.toondb_stmt_query(db, tx, s, ps, cc.h, &h, &cols) }); err != nil {
		cc.stop()
		return fail(ctxErr(ctx, err))
	}
	c := &Cursor{h: h, ctx: ctx, cc: cc}
	if err := json.Unmarshal([]byte(takeString(cols)), &c.columns); err != nil {
		c.Close()
		return nil, newErr(ErrInternal, "decoding columns: "+err.Error())
	}
	return c, nil
}

// QueryCursor runs a query and returns its rows lazily; ctx ending stops it (Next then
// returns false and Err the context's error). Closing the database ends open cursors with
// ErrClosed.
func (db *DB) QueryCursor(ctx context.Context, sql string, args ...any) (*Cursor, error) {
	return queryCursor(ctx, db, sql, args)
}

// QueryCursor runs a query in the transaction and returns a cursor over its rows (computed
// when the query starts: a transaction's reads are not streamed).
func (tx *Tx) QueryCursor(ctx context.Context, sql string, args ...any) (*Cursor, error) {
	return queryCursor(ctx, tx, sql, args)
}

// ExecContext runs SQL (autocommit) and reports rows affected and the last inserted rowid;
// ctx ending interrupts the statement (nothing it wrote is applied).
func (db *DB) ExecContext(ctx context.Context, sql string, args ...any) (ExecResult, error) {
	return execContext(ctx, db, sql, args)
}

// ExecContext runs SQL in the transaction; ctx ending interrupts the statement (its writes
// are undone; the transaction stays usable).
func (tx *Tx) ExecContext(ctx context.Context, sql string, args ...any) (ExecResult, error) {
	return execContext(ctx, tx, sql, args)
}

func queryCursor(ctx context.Context, tg target, sql string, args []any) (*Cursor, error) {
	var c *Cursor
	err := tg.locked(func(h *C.ToondbDatabase, t *C.ToondbTxn) error {
		var err error
		c, err = stmtQuery(ctx, h, t, sql, args)
		return err
	})
	return c, err
}

func execContext(ctx context.Context, tg target, sql string, args []any) (ExecResult, error) {
	var r ExecResult
	err := tg.locked(func(h *C.ToondbDatabase, t *C.ToondbTxn) error {
		var err error
		r, err = stmtExec(ctx, h, t, sql, args)
		return err
	})
	return r, err
}

// Columns are the result's column names.
func (c *Cursor) Columns() []string { return c.columns }

// Next advances to the next row; false at the end or on error (see Err).
func (c *Cursor) Next() bool {
	if c.h == nil || c.err != nil {
		return false
	}
	var out *C.char
	if err := call(func() C.int32_t { return C.toondb_cursor_next(c.h, &out) }); err != nil {
		c.err = ctxErr(c.ctx, err)
		return false
	}
	if out == nil {
		c.row = nil
		return false
	}
	row, err := decodeRow(takeString(out))
	if err != nil {
		c.err = err
		return false
	}
	c.row = row
	return true
}

// Row is the current row: nil, int64, float64, string or []byte per column.
func (c *Cursor) Row() []any { return c.row }

// Err is the error that ended the rows, if any.
func (c *Cursor) Err() error { return c.err }

// Close releases the cursor (stopping its query). Safe to call more than once.
func (c *Cursor) Close() error {
	if c.h != nil {
		C.toondb_cursor_free(c.h)
		c.h = nil
		c.cc.stop()
	}
	return nil
}

func decodeRow(s string) ([]any, error) {
	var row []any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&row); err != nil {
		return nil, newErr(ErrInternal, "decoding row: "+err.Error())
	}
	for j := range row {
		row[j] = decodeValue(row[j])
	}
	return row, nil
}
