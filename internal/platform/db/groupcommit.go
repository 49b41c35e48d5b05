// SPDX-License-Identifier: AGPL-3.0-or-later

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// SQLite has one writer, and a durable commit costs an fsync. Writing
// transactions therefore go through one goroutine that runs them back to
// back inside one SQLite transaction, each in its own SAVEPOINT, and
// commits once for all of them: a failing one is rolled back to its
// savepoint and alone gets its error; the others are acknowledged only
// after the shared COMMIT is durable. While one batch commits, the next
// one gathers, so under load many writes share an fsync, and with a single
// writer a transaction commits as soon as it is done.

// maxBatch bounds how many transactions share one commit.
const maxBatch = 64

type writeReq struct {
	ctx  context.Context
	f    func(tx *Tx) error
	done chan writeRes
}

type writeRes struct {
	err   error
	tx    *Tx
	panic any
}

type groupWriter struct {
	db        *DB
	queue     chan *writeReq
	stop      chan struct{}
	once      sync.Once
	closeOnce sync.Once
	wg        sync.WaitGroup
	// conn is the connection every batch runs on, owned by run. In WAL
	// mode a connection drops its whole page cache when it begins a
	// transaction after another connection wrote; batches that hopped
	// between pooled connections re-read every page they touched (pread
	// was a sixth of the writer's time). On one connection, the writer's
	// cache stays valid from batch to batch, since it made every change.
	conn *sql.Conn
}

func (g *groupWriter) start() {
	g.once.Do(func() {
		g.wg.Add(1)
		go g.run()
	})
}

// write runs f in the next batch and waits until the batch is durable.
func (g *groupWriter) write(ctx context.Context, f func(tx *Tx) error) error {
	g.start()
	req := &writeReq{ctx: ctx, f: f, done: make(chan writeRes, 1)}
	t := time.NewTimer(writeWait)
	defer t.Stop()
	select {
	case g.queue <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("db: timed out waiting for the database writer")
	case <-g.stop:
		return errors.New("db: closed")
	}
	// Once queued, the request is answered: its context is checked before
	// it runs, and a transaction that ran must learn whether it committed.
	res := <-req.done
	if res.panic != nil {
		panic(res.panic)
	}
	if res.err != nil {
		return res.err
	}
	for _, h := range res.tx.afterCommit {
		h()
	}
	return nil
}

func (g *groupWriter) run() {
	defer g.wg.Done()
	defer func() {
		if g.conn != nil {
			g.conn.Close()
		}
	}()
	for {
		var first *writeReq
		select {
		case first = <-g.queue:
		case <-g.stop:
			return
		}
		g.batch(first)
	}
}

type member struct {
	req *writeReq
	tx  *Tx
}

// batch runs first and whatever else is queued, then commits them.
func (g *groupWriter) batch(first *writeReq) {
	d := g.db
	// The batch's transaction outlives any one request's context.
	stx, err := g.begin()
	if err != nil {
		first.done <- writeRes{err: fmt.Errorf("db: begin: %w", err)}
		return
	}
	var ok []member
	var broken error
	req := first
	for {
		if req.ctx.Err() != nil {
			req.done <- writeRes{err: req.ctx.Err()}
		} else {
			tx := &Tx{Tx: stx, Dialect: d.Dialect, Now: d.Now().Truncate(time.Millisecond), db: d}
			err, p, fatal := runSavepoint(req.ctx, tx, req.f)
			switch {
			case p != nil || err != nil:
				req.done <- writeRes{err: err, panic: p}
			default:
				ok = append(ok, member{req, tx})
			}
			broken = fatal
		}
		if broken != nil || len(ok) >= maxBatch {
			break
		}
		select {
		case req = <-g.queue:
			continue
		default:
		}
		break
	}
	if broken != nil {
		// One member broke the shared transaction (e.g. its context was
		// cancelled mid-statement, and SQLite's interrupt rolled back the
		// whole transaction). The others did nothing wrong: Transact runs
		// them again.
		stx.Rollback() //nolint:errcheck
		for _, m := range ok {
			m.req.done <- writeRes{err: &sharedTxError{broken}}
		}
		return
	}
	if len(ok) == 0 {
		stx.Rollback() //nolint:errcheck
		return
	}
	if err := stx.Commit(); err != nil {
		err = fmt.Errorf("db: commit: %w", err)
		for _, m := range ok {
			m.req.done <- writeRes{err: err}
		}
		return
	}
	for _, m := range ok {
		m.req.done <- writeRes{tx: m.tx}
	}
}

// begin starts the batch's transaction on the writer's connection,
// taking a fresh one from the pool when there is none or it failed.
func (g *groupWriter) begin() (*sql.Tx, error) {
	ctx := context.Background()
	if g.conn == nil {
		c, err := g.db.DB.Conn(ctx)
		if err != nil {
			return nil, err
		}
		g.conn = c
	}
	stx, err := g.conn.BeginTx(ctx, nil)
	if err != nil {
		g.conn.Close()
		g.conn = nil
	}
	return stx, err
}

// sharedTxError is what the members of a batch get when another member
// broke the shared transaction: their own work was fine but is rolled
// back, so the error is retryable.
type sharedTxError struct{ cause error }

func (e *sharedTxError) Error() string {
	return "db: the shared transaction failed: " + e.cause.Error()
}

func (e *sharedTxError) Unwrap() error { return e.cause }

// runSavepoint runs f and its before-commit hooks inside a savepoint,
// rolling back to it when they fail or panic. fatal reports that the
// shared transaction itself can no longer be used.
func runSavepoint(ctx context.Context, tx *Tx, f func(tx *Tx) error) (err error, panicked any, fatal error) {
	if _, e := tx.Tx.ExecContext(context.Background(), `SAVEPOINT member`); e != nil {
		return fmt.Errorf("db: savepoint: %w", e), nil, e
	}
	func() {
		defer func() {
			if v := recover(); v != nil {
				panicked = v
			}
		}()
		if err = f(tx); err != nil {
			return
		}
		for _, h := range tx.beforeCommit {
			if err = h(); err != nil {
				return
			}
		}
	}()
	if err != nil || panicked != nil {
		if _, e := tx.Tx.ExecContext(context.Background(), `ROLLBACK TO SAVEPOINT member`); e != nil {
			return err, panicked, e
		}
	}
	if _, e := tx.Tx.ExecContext(context.Background(), `RELEASE SAVEPOINT member`); e != nil {
		return err, panicked, e
	}
	return err, panicked, nil
}

// Close stops the SQLite writer, then closes the database.
func (db *DB) Close() error {
	if db.gw != nil {
		db.gw.closeOnce.Do(func() { close(db.gw.stop) })
		db.gw.wg.Wait()
	}
	return db.DB.Close()
}
