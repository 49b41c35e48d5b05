// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Options tune Solve. The zero value is usable.
type Options struct {
	// Seed decides every random choice: the same instance, seed and
	// effort give the same solution.
	Seed uint64
	// Effort is the number of local-search steps per client (default
	// 200; at least 200 000 steps in all). The search stops earlier when TimeLimit or the context ends;
	// only then does the result depend on the speed of the machine.
	Effort int
	// TimeLimit bounds the whole call (0: none).
	TimeLimit time.Duration
	// Workers is the number of independent searches run side by side,
	// each with its own seed; the best result wins (default 1).
	Workers int
}

// Solve places every client so that no hard rule is broken and the total
// cost is as low as it can find. Locked clients stay in their locked cells.
// When it cannot place everyone it returns an *Infeasible error saying which
// rules conflict for which clients, and no solution.
func Solve(ctx context.Context, in *Instance, opts Options) (*Solution, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if opts.TimeLimit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.TimeLimit)
		defer cancel()
	}
	m := compile(in)
	cs := m.classes()
	if conflicts := m.prove(cs); len(conflicts) > 0 {
		return nil, &Infeasible{Proven: true, Conflicts: conflicts}
	}
	m.construct(cs, m.difficultyOrder(cs))
	m = m.improve(ctx, cs, opts)
	var unplaced []int32
	for c, k := range m.cell {
		if k == NoCell {
			unplaced = append(unplaced, int32(c))
		}
	}
	if len(unplaced) > 0 {
		return nil, &Infeasible{Conflicts: m.blocked(cs, unplaced)}
	}
	return NewSolution(in, m.cells()), nil
}

// difficultyOrder puts first the clients with the fewest cells to choose
// from, then those who must be alone, then those with most
// non-associations, then the highest risk: the order in which a greedy
// placement is least likely to paint itself into a corner.
func (m *model) difficultyOrder(cs *classes) []int32 {
	order := make([]int32, m.nClients)
	for c := range order {
		order[c] = int32(c)
	}
	alone := func(c int32) int {
		cl := &m.in.Clients[c]
		if cl.Restricted || cl.Sharing&ShareNever != 0 {
			return 0
		}
		if cl.Sharing != 0 {
			return 1
		}
		return 2
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		return cmp.Or(
			cmp.Compare(len(cs.groups[cs.key[a]].cells), len(cs.groups[cs.key[b]].cells)),
			cmp.Compare(alone(a), alone(b)),
			cmp.Compare(m.naStart[b+1]-m.naStart[b], m.naStart[a+1]-m.naStart[a]),
			cmp.Compare(m.in.Clients[b].Risk, m.in.Clients[a].Risk),
		)
	})
	return order
}

// improve runs opts.Workers independent searches from the constructed
// placement and keeps the best (fewest unplaced, then lowest cost, then the
// lowest worker number, so the choice does not depend on timing).
func (m *model) improve(ctx context.Context, cs *classes, opts Options) *model {
	workers := max(opts.Workers, 1)
	effort := opts.Effort
	if effort <= 0 {
		effort = 200
	}
	cand := m.candidates(cs, 6)
	results := make([]*search, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newSearch(m.clone(), cs, cand, opts.Seed, uint64(w))
			s.run(ctx, max(effort*m.nClients, minSteps))
			s.polish()
			results[w] = s
		}()
	}
	wg.Wait()
	best := results[0]
	for _, s := range results[1:] {
		if s.unplaced < best.unplaced || (s.unplaced == best.unplaced && s.cost < best.cost) {
			best = s
		}
	}
	return best.m
}

