// SPDX-License-Identifier: AGPL-3.0-or-later

// Package demo fills an empty Custodia with a realistic, entirely
// fictitious prison and probation region: four institutions (closed
// high-security, remand, closed with women's units, open) with 41 units
// and about 600 cells, three probation offices, about 900 people in
// custody, 300 under community supervision, released people with a
// history, alerts, and a staff account for every role.
//
// Everything goes through the capability services, so the data obeys the
// same rules as data typed in by users: bed counts, transitions, audit
// log, outbox events, timelines. The population is a pure function of the
// seed and the date of the load; the loader replays it in time order with
// the database clock set to each event's time, so timelines show when
// people were remanded, sentenced, moved and released.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/client/natid"
	"github.com/custodia/custodia/internal/demo/people"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
)

// Password is the password of every demo account.
const Password = "custodia-demo"

// Options tune the demo data.
type Options struct {
	// Seed picks the population: the same seed gives the same people in
	// the same places.
	Seed int64
	// Progress, if set, receives a line now and then while loading.
	Progress io.Writer
	// Now is the time the load is reckoned from (zero: the real time);
	// events happen up to 18:00 UTC the day before.
	Now time.Time
}

// Login is a demo account.
type Login struct {
	Username string
	Role     string
	Caseload string
}

// Loader is the actor the audit log and the timelines show for
// everything the demo data created.
var Loader = audit.Actor{ID: "demo-loader", Name: "Demodata (genererad)", Role: "system"}

// staffDef is a demo account; its caseload names location codes.
type staffDef struct {
	username string
	role     access.Role
	caseload []string
}

var staffDefs = []staffDef{
	{"admin", access.Administrator, []string{access.Everywhere}},
	{"officer.kronoberga", access.Officer, []string{"KRO-A1"}},
	{"officer.norrviken", access.Officer, []string{"NVH-H2", "NVH-INT"}},
	{"manager.kronoberga", access.UnitManager, []string{"KRO"}},
	{"manager.sjobacka", access.UnitManager, []string{"SJB"}},
	{"caseworker.ljungdala", access.CaseWorker, []string{"LJD"}},
	{"caseworker.frivarden", access.CaseWorker, []string{"FRV-NVK"}},
	{"transport", access.TransportPlanner, []string{"KRO", "NVH", "SJB", "LJD"}},
	{"finance.sjobacka", access.Finance, []string{"SJB"}},
	{"security", access.Security, []string{access.Everywhere}},
	{"analyst", access.Analyst, []string{access.Everywhere}},
}

// names of locations by code, for the caseload column.
func locationNames() map[string]string {
	m := map[string]string{access.Everywhere: "everywhere"}
	for _, in := range institutions {
		m[in.code] = in.name
		for _, u := range in.units {
			m[in.code+"-"+u.code] = in.name + ", " + u.name
		}
	}
	for _, o := range offices {
		m[o.code] = o.name
	}
	return m
}

func logins() []Login {
	names := locationNames()
	out := make([]Login, len(staffDefs))
	for i, d := range staffDefs {
		var cl []string
		for _, c := range d.caseload {
			cl = append(cl, names[c])
		}
		out[i] = Login{Username: d.username, Role: string(d.role), Caseload: strings.Join(cl, "; ")}
	}
	return out
}

// ErrNotEmpty is returned when the database holds data that is not a
// complete demo load.
var ErrNotEmpty = errors.New("demo: the database holds other or incomplete data; start the demo with an empty data directory")

// Ensure loads the demo data into an empty database and returns the demo
// logins with created=true; on a database that already holds the demo it
// creates nothing and returns the logins with created=false. It must run
// before the app starts serving: it sets the database clock while it
// loads.
func Ensure(ctx context.Context, a *app.App, o Options) ([]Login, bool, error) {
	done, err := present(ctx, a)
	if err != nil {
		return nil, false, err
	}
	if done {
		return logins(), false, nil
	}
	if err := load(ctx, a, o); err != nil {
		return nil, false, err
	}
	return logins(), true, nil
}

