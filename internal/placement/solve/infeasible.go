// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Infeasible is Solve's error when it has no placement that keeps every hard
// rule. It never comes with a partial placement.
type Infeasible struct {
	// Proven is true when a counting argument shows that no placement
	// exists; false when the search ended without finding one (the
	// conflicts then say what blocked the clients it could not place).
	Proven    bool
	Conflicts []Conflict
}

// Conflict names the rules that cannot all hold for a set of clients.
type Conflict struct {
	Rules   []Rule
	Clients []int
	Message string
}

func (e *Infeasible) Error() string {
	var b strings.Builder
	if e.Proven {
		b.WriteString("no placement keeps every hard rule: ")
	} else {
		b.WriteString("no placement found that keeps every hard rule: ")
	}
	for i, c := range e.Conflicts {
		if i > 0 {
			b.WriteString("; ")
		}
		if i == 5 {
			fmt.Fprintf(&b, "and %d more", len(e.Conflicts)-5)
			break
		}
		b.WriteString(c.Message)
	}
	return b.String()
}

func describeKey(cl *Client) string {
	parts := []string{cl.Gender.String()}
	if cl.Juvenile {
		parts = append(parts, "juvenile")
	} else {
		parts = append(parts, "adult")
	}
	parts = append(parts, fmt.Sprintf("security ≥ %d", cl.MinSecurity))
	if cl.Remand {
		parts = append(parts, "remand")
	}
	if cl.NeedsAccessible {
		parts = append(parts, "accessible")
	}
	return strings.Join(parts, ", ")
}

// prove looks for a reason no placement can exist, before any search:
// clients that no cell admits, locks that clash, more clients of a kind than
// beds that admit them (Hall's condition, by max flow between client groups
// and cell types), more clients who must be alone than cells, and groups of
// mutually non-associated clients larger than the units or institutions
// that could keep them apart.
func (m *model) prove(cs *classes) []Conflict {
	in := m.in
	var out []Conflict
	ids := func(cs []int) string {
		var s []string
		for i, c := range cs {
			if i == 8 {
				s = append(s, fmt.Sprintf("… (%d clients)", len(cs)))
				break
			}
			s = append(s, in.Clients[c].ID)
		}
		return strings.Join(s, ", ")
	}

	// Unary: no cell at all, or a locked cell that breaks a unary rule.
	lockedIn := make(map[int][]int)
	for c := range in.Clients {
		cl := &in.Clients[c]
		if cl.Lock != NoCell {
			if rs := m.unaryBreaks(int32(c), int32(cl.Lock), nil); len(rs) > 0 {
				out = append(out, Conflict{Rules: append([]Rule{RuleLock}, rs...), Clients: []int{c},
					Message: fmt.Sprintf("client %s is locked to cell %s, which breaks %s", cl.ID, in.Cells[cl.Lock].ID, joinRules(rs))})
			}
			lockedIn[cl.Lock] = append(lockedIn[cl.Lock], c)
			continue
		}
		if len(cs.groups[cs.key[c]].cells) == 0 {
			out = append(out, Conflict{Rules: []Rule{RuleGender, RuleSecurity, RuleJuvenile, RuleRemand, RuleAccessible, RuleOutOfUse}, Clients: []int{c},
				Message: fmt.Sprintf("no cell admits client %s (%s)", cl.ID, describeKey(cl))})
		}
	}
	// Locks against each other: capacity, sharing, non-associations.
	lockCells := make([]int, 0, len(lockedIn))
	for k := range lockedIn {
		lockCells = append(lockCells, k)
	}
	slices.Sort(lockCells)
	for _, k := range lockCells {
		cs := lockedIn[k]
		if len(cs) > in.Cells[k].Capacity {
			out = append(out, Conflict{Rules: []Rule{RuleLock, RuleCapacity}, Clients: cs,
				Message: fmt.Sprintf("%d clients are locked to cell %s with %d beds: %s", len(cs), in.Cells[k].ID, in.Cells[k].Capacity, ids(cs))})
		}
		for i, a := range cs {
			for _, b := range cs[i+1:] {
				if r, bad := pairBreaks(&in.Clients[a], &in.Clients[b]); bad {
					out = append(out, Conflict{Rules: []Rule{RuleLock, r}, Clients: []int{a, b},
						Message: fmt.Sprintf("clients %s and %s are locked to cell %s but may not share it (%s)", in.Clients[a].ID, in.Clients[b].ID, in.Cells[k].ID, r)})
				}
			}
		}
	}
	for _, na := range in.NonAssociations {
		la, lb := in.Clients[na.A].Lock, in.Clients[na.B].Lock
		if la == NoCell || lb == NoCell {
			continue
		}
		if (na.Scope == ScopeCell && la == lb) || (na.Scope == ScopeUnit && m.cellUnit[la] == m.cellUnit[lb]) || (na.Scope == ScopeInstitution && m.cellInst[la] == m.cellInst[lb]) {
			out = append(out, Conflict{Rules: []Rule{RuleLock, naRule(na.Scope)}, Clients: []int{na.A, na.B},
				Message: fmt.Sprintf("clients %s and %s are locked to the same %s but must be kept apart", in.Clients[na.A].ID, in.Clients[na.B].ID, na.Scope)})
		}
	}
	if len(out) > 0 {
		return out
	}
	out = append(out, m.hall(cs, lockedIn)...)
	out = append(out, m.cliques(cs)...)
	return out
}

