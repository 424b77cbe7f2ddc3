package toondb_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	toondb "example.invalid/toondb/bindings/go"
)

// celsius is a driver.Valuer: database/sql must store what Value returns.
type celsius float64

func (c celsius) Value() (driver.Value, error) { return float64(c) * 10, nil }

type label string

func openSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("toondb", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestDriverPreparedStatementsAndTypes(t *testing.T) {
	db := openSQL(t, filepath.Join(t.TempDir(), "db"))
	if _, err := db.Exec("CREATE TABLE m(id INTEGER PRIMARY KEY, name TEXT, temp REAL, at TEXT, raw BLOB, n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	ins, err := db.Prepare("INSERT INTO m(name, temp, at, raw, n) VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	at := time.Date(2024, 2, 29, 13, 14, 15, 0, time.UTC)
	var last int64
	for i, name := range []any{"a", label("b"), nil} {
		res, err := ins.Exec(name, celsius(2.5), at, []byte{0, 1, 2}, int32(i))
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("rows affected %d", n)
		}
		if last, err = res.LastInsertId(); err != nil || last != int64(i+1) {
			t.Fatalf("last insert id %d %v", last, err)
		}
	}
	var (
		name  sql.NullString
		temp  float64
		stamp string
		raw   []byte
		n     int64
	)
	row := db.QueryRow("SELECT name, temp, at, raw, n FROM m WHERE id = ?", 2)
	if err := row.Scan(&name, &temp, &stamp, &raw, &n); err != nil {
		t.Fatal(err)
	}
	if name.String != "b" || temp != 25 || stamp != "2024-02-29 13:14:15+00:00" || string(raw) != "\x00\x01\x02" || n != 1 {
		t.Fatalf("got %v %v %q %v %v", name, temp, stamp, raw, n)
	}
	// The stored time text is what the SQL date functions read.
	var day string
	if err := db.QueryRow("SELECT date(at) FROM m WHERE id = 1").Scan(&day); err != nil || day != "2024-02-29" {
		t.Fatalf("date(at) = %q, %v", day, err)
	}
	if err := db.QueryRow("SELECT name FROM m WHERE id = 3").Scan(&name); err != nil || name.Valid {
		t.Fatalf("NULL name: %v %v", name, err)
	}
	res, err := db.Exec("UPDATE m SET n = n + 1")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 3 {
		t.Fatalf("update affected %d", n)
	}
	if _, err := res.LastInsertId(); err == nil {
		t.Fatal("an UPDATE has no last insert id")
	}
	if _, err := db.Exec("SELECT :x", sql.Named("x", 1)); err == nil || !strings.Contains(err.Error(), "positional") {
		t.Fatalf("named parameters must be refused clearly, got %v", err)
	}
	if _, err := db.Exec("INSERT INTO m(id) VALUES (1)"); !errors.Is(err, toondb.ErrConstraint) {
		t.Fatalf("duplicate key: %v", err)
	}
	if _, err := db.Query("SELEC 1"); !errors.Is(err, toondb.ErrInvalidArgument) {
		t.Fatalf("syntax error: %v", err)
	}
}

func TestDriverRowsStreamAndTransactions(t *testing.T) {
	db := openSQL(t, ":memory:")
	db.SetMaxOpenConns(4)
	if _, err := db.Exec("CREATE TABLE t(x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	// Every pooled connection sees the same in-memory database.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := db.Exec("INSERT INTO t VALUES (?)", g*1000+i); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	var count int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&count); err != nil || count != 200 {
		t.Fatalf("count %d %v", count, err)
	}
	rows, err := db.Query("SELECT x FROM t ORDER BY x")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	if len(cols) != 1 || cols[0] != "x" {
		t.Fatalf("columns %v", cols)
	}
	seen := 0
	for rows.Next() {
		var x int
		if err := rows.Scan(&x); err != nil {
			t.Fatal(err)
		}
		seen++
		if seen == 10 {
			break // closing early stops the query
		}
	}
	rows.Close()
	if seen != 10 {
		t.Fatalf("seen %d", seen)
	}

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("DELETE FROM t WHERE x < 1000"); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow("SELECT count(*) FROM t").Scan(&count); err != nil || count != 150 {
		t.Fatalf("inside tx: %d %v", count, err)
	}
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&count); err != nil || count != 200 {
		t.Fatalf("outside tx before commit: %d %v", count, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&count); err != nil || count != 200 {
		t.Fatalf("after rollback: %d %v", count, err)
	}
	tx, err = db.BeginTx(context.Background(), &sql.TxOptions{Isolation: sql.LevelSnapshot})
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.Prepare("INSERT INTO t VALUES (?)")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := stmt.Exec(-i); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT count(*) FROM t WHERE x <= 0").Scan(&count); err != nil || count != 6 {
		t.Fatalf("after commit: %d %v", count, err)
	}
	if _, err := db.BeginTx(context.Background(), &sql.TxOptions{Isolation: sql.LevelLinearizable}); !errors.Is(err, toondb.ErrUnsupported) {
		t.Fatalf("linearizable must be refused: %v", err)
	}
}

