// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/placement/solve"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func TestJuvenile(t *testing.T) {
	for _, c := range []struct {
		birth string
		want  bool
	}{{"2008-03-10", false}, {"2008-03-11", true}, {"2010-01-01", true}, {"1990-01-01", false}, {"", false}} {
		if got := juvenile(c.birth, "2026-03-10"); got != c.want {
			t.Errorf("born %q, on 2026-03-10: juvenile %v, want %v", c.birth, got, c.want)
		}
	}
}

// TestRemandAndJuvenileRules: the register's remand bases and birth dates
// feed the hard rules. Without a remand prison among the units, remand
// people are held where they are (the rule is off); with one, remand
// people belong in its cells and those elsewhere break the rule, while a
// sentenced person may be anywhere. A person under 18 has no cell (no
// unit is a juvenile unit) and the solver says why.
func TestRemandAndJuvenileRules(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := as(e.mona)
		sys := audit.WithActor(context.Background(), audit.System)
		est := &estate.Service{DB: d}
		problem := func(insts ...string) *world {
			t.Helper()
			w, err := buildWorld(ctx, est, e.cl, e.svc, func(inst, _ estate.Location) bool { return slices.Contains(insts, inst.ID) }, "")
			if err != nil {
				t.Fatal(err)
			}
			return w
		}
		broken := func(w *world, rule solve.Rule) []string {
			var out []string
			for _, v := range solve.Check(w.in, &solve.Solution{Cell: currentCells(w.in)}) {
				if v.Rule == rule {
					for _, c := range v.Clients {
						out = append(out, w.people[c].ID)
					}
				}
			}
			slices.Sort(out)
			return slices.Compact(out)
		}

		// Everyone in newEnv is on remand in a closed prison: with no
		// remand prison in the problem, nobody breaks the remand rule.
		w := problem(e.inst, e.inst2)
		for _, c := range w.in.Clients {
			if c.Remand || c.Juvenile {
				t.Errorf("%s: remand %v, juvenile %v in a problem without remand cells", c.ID, c.Remand, c.Juvenile)
			}
		}
		if b := broken(w, solve.RuleRemand); len(b) != 0 {
			t.Errorf("remand rule broken by %v without remand cells", b)
		}

		// A remand prison with a juvenile on remand, and a sentenced man
		// in Kumla.
		loc := func(n estate.NewLocation) string {
			l, err := est.CreateLocation(sys, n)
			if err != nil {
				t.Fatal(err)
			}
			return l.ID
		}
		hakte := loc(estate.NewLocation{Kind: estate.Institution, Code: "NVH", Name: "Häktet", Category: "remand", SecurityLevel: 1})
		hu := loc(estate.NewLocation{Kind: estate.Unit, ParentID: hakte, Code: "NVH-A", Name: "A", SecurityLevel: 1})
		hcell, err := est.CreateCell(sys, estate.NewCell{UnitID: hu, Label: "1", Capacity: 4, SecurityLevel: 1})
		if err != nil {
			t.Fatal(err)
		}
		admit := func(given, birth string, basis client.NewLegalBasis, cell string) string {
			c, err := e.cl.Register(sys, client.NewClient{GivenName: given, FamilyName: "Lund", BirthDate: birth, Sex: "M", HomeLocation: e.inst})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.cl.AddLegalBasis(sys, c.ID, basis); err != nil {
				t.Fatal(err)
			}
			if _, err := e.cl.MoveClient(sys, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: cell}); err != nil {
				t.Fatal(err)
			}
			return c.ID
		}
		jon := admit("Jon", "2010-05-01", client.NewLegalBasis{Kind: client.BasisRemand, StartDate: "2026-03-01", Offences: "Rån"}, hcell.ID)
		stig := admit("Stig", "1980-05-01", client.NewLegalBasis{Kind: client.BasisSentence, StartDate: "2026-01-01", LengthDays: 365, Offences: "Bedrägeri"}, e.cell)

		w = problem(e.inst, hakte)
		for _, c := range w.in.Cells {
			if want := c.ID == hcell.ID; c.Remand != want {
				t.Errorf("cell %s: remand %v, want %v", c.ID, c.Remand, want)
			}
		}
		want := []string{e.anna, e.bert, e.carl}
		slices.Sort(want)
		if got := broken(w, solve.RuleRemand); !slices.Equal(got, want) {
			t.Errorf("the remand rule is broken by %v, want Anna, Bert and Carl %v", got, want)
		}
		c := w.in.Clients[w.idx[stig]]
		if c.Remand || c.Juvenile {
			t.Errorf("Stig (sentenced, 45): remand %v, juvenile %v", c.Remand, c.Juvenile)
		}
		c = w.in.Clients[w.idx[jon]]
		if !c.Remand || !c.Juvenile {
			t.Errorf("Jon (remand, 15): remand %v, juvenile %v", c.Remand, c.Juvenile)
		}
		if got := broken(w, solve.RuleJuvenile); !slices.Equal(got, []string{jon}) {
			t.Errorf("the juvenile rule is broken by %v, want only Jon", got)
		}
		_, err = solve.Solve(context.Background(), w.in, solve.Options{Seed: 1})
		var inf *solve.Infeasible
		if !errors.As(err, &inf) {
			t.Fatalf("solving with a juvenile and no juvenile unit: %v, want infeasible", err)
		}
		named := false
		for _, cf := range inf.Conflicts {
			if slices.Contains(cf.Clients, w.idx[jon]) && slices.Contains(cf.Rules, solve.RuleJuvenile) {
				named = true
			}
		}
		if !named {
			t.Errorf("the conflicts do not name Jon and the juvenile rule: %v", inf)
		}

		// A youth unit in the remand prison takes Jon, and only him.
		yu := loc(estate.NewLocation{Kind: estate.Unit, ParentID: hakte, Code: "NVH-U", Name: "Ungdom", Category: estate.Juvenile, SecurityLevel: 1})
		ycell, err := est.CreateCell(sys, estate.NewCell{UnitID: yu, Label: "U1", Capacity: 1, SecurityLevel: 1})
		if err != nil {
			t.Fatal(err)
		}
		w = problem(e.inst, hakte)
		for _, c := range w.in.Cells {
			if want := c.ID == ycell.ID; c.Juvenile != want {
				t.Errorf("cell %s: juvenile %v, want %v", c.ID, c.Juvenile, want)
			}
		}
		// Jon may move to the youth unit's cell and nowhere else; Stig, an
		// adult, may not go there.
		opts, err := solve.Rank(w.in, w.idx[jon])
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range opts {
			if want := w.in.Cells[o.Cell].ID == ycell.ID; o.Feasible != want {
				t.Errorf("Jon in cell %s: allowed %v, want %v (%v)", w.in.Cells[o.Cell].ID, o.Feasible, want, o.Broken)
			}
		}
		opts, err = solve.Rank(w.in, w.idx[stig])
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range opts {
			if w.in.Cells[o.Cell].ID == ycell.ID && o.Feasible {
				t.Error("Stig, an adult, may be placed in the youth unit")
			}
		}

		// Kumla alone has no remand cells: the rule is off there.
		for _, c := range problem(e.inst).in.Clients {
			if c.Remand {
				t.Errorf("%s is held to the remand rule in a problem without remand cells", c.ID)
			}
		}
	})
}