// present reports whether the demo is loaded: its first institution and
// its last-created account (admin) exist. An empty database gives false;
// anything else is ErrNotEmpty.
func present(ctx context.Context, a *app.App) (bool, error) {
	tree, err := a.Estate.Tree(ctx)
	if err != nil {
		return false, err
	}
	staff, err := a.Access.ListStaff(ctx)
	if err != nil {
		return false, err
	}
	if len(tree) == 0 && len(staff) == 0 {
		return false, nil
	}
	hasInst, hasAdmin := false, false
	for _, l := range tree {
		if l.Code == institutions[0].code {
			hasInst = true
		}
	}
	for _, s := range staff {
		if s.Username == staffDefs[0].username {
			hasAdmin = true
		}
	}
	if hasInst && hasAdmin {
		return true, nil
	}
	return false, ErrNotEmpty
}

type progress struct {
	w     io.Writer
	start time.Time
}

func (p progress) printf(format string, args ...any) {
	if p.w != nil {
		fmt.Fprintf(p.w, "demo: "+format+" (%.1fs)\n", append(args, time.Since(p.start).Seconds())...)
	}
}

func load(ctx context.Context, a *app.App, o Options) error {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	pr := progress{w: o.Progress, start: time.Now()}
	pl := newPlan(o.Seed, now)
	pr.printf("creating demo data (seed %d): %d units, %d people", o.Seed, len(pl.estate.units), len(pl.persons))
	ctx = audit.WithActor(ctx, Loader)
	defer a.DB.SetClock(time.Now)
	at := func(t time.Time) { a.DB.SetClock(func() time.Time { return t }) }

	// The estate and the staff exist a day before the first event.
	at(pl.start.AddDate(0, 0, -1))
	ids, err := createEstate(ctx, a, pl)
	if err != nil {
		return err
	}
	pr.printf("estate created")
	sg := people.New(o.Seed ^ 0x5747)
	for _, d := range staffDefs[1:] {
		if err := createStaff(ctx, a, sg, d, ids); err != nil {
			return err
		}
	}

	// The people, in time order.
	type op struct {
		pp *personPlan
		s  *step
	}
	var ops []op
	for _, pp := range pl.persons {
		for i := range pp.steps {
			ops = append(ops, op{pp, &pp.steps[i]})
		}
	}
	sortOps := func(i, j op) int { return i.s.at.Compare(j.s.at) }
	slices.SortStableFunc(ops, sortOps)
	next := 10
	for i, x := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		at(x.s.at)
		if err := apply(ctx, a, ids, x.pp, x.s); err != nil {
			return fmt.Errorf("demo: %s %s (step at %s): %w", x.pp.p.GivenName, x.pp.p.FamilyName, x.s.at.Format(time.RFC3339), err)
		}
		if pct := (i + 1) * 100 / len(ops); pct >= next {
			pr.printf("%d %% of %d steps", pct, len(ops))
			next = pct/10*10 + 10
		}
	}

	plans, err := createPlans(ctx, at, a.Plan, pl.persons, now)
	if err != nil {
		return err
	}
	pr.printf("%d action plans", plans)

	// Cells out of use, and the administrator last: its account marks a
	// complete load.
	a.DB.SetClock(time.Now)
	for _, u := range pl.estate.units {
		for _, c := range u.cells {
			if c.closed == nil {
				continue
			}
			cs := c.closed
			from := now.AddDate(0, 0, -cs.fromDaysAgo)
			var until *time.Time
			if cs.untilDaysAhead > 0 {
				t := now.AddDate(0, 0, cs.untilDaysAhead).Truncate(24 * time.Hour)
				until = &t
			}
			if _, err := a.Estate.CloseCell(ctx, c.id, from, until, cs.reason); err != nil {
				return fmt.Errorf("demo: close cell %s: %w", c.label, err)
			}
		}
	}
	if err := createRegistrations(ctx, a, o.Seed, now, ids, at); err != nil {
		return err
	}
	a.DB.SetClock(time.Now)
	pr.printf("registrations created")
	nas, assessed, err := createPlacementRegisters(ctx, a, at, pl.persons, now)
	if err != nil {
		return err
	}
	a.DB.SetClock(time.Now)
	pr.printf("%d non-associations, %d sharing assessments", nas, assessed)
	if err := createStaff(ctx, a, sg, staffDefs[0], ids); err != nil {
		return err
	}
	pr.printf("done")
	return nil
}

func ptr(f float64) *float64 { return &f }

