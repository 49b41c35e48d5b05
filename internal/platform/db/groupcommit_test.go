// SPDX-License-Identifier: AGPL-3.0-or-later

package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// TestGroupCommitCancelledMidStatement: a transaction whose context ends
// while its statement runs is interrupted, and SQLite's interrupt rolls
// back the whole shared transaction; the transaction that ran before it in
// the same batch must still commit, not fail with it.
func TestGroupCommitCancelledMidStatement(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := context.Background()
	dbtest.Exec(t, d, `CREATE TABLE gc (k TEXT PRIMARY KEY)`, `CREATE TABLE big (n INTEGER)`)
	shared := false // a round in which the two shared a batch
	for round := 0; round < 20 && !shared; round++ {
		holding, release, running := make(chan struct{}), make(chan struct{}), make(chan struct{})
		var innocentErr, victimErr error
		var runs atomic.Int32
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			innocentErr = d.Transact(ctx, func(tx *db.Tx) error {
				if runs.Add(1) == 1 {
					close(holding)
					<-release // the victim queues behind this one meanwhile
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO gc (k) VALUES ($1)`, fmt.Sprint("r", round))
				return err
			})
		}()
		<-holding
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			defer wg.Done()
			victimErr = d.Transact(cctx, func(tx *db.Tx) error {
				close(running)
				_, err := tx.ExecContext(cctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) INSERT INTO big SELECT x FROM c`)
				return err
			})
		}()
		time.Sleep(20 * time.Millisecond)
		close(release)
		<-running
		time.Sleep(20 * time.Millisecond)
		cancel()
		wg.Wait()
		if victimErr == nil {
			t.Fatal("the cancelled transaction committed")
		}
		if innocentErr != nil {
			t.Fatalf("round %d: a transaction failed because another in its batch was cancelled: %v", round, innocentErr)
		}
		shared = runs.Load() > 1
	}
	if !shared {
		t.Fatal("the two transactions never shared a batch; the test did not test anything")
	}
	var n, big int
	if err := d.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM gc), (SELECT COUNT(*) FROM big)`).Scan(&n, &big); err != nil {
		t.Fatal(err)
	}
	if big != 0 {
		t.Fatalf("%d rows of cancelled transactions were kept", big)
	}
	t.Logf("%d rounds", n)
}
