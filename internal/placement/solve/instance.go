// SPDX-License-Identifier: AGPL-3.0-or-later

// Package solve places clients in cells so that every hard rule holds and a
// weighted sum of soft costs is as low as it can find. It is pure: no
// database, no clock except the time limit, no outside input except what the
// caller puts in an Instance (or Parse reads from the text format described
// in docs/placement-format.md).
//
// The domain package builds an Instance from the register (cells from the
// estate, clients from the person register, non-associations from alerts),
// calls Solve for a batch placement or Rank for the cell move screen, and
// shows Check's violations, the Cost breakdown and the Moves.
//
// Hard rules (never broken by Solve, reported by Check): capacity, gender,
// minimum security level, juveniles apart from adults, remand clients only in
// remand cells, restricted remand clients alone in their cell, non-associations
// by scope, sharing suitability, accessibility, out-of-use cells, locks, and
// every client placed. Soft costs (Weights, per institution): cell-mate risk,
// violence alerts sharing, distance from home, language, programmes, moves,
// smoking.
//
// Everything is indexed: a client's Current cell is an index into
// Instance.Cells, a Unit's Institution an index into Instance.Institutions,
// and so on. NoCell (-1) is "none".
package solve

import (
	"fmt"
	"math"
)

// NoCell is the cell of a client who has none: not yet placed (intake), not
// locked, or left unplaced.
const NoCell = -1

// Gender of a client, or the gender a cell is reserved for.
type Gender uint8

// Genders. A cell with GenderAny takes either, but cell-mates always have the
// same gender.
const (
	GenderAny Gender = iota
	Male
	Female
)

func (g Gender) String() string {
	switch g {
	case Male:
		return "m"
	case Female:
		return "f"
	}
	return "any"
}

// Sharing says with whom a client may share a cell. The zero value is "with
// anyone"; the flags combine (only with non-smokers who speak my language).
type Sharing uint8

// Sharing flags.
const (
	// ShareNever: not suitable to share a cell with anyone.
	ShareNever Sharing = 1 << iota
	// ShareNonSmoker: shares only with non-smokers.
	ShareNonSmoker
	// ShareSameLanguage: shares only with clients of the same language.
	ShareSameLanguage
	// ShareNoViolence: shares only with clients without a violence alert.
	ShareNoViolence
)

// Scope of a non-association: how far apart the two clients must be kept.
type Scope uint8

// Scopes. ScopeTransport is kept in instances so that they can be shared with
// the transport planner, but places no restriction on placement.
const (
	ScopeCell Scope = iota + 1
	ScopeUnit
	ScopeInstitution
	ScopeTransport
)

func (s Scope) String() string {
	switch s {
	case ScopeCell:
		return "cell"
	case ScopeUnit:
		return "unit"
	case ScopeInstitution:
		return "institution"
	case ScopeTransport:
		return "transport"
	}
	return fmt.Sprintf("scope(%d)", uint8(s))
}

// Instance is one placement problem: the estate, the clients to place, who
// must be kept apart, and the weights of the soft costs.
type Instance struct {
	Regions         []Region
	Institutions    []Institution
	Units           []Unit
	Cells           []Cell
	Clients         []Client
	NonAssociations []NonAssociation
	// Weights apply in every institution that has no weights of its own.
	Weights Weights
}

// Region is a home region; distances are measured between region centres.
type Region struct {
	ID   string
	X, Y float64 // km on a plane (e.g. SWEREF 99 / 1 000)
}

// Institution is a prison or remand prison.
type Institution struct {
	ID     string
	Region int // index into Instance.Regions
	// Weights, when not nil, replace Instance.Weights for placements in
	// this institution.
	Weights *Weights
}

// Unit is a wing or ward of an institution.
type Unit struct {
	ID          string
	Institution int      // index into Instance.Institutions
	Languages   []string // languages the staff speak (no cost for these)
	Programmes  []string // treatment and education programmes offered
}

// Cell is a room with Capacity beds. Juvenile is the unit's rule (Validate
// refuses a unit whose cells disagree), so that juveniles and adults never
// share a unit.
type Cell struct {
	ID         string
	Unit       int // index into Instance.Units
	Capacity   int
	Gender     Gender // GenderAny: either (cell-mates still share a gender)
	Security   int    // security level; a client needs Security ≥ MinSecurity
	Juvenile   bool   // a cell for juveniles only; other cells take adults only
	Remand     bool   // remand clients may only be placed in remand cells
	Accessible bool
	OutOfUse   bool
	Smoking    bool // smoking allowed
}

