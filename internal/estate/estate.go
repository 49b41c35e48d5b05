// SPDX-License-Identifier: AGPL-3.0-or-later

// Package estate is the physical estate: institutions, their units and
// cells, and probation offices. It owns cell capacity: the client register
// occupies and vacates beds through Occupy and Vacate inside its own
// transaction, so a bed count can never disagree with who is in the cell.
package estate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
)

// Kind is the kind of a location.
type Kind string

// The location kinds.
const (
	Institution Kind = "institution"
	Unit        Kind = "unit"
	Office      Kind = "office" // a probation office
)

// Institution categories (Kind Institution).
var Categories = []string{"closed", "remand", "open"}

// Juvenile is the category of a unit for people under 18 only: the
// placement rules keep juveniles there and adults out. Other units have
// no category.
const Juvenile = "juvenile"

// Genders a unit or cell takes.
var Genders = []string{"any", "male", "female"}

// Security levels: 1 is the highest (Swedish säkerhetsklass 1), 3 the
// lowest; 0 means not set (offices).
const (
	MinSecurity = 1
	MaxSecurity = 3
)

// Location is an institution, a unit of one, or a probation office.
type Location struct {
	ID            string   `json:"id"`
	Kind          Kind     `json:"kind"`
	ParentID      string   `json:"parent_id,omitempty"`
	Code          string   `json:"code"`
	Name          string   `json:"name"`
	Category      string   `json:"category,omitempty"`
	SecurityLevel int      `json:"security_level,omitempty"`
	Gender        string   `json:"gender"`
	Region        string   `json:"region,omitempty"`
	Address       string   `json:"address,omitempty"`
	Lat           *float64 `json:"lat,omitempty"`
	Lon           *float64 `json:"lon,omitempty"`
	Version       int      `json:"version"`
	// Counts, filled by listings: beds and people for institutions and
	// units.
	Cells     int `json:"cells"`
	Capacity  int `json:"capacity"`
	Occupied  int `json:"occupied"`
	OutOfUse  int `json:"out_of_use_beds"`
	Available int `json:"available_beds"`
	// Units of an institution, in listings.
	Units []Location `json:"units,omitempty"`
}

// Cell is a cell in a unit.
type Cell struct {
	ID            string    `json:"id"`
	UnitID        string    `json:"unit_id"`
	Label         string    `json:"label"`
	Capacity      int       `json:"capacity"`
	Occupied      int       `json:"occupied"`
	SecurityLevel int       `json:"security_level"`
	Gender        string    `json:"gender"`
	Accessible    bool      `json:"accessible"`
	Smoking       bool      `json:"smoking"`
	Note          string    `json:"note,omitempty"`
	Version       int       `json:"version"`
	Closures      []Closure `json:"closures,omitempty"`
	// OutOfUse is set when a closure covers now.
	OutOfUse *Closure `json:"out_of_use,omitempty"`
}

// Free is the number of beds that can be taken now.
func (c Cell) Free() int {
	if c.OutOfUse != nil {
		return 0
	}
	return c.Capacity - c.Occupied
}

// Closure is a period a cell is out of use.
type Closure struct {
	ID     string     `json:"id"`
	CellID string     `json:"cell_id"`
	From   time.Time  `json:"from"`
	Until  *time.Time `json:"until,omitempty"`
	Reason string     `json:"reason"`
}

// Covers reports whether the closure is in force at t.
func (c Closure) Covers(t time.Time) bool {
	return !t.Before(c.From) && (c.Until == nil || t.Before(*c.Until))
}

// Place is where a cell is.
type Place struct {
	CellID          string `json:"cell_id"`
	CellLabel       string `json:"cell_label"`
	UnitID          string `json:"unit_id"`
	UnitName        string `json:"unit_name"`
	InstitutionID   string `json:"institution_id"`
	InstitutionName string `json:"institution_name"`
}

// Service is the estate capability.
type Service struct {
	DB *db.DB
}

// NewLocation is the input for creating a location.
type NewLocation struct {
	Kind          Kind     `json:"kind"`
	ParentID      string   `json:"parent_id"`
	Code          string   `json:"code"`
	Name          string   `json:"name"`
	Category      string   `json:"category"`
	SecurityLevel int      `json:"security_level"`
	Gender        string   `json:"gender"`
	Region        string   `json:"region"`
	Address       string   `json:"address"`
	Lat           *float64 `json:"lat"`
	Lon           *float64 `json:"lon"`
}