// candidates lists, per client, the k units (as indexes into its group's
// units) with the lowest unit cost: where a good cell is likely to be.
func (m *model) candidates(cs *classes, k int) [][]int32 {
	out := make([][]int32, m.nClients)
	var scratch []unitBound
	for c := range int32(m.nClients) {
		if m.in.Clients[c].Lock != NoCell {
			continue
		}
		g := &cs.groups[cs.key[c]]
		// top k by insertion: k is small and units are many
		scratch = scratch[:0]
		for i, u := range g.units {
			b := unitBound{int32(i), m.unitCost(c, u)}
			if len(scratch) == k && b.cost >= scratch[k-1].cost {
				continue
			}
			if len(scratch) < k {
				scratch = append(scratch, b)
			} else {
				scratch[k-1] = b
			}
			for j := len(scratch) - 1; j > 0 && scratch[j].cost < scratch[j-1].cost; j-- {
				scratch[j], scratch[j-1] = scratch[j-1], scratch[j]
			}
		}
		out[c] = make([]int32, 0, len(scratch)+1)
		// The current unit costs no move, which unitCost leaves out.
		if cur := m.in.Clients[c].Current; cur != NoCell {
			if i, ok := slices.BinarySearch(g.units, m.cellUnit[cur]); ok {
				out[c] = append(out[c], int32(i))
			}
		}
		for _, b := range scratch {
			if !slices.Contains(out[c], b.i) {
				out[c] = append(out[c], b.i)
			}
		}
	}
	return out
}

// search is one simulated-annealing run over placements that keep every
// hard rule; a client may be unplaced, at a penalty no cost can outweigh,
// so that an unplaceable client can push another out (an ejection chain)
// until everyone finds a bed.
type search struct {
	m        *model
	cs       *classes
	cand     [][]int32
	rng      *rand.Rand
	movable  []int32 // clients not locked
	unplaced int
	cost     int64 // without the penalty
	bestCell []int32
	bestUnp  int
	bestCost int64
}

func newSearch(m *model, cs *classes, cand [][]int32, seed, worker uint64) *search {
	s := &search{m: m, cs: cs, cand: cand, rng: rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d^worker))}
	for c := range int32(m.nClients) {
		if m.in.Clients[c].Lock == NoCell {
			s.movable = append(s.movable, c)
		}
		if m.cell[c] == NoCell {
			s.unplaced++
		}
	}
	s.cost = m.total()
	s.save()
	return s
}

func (m *model) total() int64 {
	var t int64
	for c, k := range m.cell {
		if k == NoCell {
			continue
		}
		t += m.unary(int32(c), k)
		for _, o := range m.occupants(k) {
			if o > int32(c) {
				t += m.pair(int32(c), o, k)
			}
		}
	}
	return t
}

func (s *search) save() {
	s.bestCell = append(s.bestCell[:0], s.m.cell...)
	s.bestUnp, s.bestCost = s.unplaced, s.cost
}

func (s *search) better() bool {
	return s.unplaced < s.bestUnp || (s.unplaced == s.bestUnp && s.cost < s.bestCost)
}

// restore puts the best placement seen back.
func (s *search) restore() {
	m := s.m
	for k := range m.occN {
		m.occN[k] = 0
	}
	for c := range m.cell {
		m.cell[c] = NoCell
	}
	for c, k := range s.bestCell {
		if k != NoCell {
			m.place(int32(c), k)
		}
	}
	s.unplaced, s.cost = s.bestUnp, s.bestCost
}

// leaveCost is what client c costs in its cell a now.
func (m *model) leaveCost(c, a int32) int64 {
	return m.joinCost(c, a)
}

// joinWithout is what c costs in cell k with the occupants other than d.
func (m *model) joinWithout(c, k, d int32) int64 {
	t := m.unary(c, k)
	for _, o := range m.occupants(k) {
		if o != d && o != c {
			t += m.pair(c, o, k)
		}
	}
	return t
}

// sharesWith says whether c may share with every occupant of k except d.
func (m *model) sharesWith(c, k, d int32) bool {
	for _, o := range m.occupants(k) {
		if o != d && !m.pairOK(c, o) {
			return false
		}
	}
	return true
}

func (s *search) pickCell(c int32) int32 {
	m := s.m
	g := &s.cs.groups[s.cs.key[c]]
	if len(g.cells) == 0 {
		return NoCell
	}
	r := s.rng.IntN(16)
	if m.cell[c] != NoCell && r < 13 && len(s.cand[c]) > 0 {
		i := s.cand[c][s.rng.IntN(len(s.cand[c]))]
		lo, hi := g.unitStart[i], g.unitStart[i+1]
		return g.cells[lo+s.rng.Int32N(hi-lo)]
	}
	if cur := int32(m.in.Clients[c].Current); r == 13 && cur != NoCell && m.unaryOK(c, cur) {
		return cur
	}
	return g.cells[s.rng.IntN(len(g.cells))]
}

