// SPDX-License-Identifier: AGPL-3.0-or-later

package audit

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func TestStripeArithmetic(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ origin, stripe, first int64 }{
		{0, 1, 1}, {0, 16, 16}, {5, 6, 6}, {5, 16, 16}, {5, 1, 17}, {5, 5, 21}, {16, 1, 17}, {16, 16, 32}, {17, 1, 33}, {17, 2, 18},
	} {
		if got := firstSeq(c.origin, c.stripe); got != c.first || stripeOf(got) != c.stripe {
			t.Errorf("firstSeq(%d, %d) = %d (stripe %d), want %d", c.origin, c.stripe, got, stripeOf(got), c.first)
		}
	}
}

// TestStripesCommitConcurrently: on PostgreSQL an append takes a stripe
// no other transaction holds, and waits only when every stripe is held.
func TestStripesCommitConcurrently(t *testing.T) {
	t.Parallel()
	d := dbtest.Postgres(t)
	ctx := as(alice)
	hold := func(where string) (release func()) {
		locked, done, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			held <- d.Transact(context.Background(), func(tx *db.Tx) error {
				if _, err := tx.Exec(`UPDATE audit_head SET seq = seq WHERE ` + where); err != nil {
					return err
				}
				close(locked)
				<-done
				return nil
			})
		}()
		<-locked
		return func() {
			close(done)
			if err := <-held; err != nil {
				t.Fatal(err)
			}
		}
	}
	writeAsync := func(client string) chan error {
		ch := make(chan error, 1)
		go func() {
			ch <- d.Transact(ctx, func(tx *db.Tx) error { return Write(ctx, tx, Entry{Action: "client.update", ClientID: client}) })
		}()
		return ch
	}

	// Stripes 1..15 held (as by 15 transactions committing): the write
	// takes stripe 16 without waiting.
	release := hold("id BETWEEN 1 AND 15")
	select {
	case err := <-writeAsync("c1"):
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an append waited for a held stripe while stripe 16 was free")
	}
	release()
	if got := seqsOf(t, d); !slices.Equal(got, []int64{16}) {
		t.Fatalf("seqs %v, want [16]", got)
	}

	// Every stripe held: the write waits, then lands.
	release = hold("id > 0")
	done := writeAsync("c2")
	select {
	case err := <-done:
		t.Fatalf("an append committed (%v) while every stripe was held", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mustVerify(t, d, 2)

	// Many writers at once, each transaction several records: every
	// stripe gets used and every chain verifies.
	const workers, each = 32, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- d.Transact(ctx, func(tx *db.Tx) error {
					return Write(ctx, tx, Entry{Action: "client.update", ClientID: fmt.Sprint(w)}, Entry{Action: "client.read", ClientID: fmt.Sprint(i)})
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	mustVerify(t, d, 2+workers*each*2)
	if n, err := Count(context.Background(), d); err != nil || n != 2+workers*each*2 {
		t.Fatalf("Count = %d, %v", n, err)
	}
}

// TestSearchPagesByTime: seq is not time order across stripes, so search
// sorts by (at, seq) and pages on that order.
func TestSearchPagesByTime(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		day := func(n int) time.Time { return time.Date(2025, 1, n, 12, 0, 0, 0, time.UTC) }
		at := day(1)
		d.SetClock(func() time.Time { return at })
		l := NewLog(d)
		defer l.Close()
		// Day 1: three records in one transaction (stripe 1: 1, 17, 33);
		// day 2: one (stripe 2: seq 2) — newer, but a lower seq.
		write(t, d, as(alice), Entry{Action: "client.read", ClientID: "c1"}, Entry{Action: "client.read", ClientID: "c2"}, Entry{Action: "client.read", ClientID: "c3"})
		at = day(2)
		write(t, d, as(bob), Entry{Action: "client.update", ClientID: "c1"})
		seqs := func(f Filter) []int64 {
			t.Helper()
			recs, err := l.Search(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, r := range recs {
				out = append(out, r.Seq)
			}
			return out
		}
		for _, c := range []struct {
			name string
			f    Filter
			want []int64
		}{
			{"newest first", Filter{}, []int64{2, 33, 17, 1}},
			{"page 1", Filter{Limit: 2}, []int64{2, 33}},
			{"page 2, after the last of page 1", Filter{Limit: 2, BeforeSeq: 33}, []int64{17, 1}},
			{"after the newest", Filter{BeforeSeq: 2}, []int64{33, 17, 1}},
			{"after the oldest", Filter{BeforeSeq: 1}, nil},
			{"a seq that is no record stands after the one below it", Filter{BeforeSeq: 18}, []int64{17, 1}},
			{"…and that one starts the page", Filter{BeforeSeq: 3}, []int64{2, 33, 17, 1}},
			{"below every record", Filter{BeforeSeq: -1}, []int64{2, 33, 17, 1}}, // 0 or less: from the newest
			{"with a filter", Filter{ClientID: "c1", BeforeSeq: 2}, []int64{1}},
		} {
			if got := seqs(c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
	})
}

// engineDBs runs f on an unmigrated database of each engine.
func engineDBs(t *testing.T, f func(t *testing.T, d *db.DB)) {
	for _, e := range []string{"sqlite", "postgres"} {
		t.Run(e, func(t *testing.T) {
			var dsn string
			if e == "sqlite" {
				dsn = filepath.Join(t.TempDir(), "legacy.db")
			} else {
				dsn = dbtest.PostgresURL(t)
			}
			d, err := db.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			f(t, d)
		})
	}
}

// provider migrates the audit schema alone, as db.Migrate does.
func provider(t *testing.T, d *db.DB) *goose.Provider {
	t.Helper()
	dialect := database.DialectSQLite3
	if d.Dialect == db.Postgres {
		dialect = database.DialectPostgres
	}
	store, err := database.NewStore(dialect, "schema_audit")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectCustom, d.DB, sub, goose.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// legacyWrite appends entries the way Custodia did before striping: one
// chain, consecutive seqs, one head row (id 1).
func legacyWrite(t *testing.T, d *db.DB, a Actor, entries ...Entry) {
	t.Helper()
	err := d.Transact(context.Background(), func(tx *db.Tx) error {
		var seq int64
		var prev string
		if err := tx.QueryRow(`UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash`, len(entries)).Scan(&seq, &prev); err != nil {
			return err
		}
		seq -= int64(len(entries))
		for _, e := range entries {
			seq++
			r := Record{Seq: seq, ID: db.NewID(), At: tx.Now, ActorID: a.ID, ActorName: a.Name, Role: a.Role, Action: e.Action,
				ClientID: e.ClientID, Remote: a.Remote, Detail: e.Detail, PrevHash: prev}
			r.Hash = hashOf(&r)
			prev = r.Hash
			_, err := tx.Exec(`INSERT INTO audit_log (seq, id, at, actor_id, actor_name, role, action, client_id, object_type, object_id, reason, break_glass, remote, detail, prev_hash, hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, 0, $9, $10, $11, $12)`,
				r.Seq, r.ID, db.FormatTime(r.At), r.ActorID, r.ActorName, r.Role, r.Action, db.NullString(r.ClientID), db.NullString(r.Remote), db.NullString(r.Detail), r.PrevHash, r.Hash)
			if err != nil {
				return err
			}
		}
		_, err := tx.Exec(`UPDATE audit_head SET hash = $1 WHERE id = 1`, prev)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateLegacyChain: a database written before striping (one chain,
// seqs 1..5) is migrated; its chain is frozen as the origin, new records
// go to the stripes linked to it, and every tamper check still holds on
// both parts.
func TestMigrateLegacyChain(t *testing.T) {
	t.Parallel()
	engineDBs(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := provider(t, d).UpTo(ctx, 1); err != nil {
			t.Fatal(err)
		}
		legacyWrite(t, d, alice, Entry{Action: "client.read", ClientID: "c1"}, Entry{Action: "client.read", ClientID: "c2"})
		legacyWrite(t, d, bob, Entry{Action: "client.update", ClientID: "c1"}, Entry{Action: "health.read", ClientID: "c1"})
		legacyWrite(t, d, alice, Entry{Action: "auth.login"})
		var h5 string
		if err := d.QueryRow(`SELECT hash FROM audit_head WHERE id = 1`).Scan(&h5); err != nil {
			t.Fatal(err)
		}

		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, d, 5)
		heads := map[int64][2]any{}
		rows, err := d.Query(`SELECT id, seq, hash FROM audit_head`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, seq int64
			var hash string
			if err := rows.Scan(&id, &seq, &hash); err != nil {
				t.Fatal(err)
			}
			heads[id] = [2]any{seq, hash}
		}
		rows.Close()
		if len(heads) != Stripes+1 || heads[0] != [2]any{int64(5), h5} {
			t.Fatalf("heads after migration: %v", heads)
		}
		for c := int64(1); c <= Stripes; c++ {
			if heads[c] != [2]any{firstSeq(5, c) - Stripes, h5} {
				t.Fatalf("head of stripe %d: %v", c, heads[c])
			}
		}
		if n, err := Count(ctx, d); err != nil || n != 5 {
			t.Fatalf("Count = %d, %v", n, err)
		}

		// New records continue the numbering: stripe 6 first (its head is
		// lowest), linked to the old chain's last hash.
		write(t, d, as(alice), Entry{Action: "client.read", ClientID: "c3"})
		write(t, d, as(bob), Entry{Action: "client.read", ClientID: "c1"}, Entry{Action: "client.read", ClientID: "c2"}, Entry{Action: "client.read", ClientID: "c3"})
		write(t, d, as(alice), Entry{Action: "client.update", ClientID: "c3"})
		if got := seqsOf(t, d); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6, 7, 8, 23, 39}) {
			t.Fatalf("seqs %v", got)
		}
		var prev6 string
		if err := d.QueryRow(`SELECT prev_hash FROM audit_log WHERE seq = 6`).Scan(&prev6); err != nil || prev6 != h5 {
			t.Fatalf("record 6 links to %q, want the old chain's last hash", prev6)
		}
		mustVerify(t, d, 10)
		if n, err := Count(ctx, d); err != nil || n != 10 {
			t.Fatalf("Count = %d, %v", n, err)
		}
		l := NewLog(d)
		if err := l.RecordRead(as(bob), Entry{Action: "client.read", ClientID: "c4"}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		mustVerify(t, d, 11)

		dbtest.Exec(t, d, `CREATE TABLE pristine_log AS SELECT * FROM audit_log`, `CREATE TABLE pristine_head AS SELECT * FROM audit_head`)
		for _, c := range []struct {
			name   string
			tamper string
			bad    int64
		}{
			{"old record altered", `UPDATE audit_log SET actor_id = 'x' WHERE seq = 3`, 3},
			{"old first record deleted", `DELETE FROM audit_log WHERE seq = 1`, 2},
			{"old middle record deleted", `DELETE FROM audit_log WHERE seq = 4`, 5},
			{"old last record deleted", `DELETE FROM audit_log WHERE seq = 5`, 5}, // the origin still says 5
			{"old records after the first deleted", `DELETE FROM audit_log WHERE seq BETWEEN 2 AND 5`, 2},
			{"origin moved back", `UPDATE audit_head SET seq = 4 WHERE id = 0`, 5}, // the old chain would end at 4 with record 5's hash
			{"origin's hash altered", `UPDATE audit_head SET hash = '` + strings.Repeat("1", 64) + `' WHERE id = 0`, 6},
			{"new record altered", `UPDATE audit_log SET detail = 'x' WHERE seq = 23`, 23},
			{"new middle record deleted", `DELETE FROM audit_log WHERE seq = 23`, 39},
			{"new first record of a stripe deleted", `DELETE FROM audit_log WHERE seq = 6`, 6}, // its stripe is now empty but its head says 6
		} {
			t.Run(c.name, func(t *testing.T) {
				dbtest.Exec(t, d, `DELETE FROM audit_log`, `DELETE FROM audit_head`,
					`INSERT INTO audit_log SELECT * FROM pristine_log`, `INSERT INTO audit_head SELECT * FROM pristine_head`)
				dbtest.Exec(t, d, c.tamper)
				res, err := Verify(ctx, d)
				if err != nil {
					t.Fatal(err)
				}
				if res.OK() || res.BadSeq != c.bad {
					t.Fatalf("Verify = %+v, want bad seq %d", res, c.bad)
				}
			})
		}
		dbtest.Exec(t, d, `DELETE FROM audit_log`, `DELETE FROM audit_head`,
			`INSERT INTO audit_log SELECT * FROM pristine_log`, `INSERT INTO audit_head SELECT * FROM pristine_head`)
		mustVerify(t, d, 11)
	})
}

// TestMigrateDown: the striping migration rolls back while no record was
// written to a stripe, and refuses to afterwards.
func TestMigrateDown(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := provider(t, d)
		if _, err := p.DownTo(ctx, 1); err != nil {
			t.Fatal(err)
		}
		var n, seq int64
		if err := d.QueryRow(`SELECT COUNT(*), MAX(seq) FROM audit_head WHERE id = 1`).Scan(&n, &seq); err != nil || n != 1 || seq != 0 {
			t.Fatalf("after down: %d head rows, seq %d, %v", n, seq, err)
		}
		legacyWrite(t, d, alice, Entry{Action: "client.read", ClientID: "c1"})
		if _, err := p.UpTo(ctx, 2); err != nil {
			t.Fatal(err)
		}
		write(t, d, as(alice), Entry{Action: "client.read", ClientID: "c1"})
		if _, err := p.DownTo(ctx, 1); err == nil {
			t.Fatal("rolled back the stripes although they hold records")
		}
		mustVerify(t, d, 2)
	})
}

// TestVerifyWhileWriting: records appended while Verify walks the log are
// not mistaken for tampering (it reads one snapshot).
func TestVerifyWhileWriting(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(as(alice))
		defer cancel()
		entries := make([]Entry, 200)
		for i := range entries {
			entries[i] = Entry{Action: "client.read", ClientID: fmt.Sprint(i)}
		}
		write(t, d, ctx, entries...)
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					d.Transact(ctx, func(tx *db.Tx) error { //nolint:errcheck // stops with ctx
						return Write(ctx, tx, Entry{Action: "client.update", ClientID: fmt.Sprint(w, i)}, Entry{Action: "client.read", ClientID: fmt.Sprint(w, i)})
					})
				}
			})
		}
		for range 10 {
			res, err := Verify(context.Background(), d)
			if err != nil || !res.OK() || res.Records < 200 {
				cancel()
				wg.Wait()
				t.Fatalf("Verify while writing = %+v, %v", res, err)
			}
		}
		cancel()
		wg.Wait()
		n, err := Count(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		mustVerify(t, d, n)
	})
}
