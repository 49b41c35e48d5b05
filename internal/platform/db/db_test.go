// SPDX-License-Identifier: AGPL-3.0-or-later

package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	_ "github.com/custodia/custodia/internal/platform/audit"  // registers its schema
	_ "github.com/custodia/custodia/internal/platform/events" // registers its schema

	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

var ctx = context.Background()

// kv creates a small table for transaction tests.
func kv(t *testing.T, d *db.DB) {
	t.Helper()
	dbtest.Exec(t, d,
		`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL, u TEXT UNIQUE)`,
		`INSERT INTO kv (k, v) VALUES ('counter', 0)`)
}

func get(t *testing.T, d *db.DB, k string) (int, bool) {
	t.Helper()
	var v int
	err := d.QueryRow(`SELECT v FROM kv WHERE k = $1`, k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		want := db.SQLite
		if strings.HasPrefix(t.Name(), "TestOpen/postgres") {
			want = db.Postgres
		}
		if d.Dialect != want {
			t.Fatalf("dialect %q, want %q", d.Dialect, want)
		}
		var one int
		if err := d.QueryRow(`SELECT $1 + 0`, 1).Scan(&one); err != nil || one != 1 {
			t.Fatalf("select $1: %d, %v", one, err)
		}
		if d.Dialect != db.SQLite {
			return
		}
		// The verified-safe settings hold on every pooled connection.
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				conn, err := d.Conn(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"} {
					var got string
					if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
						t.Error(err)
					} else if got != want {
						t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
					}
				}
			})
		}
		wg.Wait()
	})
}

func TestOpenSQLitePaths(t *testing.T) {
	t.Parallel()
	if _, err := db.Open(ctx, ""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if _, err := db.Open(ctx, "sqlite:"); err == nil {
		t.Error(`Open("sqlite:") succeeded`)
	}
	// The "sqlite:" prefix, a missing directory and a space in the path.
	path := filepath.Join(t.TempDir(), "new dir", "sub", "c.db")
	d, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Dialect != db.SQLite {
		t.Fatalf("dialect %q", d.Dialect)
	}
	var file string
	if err := d.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		t.Fatal(err)
	}
	if file != path {
		t.Fatalf("database file %q, want %q", file, path)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		count := func() (versions, heads int) {
			t.Helper()
			if err := d.QueryRow(`SELECT COUNT(*) FROM schema_audit`).Scan(&versions); err != nil {
				t.Fatal(err)
			}
			if err := d.QueryRow(`SELECT COUNT(*) FROM audit_head`).Scan(&heads); err != nil {
				t.Fatal(err)
			}
			return
		}
		v0, h0 := count()
		if h0 != 17 { // the frozen origin chain and 16 stripes
			t.Fatalf("audit_head has %d rows after first migration", h0)
		}
		for i := range 2 {
			if err := d.Migrate(ctx); err != nil {
				t.Fatalf("migrate again (#%d): %v", i+2, err)
			}
		}
		if v, h := count(); v != v0 || h != h0 {
			t.Fatalf("re-migrating changed state: versions %d→%d, head rows %d→%d", v0, v, h0, h)
		}
	})
}

