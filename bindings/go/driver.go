package toondb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"
)

// The database/sql driver: import this package and call sql.Open("toondb", path), where path
// is a database directory (created if missing) or ":memory:". All connections of one
// *sql.DB share one engine handle (a directory can be open once per process; ":memory:" is
// one database per *sql.DB, not per connection). Statements take positional ? parameters;
// context cancellation interrupts the running statement; transactions are ToonDB's
// snapshot-isolated transactions.
func init() {
	sql.Register("toondb", &Driver{})
}

// TimeFormat is how time.Time parameters are stored: SQLite's text date format, which the
// SQL date and time functions read.
const TimeFormat = "2006-01-02 15:04:05.999999999-07:00"

// Driver is the database/sql driver registered as "toondb".
type Driver struct{}

// Open opens a connection with its own connector (database/sql uses OpenConnector).
func (d *Driver) Open(name string) (driver.Conn, error) {
	c, err := d.OpenConnector(name)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector returns a connector whose connections share one database handle.
func (d *Driver) OpenConnector(name string) (driver.Connector, error) {
	if name == "" {
		return nil, newErr(ErrInvalidArgument, "empty data source name: give a directory or :memory:")
	}
	return &connector{name: name, drv: d}, nil
}

// Handles of directories opened through the driver, shared by connectors of the same path.
var (
	sharedMu sync.Mutex
	shared   = map[string]*sharedDB{}
)

type sharedDB struct {
	db   *DB
	refs int
}

type connector struct {
	drv  *Driver
	name string
	mu   sync.Mutex
	db   *DB
	key  string
}

func (c *connector) Driver() driver.Driver { return c.drv }

func (c *connector) handle() (*DB, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db != nil {
		return c.db, nil
	}
	if c.name == ":memory:" {
		db, err := OpenInMemory()
		if err != nil {
			return nil, err
		}
		c.db = db
		return db, nil
	}
	key, err := filepath.Abs(c.name)
	if err != nil {
		return nil, newErr(ErrInvalidArgument, err.Error())
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	s := shared[key]
	if s == nil {
		db, err := Open(key)
		if err != nil {
			return nil, err
		}
		s = &sharedDB{db: db}
		shared[key] = s
	}
	s.refs++
	c.db, c.key = s.db, key
	return s.db, nil
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	db, err := c.handle()
	if err != nil {
		return nil, err
	}
	return &conn{db: db}, nil
}

// Close releases the database handle (called by (*sql.DB).Close).
func (c *connector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db == nil {
		return nil
	}
	db := c.db
	c.db = nil
	if c.key == "" {
		return db.Close()
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	s := shared[c.key]
	s.refs--
	if s.refs > 0 {
		return nil
	}
	delete(shared, c.key)
	return db.Close()
}

var _ io.Closer = (*connector)(nil)

type conn struct {
	db     *DB
	tx     *Tx
	closed bool
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext checks the statement's syntax and returns it; it is planned when run.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.closed {
		return nil, driver.ErrBadConn
	}
	return &stmt{c: c, query: query}, nil
}

func (c *conn) Close() error {
	c.closed = true
	if c.tx != nil {
		c.tx.Rollback()
		c.tx = nil
	}
	return nil
}

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a snapshot-isolated transaction. Isolation levels stronger than snapshot
// isolation (serializable, linearizable) are refused rather than silently weakened.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.closed {
		return nil, driver.ErrBadConn
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault, sql.LevelReadUncommitted, sql.LevelReadCommitted,
		sql.LevelRepeatableRead, sql.LevelSnapshot:
	default:
		return nil, newErr(ErrUnsupported, fmt.Sprintf("isolation level %v is not supported (transactions are snapshot-isolated)", sql.IsolationLevel(opts.Isolation)))
	}
	if c.tx != nil {
		return nil, newErr(ErrInvalidArgument, "a transaction is already open on this connection")
	}
	tx, err := c.db.Begin()
	if err != nil {
		return nil, err
	}
	c.tx = tx
	return &txn{c: c, tx: tx}, nil
}

