// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/placement/solve"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func TestPlacementProfile(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := as(e.mona)
		for _, lv := range []int{0, 4, -1} {
			_, err := e.svc.SetProfile(ctx, e.anna, NewProfile{SecurityLevel: lv, Reasons: "  "})
			got := fields(err)
			if !got["security_level"] || !got["reasons"] {
				t.Errorf("level %d without reasons: the refusal does not name both fields: %v", lv, err)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM placement_profiles`); n != 0 {
			t.Fatalf("refusals stored %d", n)
		}
		list, err := e.svc.Profiles(ctx, e.anna)
		if err != nil || len(list) != 0 {
			t.Fatalf("before any: %v %v", list, err)
		}
		if _, err := e.svc.SetProfile(ctx, e.anna, NewProfile{SecurityLevel: 3, Reasons: "Classified on admission."}); err != nil {
			t.Fatal(err)
		}
		e.clock = e.clock.Add(24 * time.Hour)
		p, err := e.svc.SetProfile(ctx, e.anna, NewProfile{SecurityLevel: 1, Accessible: true, Restricted: true, Reasons: "Prosecutor's decision on restrictions; wheelchair user."})
		if err != nil {
			t.Fatal(err)
		}
		if p.DecidedByName != "Mona Manager" || p.ClientID != e.anna || !p.DecidedAt.Equal(e.clock) {
			t.Fatalf("stored %+v", p)
		}
		list, err = e.svc.Profiles(ctx, e.anna)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != p.ID || list[0].SecurityLevel != 1 || !list[0].Accessible || !list[0].Restricted ||
			list[1].SecurityLevel != 3 || list[1].Accessible || list[1].Restricted {
			t.Fatalf("history %+v", list)
		}
		if !e.timelineHas(e.anna, "Placement profile: security level 1, needs an accessible cell, remand restrictions (alone in the cell)") {
			t.Error("no timeline line")
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE type = 'placement.profile_set'`); n != 2 {
			t.Errorf("%d events", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'placement.profile.set' AND client_id = $1`, e.anna); n != 2 {
			t.Errorf("%d audited writes", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'placement.profile.read' AND client_id = $1`, e.anna); n < 1 {
			t.Errorf("%d audited reads", n)
		}
		rs, err := e.svc.RulesFor(ctx, []string{e.anna, e.bert})
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := rs.Profiles[e.anna]; !ok || got.ID != p.ID {
			t.Errorf("the rules read %+v, want the newest profile", rs.Profiles)
		}
		if _, ok := rs.Profiles[e.bert]; ok {
			t.Error("Bert has a profile in the rules without one recorded")
		}
	})
}

func TestMinSecurityOf(t *testing.T) {
	// The cell mapping is Security = MaxSecurity + 1 - level; a person of
	// level L may be in a cell of level c exactly when c <= L.
	for l := estate.MinSecurity; l <= estate.MaxSecurity; l++ {
		for c := estate.MinSecurity; c <= estate.MaxSecurity; c++ {
			ok := estate.MaxSecurity+1-c >= minSecurityOf(&Profile{SecurityLevel: l})
			if ok != (c <= l) {
				t.Errorf("person level %d, cell level %d: allowed %v", l, c, ok)
			}
		}
	}
	if minSecurityOf(nil) != 0 {
		t.Error("no profile must allow any cell")
	}
}

