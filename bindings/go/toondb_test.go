package toondb

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func memDB(t *testing.T) *DB {
	t.Helper()
	db, err := OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestKVAndScan(t *testing.T) {
	db := memDB(t)
	must(t, db.Put([]byte("a"), []byte("1")))
	must(t, db.Put([]byte("p/2"), []byte("two")))
	must(t, db.Put([]byte("p/1"), []byte("one")))
	must(t, db.Put([]byte("empty"), nil))
	v, err := db.Get([]byte("a"))
	must(t, err)
	if string(v) != "1" {
		t.Fatalf("got %q", v)
	}
	v, err = db.Get([]byte("empty"))
	if err != nil || len(v) != 0 {
		t.Fatalf("empty value: %q %v", v, err)
	}
	if _, err := db.Get([]byte("missing")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	kvs, err := db.ScanPrefix([]byte("p/"))
	must(t, err)
	if len(kvs) != 2 || string(kvs[0].Key) != "p/1" || string(kvs[1].Value) != "two" {
		t.Fatalf("scan: %+v", kvs)
	}
	n := 0
	must(t, db.Scan(nil, func(k, v []byte) bool { n++; return n < 2 }))
	if n != 2 {
		t.Fatalf("early stop: %d", n)
	}
	must(t, db.Delete([]byte("a")))
	if _, err := db.Get([]byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatal("delete failed")
	}
}

func TestReopenPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := Open(dir)
	must(t, err)
	must(t, db.Put([]byte("k"), []byte("durable")))
	_, err = db.Exec("CREATE TABLE t(x INTEGER)")
	must(t, err)
	_, err = db.Exec("INSERT INTO t VALUES (?)", 5)
	must(t, err)
	if _, err := Open(dir); !errors.Is(err, ErrBusy) {
		t.Fatalf("second open: want ErrBusy, got %v", err)
	}
	must(t, db.Close())
	db, err = Open(dir)
	must(t, err)
	defer db.Close()
	v, err := db.Get([]byte("k"))
	must(t, err)
	if string(v) != "durable" {
		t.Fatalf("got %q", v)
	}
	rows, err := db.Query("SELECT x FROM t")
	must(t, err)
	if len(rows.Rows) != 1 || rows.Rows[0][0] != int64(5) {
		t.Fatalf("rows %+v", rows)
	}
}

func TestClosed(t *testing.T) {
	db, err := OpenInMemory()
	must(t, err)
	tx, err := db.Begin()
	must(t, err)
	must(t, db.Close())
	must(t, db.Close())
	if err := db.Put([]byte("a"), []byte("b")); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
	if _, err := db.Query("SELECT 1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed, got %v", err)
	}
	// Writes are buffered in the transaction; the commit is what must fail.
	_ = tx.Put([]byte("a"), []byte("b"))
	if err := tx.Commit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit after close: want ErrClosed, got %v", err)
	}
}