func naRule(s Scope) Rule {
	switch s {
	case ScopeCell:
		return RuleNonAssocCel
	case ScopeUnit:
		return RuleNonAssocUni
	}
	return RuleNonAssocIns
}

func joinRules(rs []Rule) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// hall checks Hall's condition between client groups and cell types with a
// max flow: if the flow cannot carry every unlocked client, the groups on
// the source side of the minimum cut need more beds than all the cells that
// admit them have. The same is done for clients who must be alone, counting
// cells instead of beds.
func (m *model) hall(cs *classes, lockedIn map[int][]int) []Conflict {
	in := m.in
	type cellType struct {
		gender           Gender
		sec              int
		juv, rem, access bool
	}
	typeOf := map[cellType]int{}
	var beds, cells []int
	cellTypeOf := make([]int, m.nCells)
	for k := range in.Cells {
		ce := &in.Cells[k]
		cellTypeOf[k] = -1
		if ce.OutOfUse || ce.Capacity == 0 {
			continue
		}
		t := cellType{ce.Gender, ce.Security, ce.Juvenile, ce.Remand, ce.Accessible}
		i, ok := typeOf[t]
		if !ok {
			i = len(beds)
			typeOf[t] = i
			beds = append(beds, 0)
			cells = append(cells, 0)
		}
		cellTypeOf[k] = i
		free := ce.Capacity - len(lockedIn[k])
		beds[i] += max(free, 0)
		if len(lockedIn[k]) == 0 {
			cells[i]++
		}
	}
	// which cell types admit which group
	nG := len(cs.groups)
	admits := make([][]int, nG)
	for g, gr := range cs.groups {
		seen := map[int]bool{}
		for _, k := range gr.cells {
			if t := cellTypeOf[k]; t >= 0 && !seen[t] {
				seen[t] = true
				admits[g] = append(admits[g], t)
			}
		}
	}
	need := make([]int, nG)
	alone := make([]int, nG)
	members := make([][]int, nG)
	for c := range in.Clients {
		cl := &in.Clients[c]
		if cl.Lock != NoCell {
			continue
		}
		g := cs.key[c]
		need[g]++
		members[g] = append(members[g], c)
		if cl.Restricted || cl.Sharing&ShareNever != 0 {
			alone[g]++
		}
	}
	var out []Conflict
	for _, pass := range []struct {
		demand, supply []int
		what           string
		rules          []Rule
	}{
		{need, beds, "beds", []Rule{RuleCapacity}},
		{alone, cells, "cells to be alone in", []Rule{RuleCapacity, RuleSharing, RuleRestricted}},
	} {
		side := hallViolator(pass.demand, pass.supply, admits)
		if side == nil {
			continue
		}
		var clients []int
		var kinds []string
		demand, supply := 0, 0
		seenType := map[int]bool{}
		for g, in := range side {
			if !in {
				continue
			}
			demand += pass.demand[g]
			if pass.what == "beds" {
				clients = append(clients, members[g]...)
			} else {
				for _, c := range members[g] {
					cl := &m.in.Clients[c]
					if cl.Restricted || cl.Sharing&ShareNever != 0 {
						clients = append(clients, c)
					}
				}
			}
			kinds = append(kinds, fmt.Sprintf("%d %s", pass.demand[g], describeKey(&m.in.Clients[members[g][0]])))
			for _, t := range admits[g] {
				if !seenType[t] {
					seenType[t] = true
					supply += pass.supply[t]
				}
			}
		}
		slices.Sort(clients)
		rules := append([]Rule{}, pass.rules...)
		rules = append(rules, RuleGender, RuleSecurity, RuleJuvenile, RuleRemand, RuleAccessible)
		out = append(out, Conflict{Rules: rules, Clients: clients,
			Message: fmt.Sprintf("%d clients (%s) need %s, but the cells that admit them have %d", demand, strings.Join(kinds, "; "), pass.what, supply)})
	}
	return out
}

