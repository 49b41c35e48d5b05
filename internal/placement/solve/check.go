// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"fmt"
	"slices"
	"strings"
)

// Rule names a hard rule.
type Rule string

// The hard rules.
const (
	RuleUnplaced    Rule = "unplaced"   // every client has a cell
	RuleCapacity    Rule = "capacity"   // no more clients than beds
	RuleOutOfUse    Rule = "out-of-use" // no one in a cell out of use
	RuleGender      Rule = "gender"     // cell reserved for a gender; cell-mates of one gender
	RuleSecurity    Rule = "security"   // cell security level ≥ the client's minimum
	RuleJuvenile    Rule = "juvenile"   // juveniles only in juvenile cells, adults never
	RuleRemand      Rule = "remand"     // remand clients only in remand cells
	RuleRestricted  Rule = "restricted" // restricted remand clients alone in the cell
	RuleAccessible  Rule = "accessible" // accessibility needs met
	RuleSharing     Rule = "sharing"    // sharing suitability of both cell-mates
	RuleLock        Rule = "lock"       // locked clients stay in their locked cell
	RuleNonAssocCel Rule = "nonassoc-cell"
	RuleNonAssocUni Rule = "nonassoc-unit"
	RuleNonAssocIns Rule = "nonassoc-institution"
)

// Violation is one broken hard rule: who, where, and a sentence saying it.
type Violation struct {
	Rule    Rule
	Clients []int
	Cells   []int
	Message string
}

func (v Violation) String() string { return v.Message }

// Check lists every hard rule a solution breaks, in a stable order. It is
// written from the Instance directly, apart from the solver's own
// evaluation, and every test of a solution goes through it.
func Check(in *Instance, sol *Solution) []Violation {
	var out []Violation
	if sol == nil || len(sol.Cell) != len(in.Clients) {
		n := 0
		if sol != nil {
			n = len(sol.Cell)
		}
		return []Violation{{Rule: RuleUnplaced, Message: fmt.Sprintf("solution has %d cells for %d clients", n, len(in.Clients))}}
	}
	cid := func(c int) string { return in.Clients[c].ID }
	kid := func(k int) string { return in.Cells[k].ID }
	occupants := make([][]int, len(in.Cells))
	for c, k := range sol.Cell {
		cl := &in.Clients[c]
		if k < 0 || k >= len(in.Cells) {
			out = append(out, Violation{Rule: RuleUnplaced, Clients: []int{c}, Message: fmt.Sprintf("client %s has no cell", cid(c))})
			continue
		}
		occupants[k] = append(occupants[k], c)
		ce := &in.Cells[k]
		bad := func(r Rule, why string) {
			out = append(out, Violation{Rule: r, Clients: []int{c}, Cells: []int{k}, Message: fmt.Sprintf("client %s in cell %s: %s", cid(c), kid(k), why)})
		}
		if ce.OutOfUse {
			bad(RuleOutOfUse, "the cell is out of use")
		}
		if ce.Gender != GenderAny && ce.Gender != cl.Gender {
			bad(RuleGender, fmt.Sprintf("the cell is for gender %s, the client is %s", ce.Gender, cl.Gender))
		}
		if ce.Security < cl.MinSecurity {
			bad(RuleSecurity, fmt.Sprintf("security level %d is below the client's minimum %d", ce.Security, cl.MinSecurity))
		}
		if ce.Juvenile && !cl.Juvenile {
			bad(RuleJuvenile, "an adult in a juvenile cell")
		}
		if !ce.Juvenile && cl.Juvenile {
			bad(RuleJuvenile, "a juvenile in an adult cell")
		}
		if cl.Remand && !ce.Remand {
			bad(RuleRemand, "a remand client outside a remand cell")
		}
		if cl.NeedsAccessible && !ce.Accessible {
			bad(RuleAccessible, "the client needs an accessible cell")
		}
		if cl.Lock != NoCell && cl.Lock != k {
			bad(RuleLock, fmt.Sprintf("the placement is locked to cell %s", kid(cl.Lock)))
		}
	}
	for k, cs := range occupants {
		if len(cs) > in.Cells[k].Capacity {
			out = append(out, Violation{Rule: RuleCapacity, Clients: cs, Cells: []int{k},
				Message: fmt.Sprintf("cell %s holds %d clients in %d beds", kid(k), len(cs), in.Cells[k].Capacity)})
		}
		for i, a := range cs {
			for _, b := range cs[i+1:] {
				ca, cb := &in.Clients[a], &in.Clients[b]
				pair := func(r Rule, why string) {
					out = append(out, Violation{Rule: r, Clients: []int{a, b}, Cells: []int{k},
						Message: fmt.Sprintf("clients %s and %s share cell %s: %s", cid(a), cid(b), kid(k), why)})
				}
				if ca.Gender != cb.Gender {
					pair(RuleGender, "different genders")
				}
				if ca.Restricted || cb.Restricted {
					pair(RuleRestricted, "a remand client with restrictions must be alone")
				}
				var why []string
				for _, p := range [2][2]*Client{{ca, cb}, {cb, ca}} {
					x, y := p[0], p[1]
					if x.Sharing&ShareNever != 0 {
						why = append(why, x.ID+" is not suitable to share")
					}
					if x.Sharing&ShareNonSmoker != 0 && y.Smoker {
						why = append(why, x.ID+" shares only with non-smokers")
					}
					if x.Sharing&ShareSameLanguage != 0 && x.Language != y.Language {
						why = append(why, x.ID+" shares only with the same language")
					}
					if x.Sharing&ShareNoViolence != 0 && y.Violence {
						why = append(why, x.ID+" shares only with clients without a violence alert")
					}
				}
				if len(why) > 0 {
					pair(RuleSharing, strings.Join(why, "; "))
				}
			}
		}
	}
	for _, na := range in.NonAssociations {
		ka, kb := sol.Cell[na.A], sol.Cell[na.B]
		if ka < 0 || kb < 0 || ka >= len(in.Cells) || kb >= len(in.Cells) {
			continue
		}
		ua, ub := in.Cells[ka].Unit, in.Cells[kb].Unit
		ia, ib := in.Units[ua].Institution, in.Units[ub].Institution
		var r Rule
		var where string
		switch {
		case na.Scope == ScopeCell && ka == kb:
			r, where = RuleNonAssocCel, "cell "+kid(ka)
		case na.Scope == ScopeUnit && ua == ub:
			r, where = RuleNonAssocUni, "unit "+in.Units[ua].ID
		case na.Scope == ScopeInstitution && ia == ib:
			r, where = RuleNonAssocIns, "institution "+in.Institutions[ia].ID
		default:
			continue
		}
		out = append(out, Violation{Rule: r, Clients: []int{na.A, na.B}, Cells: []int{ka, kb},
			Message: fmt.Sprintf("clients %s and %s must not share a %s but are both in %s", cid(na.A), cid(na.B), na.Scope, where)})
	}
	slices.SortStableFunc(out, func(a, b Violation) int { return strings.Compare(string(a.Rule), string(b.Rule)) })
	return out
}