func (n *NewLocation) normalise() error {
	var fe apperr.Fields
	n.Code = strings.TrimSpace(n.Code)
	n.Name = strings.TrimSpace(n.Name)
	n.Region = strings.TrimSpace(n.Region)
	n.Address = strings.TrimSpace(n.Address)
	if n.Gender == "" {
		n.Gender = "any"
	}
	switch n.Kind {
	case Institution, Office:
		if n.ParentID != "" {
			fe.Add("parent_id", "Institutions and offices have no parent.")
		}
	case Unit:
		if n.ParentID == "" {
			fe.Add("parent_id", "Choose the institution the unit belongs to.")
		}
	default:
		fe.Add("kind", "Choose institution, unit or office.")
	}
	if n.Code == "" || len(n.Code) > 32 {
		fe.Add("code", "Give a short code (1–32 characters).")
	}
	if n.Name == "" || len([]rune(n.Name)) > 120 {
		fe.Add("name", "Give a name (1–120 characters).")
	}
	if n.Kind == Institution && !slices.Contains(Categories, n.Category) {
		fe.Add("category", "Choose closed, remand or open.")
	}
	switch {
	case n.Kind == Unit && n.Category != "" && n.Category != Juvenile:
		fe.Add("category", "A unit is either a youth unit (juvenile) or has no category.")
	case n.Kind == Office:
		n.Category = ""
	}
	if n.Kind == Office {
		n.SecurityLevel = 0
	} else if n.SecurityLevel < MinSecurity || n.SecurityLevel > MaxSecurity {
		fe.Add("security_level", fmt.Sprintf("Security level is %d (highest) to %d (lowest).", MinSecurity, MaxSecurity))
	}
	if !slices.Contains(Genders, n.Gender) {
		fe.Add("gender", "Choose any, male or female.")
	}
	if (n.Lat == nil) != (n.Lon == nil) {
		fe.Add("lat", "Give both latitude and longitude, or neither.")
	} else if n.Lat != nil && (*n.Lat < -90 || *n.Lat > 90 || *n.Lon < -180 || *n.Lon > 180) {
		fe.Add("lat", "Latitude is −90…90 and longitude −180…180.")
	}
	return fe.Err()
}

// CreateLocation creates an institution, unit or office.
func (s *Service) CreateLocation(ctx context.Context, n NewLocation) (*Location, error) {
	if err := n.normalise(); err != nil {
		return nil, err
	}
	l := &Location{ID: db.NewID(), Kind: n.Kind, ParentID: n.ParentID, Code: n.Code, Name: n.Name, Category: n.Category,
		SecurityLevel: n.SecurityLevel, Gender: n.Gender, Region: n.Region, Address: n.Address, Lat: n.Lat, Lon: n.Lon, Version: 1}
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		if n.Kind == Unit {
			k, err := LocationExists(ctx, tx, n.ParentID)
			if err != nil || k != string(Institution) {
				return apperr.Field("parent_id", "No such institution.")
			}
		}
		if err := insertLocation(ctx, tx, l); err != nil {
			if db.IsUniqueViolation(err) {
				return &apperr.Error{Code: apperr.Conflict, Message: "The code " + l.Code + " is taken.", Fields: []apperr.FieldError{{Field: "code", Message: "This code is taken."}}}
			}
			return err
		}
		return record(ctx, tx, "estate.location.create", "location", l.ID, "estate.location_created", map[string]any{"id": l.ID, "kind": l.Kind, "parent_id": l.ParentID, "code": l.Code})
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// LocationUpdate changes a location's descriptive fields.
type LocationUpdate struct {
	Version       int      `json:"version"`
	Name          string   `json:"name"`
	Category      string   `json:"category"`
	SecurityLevel int      `json:"security_level"`
	Gender        string   `json:"gender"`
	Region        string   `json:"region"`
	Address       string   `json:"address"`
	Lat           *float64 `json:"lat"`
	Lon           *float64 `json:"lon"`
}

// newLocation is the location l would become with u applied: the kind,
// parent and code stay; the rest comes from u. It is what gets validated.
func (u LocationUpdate) newLocation(l *Location) NewLocation {
	return NewLocation{Kind: l.Kind, ParentID: l.ParentID, Code: l.Code, Name: u.Name, Category: u.Category, SecurityLevel: u.SecurityLevel,
		Gender: u.Gender, Region: u.Region, Address: u.Address, Lat: u.Lat, Lon: u.Lon}
}

// UpdateLocation changes a location if u.Version is current.
func (s *Service) UpdateLocation(ctx context.Context, id string, u LocationUpdate) (*Location, error) {
	var out *Location
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		l, err := getLocation(ctx, tx, id)
		if err != nil {
			return err
		}
		n := u.newLocation(l)
		if err := n.normalise(); err != nil {
			return err
		}
		if u.Version != l.Version {
			return apperr.StaleVersion("location", l.Version)
		}
		if ok, err := updateLocation(ctx, tx, id, u.Version, n); err != nil {
			return err
		} else if !ok {
			return apperr.StaleVersion("location", l.Version)
		}
		if err := record(ctx, tx, "estate.location.update", "location", id, "estate.location_updated", map[string]any{"id": id, "version": u.Version + 1}); err != nil {
			return err
		}
		out, err = getLocation(ctx, tx, id)
		return err
	})
	return out, err
}

