// SPDX-License-Identifier: AGPL-3.0-or-later

package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// TestGroupCommitIsolatesMembers: many concurrent writing transactions,
// some failing, some panicking; each failure takes back only its own
// writes, every success is durable and ran its AfterCommit hook once.
func TestGroupCommitIsolatesMembers(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		dbtest.Exec(t, d, `CREATE TABLE gc (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`)
		boom := errors.New("refused")
		var after atomic.Int32
		var wg sync.WaitGroup
		const n = 120
		errs := make([]error, n)
		panics := make([]any, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { panics[i] = recover() }()
				errs[i] = d.Transact(ctx, func(tx *db.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO gc (k, n) VALUES ($1, $2)`, fmt.Sprint("k", i), i); err != nil {
						return err
					}
					tx.AfterCommit(func() { after.Add(1) })
					switch i % 10 {
					case 3:
						return boom
					case 7:
						panic(fmt.Sprint("panic ", i))
					case 5:
						// A failure in a before-commit hook rolls back too.
						tx.BeforeCommit(func() error { return boom })
					}
					return nil
				})
			}()
		}
		wg.Wait()
		want := 0
		for i := range n {
			switch i % 10 {
			case 3, 5:
				if !errors.Is(errs[i], boom) {
					t.Errorf("%d: err %v, want refused", i, errs[i])
				}
			case 7:
				if panics[i] != fmt.Sprint("panic ", i) {
					t.Errorf("%d: panic %v did not reach its caller", i, panics[i])
				}
			default:
				if errs[i] != nil || panics[i] != nil {
					t.Errorf("%d: %v %v", i, errs[i], panics[i])
				}
				want++
			}
		}
		var got int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM gc`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want || int(after.Load()) != want {
			t.Fatalf("%d rows and %d after-commit hooks, want %d of each", got, after.Load(), want)
		}
		var bad int
		if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM gc WHERE n % 10 IN (3, 5, 7)`).Scan(&bad); err != nil || bad != 0 {
			t.Fatalf("%d rows of failed transactions were kept (%v)", bad, err)
		}
	})
}

// TestGroupCommitCancelled: a transaction whose context has ended does
// not run.
func TestGroupCommitCancelled(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := d.Transact(ctx, func(tx *db.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("err %v, ran %v", err, ran)
	}
}
