// SPDX-License-Identifier: AGPL-3.0-or-later

package estate_test

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func actor() context.Context {
	return audit.WithActor(context.Background(), audit.Actor{ID: "staff-1", Name: "Test Admin", Role: "administrator"})
}

// world is a small estate: one institution with units A and B, cells in
// each, and a probation office.
type world struct {
	svc      *estate.Service
	inst     *estate.Location
	a, b     *estate.Location
	office   *estate.Location
	a1, a2   *estate.Cell // A: 101 (2 beds), 102 (1 bed)
	a3, b1   *estate.Cell // A: 103 (3 beds); B: 201 (4 beds)
	allCells []*estate.Cell
}

func mustLoc(t *testing.T, s *estate.Service, n estate.NewLocation) *estate.Location {
	t.Helper()
	l, err := s.CreateLocation(actor(), n)
	if err != nil {
		t.Fatalf("create %s %s: %v", n.Kind, n.Code, err)
	}
	return l
}

func mustCell(t *testing.T, s *estate.Service, unit, label string, capacity int) *estate.Cell {
	t.Helper()
	c, err := s.CreateCell(actor(), estate.NewCell{UnitID: unit, Label: label, Capacity: capacity, SecurityLevel: 2, Gender: "male"})
	if err != nil {
		t.Fatalf("create cell %s: %v", label, err)
	}
	return c
}

func newWorld(t *testing.T, d *db.DB) *world {
	t.Helper()
	s := &estate.Service{DB: d}
	w := &world{svc: s}
	w.inst = mustLoc(t, s, estate.NewLocation{Kind: estate.Institution, Code: "KUM", Name: "Anstalten Kumla", Category: "closed", SecurityLevel: 1, Gender: "male"})
	w.a = mustLoc(t, s, estate.NewLocation{Kind: estate.Unit, ParentID: w.inst.ID, Code: "KUM-A", Name: "Avdelning A", SecurityLevel: 1, Gender: "male"})
	w.b = mustLoc(t, s, estate.NewLocation{Kind: estate.Unit, ParentID: w.inst.ID, Code: "KUM-B", Name: "Avdelning B", SecurityLevel: 2, Gender: "male"})
	w.office = mustLoc(t, s, estate.NewLocation{Kind: estate.Office, Code: "FV-ORE", Name: "Frivården Örebro"})
	w.a1 = mustCell(t, s, w.a.ID, "101", 2)
	w.a2 = mustCell(t, s, w.a.ID, "102", 1)
	w.a3 = mustCell(t, s, w.a.ID, "103", 3)
	w.b1 = mustCell(t, s, w.b.ID, "201", 4)
	w.allCells = []*estate.Cell{w.a1, w.a2, w.a3, w.b1}
	return w
}

func occupy(d *db.DB, cellID string) error {
	return d.Transact(actor(), func(tx *db.Tx) error {
		_, err := estate.Occupy(actor(), tx, cellID)
		return err
	})
}

func vacate(d *db.DB, cellID string) error {
	return d.Transact(actor(), func(tx *db.Tx) error { return estate.Vacate(actor(), tx, cellID) })
}

