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
	if len(args) > 0 && args[0] == "placement" {
		return runBenchPlacement(ctx, args[1:], out, errOut)
	}
	if len(args) > 0 && args[0] == "registrations" {
		return runBenchRegistrations(ctx, args[1:], out, errOut)
	}
	if len(args) == 0 || args[0] != "register" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprintln(out, "Usage: custodia bench register [flags]\n\nMeasures client page reads, admissions and transfers, and search on SQLite or PostgreSQL.\n\nFlags:")
			fs.SetOutput(out)
			fs.PrintDefaults()
			rfs, _ := registrationFlags(out)
			fmt.Fprintln(out, "\nUsage: custodia bench registrations [flags]\n\nMeasures durable registrations per second with concurrent writers on SQLite or PostgreSQL.\n\nFlags:")
			rfs.PrintDefaults()
			fmt.Fprintln(out, "\nUsage: custodia bench placement [flags]   (custodia bench placement -h for its flags)\n\nRuns the placement optimiser and the greedy baseline on a generated or loaded instance.")
			return flag.ErrHelp
		}
		return fmt.Errorf("bench: name the area to measure: custodia bench register|registrations|placement [flags]")
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

type regFlagValues struct {
	db, cpuProfile *string
	writers        *int
	duration       *time.Duration
	seed           *int64
	quiet          *bool
}

func registrationFlags(errOut io.Writer) (*flag.FlagSet, regFlagValues) {
	fs := flag.NewFlagSet("bench registrations", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var v regFlagValues
	v.db = fs.String("db", "", "database to measure: a postgres:// URL or a SQLite file path; a small prison (clients, officers) is added to it; default: a fresh SQLite file in a temporary directory, removed afterwards")
	v.writers = fs.Int("writers", 0, fmt.Sprintf("concurrent officers submitting registrations (default 16 per CPU: %d)", bench.DefaultWorkers()))
	v.duration = fs.Duration("duration", 10*time.Second, "how long to measure, after an unmeasured warm-up of a tenth of it")
	v.seed = fs.Int64("seed", 1, "seed of the random choices (clients, officers, details)")
	v.cpuProfile = fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	v.quiet = fs.Bool("quiet", false, "do not report set-up progress on standard error")
	return fs, v
}

// runBenchRegistrations is `custodia bench registrations`: officers submit
// use-of-force registrations concurrently through the registration
// service; it prints durable registrations per second and latency, the
// last line being "<N> registrations/s p50 <ms> ms p99 <ms> ms".
func runBenchRegistrations(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, v := registrationFlags(errOut)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench registrations: unexpected argument %q", fs.Arg(0))
	}
	progress := errOut
	if *v.quiet {
		progress = io.Discard
	}
	rep, err := bench.RunRegistrations(ctx, bench.RegConfig{DB: *v.db, Writers: *v.writers, Duration: *v.duration, Seed: *v.seed, CPUProfile: *v.cpuProfile, Progress: progress})
	if rep != nil {
		rep.Print(out)
	}
	if err != nil {
		return err
	}
	if !rep.Check.OK() {
		return fmt.Errorf("bench: the database is inconsistent after the run (see above)")
	}
	if rep.Phase.Errors > 0 {
		return fmt.Errorf("bench: %d registrations failed (see above)", rep.Phase.Errors)
	}
	return nil
}

// runBenchPlacement is `custodia bench placement`: generate (or load) a
// placement instance, run the greedy baseline and the optimiser, and print
// time, objective, moves and violations of both. See docs/performance.md.
func runBenchPlacement(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("bench placement", flag.ContinueOnError)
	fs.SetOutput(errOut)
	clients := fs.Int("clients", 10000, "clients to place")
	places := fs.Int("places", 12000, "beds in the generated estate")
	nonassoc := fs.Int("nonassoc", 20000, "non-associations between the clients")
	seed := fs.Uint64("seed", 1, "seed of the generated instance and of the optimiser: the same seed gives the same result")
	save := fs.String("save", "", "write the instance to this file in the text format (docs/placement-format.md)")
	load := fs.String("load", "", "read the instance from this file instead of generating one")
	timeLimit := fs.Duration("time-limit", 10*time.Second, "stop the optimiser after this long (the result then depends on the machine)")
	effort := fs.Int("effort", 0, "local-search steps per client (default 200)")
	workers := fs.Int("workers", 0, fmt.Sprintf("independent searches side by side, the best wins (default one per CPU: %d)", runtime.GOMAXPROCS(0)))
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintln(out, "Usage: custodia bench placement [flags]\n\nGenerates or loads a placement instance, runs the greedy baseline and the optimiser, and prints time, objective, moves and violations.\n\nFlags:")
		fs.SetOutput(out)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench placement: unexpected argument %q", fs.Arg(0))
	}
	res, err := bench.RunPlacement(ctx, bench.PlacementConfig{Clients: *clients, Places: *places, NonAssociations: *nonassoc, Seed: *seed,
		Save: *save, Load: *load, TimeLimit: *timeLimit, Effort: *effort, Workers: *workers}, out)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Method == "optimiser" && r.Violations > 0 {
			return fmt.Errorf("bench placement: the optimiser broke %d hard rules", r.Violations)
		}
	}
	return nil
}
