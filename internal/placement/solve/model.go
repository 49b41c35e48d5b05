// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"math"
	"slices"
)

// model is an Instance compiled for fast evaluation: flat arrays, interned
// languages and programmes, the non-associations as adjacency lists, and the
// occupants of every cell. Check does not use it, so that it checks the
// solver's code rather than sharing its mistakes.
type model struct {
	in       *Instance
	nClients int
	nCells   int

	cellUnit []int32
	cellInst []int32
	cellCap  []int32
	w        []Weights // per institution
	// instDist[region*nInst+inst] is the distance in km, rounded.
	instDist []int64
	nInst    int

	unitLang [][]int32 // interned, sorted
	unitProg [][]int32
	cliLang  []int32 // -1: no need
	cliProg  [][]int32

	// non-associations that bind placement, both directions
	naStart []int32
	naOther []int32
	naScope []Scope

	// state: the cell of each client and the occupants of each cell
	cell     []int32
	occStart []int32 // occupants of cell k are occ[occStart[k]:occStart[k]+occN[k]]
	occN     []int32
	occ      []int32
}

func compile(in *Instance) *model {
	m := &model{in: in, nClients: len(in.Clients), nCells: len(in.Cells), nInst: len(in.Institutions)}
	m.cellUnit = make([]int32, m.nCells)
	m.cellInst = make([]int32, m.nCells)
	m.cellCap = make([]int32, m.nCells)
	for k, c := range in.Cells {
		m.cellUnit[k] = int32(c.Unit)
		m.cellInst[k] = int32(in.Units[c.Unit].Institution)
		m.cellCap[k] = int32(c.Capacity)
	}
	m.w = make([]Weights, m.nInst)
	for i := range in.Institutions {
		m.w[i] = *in.weights(i)
	}
	m.instDist = make([]int64, len(in.Regions)*m.nInst)
	for r, reg := range in.Regions {
		for i, it := range in.Institutions {
			o := in.Regions[it.Region]
			m.instDist[r*m.nInst+i] = int64(math.Round(math.Hypot(reg.X-o.X, reg.Y-o.Y)))
		}
	}
	names := map[string]int32{}
	intern := func(s string) int32 {
		if id, ok := names[s]; ok {
			return id
		}
		id := int32(len(names))
		names[s] = id
		return id
	}
	internAll := func(ss []string) []int32 {
		out := make([]int32, 0, len(ss))
		for _, s := range ss {
			out = append(out, intern(s))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	m.unitLang = make([][]int32, len(in.Units))
	m.unitProg = make([][]int32, len(in.Units))
	for u, un := range in.Units {
		m.unitLang[u] = internAll(un.Languages)
		m.unitProg[u] = internAll(un.Programmes)
	}
	m.cliLang = make([]int32, m.nClients)
	m.cliProg = make([][]int32, m.nClients)
	for c, cl := range in.Clients {
		m.cliLang[c] = -1
		if cl.Language != "" {
			m.cliLang[c] = intern(cl.Language)
		}
		m.cliProg[c] = internAll(cl.Programmes)
	}

	deg := make([]int32, m.nClients+1)
	for _, na := range in.NonAssociations {
		if na.Scope == ScopeTransport {
			continue
		}
		deg[na.A]++
		deg[na.B]++
	}
	m.naStart = make([]int32, m.nClients+1)
	for c := range m.nClients {
		m.naStart[c+1] = m.naStart[c] + deg[c]
	}
	m.naOther = make([]int32, m.naStart[m.nClients])
	m.naScope = make([]Scope, m.naStart[m.nClients])
	fill := slices.Clone(m.naStart[:m.nClients])
	for _, na := range in.NonAssociations {
		if na.Scope == ScopeTransport {
			continue
		}
		m.naOther[fill[na.A]], m.naScope[fill[na.A]] = int32(na.B), na.Scope
		fill[na.A]++
		m.naOther[fill[na.B]], m.naScope[fill[na.B]] = int32(na.A), na.Scope
		fill[na.B]++
	}

	m.cell = make([]int32, m.nClients)
	for c := range m.cell {
		m.cell[c] = NoCell
	}
	m.occStart = make([]int32, m.nCells+1)
	for k := range m.nCells {
		m.occStart[k+1] = m.occStart[k] + m.cellCap[k]
	}
	m.occN = make([]int32, m.nCells)
	m.occ = make([]int32, m.occStart[m.nCells])
	return m
}

// clone copies the state so that two searches can run side by side on the
// same compiled instance.
func (m *model) clone() *model {
	n := *m
	n.cell = slices.Clone(m.cell)
	n.occN = slices.Clone(m.occN)
	n.occ = slices.Clone(m.occ)
	return &n
}

func (m *model) occupants(k int32) []int32 {
	return m.occ[m.occStart[k] : m.occStart[k]+m.occN[k]]
}

func (m *model) place(c, k int32) {
	m.occ[m.occStart[k]+m.occN[k]] = c
	m.occN[k]++
	m.cell[c] = k
}

func (m *model) remove(c int32) {
	k := m.cell[c]
	occ := m.occupants(k)
	i := slices.Index(occ, c)
	occ[i] = occ[len(occ)-1]
	m.occN[k]--
	m.cell[c] = NoCell
}

func (m *model) cells() []int {
	out := make([]int, m.nClients)
	for c, k := range m.cell {
		out[c] = int(k)
	}
	return out
}

// unaryTerms is what placing client c in cell k costs regardless of
// cell-mates.
func (m *model) unaryTerms(c, k int32) Cost {
	cl := &m.in.Clients[c]
	i := m.cellInst[k]
	u := m.cellUnit[k]
	w := &m.w[i]
	var t Cost
	if cl.Home >= 0 {
		t.Distance = w.Distance * m.instDist[cl.Home*m.nInst+int(i)] / 10
	}
	if l := m.cliLang[c]; l >= 0 {
		if _, ok := slices.BinarySearch(m.unitLang[u], l); !ok {
			t.Language = w.Language
		}
	}
	for _, p := range m.cliProg[c] {
		if _, ok := slices.BinarySearch(m.unitProg[u], p); !ok {
			t.Programme += w.Programme
		}
	}
	if cur := int32(cl.Current); cur != NoCell && cur != k {
		t.Move = w.Move
		if m.cellInst[cur] != i {
			t.Move += w.Transfer
		}
	}
	if cl.Smoker && !m.in.Cells[k].Smoking {
		t.Smoking = w.Smoking
	}
	t.Total = t.Distance + t.Language + t.Programme + t.Move + t.Smoking
	return t
}

func (m *model) unary(c, k int32) int64 { return m.unaryTerms(c, k).Total }

// pairTerms is what clients a and b cost by sharing cell k.
func (m *model) pairTerms(a, b, k int32) Cost {
	w := &m.w[m.cellInst[k]]
	ca, cb := &m.in.Clients[a], &m.in.Clients[b]
	var t Cost
	t.Risk = w.Risk * int64(ca.Risk) * int64(cb.Risk) / 100
	if ca.Violence {
		t.Violence += w.Violence
	}
	if cb.Violence {
		t.Violence += w.Violence
	}
	t.Total = t.Risk + t.Violence
	return t
}

func (m *model) pair(a, b, k int32) int64 {
	w := &m.w[m.cellInst[k]]
	ca, cb := &m.in.Clients[a], &m.in.Clients[b]
	t := w.Risk * int64(ca.Risk) * int64(cb.Risk) / 100
	if ca.Violence {
		t += w.Violence
	}
	if cb.Violence {
		t += w.Violence
	}
	return t
}

// unaryBreaks lists the unary hard rules cell k breaks for client c.
func (m *model) unaryBreaks(c, k int32, out []Rule) []Rule {
	cl := &m.in.Clients[c]
	ce := &m.in.Cells[k]
	if ce.OutOfUse {
		out = append(out, RuleOutOfUse)
	}
	if ce.Capacity == 0 {
		out = append(out, RuleCapacity)
	}
	if ce.Gender != GenderAny && ce.Gender != cl.Gender {
		out = append(out, RuleGender)
	}
	if ce.Security < cl.MinSecurity {
		out = append(out, RuleSecurity)
	}
	if ce.Juvenile != cl.Juvenile {
		out = append(out, RuleJuvenile)
	}
	if cl.Remand && !ce.Remand {
		out = append(out, RuleRemand)
	}
	if cl.NeedsAccessible && !ce.Accessible {
		out = append(out, RuleAccessible)
	}
	if cl.Lock != NoCell && int32(cl.Lock) != k {
		out = append(out, RuleLock)
	}
	return out
}

func (m *model) unaryOK(c, k int32) bool {
	cl := &m.in.Clients[c]
	ce := &m.in.Cells[k]
	return !ce.OutOfUse && ce.Capacity > 0 && (ce.Gender == GenderAny || ce.Gender == cl.Gender) &&
		ce.Security >= cl.MinSecurity && ce.Juvenile == cl.Juvenile && (!cl.Remand || ce.Remand) &&
		(!cl.NeedsAccessible || ce.Accessible) && (cl.Lock == NoCell || int32(cl.Lock) == k)
}

// unaryKey groups clients that pass the same unary rules in the same cells
// (locks aside).
func unaryKey(cl *Client) uint64 {
	k := uint64(cl.Gender) | uint64(min(max(cl.MinSecurity, -1000), 1000)+1000)<<2
	if cl.Juvenile {
		k |= 1 << 20
	}
	if cl.Remand {
		k |= 1 << 21
	}
	if cl.NeedsAccessible {
		k |= 1 << 22
	}
	return k
}

// pairBreaks is the sharing rule a and b break by sharing a cell, if any.
func pairBreaks(a, b *Client) (Rule, bool) {
	switch {
	case a.Gender != b.Gender:
		return RuleGender, true
	case a.Restricted || b.Restricted:
		return RuleRestricted, true
	case a.Sharing&ShareNever != 0 || b.Sharing&ShareNever != 0,
		a.Sharing&ShareNonSmoker != 0 && b.Smoker, b.Sharing&ShareNonSmoker != 0 && a.Smoker,
		(a.Sharing|b.Sharing)&ShareSameLanguage != 0 && a.Language != b.Language,
		a.Sharing&ShareNoViolence != 0 && b.Violence, b.Sharing&ShareNoViolence != 0 && a.Violence:
		return RuleSharing, true
	}
	return "", false
}

func (m *model) pairOK(a, b int32) bool {
	_, broken := pairBreaks(&m.in.Clients[a], &m.in.Clients[b])
	return !broken
}

// naOK says whether client c may be in cell k given where its
// non-associated clients are; ignore is a client whose position is taken to
// be at cell alt instead (for swaps).
func (m *model) naOK(c, k, ignore, alt int32) bool {
	u, i := m.cellUnit[k], m.cellInst[k]
	for j := m.naStart[c]; j < m.naStart[c+1]; j++ {
		o := m.naOther[j]
		ko := m.cell[o]
		if o == ignore {
			ko = alt
		}
		if ko == NoCell {
			continue
		}
		switch m.naScope[j] {
		case ScopeCell:
			if ko == k {
				return false
			}
		case ScopeUnit:
			if m.cellUnit[ko] == u {
				return false
			}
		case ScopeInstitution:
			if m.cellInst[ko] == i {
				return false
			}
		}
	}
	return true
}

// fits says whether c can join cell k as it is now (a free bed, unary rules,
// sharing with the occupants, non-associations).
func (m *model) fits(c, k int32) bool {
	if m.occN[k] >= m.cellCap[k] || !m.unaryOK(c, k) {
		return false
	}
	for _, o := range m.occupants(k) {
		if !m.pairOK(c, o) {
			return false
		}
	}
	return m.naOK(c, k, -1, NoCell)
}

// joinCost is what c adds by joining cell k with its present occupants
// (other than c itself).
func (m *model) joinCost(c, k int32) int64 {
	t := m.unary(c, k)
	for _, o := range m.occupants(k) {
		if o != c {
			t += m.pair(c, o, k)
		}
	}
	return t
}

// Evaluate is the cost of a cell per client (NoCell entries cost nothing).
func Evaluate(in *Instance, cells []int) Cost {
	m := compile(in)
	var total Cost
	byCell := make(map[int][]int32)
	for c, k := range cells {
		if k < 0 || k >= m.nCells {
			continue
		}
		total.add(m.unaryTerms(int32(c), int32(k)))
		byCell[k] = append(byCell[k], int32(c))
	}
	for k, cs := range byCell {
		for i := range cs {
			for j := i + 1; j < len(cs); j++ {
				total.add(m.pairTerms(cs[i], cs[j], int32(k)))
			}
		}
	}
	return total
}
