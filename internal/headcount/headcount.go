// SPDX-License-Identifier: AGPL-3.0-or-later

// Package headcount is the nominal roll: for an institution or a unit,
// who is in which cell now, who is on leave or escaped, which beds are
// empty or out of use, and totals per unit and for the institution that
// add up. It reads the estate (cells and their bed counters) and the
// client register (who is where) through their services and owns no
// tables. The roll is a read of personal data: the client service audits
// every person listed.
//
// The figures, per unit and in total:
//
//	roll      = in cells + on leave + escaped (+ unplaced, which should be 0)
//	occupied  = the estate's bed counters (beds held: a person on leave keeps the bed)
//	free      = capacity − occupied − out of use
//
// and the check: the people the register places in the cells (present and
// on leave) must equal the unit's present + on leave and the estate's
// occupied counter. A difference means the register and the estate
// disagree and is shown loudly.
package headcount

import (
	"sort"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
)

// Person is someone on the roll.
type Person struct {
	ID     string        `json:"id"`
	Number string        `json:"number"`
	Name   string        `json:"name"`
	Status client.Status `json:"status"`
	Alerts []string      `json:"alerts"`
	CellID string        `json:"cell_id,omitempty"`
	// CellLabel is where an on-leave person's bed is kept.
	CellLabel string `json:"cell_label,omitempty"`
}

// Cell is one cell's line on the roll.
type Cell struct {
	ID       string          `json:"id"`
	Label    string          `json:"label"`
	Capacity int             `json:"capacity"`
	Occupied int             `json:"occupied"` // the estate's bed counter
	Free     int             `json:"free_beds"`
	OutOfUse *estate.Closure `json:"out_of_use,omitempty"`
	// People the register places in the cell: present, and on leave with
	// the bed kept.
	People []Person `json:"people"`
	// Mismatch: the register's people in the cell differ from the bed
	// counter.
	Mismatch bool `json:"mismatch"`
}

// Figures are the totals of a unit or institution.
type Figures struct {
	Roll     int `json:"roll"`
	InCells  int `json:"in_cells"` // present: in custody, in a cell
	OnLeave  int `json:"on_leave"`
	Escaped  int `json:"escaped"`
	Unplaced int `json:"unplaced"` // on the roll but in no known cell of the unit (should be 0)
	Capacity int `json:"capacity"`
	Occupied int `json:"occupied_beds"`
	Free     int `json:"free_beds"`
	OutOfUse int `json:"out_of_use_beds"`
	Cells    int `json:"cells"`
}

func (f *Figures) add(g Figures) {
	f.Roll += g.Roll
	f.InCells += g.InCells
	f.OnLeave += g.OnLeave
	f.Escaped += g.Escaped
	f.Unplaced += g.Unplaced
	f.Capacity += g.Capacity
	f.Occupied += g.Occupied
	f.Free += g.Free
	f.OutOfUse += g.OutOfUse
	f.Cells += g.Cells
}

// Check compares three counts that must agree.
type Check struct {
	// CellPeople is the sum over cells of the people the register places
	// in them.
	CellPeople int `json:"cell_people"`
	// BedHolders is present + on leave from the register's statuses.
	BedHolders int `json:"bed_holders"`
	// EstateOccupied is the sum of the estate's bed counters.
	EstateOccupied int `json:"estate_occupied"`
	// MismatchedCells lists cells whose people differ from their counter.
	MismatchedCells []string `json:"mismatched_cells,omitempty"`
	OK              bool     `json:"ok"`
}

func check(cellPeople, holders, occupied, unplaced int, mismatched []string) Check {
	return Check{CellPeople: cellPeople, BedHolders: holders, EstateOccupied: occupied, MismatchedCells: mismatched,
		OK: cellPeople == holders && holders == occupied && unplaced == 0 && len(mismatched) == 0}
}

// Unit is one unit's roll.
type Unit struct {
	ID       string   `json:"id"`
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Cells    []Cell   `json:"cells"`
	OnLeave  []Person `json:"on_leave"`
	Escaped  []Person `json:"escaped"`
	Unplaced []Person `json:"unplaced"`
	Figures  Figures  `json:"figures"`
	Check    Check    `json:"check"`
}

// Roll is the nominal roll of an institution or a unit.
type Roll struct {
	LocationID      string      `json:"location_id"`
	Kind            estate.Kind `json:"kind"`
	Name            string      `json:"name"`
	Code            string      `json:"code"`
	InstitutionName string      `json:"institution_name,omitempty"` // for a unit
	AsOf            time.Time   `json:"as_of"`
	Units           []Unit      `json:"units"`
	// Unplaced are people on the institution's roll in none of its units.
	Unplaced []Person `json:"unplaced"`
	Totals   Figures  `json:"totals"`
	Check    Check    `json:"check"`
}