// hallViolator returns the groups on the source side of a minimum cut when
// the demand cannot all be met, else nil. Groups and cell types are few, so
// a plain augmenting-path max flow is enough.
func hallViolator(demand, supply []int, admits [][]int) []bool {
	nG, nT := len(demand), len(supply)
	// nodes: 0 source, 1..nG groups, nG+1..nG+nT types, nG+nT+1 sink
	n := nG + nT + 2
	s, t := 0, n-1
	const inf = int(^uint(0) >> 2)
	capm := make([]map[int]int, n)
	for i := range capm {
		capm[i] = map[int]int{}
	}
	add := func(a, b, c int) {
		capm[a][b] += c
		if _, ok := capm[b][a]; !ok {
			capm[b][a] = 0
		}
	}
	total := 0
	for g := range nG {
		add(s, 1+g, demand[g])
		total += demand[g]
		for _, ty := range admits[g] {
			add(1+g, 1+nG+ty, inf)
		}
	}
	for ty := range nT {
		add(1+nG+ty, t, supply[ty])
	}
	flow := 0
	prev := make([]int, n)
	for {
		for i := range prev {
			prev[i] = -1
		}
		prev[s] = s
		queue := []int{s}
		for len(queue) > 0 && prev[t] < 0 {
			a := queue[0]
			queue = queue[1:]
			keys := make([]int, 0, len(capm[a]))
			for b := range capm[a] {
				keys = append(keys, b)
			}
			slices.Sort(keys)
			for _, b := range keys {
				if prev[b] < 0 && capm[a][b] > 0 {
					prev[b] = a
					queue = append(queue, b)
				}
			}
		}
		if prev[t] < 0 {
			break
		}
		aug := inf
		for v := t; v != s; v = prev[v] {
			aug = min(aug, capm[prev[v]][v])
		}
		for v := t; v != s; v = prev[v] {
			capm[prev[v]][v] -= aug
			capm[v][prev[v]] += aug
		}
		flow += aug
	}
	if flow >= total {
		return nil
	}
	side := make([]bool, nG)
	for g := range nG {
		side[g] = prev[1+g] >= 0
	}
	return side
}

