// SPDX-License-Identifier: AGPL-3.0-or-later

package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/custodia/custodia/internal/placement/solve"
)

// PlacementConfig says which placement instance to measure.
type PlacementConfig struct {
	Clients, Places, NonAssociations int
	Seed                             uint64
	Save, Load                       string // instance files in the text format
	TimeLimit                        time.Duration
	Effort, Workers                  int
}

// PlacementResult is one method's run.
type PlacementResult struct {
	Method     string
	Time       time.Duration
	Cost       solve.Cost
	Moves      int
	Unplaced   int
	Violations int
}

// RunPlacement generates (or loads) an instance, runs the greedy baseline
// and the optimiser on it, prints a table and returns both results. The
// optimiser's *solve.Infeasible error is returned as it is.
func RunPlacement(ctx context.Context, cfg PlacementConfig, out io.Writer) ([]PlacementResult, error) {
	var in *solve.Instance
	if cfg.Load != "" {
		f, err := os.Open(cfg.Load)
		if err != nil {
			return nil, err
		}
		in, err = solve.Parse(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Load, err)
		}
	} else {
		in = solve.Generate(solve.GenConfig{Clients: cfg.Clients, Places: cfg.Places, NonAssociations: cfg.NonAssociations, Seed: cfg.Seed})
	}
	if cfg.Save != "" {
		f, err := os.Create(cfg.Save)
		if err != nil {
			return nil, err
		}
		err = solve.Write(f, in)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Save, err)
		}
	}
	beds, units := 0, len(in.Units)
	for _, c := range in.Cells {
		if !c.OutOfUse {
			beds += c.Capacity
		}
	}
	fmt.Fprintf(out, "instance: %d clients, %d beds in %d cells, %d units, %d institutions, %d non-associations; seed %d; %d CPUs\n",
		len(in.Clients), beds, len(in.Cells), units, len(in.Institutions), len(in.NonAssociations), cfg.Seed, runtime.GOMAXPROCS(0))

	var res []PlacementResult
	start := time.Now()
	g, err := solve.Greedy(in)
	if err != nil {
		return nil, err
	}
	res = append(res, result("greedy", time.Since(start), in, g))

	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	start = time.Now()
	s, serr := solve.Solve(ctx, in, solve.Options{Seed: cfg.Seed, Effort: cfg.Effort, TimeLimit: cfg.TimeLimit, Workers: workers})
	elapsed := time.Since(start)
	if serr == nil {
		res = append(res, result("optimiser", elapsed, in, s))
	}

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\ttime\tobjective\trisk\tviolence\tdistance\tlanguage\tprogramme\tmove\tsmoking\tmoves\tunplaced\tviolations\t")
	for _, r := range res {
		c := r.Cost
		fmt.Fprintf(tw, "%s\t%.3fs\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.Method, r.Time.Seconds(), c.Total, c.Risk, c.Violence, c.Distance, c.Language, c.Programme, c.Move, c.Smoking, r.Moves, r.Unplaced, r.Violations)
	}
	tw.Flush()
	if serr != nil {
		var inf *solve.Infeasible
		if errors.As(serr, &inf) {
			fmt.Fprintf(out, "optimiser: %v (after %.2fs)\n", serr, elapsed.Seconds())
		}
		return res, serr
	}
	gr, op := res[0], res[1]
	fmt.Fprintf(out, "optimiser %.2fs, objective %d against greedy %d (%+.1f %%), %d moves, %d violations; greedy left %d unplaced\n",
		op.Time.Seconds(), op.Cost.Total, gr.Cost.Total, 100*float64(op.Cost.Total-gr.Cost.Total)/float64(max(gr.Cost.Total, 1)), op.Moves, op.Violations, gr.Unplaced)
	return res, nil
}

func result(method string, d time.Duration, in *solve.Instance, s *solve.Solution) PlacementResult {
	return PlacementResult{Method: method, Time: d, Cost: s.Cost, Moves: len(s.Moves), Unplaced: len(s.Unplaced), Violations: len(solve.Check(in, s))}
}
