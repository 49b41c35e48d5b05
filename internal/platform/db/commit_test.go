// SPDX-License-Identifier: AGPL-3.0-or-later

package db_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// TestBeforeCommit: hooks run last, in order, inside the transaction; a
// failing hook rolls everything back.
func TestBeforeCommit(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		dbtest.Exec(t, d, `CREATE TABLE bc (n INTEGER NOT NULL)`)
		var order []string
		err := d.Transact(ctx, func(tx *db.Tx) error {
			tx.BeforeCommit(func() error {
				order = append(order, "hook1")
				_, err := tx.ExecContext(ctx, `INSERT INTO bc (n) VALUES (2)`)
				return err
			})
			tx.BeforeCommit(func() error { order = append(order, "hook2"); return nil })
			order = append(order, "body")
			_, err := tx.ExecContext(ctx, `INSERT INTO bc (n) VALUES (1)`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(order) != 3 || order[0] != "body" || order[1] != "hook1" || order[2] != "hook2" {
			t.Fatalf("order %v", order)
		}
		boom := errors.New("boom")
		err = d.Transact(ctx, func(tx *db.Tx) error {
			tx.BeforeCommit(func() error { return boom })
			_, err := tx.ExecContext(ctx, `INSERT INTO bc (n) VALUES (3)`)
			return err
		})
		if !errors.Is(err, boom) {
			t.Fatalf("hook error not returned: %v", err)
		}
		var n int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM bc`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("rows %d (%v), want 2: a failing hook must roll back", n, err)
		}
		// A hook of a failed body never runs.
		ran := false
		_ = d.Transact(ctx, func(tx *db.Tx) error {
			tx.BeforeCommit(func() error { ran = true; return nil })
			return boom
		})
		if ran {
			t.Fatal("hook ran for a failed transaction")
		}
	})
}

// TestSQLiteStatementCache: repeated statements are prepared once and give
// the same answers as unprepared ones, across transactions and
// connections.
func TestSQLiteStatementCache(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	dbtest.Exec(t, d, `CREATE TABLE sc (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`)
	before := d.CachedStatements()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				err := d.Transact(ctx, func(tx *db.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO sc (k, v) VALUES ($1, $2)`, string(rune('a'+g))+time.Duration(i).String(), i); err != nil {
						return err
					}
					var n int
					return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sc WHERE v = $1`, i).Scan(&n)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := d.CachedStatements() - before; got != 2 {
		t.Fatalf("%d statements cached for 2 distinct queries", got)
	}
	var n, sum int
	err := d.ReadOnly(ctx, func(tx *db.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*), SUM(v) FROM sc`).Scan(&n, &sum)
	})
	if err != nil || n != 200 || sum != 8*(24*25/2) {
		t.Fatalf("count %d sum %d (%v)", n, sum, err)
	}
	// A failed statement leaves the cached one usable.
	err = d.Transact(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sc (k, v) VALUES ($1, $2)`, "a0s", 1)
		return err
	})
	if !db.IsUniqueViolation(err) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := d.Transact(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sc (k, v) VALUES ($1, $2)`, "new", 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
