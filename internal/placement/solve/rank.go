// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"cmp"
	"fmt"
	"slices"
)

// Option is one cell with a free bed for the cell move screen.
type Option struct {
	Cell int
	// Feasible: no hard rule broken. Otherwise Broken says why not and
	// the screen shows the bed greyed.
	Feasible bool
	// Score is what the client would cost in this cell: the soft terms
	// of Cost for the client alone plus every pair with the present
	// occupants. Lower is better.
	Score   int64
	Cost    Cost
	Reasons []Reason
	Broken  []Violation
}

// Reason is one contribution to an option's score, for display: Term names
// the cost (as in Cost's fields, lower case), Points is what it adds, and
// Client is the cell-mate it concerns (or -1). Value is the measure behind
// it where there is one (km for distance, the cell-mate's risk score).
type Reason struct {
	Term    string
	Points  int64
	Client  int
	Value   int64
	Message string
}

// Rank lists every cell with a free bed for client c, given where everyone
// else is now (their Current cells): feasible cells first, cheapest first,
// then the cells that break a hard rule, with the rules. The client's own
// current cell is included (as staying).
func Rank(in *Instance, c int) ([]Option, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if c < 0 || c >= len(in.Clients) {
		return nil, fmt.Errorf("client %d out of range", c)
	}
	m := compile(in)
	for o, cl := range in.Clients {
		if o != c && cl.Current != NoCell && m.occN[cl.Current] < m.cellCap[cl.Current] {
			m.place(int32(o), int32(cl.Current))
		}
	}
	cl := &in.Clients[c]
	var out []Option
	var rules []Rule
	for k := range int32(m.nCells) {
		if m.occN[k] >= m.cellCap[k] {
			continue
		}
		opt := Option{Cell: int(k)}
		rules = m.unaryBreaks(int32(c), k, rules[:0])
		for _, r := range rules {
			opt.Broken = append(opt.Broken, Violation{Rule: r, Clients: []int{c}, Cells: []int{int(k)}, Message: unaryMessage(in, c, int(k), r)})
		}
		for _, o := range m.occupants(k) {
			if r, bad := pairBreaks(cl, &in.Clients[o]); bad {
				opt.Broken = append(opt.Broken, Violation{Rule: r, Clients: []int{c, int(o)}, Cells: []int{int(k)},
					Message: fmt.Sprintf("cannot share with %s (%s)", in.Clients[o].ID, r)})
			}
		}
		for j := m.naStart[c]; j < m.naStart[c+1]; j++ {
			o := m.naOther[j]
			ko := m.cell[o]
			if ko == NoCell {
				continue
			}
			s := m.naScope[j]
			if (s == ScopeCell && ko == k) || (s == ScopeUnit && m.cellUnit[ko] == m.cellUnit[k]) || (s == ScopeInstitution && m.cellInst[ko] == m.cellInst[k]) {
				r := map[Scope]Rule{ScopeCell: RuleNonAssocCel, ScopeUnit: RuleNonAssocUni, ScopeInstitution: RuleNonAssocIns}[s]
				opt.Broken = append(opt.Broken, Violation{Rule: r, Clients: []int{c, int(o)}, Cells: []int{int(k), int(ko)},
					Message: fmt.Sprintf("non-association (%s) with %s, who is in cell %s", s, in.Clients[o].ID, in.Cells[ko].ID)})
			}
		}
		opt.Feasible = len(opt.Broken) == 0
		opt.Cost = m.unaryTerms(int32(c), k)
		opt.Reasons = unaryReasons(m, int32(c), k, opt.Cost)
		for _, o := range m.occupants(k) {
			p := m.pairTerms(int32(c), o, k)
			opt.Cost.add(p)
			if p.Risk > 0 {
				opt.Reasons = append(opt.Reasons, Reason{Term: "risk", Points: p.Risk, Client: int(o), Value: int64(in.Clients[o].Risk),
					Message: fmt.Sprintf("shares with %s (risk %d)", in.Clients[o].ID, in.Clients[o].Risk)})
			}
			if p.Violence > 0 {
				opt.Reasons = append(opt.Reasons, Reason{Term: "violence", Points: p.Violence, Client: int(o),
					Message: fmt.Sprintf("a violence alert shares the cell with %s", in.Clients[o].ID)})
			}
		}
		opt.Score = opt.Cost.Total
		out = append(out, opt)
	}
	slices.SortStableFunc(out, func(a, b Option) int {
		if a.Feasible != b.Feasible {
			if a.Feasible {
				return -1
			}
			return 1
		}
		if !a.Feasible {
			if d := cmp.Compare(len(a.Broken), len(b.Broken)); d != 0 {
				return d
			}
		}
		return cmp.Or(cmp.Compare(a.Score, b.Score), cmp.Compare(a.Cell, b.Cell))
	})
	return out, nil
}

func unaryReasons(m *model, c, k int32, t Cost) []Reason {
	in := m.in
	cl := &in.Clients[c]
	var rs []Reason
	if t.Distance > 0 {
		km := m.instDist[cl.Home*m.nInst+int(m.cellInst[k])]
		rs = append(rs, Reason{Term: "distance", Points: t.Distance, Client: -1, Value: km, Message: fmt.Sprintf("%d km from home", km)})
	}
	if t.Language > 0 {
		rs = append(rs, Reason{Term: "language", Points: t.Language, Client: -1, Message: "no staff speak " + cl.Language})
	}
	if t.Programme > 0 {
		rs = append(rs, Reason{Term: "programme", Points: t.Programme, Client: -1, Message: "a needed programme is not offered"})
	}
	if t.Move > 0 {
		msg := "a move"
		if m.cellInst[cl.Current] != m.cellInst[k] {
			msg = "a transfer to another institution"
		}
		rs = append(rs, Reason{Term: "move", Points: t.Move, Client: -1, Message: msg})
	}
	if t.Smoking > 0 {
		rs = append(rs, Reason{Term: "smoking", Points: t.Smoking, Client: -1, Message: "a smoker in a non-smoking cell"})
	}
	return rs
}

func unaryMessage(in *Instance, c, k int, r Rule) string {
	cl, ce := &in.Clients[c], &in.Cells[k]
	switch r {
	case RuleOutOfUse:
		return "the cell is out of use"
	case RuleCapacity:
		return "the cell has no beds"
	case RuleGender:
		return fmt.Sprintf("the cell is for gender %s", ce.Gender)
	case RuleSecurity:
		return fmt.Sprintf("security level %d is below the client's minimum %d", ce.Security, cl.MinSecurity)
	case RuleJuvenile:
		if cl.Juvenile {
			return "an adult cell"
		}
		return "a juvenile cell"
	case RuleRemand:
		return "not a remand cell"
	case RuleAccessible:
		return "not accessible"
	case RuleLock:
		return fmt.Sprintf("the placement is locked to cell %s", in.Cells[cl.Lock].ID)
	}
	return string(r)
}