func count(t *testing.T, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := d.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantCode(t *testing.T, err error, code apperr.Code, field string) {
	t.Helper()
	if apperr.CodeOf(err) != code {
		t.Fatalf("want %s error, got %v", code, err)
	}
	if field == "" {
		return
	}
	e, _ := apperr.As(err)
	for _, f := range e.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("want a message on field %q, got %+v", field, e.Fields)
}

func TestTreeCountsAddUp(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := actor()
		for _, c := range []string{w.a1.ID, w.a1.ID, w.a3.ID, w.b1.ID} {
			if err := occupy(d, c); err != nil {
				t.Fatal(err)
			}
		}
		// 102 (1 bed, empty) is out of use from now.
		if _, err := w.svc.CloseCell(ctx, w.a2.ID, d.Now().Add(-time.Minute), nil, "Water damage"); err != nil {
			t.Fatal(err)
		}
		tree, err := w.svc.Tree(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tree) != 2 || tree[0].ID != w.inst.ID || tree[1].ID != w.office.ID {
			t.Fatalf("tree should list the institution, then the office: %+v", tree)
		}
		inst := tree[0]
		if len(inst.Units) != 2 || inst.Units[0].ID != w.a.ID || inst.Units[1].ID != w.b.ID {
			t.Fatalf("units: %+v", inst.Units)
		}
		type counts struct{ cells, capacity, occupied, out, avail int }
		got := func(l estate.Location) counts {
			return counts{l.Cells, l.Capacity, l.Occupied, l.OutOfUse, l.Available}
		}
		for _, c := range []struct {
			name string
			loc  estate.Location
			want counts
		}{
			{"unit A", inst.Units[0], counts{3, 6, 3, 1, 2}},
			{"unit B", inst.Units[1], counts{1, 4, 1, 0, 3}},
			{"institution", inst, counts{4, 10, 4, 1, 5}},
			{"office", tree[1], counts{}},
		} {
			if g := got(c.loc); g != c.want {
				t.Errorf("%s: got %+v, want %+v", c.name, g, c.want)
			}
			if c.loc.Capacity-c.loc.Occupied-c.loc.OutOfUse != c.loc.Available {
				t.Errorf("%s: capacity − occupied − out of use ≠ available: %+v", c.name, got(c.loc))
			}
		}
		// Location, which reads only its part of the estate, returns the
		// same figures (and units) for every node.
		for _, c := range []struct {
			name string
			want estate.Location
		}{{"unit A", inst.Units[0]}, {"unit B", inst.Units[1]}, {"institution", inst}, {"office", tree[1]}} {
			l, err := w.svc.Location(ctx, c.want.ID)
			if err != nil || !reflect.DeepEqual(*l, c.want) {
				t.Errorf("Location(%s) = %+v, %v; the tree has %+v", c.name, l, err, c.want)
			}
		}
		if _, err := w.svc.Location(ctx, w.a1.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("Location(a cell) = %v, want not found", err)
		}
		// Cells of the institution include both units' cells; 102 shows
		// its closure.
		cells, err := w.svc.Cells(ctx, w.inst.ID)
		if err != nil || len(cells) != 4 {
			t.Fatalf("cells of institution: %d %v", len(cells), err)
		}
		for _, c := range cells {
			if (c.ID == w.a2.ID) != (c.OutOfUse != nil) {
				t.Errorf("cell %s out of use = %v", c.Label, c.OutOfUse)
			}
		}
	})
}

