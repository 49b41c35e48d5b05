// SPDX-License-Identifier: AGPL-3.0-or-later

package registration

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// env is one institution with a unit and a cell, a second institution
// outside the staff's caseload, two clients in the first, and staff of
// the roles that take part in a registration's life.
type env struct {
	t                      *testing.T
	db                     *db.DB
	svc                    *Service
	cl                     *client.Service
	inst, unit, inst2      string
	anna, bert             string // clients in inst
	otto, olga, mona, sara *access.Principal
	clock                  time.Time
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	al := audit.NewLog(d)
	t.Cleanup(al.Close)
	acc := &access.Service{DB: d}
	e := &env{t: t, db: d, svc: &Service{DB: d, Audit: al, Access: acc}, cl: &client.Service{DB: d, Audit: al}}
	e.clock = time.Now().UTC().Truncate(time.Millisecond)
	d.SetClock(func() time.Time { return e.clock })
	ctx := audit.WithActor(context.Background(), audit.System)
	est := &estate.Service{DB: d}
	loc := func(n estate.NewLocation) string {
		l, err := est.CreateLocation(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	e.inst = loc(estate.NewLocation{Kind: estate.Institution, Code: "KUM", Name: "Kumla", Category: "closed", SecurityLevel: 1})
	e.unit = loc(estate.NewLocation{Kind: estate.Unit, ParentID: e.inst, Code: "KUM-A", Name: "A", SecurityLevel: 1})
	e.inst2 = loc(estate.NewLocation{Kind: estate.Institution, Code: "HAL", Name: "Hall", Category: "closed", SecurityLevel: 1})
	cell, err := est.CreateCell(ctx, estate.NewCell{UnitID: e.unit, Label: "101", Capacity: 4, SecurityLevel: 1})
	if err != nil {
		t.Fatal(err)
	}
	admit := func(given string) string {
		c, err := e.cl.Register(ctx, client.NewClient{GivenName: given, FamilyName: "Berg", BirthDate: "1990-01-01", Sex: "M", HomeLocation: e.inst})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.cl.AddLegalBasis(ctx, c.ID, client.NewLegalBasis{Kind: client.BasisRemand, StartDate: "2026-01-01", Offences: "Rån"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cl.MoveClient(ctx, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: cell.ID}); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	e.anna, e.bert = admit("Anna"), admit("Bert")
	staff := func(user, name string, role access.Role) *access.Principal {
		s, err := acc.CreateStaff(ctx, access.NewStaff{Username: user, DisplayName: name, Role: role, Caseload: []string{e.inst}, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		return &access.Principal{ID: s.ID, Username: user, Name: name, Role: role, Caseload: []string{e.inst}}
	}
	e.otto = staff("otto", "Otto Officer", access.Officer)
	e.olga = staff("olga", "Olga Officer", access.Officer)
	e.mona = staff("mona", "Mona Manager", access.UnitManager)
	e.sara = staff("sara", "Sara Security", access.Security)
	return e
}

func as(p *access.Principal) context.Context {
	return audit.WithActor(context.Background(), audit.Actor{ID: p.ID, Name: p.Name, Role: string(p.Role)})
}

func (e *env) useOfForce(submit bool) NewRegistration {
	return NewRegistration{Kind: UseOfForce, OccurredAt: e.clock.Add(-time.Hour).Format(time.RFC3339), Place: "Corridor A", Submit: submit,
		Details: Details{Narrative: "Refused to return to cell and struck an officer.", Forces: []string{"physical_hold", "takedown"}, Restraints: []string{"handcuffs"},
			Reason: "To stop the violence.", DurationMinutes: 12, MedicalOffered: true, BodyCameraRef: "BWC-4411"},
		Parties: []Party{{Type: "staff", ID: e.otto.ID, Role: "used_force"}, {Type: "staff", ID: e.olga.ID, Role: "used_force"}, {Type: "other", Name: "Nurse Nilsson", Role: "witness"}}}
}

func code(err error) apperr.Code {
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return ""
}

func fields(err error) map[string]bool {
	out := map[string]bool{}
	if e, ok := apperr.As(err); ok {
		for _, f := range e.Fields {
			out[f.Field] = true
		}
	}
	return out
}

func TestCreateSubmitReviewClose(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		r, err := e.svc.Create(as(e.otto), e.otto, e.anna, "key-1", e.useOfForce(true))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != Submitted || r.InstitutionID != e.inst || r.UnitID != e.unit || r.Parties[0].Name != "Otto Officer" {
			t.Fatalf("stored %+v", r)
		}
		full, err := e.svc.Get(as(e.otto), e.otto, e.anna, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Olga used force too and is asked for her statement; Otto wrote the report.
		if len(full.Statements) != 1 || full.Statements[0].StaffID != e.olga.ID || full.Statements[0].Status != "requested" {
			t.Fatalf("statements %+v", full.Statements)
		}
		tl, err := e.cl.Timeline(as(e.otto), e.anna, time.Time{}, 50)
		if err != nil {
			t.Fatal(err)
		}
		if !hasLine(tl, "Use of force registered") {
			t.Fatalf("timeline %+v", tl)
		}
		// The author cannot review their own report; a return needs a comment.
		if _, err := e.svc.Review(as(e.otto), e.otto, e.anna, r.ID, r.Version, true, ""); code(err) != apperr.Forbidden {
			t.Fatalf("self review: %v", err)
		}
		if _, err := e.svc.Review(as(e.mona), e.mona, e.anna, r.ID, r.Version, false, ""); !fields(err)["comment"] {
			t.Fatalf("return without comment: %v", err)
		}
		r, err = e.svc.Review(as(e.mona), e.mona, e.anna, r.ID, r.Version, false, "Say how long the handcuffs were on.")
		if err != nil || r.Status != Returned {
			t.Fatalf("return: %v %+v", err, r)
		}
		// A returned report is corrected by amendment and submitted again.
		if _, err := e.svc.Amend(as(e.otto), e.otto, e.anna, r.ID, NewAmendment{Field: "narrative", Value: "Handcuffs on for 12 minutes.", Reason: "Asked by the reviewer"}); err != nil {
			t.Fatal(err)
		}
		full, _ = e.svc.Get(as(e.otto), e.otto, e.anna, r.ID)
		if full.Details.Narrative != "Refused to return to cell and struck an officer." || len(full.Amendments) != 1 || full.Amendments[0].OldValue != "Refused to return to cell and struck an officer." {
			t.Fatalf("amendment must append, not edit: %+v %+v", full.Details, full.Amendments)
		}
		if _, err := e.svc.Submit(as(e.otto), e.otto, e.anna, r.ID, r.Version); code(err) != apperr.Conflict {
			t.Fatalf("submit at a stale version: %v", err)
		}
		r, err = e.svc.Submit(as(e.otto), e.otto, e.anna, r.ID, full.Version)
		if err != nil {
			t.Fatal(err)
		}
		r, err = e.svc.Review(as(e.mona), e.mona, e.anna, r.ID, r.Version, true, "")
		if err != nil || r.Status != Accepted {
			t.Fatalf("accept: %v", err)
		}
		if _, err := e.svc.Close(as(e.mona), e.mona, e.anna, r.ID, r.Version); code(err) != apperr.Conflict {
			t.Fatalf("close with a statement outstanding: %v", err)
		}
		if _, err := e.svc.GiveStatement(as(e.otto), e.otto, e.anna, r.ID, "I was there."); code(err) != apperr.NotFound {
			t.Fatalf("statement not asked of otto: %v", err)
		}
		st, err := e.svc.GiveStatement(as(e.olga), e.olga, e.anna, r.ID, "I held his left arm.")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.GiveStatement(as(e.olga), e.olga, e.anna, r.ID, "Again."); code(err) != apperr.Conflict {
			t.Fatalf("second statement: %v", err)
		}
		if _, err := e.svc.Amend(as(e.otto), e.otto, e.anna, r.ID, NewAmendment{StatementID: st.ID, Value: "x", Reason: "y"}); code(err) != apperr.Forbidden {
			t.Fatalf("amending another's statement: %v", err)
		}
		if _, err := e.svc.Amend(as(e.olga), e.olga, e.anna, r.ID, NewAmendment{StatementID: st.ID, Value: "I held his right arm.", Reason: "Wrong arm"}); err != nil {
			t.Fatal(err)
		}
		full, _ = e.svc.Get(as(e.mona), e.mona, e.anna, r.ID)
		if _, err := e.svc.Close(as(e.mona), e.mona, e.anna, r.ID, full.Version); err != nil {
			t.Fatal(err)
		}
		full, _ = e.svc.Get(as(e.mona), e.mona, e.anna, r.ID)
		if full.Status != Closed || full.Statements[0].Text != "I held his left arm." || len(full.Amendments) != 2 {
			t.Fatalf("closed: %+v", full)
		}
		var actions []string
		for _, h := range full.History {
			actions = append(actions, h.Action)
		}
		want := "created submitted statement_requested returned amended resubmitted accepted statement_given amended closed"
		if got := fmt.Sprint(actions); got != "["+want+"]" {
			t.Fatalf("history %s, want %s", got, want)
		}
	})
}

func hasLine(tl []client.HistoryEntry, prefix string) bool {
	for _, h := range tl {
		if len(h.Summary) >= len(prefix) && h.Summary[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

func TestValidation(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		n := e.useOfForce(true)
		n.Details.Reason, n.Details.DurationMinutes, n.Details.Forces, n.Details.Restraints = "", 0, nil, nil
		n.Details.Items = []Item{{Kind: "phone", Quantity: 1}}
		n.Parties = []Party{{Type: "staff", ID: e.olga.ID, Role: "witness"}, {Type: "staff", ID: "no-such", Role: "used_force"}}
		_, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", n)
		f := fields(err)
		for _, want := range []string{"details.reason", "details.duration_minutes", "details.forces", "details.items"} {
			if !f[want] {
				t.Errorf("no error for %s: %v", want, err)
			}
		}
		// A draft may be incomplete, but not malformed.
		draft := NewRegistration{Kind: Contraband, Details: Details{Items: []Item{{Kind: "spoon"}}}}
		if _, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", draft); !fields(err)["details.items[0].kind"] {
			t.Fatalf("bad item kind in a draft: %v", err)
		}
		draft.Details.Items = nil
		r, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", draft)
		if err != nil || r.Status != Draft {
			t.Fatalf("incomplete draft: %v", err)
		}
		if _, err := e.svc.Submit(as(e.otto), e.otto, e.anna, r.ID, r.Version); !fields(err)["details.items"] || !fields(err)["details.found_during"] {
			t.Fatalf("submitting an incomplete draft: %v", err)
		}
		// Another device saved the draft meanwhile: a stale save is refused.
		draft.Place = "Cell 101"
		if _, err := e.svc.UpdateDraft(as(e.otto), e.otto, e.anna, r.ID, r.Version, draft); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateDraft(as(e.otto), e.otto, e.anna, r.ID, r.Version, draft); code(err) != apperr.Conflict {
			t.Fatalf("stale draft save: %v", err)
		}
		if _, err := e.svc.UpdateDraft(as(e.olga), e.olga, e.anna, r.ID, r.Version+1, draft); code(err) != apperr.Forbidden {
			t.Fatalf("another officer's draft: %v", err)
		}
		future := e.useOfForce(true)
		future.OccurredAt = e.clock.Add(time.Hour).Format(time.RFC3339)
		if _, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", future); !fields(err)["occurred_at"] {
			t.Fatalf("future time: %v", err)
		}
		// Nothing of the refused attempts was stored.
		list, err := e.svc.ForClient(as(e.otto), e.otto, e.anna)
		if err != nil || len(list) != 1 {
			t.Fatalf("stored %d, %v", len(list), err)
		}
	})
}

func TestIdempotentCreate(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var wg sync.WaitGroup
		ids := make([]string, 16)
		errs := make([]error, 16)
		for i := range ids {
			wg.Go(func() {
				r, err := e.svc.Create(as(e.otto), e.otto, e.anna, "same-key", e.useOfForce(true))
				errs[i] = err
				if err == nil {
					ids[i] = r.ID
				}
			})
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("attempt %d: %v %s vs %s", i, errs[i], ids[i], ids[0])
			}
		}
		list, _ := e.svc.ForClient(as(e.otto), e.otto, e.anna)
		if len(list) != 1 {
			t.Fatalf("%d registrations stored for one key", len(list))
		}
		// The same key from another officer is another registration; the
		// same key for something else is refused.
		if r, err := e.svc.Create(as(e.olga), e.olga, e.anna, "same-key", e.useOfForce(false)); err != nil || r.ID == ids[0] {
			t.Fatalf("other author: %v", err)
		}
		other := e.useOfForce(true)
		other.Kind = Incident
		if _, err := e.svc.Create(as(e.otto), e.otto, e.bert, "same-key", other); !fields(err)["Idempotency-Key"] {
			t.Fatalf("key reused for another registration: %v", err)
		}
	})
}

func TestRadicalisationVisibleToSecurityAndAuthor(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		n := NewRegistration{Kind: Radicalisation, OccurredAt: e.clock.Add(-time.Hour).Format(time.RFC3339), Place: "Library", Submit: true,
			Details: Details{Narrative: "Shares propaganda with younger inmates.", Indicators: []string{"recruiting", "extremist_material"}, ReportedTo: "Security department"}}
		r, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", n)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []*access.Principal{e.otto, e.sara} {
			if _, err := e.svc.Get(as(p), p, e.anna, r.ID); err != nil {
				t.Errorf("%s cannot read: %v", p.Name, err)
			}
		}
		for _, p := range []*access.Principal{e.olga, e.mona} {
			if _, err := e.svc.Get(as(p), p, e.anna, r.ID); code(err) != apperr.NotFound {
				t.Errorf("%s reads a radicalisation concern: %v", p.Name, err)
			}
			if list, _ := e.svc.ForClient(as(p), p, e.anna); len(list) != 0 {
				t.Errorf("%s lists it", p.Name)
			}
			if list, _ := e.svc.List(as(p), p, Filter{}); len(list) != 0 {
				t.Errorf("%s finds it in the work list", p.Name)
			}
			if _, err := e.svc.Review(as(p), p, e.anna, r.ID, r.Version, true, ""); code(err) != apperr.NotFound {
				t.Errorf("%s reviews it: %v", p.Name, err)
			}
		}
		if list, _ := e.svc.List(as(e.sara), e.sara, Filter{}); len(list) != 1 {
			t.Errorf("security does not find it")
		}
		// Not on the timeline, which every reader of the client sees.
		tl, _ := e.cl.Timeline(as(e.olga), e.anna, time.Time{}, 50)
		if hasLine(tl, "Radicalisation") {
			t.Errorf("radicalisation concern on the timeline")
		}
		// One client's page never shows another client's registration.
		if _, err := e.svc.Get(as(e.sara), e.sara, e.bert, r.ID); code(err) != apperr.NotFound {
			t.Errorf("registration of anna read through bert: %v", err)
		}
	})
}