// A statement that would run for a long time stops when its context ends.
func TestDriverContextCancellationInterrupts(t *testing.T) {
	db := openSQL(t, ":memory:")
	endless := "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var n int64
	err := db.QueryRowContext(ctx, endless).Scan(&n)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v (n=%d)", err, n)
	}
	// A streaming query is stopped between rows too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	rows, err := db.QueryContext(ctx2, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for rows.Next() {
		got++
		if got == 100 {
			cancel2()
		}
	}
	if err := rows.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("want canceled, got %v after %d rows", err, got)
	}
	rows.Close()
	// Writes interrupted by cancellation leave nothing behind.
	if _, err := db.Exec("CREATE TABLE w(x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	ctx3, cancel3 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel3()
	_, err = db.ExecContext(ctx3, "INSERT INTO w "+strings.Replace(endless, "count(*)", "x", 1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("insert: want deadline exceeded, got %v", err)
	}
	var count int
	if err := db.QueryRow("SELECT count(*) FROM w").Scan(&count); err != nil || count != 0 {
		t.Fatalf("interrupted insert left %d rows (%v)", count, err)
	}
}

func TestDriverSharesOneHandlePerDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	a := openSQL(t, dir)
	b, err := sql.Open("toondb", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec("CREATE TABLE k(v TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec("INSERT INTO k VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	var v string
	if err := a.QueryRow("SELECT v FROM k").Scan(&v); err != nil || v != "x" {
		t.Fatalf("after closing the other *sql.DB: %q %v", v, err)
	}
	a.Close()
	// Everything was closed: the directory opens again, with the data.
	c := openSQL(t, dir)
	if err := c.QueryRow("SELECT v FROM k").Scan(&v); err != nil || v != "x" {
		t.Fatalf("reopen: %q %v", v, err)
	}
	if _, err := sql.Open("toondb", ""); !errors.Is(err, toondb.ErrInvalidArgument) {
		t.Fatalf("empty DSN must fail clearly: %v", err)
	}
}

func TestNativeCursor(t *testing.T) {
	db, err := toondb.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t(x INTEGER, s TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO t VALUES (1, 'a'), (2, NULL), (3, 'c')"); err != nil {
		t.Fatal(err)
	}
	cur, err := db.QueryCursor(context.Background(), "SELECT x, s FROM t WHERE x >= ? ORDER BY x", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	var got []any
	for cur.Next() {
		got = append(got, cur.Row()...)
	}
	if cur.Err() != nil || len(got) != 4 || got[0] != int64(2) || got[1] != nil || got[3] != "c" {
		t.Fatalf("rows %v err %v", got, cur.Err())
	}
	r, err := db.ExecContext(context.Background(), "INSERT INTO t VALUES (4, 'd')")
	if err != nil || !r.HasRowID || r.LastInsertID != 4 || r.RowsAffected != 1 {
		t.Fatalf("exec result %+v %v", r, err)
	}
	tx, _ := db.Begin()
	defer tx.Rollback()
	if _, err := tx.ExecContext(context.Background(), "DELETE FROM t"); err != nil {
		t.Fatal(err)
	}
	tc, err := tx.QueryCursor(context.Background(), "SELECT count(*) FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if !tc.Next() || tc.Row()[0] != int64(0) {
		t.Fatalf("tx cursor %v %v", tc.Row(), tc.Err())
	}
	tc.Close()
}
