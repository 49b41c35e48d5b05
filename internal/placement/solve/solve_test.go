// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"context"
	"testing"
)

func TestGreedyKeepsHardRules(t *testing.T) {
	for seed := range uint64(5) {
		in := Generate(GenConfig{Clients: 500, Places: 600, NonAssociations: 800, Seed: seed})
		g, err := Greedy(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range Check(in, g) {
			if v.Rule != RuleUnplaced {
				t.Errorf("seed %d: greedy: %s", seed, v.Message)
			}
		}
		t.Logf("seed %d: greedy %d (unplaced %d)", seed, g.Cost.Total, len(g.Unplaced))
	}
}

func TestSolveKeepsHardRules(t *testing.T) {
	for seed := range uint64(5) {
		in := Generate(GenConfig{Clients: 500, Places: 600, NonAssociations: 800, Seed: seed})
		g, _ := Greedy(in)
		s, err := Solve(context.Background(), in, Options{Seed: seed})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if vs := Check(in, s); len(vs) > 0 {
			t.Errorf("seed %d: solve: %v", seed, vs)
		}
		t.Logf("seed %d: greedy %d (unplaced %d), solve %d", seed, g.Cost.Total, len(g.Unplaced), s.Cost.Total)
	}
}