// CheckNamedValue accepts what the engine stores; driver.Valuer values are resolved first.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if nv.Name != "" {
		return newErr(ErrUnsupported, fmt.Sprintf("named parameter %q: use positional ? parameters", nv.Name))
	}
	v := nv.Value
	if vr, ok := v.(driver.Valuer); ok {
		var err error
		if v, err = vr.Value(); err != nil {
			return err
		}
	}
	switch x := v.(type) {
	case nil, int64, float64, string, []byte, bool:
		nv.Value = x
		return nil
	case time.Time:
		nv.Value = x.Format(TimeFormat)
		return nil
	}
	// Integers of other sizes, named string types and the like.
	conv, err := driver.DefaultParameterConverter.ConvertValue(v)
	if err != nil {
		return newErr(ErrInvalidArgument, err.Error())
	}
	if t, ok := conv.(time.Time); ok {
		conv = t.Format(TimeFormat)
	}
	nv.Value = conv
	return nil
}

func args(nv []driver.NamedValue) []any {
	out := make([]any, len(nv))
	for i, v := range nv {
		out[i] = v.Value
	}
	return out
}

func (c *conn) ExecContext(ctx context.Context, query string, nv []driver.NamedValue) (driver.Result, error) {
	if c.closed {
		return nil, driver.ErrBadConn
	}
	var r ExecResult
	var err error
	if c.tx != nil {
		r, err = c.tx.ExecContext(ctx, query, args(nv)...)
	} else {
		r, err = c.db.ExecContext(ctx, query, args(nv)...)
	}
	if err != nil {
		return nil, err
	}
	return result{r}, nil
}

func (c *conn) QueryContext(ctx context.Context, query string, nv []driver.NamedValue) (driver.Rows, error) {
	if c.closed {
		return nil, driver.ErrBadConn
	}
	var cur *Cursor
	var err error
	if c.tx != nil {
		cur, err = c.tx.QueryCursor(ctx, query, args(nv)...)
	} else {
		cur, err = c.db.QueryCursor(ctx, query, args(nv)...)
	}
	if err != nil {
		return nil, err
	}
	return &rows{cur: cur}, nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if c.closed {
		return driver.ErrBadConn
	}
	return nil
}

func (c *conn) IsValid() bool { return !c.closed }

type stmt struct {
	c     *conn
	query string
}

var (
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return -1 }

func (s *stmt) Exec(a []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(a))
}

func (s *stmt) Query(a []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(a))
}

func (s *stmt) ExecContext(ctx context.Context, nv []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.query, nv)
}

func (s *stmt) QueryContext(ctx context.Context, nv []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.query, nv)
}

func named(a []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(a))
	for i, v := range a {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// txn is a database/sql transaction. TxOptions.ReadOnly is accepted; such a transaction
// commits like any other (with no writes that publishes nothing).
type txn struct {
	c  *conn
	tx *Tx
}

func (t *txn) Commit() error {
	t.c.tx = nil
	return t.tx.Commit()
}

func (t *txn) Rollback() error {
	t.c.tx = nil
	t.tx.Rollback()
	return nil
}

type result struct{ r ExecResult }

// LastInsertId is the rowid of the last row the statement inserted; an error when it
// inserted none.
func (r result) LastInsertId() (int64, error) {
	if !r.r.HasRowID {
		return 0, newErr(ErrNotFound, "the statement inserted no row")
	}
	return r.r.LastInsertID, nil
}

func (r result) RowsAffected() (int64, error) { return r.r.RowsAffected, nil }

type rows struct {
	cur *Cursor
}

func (r *rows) Columns() []string { return r.cur.Columns() }
func (r *rows) Close() error      { return r.cur.Close() }

func (r *rows) Next(dest []driver.Value) error {
	if !r.cur.Next() {
		if err := r.cur.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	row := r.cur.Row()
	if len(row) != len(dest) {
		return newErr(ErrInternal, fmt.Sprintf("row has %d values for %d columns", len(row), len(dest)))
	}
	for i, v := range row {
		dest[i] = v
	}
	return nil
}
