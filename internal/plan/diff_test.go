// SPDX-License-Identifier: AGPL-3.0-or-later

package plan

import (
	"strings"
	"testing"
)

// TestCompareGoals: theirs added a goal and changed a measure's status;
// mine removed a measure and added one. Nothing needs asking, and
// resolving keeps every change of both.
func TestCompareGoals(t *testing.T) {
	base := Document{Title: "T", Goals: []Goal{{ID: "g1", Text: "Work", Measures: []Measure{
		{ID: "m1", What: "Apply for jobs", Status: Planned}, {ID: "m2", What: "CV course", Status: Planned}}}}}
	theirs := clone(base)
	theirs.Goals[0].Measures[0].Status = Done
	theirs.Goals = append(theirs.Goals, Goal{ID: "g2", Text: "Housing", Measures: []Measure{{ID: "m3", What: "Contact social services", Status: Planned}}})
	mine := clone(base)
	mine.Goals[0].Measures = []Measure{mine.Goals[0].Measures[0], {ID: "m4", What: "Forklift licence", Status: Planned}}

	entries := Compare(base, mine, theirs)
	keys := map[string]Side{}
	for _, e := range entries {
		keys[e.Key] = e.Auto
	}
	want := map[string]Side{"goal/g1/measure/m1/status": Theirs, "goal/g1/measure/m2": Mine, "goal/g1/measure/m4": Mine, "goal/g2": Theirs}
	if len(keys) != len(want) {
		t.Fatalf("entries %v, want keys %v", entries, want)
	}
	for k, v := range want {
		if keys[k] != v {
			t.Errorf("%s: auto %q, want %q (entries %v)", k, keys[k], v, entries)
		}
	}
	got, missing := Resolve(entries, mine, theirs, nil)
	if len(missing) > 0 {
		t.Fatalf("missing %v", missing)
	}
	var whats []string
	for _, g := range got.Goals {
		for _, m := range g.Measures {
			whats = append(whats, m.What+"="+string(m.Status))
		}
	}
	if s := strings.Join(whats, ","); s != "Apply for jobs=done,Forklift licence=planned,Contact social services=planned" {
		t.Errorf("resolved to %s", s)
	}
	// Taking theirs whole drops what only mine added.
	all := map[string]Choice{}
	for _, e := range entries {
		all[e.Key] = Choice{Side: Theirs}
	}
	if got, _ := Resolve(entries, mine, theirs, all); !got.Equal(theirs) {
		t.Errorf("all theirs gave %+v", got)
	}
}

func TestWordDiff(t *testing.T) {
	a, b := WordDiff("I want to finish school.", "I want to finish school and see my daughter.")
	var marked []string
	for _, s := range b {
		if s.Changed {
			marked = append(marked, s.Text)
		}
	}
	if strings.Join(marked, "|") != " and see my daughter." && strings.Join(marked, "|") != "school and see my daughter." {
		t.Errorf("marked in b: %q", marked)
	}
	for _, s := range a {
		if s.Changed && s.Text != "school." {
			t.Errorf("marked in a: %q", s.Text)
		}
	}
}