func TestValidationErrorsChangeNothing(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s := &estate.Service{DB: d}
		ctx := actor()
		inst := mustLoc(t, s, estate.NewLocation{Kind: estate.Institution, Code: "HAL", Name: "Hall", Category: "closed", SecurityLevel: 1})
		unit := mustLoc(t, s, estate.NewLocation{Kind: estate.Unit, ParentID: inst.ID, Code: "HAL-A", Name: "A", SecurityLevel: 1})
		locs, cells, audits, events := count(t, d, "locations"), count(t, d, "cells"), count(t, d, "audit_log"), count(t, d, "outbox")
		lat := 59.0
		for name, c := range map[string]struct {
			n     estate.NewLocation
			field string
		}{
			"no kind":            {estate.NewLocation{Code: "X", Name: "X", SecurityLevel: 1}, "kind"},
			"no code":            {estate.NewLocation{Kind: estate.Institution, Name: "X", Category: "open", SecurityLevel: 1}, "code"},
			"no name":            {estate.NewLocation{Kind: estate.Institution, Code: "X", Category: "open", SecurityLevel: 1}, "name"},
			"bad category":       {estate.NewLocation{Kind: estate.Institution, Code: "X", Name: "X", Category: "spa", SecurityLevel: 1}, "category"},
			"bad security":       {estate.NewLocation{Kind: estate.Institution, Code: "X", Name: "X", Category: "open", SecurityLevel: 4}, "security_level"},
			"bad gender":         {estate.NewLocation{Kind: estate.Institution, Code: "X", Name: "X", Category: "open", SecurityLevel: 1, Gender: "robots"}, "gender"},
			"lat without lon":    {estate.NewLocation{Kind: estate.Office, Code: "X", Name: "X", Lat: &lat}, "lat"},
			"unit without inst":  {estate.NewLocation{Kind: estate.Unit, Code: "X", Name: "X", SecurityLevel: 1}, "parent_id"},
			"unit under unit":    {estate.NewLocation{Kind: estate.Unit, ParentID: unit.ID, Code: "X", Name: "X", SecurityLevel: 1}, "parent_id"},
			"unit under nothing": {estate.NewLocation{Kind: estate.Unit, ParentID: "nope", Code: "X", Name: "X", SecurityLevel: 1}, "parent_id"},
		} {
			_, err := s.CreateLocation(ctx, c.n)
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%s: want invalid, got %v", name, err)
				continue
			}
			e, _ := apperr.As(err)
			if len(e.Fields) == 0 || e.Fields[0].Field != c.field {
				t.Errorf("%s: want field %s, got %+v", name, c.field, e.Fields)
			}
		}
		for name, c := range map[string]struct {
			n     estate.NewCell
			field string
		}{
			"no label":      {estate.NewCell{UnitID: unit.ID, Capacity: 1, SecurityLevel: 1}, "label"},
			"zero capacity": {estate.NewCell{UnitID: unit.ID, Label: "1", SecurityLevel: 1}, "capacity"},
			"huge capacity": {estate.NewCell{UnitID: unit.ID, Label: "1", Capacity: 13, SecurityLevel: 1}, "capacity"},
			"no security":   {estate.NewCell{UnitID: unit.ID, Label: "1", Capacity: 1}, "security_level"},
			"in an inst":    {estate.NewCell{UnitID: inst.ID, Label: "1", Capacity: 1, SecurityLevel: 1}, "unit_id"},
		} {
			_, err := s.CreateCell(ctx, c.n)
			wantCode(t, err, apperr.Invalid, c.field)
			_ = name
		}
		if _, err := s.UpdateLocation(ctx, inst.ID, estate.LocationUpdate{Version: 1, Name: "", Category: "closed", SecurityLevel: 1}); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("update with no name: %v", err)
		}
		if _, err := s.CloseCell(ctx, "whatever", time.Time{}, nil, ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("closure without from and reason: %v", err)
		}
		if l2, c2, a2, e2 := count(t, d, "locations"), count(t, d, "cells"), count(t, d, "audit_log"), count(t, d, "outbox"); l2 != locs || c2 != cells || a2 != audits || e2 != events {
			t.Fatalf("rejected input changed the database: locations %d→%d cells %d→%d audit %d→%d outbox %d→%d", locs, l2, cells, c2, audits, a2, events, e2)
		}
		l, _ := s.Location(ctx, inst.ID)
		if l.Name != "Hall" || l.Version != 1 {
			t.Fatalf("institution changed: %+v", l)
		}
	})
}

func TestDuplicatesConflict(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := actor()
		_, err := w.svc.CreateLocation(ctx, estate.NewLocation{Kind: estate.Institution, Code: "KUM", Name: "Another", Category: "open", SecurityLevel: 3})
		wantCode(t, err, apperr.Conflict, "code")
		_, err = w.svc.CreateLocation(ctx, estate.NewLocation{Kind: estate.Unit, ParentID: w.inst.ID, Code: "KUM-A", Name: "Again", SecurityLevel: 1})
		wantCode(t, err, apperr.Conflict, "code")
		_, err = w.svc.CreateCell(ctx, estate.NewCell{UnitID: w.a.ID, Label: "101", Capacity: 1, SecurityLevel: 1})
		wantCode(t, err, apperr.Conflict, "label")
		// The same label in another unit is fine.
		if _, err := w.svc.CreateCell(ctx, estate.NewCell{UnitID: w.b.ID, Label: "101", Capacity: 1, SecurityLevel: 1}); err != nil {
			t.Fatal(err)
		}
		// Renaming a cell to a taken label conflicts and changes nothing.
		_, err = w.svc.UpdateCell(ctx, w.a2.ID, estate.CellUpdate{Version: w.a2.Version, Label: "101", Capacity: 1, SecurityLevel: 2, Gender: "male"})
		wantCode(t, err, apperr.Conflict, "label")
		c, _ := w.svc.Cell(ctx, w.a2.ID)
		if c.Label != "102" || c.Version != w.a2.Version {
			t.Fatalf("cell changed by a refused rename: %+v", c)
		}
	})
}