// Build makes the roll of loc (an institution with its Units, or a unit)
// from its cells and the register's occupants.
func Build(loc estate.Location, cells []estate.Cell, people []client.Occupant, now time.Time) Roll {
	r := Roll{LocationID: loc.ID, Kind: loc.Kind, Name: loc.Name, Code: loc.Code, AsOf: now, Units: []Unit{}, Unplaced: []Person{}}
	units := loc.Units
	if loc.Kind == estate.Unit {
		units = []estate.Location{loc}
	}
	unitIdx := map[string]int{}
	for i, u := range units {
		unitIdx[u.ID] = i
		r.Units = append(r.Units, Unit{ID: u.ID, Code: u.Code, Name: u.Name, Cells: []Cell{}, OnLeave: []Person{}, Escaped: []Person{}, Unplaced: []Person{}})
	}
	type pos struct{ unit, cell int }
	cellIdx := map[string]pos{}
	for _, c := range cells {
		ui, ok := unitIdx[c.UnitID]
		if !ok {
			continue
		}
		u := &r.Units[ui]
		cellIdx[c.ID] = pos{ui, len(u.Cells)}
		u.Cells = append(u.Cells, Cell{ID: c.ID, Label: c.Label, Capacity: c.Capacity, Occupied: c.Occupied, Free: c.Free(), OutOfUse: c.OutOfUse, People: []Person{}})
	}
	for _, o := range people {
		p := Person{ID: o.ID, Number: o.Number, Name: o.Name(), Status: o.Status, Alerts: o.Alerts, CellID: o.CellID}
		if p.Alerts == nil {
			p.Alerts = []string{}
		}
		ui, inUnit := unitIdx[o.UnitID]
		cp, inCell := cellIdx[o.CellID]
		if inCell && inUnit && cp.unit != ui {
			inCell = false // the register's unit and cell disagree
		}
		switch {
		case o.Status == client.Escaped && inUnit:
			r.Units[ui].Escaped = append(r.Units[ui].Escaped, p)
		case (o.Status == client.InCustody || o.Status == client.OnLeave) && inCell:
			c := &r.Units[cp.unit].Cells[cp.cell]
			p.CellLabel = c.Label
			c.People = append(c.People, p)
			if o.Status == client.OnLeave {
				r.Units[cp.unit].OnLeave = append(r.Units[cp.unit].OnLeave, p)
			}
		case inUnit:
			r.Units[ui].Unplaced = append(r.Units[ui].Unplaced, p)
		default:
			r.Unplaced = append(r.Unplaced, p)
		}
	}
	var cellPeople int
	var mismatched []string
	for i := range r.Units {
		u := &r.Units[i]
		f := Figures{Escaped: len(u.Escaped), Unplaced: len(u.Unplaced), Cells: len(u.Cells)}
		var inCells int
		var bad []string
		for j := range u.Cells {
			c := &u.Cells[j]
			sort.SliceStable(c.People, func(a, b int) bool { return c.People[a].Name < c.People[b].Name })
			inCells += len(c.People)
			c.Mismatch = len(c.People) != c.Occupied
			if c.Mismatch {
				bad = append(bad, c.Label)
			}
			f.Capacity += c.Capacity
			f.Occupied += c.Occupied
			if c.OutOfUse != nil {
				f.OutOfUse += c.Capacity - c.Occupied
			}
		}
		f.OnLeave = len(u.OnLeave)
		f.InCells = inCells - f.OnLeave
		f.Free = f.Capacity - f.Occupied - f.OutOfUse
		f.Roll = f.InCells + f.OnLeave + f.Escaped + f.Unplaced
		u.Figures = f
		u.Check = check(inCells, f.InCells+f.OnLeave, f.Occupied, f.Unplaced, bad)
		r.Totals.add(f)
		cellPeople += inCells
		for _, b := range bad {
			mismatched = append(mismatched, u.Name+" "+b)
		}
	}
	r.Totals.Unplaced += len(r.Unplaced)
	r.Totals.Roll += len(r.Unplaced)
	r.Check = check(cellPeople, r.Totals.InCells+r.Totals.OnLeave, r.Totals.Occupied, r.Totals.Unplaced, mismatched)
	return r
}

// Badge is an alert as the roll shows it: its kind (for the text, from
// the "alert.<kind>" catalogue entry) and its CSS class.
type Badge struct {
	Kind  string
	Class string
}

// Badges are the person's active alerts for display.
func (p Person) Badges() []Badge {
	out := make([]Badge, len(p.Alerts))
	for i, k := range p.Alerts {
		out[i] = Badge{Kind: k, Class: strings.ReplaceAll(k, "_", "-")}
	}
	return out
}
