// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"cmp"
	"slices"
)

// classes holds, per group of clients with the same unary requirements
// (unaryKey), the cells that pass them, grouped by unit. Clients of one
// country fall into a few dozen groups, so this is far smaller than a list
// of cells per client.
type classes struct {
	byKey  map[uint64]int32
	groups []group
	key    []int32 // group of each client
}

type group struct {
	cells     []int32 // feasible cells, ordered by unit then index
	units     []int32 // distinct units of cells, in order
	unitStart []int32 // cells of units[i] are cells[unitStart[i]:unitStart[i+1]]
}

func (m *model) classes() *classes {
	cs := &classes{byKey: map[uint64]int32{}, key: make([]int32, m.nClients)}
	cellOrder := make([]int32, m.nCells)
	for k := range cellOrder {
		cellOrder[k] = int32(k)
	}
	slices.SortStableFunc(cellOrder, func(a, b int32) int { return cmp.Compare(m.cellUnit[a], m.cellUnit[b]) })
	for c := range m.in.Clients {
		cl := &m.in.Clients[c]
		key := unaryKey(cl)
		g, ok := cs.byKey[key]
		if !ok {
			g = int32(len(cs.groups))
			cs.byKey[key] = g
			probe := *cl
			probe.Lock = NoCell
			var gr group
			for _, k := range cellOrder {
				if unaryOKClient(&probe, &m.in.Cells[k]) {
					if len(gr.units) == 0 || gr.units[len(gr.units)-1] != m.cellUnit[k] {
						gr.units = append(gr.units, m.cellUnit[k])
						gr.unitStart = append(gr.unitStart, int32(len(gr.cells)))
					}
					gr.cells = append(gr.cells, k)
				}
			}
			gr.unitStart = append(gr.unitStart, int32(len(gr.cells)))
			cs.groups = append(cs.groups, gr)
		}
		cs.key[c] = g
	}
	return cs
}

func unaryOKClient(cl *Client, ce *Cell) bool {
	return !ce.OutOfUse && ce.Capacity > 0 && (ce.Gender == GenderAny || ce.Gender == cl.Gender) &&
		ce.Security >= cl.MinSecurity && ce.Juvenile == cl.Juvenile && (!cl.Remand || ce.Remand) &&
		(!cl.NeedsAccessible || ce.Accessible)
}

// unitCost is a lower bound of the unary cost of client c in any cell of
// unit u: the terms that depend on the unit only.
func (m *model) unitCost(c, u int32) int64 {
	cl := &m.in.Clients[c]
	i := m.in.Units[u].Institution
	w := &m.w[i]
	var t int64
	if cl.Home >= 0 {
		t = w.Distance * m.instDist[cl.Home*m.nInst+i] / 10
	}
	if l := m.cliLang[c]; l >= 0 {
		if _, ok := slices.BinarySearch(m.unitLang[u], l); !ok {
			t += w.Language
		}
	}
	for _, p := range m.cliProg[c] {
		if _, ok := slices.BinarySearch(m.unitProg[u], p); !ok {
			t += w.Programme
		}
	}
	return t
}

// bestCell is the cheapest cell client c fits in now, or NoCell. It visits
// units in order of their lower bound and stops once the bound exceeds the
// best cell found.
func (m *model) bestCell(c int32, g *group, scratch []unitBound) (int32, []unitBound) {
	scratch = scratch[:0]
	for i, u := range g.units {
		scratch = append(scratch, unitBound{int32(i), m.unitCost(c, u)})
	}
	slices.SortFunc(scratch, func(a, b unitBound) int { return cmp.Or(cmp.Compare(a.cost, b.cost), cmp.Compare(a.i, b.i)) })
	best, bestCost := int32(NoCell), int64(0)
	for _, ub := range scratch {
		if best != NoCell && ub.cost >= bestCost {
			break
		}
		for _, k := range g.cells[g.unitStart[ub.i]:g.unitStart[ub.i+1]] {
			if !m.fits(c, k) {
				continue
			}
			if cost := m.joinCost(c, k); best == NoCell || cost < bestCost {
				best, bestCost = k, cost
			}
		}
	}
	return best, scratch
}

type unitBound struct {
	i    int32
	cost int64
}

// construct places clients one at a time: locked clients in their locked
// cell, then everyone who can stay in the current cell, then the rest in
// the given order, each in the cheapest cell that fits at that moment.
// Clients it cannot place are left at NoCell.
func (m *model) construct(cs *classes, order []int32) {
	for c := range int32(m.nClients) {
		if l := int32(m.in.Clients[c].Lock); l != NoCell && m.fits(c, l) {
			m.place(c, l)
		}
	}
	for _, c := range order {
		if cur := int32(m.in.Clients[c].Current); m.cell[c] == NoCell && cur != NoCell && m.in.Clients[c].Lock == NoCell && m.fits(c, cur) {
			m.place(c, cur)
		}
	}
	var scratch []unitBound
	for _, c := range order {
		if m.cell[c] != NoCell || m.in.Clients[c].Lock != NoCell {
			continue
		}
		var k int32
		k, scratch = m.bestCell(c, &cs.groups[cs.key[c]], scratch)
		if k != NoCell {
			m.place(c, k)
		}
	}
}

// Greedy is the baseline: clients in the order of the instance, each kept in
// the current cell when it still fits, otherwise put in the cheapest cell
// that fits at that moment. It may leave clients unplaced (listed in
// Solution.Unplaced); it never breaks another hard rule.
func Greedy(in *Instance) (*Solution, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	m := compile(in)
	order := make([]int32, m.nClients)
	for c := range order {
		order[c] = int32(c)
	}
	m.construct(m.classes(), order)
	return NewSolution(in, m.cells()), nil
}
