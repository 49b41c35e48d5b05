// SPDX-License-Identifier: AGPL-3.0-or-later

// Package db opens Custodia's system of record — an embedded SQLite file or
// PostgreSQL — behind one SQL dialect, runs each capability's embedded
// migrations, and gives every service method one transaction with a pinned
// "now". Capability packages write portable SQL: $N placeholders, RETURNING,
// ON CONFLICT, times as RFC 3339 text in UTC with milliseconds, flags as
// integers.
package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the engine behind a DB; portable SQL needs it only in rare
// places (locking, bulk loads).
type Dialect string

// The two engines Custodia runs on.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// TimeFormat is how every time is stored: UTC, fixed width, so that text
// order is time order on both engines.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// DB is the system of record.
type DB struct {
	*sql.DB
	Dialect Dialect
	// now is the clock; tests pin it.
	now func() time.Time
	// writer queues SQLite's read-write transactions in Go. SQLite has one
	// writer; without the queue, waiting writers sleep in SQLite's busy
	// handler in steps of up to 100 ms while the lock sits free, which
	// gave multi-second worst cases under load.
	gw *groupWriter
	// stmts caches prepared statements by query text (SQLite; pgx caches
	// its own). Parsing SQL was a third of the CPU of a client-page read.
	stmts  sync.Map
	nstmts atomic.Int32
}

// maxCachedStmts bounds the statement cache; queries built with a varying
// number of parameters beyond it are prepared each time.
const maxCachedStmts = 1000

// writeWait bounds the wait for SQLite's writer slot, like busy_timeout.
const writeWait = 15 * time.Second

// sqliteParams are the verified-safe settings: immediate transactions avoid
// SQLITE_BUSY on read-then-write, FULL sync makes a commit durable before
// it returns. temp_store(MEMORY) keeps the sub-journal of the group
// commit's savepoints in memory: SQLite spills it to a temporary file past
// 64 KiB, and a registration (some 20 pages) went past it every time, a
// fifth of the writer's CPU in pwrite to a file that only matters while
// the transaction is open. A crash loses that transaction whole either
// way; the WAL and its fsync, which make a commit durable, are unchanged.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)&_txlock=immediate&_time_format=sqlite"

// Open connects to dsn: a postgres:// or postgresql:// URL, or a path to a
// SQLite file (optionally prefixed "sqlite:"), created if missing.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("db: open postgres: %w", err)
		}
		// A write is acknowledged only once it is on disk: a server or
		// role configured with synchronous_commit off would otherwise
		// confirm registrations it can still lose.
		cfg.RuntimeParams["synchronous_commit"] = "on"
		sdb := stdlib.OpenDB(*cfg)
		sdb.SetMaxOpenConns(32)
		sdb.SetMaxIdleConns(32)
		sdb.SetConnMaxIdleTime(5 * time.Minute)
		if err := sdb.PingContext(ctx); err != nil {
			sdb.Close()
			return nil, fmt.Errorf("db: connect postgres: %w", err)
		}
		return &DB{DB: sdb, Dialect: Postgres, now: time.Now}, nil
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == "" {
		return nil, errors.New("db: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("db: create data dir: %w", err)
		}
	}
	sdb, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+sqliteParams)
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	// One writer at a time is SQLite's nature; readers run in parallel
	// under WAL.
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	if err := sdb.PingContext(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	d := &DB{DB: sdb, Dialect: SQLite, now: time.Now}
	d.gw = &groupWriter{db: d, queue: make(chan *writeReq), stop: make(chan struct{})}
	return d, nil
}

// Querier runs statements: a *Tx, or a *DB outside any transaction.
type Querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// SetClock pins the clock (tests and demo generation).
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Now is the database layer's clock.
func (db *DB) Now() time.Time { return db.now().UTC() }

// Tx is one unit of work. Now is pinned when the transaction starts so that
// every row written in it carries the same time.
type Tx struct {
	*sql.Tx
	Dialect Dialect
	Now     time.Time
	db      *DB
	// afterCommit runs once the transaction is durable (e.g. wake the
	// outbox relay).
	afterCommit []func()
	// beforeCommit runs just before COMMIT, in order; an error rolls back.
	beforeCommit []func() error
	local        map[any]any
	stmts        map[string]*sql.Stmt
}

// AfterCommit registers f to run after a successful commit.
func (tx *Tx) AfterCommit(f func()) { tx.afterCommit = append(tx.afterCommit, f) }

// BeforeCommit registers f to run as the last work of the transaction,
// just before it commits. The audit log uses it to take the chain's head
// lock only for the moment of the commit.
func (tx *Tx) BeforeCommit(f func() error) { tx.beforeCommit = append(tx.beforeCommit, f) }

// Local returns a value a package stored on this transaction with
// SetLocal (e.g. audit entries waiting for the commit).
func (tx *Tx) Local(key any) any { return tx.local[key] }

// SetLocal stores a value on this transaction.
func (tx *Tx) SetLocal(key, v any) {
	if tx.local == nil {
		tx.local = map[any]any{}
	}
	tx.local[key] = v
}

