// SPDX-License-Identifier: AGPL-3.0-or-later

package solve

import (
	"fmt"
	"math/rand/v2"
)

// GenConfig describes a generated instance.
type GenConfig struct {
	Clients         int
	Places          int // beds in use, about; cells out of use come on top
	NonAssociations int
	Seed            uint64
	// Current is the share of clients already placed (the rest are the
	// day's intake); default 0.8.
	Current float64
	// Locked is the share of clients locked where they are; default 0.
	Locked float64
	// MaxCellSize caps cell capacity (default 4). 1 gives single cells.
	MaxCellSize int
}

// Generate makes a realistic instance: institutions spread over regions,
// units of single, double and a few larger cells, women's and juvenile
// units, remand prisons, a spread of security levels, clients with risk
// scores, alerts, languages, programmes and sharing restrictions, and
// non-associations mostly between clients of one institution (co-accused,
// rival groups). The same config gives the same instance.
func Generate(cfg GenConfig) *Instance {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	if cfg.Current == 0 {
		cfg.Current = 0.8
	}
	if cfg.MaxCellSize == 0 {
		cfg.MaxCellSize = 4
	}
	in := &Instance{Weights: DefaultWeights()}
	langs := []string{"sv", "sv", "sv", "sv", "sv", "nb", "da", "fi", "en", "ar", "so", "pl", "ro", "fa", "ti", "ru"}
	progs := []string{"anger", "drugs", "sex", "education", "work", "violence", "12steps"}
	nRegions := 21
	for i := range nRegions {
		in.Regions = append(in.Regions, Region{ID: fmt.Sprintf("R%02d", i), X: 200 + r.Float64()*600, Y: r.Float64() * 1500})
	}
	// Institutions of 50–250 beds; units of 10–40 beds.
	cellCap := func() int {
		x := r.IntN(100)
		switch {
		case x < 70 || cfg.MaxCellSize == 1:
			return 1
		case x < 95 || cfg.MaxCellSize == 2:
			return 2
		default:
			return min(cfg.MaxCellSize, 3+r.IntN(2))
		}
	}
	beds := 0
	for beds < cfg.Places {
		ii := len(in.Institutions)
		in.Institutions = append(in.Institutions, Institution{ID: fmt.Sprintf("I%03d", ii), Region: r.IntN(nRegions)})
		if r.IntN(8) == 0 {
			w := DefaultWeights()
			w.Risk = int64(5 + r.IntN(15))
			in.Institutions[ii].Weights = &w
		}
		remand := r.IntN(4) == 0
		security := 1 + r.IntN(3)
		instBeds := 50 + r.IntN(200)
		women := r.IntN(8) == 0
		for ub := 0; ub < instBeds && beds < cfg.Places; {
			ui := len(in.Units)
			u := Unit{ID: fmt.Sprintf("U%04d", ui), Institution: ii, Languages: []string{"sv", langs[5+r.IntN(len(langs)-5)]}}
			for _, p := range progs {
				if r.IntN(3) == 0 {
					u.Programmes = append(u.Programmes, p)
				}
			}
			in.Units = append(in.Units, u)
			juvenile := r.IntN(40) == 0
			gender := Male
			if women || r.IntN(15) == 0 {
				gender = Female
			}
			if r.IntN(10) == 0 {
				gender = GenderAny
			}
			sec := max(1, security-r.IntN(2))
			smoking := r.IntN(3) == 0
			size := 10 + r.IntN(30)
			for b := 0; b < size && beds < cfg.Places; {
				ki := len(in.Cells)
				c := Cell{ID: fmt.Sprintf("K%05d", ki), Unit: ui, Capacity: cellCap(), Gender: gender, Security: sec,
					Juvenile: juvenile, Remand: remand, Accessible: r.IntN(12) == 0, Smoking: smoking}
				if r.IntN(60) == 0 {
					c.OutOfUse = true
				} else {
					b += c.Capacity
					ub += c.Capacity
					beds += c.Capacity
				}
				in.Cells = append(in.Cells, c)
			}
		}
	}
	// Every client is modelled on a bed of its own (a planted placement),
	// so an instance with no more clients than beds has at least one
	// placement that keeps every rule: the generated non-associations and
	// sharing restrictions are drawn so that the planted one keeps them.
	var usable []int
	for k, c := range in.Cells {
		if !c.OutOfUse {
			for range c.Capacity {
				usable = append(usable, k)
			}
		}
	}
	r.Shuffle(len(usable), func(i, j int) { usable[i], usable[j] = usable[j], usable[i] })
	planted := make([]int, cfg.Clients)
	for i := range cfg.Clients {
		k := usable[i%len(usable)]
		planted[i] = k
		model := in.Cells[k]
		cl := Client{ID: fmt.Sprintf("C%06d", i), Gender: model.Gender, Juvenile: model.Juvenile, Remand: model.Remand && r.IntN(3) > 0,
			MinSecurity: max(1, model.Security-r.IntN(2)), Home: r.IntN(nRegions), Current: NoCell, Lock: NoCell}
		if cl.Gender == GenderAny {
			cl.Gender = Male + Gender(k%2)
		}
		if model.Accessible && r.IntN(3) == 0 {
			cl.NeedsAccessible = true
		}
		cl.Risk = min(100, int(r.ExpFloat64()*20))
		cl.Violence = r.IntN(8) == 0
		cl.Smoker = r.IntN(3) == 0
		if r.IntN(4) == 0 {
			cl.Language = langs[r.IntN(len(langs))]
		}
		for _, p := range progs {
			if r.IntN(8) == 0 {
				cl.Programmes = append(cl.Programmes, p)
			}
		}
		switch x := r.IntN(100); {
		case x < 4:
			cl.Sharing = ShareNever
		case x < 10:
			cl.Sharing = ShareNonSmoker
		case x < 13:
			cl.Sharing = ShareSameLanguage
		case x < 18:
			cl.Sharing = ShareNoViolence
		}
		if cl.Remand && r.IntN(6) == 0 {
			cl.Restricted = true
		}
		in.Clients = append(in.Clients, cl)
	}
	mates := map[int][]int{}
	for c, k := range planted {
		for _, o := range mates[k] {
			if _, bad := pairBreaks(&in.Clients[c], &in.Clients[o]); bad {
				in.Clients[c].Sharing, in.Clients[c].Restricted = 0, false
				in.Clients[o].Sharing, in.Clients[o].Restricted = 0, false
			}
		}
		mates[k] = append(mates[k], c)
	}
	// The current placement is another one, found at random before any
	// non-association was known: some of them now need a move.
	cur := currentPlacement(in, r, cfg.Current)
	for c, k := range cur {
		in.Clients[c].Current = k
		// Locked to the planted cell, as a user locks a proposed placement,
		// which keeps the planted placement a witness of feasibility.
		if r.Float64() < cfg.Locked {
			in.Clients[c].Lock = planted[c]
		}
	}
	// Non-associations: mostly between clients of one institution (where
	// they bind), scopes mostly unit, each kept by the planted placement.
	where := func(c int) int { return planted[c] }
	byInst := map[int][]int{}
	for c := range planted {
		byInst[in.Units[in.Cells[where(c)].Unit].Institution] = append(byInst[in.Units[in.Cells[where(c)].Unit].Institution], c)
	}
	seen := map[[2]int]bool{}
	for tries := 0; len(in.NonAssociations) < cfg.NonAssociations && cfg.Clients >= 2 && tries < 50*cfg.NonAssociations; tries++ {
		a := r.IntN(cfg.Clients)
		var b int
		if r.IntN(3) > 0 {
			peers := byInst[in.Units[in.Cells[where(a)].Unit].Institution]
			b = peers[r.IntN(len(peers))]
		} else {
			b = r.IntN(cfg.Clients)
		}
		if a == b || seen[[2]int{min(a, b), max(a, b)}] {
			continue
		}
		scope := ScopeUnit
		switch x := r.IntN(20); {
		case x < 5:
			scope = ScopeCell
		case x < 7:
			scope = ScopeInstitution
		case x < 9:
			scope = ScopeTransport
		}
		ka, kb := where(a), where(b)
		ua, ub := in.Cells[ka].Unit, in.Cells[kb].Unit
		if (scope == ScopeCell && ka == kb) || (scope == ScopeUnit && ua == ub) || (scope == ScopeInstitution && in.Units[ua].Institution == in.Units[ub].Institution) {
			continue
		}
		seen[[2]int{min(a, b), max(a, b)}] = true
		in.NonAssociations = append(in.NonAssociations, NonAssociation{A: a, B: b, Scope: scope})
	}
	return in
}

// currentPlacement places a share of the clients feasibly, in random
// order, ignoring non-associations (none exist yet when it runs).
func currentPlacement(in *Instance, r *rand.Rand, share float64) []int {
	m := compile(in)
	cs := m.classes()
	out := make([]int, len(in.Clients))
	for c := range out {
		out[c] = NoCell
	}
	for c := range in.Clients {
		if r.Float64() >= share {
			continue
		}
		cells := cs.groups[cs.key[c]].cells
		for range 20 {
			if len(cells) == 0 {
				break
			}
			k := cells[r.IntN(len(cells))]
			if m.fits(int32(c), k) {
				m.place(int32(c), k)
				out[c] = int(k)
				break
			}
		}
	}
	return out
}
