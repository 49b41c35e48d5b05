// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Options tune Solve. The zero value is usable.
type Options struct {
	// Seed decides every random choice: the same instance, seed and
	// effort give the same solution.
	Seed uint64
	// Effort is the number of local-search steps per client (default
	// 200). The search stops earlier when TimeLimit or the context ends;
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

// improve is the local search; until it is written, the construction is
// the answer.
func (m *model) improve(ctx context.Context, cs *classes, opts Options) *model {
	_ = ctx
	_ = cs
	_ = opts
	return m
}