// TestProfileRules: the placement profile feeds the security,
// accessibility and remand-restriction rules, and the move screen's
// ranking greys a bed that breaks each, with the rule.
func TestProfileRules(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := as(e.mona)
		sys := audit.WithActor(context.Background(), audit.System)
		est := &estate.Service{DB: d}
		newCell := func(label string, level int, accessible bool) string {
			c, err := est.CreateCell(sys, estate.NewCell{UnitID: e.unit, Label: label, Capacity: 2, SecurityLevel: level, Accessible: accessible})
			if err != nil {
				t.Fatal(err)
			}
			return c.ID
		}
		high := newCell("201", 1, false) // highest security, not accessible
		mid := newCell("202", 2, true)
		low := newCell("203", 3, true) // lowest security, accessible
		// Fred is in the low cell, with one free bed beside him.
		c, err := e.cl.Register(sys, client.NewClient{GivenName: "Fred", FamilyName: "Berg", BirthDate: "1990-01-01", Sex: "M", HomeLocation: e.inst})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.cl.AddLegalBasis(sys, c.ID, client.NewLegalBasis{Kind: client.BasisRemand, StartDate: "2026-01-01", Offences: "Rån"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cl.MoveClient(sys, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: low}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{e.anna, e.bert, e.carl, c.ID} {
			if _, err := e.svc.Assess(ctx, id, NewAssessment{Outcome: SuitableAny, Reasons: "Calm.", ReviewDate: "2026-09-01"}); err != nil {
				t.Fatal(err)
			}
		}
		// broken ranks the free beds for Anna and returns the rules each
		// cell breaks (none: allowed).
		broken := func() map[string][]solve.Rule {
			t.Helper()
			w, err := buildWorld(ctx, est, e.cl, e.svc, func(inst, _ estate.Location) bool { return inst.ID == e.inst }, "")
			if err != nil {
				t.Fatal(err)
			}
			opts, err := solve.Rank(w.in, w.idx[e.anna])
			if err != nil {
				t.Fatal(err)
			}
			out := map[string][]solve.Rule{}
			for _, o := range opts {
				var rs []solve.Rule
				for _, v := range o.Broken {
					rs = append(rs, v.Rule)
				}
				if o.Feasible != (len(rs) == 0) {
					t.Errorf("cell %s: feasible %v with broken %v", w.in.Cells[o.Cell].ID, o.Feasible, rs)
				}
				out[w.in.Cells[o.Cell].ID] = rs
			}
			return out
		}
		profile := func(n NewProfile) {
			t.Helper()
			n.Reasons = "Decided."
			if _, err := e.svc.SetProfile(ctx, e.anna, n); err != nil {
				t.Fatal(err)
			}
			e.clock = e.clock.Add(time.Minute)
		}
		expect := func(what string, got map[string][]solve.Rule, cell string, rule solve.Rule) {
			t.Helper()
			rs, ok := got[cell]
			switch {
			case !ok:
				t.Errorf("%s: cell %s not ranked", what, cell)
			case rule == "" && len(rs) != 0:
				t.Errorf("%s: cell %s greyed with %v, want allowed", what, cell, rs)
			case rule != "" && !slices.Contains(rs, rule):
				t.Errorf("%s: cell %s breaks %v, want %s", what, cell, rs, rule)
			}
		}

		// No profile: every free bed is allowed.
		got := broken()
		for _, cell := range []string{high, mid, low} {
			expect("no profile", got, cell, "")
		}

		// Security level 1 (highest only): the level 2 and 3 cells are
		// greyed, the level 1 cell is allowed.
		profile(NewProfile{SecurityLevel: 1})
		got = broken()
		expect("level 1", got, high, "")
		expect("level 1", got, mid, solve.RuleSecurity)
		expect("level 1", got, low, solve.RuleSecurity)
		// Level 2: levels 1 and 2 are allowed, 3 is not.
		profile(NewProfile{SecurityLevel: 2})
		got = broken()
		expect("level 2", got, high, "")
		expect("level 2", got, mid, "")
		expect("level 2", got, low, solve.RuleSecurity)

		// Needs an accessible cell: the inaccessible cell is greyed.
		profile(NewProfile{SecurityLevel: 3, Accessible: true})
		got = broken()
		expect("accessible", got, high, solve.RuleAccessible)
		expect("accessible", got, mid, "")
		expect("accessible", got, low, "")

		// Remand restrictions: the bed beside Fred is greyed, the empty
		// cells are allowed.
		profile(NewProfile{SecurityLevel: 3, Restricted: true})
		got = broken()
		expect("restricted", got, low, solve.RuleRestricted)
		expect("restricted", got, high, "")
		expect("restricted", got, mid, "")

		// The newest profile counts: back to level 3 and nothing else.
		profile(NewProfile{SecurityLevel: 3})
		got = broken()
		for _, cell := range []string{high, mid, low} {
			expect("level 3", got, cell, "")
		}
	})
}
