// SPDX-License-Identifier: AGPL-3.0-or-later

package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

var (
	alice = Actor{ID: "staff-alice", Name: "Alice Andersson", Role: "officer", Remote: "10.0.0.1"}
	bob   = Actor{ID: "staff-bob", Name: "Bob Berg", Role: "nurse", Remote: "10.0.0.2"}
)

func as(a Actor) context.Context { return WithActor(context.Background(), a) }

// write appends entries as a in one transaction.
func write(t *testing.T, d *db.DB, ctx context.Context, entries ...Entry) {
	t.Helper()
	if err := d.Transact(ctx, func(tx *db.Tx) error { return Write(ctx, tx, entries...) }); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustVerify(t *testing.T, d *db.DB, records int64) {
	t.Helper()
	res, err := Verify(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.BadSeq != 0 || res.Records != records {
		t.Fatalf("Verify = %+v, want a clean chain of %d records", res, records)
	}
}

// seqsOf lists the stored seqs in order.
func seqsOf(t *testing.T, d *db.DB) []int64 {
	t.Helper()
	rows, err := d.Query(`SELECT seq FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// rehash alters record seq and recomputes its own hash, so only the chain
// around it can betray the change.
func rehash(t *testing.T, d *db.DB, seq int64) {
	t.Helper()
	dbtest.Exec(t, d, fmt.Sprintf(`UPDATE audit_log SET detail = 'nothing to see' WHERE seq = %d`, seq))
	var r Record
	rows, err := d.Query(`SELECT `+recordCols+` FROM audit_log WHERE seq = $1`, seq)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		if r, err = scanRecord(rows); err != nil {
			t.Fatal(err)
		}
	}
	rows.Close()
	if _, err := d.Exec(`UPDATE audit_log SET hash = $1 WHERE seq = $2`, hashOf(&r), seq); err != nil {
		t.Fatal(err)
	}
}

func TestWriteCommitsWithTransaction(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		dbtest.Exec(t, d, `CREATE TABLE thing (id TEXT PRIMARY KEY)`)
		ctx := as(alice)
		at := time.Date(2025, 5, 6, 7, 8, 9, 10_000_000, time.UTC)
		d.SetClock(func() time.Time { return at })
		err := d.Transact(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(`INSERT INTO thing (id) VALUES ('t1')`); err != nil {
				return err
			}
			return Write(ctx, tx, Entry{Action: "thing.create", ClientID: "c1", ObjectType: "thing", ObjectID: "t1", Detail: "fields=id"})
		})
		if err != nil {
			t.Fatal(err)
		}
		l := NewLog(d)
		defer l.Close()
		recs, err := l.Search(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 {
			t.Fatalf("%d records, want 1", len(recs))
		}
		r := recs[0]
		want := Record{Seq: 1, ID: r.ID, At: at, ActorID: alice.ID, ActorName: alice.Name, Role: alice.Role, Action: "thing.create",
			ClientID: "c1", ObjectType: "thing", ObjectID: "t1", Remote: alice.Remote, Detail: "fields=id",
			PrevHash: strings.Repeat("0", 64), Hash: r.Hash}
		if r != want {
			t.Fatalf("stored\n%+v\nwant\n%+v", r, want)
		}
		if r.Hash != hashOf(&want) || len(r.ID) != 36 {
			t.Fatalf("hash %s / id %s", r.Hash, r.ID)
		}

		// Rolled back with the business change.
		boom := errors.New("boom")
		err = d.Transact(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(`INSERT INTO thing (id) VALUES ('t2')`); err != nil {
				return err
			}
			if err := Write(ctx, tx, Entry{Action: "thing.create", ClientID: "c1", ObjectID: "t2"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if n := count(t, d); n != 1 {
			t.Fatalf("%d records after rollback, want 1", n)
		}
		mustVerify(t, d, 1) // the head rolled back too

		// Nothing is written anonymously; WriteAs names its actor.
		err = d.Transact(context.Background(), func(tx *db.Tx) error {
			return Write(context.Background(), tx, Entry{Action: "thing.create"})
		})
		if err == nil {
			t.Fatal("Write without an actor succeeded")
		}
		err = d.Transact(context.Background(), func(tx *db.Tx) error {
			return WriteAs(context.Background(), tx, Actor{ID: "u1", Name: "U", Role: "anonymous"}, Entry{Action: "auth.login_failed"})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.RecordRead(context.Background(), Entry{Action: "client.read"}); err == nil {
			t.Fatal("RecordRead without an actor succeeded")
		}
		mustVerify(t, d, 2)
	})
}

// TestManyEntriesInOneWrite: more entries than fit in one statement's
// parameters on SQLite (32766 / 16 columns) still land as one chain.
func TestManyEntriesInOneWrite(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := as(alice)
		write(t, d, ctx, Entry{Action: "client.read", ClientID: "c0"})
		entries := make([]Entry, 5100) // also makes Verify page (5000 a page)
		for i := range entries {
			entries[i] = Entry{Action: "export.read", ClientID: fmt.Sprintf("c%d", i)}
		}
		write(t, d, ctx, entries...)
		write(t, d, ctx, Entry{Action: "client.read", ClientID: "c0"})
		mustVerify(t, d, 5102)
		// One transaction, one stripe: the big write is stripe 2, seqs 2,
		// 18, … 2+16·5099; the single writes around it stripes 1 and 3.
		var last int64
		if err := d.QueryRow(`SELECT MAX(seq) FROM audit_log`).Scan(&last); err != nil || last != 2+16*5099 {
			t.Fatalf("last seq %d, %v", last, err)
		}
		// A record altered on the second page is still found.
		const bad = 2 + 16*5050
		dbtest.Exec(t, d, fmt.Sprintf(`UPDATE audit_log SET client_id = 'cX' WHERE seq = %d`, bad))
		res, err := Verify(context.Background(), d)
		if err != nil || res.BadSeq != bad {
			t.Fatalf("Verify = %+v, %v; want bad seq %d", res, err, bad)
		}
	})
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	// forge computes a record as the hash chain would, so only the chain's
	// structure (not a bad hash) can betray it.
	forge := func(t *testing.T, d *db.DB, seq int64, prevHash string) {
		r := Record{Seq: seq, ID: db.NewID(), At: time.Now().UTC().Truncate(time.Millisecond), ActorID: "mallory", ActorName: "M",
			Role: "officer", Action: "client.read", ClientID: "c1", PrevHash: prevHash}
		r.Hash = hashOf(&r)
		_, err := d.Exec(`INSERT INTO audit_log (seq, id, at, actor_id, actor_name, role, action, client_id, break_glass, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10)`, r.Seq, r.ID, db.FormatTime(r.At), r.ActorID, r.ActorName, r.Role, r.Action, r.ClientID, r.PrevHash, r.Hash)
		if err != nil {
			t.Fatal(err)
		}
	}
	hashAt := func(t *testing.T, d *db.DB, seq int64) string {
		var h string
		if err := d.QueryRow(`SELECT hash FROM audit_log WHERE seq = $1`, seq).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	exec := func(t *testing.T, d *db.DB, q string, args ...any) {
		t.Helper()
		if _, err := d.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	zero := strings.Repeat("0", 64)
	// The clean log (see below) has three stripes: 1 holds seqs 1, 17;
	// 2 holds 2, 18, 34; 3 holds 3. Stripes 4..16 are empty.
	cases := []struct {
		name   string
		tamper func(t *testing.T, d *db.DB)
		bad    int64 // 0: the chain must verify (clean) or a head row is wrong
	}{
		{"clean", func(*testing.T, *db.DB) {}, 0},
		{"actor name changed", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `UPDATE audit_log SET actor_name = 'Someone Else' WHERE seq = 18`)
		}, 18},
		{"client changed", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `UPDATE audit_log SET client_id = 'c2' WHERE seq = 2`)
		}, 2},
		{"break-glass flag cleared", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `UPDATE audit_log SET break_glass = 0 WHERE seq = 34`)
		}, 34},
		{"time moved by a millisecond", func(t *testing.T, d *db.DB) {
			var at string
			d.QueryRow(`SELECT at FROM audit_log WHERE seq = 3`).Scan(&at) //nolint:errcheck
			exec(t, d, `UPDATE audit_log SET at = $1 WHERE seq = 3`, db.FormatTime(db.MustTime(at).Add(time.Millisecond)))
		}, 3},
		{"record altered and rehashed", func(t *testing.T, d *db.DB) {
			rehash(t, d, 18)
		}, 34}, // the next record of its stripe no longer links to it
		{"last record of a stripe altered and rehashed", func(t *testing.T, d *db.DB) {
			rehash(t, d, 17)
		}, 33}, // its head no longer points at it
		{"two stripes altered", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `UPDATE audit_log SET detail = 'x' WHERE seq = 18`, `UPDATE audit_log SET detail = 'x' WHERE seq = 3`)
		}, 3}, // the lowest
		{"middle record deleted", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `DELETE FROM audit_log WHERE seq = 18`)
		}, 34}, // record 34 no longer follows 2
		{"first record deleted", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `DELETE FROM audit_log WHERE seq = 1`)
		}, 17},
		{"first record of another stripe deleted", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `DELETE FROM audit_log WHERE seq = 2`)
		}, 18},
		{"last record of a stripe deleted", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `DELETE FROM audit_log WHERE seq = 34`)
		}, 34}, // its head still says 34
		{"only record of a stripe deleted", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `DELETE FROM audit_log WHERE seq = 3`)
		}, 3},
		{"tails of two stripes deleted", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `DELETE FROM audit_log WHERE seq IN (17, 34)`)
		}, 17},
		{"all records deleted", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `DELETE FROM audit_log`)
		}, 1},
		{"forged record appended behind a head", func(t *testing.T, d *db.DB) {
			forge(t, d, 33, hashAt(t, d, 17))
		}, 33},
		{"forged record in an empty stripe", func(t *testing.T, d *db.DB) {
			forge(t, d, 4, zero)
		}, 4},
		{"forged record after a gap", func(t *testing.T, d *db.DB) {
			forge(t, d, 66, hashAt(t, d, 34))
		}, 66}, // stripe 2 expects 50 next
		{"forged record before the first", func(t *testing.T, d *db.DB) {
			forge(t, d, 0, zero)
		}, 0},
		{"forged record with a negative seq", func(t *testing.T, d *db.DB) {
			forge(t, d, -5, zero)
		}, -5},
		{"head moved back", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_head SET seq = 18, hash = $1 WHERE id = 2`, hashAt(t, d, 18))
		}, 34},
		{"head of an empty stripe moved on", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_head SET seq = 5, hash = $1 WHERE id = 5`, hashAt(t, d, 3))
		}, 5}, // it claims a record 5
		{"origin moved", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `UPDATE audit_head SET seq = 2 WHERE id = 0`)
		}, 2}, // record 2 does not continue a chain from before striping
		{"a stripe's head removed", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `DELETE FROM audit_head WHERE id = 7`)
		}, 0},
		{"the origin removed", func(t *testing.T, d *db.DB) {
			dbtest.Exec(t, d, `DELETE FROM audit_head WHERE id = 0`)
		}, 0},
		{"a head row added", func(t *testing.T, d *db.DB) {
			exec(t, d, `INSERT INTO audit_head (id, seq, hash) VALUES (17, 1, $1)`, zero)
		}, 0},
	}
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := as(alice)
		// One schema per engine; each case works on its own copy of a
		// clean six-record log.
		dbtest.Exec(t, d, `CREATE TABLE pristine_log AS SELECT * FROM audit_log`, `CREATE TABLE pristine_head AS SELECT * FROM audit_head`)
		write(t, d, ctx, Entry{Action: "client.read", ClientID: "c1"}, Entry{Action: "client.read", ClientID: "c1"})
		write(t, d, WithBreakGlass(as(bob), "c1", "medical emergency"),
			Entry{Action: "health.read", ClientID: "c1", Detail: "fields=allergies"},
			Entry{Action: "client.read", ClientID: "c3"},
			Entry{Action: "health.note", ClientID: "c1"})
		write(t, d, ctx, Entry{Action: "client.update", ClientID: "c1"})
		if got := seqsOf(t, d); !slices.Equal(got, []int64{1, 2, 3, 17, 18, 34}) {
			t.Fatalf("seqs %v", got)
		}
		dbtest.Exec(t, d, `DELETE FROM pristine_log`, `DELETE FROM pristine_head`,
			`INSERT INTO pristine_log SELECT * FROM audit_log`, `INSERT INTO pristine_head SELECT * FROM audit_head`)
		mustVerify(t, d, 6)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				dbtest.Exec(t, d, `DELETE FROM audit_log`, `DELETE FROM audit_head`,
					`INSERT INTO audit_log SELECT * FROM pristine_log`, `INSERT INTO audit_head SELECT * FROM pristine_head`)
				c.tamper(t, d)
				res, err := Verify(context.Background(), d)
				if err != nil {
					t.Fatal(err)
				}
				if c.name == "clean" {
					if !res.OK() || res.Records != 6 || res.BadSeq != 0 {
						t.Fatalf("clean log: %+v", res)
					}
					return
				}
				if res.OK() {
					t.Fatalf("tampering not detected: %+v", res)
				}
				if res.BadSeq != c.bad {
					t.Fatalf("BadSeq = %d, want %d (%s)", res.BadSeq, c.bad, res.Problem)
				}
			})
		}
		// Missing heads are reported, not an error.
		dbtest.Exec(t, d, `DELETE FROM audit_head`)
		if res, err := Verify(context.Background(), d); err != nil || res.OK() {
			t.Fatalf("missing head: %+v, %v", res, err)
		}
	})
}

func TestEmptyLogVerifies(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { mustVerify(t, d, 0) })
}

// TestRecordReadGroupCommit: concurrent reads queue while the chain is
// busy and then share a few commits; every one lands, in one valid chain.
func TestRecordReadGroupCommit(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		var txs atomic.Int64
		d.SetClock(func() time.Time { txs.Add(1); return time.Now() })
		l := NewLog(d)
		defer l.Close()

		// Hold the chain head so that the writer cannot commit.
		locked, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			held <- d.Transact(context.Background(), func(tx *db.Tx) error {
				// Every stripe's head: on PostgreSQL a free one would do.
				if _, err := tx.Exec(`UPDATE audit_head SET seq = seq WHERE id > 0`); err != nil {
					return err
				}
				close(locked)
				<-release
				return nil
			})
		}()
		<-locked
		before := txs.Load()

		const n = 300
		actors := []Actor{alice, bob}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				ctx := as(actors[i%2])
				errs <- l.RecordRead(ctx, Entry{Action: "client.read", ClientID: fmt.Sprintf("c%03d", i)})
			})
		}
		// Wait for (nearly) all reads to queue behind the held lock.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			l.mu.Lock()
			queued := len(l.pending)
			l.mu.Unlock()
			if queued >= n-20 {
				break
			}
		}
		select {
		case err := <-errs:
			t.Fatalf("a read returned (%v) before its record could be committed", err)
		default:
		}
		close(release)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if commits := txs.Load() - before; commits > 25 {
			t.Errorf("%d reads took %d transactions; they are not group-committed", n, commits)
		}
		mustVerify(t, d, n)
		recs, err := l.Search(context.Background(), Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		stripes := map[int64]bool{}
		for i, r := range recs {
			if i > 0 && (r.At.After(recs[i-1].At) || r.At.Equal(recs[i-1].At) && r.Seq >= recs[i-1].Seq) {
				t.Fatalf("record %d (%v, %d) after (%v, %d): not newest first", i, r.At, r.Seq, recs[i-1].At, recs[i-1].Seq)
			}
			stripes[stripeOf(r.Seq)] = true
			var idx int
			fmt.Sscanf(r.ClientID, "c%03d", &idx) //nolint:errcheck
			want := actors[idx%2]
			if r.ActorID != want.ID || r.Remote != want.Remote || seen[r.ClientID] {
				t.Fatalf("record %+v: wrong actor or duplicate", r)
			}
			seen[r.ClientID] = true
		}
		// A group commit appends to one stripe.
		if commits := txs.Load() - before; int64(len(stripes)) > commits {
			t.Errorf("%d stripes used by %d transactions", len(stripes), commits)
		}
		if len(seen) != n {
			t.Fatalf("%d distinct reads recorded, want %d", len(seen), n)
		}

		// A read bigger than one batch still lands whole.
		big := make([]Entry, 2*maxBatch+1)
		for i := range big {
			big[i] = Entry{Action: "client.read", ClientID: "big"}
		}
		if err := l.RecordRead(as(alice), big...); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, d, int64(n+len(big)))
	})
}

func TestRecordReadAfterClose(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	l := NewLog(d)
	if err := l.RecordRead(as(alice), Entry{Action: "client.read", ClientID: "c1"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l.Close() // idempotent
	done := make(chan error, 1)
	go func() { done <- l.RecordRead(as(alice), Entry{Action: "client.read", ClientID: "c2"}) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("RecordRead after Close reported success")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RecordRead after Close hangs")
	}
	// A cancelled caller is not kept waiting either.
	ctx, cancel := context.WithCancel(as(alice))
	cancel()
	l2 := NewLog(d)
	defer l2.Close()
	if err := l2.RecordRead(ctx, Entry{Action: "client.read"}); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestSearchAndWhoAccessed(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		day := func(n int) time.Time { return time.Date(2025, 1, n, 12, 0, 0, 0, time.UTC) }
		at := day(1)
		d.SetClock(func() time.Time { return at })
		l := NewLog(d)
		defer l.Close()
		step := func(when time.Time, ctx context.Context, entries ...Entry) {
			at = when
			write(t, d, ctx, entries...)
		}
		step(day(1), as(alice), Entry{Action: "client.read", ClientID: "c1"})                                  // 1
		step(day(2), as(alice), Entry{Action: "client.update", ClientID: "c1"})                                // 2
		step(day(3), as(bob), Entry{Action: "client.read", ClientID: "c2"})                                    // 3
		step(day(4), WithBreakGlass(as(bob), "c1", "emergency"), Entry{Action: "health.view", ClientID: "c1"}) // 4
		step(day(5), as(alice), Entry{Action: "auth.login"})                                                   // 5
		at = day(6)
		if err := l.RecordRead(as(alice), Entry{Action: "client.read", ClientID: "c1"}); err != nil { // 6
			t.Fatal(err)
		}

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
			{"all, newest first", Filter{}, []int64{6, 5, 4, 3, 2, 1}},
			{"client", Filter{ClientID: "c1"}, []int64{6, 4, 2, 1}},
			{"staff", Filter{ActorID: bob.ID}, []int64{4, 3}},
			{"client and staff", Filter{ClientID: "c1", ActorID: alice.ID}, []int64{6, 2, 1}},
			{"period [from, to)", Filter{From: day(2), To: day(4)}, []int64{3, 2}},
			{"from only", Filter{From: day(5)}, []int64{6, 5}},
			{"to only", Filter{To: day(2).Add(time.Millisecond)}, []int64{2, 1}},
			{"period in another zone", Filter{From: day(3).In(time.FixedZone("X", 5*3600)), To: day(3).Add(time.Hour)}, []int64{3}},
			{"action prefix", Filter{Action: "client."}, []int64{6, 3, 2, 1}},
			{"break glass only", Filter{BreakGlassOnly: true}, []int64{4}},
			{"page", Filter{Limit: 2}, []int64{6, 5}},
			{"next page", Filter{Limit: 2, BeforeSeq: 5}, []int64{4, 3}},
			{"nobody", Filter{ClientID: "c9"}, nil},
		} {
			if got := seqs(c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}

		who, err := l.WhoAccessed(context.Background(), "c1")
		if err != nil {
			t.Fatal(err)
		}
		want := []Access{
			{ActorID: alice.ID, ActorName: alice.Name, Role: alice.Role, Reads: 2, Writes: 1, First: day(1), Last: day(6)},
			{ActorID: bob.ID, ActorName: bob.Name, Role: bob.Role, Reads: 1, BreakGlass: 1, First: day(4), Last: day(4)},
		}
		if !slices.Equal(who, want) {
			t.Fatalf("WhoAccessed(c1) =\n%+v\nwant\n%+v", who, want)
		}
		if who, err := l.WhoAccessed(context.Background(), "c9"); err != nil || len(who) != 0 {
			t.Fatalf("WhoAccessed(nobody) = %v, %v", who, err)
		}
	})
}

func TestBreakGlass(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		// Each transaction a millisecond after the last: results are
		// ordered by time first.
		var tick atomic.Int64
		base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
		d.SetClock(func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Millisecond) })
		l := NewLog(d)
		defer l.Close()
		ctx := WithBreakGlass(as(bob), "c1", "cell alarm, injured")
		write(t, d, ctx,
			Entry{Action: "health.read", ClientID: "c1"},
			Entry{Action: "client.read", ClientID: "c2"},
			Entry{Action: "health.read", ClientID: "c1", Reason: "own reason"})
		if err := l.RecordRead(ctx, Entry{Action: "client.read", ClientID: "c1"}, Entry{Action: "client.read", ClientID: "c3"}); err != nil {
			t.Fatal(err)
		}
		write(t, d, as(bob), Entry{Action: "client.read", ClientID: "c1"}) // no grant in this context
		recs, err := l.Search(context.Background(), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		type flagged struct {
			client string
			bg     bool
			reason string
		}
		var gotList []flagged // oldest first
		for _, r := range slices.Backward(recs) {
			gotList = append(gotList, flagged{r.ClientID, r.BreakGlass, r.Reason})
		}
		want := []flagged{
			{"c1", true, "cell alarm, injured"},
			{"c2", false, ""},
			{"c1", true, "own reason"},
			{"c1", true, "cell alarm, injured"},
			{"c3", false, ""},
			{"c1", false, ""},
		}
		if !slices.Equal(gotList, want) {
			t.Fatalf("got %v, want %v", gotList, want)
		}
		mustVerify(t, d, 6)
		bg, err := l.Search(context.Background(), Filter{BreakGlassOnly: true, ActorID: bob.ID})
		if err != nil || len(bg) != 3 {
			t.Fatalf("break-glass search: %d records, %v", len(bg), err)
		}
	})
}

// TestConcurrentWriters: business transactions writing audit rows at the
// same time still form one gapless chain (PostgreSQL runs READ COMMITTED).
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		const workers, each = 12, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := range workers {
			wg.Go(func() {
				ctx := as(Actor{ID: fmt.Sprintf("staff-%d", w), Name: "S", Role: "officer"})
				for i := range each {
					errs <- d.Transact(ctx, func(tx *db.Tx) error {
						return Write(ctx, tx, Entry{Action: "client.update", ClientID: fmt.Sprint(i)}, Entry{Action: "client.read", ClientID: fmt.Sprint(i)})
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
		mustVerify(t, d, workers*each*2)
		if n, err := Count(context.Background(), d); err != nil || n != workers*each*2 {
			t.Fatalf("Count = %d, %v", n, err)
		}
		stripes := map[int64]bool{}
		for _, s := range seqsOf(t, d) {
			stripes[stripeOf(s)] = true
		}
		if len(stripes) < 2 {
			t.Fatalf("%d transactions used %d stripes", workers*each, len(stripes))
		}
	})
}
