// SPDX-License-Identifier: AGPL-3.0-or-later

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/custodia/custodia/internal/bench"
)

// runBench is `custodia bench register`: load (or reuse) a register of
// generated people and measure audited client page reads, admissions and
// transfers, and search. See internal/bench and docs/performance.md.
func runBench(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("bench register", flag.ContinueOnError)
	fs.SetOutput(errOut)
	dbURL := fs.String("db", "", "database to measure: a postgres:// URL or a SQLite file path; an empty database is loaded, one already holding --clients clients is reused; default: a fresh SQLite file in a temporary directory, removed afterwards")
	clients := fs.Int("clients", 100000, "number of clients in the register")
	duration := fs.Duration("duration", 10*time.Second, "how long each phase (reads, moves, search) is measured, after an unmeasured warm-up of a tenth of it")
	workers := fs.Int("workers", 0, fmt.Sprintf("concurrent users in the read and move phases (default 16 per CPU: %d)", bench.DefaultWorkers()))
	searchWorkers := fs.Int("search-workers", 0, fmt.Sprintf("concurrent searches (default one per CPU: %d)", runtime.GOMAXPROCS(0)))
	seed := fs.Int64("seed", 1, "seed of the generated register and of the random choices: the same seed gives the same people and queries")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of each phase to PREFIX.read.pprof, PREFIX.move.pprof and PREFIX.search.pprof")
	quiet := fs.Bool("quiet", false, "do not report loading progress on standard error")
	if len(args) == 0 || args[0] != "register" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprintln(out, "Usage: custodia bench register [flags]\n\nMeasures client page reads, admissions and transfers, and search on SQLite or PostgreSQL.\n\nFlags:")
			fs.SetOutput(out)
			fs.PrintDefaults()
			return flag.ErrHelp
		}
		return fmt.Errorf("bench: name the area to measure: custodia bench register [flags]")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench register: unexpected argument %q", fs.Arg(0))
	}
	progress := errOut
	if *quiet {
		progress = io.Discard
	}
	rep, err := bench.Run(ctx, bench.Config{DB: *dbURL, Clients: *clients, Duration: *duration, Workers: *workers, SearchWorkers: *searchWorkers,
		Seed: *seed, CPUProfile: *cpuProfile, Progress: progress})
	if rep != nil {
		rep.Print(out)
	}
	if err != nil {
		return err
	}
	if !rep.Check.OK() {
		return fmt.Errorf("bench: the database is inconsistent after the run (see above)")
	}
	return nil
}
