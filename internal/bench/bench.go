// SPDX-License-Identifier: AGPL-3.0-or-later

// Package bench measures the person register the way it is used: client
// page reads (audited), admissions and transfers (capacity-checked,
// audited, with an outbox event each), and person search over a register
// of 100 000 people — on SQLite or PostgreSQL. `custodia bench register`
// runs it and prints a table; bench_test.go runs the same operations as
// Go benchmarks and a smoke test.
//
// Everything measured goes through the real services (client.Service,
// audit.Log with its group commit, search) on a db.DB opened exactly as
// the application opens it; only the loading of the register is a
// fixture (see Fixture.load).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
)

// Config says what to measure.
type Config struct {
	// DB is a PostgreSQL URL or a SQLite file path; empty is a fresh
	// SQLite file in a temporary directory, removed afterwards.
	DB string
	// Clients is the size of the register (default 100 000).
	Clients int
	// Duration is how long each phase is measured (default 10 s), after
	// a warm-up of a tenth of it (at most 2 s) that is not measured.
	Duration time.Duration
	// Workers is the number of concurrent users in the read and move
	// phases (default DefaultWorkers()).
	Workers int
	// SearchWorkers is the number of concurrent searches (default
	// GOMAXPROCS).
	SearchWorkers int
	// Seed decides the generated register and the random choices.
	Seed int64
	// CPUProfile, when set, is a path prefix: each phase writes its CPU
	// profile to PREFIX.<phase>.pprof.
	CPUProfile string
	// Progress receives loading progress (nil: none).
	Progress io.Writer
}

// DefaultWorkers is the default number of concurrent users in the read
// and move phases: 16 per CPU. An audited read waits for the commit of
// its audit record, so one user spends most of a page read waiting for
// the disk, not using a CPU; the audit log commits the reads of all
// waiting users together (group commit), so throughput grows with the
// number of concurrent users until the CPUs are busy. 16 per CPU (32 on
// a 2-core server) is a modest number of staff with a page open at the
// same instant for a national deployment and enough to keep the CPUs
// busy; fewer measures latency more than capacity.
func DefaultWorkers() int { return 16 * runtime.GOMAXPROCS(0) }

// Phase is what one measured phase did.
type Phase struct {
	Name    string
	Workers int
	// Ops are the operations that succeeded in the measured window,
	// Errors those that failed, Refused the moves the database refused
	// because the cell was full (the capacity rule working).
	Ops, Errors, Refused int64
	FirstError           string
	Elapsed              time.Duration
	P50, P99, Max        time.Duration
	// Total counts successful operations including the warm-up, for the
	// audit consistency check.
	Total int64
	// CPU is how busy the machine was during the measured window.
	CPU CPUUse
}

// Rate is successful operations per second.
func (p Phase) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Ops) / p.Elapsed.Seconds()
}

// Report is the outcome of Run.
type Report struct {
	Engine     db.Dialect
	DB         string
	Clients    int
	Cells      int
	Reused     bool
	LoadTime   time.Duration
	GOMAXPROCS int
	Duration   time.Duration

	Reads, Moves, Search Phase
	// Admits and Transfers split Moves.Ops.
	Admits, Transfers int64
	// Found counts, per query kind, searches whose intended client was
	// among the hits, and searches run (measured window).
	Found, Asked map[QueryKind]int64
	// KindLatency is p50 and p99 of each query kind.
	KindLatency map[QueryKind][2]time.Duration

	Check Consistency
}

// Consistency is what the database looked like after the run.
type Consistency struct {
	// OverCapacity counts cells with more people than beds;
	// Mismatched cells whose counter disagrees with the clients in them.
	OverCapacity, Mismatched int
	// AuditReads, AuditMoves, AuditSearch are audit records each phase
	// added; the Want fields what the operations that succeeded should
	// have added (2 per page read, 1 per move, 1 per search hit shown).
	AuditReads, AuditMoves, AuditSearch             int64
	WantAuditReads, WantAuditMoves, WantAuditSearch int64
}

// OK reports whether the run left the database consistent.
func (c Consistency) OK() bool {
	return c.OverCapacity == 0 && c.Mismatched == 0 && c.AuditReads == c.WantAuditReads &&
		c.AuditMoves == c.WantAuditMoves && c.AuditSearch == c.WantAuditSearch
}