// Client is a person to place.
type Client struct {
	ID              string
	Gender          Gender // Male or Female
	MinSecurity     int
	Juvenile        bool
	Remand          bool // on remand: needs a remand cell
	Restricted      bool // remand with restrictions: alone in the cell (co-accused are non-associations)
	NeedsAccessible bool
	Sharing         Sharing
	Smoker          bool
	Language        string // "" when no need
	Violence        bool   // violence alert
	Risk            int    // 0–100, the assessed risk towards others
	Home            int    // index into Instance.Regions, or -1
	Programmes      []string
	Current         int // cell now, or NoCell (intake)
	Lock            int // cell the client must be placed in, or NoCell
}

// NonAssociation keeps two clients apart within its Scope.
type NonAssociation struct {
	A, B  int // indexes into Instance.Clients
	Scope Scope
}

// Weights of the soft costs. Every weight is a cost in points; the
// objective is the sum of the terms listed in Cost.
type Weights struct {
	// Risk × riskA × riskB / 100 for every pair of clients sharing a cell.
	Risk int64
	// Violence for every pair sharing a cell, per client of the pair with a
	// violence alert: a violent client in a four-bed cell costs 3×.
	Violence int64
	// Distance per 10 km between the home region and the institution.
	Distance int64
	// Language when no staff of the unit speak the client's language.
	Language int64
	// Programme per programme the client needs and the unit does not offer.
	Programme int64
	// Move when the client leaves the current cell; Transfer on top when
	// the move is to another institution.
	Move, Transfer int64
	// Smoking when a smoker is placed in a cell where smoking is not allowed.
	Smoking int64
}

// DefaultWeights are a starting point: a violent cell-mate or a pair of
// high-risk clients outweighs a few hundred kilometres, which outweighs a
// move within the institution.
func DefaultWeights() Weights {
	return Weights{Risk: 10, Violence: 200, Distance: 1, Language: 60, Programme: 40, Move: 30, Transfer: 100, Smoking: 20}
}

// weights of institution i.
func (in *Instance) weights(i int) *Weights {
	if w := in.Institutions[i].Weights; w != nil {
		return w
	}
	return &in.Weights
}