func TestUpdateCellVersionAndCapacity(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := actor()
		for range 2 {
			if err := occupy(d, w.a1.ID); err != nil {
				t.Fatal(err)
			}
		}
		_, err := w.svc.UpdateCell(ctx, w.a1.ID, estate.CellUpdate{Version: w.a1.Version, Label: "101", Capacity: 1, SecurityLevel: 2, Gender: "male"})
		wantCode(t, err, apperr.Invalid, "capacity")
		c, _ := w.svc.Cell(ctx, w.a1.ID)
		if c.Capacity != 2 || c.Occupied != 2 {
			t.Fatalf("capacity dropped below occupancy: %+v", c)
		}
		up, err := w.svc.UpdateCell(ctx, w.a1.ID, estate.CellUpdate{Version: c.Version, Label: "101", Capacity: 3, SecurityLevel: 1, Gender: "male", Accessible: true})
		if err != nil || up.Capacity != 3 || !up.Accessible || up.SecurityLevel != 1 || up.Version != c.Version+1 {
			t.Fatalf("update: %+v %v", up, err)
		}
		// The old version is stale now.
		_, err = w.svc.UpdateCell(ctx, w.a1.ID, estate.CellUpdate{Version: c.Version, Label: "101", Capacity: 4, SecurityLevel: 1, Gender: "male"})
		wantCode(t, err, apperr.Conflict, "")
		if e, _ := apperr.As(err); e.Detail["current_version"] != up.Version {
			t.Fatalf("stale error should carry the current version: %+v", e.Detail)
		}
		// Locations too.
		l, err := w.svc.UpdateLocation(ctx, w.a.ID, estate.LocationUpdate{Version: 1, Name: "Avdelning A (ny)", SecurityLevel: 1, Gender: "male"})
		if err != nil || l.Name != "Avdelning A (ny)" || l.Version != 2 {
			t.Fatalf("update location: %+v %v", l, err)
		}
		_, err = w.svc.UpdateLocation(ctx, w.a.ID, estate.LocationUpdate{Version: 1, Name: "Lost", SecurityLevel: 1})
		wantCode(t, err, apperr.Conflict, "")
	})
}

func TestClosures(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := actor()
		now := d.Now()
		cl, err := w.svc.CloseCell(ctx, w.a2.ID, now.Add(-time.Hour), nil, "Broken window")
		if err != nil {
			t.Fatal(err)
		}
		err = occupy(d, w.a2.ID)
		wantCode(t, err, apperr.Conflict, "")
		if c, _ := w.svc.Cell(ctx, w.a2.ID); c.Occupied != 0 || c.OutOfUse == nil || c.OutOfUse.Reason != "Broken window" || c.Free() != 0 {
			t.Fatalf("closed cell after refused occupy: %+v", c)
		}
		// An overlapping period is refused.
		_, err = w.svc.CloseCell(ctx, w.a2.ID, now.Add(24*time.Hour), nil, "Paint")
		wantCode(t, err, apperr.Invalid, "from")
		// An occupied cell cannot be closed from now, but can be later.
		if err := occupy(d, w.a1.ID); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.CloseCell(ctx, w.a1.ID, now.Add(-time.Minute), nil, "Repair")
		wantCode(t, err, apperr.Invalid, "from")
		until := now.Add(72 * time.Hour)
		if _, err := w.svc.CloseCell(ctx, w.a1.ID, now.Add(48*time.Hour), &until, "Repair"); err != nil {
			t.Fatalf("a later closure of an occupied cell: %v", err)
		}
		// The end must be after the start.
		bad := now.Add(-2 * time.Hour)
		_, err = w.svc.CloseCell(ctx, w.a3.ID, now, &bad, "Oops")
		wantCode(t, err, apperr.Invalid, "until")
		// Reopening ends the period: the bed can be taken again.
		if err := w.svc.ReopenCell(ctx, cl.ID); err != nil {
			t.Fatal(err)
		}
		if err := occupy(d, w.a2.ID); err != nil {
			t.Fatalf("occupy after reopening: %v", err)
		}
		wantCode(t, w.svc.ReopenCell(ctx, cl.ID), apperr.Conflict, "")
		wantCode(t, w.svc.ReopenCell(ctx, "no-such-closure"), apperr.NotFound, "")
		// Vacating an empty cell is an error, not a negative count.
		if err := vacate(d, w.a3.ID); err == nil {
			t.Fatal("vacating an empty cell succeeded")
		}
	})
}