// Run loads (or reuses) the register and measures the three phases.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Clients <= 0 {
		cfg.Clients = 100000
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers()
	}
	if cfg.SearchWorkers <= 0 {
		cfg.SearchWorkers = runtime.GOMAXPROCS(0)
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	dsn, shown := cfg.DB, cfg.DB
	if dsn == "" {
		dir, err := os.MkdirTemp("", "custodia-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		dsn = filepath.Join(dir, "bench.db")
		shown = dsn + " (temporary, removed afterwards)"
	} else if u, err := url.Parse(dsn); err == nil && u.User != nil {
		shown = u.Redacted()
	}
	f, err := Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Ensure(ctx, cfg.Clients, cfg.Seed, cfg.Progress); err != nil {
		return nil, err
	}
	rep := &Report{Engine: f.DB.Dialect, DB: shown, Clients: len(f.People), Cells: len(f.Cells), Reused: f.Reused, LoadTime: f.LoadTime,
		GOMAXPROCS: runtime.GOMAXPROCS(0), Duration: cfg.Duration}
	actx := audit.WithActor(ctx, audit.System)
	warm := min(cfg.Duration/10, 2*time.Second)

	profile := func(name string, run func() error) error {
		if cfg.CPUProfile == "" {
			return run()
		}
		pf, err := os.Create(cfg.CPUProfile + "." + name + ".pprof")
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
		return run()
	}

	fmt.Fprintf(cfg.Progress, "measuring client page reads (%d workers, %v)\n", cfg.Workers, cfg.Duration)
	before, err := f.auditSeq(ctx)
	if err != nil {
		return nil, err
	}
	err = profile("read", func() error {
		rep.Reads = f.RunReads(actx, cfg.Workers, warm, cfg.Duration, cfg.Seed)
		return nil
	})
	if err != nil {
		return nil, err
	}
	after, err := f.auditSeq(ctx)
	if err != nil {
		return nil, err
	}
	rep.Check.AuditReads, rep.Check.WantAuditReads = after-before, AuditedReadsPerPage*rep.Reads.Total

	fmt.Fprintf(cfg.Progress, "measuring admissions and transfers (%d workers, %v)\n", cfg.Workers, cfg.Duration)
	before = after
	err = profile("move", func() error {
		rep.Moves, rep.Admits, rep.Transfers = f.RunMoves(actx, cfg.Workers, warm, cfg.Duration, cfg.Seed)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if after, err = f.auditSeq(ctx); err != nil {
		return nil, err
	}
	rep.Check.AuditMoves, rep.Check.WantAuditMoves = after-before, rep.Moves.Total

	fmt.Fprintf(cfg.Progress, "measuring search (%d workers, %v)\n", cfg.SearchWorkers, cfg.Duration)
	before = after
	var hits int64
	err = profile("search", func() error {
		rep.Search, rep.Found, rep.Asked, rep.KindLatency, hits = f.RunSearch(actx, cfg.SearchWorkers, warm, cfg.Duration, cfg.Seed)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if after, err = f.auditSeq(ctx); err != nil {
		return nil, err
	}
	rep.Check.AuditSearch, rep.Check.WantAuditSearch = after-before, hits

	if err := f.CheckCells(ctx, &rep.Check); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// auditSeq is the number of audit records written so far, read from the
// chain heads.
func (f *Fixture) auditSeq(ctx context.Context) (int64, error) {
	n, err := audit.Count(ctx, f.DB)
	if err != nil {
		return 0, fmt.Errorf("bench: audit count: %w", err)
	}
	return n, nil
}

// CheckCells counts cells over capacity and cells whose occupancy counter
// disagrees with the clients recorded in them.
func (f *Fixture) CheckCells(ctx context.Context, c *Consistency) error {
	if err := f.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM cells WHERE occupied > capacity OR occupied < 0`).Scan(&c.OverCapacity); err != nil {
		return fmt.Errorf("bench: check capacity: %w", err)
	}
	err := f.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM cells c WHERE c.occupied <> (SELECT COUNT(*) FROM clients k WHERE k.cell_id = c.id)`).Scan(&c.Mismatched)
	if err != nil {
		return fmt.Errorf("bench: check occupancy: %w", err)
	}
	return nil
}

// op is one operation of a phase; it returns its latency.
type op func(ctx context.Context, w int, r *rand.Rand) (time.Duration, error)

type workerResult struct {
	lat                 []time.Duration
	ops, errs, ref, tot int64
	firstErr            error
	lastEnd             time.Time
	admits, transfers   int64
	found, asked        map[QueryKind]int64
	kindLat             map[QueryKind][]time.Duration
	hits                int64
	// measuring is set while the worker's current operation is in the
	// measured window.
	measuring bool
}

// runPhase runs op on workers goroutines for warm+dur; operations that
// start in the last dur are measured.
func runPhase(ctx context.Context, name string, workers int, warm, dur time.Duration, seed int64, o op, setup func(w int, res *workerResult) op) (Phase, []*workerResult) {
	start := time.Now()
	measureFrom, end := start.Add(warm), start.Add(warm+dur)
	cpuCh := make(chan cpuSample, 1)
	cpuTimer := time.AfterFunc(warm, func() { cpuCh <- sampleCPU() })
	res := make([]*workerResult, workers)
	var wg sync.WaitGroup
	for w := range workers {
		res[w] = &workerResult{}
		f := o
		if setup != nil {
			f = setup(w, res[w])
		}
		wg.Add(1)
		go func(w int, wr *workerResult) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(seed), uint64(w)+1))
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				wr.measuring = !t0.Before(measureFrom)
				lat, err := f(ctx, w, r)
				switch {
				case errors.Is(err, ErrFull):
					if wr.measuring {
						wr.ref++
					}
				case err != nil:
					if wr.measuring {
						wr.errs++
					}
					if wr.firstErr == nil {
						wr.firstErr = err
					}
				default:
					wr.tot++
					if wr.measuring {
						wr.ops++
						wr.lat = append(wr.lat, lat)
					}
				}
				if wr.measuring {
					wr.lastEnd = time.Now()
				}
			}
		}(w, res[w])
	}
	wg.Wait()
	cpuTimer.Stop()
	p := Phase{Name: name, Workers: workers}
	select {
	case from := <-cpuCh:
		p.CPU = cpuBetween(from, sampleCPU())
	default:
	}
	var lat []time.Duration
	last := measureFrom
	for _, wr := range res {
		p.Ops += wr.ops
		p.Errors += wr.errs
		p.Refused += wr.ref
		p.Total += wr.tot
		lat = append(lat, wr.lat...)
		if wr.firstErr != nil && p.FirstError == "" {
			p.FirstError = wr.firstErr.Error()
		}
		if wr.lastEnd.After(last) {
			last = wr.lastEnd
		}
	}
	p.Elapsed = last.Sub(measureFrom)
	slices.Sort(lat)
	p.P50, p.P99 = Percentile(lat, 50), Percentile(lat, 99)
	if len(lat) > 0 {
		p.Max = lat[len(lat)-1]
	}
	return p, res
}

// Percentile returns the p-th percentile (0–100) of sorted durations
// (nearest rank).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// RunReads measures client page reads (ReadPage) by workers concurrent
// users; each times its Get and Timeline together.
func (f *Fixture) RunReads(ctx context.Context, workers int, warm, dur time.Duration, seed int64) Phase {
	p, _ := runPhase(ctx, "client page read", workers, warm, dur, seed, func(ctx context.Context, _ int, r *rand.Rand) (time.Duration, error) {
		t0 := time.Now()
		err := f.ReadPage(ctx, r)
		return time.Since(t0), err
	}, nil)
	return p
}

// RunMoves measures admissions and transfers (Move) by workers concurrent
// users; each times its MoveClient call.
func (f *Fixture) RunMoves(ctx context.Context, workers int, warm, dur time.Duration, seed int64) (Phase, int64, int64) {
	p, res := runPhase(ctx, "admission or transfer", workers, warm, dur, seed, nil, func(_ int, wr *workerResult) op {
		return func(ctx context.Context, _ int, r *rand.Rand) (time.Duration, error) {
			kind, took, err := f.Move(ctx, r)
			if err == nil && wr.measuring {
				if kind == MoveAdmit {
					wr.admits++
				} else {
					wr.transfers++
				}
			}
			return took, err
		}
	})
	var admits, transfers int64
	for _, wr := range res {
		admits += wr.admits
		transfers += wr.transfers
	}
	return p, admits, transfers
}

// RunSearch measures searches by workers concurrent users over a
// deterministic mix of queries (Queries).
func (f *Fixture) RunSearch(ctx context.Context, workers int, warm, dur time.Duration, seed int64) (Phase, map[QueryKind]int64, map[QueryKind]int64, map[QueryKind][2]time.Duration, int64) {
	qs := f.Queries(20000, seed)
	p, res := runPhase(ctx, "search", workers, warm, dur, seed, nil, func(w int, wr *workerResult) op {
		wr.found, wr.asked, wr.kindLat = map[QueryKind]int64{}, map[QueryKind]int64{}, map[QueryKind][]time.Duration{}
		next := w * len(qs) / workers
		return func(ctx context.Context, _ int, _ *rand.Rand) (time.Duration, error) {
			q := qs[next%len(qs)]
			next++
			t0 := time.Now()
			found, n, err := f.search(ctx, q)
			took := time.Since(t0)
			if err == nil {
				wr.hits += int64(n)
				if wr.measuring {
					wr.kindLat[q.Kind] = append(wr.kindLat[q.Kind], took)
					wr.asked[q.Kind]++
					if found {
						wr.found[q.Kind]++
					}
				}
			}
			return took, err
		}
	})
	found, asked := map[QueryKind]int64{}, map[QueryKind]int64{}
	lat := map[QueryKind][]time.Duration{}
	var hits int64
	for _, wr := range res {
		for k, v := range wr.kindLat {
			lat[k] = append(lat[k], v...)
		}
		for k, v := range wr.found {
			found[k] += v
		}
		for k, v := range wr.asked {
			asked[k] += v
		}
		hits += wr.hits
	}
	pct := map[QueryKind][2]time.Duration{}
	for k, v := range lat {
		slices.Sort(v)
		pct[k] = [2]time.Duration{Percentile(v, 50), Percentile(v, 99)}
	}
	return p, found, asked, pct, hits
}

// search is Search that also says how many hits were shown (each one an
// audited read).
func (f *Fixture) search(ctx context.Context, q Query) (bool, int, error) {
	hits, err := f.Clients.Search(ctx, Searcher, q.Text, SearchLimit)
	if err != nil {
		return false, 0, fmt.Errorf("search %q: %w", q.Text, err)
	}
	for _, h := range hits {
		if h.ID == q.Target {
			return true, len(hits), nil
		}
	}
	return false, len(hits), nil
}

// Targets the README states for a 2-core server.
const (
	TargetReads    = 3000.0                // audited reads per second
	TargetWrites   = 1000.0                // admissions + transfers per second
	TargetSearch99 = 50 * time.Millisecond // search p99
)

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	load := "loaded in " + r.LoadTime.Round(100*time.Millisecond).String()
	if r.Reused {
		load = "reused"
	}
	fmt.Fprintf(w, "custodia bench register — %s, %s\n", r.Engine, r.DB)
	fmt.Fprintf(w, "%d clients (%s), %d cells, GOMAXPROCS %d, %v measured per phase\n\n", r.Clients, load, r.Cells, r.GOMAXPROCS, r.Duration)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tworkers\tops\tper second\tp50\tp99\tmax\terrors\ttarget\t")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	row := func(p Phase, target string) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%d\t%s\t\n", p.Name, p.Workers, p.Ops, p.Rate(), ms(p.P50), ms(p.P99), ms(p.Max), p.Errors, target)
	}
	auditRate := r.Reads.Rate() * AuditedReadsPerPage
	row(r.Reads, fmt.Sprintf("≥ %.0f audited reads/s: %.0f, %s", TargetReads, auditRate, mark(auditRate >= TargetReads)))
	row(r.Moves, fmt.Sprintf("≥ %.0f/s: %s", TargetWrites, mark(r.Moves.Rate() >= TargetWrites)))
	row(r.Search, fmt.Sprintf("p99 < %v: %s", TargetSearch99, mark(r.Search.P99 < TargetSearch99)))
	tw.Flush()
	fmt.Fprintf(w, "\nA client page read is client.Service.Get + Timeline: %d audit records, each committed before the call returns.\n", AuditedReadsPerPage)
	fmt.Fprintf(w, "Moves timed: the MoveClient call only (legal bases were recorded when loading): %d admissions, %d transfers; %d refused as full.\n",
		r.Admits, r.Transfers, r.Moves.Refused)
	fmt.Fprintf(w, "Search: client.Service.Search, caseload everywhere, %d hits per page; by kind of query:\n", SearchLimit)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  query\tsearches\tperson found\tp50\tp99\t")
	for _, k := range QueryKinds {
		if r.Asked[k] == 0 {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%d\t%.1f %%\t%s\t%s\t\n", k, r.Asked[k], 100*float64(r.Found[k])/float64(r.Asked[k]), ms(r.KindLatency[k][0]), ms(r.KindLatency[k][1]))
	}
	tw.Flush()
	for _, p := range []Phase{r.Reads, r.Moves, r.Search} {
		if p.CPU.Known {
			fmt.Fprintf(w, "CPU during %s: %.0f %% of the machine busy, %.0f %% by this process, %.0f %% by others (the database server, or anything else running).\n",
				p.Name, 100*p.CPU.Host, 100*p.CPU.Self, 100*max(0, p.CPU.Host-p.CPU.Self))
		}
	}
	c := r.Check
	fmt.Fprintf(w, "Consistency: %d cells over capacity, %d cells whose counter disagrees with their occupants; audit records added by reads %d (want %d), moves %d (want %d), search %d (want %d): %s\n",
		c.OverCapacity, c.Mismatched, c.AuditReads, c.WantAuditReads, c.AuditMoves, c.WantAuditMoves, c.AuditSearch, c.WantAuditSearch, map[bool]string{true: "OK", false: "INCONSISTENT"}[c.OK()])
	for _, p := range []Phase{r.Reads, r.Moves, r.Search} {
		if p.FirstError != "" {
			fmt.Fprintf(w, "First error in %s: %s\n", p.Name, strings.TrimSpace(p.FirstError))
		}
	}
}