// Validate reports the first structural error: an index out of range, a
// negative capacity, a unit whose cells disagree on juveniles, a
// non-association of a client with itself, a duplicate ID.
func (in *Instance) Validate() error {
	ids := func(kind string, n int, id func(int) string) error {
		seen := make(map[string]bool, n)
		for i := range n {
			s := id(i)
			if s == "" {
				return fmt.Errorf("%s %d has no ID", kind, i)
			}
			if seen[s] {
				return fmt.Errorf("%s %q appears twice", kind, s)
			}
			seen[s] = true
		}
		return nil
	}
	if err := ids("region", len(in.Regions), func(i int) string { return in.Regions[i].ID }); err != nil {
		return err
	}
	if err := ids("institution", len(in.Institutions), func(i int) string { return in.Institutions[i].ID }); err != nil {
		return err
	}
	if err := ids("unit", len(in.Units), func(i int) string { return in.Units[i].ID }); err != nil {
		return err
	}
	if err := ids("cell", len(in.Cells), func(i int) string { return in.Cells[i].ID }); err != nil {
		return err
	}
	if err := ids("client", len(in.Clients), func(i int) string { return in.Clients[i].ID }); err != nil {
		return err
	}
	for _, r := range in.Regions {
		if math.IsNaN(r.X) || math.IsNaN(r.Y) || math.IsInf(r.X, 0) || math.IsInf(r.Y, 0) || math.Abs(r.X) > 1e6 || math.Abs(r.Y) > 1e6 {
			return fmt.Errorf("region %q: coordinates out of range", r.ID)
		}
	}
	for _, it := range in.Institutions {
		if it.Region < 0 || it.Region >= len(in.Regions) {
			return fmt.Errorf("institution %q: region %d out of range", it.ID, it.Region)
		}
		if it.Weights != nil {
			if err := it.Weights.validate(); err != nil {
				return fmt.Errorf("institution %q: %w", it.ID, err)
			}
		}
	}
	if err := in.Weights.validate(); err != nil {
		return err
	}
	for _, u := range in.Units {
		if u.Institution < 0 || u.Institution >= len(in.Institutions) {
			return fmt.Errorf("unit %q: institution %d out of range", u.ID, u.Institution)
		}
	}
	juv := make([]int8, len(in.Units)) // 0 unknown, 1 adult, 2 juvenile
	for _, c := range in.Cells {
		if c.Unit < 0 || c.Unit >= len(in.Units) {
			return fmt.Errorf("cell %q: unit %d out of range", c.ID, c.Unit)
		}
		if c.Capacity < 0 || c.Capacity > 64 {
			return fmt.Errorf("cell %q: capacity %d out of range 0–64", c.ID, c.Capacity)
		}
		if c.Gender > Female {
			return fmt.Errorf("cell %q: unknown gender", c.ID)
		}
		j := int8(1)
		if c.Juvenile {
			j = 2
		}
		if juv[c.Unit] != 0 && juv[c.Unit] != j {
			return fmt.Errorf("cell %q: unit %q has both juvenile and adult cells", c.ID, in.Units[c.Unit].ID)
		}
		juv[c.Unit] = j
	}
	for _, c := range in.Clients {
		if c.Gender != Male && c.Gender != Female {
			return fmt.Errorf("client %q: gender must be m or f", c.ID)
		}
		if c.Sharing > ShareNever|ShareNonSmoker|ShareSameLanguage|ShareNoViolence {
			return fmt.Errorf("client %q: unknown sharing flags", c.ID)
		}
		if c.MinSecurity < -1_000_000 || c.MinSecurity > 1_000_000 {
			return fmt.Errorf("client %q: security level out of range", c.ID)
		}
		if c.Risk < 0 || c.Risk > 100 {
			return fmt.Errorf("client %q: risk %d out of range 0–100", c.ID, c.Risk)
		}
		if c.Home < -1 || c.Home >= len(in.Regions) {
			return fmt.Errorf("client %q: home region %d out of range", c.ID, c.Home)
		}
		if c.Current < NoCell || c.Current >= len(in.Cells) {
			return fmt.Errorf("client %q: current cell %d out of range", c.ID, c.Current)
		}
		if c.Lock < NoCell || c.Lock >= len(in.Cells) {
			return fmt.Errorf("client %q: locked cell %d out of range", c.ID, c.Lock)
		}
	}
	for _, na := range in.NonAssociations {
		if na.A < 0 || na.A >= len(in.Clients) || na.B < 0 || na.B >= len(in.Clients) {
			return fmt.Errorf("non-association %d–%d: client out of range", na.A, na.B)
		}
		if na.A == na.B {
			return fmt.Errorf("non-association of client %q with itself", in.Clients[na.A].ID)
		}
		if na.Scope < ScopeCell || na.Scope > ScopeTransport {
			return fmt.Errorf("non-association %q–%q: unknown scope", in.Clients[na.A].ID, in.Clients[na.B].ID)
		}
	}
	return nil
}

// maxWeight keeps every sum of costs far from int64 overflow.
const maxWeight = 1 << 30

func (w *Weights) validate() error {
	for _, v := range []int64{w.Risk, w.Violence, w.Distance, w.Language, w.Programme, w.Move, w.Transfer, w.Smoking} {
		if v < 0 || v > maxWeight {
			return fmt.Errorf("weight %d out of range 0–%d", v, maxWeight)
		}
	}
	return nil
}

// Cost is the objective broken down by term; Total is their sum.
type Cost struct {
	Risk, Violence, Distance, Language, Programme, Move, Smoking int64
	Total                                                        int64
}

func (c *Cost) add(o Cost) {
	c.Risk += o.Risk
	c.Violence += o.Violence
	c.Distance += o.Distance
	c.Language += o.Language
	c.Programme += o.Programme
	c.Move += o.Move
	c.Smoking += o.Smoking
	c.Total += o.Total
}

// Move is one client's change of cell in a solution.
type Move struct {
	Client   int
	From, To int // From is NoCell for an intake
}

// Solution is a cell for every client, its cost and the moves from the
// current placement.
type Solution struct {
	Cell  []int // per client; NoCell only in Greedy's result, for clients it could not place
	Cost  Cost
	Moves []Move
	// Unplaced lists clients left without a cell (Greedy only; Solve
	// returns an *Infeasible error instead).
	Unplaced []int
}

// NewSolution fills in the cost, the moves and the unplaced clients of a
// cell per client (which it keeps, not copies).
func NewSolution(in *Instance, cells []int) *Solution {
	s := &Solution{Cell: cells, Cost: Evaluate(in, cells)}
	for c, k := range cells {
		if k == NoCell {
			s.Unplaced = append(s.Unplaced, c)
			continue
		}
		if k != in.Clients[c].Current {
			s.Moves = append(s.Moves, Move{Client: c, From: in.Clients[c].Current, To: k})
		}
	}
	return s
}