// NewCell is the input for creating a cell.
type NewCell struct {
	UnitID        string `json:"unit_id"`
	Label         string `json:"label"`
	Capacity      int    `json:"capacity"`
	SecurityLevel int    `json:"security_level"`
	Gender        string `json:"gender"`
	Accessible    bool   `json:"accessible"`
	Smoking       bool   `json:"smoking"`
	Note          string `json:"note"`
}

// MaxCellCapacity bounds a cell's beds (dormitories in open prisons).
const MaxCellCapacity = 12

func (n *NewCell) normalise() error {
	var fe apperr.Fields
	n.Label = strings.TrimSpace(n.Label)
	n.Note = strings.TrimSpace(n.Note)
	if n.Gender == "" {
		n.Gender = "any"
	}
	if n.Label == "" || len([]rune(n.Label)) > 20 {
		fe.Add("label", "Give the cell's label (1–20 characters).")
	}
	if n.Capacity < 1 || n.Capacity > MaxCellCapacity {
		fe.Add("capacity", fmt.Sprintf("Capacity is 1 to %d beds.", MaxCellCapacity))
	}
	if n.SecurityLevel < MinSecurity || n.SecurityLevel > MaxSecurity {
		fe.Add("security_level", fmt.Sprintf("Security level is %d (highest) to %d (lowest).", MinSecurity, MaxSecurity))
	}
	if !slices.Contains(Genders, n.Gender) {
		fe.Add("gender", "Choose any, male or female.")
	}
	if len([]rune(n.Note)) > 500 {
		fe.Add("note", "Keep the note under 500 characters.")
	}
	return fe.Err()
}