// cliques finds, greedily, groups of clients who must all be in different
// units (or institutions) and compares them with the units (institutions)
// that admit any of them. Finding the largest such group is NP-hard; a
// greedy clique from every client of high degree catches the cases that
// occur (co-accused in one case, a gang and its rivals).
func (m *model) cliques(cs *classes) []Conflict {
	var out []Conflict
	for _, scope := range []Scope{ScopeUnit, ScopeInstitution} {
		adj := make([][]int32, m.nClients)
		for c := range int32(m.nClients) {
			for j := m.naStart[c]; j < m.naStart[c+1]; j++ {
				if m.naScope[j] >= scope {
					adj[c] = append(adj[c], m.naOther[j])
				}
			}
			slices.Sort(adj[c])
			adj[c] = slices.Compact(adj[c])
		}
		reported := map[string]bool{}
		for c := range int32(m.nClients) {
			if len(adj[c]) == 0 {
				continue
			}
			clique := []int32{c}
			cand := slices.Clone(adj[c])
			// Neighbours sharing most neighbours with c first: they are the
			// likeliest members of c's largest clique.
			common := make(map[int32]int, len(cand))
			for _, x := range cand {
				for _, y := range adj[x] {
					if _, ok := slices.BinarySearch(adj[c], y); ok {
						common[x]++
					}
				}
			}
			slices.SortStableFunc(cand, func(a, b int32) int { return cmp.Compare(common[b], common[a]) })
			for _, x := range cand {
				ok := true
				for _, y := range clique {
					if _, found := slices.BinarySearch(adj[x], y); !found {
						ok = false
						break
					}
				}
				if ok {
					clique = append(clique, x)
				}
			}
			if len(clique) < 2 {
				continue
			}
			places := map[int32]bool{}
			for _, x := range clique {
				gr := &cs.groups[cs.key[x]]
				if l := m.in.Clients[x].Lock; l != NoCell {
					places[m.placeOf(int32(l), scope)] = true
					continue
				}
				for _, u := range gr.units {
					if scope == ScopeUnit {
						places[u] = true
					} else {
						places[int32(m.in.Units[u].Institution)] = true
					}
				}
			}
			if len(clique) <= len(places) {
				continue
			}
			members := make([]int, len(clique))
			for i, x := range clique {
				members[i] = int(x)
			}
			slices.Sort(members)
			key := fmt.Sprint(members)
			if reported[key] {
				continue
			}
			reported[key] = true
			var names []string
			for _, x := range members {
				names = append(names, m.in.Clients[x].ID)
			}
			out = append(out, Conflict{Rules: []Rule{naRule(scope)}, Clients: members,
				Message: fmt.Sprintf("%d clients must all be in different %ss (%s), but only %d %ss admit them", len(members), scope, strings.Join(names, ", "), len(places), scope)})
		}
	}
	return out
}

func (m *model) placeOf(k int32, scope Scope) int32 {
	if scope == ScopeUnit {
		return m.cellUnit[k]
	}
	return m.cellInst[k]
}

// blocked explains, for clients the search could not place, what stops them
// from every cell that passes their unary rules in the final state.
func (m *model) blocked(cs *classes, unplaced []int32) []Conflict {
	var out []Conflict
	for _, c := range unplaced {
		cl := &m.in.Clients[c]
		var full, na, share int
		var naWith []string
		cells := cs.groups[cs.key[c]].cells
		if cl.Lock != NoCell {
			cells = []int32{int32(cl.Lock)}
		}
		for _, k := range cells {
			switch {
			case m.occN[k] >= m.cellCap[k]:
				full++
			case !m.naOK(c, k, -1, NoCell):
				na++
				for j := m.naStart[c]; j < m.naStart[c+1]; j++ {
					o := m.naOther[j]
					ko := m.cell[o]
					if ko == NoCell || len(naWith) == 5 || slices.Contains(naWith, m.in.Clients[o].ID) {
						continue
					}
					if (m.naScope[j] == ScopeCell && ko == k) || (m.naScope[j] == ScopeUnit && m.cellUnit[ko] == m.cellUnit[k]) || (m.naScope[j] == ScopeInstitution && m.cellInst[ko] == m.cellInst[k]) {
						naWith = append(naWith, m.in.Clients[o].ID)
					}
				}
			default:
				share++
			}
		}
		msg := fmt.Sprintf("client %s (%s): of %d cells that admit the client, %d are full, %d are kept from the client by non-associations", cl.ID, describeKey(cl), len(cells), full, na)
		if len(naWith) > 0 {
			msg += " (" + strings.Join(naWith, ", ") + ")"
		}
		msg += fmt.Sprintf(", %d have cell-mates the client may not share with", share)
		out = append(out, Conflict{Rules: []Rule{RuleCapacity, RuleNonAssocCel, RuleNonAssocUni, RuleNonAssocIns, RuleSharing}, Clients: []int{int(c)}, Message: msg})
	}
	return out
}