func TestTransact(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		kv(t, d)
		t.Run("commits", func(t *testing.T) {
			var ran atomic.Bool
			err := d.Transact(ctx, func(tx *db.Tx) error {
				if _, err := tx.Exec(`INSERT INTO kv (k, v) VALUES ('a', 1)`); err != nil {
					return err
				}
				tx.AfterCommit(func() {
					// Runs only once the row is visible to everyone.
					if v, ok := get(t, d, "a"); !ok || v != 1 {
						t.Errorf("AfterCommit ran before the commit was visible (found=%v)", ok)
					}
					ran.Store(true)
				})
				if ran.Load() {
					t.Error("AfterCommit ran inside the transaction")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !ran.Load() {
				t.Fatal("AfterCommit did not run after commit")
			}
			if v, ok := get(t, d, "a"); !ok || v != 1 {
				t.Fatalf("committed row missing: %d %v", v, ok)
			}
		})
		t.Run("rolls back on error", func(t *testing.T) {
			boom := errors.New("boom")
			var ran atomic.Bool
			calls := 0
			err := d.Transact(ctx, func(tx *db.Tx) error {
				calls++
				if _, err := tx.Exec(`INSERT INTO kv (k, v) VALUES ('b', 1)`); err != nil {
					return err
				}
				if _, err := tx.Exec(`UPDATE kv SET v = 99 WHERE k = 'counter'`); err != nil {
					return err
				}
				tx.AfterCommit(func() { ran.Store(true) })
				return fmt.Errorf("wrapped: %w", boom)
			})
			if !errors.Is(err, boom) {
				t.Fatalf("Transact returned %v, want the function's error", err)
			}
			if calls != 1 {
				t.Fatalf("a non-retryable error ran f %d times", calls)
			}
			if ran.Load() {
				t.Fatal("AfterCommit ran after a rollback")
			}
			if _, ok := get(t, d, "b"); ok {
				t.Fatal("insert survived the rollback")
			}
			if v, _ := get(t, d, "counter"); v != 0 {
				t.Fatalf("update survived the rollback: %d", v)
			}
		})
		t.Run("rolls back on panic", func(t *testing.T) {
			func() {
				defer func() { recover() }()            //nolint:errcheck
				d.Transact(ctx, func(tx *db.Tx) error { //nolint:errcheck
					if _, err := tx.Exec(`INSERT INTO kv (k, v) VALUES ('p', 1)`); err != nil {
						return err
					}
					panic("boom")
				})
			}()
			if _, ok := get(t, d, "p"); ok {
				t.Fatal("insert survived a panic")
			}
			// The connection and the write lock were released.
			if err := d.Transact(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(`INSERT INTO kv (k, v) VALUES ('p2', 1)`)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("pins now", func(t *testing.T) {
			pinned := time.Date(2031, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("CET", 3600))
			d.SetClock(func() time.Time { return pinned })
			defer d.SetClock(time.Now)
			err := d.Transact(ctx, func(tx *db.Tx) error {
				if want := pinned.UTC().Truncate(time.Millisecond); !tx.Now.Equal(want) || tx.Now.Location() != time.UTC {
					t.Errorf("tx.Now = %v, want %v in UTC", tx.Now, want)
				}
				if got := tx.NowText(); got != "2031-03-04T04:06:07.891Z" {
					t.Errorf("NowText = %q", got)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestTransactRetriesPostgresSerializationFailure provokes a real
// serialization failure: a SERIALIZABLE transaction reads a row that
// another transaction then changes and commits.
func TestTransactRetriesPostgresSerializationFailure(t *testing.T) {
	t.Parallel()
	d := dbtest.Postgres(t)
	kv(t, d)
	attempts := 0
	var afterCommit atomic.Int32
	err := d.Transact(ctx, func(tx *db.Tx) error {
		attempts++
		tx.AfterCommit(func() { afterCommit.Add(1) })
		if _, err := tx.Exec(`SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRow(`SELECT v FROM kv WHERE k = 'counter'`).Scan(&v); err != nil {
			return err
		}
		if attempts == 1 {
			if _, err := d.Exec(`UPDATE kv SET v = v + 100 WHERE k = 'counter'`); err != nil {
				return err
			}
		}
		_, err := tx.Exec(`UPDATE kv SET v = $1 WHERE k = 'counter'`, v+1)
		return err
	})
	if err != nil {
		t.Fatalf("Transact did not recover from the serialization failure: %v", err)
	}
	if attempts != 2 {
		t.Fatalf("ran %d times, want 2", attempts)
	}
	if v, _ := get(t, d, "counter"); v != 101 {
		t.Fatalf("counter = %d, want 101 (the retry must see the concurrent update)", v)
	}
	if n := afterCommit.Load(); n != 1 {
		t.Fatalf("AfterCommit ran %d times, want once (only the committed attempt's)", n)
	}

	// A failure that keeps happening is returned, not retried forever.
	attempts = 0
	err = d.Transact(ctx, func(tx *db.Tx) error {
		attempts++
		return fmt.Errorf("store: %w", &pgconn.PgError{Code: "40001", Message: "could not serialize access"})
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "40001" {
		t.Fatalf("got %v, want the serialization failure", err)
	}
	if attempts < 2 || attempts > 20 {
		t.Fatalf("ran %d times for a persistent serialization failure", attempts)
	}
	// Other database errors are not retried.
	attempts = 0
	err = d.Transact(ctx, func(tx *db.Tx) error {
		attempts++
		_, err := tx.Exec(`INSERT INTO kv (k, v) VALUES ('counter', 1)`)
		return err
	})
	if !db.IsUniqueViolation(err) || attempts != 1 {
		t.Fatalf("unique violation: err %v after %d attempts, want it returned after 1", err, attempts)
	}
}

// TestTransactRetriesSQLiteBusy makes f fail with a genuine SQLITE_BUSY
// from a second connection that will not wait for the lock.
func TestTransactRetriesSQLiteBusy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "busy.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	kv(t, d)
	impatient, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	attempts := 0
	err = d.Transact(ctx, func(tx *db.Tx) error {
		attempts++
		if _, err := tx.Exec(`UPDATE kv SET v = v + 1 WHERE k = 'counter'`); err != nil {
			return err
		}
		if attempts == 1 {
			// tx holds the write lock, so this cannot get it.
			_, err := impatient.Exec(`INSERT INTO kv (k, v) VALUES ('x', 1)`)
			var se *sqlite.Error
			if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
				t.Fatalf("expected SQLITE_BUSY from the second connection, got %v", err)
			}
			return fmt.Errorf("write x: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Transact did not retry SQLITE_BUSY: %v", err)
	}
	if attempts != 2 {
		t.Fatalf("ran %d times, want 2", attempts)
	}
	if v, _ := get(t, d, "counter"); v != 1 {
		t.Fatalf("counter = %d, want 1 (the failed attempt rolled back)", v)
	}
}

// TestSQLiteConcurrentReadThenWrite: the pitfall in DESIGN.md. With
// deferred transactions this fails with SQLITE_BUSY almost every time.
func TestSQLiteConcurrentReadThenWrite(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	kv(t, d)
	const workers, each = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			for range each {
				errs <- d.Transact(ctx, func(tx *db.Tx) error {
					var v int
					if err := tx.QueryRow(`SELECT v FROM kv WHERE k = 'counter'`).Scan(&v); err != nil {
						return err
					}
					_, err := tx.Exec(`UPDATE kv SET v = $1 WHERE k = 'counter'`, v+1)
					return err
				})
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := get(t, d, "counter"); v != workers*each {
		t.Fatalf("counter = %d, want %d (lost updates)", v, workers*each)
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		kv(t, d)
		var ran bool
		err := d.ReadOnly(ctx, func(tx *db.Tx) error {
			var v int
			if err := tx.QueryRow(`SELECT v FROM kv WHERE k = 'counter'`).Scan(&v); err != nil {
				return err
			}
			tx.AfterCommit(func() { ran = true })
			// A write either fails (PostgreSQL READ ONLY) or is never
			// committed (SQLite).
			tx.Exec(`UPDATE kv SET v = 7 WHERE k = 'counter'`) //nolint:errcheck
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := get(t, d, "counter"); v != 0 {
			t.Fatalf("a write in ReadOnly persisted: %d", v)
		}
		if ran {
			t.Fatal("AfterCommit ran for a read-only transaction")
		}
		boom := errors.New("boom")
		if err := d.ReadOnly(ctx, func(tx *db.Tx) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("ReadOnly returned %v", err)
		}

		// A reader does not wait for a writer holding the write lock, and
		// does not see its uncommitted change.
		locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			done <- d.Transact(ctx, func(tx *db.Tx) error {
				if _, err := tx.Exec(`UPDATE kv SET v = 5 WHERE k = 'counter'`); err != nil {
					return err
				}
				close(locked)
				<-release
				return nil
			})
		}()
		<-locked
		readDone := make(chan error, 1)
		go func() {
			readDone <- d.ReadOnly(ctx, func(tx *db.Tx) error {
				var v int
				if err := tx.QueryRow(`SELECT v FROM kv WHERE k = 'counter'`).Scan(&v); err != nil {
					return err
				}
				if v != 0 {
					return fmt.Errorf("read uncommitted value %d", v)
				}
				return nil
			})
		}()
		select {
		case err := <-readDone:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(3 * time.Second):
			t.Error("ReadOnly blocked behind a writer")
			defer func() { <-readDone }()
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewID(t *testing.T) {
	t.Parallel()
	const n = 5000
	ids := make([]string, n)
	seen := make(map[string]bool, n)
	for i := range ids {
		ids[i] = db.NewID()
		if seen[ids[i]] {
			t.Fatalf("duplicate id %s", ids[i])
		}
		seen[ids[i]] = true
		u, err := uuid.Parse(ids[i])
		if err != nil || u.Version() != 7 {
			t.Fatalf("%s is not a UUIDv7: %v", ids[i], err)
		}
	}
	if !slices.IsSorted(ids) {
		t.Fatal("ids are not sortable by creation order")
	}
	// Unique across goroutines too.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				id := db.NewID()
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate id %s", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if tok := db.RandomToken(16); len(tok) != 32 || tok == db.RandomToken(16) {
		t.Fatalf("RandomToken(16) = %q", tok)
	}
}

func TestTimeFormat(t *testing.T) {
	t.Parallel()
	oslo := time.FixedZone("CEST", 2*3600)
	cases := []struct {
		in   time.Time
		text string
	}{
		{time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), "2025-06-01T12:00:00.000Z"},
		{time.Date(2025, 6, 1, 14, 30, 15, 123_000_000, oslo), "2025-06-01T12:30:15.123Z"},
		{time.Date(2025, 12, 31, 23, 59, 59, 999_999_999, time.UTC), "2025-12-31T23:59:59.999Z"}, // truncated, not rounded into the next year
		{time.Date(2026, 1, 1, 0, 30, 0, 5_000_000, oslo), "2025-12-31T22:30:00.005Z"},
	}
	for _, c := range cases {
		got := db.FormatTime(c.in)
		if got != c.text {
			t.Errorf("FormatTime(%v) = %q, want %q", c.in, got, c.text)
		}
		back, err := db.ParseTime(got)
		if err != nil {
			t.Fatal(err)
		}
		if want := c.in.Truncate(time.Millisecond); !back.Equal(want) || back.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, want %v in UTC", got, back, want.UTC())
		}
	}
	// Text order is time order.
	var texts []string
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, oslo)
	for _, d := range []time.Duration{0, time.Millisecond, 10 * time.Millisecond, time.Second, time.Hour, 400 * 24 * time.Hour} {
		texts = append(texts, db.FormatTime(base.Add(d)))
	}
	if !slices.IsSorted(texts) {
		t.Errorf("stored times do not sort as text: %v", texts)
	}
	if z, err := db.ParseTime(""); err != nil || !z.IsZero() {
		t.Errorf(`ParseTime("") = %v, %v`, z, err)
	}
	if tm, err := db.ParseTime("2025-06-01T14:30:15.5+02:00"); err != nil || !tm.Equal(time.Date(2025, 6, 1, 12, 30, 15, 500_000_000, time.UTC)) || tm.Location() != time.UTC {
		t.Errorf("RFC 3339 with offset: %v, %v", tm, err)
	}
	for _, bad := range []string{"yesterday", "2025-06-01", "2025-13-01T00:00:00.000Z"} {
		if _, err := db.ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) succeeded", bad)
		}
	}
}

// TestTimeStored: a formatted time survives both engines' TEXT columns and
// compares correctly there.
func TestTimeStored(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		dbtest.Exec(t, d, `CREATE TABLE times (id INTEGER PRIMARY KEY, at TEXT NOT NULL)`)
		at := time.Date(2025, 3, 30, 1, 59, 59, 987_000_000, time.UTC)
		for i, tm := range []time.Time{at, at.Add(time.Millisecond), at.Add(-time.Hour)} {
			if _, err := d.Exec(`INSERT INTO times (id, at) VALUES ($1, $2)`, i+1, db.FormatTime(tm)); err != nil {
				t.Fatal(err)
			}
		}
		var s string
		if err := d.QueryRow(`SELECT at FROM times WHERE id = 1`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		if got := db.MustTime(s); !got.Equal(at) {
			t.Fatalf("stored %v, read back %v", at, got)
		}
		var ids []int
		rows, err := d.Query(`SELECT id FROM times WHERE at >= $1 ORDER BY at`, db.FormatTime(at))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int
			rows.Scan(&id) //nolint:errcheck
			ids = append(ids, id)
		}
		if !slices.Equal(ids, []int{1, 2}) {
			t.Fatalf("range query returned %v, want [1 2]", ids)
		}
	})
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		kv(t, d)
		dbtest.Exec(t, d, `INSERT INTO kv (k, v, u) VALUES ('a', 1, 'x')`)
		_, pk := d.Exec(`INSERT INTO kv (k, v) VALUES ('a', 2)`)
		_, uniq := d.Exec(`INSERT INTO kv (k, v, u) VALUES ('b', 2, 'x')`)
		_, notNull := d.Exec(`INSERT INTO kv (k) VALUES ('c')`)
		_, syntax := d.Exec(`INSERT INTO nowhere VALUES (1)`)
		txErr := d.Transact(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(`INSERT INTO kv (k, v) VALUES ('a', 3)`)
			return fmt.Errorf("store: %w", err)
		})
		for _, c := range []struct {
			name string
			err  error
			want bool
		}{
			{"primary key", pk, true},
			{"unique column", uniq, true},
			{"wrapped, through Transact", txErr, true},
			{"not null", notNull, false},
			{"missing table", syntax, false},
			{"nil", nil, false},
			{"other", errors.New("duplicate key value violates unique constraint"), false},
		} {
			if c.want && c.err == nil {
				t.Fatalf("%s: statement succeeded", c.name)
			}
			if got := db.IsUniqueViolation(c.err); got != c.want {
				t.Errorf("%s: IsUniqueViolation(%v) = %v, want %v", c.name, c.err, got, c.want)
			}
		}
	})
}

func TestLiveColumnsAllClassified(t *testing.T) {
	t.Parallel()
	classes, err := db.Classification()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"audit_log.actor_name", "outbox.data", "consumed_events.event_id", "outbox.attempts"} {
		if _, ok := classes[want]; !ok {
			t.Errorf("registered schema lacks a class for %s", want)
		}
	}
	if c := classes["outbox.data"]; c.Class != db.ClassSpecialCategory || c.Table != "outbox" || c.Column != "data" || !strings.HasPrefix(c.Where, "events/00001_outbox.sql:") {
		t.Errorf("outbox.data = %+v", c)
	}
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		live, err := d.LiveColumns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(live) < len(classes) {
			t.Fatalf("%d live columns, %d classified", len(live), len(classes))
		}
		for _, col := range live {
			if _, ok := classes[col]; !ok {
				t.Errorf("live column %s has no declared class", col)
			}
			if strings.HasPrefix(col, "schema_") {
				t.Errorf("bookkeeping column %s listed", col)
			}
		}
	})
}

// TestClassification runs the parser over synthetic modules. It swaps the
// registry, so it must not run in parallel with tests that migrate.
func TestClassification(t *testing.T) {
	mod := func(name string, files ...string) db.Module {
		fs := fstest.MapFS{}
		for i, f := range files {
			fs[fmt.Sprintf("%05d_m.sql", i+1)] = &fstest.MapFile{Data: []byte(f)}
		}
		return db.Module{Name: name, FS: fs}
	}
	good := mod("good", `-- +goose Up
-- a comment line
CREATE TABLE IF NOT EXISTS person (
    id          TEXT PRIMARY KEY,  -- @internal
    name        TEXT NOT NULL,     -- @personal
    religion    TEXT,              -- @special-category
    totp_secret TEXT,              -- @security
    country     TEXT,              -- @public
    prison_id   TEXT REFERENCES prison (id), -- @internal
    PRIMARY KEY (id),
    UNIQUE (name),
    CONSTRAINT c CHECK (country <> ''),
    FOREIGN KEY (prison_id) REFERENCES prison (id)
);
CREATE INDEX person_name ON person (name);
INSERT INTO person (id, name) VALUES ('1', 'x');

-- +goose Down
DROP TABLE person;
CREATE TABLE old_thing (
    secret TEXT
);
`, `-- +goose Up
ALTER TABLE person ADD COLUMN dob TEXT; -- @personal
CREATE TABLE Visit (
    person_id TEXT NOT NULL -- @personal
);
-- +goose Down
ALTER TABLE person DROP COLUMN dob;
`)
	cases := []struct {
		name    string
		mods    []db.Module
		want    map[string]string // column → class
		problem []string          // substrings of the error; nil = no error
	}{
		{
			name: "classified",
			mods: []db.Module{good},
			want: map[string]string{
				"person.id": "internal", "person.name": "personal", "person.religion": "special-category",
				"person.totp_secret": "security", "person.country": "public", "person.prison_id": "internal",
				"person.dob": "personal", "visit.person_id": "personal",
			},
		},
		{
			name: "reshaped by later migrations",
			mods: []db.Module{mod("reshape", `-- +goose Up
CREATE TABLE a (
    x TEXT, -- @internal
    y TEXT  -- @personal
);
CREATE TABLE gone (
    z TEXT -- @personal
);
`, `-- +goose Up
ALTER TABLE a RENAME TO a_old;
CREATE TABLE a (
    x TEXT -- @public
);
DROP TABLE a_old;
DROP TABLE IF EXISTS gone;
ALTER TABLE a ADD COLUMN w TEXT; -- @internal
ALTER TABLE a DROP COLUMN w;
-- +goose Down
DROP TABLE a;
`)},
			want: map[string]string{"a.x": "public"},
		},
		{
			name:    "missing class",
			mods:    []db.Module{good, mod("bad", "-- +goose Up\nCREATE TABLE t (\n    a TEXT, -- @internal\n    b TEXT\n);\n")},
			problem: []string{"bad/00001_m.sql:4", "t.b"},
		},
		{
			name:    "unknown class",
			mods:    []db.Module{mod("bad", "-- +goose Up\nCREATE TABLE t (\n    a TEXT -- @secretish\n);\n")},
			problem: []string{"bad/00001_m.sql:3", "t.a"},
		},
		{
			name:    "added column without class",
			mods:    []db.Module{mod("bad", "-- +goose Up\nALTER TABLE t ADD COLUMN c TEXT;\n")},
			problem: []string{"bad/00001_m.sql:2", "t.c"},
		},
		{
			name:    "upper-case column without class",
			mods:    []db.Module{mod("bad", "-- +goose Up\nCREATE TABLE T (\n    ID TEXT PRIMARY KEY\n);\n")},
			problem: []string{"bad/00001_m.sql:3", "t.ID"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			restore := db.SwapModules(c.mods)
			defer restore()
			got, err := db.Classification()
			if c.problem == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(c.want) {
					t.Errorf("got %d columns, want %d: %v", len(got), len(c.want), got)
				}
				for col, class := range c.want {
					if got[col].Class != class {
						t.Errorf("%s: class %q, want %q", col, got[col].Class, class)
					}
				}
				if w := got["person.name"].Where; c.want["person.name"] != "" && w != "good/00001_m.sql:5" {
					t.Errorf("person.name declared at %q", w)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; got %v", got)
			}
			for _, p := range c.problem {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not mention %q", err, p)
				}
			}
		})
	}
}

// TestPostgresCommitsSynchronously: an acknowledged write is on disk even
// where the connection asks for asynchronous commit (a role, server or URL
// default of synchronous_commit=off would let a crash lose it).
func TestPostgresCommitsSynchronously(t *testing.T) {
	t.Parallel()
	d, err := db.Open(ctx, dbtest.PostgresURL(t)+"&synchronous_commit=off")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var got string
	if err := d.QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "on" {
		t.Fatalf("synchronous_commit = %s, want on", got)
	}
}