// stmt returns a prepared statement for q bound to this transaction, or
// nil when q should be run unprepared.
func (tx *Tx) stmt(ctx context.Context, q string) *sql.Stmt {
	if tx.db == nil || tx.Dialect != SQLite {
		return nil
	}
	if st, ok := tx.stmts[q]; ok {
		return st
	}
	var parent *sql.Stmt
	if v, ok := tx.db.stmts.Load(q); ok {
		parent = v.(*sql.Stmt)
	} else {
		if tx.db.nstmts.Load() >= maxCachedStmts {
			return nil
		}
		// Preparing on the DB takes a pooled connection for a moment;
		// never wait for one while holding this transaction's.
		pctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		st, err := tx.db.DB.PrepareContext(pctx, q)
		cancel()
		if err != nil {
			return nil
		}
		if v, loaded := tx.db.stmts.LoadOrStore(q, st); loaded {
			st.Close()
			parent = v.(*sql.Stmt)
		} else {
			tx.db.nstmts.Add(1)
			parent = st
		}
	}
	st := tx.Tx.StmtContext(ctx, parent)
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[q] = st
	return st
}

// ExecContext runs q in the transaction, through the statement cache on
// SQLite.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := tx.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, q, args...)
}

// QueryContext runs q in the transaction, through the statement cache on
// SQLite.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, q, args...)
}

// QueryRowContext runs q in the transaction, through the statement cache
// on SQLite.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := tx.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, q, args...)
}

// NowText is Now in storage format.
func (tx *Tx) NowText() string { return FormatTime(tx.Now) }

// Transact runs f in a read-write transaction and commits it, retrying on
// serialization failures and deadlocks (PostgreSQL), busy errors, and a
// group commit that another transaction broke (SQLite). f must be safe to run more than once.
func (db *DB) Transact(ctx context.Context, f func(tx *Tx) error) error {
	if m, _ := ctx.Value(markKey{}).(*CommitMark); m != nil && !m.Done() {
		inner := f
		f = func(tx *Tx) error {
			if err := inner(tx); err != nil {
				return err
			}
			tx.BeforeCommit(func() error { return m.f(ctx, tx) })
			tx.AfterCommit(func() { m.done.Store(true) })
			return nil
		}
	}
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = db.transactOnce(ctx, f, false)
		if err == nil || !retryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 3 * time.Millisecond)
	}
	return err
}

// CommitMark is work a request gives the first write transaction that
// commits under it, done inside that transaction: an idempotency claim
// records there that the request's change is in, so a crash before the
// answer is stored cannot leave the claim looking as if nothing happened.
type CommitMark struct {
	f    func(ctx context.Context, tx *Tx) error
	done atomic.Bool
}

type markKey struct{}

// WithCommitMark returns a context whose first committing Transact also
// runs f in its transaction.
func WithCommitMark(ctx context.Context, f func(ctx context.Context, tx *Tx) error) (context.Context, *CommitMark) {
	m := &CommitMark{f: f}
	return context.WithValue(ctx, markKey{}, m), m
}

// Done reports whether a transaction carrying the mark has committed.
func (m *CommitMark) Done() bool { return m.done.Load() }

// ReadOnly runs f in a transaction that is never committed; on SQLite it
// does not take the write lock.
func (db *DB) ReadOnly(ctx context.Context, f func(tx *Tx) error) error {
	return db.transactOnce(ctx, f, true)
}

// Read runs f in a read-only transaction and returns its value: the shape
// of every service method that only reads.
func Read[T any](ctx context.Context, d *DB, f func(tx *Tx) (T, error)) (T, error) {
	var out T
	err := d.ReadOnly(ctx, func(tx *Tx) error {
		var err error
		out, err = f(tx)
		return err
	})
	return out, err
}

func (db *DB) transactOnce(ctx context.Context, f func(tx *Tx) error, readOnly bool) error {
	if !readOnly && db.gw != nil {
		return db.gw.write(ctx, f)
	}
	// On SQLite a read-only transaction is a plain deferred BEGIN, so
	// readers never take the write lock that _txlock=immediate asks for.
	stx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	tx := &Tx{Tx: stx, Dialect: db.Dialect, Now: db.Now().Truncate(time.Millisecond), db: db}
	defer stx.Rollback() //nolint:errcheck // a no-op after commit
	if err := f(tx); err != nil {
		return err
	}
	if readOnly {
		return nil
	}
	for _, g := range tx.beforeCommit {
		if err := g(); err != nil {
			return err
		}
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	for _, g := range tx.afterCommit {
		g()
	}
	return nil
}

func retryable(err error) bool {
	var shared *sharedTxError
	if errors.As(err, &shared) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// IsUniqueViolation reports whether err is a unique or primary key
// constraint failure on either engine.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// NewID returns a UUIDv7: unique across servers and sortable by creation.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// Only a failing system RNG gets here; fall back to v4.
		return uuid.New().String()
	}
	return id.String()
}

// RandomToken returns n random bytes, hex encoded, for session and API
// tokens.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("db: system randomness unavailable: " + err.Error())
	}
	return fmt.Sprintf("%x", b)
}

// FormatTime renders t in storage format.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// FormatDate renders the date part of t (dates without a time of day).
func FormatDate(t time.Time) string { return t.Format("2006-01-02") }

// ParseTime reads a stored time; the empty string is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(TimeFormat, s)
	if err != nil {
		// Accept full RFC 3339 too (imports, older rows).
		if t2, err2 := time.Parse(time.RFC3339Nano, s); err2 == nil {
			return t2.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("db: bad stored time %q: %w", s, err)
	}
	return t, nil
}

// MustTime is ParseTime for values this package wrote itself.
func MustTime(s string) time.Time {
	t, _ := ParseTime(s)
	return t
}

// NullString turns "" into SQL NULL.
func NullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// Bool stores a flag as an integer, portable to both engines.
func Bool(b bool) int {
	if b {
		return 1
	}
	return 0
}