// createEstate creates the institutions, units, cells and offices and
// returns location ids by code.
func createEstate(ctx context.Context, a *app.App, pl *plan) (map[string]string, error) {
	ids := map[string]string{access.Everywhere: access.Everywhere}
	for i := range institutions {
		in := &institutions[i]
		l, err := a.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Institution, Code: in.code, Name: in.name, Category: in.category,
			SecurityLevel: in.security, Gender: in.gender, Region: in.region, Address: in.address, Lat: ptr(in.lat), Lon: ptr(in.lon)})
		if err != nil {
			return nil, fmt.Errorf("demo: institution %s: %w", in.code, err)
		}
		ids[in.code] = l.ID
	}
	for _, u := range pl.estate.units {
		l, err := a.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Unit, ParentID: ids[u.inst.code], Code: u.code, Name: u.spec.name,
			SecurityLevel: u.security(), Gender: u.spec.gender, Region: u.inst.region, Address: u.inst.address})
		if err != nil {
			return nil, fmt.Errorf("demo: unit %s: %w", u.code, err)
		}
		u.id = l.ID
		ids[u.code] = l.ID
		for _, c := range u.cells {
			cell, err := a.Estate.CreateCell(ctx, estate.NewCell{UnitID: u.id, Label: c.label, Capacity: c.beds, SecurityLevel: u.security(),
				Gender: u.spec.gender, Accessible: c.accessible, Smoking: c.smoking, Note: c.note})
			if err != nil {
				return nil, fmt.Errorf("demo: cell %s %s: %w", u.code, c.label, err)
			}
			c.id = cell.ID
		}
	}
	for _, o := range offices {
		l, err := a.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Office, Code: o.code, Name: o.name, Region: o.region,
			Address: o.address, Lat: ptr(o.lat), Lon: ptr(o.lon)})
		if err != nil {
			return nil, fmt.Errorf("demo: office %s: %w", o.code, err)
		}
		ids[o.code] = l.ID
	}
	return ids, nil
}

func createStaff(ctx context.Context, a *app.App, g *people.Generator, d staffDef, ids map[string]string) error {
	given, family := g.StaffName(natid.SE)
	var cl []string
	for _, c := range d.caseload {
		cl = append(cl, ids[c])
	}
	_, err := a.Access.CreateStaff(ctx, access.NewStaff{Username: d.username, DisplayName: given + " " + family, Role: d.role, Caseload: cl,
		Password: Password, Lang: "sv"})
	if err != nil {
		return fmt.Errorf("demo: account %s: %w", d.username, err)
	}
	return nil
}

// apply performs one step through the client service.
func apply(ctx context.Context, a *app.App, ids map[string]string, pp *personPlan, s *step) error {
	switch s.kind {
	case stRegister:
		p := pp.p
		c, err := a.Client.Register(ctx, client.NewClient{GivenName: p.GivenName, FamilyName: p.FamilyName, Aliases: p.Aliases,
			BirthDate: p.BirthDate.Format("2006-01-02"), Sex: p.Sex, NationalID: p.NationalID, NationalIDCountry: string(p.Country),
			Nationality: p.Nationality, Languages: p.Languages, HomeLocation: ids[pp.home]})
		if err != nil {
			return err
		}
		pp.id, pp.number, pp.version = c.ID, c.Number, c.Version
	case stBasis:
		_, err := a.Client.AddLegalBasis(ctx, pp.id, s.basis)
		return err
	case stMove:
		m := client.Move{Action: s.action, Version: pp.version, Reason: s.reason}
		if s.cell != nil {
			m.CellID = s.cell.id
		}
		if s.office != nil {
			m.OfficeID = ids[s.office.code]
		}
		mv, err := a.Client.MoveClient(ctx, pp.id, m)
		if err != nil {
			return err
		}
		pp.version = mv.Client.Version
	case stAlert:
		note := s.alert.note
		if s.alert.partner != nil {
			note = strings.ReplaceAll(note, "%s", s.alert.partner.number)
		}
		n := client.NewAlert{Kind: s.alert.kind, Note: note}
		if !s.alert.ends.IsZero() {
			n.EndsAt = s.alert.ends.Format(time.RFC3339)
		}
		_, err := a.Client.AddAlert(ctx, pp.id, n)
		return err
	}
	return nil
}
