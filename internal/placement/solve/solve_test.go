// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import "testing"

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