func TestCaseloadLimitsLists(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		if _, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", e.useOfForce(true)); err != nil {
			t.Fatal(err)
		}
		away := &access.Principal{ID: "x", Name: "Away", Role: access.UnitManager, Caseload: []string{e.inst2}}
		if list, _ := e.svc.List(as(away), away, Filter{}); len(list) != 0 {
			t.Fatalf("outside the caseload: %d", len(list))
		}
		if c, _ := e.svc.Counts(as(away), away, "", ""); len(c) != 0 {
			t.Fatalf("counts outside the caseload: %+v", c)
		}
		if list, _ := e.svc.List(as(e.mona), e.mona, Filter{Status: Submitted}); len(list) != 1 || list[0].ClientName != "Anna Berg" {
			t.Fatalf("in the caseload: %+v", list)
		}
		c, err := e.svc.Counts(as(e.mona), e.mona, e.clock.AddDate(0, 0, -1).Format("2006-01-02"), "")
		if err != nil || len(c) != 1 || c[0].Count != 1 || c[0].UnitID != e.unit || c[0].Kind != UseOfForce {
			t.Fatalf("counts %+v %v", c, err)
		}
	})
}

func TestIncidentInvolvesSeveralClients(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		n := NewRegistration{Kind: Incident, OccurredAt: e.clock.Add(-time.Hour).Format(time.RFC3339), Place: "Yard", Submit: true,
			Details: Details{Narrative: "Fight in the yard.", IncidentTypes: []string{"violence"}, Injuries: "Cut lip"},
			Parties: []Party{{Type: "client", ID: e.bert, Role: "perpetrator"}, {Type: "staff", ID: e.olga.ID, Role: "witness"}}}
		r, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", n)
		if err != nil {
			t.Fatal(err)
		}
		if r.Parties[0].Name != "Bert Berg" {
			t.Fatalf("party name %+v", r.Parties)
		}
		// Bert sees it on his page and timeline too.
		if _, err := e.svc.Get(as(e.mona), e.mona, e.bert, r.ID); err != nil {
			t.Fatal(err)
		}
		tl, _ := e.cl.Timeline(as(e.mona), e.bert, time.Time{}, 50)
		if !hasLine(tl, "Incident registered: violence") {
			t.Fatalf("bert's timeline %+v", tl)
		}
		// A complaint belongs to force and restraints, not to incidents.
		if _, err := e.svc.AddComplaint(as(e.mona), e.mona, e.anna, r.ID, NewComplaint{Text: "x"}); code(err) != apperr.Conflict {
			t.Fatalf("complaint on an incident: %v", err)
		}
	})
}