// run makes steps moves, cooling from a temperature near the typical cost
// of a worsening move to near zero.
func (s *search) run(ctx context.Context, steps int) {
	m := s.m
	if len(s.movable) == 0 || steps <= 0 {
		return
	}
	hot := max(s.startTemperature(), 1)
	t0, t1 := max(hot*startTemperatureFactor(float64(steps)/float64(len(s.movable))), 1), 0.5
	cool := math.Pow(t1/t0, 1/float64(steps))
	temp := t0
	var unplacedList []int32
	for step := range steps {
		if step&1023 == 0 {
			if ctx.Err() != nil {
				break
			}
			if s.better() {
				s.save()
			}
			if s.unplaced > 0 {
				unplacedList = unplacedList[:0]
				for _, c := range s.movable {
					if m.cell[c] == NoCell {
						unplacedList = append(unplacedList, c)
					}
				}
			}
		}
		temp *= cool
		var c int32
		if s.unplaced > 0 && len(unplacedList) > 0 && s.rng.IntN(4) == 0 {
			c = unplacedList[s.rng.IntN(len(unplacedList))]
			if m.cell[c] != NoCell {
				continue
			}
		} else {
			c = s.movable[s.rng.IntN(len(s.movable))]
		}
		k := s.pickCell(c)
		a := m.cell[c]
		if k == NoCell || k == a {
			continue
		}
		if a == NoCell && m.occN[k] < m.cellCap[k] && m.sharesWith(c, k, -1) {
			// A free bed that only a non-associated client keeps c from:
			// that client makes way (the next link of the chain).
			if b := m.naBlocker(c, k); b >= 0 && m.in.Clients[b].Lock == NoCell {
				kb := m.cell[b]
				delta := m.joinCost(c, k) - m.leaveCost(b, kb)
				if kb == k {
					delta = m.joinWithout(c, k, b) - m.leaveCost(b, kb)
				}
				if s.accept(delta, hot) {
					m.remove(b)
					m.place(c, k)
					s.cost += delta
					unplacedList = append(unplacedList, b)
				}
				continue
			}
		}
		if m.occN[k] < m.cellCap[k] && (a != NoCell || m.sharesWith(c, k, -1)) {
			if !m.sharesWith(c, k, -1) || !m.naOK(c, k, -1, NoCell) {
				continue
			}
			join := m.joinCost(c, k)
			if a == NoCell {
				m.place(c, k)
				s.unplaced--
				s.cost += join
				continue
			}
			delta := join - m.leaveCost(c, a)
			if s.accept(delta, temp) {
				m.remove(c)
				m.place(c, k)
				s.cost += delta
			}
			continue
		}
		occ := m.occupants(k)
		d := occ[s.rng.IntN(len(occ))]
		if m.occN[k] < m.cellCap[k] {
			// A free bed c may not share with one occupant: for a client
			// without a bed, that occupant is the one to eject.
			if a != NoCell {
				continue
			}
			if d = m.shareBlocker(c, k); d < 0 {
				continue
			}
		}
		if m.in.Clients[d].Lock != NoCell || !m.sharesWith(c, k, d) || !m.naOK(c, k, d, a) {
			continue
		}
		if a == NoCell {
			// ejection: c takes d's bed, d is unplaced
			// Taken at the starting temperature however cool the search
			// has become: the chain must keep walking until someone
			// finds a free bed.
			delta := m.joinWithout(c, k, d) - m.leaveCost(d, k)
			if s.accept(delta, hot) {
				m.remove(d)
				m.place(c, k)
				s.cost += delta
				unplacedList = append(unplacedList, d)
			}
			continue
		}
		// swap: c goes to k, d to a
		if !m.unaryOK(d, a) || !m.sharesWith(d, a, c) || !m.naOK(d, a, c, k) {
			continue
		}
		delta := m.joinWithout(c, k, d) + m.joinWithout(d, a, c) - m.leaveCost(c, a) - m.leaveCost(d, k)
		if s.accept(delta, temp) {
			m.remove(c)
			m.remove(d)
			m.place(c, k)
			m.place(d, a)
			s.cost += delta
		}
	}
	if s.better() {
		s.save()
	}
	s.restore()
}