// CreateCell adds a cell to a unit.
func (s *Service) CreateCell(ctx context.Context, n NewCell) (*Cell, error) {
	if err := n.normalise(); err != nil {
		return nil, err
	}
	c := &Cell{ID: db.NewID(), UnitID: n.UnitID, Label: n.Label, Capacity: n.Capacity, SecurityLevel: n.SecurityLevel, Gender: n.Gender,
		Accessible: n.Accessible, Smoking: n.Smoking, Note: n.Note, Version: 1}
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		if k, err := LocationExists(ctx, tx, n.UnitID); err != nil || k != string(Unit) {
			return apperr.Field("unit_id", "No such unit.")
		}
		if err := insertCell(ctx, tx, c); err != nil {
			if db.IsUniqueViolation(err) {
				return labelTaken(c.Label)
			}
			return err
		}
		return record(ctx, tx, "estate.cell.create", "cell", c.ID, "estate.cell_created", map[string]any{"id": c.ID, "unit_id": c.UnitID, "capacity": c.Capacity})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// CellUpdate changes a cell's properties.
type CellUpdate struct {
	Version       int    `json:"version"`
	Label         string `json:"label"`
	Capacity      int    `json:"capacity"`
	SecurityLevel int    `json:"security_level"`
	Gender        string `json:"gender"`
	Accessible    bool   `json:"accessible"`
	Smoking       bool   `json:"smoking"`
	Note          string `json:"note"`
}

// newCell is the cell u describes in unit unitID. It is what gets
// validated.
func (u CellUpdate) newCell(unitID string) NewCell {
	return NewCell{UnitID: unitID, Label: u.Label, Capacity: u.Capacity, SecurityLevel: u.SecurityLevel, Gender: u.Gender,
		Accessible: u.Accessible, Smoking: u.Smoking, Note: u.Note}
}

// labelTaken is the conflict of a second cell with the same label in a
// unit.
func labelTaken(label string) error {
	return &apperr.Error{Code: apperr.Conflict, Message: "The unit already has a cell " + label + ".", Fields: []apperr.FieldError{{Field: "label", Message: "This label is taken in the unit."}}}
}

// UpdateCell changes a cell if u.Version is current. Capacity cannot go
// below the number of people in the cell.
func (s *Service) UpdateCell(ctx context.Context, id string, u CellUpdate) (*Cell, error) {
	var out *Cell
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		c, err := getCell(ctx, tx, id)
		if err != nil {
			return err
		}
		n := u.newCell(c.UnitID)
		if err := n.normalise(); err != nil {
			return err
		}
		if u.Version != c.Version {
			return apperr.StaleVersion("cell", c.Version)
		}
		if n.Capacity < c.Occupied {
			return apperr.Field("capacity", fmt.Sprintf("%d people are in the cell now; move them before lowering the capacity.", c.Occupied))
		}
		ok, err := updateCell(ctx, tx, id, u.Version, n)
		if db.IsUniqueViolation(err) {
			return labelTaken(n.Label)
		}
		if err != nil {
			return err
		}
		if !ok {
			return apperr.StaleVersion("cell", c.Version)
		}
		if err := record(ctx, tx, "estate.cell.update", "cell", id, "estate.cell_updated", map[string]any{"id": id, "version": u.Version + 1, "capacity": n.Capacity}); err != nil {
			return err
		}
		out, err = getCell(ctx, tx, id)
		return err
	})
	return out, err
}

// CloseCell takes a cell out of use from from until until (nil: until
// reopened). A cell with people in it cannot be closed from now.
func (s *Service) CloseCell(ctx context.Context, cellID string, from time.Time, until *time.Time, reason string) (*Closure, error) {
	reason = strings.TrimSpace(reason)
	var fe apperr.Fields
	if reason == "" {
		fe.Add("reason", "Say why the cell is out of use.")
	}
	if from.IsZero() {
		fe.Add("from", "Give the date the cell goes out of use.")
	}
	if until != nil && !until.After(from) {
		fe.Add("until", "The end must be after the start.")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	cl := &Closure{ID: db.NewID(), CellID: cellID, From: from.UTC(), Until: until, Reason: reason}
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		c, err := getCell(ctx, tx, cellID)
		if err != nil {
			return err
		}
		if cl.Covers(tx.Now) && c.Occupied > 0 {
			return apperr.Field("from", fmt.Sprintf("%d people are in the cell now; move them first or start the closure later.", c.Occupied))
		}
		// Lock the cell row first (bumping its version) and only then look
		// at its occupancy and closures. On PostgreSQL (READ COMMITTED) an
		// Occupy running at the same time either holds the row, so this
		// conditional update waits and then sees the new occupant, or waits
		// for this transaction and then sees the closure; and two
		// overlapping closures cannot both pass the overlap check.
		if ok, err := touchCell(ctx, tx, cellID, cl.Covers(tx.Now)); err != nil {
			return err
		} else if !ok {
			return apperr.Field("from", "Someone has just been placed in the cell; move them first or start the closure later.")
		}
		if c, err = getCell(ctx, tx, cellID); err != nil {
			return err
		}
		for _, o := range c.Closures {
			if overlaps(o, *cl) {
				return apperr.Field("from", "The cell is already out of use for part of this period.")
			}
		}
		if err := insertClosure(ctx, tx, cl, actorID(ctx)); err != nil {
			return err
		}
		return record(ctx, tx, "estate.cell.close", "cell", cellID, "estate.cell_closed", map[string]any{"cell_id": cellID, "closure_id": cl.ID})
	})
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// ReopenCell ends a closure now (or deletes it if it has not started).
func (s *Service) ReopenCell(ctx context.Context, closureID string) error {
	return s.DB.Transact(ctx, func(tx *db.Tx) error {
		cl, err := getClosure(ctx, tx, closureID)
		if err != nil {
			return err
		}
		if cl.Until != nil && !cl.Until.After(tx.Now) {
			return apperr.New(apperr.Conflict, "This out-of-use period has already ended.")
		}
		if err := endClosure(ctx, tx, cl); err != nil {
			return err
		}
		if _, err := touchCell(ctx, tx, cl.CellID, false); err != nil {
			return err
		}
		return record(ctx, tx, "estate.cell.reopen", "cell", cl.CellID, "estate.cell_reopened", map[string]any{"cell_id": cl.CellID, "closure_id": closureID})
	})
}