// TestConcurrentOccupyLastBed: N admissions race for the one free bed;
// exactly one wins on either engine.
func TestConcurrentOccupyLastBed(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		if err := occupy(d, w.a1.ID); err != nil { // 1 of 2 beds taken
			t.Fatal(err)
		}
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = occupy(d, w.a1.ID)
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch apperr.CodeOf(err) {
			case "":
				ok++
			case apperr.Conflict:
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d admissions took the last bed, want exactly 1", ok)
		}
		c, _ := w.svc.Cell(actor(), w.a1.ID)
		if c.Occupied != 2 {
			t.Fatalf("occupied = %d, want 2", c.Occupied)
		}
	})
}

// TestConcurrentCloseAndOccupy: a closure from now and an admission race
// for an empty cell; never may the cell end up both closed and occupied.
func TestConcurrentCloseAndOccupy(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := actor()
		for i := range 8 {
			c := mustCell(t, w.svc, w.b.ID, "race-"+string(rune('a'+i)), 1)
			var wg sync.WaitGroup
			start := make(chan struct{})
			var closeErr, occErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				_, closeErr = w.svc.CloseCell(ctx, c.ID, d.Now().Add(-time.Second), nil, "Race")
			}()
			go func() {
				defer wg.Done()
				<-start
				occErr = occupy(d, c.ID)
			}()
			close(start)
			wg.Wait()
			if closeErr == nil && occErr == nil {
				got, _ := w.svc.Cell(ctx, c.ID)
				t.Fatalf("round %d: both the closure and the admission succeeded: %+v", i, got)
			}
			if closeErr != nil && occErr != nil {
				t.Fatalf("round %d: both failed: %v / %v", i, closeErr, occErr)
			}
			got, _ := w.svc.Cell(ctx, c.ID)
			if got.OutOfUse != nil && got.Occupied > 0 {
				t.Fatalf("round %d: cell out of use with %d people", i, got.Occupied)
			}
		}
	})
}

func TestLineage(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := actor()
		for _, c := range []struct {
			id   string
			want []string
		}{
			{w.a1.ID, []string{w.a1.ID, w.a.ID, w.inst.ID}},
			{w.b.ID, []string{w.b.ID, w.inst.ID}},
			{w.inst.ID, []string{w.inst.ID}},
			{w.office.ID, []string{w.office.ID}},
		} {
			got, err := w.svc.Lineage(ctx, c.id)
			if err != nil || len(got) != len(c.want) {
				t.Fatalf("Lineage(%s) = %v, %v; want %v", c.id, got, err, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("Lineage(%s) = %v; want %v", c.id, got, c.want)
				}
			}
		}
		_, err := w.svc.Lineage(ctx, "nowhere")
		wantCode(t, err, apperr.NotFound, "")
		names, err := w.svc.Names(ctx, []string{w.a1.ID, w.inst.ID, "", "nowhere"})
		if err != nil || names[w.a1.ID] != "101" || names[w.inst.ID] != "Anstalten Kumla" || len(names) != 2 {
			t.Fatalf("Names: %v %v", names, err)
		}
	})
}

// TestYouthUnit: a unit may be a youth unit (the placement rules keep
// people under 18 there and adults out); no other unit category exists.
func TestYouthUnit(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		u := mustLoc(t, w.svc, estate.NewLocation{Kind: estate.Unit, ParentID: w.inst.ID, Code: "KUM-U", Name: "Ungdom", Category: estate.Juvenile, SecurityLevel: 1, Gender: "male"})
		got, err := w.svc.Location(actor(), u.ID)
		if err != nil || got.Category != estate.Juvenile {
			t.Fatalf("the youth unit reads back as %+v, %v", got, err)
		}
		_, err = w.svc.CreateLocation(actor(), estate.NewLocation{Kind: estate.Unit, ParentID: w.inst.ID, Code: "KUM-X", Name: "X", Category: "closed", SecurityLevel: 1, Gender: "male"})
		if e, ok := apperr.As(err); !ok || len(e.Fields) != 1 || e.Fields[0].Field != "category" {
			t.Fatalf("a unit of category closed: %v", err)
		}
	})
}