func (s *search) accept(delta int64, temp float64) bool {
	return delta <= 0 || s.rng.Float64() < math.Exp(-float64(delta)/temp)
}

// startTemperature is the mean cost of a sample of worsening moves, so
// that at first about a third of them are taken whatever the weights.
func (s *search) startTemperature() float64 {
	m := s.m
	var sum float64
	n := 0
	for range 2000 {
		c := s.movable[s.rng.IntN(len(s.movable))]
		a := m.cell[c]
		if a == NoCell {
			continue
		}
		k := s.pickCell(c)
		if k == NoCell || k == a {
			continue
		}
		if d := m.joinCost(c, k) - m.leaveCost(c, a); d > 0 {
			sum += float64(d)
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return sum / float64(n)
}

// polish moves every client, in turn, to the cheapest cell that fits it
// among its own cell and its candidate units, which never makes the
// placement worse, then tries to place anyone left anywhere.
func (s *search) polish() {
	m := s.m
	var scratch []unitBound
	for _, c := range s.movable {
		a := m.cell[c]
		g := &s.cs.groups[s.cs.key[c]]
		if a == NoCell {
			var k int32
			k, scratch = m.bestCell(c, g, scratch)
			if k != NoCell {
				m.place(c, k)
				s.unplaced--
			}
			continue
		}
		m.remove(c)
		best, bestCost := a, m.joinCost(c, a)
		for _, i := range s.cand[c] {
			for _, k := range g.cells[g.unitStart[i]:g.unitStart[i+1]] {
				if k == a || !m.fits(c, k) {
					continue
				}
				if cost := m.joinCost(c, k); cost < bestCost {
					best, bestCost = k, cost
				}
			}
		}
		m.place(c, best)
	}
	s.cost = m.total()
}

// startTemperatureFactor scales the starting temperature down from the
// mean worsening move when the budget is tight: the construction is already
// good, and on 10 000 clients at 200 steps each a hot start (1.0) spent the
// budget undoing it and ended 5 % worse than 0.1 (0.03 and 0.01 were no
// better than 0.1). With thousands of steps per client, as on small
// instances, a hot start escapes local optima that a cool one keeps (on the
// exhaustive reference family, 0.1 missed the optimum by over 1 % on 2 of 40
// instances, 0.3 and 1.0 on none).
func startTemperatureFactor(stepsPerClient float64) float64 {
	return min(max(stepsPerClient/2000, 0.1), 1)
}

// minSteps keeps small instances, where a step costs next to nothing, from
// being searched for only a few thousand steps.
const minSteps = 200_000

// naBlocker is the one client whose non-association keeps c out of cell k,
// -1 when none does, -2 when several do.
func (m *model) naBlocker(c, k int32) int32 {
	u, i := m.cellUnit[k], m.cellInst[k]
	found := int32(-1)
	for j := m.naStart[c]; j < m.naStart[c+1]; j++ {
		o := m.naOther[j]
		ko := m.cell[o]
		if ko == NoCell || o == found {
			continue
		}
		if (m.naScope[j] == ScopeCell && ko == k) || (m.naScope[j] == ScopeUnit && m.cellUnit[ko] == u) || (m.naScope[j] == ScopeInstitution && m.cellInst[ko] == i) {
			if found >= 0 {
				return -2
			}
			found = o
		}
	}
	return found
}

// shareBlocker is the one occupant of k that c may not share with, -1 when
// none or several.
func (m *model) shareBlocker(c, k int32) int32 {
	found := int32(-1)
	for _, o := range m.occupants(k) {
		if !m.pairOK(c, o) {
			if found >= 0 {
				return -1
			}
			found = o
		}
	}
	return found
}
