// SPDX-License-Identifier: AGPL-3.0-or-later

package bench

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/testenv"
)

// TestRunSmoke runs the whole harness on a small register — 2 000
// clients, one second per phase — and checks that every phase did work
// without errors and that the database stayed consistent: no cell over
// capacity or disagreeing with its occupants, and exactly one audit
// record per audited read, move and search hit.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a register")
	}
	path := filepath.Join(t.TempDir(), "bench.db")
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Config{DB: path, Clients: 2000, Duration: time.Second, Workers: 8, Seed: 1, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())
	if rep.Reused || rep.Clients != 2000 {
		t.Errorf("reused %v, clients %d; want a fresh load of 2000", rep.Reused, rep.Clients)
	}
	for _, p := range []Phase{rep.Reads, rep.Moves, rep.Search} {
		if p.Ops == 0 || p.Rate() <= 0 || p.P50 <= 0 || p.P99 < p.P50 {
			t.Errorf("%s: ops %d, rate %.1f, p50 %v, p99 %v", p.Name, p.Ops, p.Rate(), p.P50, p.P99)
		}
		if p.Errors != 0 {
			t.Errorf("%s: %d errors, first: %s", p.Name, p.Errors, p.FirstError)
		}
	}
	if rep.Admits == 0 || rep.Transfers == 0 {
		t.Errorf("admits %d, transfers %d; want both", rep.Admits, rep.Transfers)
	}
	if !rep.Check.OK() {
		t.Errorf("inconsistent: %+v", rep.Check)
	}
	if rep.Check.WantAuditReads != AuditedReadsPerPage*rep.Reads.Total || rep.Check.AuditReads == 0 {
		t.Errorf("audit records of reads: %d, want %d", rep.Check.AuditReads, AuditedReadsPerPage*rep.Reads.Total)
	}
	// Exact and identifying queries must find their person.
	for _, k := range []QueryKind{QNationalID, QClientNo} {
		if rep.Asked[k] > 0 && rep.Found[k] != rep.Asked[k] {
			t.Errorf("%s: found %d of %d", k, rep.Found[k], rep.Asked[k])
		}
	}
	if !strings.Contains(out.String(), "client page read") {
		t.Errorf("table lacks the read row:\n%s", out.String())
	}

	// A second run on the same file reuses the register.
	rep2, err := Run(context.Background(), Config{DB: path, Clients: 2000, Duration: 200 * time.Millisecond, Workers: 4, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !rep2.Reused || !rep2.Check.OK() {
		t.Errorf("second run: reused %v, check %+v", rep2.Reused, rep2.Check)
	}
	// The audit chain the benchmark wrote verifies.
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	v, err := audit.Verify(context.Background(), d)
	if err != nil || !v.OK() {
		t.Errorf("audit verify: %+v, %v", v, err)
	}
}

// TestRunPostgres is the smoke test on PostgreSQL, in a private schema.
func TestRunPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a register")
	}
	base := testenv.Postgres(t)
	dsn := privateSchema(t, base)
	rep, err := Run(context.Background(), Config{DB: dsn, Clients: 2000, Duration: time.Second, Workers: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())
	for _, p := range []Phase{rep.Reads, rep.Moves, rep.Search} {
		if p.Ops == 0 || p.Errors != 0 {
			t.Errorf("%s: ops %d, errors %d, first: %s", p.Name, p.Ops, p.Errors, p.FirstError)
		}
	}
	if !rep.Check.OK() {
		t.Errorf("inconsistent: %+v", rep.Check)
	}
}