func TestOverdueRemindersAndComplaints(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		r, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", e.useOfForce(true))
		if err != nil {
			t.Fatal(err)
		}
		draft, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", NewRegistration{Kind: Contraband})
		if err != nil {
			t.Fatal(err)
		}
		r, err = e.svc.InformClient(as(e.otto), e.otto, e.anna, r.ID, r.Version)
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.svc.AddComplaint(as(e.mona), e.mona, e.anna, r.ID, NewComplaint{Text: "The handcuffs were too tight."})
		if err != nil {
			t.Fatal(err)
		}
		if want := e.clock.In(zone).AddDate(0, 0, ComplaintDecideDays).Format("2006-01-02"); c.Deadline != want || c.HandlerName != "Mona Manager" {
			t.Fatalf("complaint %+v", c)
		}
		o, err := e.svc.Overdue(as(e.mona), e.mona)
		if err != nil || len(o.NotReviewed)+len(o.OldDrafts)+len(o.Statements)+len(o.Complaints) != 0 {
			t.Fatalf("overdue at once: %+v %v", o, err)
		}
		ctx := context.Background()
		e.clock = e.clock.Add(25 * time.Hour)
		if n, m, err := e.svc.Sweep(ctx); err != nil || n != 1 || m != 0 {
			t.Fatalf("sweep after a day: %d %d %v", n, m, err)
		}
		if n, _, _ := e.svc.Sweep(ctx); n != 0 {
			t.Fatalf("reminded twice")
		}
		o, _ = e.svc.Overdue(as(e.mona), e.mona)
		if len(o.NotReviewed) != 1 || o.NotReviewed[0].ID != r.ID || len(o.OldDrafts) != 1 || o.OldDrafts[0].ID != draft.ID || len(o.Statements) != 0 {
			t.Fatalf("overdue after a day: %+v", o)
		}
		e.clock = e.clock.Add(48 * time.Hour)
		if _, m, _ := e.svc.Sweep(ctx); m != 1 {
			t.Fatalf("overdue notice not sent")
		}
		my, _ := e.svc.MyStatements(as(e.olga), e.olga)
		if len(my) != 1 || !my[0].Overdue || !my[0].Reminded {
			t.Fatalf("olga's statements %+v", my)
		}
		e.clock = e.clock.AddDate(0, 0, ComplaintDecideDays)
		o, _ = e.svc.Overdue(as(e.mona), e.mona)
		if len(o.Statements) != 1 || len(o.Complaints) != 1 || o.Complaints[0].ID != c.ID {
			t.Fatalf("overdue later: %+v", o)
		}
		if _, err := e.svc.DecideComplaint(as(e.mona), e.mona, e.anna, r.ID, c.ID, Decision{Version: c.Version, Outcome: "rejected", Decision: "The handcuffs were checked."}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.DecideComplaint(as(e.mona), e.mona, e.anna, r.ID, c.ID, Decision{Version: c.Version, Outcome: "upheld", Decision: "x"}); code(err) != apperr.Conflict {
			t.Fatalf("decided twice: %v", err)
		}
		o, _ = e.svc.Overdue(as(e.mona), e.mona)
		if len(o.Complaints) != 0 {
			t.Fatalf("decided complaint still overdue")
		}
	})
}