// ClosureCell returns the cell of a current or planned out-of-use period,
// or NotFound (also for one that has ended).
func (s *Service) ClosureCell(ctx context.Context, closureID string) (string, error) {
	return db.Read(ctx, s.DB, func(tx *db.Tx) (string, error) {
		cl, err := getClosure(ctx, tx, closureID)
		if apperr.CodeOf(err) == apperr.NotFound || err == nil && cl.Until != nil && !cl.Until.After(tx.Now) {
			return "", apperr.New(apperr.NotFound, "No current or planned out-of-use period has this id.")
		}
		return cl.CellID, err
	})
}

func overlaps(a, b Closure) bool {
	aEnd, bEnd := a.Until, b.Until
	return (bEnd == nil || a.From.Before(*bEnd)) && (aEnd == nil || b.From.Before(*aEnd))
}

// Tree lists institutions with their units, and offices, with bed counts.
func (s *Service) Tree(ctx context.Context) ([]Location, error) {
	return db.Read(ctx, s.DB, func(tx *db.Tx) ([]Location, error) { return tree(ctx, tx, "") })
}

// Location returns one location with counts (and units for institutions).
// It reads only that part of the estate.
func (s *Service) Location(ctx context.Context, id string) (*Location, error) {
	var out *Location
	err := s.DB.ReadOnly(ctx, func(tx *db.Tx) error {
		all, err := tree(ctx, tx, id)
		if err != nil {
			return err
		}
		for i := range all {
			if all[i].ID == id {
				out = &all[i]
				return nil
			}
			for j := range all[i].Units {
				if all[i].Units[j].ID == id {
					out = &all[i].Units[j]
					return nil
				}
			}
		}
		return apperr.New(apperr.NotFound, "No such location.")
	})
	return out, err
}

// Cells lists the cells of a unit, or of every unit of an institution,
// with their current closures.
func (s *Service) Cells(ctx context.Context, locationID string) ([]Cell, error) {
	return db.Read(ctx, s.DB, func(tx *db.Tx) ([]Cell, error) { return listCells(ctx, tx, locationID) })
}

// Cell returns one cell with its closures.
func (s *Service) Cell(ctx context.Context, id string) (*Cell, error) {
	return db.Read(ctx, s.DB, func(tx *db.Tx) (*Cell, error) { return getCell(ctx, tx, id) })
}

// Lineage returns the location and its ancestors, nearest first: a cell
// gives cell, unit, institution; a unit gives unit, institution. A
// caseload naming any of them covers the location.
func (s *Service) Lineage(ctx context.Context, id string) ([]string, error) {
	return db.Read(ctx, s.DB, func(tx *db.Tx) ([]string, error) { return lineage(ctx, tx, id) })
}

// Names returns display names of locations and cells by id.
func (s *Service) Names(ctx context.Context, ids []string) (map[string]string, error) {
	return db.Read(ctx, s.DB, func(tx *db.Tx) (map[string]string, error) { return LocationNames(ctx, tx, ids) })
}

func record(ctx context.Context, tx *db.Tx, action, objType, objID, event string, data map[string]any) error {
	if err := audit.Write(ctx, tx, audit.Entry{Action: action, ObjectType: objType, ObjectID: objID}); err != nil {
		return err
	}
	return events.Emit(ctx, tx, event, objID, data)
}

func actorID(ctx context.Context) string {
	if a, ok := audit.ActorFrom(ctx); ok {
		return a.ID
	}
	return audit.System.ID
}