// TestMoveCapacityUnderContention fills a tiny estate's last beds from
// many goroutines: the database must refuse what does not fit, and no
// cell may end over capacity.
func TestMoveCapacityUnderContention(t *testing.T) {
	f := fixture(t, 300)
	ctx := audit.WithActor(context.Background(), audit.System)
	// Offer only three cells and make the harness believe they have many
	// free beds, so moves race for beds the database does not have.
	f.Cells = f.Cells[:3]
	for _, c := range f.Cells {
		c.free = 1000
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	full := 0
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for range 40 {
				_, _, err := f.Move(ctx, r)
				if errors.Is(err, ErrFull) {
					mu.Lock()
					full++
					mu.Unlock()
				} else if err != nil && !strings.Contains(err.Error(), "no free bed") {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	var c Consistency
	if err := f.CheckCells(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if c.OverCapacity != 0 || c.Mismatched != 0 {
		t.Errorf("after contention: %d over capacity, %d mismatched", c.OverCapacity, c.Mismatched)
	}
	t.Logf("%d moves refused as full", full)
}

func TestQueriesMix(t *testing.T) {
	f := &Fixture{}
	for i := range 50 {
		f.People = append(f.People, &Person{ID: string(rune('a' + i)), Number: "K-0000001", GivenName: "Åsa Maria", FamilyName: "Sjöström", NationalID: "19900101-1234"})
	}
	qs := f.Queries(1000, 1)
	seen := map[QueryKind]int{}
	for _, q := range qs {
		seen[q.Kind]++
		if q.Text == "" || q.Target == "" {
			t.Fatalf("empty query %+v", q)
		}
		if q.Kind == QNoDiacrit && q.Text != "Asa Maria Sjostrom" {
			t.Errorf("folded %q", q.Text)
		}
	}
	for _, k := range QueryKinds {
		if seen[k] == 0 {
			t.Errorf("no %s queries", k)
		}
	}
	if a, b := f.Queries(100, 7), f.Queries(100, 7); a[42] != b[42] {
		t.Error("queries are not deterministic")
	}
}

// fixture loads a small register on SQLite.
func fixture(tb testing.TB, n int) *Fixture {
	tb.Helper()
	f, err := Open(context.Background(), filepath.Join(tb.TempDir(), "bench.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Close)
	if err := f.Ensure(context.Background(), n, 1, nil); err != nil {
		tb.Fatal(err)
	}
	return f
}

// privateSchema returns base with a search_path of a new schema, dropped
// when the test ends.
func privateSchema(tb testing.TB, base string) string {
	tb.Helper()
	admin, err := db.Open(context.Background(), base)
	if err != nil {
		tb.Fatal(err)
	}
	schema := "bench_" + strings.ToLower(db.RandomToken(6))
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE") //nolint:errcheck
		admin.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

const benchClients = 3000

// BenchmarkClientRead measures client page reads (Get + Timeline, two
// audited reads) on a register of 3 000 clients, from 16 goroutines per
// CPU like the harness's default users (see runParallel). Use -cpu and
// -benchtime to vary.
func BenchmarkClientRead(b *testing.B) {
	f := fixture(b, benchClients)
	ctx := audit.WithActor(context.Background(), audit.System)
	runParallel(b, 1, func(r *rand.Rand) error { return f.ReadPage(ctx, r) })
}

// BenchmarkMove measures admissions and transfers (MoveClient) from
// 16 goroutines per CPU; a move refused as full counts as done.
func BenchmarkMove(b *testing.B) {
	f := fixture(b, benchClients)
	ctx := audit.WithActor(context.Background(), audit.System)
	runParallel(b, 2, func(r *rand.Rand) error {
		if _, _, err := f.Move(ctx, r); err != nil && !errors.Is(err, ErrFull) {
			return err
		}
		return nil
	})
}

// runParallel runs op with b.RunParallel from 16×GOMAXPROCS goroutines
// (an audited operation mostly waits for its commit, so fewer would
// measure latency rather than capacity), each with its own random
// source; stream keeps the benchmarks' sources apart. The first error
// fails b and stops its goroutine.
func runParallel(b *testing.B, stream uint64, op func(r *rand.Rand) error) {
	b.SetParallelism(16)
	b.ResetTimer()
	var seed atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(seed.Add(1), stream))
		for pb.Next() {
			if err := op(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSearch measures one search at a time over the query mix,
// reporting p50 and p99.
func BenchmarkSearch(b *testing.B) {
	f := fixture(b, benchClients)
	ctx := audit.WithActor(context.Background(), audit.System)
	qs := f.Queries(5000, 1)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := f.Search(ctx, qs[i%len(qs)]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(Percentile(lat, 50))/1e6, "p50-ms")
	b.ReportMetric(float64(Percentile(lat, 99))/1e6, "p99-ms")
}