func pngOf(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func TestPhotos(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		n := NewRegistration{Kind: Contraband, OccurredAt: e.clock.Add(-time.Hour).Format(time.RFC3339), Place: "Cell 101", Submit: true,
			Details: Details{Narrative: "Phone in the mattress.", FoundDuring: "cell_search", Items: []Item{{Kind: "phone", Quantity: 1}}}}
		r, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddPhoto(as(e.otto), e.otto, e.anna, r.ID, []byte("GIF89a not a photo"), "", ""); !fields(err)["photo"] {
			t.Fatalf("not an image: %v", err)
		}
		if _, err := e.svc.AddPhoto(as(e.otto), e.otto, e.anna, r.ID, pngOf(10, 10), "", ""); !fields(err)["photo"] {
			t.Fatalf("a 10 × 10 image: %v", err)
		}
		img := pngOf(64, 48)
		ph, err := e.svc.AddPhoto(as(e.otto), e.otto, e.anna, r.ID, img, "image/png", "The phone as found")
		if err != nil || ph.Width != 64 || ph.ContentType != "image/png" {
			t.Fatalf("photo: %+v %v", ph, err)
		}
		got, data, err := e.svc.Photo(as(e.mona), e.mona, e.anna, r.ID, ph.ID)
		if err != nil || !bytes.Equal(data, img) || got.Caption != "The phone as found" {
			t.Fatalf("read back: %+v %v", got, err)
		}
		if _, _, err := e.svc.Photo(as(e.mona), e.mona, e.bert, r.ID, ph.ID); code(err) != apperr.NotFound {
			t.Fatalf("photo through another client: %v", err)
		}
		full, _ := e.svc.Get(as(e.mona), e.mona, e.anna, r.ID)
		if len(full.Photos) != 1 || full.History[len(full.History)-1].Action != "photo_added" {
			t.Fatalf("full read: %+v", full.Photos)
		}
	})
}