func TestTransactions(t *testing.T) {
	db := memDB(t)
	must(t, db.Put([]byte("k"), []byte("0")))
	tx, err := db.Begin()
	must(t, err)
	must(t, tx.Put([]byte("k"), []byte("tx")))
	v, err := tx.Get([]byte("k"))
	must(t, err)
	if string(v) != "tx" {
		t.Fatal("tx does not see own write")
	}
	v, _ = db.Get([]byte("k"))
	if string(v) != "0" {
		t.Fatal("uncommitted write visible")
	}
	other, err := db.Begin()
	must(t, err)
	must(t, other.Put([]byte("k"), []byte("other")))
	must(t, other.Commit())
	if err := tx.Commit(); !errors.Is(err, ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}
	if err := tx.Commit(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("double commit: %v", err)
	}
	tx.Rollback() // no-op

	rb, err := db.Begin()
	must(t, err)
	must(t, rb.Put([]byte("gone"), []byte("x")))
	_, err = rb.Exec("CREATE TABLE never(x)")
	must(t, err)
	rb.Rollback()
	if _, err := db.Get([]byte("gone")); !errors.Is(err, ErrNotFound) {
		t.Fatal("rollback leaked a write")
	}
	if _, err := db.Query("SELECT * FROM never"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rolled back table exists: %v", err)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	db := memDB(t)
	must(t, db.Put([]byte("counter"), []byte("0")))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				must2 := func(err error) bool {
					if err != nil {
						errs <- err
						return false
					}
					return true
				}
				if !must2(db.Put([]byte(fmt.Sprintf("g%d/%d", g, i)), []byte("v"))) {
					return
				}
				err := db.Update(func(tx *Tx) error {
					v, err := tx.Get([]byte("counter"))
					if err != nil {
						return err
					}
					var n int
					fmt.Sscan(string(v), &n)
					return tx.Put([]byte("counter"), []byte(fmt.Sprint(n+1)))
				})
				if !must2(err) {
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v, err := db.Get([]byte("counter"))
	must(t, err)
	if string(v) != "80" {
		t.Fatalf("counter = %s, want 80", v)
	}
	kvs, err := db.ScanPrefix([]byte("g"))
	must(t, err)
	if len(kvs) != 80 {
		t.Fatalf("%d keys", len(kvs))
	}
}

func TestSQL(t *testing.T) {
	db := memDB(t)
	_, err := db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB)")
	must(t, err)
	n, err := db.Exec("INSERT INTO t(i, r, s, b) VALUES (?, ?, ?, ?), (?, ?, ?, ?)",
		7, 2.5, "héllo", []byte{0, 255}, nil, 3.0, nil, nil)
	must(t, err)
	if n != 2 {
		t.Fatalf("affected %d", n)
	}
	rows, err := db.Query("SELECT i, r, s, b FROM t ORDER BY id")
	must(t, err)
	if strings.Join(rows.Columns, ",") != "i,r,s,b" {
		t.Fatal(rows.Columns)
	}
	r0 := rows.Rows[0]
	if r0[0] != int64(7) || r0[1] != 2.5 || r0[2] != "héllo" || !bytes.Equal(r0[3].([]byte), []byte{0, 255}) {
		t.Fatalf("row0 %#v", r0)
	}
	if rows.Rows[1][0] != nil || rows.Rows[1][1] != 3.0 {
		t.Fatalf("row1 %#v", rows.Rows[1])
	}
	if rows.Map(0)["s"] != "héllo" {
		t.Fatal("Map")
	}
	if _, err := db.Query("SELEC x"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("syntax: %v", err)
	}
	if _, err := db.Query("SELECT * FROM nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing table: %v", err)
	}
	if _, err := db.Exec("INSERT INTO t(id) VALUES (1)"); !errors.Is(err, ErrConstraint) {
		t.Fatalf("pk: %v", err)
	}
	if _, err := db.Exec("INSERT INTO t(i) VALUES (?)", struct{}{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad param type: %v", err)
	}
	var e *Error
	_, err = db.Query("SELEC x")
	if !errors.As(err, &e) || e.Code == 0 || e.Message == "" {
		t.Fatalf("errors.As: %#v", err)
	}
}

func TestCollections(t *testing.T) {
	db := memDB(t)
	c, err := db.CreateCollection("docs", 3, Cosine)
	must(t, err)
	docs := []Document{
		{ID: "a", Vector: []float32{1, 0, 0}, Text: "Rust storage engines", Metadata: map[string]any{"lang": "en", "year": 2021}},
		{ID: "b", Vector: []float32{0, 1, 0}, Text: "Vector search with HNSW", Metadata: map[string]any{"lang": "en", "year": 2024}},
		{ID: "c", Vector: []float32{0, 0, 1}, Text: "Datenbanken in Rust", Metadata: map[string]any{"lang": "de", "year": 2023}},
	}
	for _, d := range docs {
		must(t, c.Upsert(d))
	}
	if n, _ := c.Len(); n != 3 {
		t.Fatalf("len %d", n)
	}
	hits, err := c.Search([]float32{0.9, 0.1, 0}, 2)
	must(t, err)
	if len(hits) != 2 || hits[0].ID != "a" || hits[1].ID != "b" || hits[0].Distance == nil {
		t.Fatalf("hits %+v", hits)
	}
	hits, err = c.Search([]float32{1, 1, 1}, 10, WithFilter(map[string]any{"year": map[string]any{"$gte": 2023}}))
	must(t, err)
	if len(hits) != 2 {
		t.Fatalf("filtered %+v", hits)
	}
	for _, h := range hits {
		if h.Metadata["year"].(float64) < 2023 {
			t.Fatalf("filter leak %+v", h)
		}
	}
	kw, err := c.KeywordSearch("rust", 5)
	must(t, err)
	if len(kw) != 2 || kw[0].KeywordScore == nil {
		t.Fatalf("keyword %+v", kw)
	}
	hy, err := c.HybridSearch("rust", []float32{0, 0, 1}, 3, WithFilter(map[string]any{"lang": "de"}))
	must(t, err)
	if len(hy) != 1 || hy[0].ID != "c" {
		t.Fatalf("hybrid %+v", hy)
	}
	d, err := c.Get("b")
	must(t, err)
	if d.Text != "Vector search with HNSW" || len(d.Vector) != 3 {
		t.Fatalf("get %+v", d)
	}
	if _, err := c.Get("zz"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if ok, err := c.Delete("b"); !ok || err != nil {
		t.Fatal("delete", ok, err)
	}
	// Bad input.
	if err := c.Upsert(Document{ID: "x", Vector: []float32{1, 2}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("wrong dim: %v", err)
	}
	if _, err := c.Search([]float32{1, 2, 3, 4}, 1); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("wrong query dim: %v", err)
	}
	if _, err := c.Search([]float32{1, 0, 0}, 1, WithFilter(map[string]any{"x": map[string]any{"$bogus": 1}})); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad filter: %v", err)
	}
	if _, err := db.CreateCollection("docs", 3, Cosine); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("dup: %v", err)
	}
	if _, err := db.Collection("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := db.CreateCollection("m", 3, "manhattan"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("metric: %v", err)
	}
	names, err := db.ListCollections()
	must(t, err)
	if len(names) != 1 || names[0] != "docs" {
		t.Fatal(names)
	}
	// Concurrent searches from goroutines.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				h, err := c.Search([]float32{1, 0, 0}, 1)
				if err != nil || len(h) != 1 || h[0].ID != "a" {
					mu.Lock()
					bad = append(bad, fmt.Sprint(h, err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatal(bad)
	}
}

func TestContext(t *testing.T) {
	db := memDB(t)
	c, err := db.CreateCollection("docs", 3, Cosine)
	must(t, err)
	must(t, c.Upsert(Document{ID: "a", Vector: []float32{1, 0, 0}, Text: "Rust storage engines"}))
	must(t, c.Upsert(Document{ID: "b", Vector: []float32{0, 1, 0}, Text: "Vector search with HNSW"}))
	_, err = db.Exec("CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT, total REAL)")
	must(t, err)
	_, err = db.Exec("INSERT INTO orders(item, total) VALUES (?, ?), (?, ?)", "book", 12.5, "pen", 2)
	must(t, err)
	must(t, db.Put([]byte("user:name"), []byte("Ada")))
	r, err := db.Context(ContextSpec{Budget: 300, Sections: []Section{
		SystemSection("Answer using the documents."),
		HistorySection(Message{"user", "What is HNSW?"}),
		SearchSection("docs", "vector search", []float32{0, 1, 0}, 2),
		SQLSection("orders", "SELECT item, total FROM orders WHERE total > ? ORDER BY id", 1),
		KVPrefixSection("profile", "user:"),
	}})
	must(t, err)
	if r.TotalTokens > 300 || r.Budget != 300 {
		t.Fatalf("tokens %d", r.TotalTokens)
	}
	for _, want := range []string{"system: Answer using the documents.", "orders[2]{item,total}:", "Vector search with HNSW", "Ada"} {
		if !strings.Contains(r.Text, want) {
			t.Fatalf("missing %q in\n%s", want, r.Text)
		}
	}
	if len(r.Sections) != 5 {
		t.Fatalf("sections %+v", r.Sections)
	}
	q, err := db.ContextQuery("CONTEXT SELECT SYSTEM 'Be brief.', SEARCH docs 'rust' K 2 AS docs BUDGET 100")
	must(t, err)
	if q.TotalTokens > 100 || !strings.Contains(q.Text, "Rust storage engines") {
		t.Fatalf("context select: %+v", q)
	}
	rows, err := db.Query("CONTEXT SELECT SYSTEM 'Be brief.' BUDGET 50")
	must(t, err)
	if rows.Columns[0] != "context" {
		t.Fatal(rows.Columns)
	}
	if _, err := db.ContextQuery("CONTEXT SELECT BUDGET"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("syntax: %v", err)
	}
	if _, err := db.Context(ContextSpec{Sections: []Section{{Type: "bogus"}}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad section: %v", err)
	}
	if _, err := db.Context(ContextSpec{Sections: []Section{SearchSection("missing", "x", nil, 1)}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing collection: %v", err)
	}
}

func TestOpenReadOnlyBesideAWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := Open(dir)
	must(t, err)
	defer db.Close()
	must(t, db.Put([]byte("k"), []byte("v")))
	ro, err := OpenReadOnly(dir)
	must(t, err)
	defer ro.Close()
	v, err := ro.Get([]byte("k"))
	must(t, err)
	if string(v) != "v" {
		t.Fatalf("got %q", v)
	}
	if err := ro.Put([]byte("x"), []byte("y")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("write on a read-only handle: want ErrUnsupported, got %v", err)
	}
}

// Every engine error kind reaches Go as its own sentinel (conflict, constraint, closed, the
// new interrupted / resource-exhausted codes), never folded into ErrInternal.
func TestErrorKindsMapToSentinels(t *testing.T) {
	db := memDB(t)
	_, err := db.Exec("CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
	must(t, err)
	_, err = db.Exec("INSERT INTO u(name) VALUES (?)", "a")
	must(t, err)
	_, err = db.Exec("INSERT INTO u(name) VALUES (?)", "a")
	var te *Error
	if !errors.Is(err, ErrConstraint) || !errors.As(err, &te) || te.Code == 0 {
		t.Fatalf("want ErrConstraint from the C layer, got %#v", err)
	}

	t1, err := db.Begin()
	must(t, err)
	t2, err := db.Begin()
	must(t, err)
	_, err = t1.Exec("UPDATE u SET name = 'b' WHERE id = 1")
	must(t, err)
	_, err = t2.Exec("UPDATE u SET name = 'c' WHERE id = 1")
	must(t, err)
	must(t, t1.Commit())
	if err := t2.Commit(); !errors.Is(err, ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}

	// The C status codes of the newer kinds map onto their sentinels (ABI numbers are stable).
	for code, want := range map[int]error{1: ErrConflict, 5: ErrConstraint, 8: ErrClosed, 13: ErrInterrupted, 14: ErrResourceExhausted, 99: ErrInternal} {
		if got := sentinel(code); got != want {
			t.Errorf("sentinel(%d) = %v, want %v", code, got, want)
		}
	}

	must(t, db.Close())
	if _, err := db.Query("SELECT 1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("want ErrClosed after Close, got %v", err)
	}
}