func TestWhereNamesThePlaceAndWhoWasThere(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	r, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", e.useOfForce(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who      *access.Principal
		involved bool
	}{{e.otto, true}, {e.olga, true}, {e.mona, false}} {
		locs, involved, err := e.svc.Where(context.Background(), e.anna, r.ID, c.who.ID)
		if err != nil || involved != c.involved || len(locs) != 2 || locs[0] != e.inst || locs[1] != e.unit {
			t.Errorf("%s: %v %v %v", c.who.Name, locs, involved, err)
		}
	}
	if locs, involved, err := e.svc.Where(context.Background(), e.bert, r.ID, e.otto.ID); err != nil || involved || locs != nil {
		t.Errorf("through another client: %v %v %v", locs, involved, err)
	}
}

// TestNamesShownAreAuditedReads: the statements asked of an officer and
// the subject of a new form show people's names, so each is a read on
// the audit trail.
func TestNamesShownAreAuditedReads(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t))
	r, err := e.svc.Create(as(e.otto), e.otto, e.anna, "", e.useOfForce(true))
	if err != nil {
		t.Fatal(err)
	}
	reads := func(action, actor string) int {
		var n int
		if err := e.db.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND actor_id = $2 AND client_id = $3`, action, actor, e.anna).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if my, err := e.svc.MyStatements(as(e.olga), e.olga); err != nil || len(my) != 1 || my[0].RegistrationID != r.ID {
		t.Fatalf("olga's statements: %+v %v", my, err)
	}
	if n := reads("registration.list", e.olga.ID); n != 1 {
		t.Errorf("%d audited reads of olga's statement list, want 1", n)
	}
	if pl, err := e.svc.Subject(as(e.otto), e.anna); err != nil || pl.Name != "Anna Berg" {
		t.Fatalf("subject: %+v %v", pl, err)
	}
	if n := reads("registration.form", e.otto.ID); n != 1 {
		t.Errorf("%d audited reads of the form's subject, want 1", n)
	}
}
