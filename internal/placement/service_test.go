// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"strings"
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

// env is two institutions, three people in the first (Anna, Bert, Carl),
// two in the second (Dora, Eva), and a unit manager whose caseload is the
// first.
type env struct {
	t                           *testing.T
	db                          *db.DB
	svc                         *Service
	cl                          *client.Service
	inst, unit, inst2           string
	cell, cell2                 string
	anna, bert, carl, dora, eva string
	mona                        *access.Principal
	clock                       time.Time
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	al := audit.NewLog(d)
	t.Cleanup(al.Close)
	e := &env{t: t, db: d, svc: &Service{DB: d, Audit: al}, cl: &client.Service{DB: d, Audit: al}}
	e.clock = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
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
	unit2 := loc(estate.NewLocation{Kind: estate.Unit, ParentID: e.inst2, Code: "HAL-A", Name: "A", SecurityLevel: 1})
	cell := func(unit string) string {
		c, err := est.CreateCell(ctx, estate.NewCell{UnitID: unit, Label: "101", Capacity: 4, SecurityLevel: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	e.cell, e.cell2 = cell(e.unit), cell(unit2)
	admit := func(given, cell string) string {
		c, err := e.cl.Register(ctx, client.NewClient{GivenName: given, FamilyName: "Berg", BirthDate: "1990-01-01", Sex: "M", HomeLocation: e.inst})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.cl.AddLegalBasis(ctx, c.ID, client.NewLegalBasis{Kind: client.BasisRemand, StartDate: "2026-01-01", Offences: "Rån"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cl.MoveClient(ctx, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: cell}); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	e.anna, e.bert, e.carl, e.dora, e.eva = admit("Anna", e.cell), admit("Bert", e.cell), admit("Carl", e.cell), admit("Dora", e.cell2), admit("Eva", e.cell2)
	e.mona = &access.Principal{ID: "staff-mona", Name: "Mona Manager", Role: access.UnitManager, Caseload: []string{e.inst}}
	return e
}

func as(p *access.Principal) context.Context {
	return audit.WithActor(context.Background(), audit.Actor{ID: p.ID, Name: p.Name, Role: string(p.Role)})
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

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) timelineHas(clientID, text string) bool {
	e.t.Helper()
	tl, err := e.cl.Timeline(as(e.mona), clientID, time.Time{}, 50)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range tl {
		if strings.Contains(h.Summary, text) {
			return true
		}
	}
	return false
}

func TestNonAssociationLifecycle(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := as(e.mona)

		// Refused: every field at fault is named, nothing is stored.
		_, err := e.svc.CreateNonAssociation(ctx, e.anna, NewNonAssociation{Scope: "wing", ReasonCategory: "feud", ReviewDate: "2026-01-01"})
		got := fields(err)
		for _, f := range []string{"scope", "reason_category", "reason", "review_date", "members"} {
			if !got[f] {
				t.Errorf("the refusal does not name %s: %v", f, err)
			}
		}
		_, err = e.svc.CreateNonAssociation(ctx, e.anna, NewNonAssociation{Members: []string{e.bert, "no-such-client"}, Scope: ScopeInstitution,
			ReasonCategory: "co_accused", Reason: "Same case.", ReviewDate: "2026-06-01"})
		if !fields(err)["members[1]"] {
			t.Fatalf("an unknown member: %v", err)
		}
		_, err = e.svc.CreateNonAssociation(ctx, e.anna, NewNonAssociation{Members: []string{e.anna}, Scope: ScopeInstitution,
			ReasonCategory: "co_accused", Reason: "Same case.", ReviewDate: "2026-06-01"})
		if !fields(err)["members"] {
			t.Fatalf("a group of one: %v", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM placement_nonassociations`); n != 0 {
			t.Fatalf("refusals stored %d rows", n)
		}

		// Anna, Bert and Dora (in another institution) are co-accused.
		na, err := e.svc.CreateNonAssociation(ctx, e.anna, NewNonAssociation{Members: []string{e.bert, e.dora, e.bert}, Scope: ScopeInstitution,
			ReasonCategory: "co_accused", Reason: "Co-accused in B 1234-26; the prosecutor asks that they be kept apart.", ReviewDate: "2026-06-01"})
		if err != nil {
			t.Fatal(err)
		}
		if len(na.Members) != 3 || na.DecidedByName != "Mona Manager" || na.Version != 1 || na.Status != Active {
			t.Fatalf("stored %+v", na)
		}
		for _, id := range []string{e.anna, e.bert, e.dora} {
			list, err := e.svc.NonAssociationsFor(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].ID != na.ID || len(list[0].Others(id)) != 2 {
				t.Errorf("%s's list: %+v", id, list)
			}
			if !e.timelineHas(id, "Non-association recorded: co accused, kept apart in institution") {
				t.Errorf("no timeline line for %s", id)
			}
		}
		if list, _ := e.svc.NonAssociationsFor(ctx, e.carl); len(list) != 0 {
			t.Errorf("Carl is in nobody's non-association: %+v", list)
		}
		// Another person's page does not open it.
		if _, err := e.svc.NonAssociation(ctx, e.carl, na.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("read through a non-member: %v", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE type = 'placement.nonassociation_created'`); n != 1 {
			t.Errorf("%d created events", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'placement.nonassociation.create'`); n != 3 {
			t.Errorf("%d audit rows for the create, want one per member", n)
		}

		// Update: Dora out, Carl in, the scope narrowed; a stale version is refused.
		upd := NewNonAssociation{Members: []string{e.bert, e.carl}, Scope: ScopeUnit, ReasonCategory: "co_accused", Reason: "Dora's case was separated.", ReviewDate: "2026-07-01"}
		if _, err := e.svc.UpdateNonAssociation(ctx, e.anna, na.ID, 7, upd); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale update: %v", err)
		}
		na2, err := e.svc.UpdateNonAssociation(ctx, e.anna, na.ID, 1, upd)
		if err != nil {
			t.Fatal(err)
		}
		if na2.Version != 2 || na2.Scope != ScopeUnit || len(na2.Members) != 3 {
			t.Fatalf("updated %+v", na2)
		}
		if !e.timelineHas(e.carl, "Non-association recorded") || !e.timelineHas(e.dora, "no longer includes this person") {
			t.Error("the people added and taken out have no timeline line")
		}
		if list, _ := e.svc.NonAssociationsFor(ctx, e.dora); len(list) != 0 {
			t.Errorf("Dora is still listed: %+v", list)
		}
		full, err := e.svc.NonAssociation(ctx, e.anna, na.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Versions) != 2 || full.Versions[0].Action != "updated" || full.Versions[1].Scope != ScopeInstitution || len(full.Versions[1].Members) != 3 {
			t.Fatalf("versions %+v", full.Versions)
		}

		// End, with a reason; then it can no longer be changed.
		if _, err := e.svc.EndNonAssociation(ctx, e.anna, na.ID, 2, " "); !fields(err)["reason"] {
			t.Fatalf("end without a reason: %v", err)
		}
		ended, err := e.svc.EndNonAssociation(ctx, e.bert, na.ID, 2, "Judgment delivered; no longer co-accused.")
		if err != nil {
			t.Fatal(err)
		}
		if ended.Status != Ended || ended.EndedByName != "Mona Manager" || ended.Version != 3 {
			t.Fatalf("ended %+v", ended)
		}
		if _, err := e.svc.UpdateNonAssociation(ctx, e.anna, na.ID, 3, upd); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("update after the end: %v", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE type LIKE 'placement.nonassociation_%'`); n != 3 {
			t.Errorf("%d events, want created, updated, ended", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'placement.nonassociation.read'`); n == 0 {
			t.Error("reads are not audited")
		}
	})
}

// TestReviewListAndCaseload: the staff list holds only decisions with a
// member in the caseload, and the review list those past their date.
func TestReviewListAndCaseload(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := as(e.mona)
		mk := func(clientID, other, review string) *NonAssociation {
			na, err := e.svc.CreateNonAssociation(ctx, clientID, NewNonAssociation{Members: []string{other}, Scope: ScopeCell, ReasonCategory: "threat", Reason: "Threats on the wing.", ReviewDate: review})
			if err != nil {
				t.Fatal(err)
			}
			return na
		}
		soon := mk(e.anna, e.bert, "2026-03-20")
		later := mk(e.bert, e.carl, "2026-09-01")
		mk(e.dora, e.eva, "2026-03-15")    // overdue, but both are in Hall
		e.clock = e.clock.AddDate(0, 1, 0) // 10 April: the first is overdue
		list, err := e.svc.NonAssociations(ctx, e.mona, ListFilter{Due: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != soon.ID || !list[0].ReviewDue || list[0].ViaClientID == "" {
			t.Fatalf("due list %+v", list)
		}
		all, err := e.svc.NonAssociations(ctx, e.mona, ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 {
			t.Fatalf("caseload list has %d, want 2", len(all))
		}
		// Hall's staff see only decisions with a member in Hall.
		hall := &access.Principal{ID: "staff-hans", Name: "Hans", Role: access.UnitManager, Caseload: []string{e.inst2}}
		if l, _ := e.svc.NonAssociations(as(hall), hall, ListFilter{}); len(l) != 1 || l[0].ViaClientID == e.anna {
			t.Fatalf("Hall sees %+v", l)
		}
		// A review is a new review date.
		if _, err := e.svc.UpdateNonAssociation(ctx, e.anna, soon.ID, 1, NewNonAssociation{Members: []string{e.bert}, Scope: ScopeCell, ReasonCategory: "threat",
			Reason: "Threats on the wing; reviewed, still needed.", ReviewDate: "2026-10-01"}); err != nil {
			t.Fatal(err)
		}
		if l, _ := e.svc.NonAssociations(ctx, e.mona, ListFilter{Due: true}); len(l) != 0 {
			t.Fatalf("after the review the due list holds %d", len(l))
		}
		if l, _ := e.svc.NonAssociations(ctx, e.mona, ListFilter{}); len(l) != 2 || l[0].ID != later.ID && l[1].ID != later.ID {
			t.Fatalf("after the review: %+v", l)
		}
	})
}

func TestSharingAssessment(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := as(e.mona)
		_, err := e.svc.Assess(ctx, e.anna, NewAssessment{Outcome: Conditional, Conditions: []string{"only_tall"}, ReviewDate: "2020-01-01"})
		got := fields(err)
		for _, f := range []string{"conditions[0]", "reasons", "review_date"} {
			if !got[f] {
				t.Errorf("the refusal does not name %s: %v", f, err)
			}
		}
		if _, err := e.svc.Assess(ctx, e.anna, NewAssessment{Outcome: Conditional, Reasons: "x", ReviewDate: "2026-06-01"}); !fields(err)["conditions"] {
			t.Errorf("conditional without conditions: %v", err)
		}
		if _, err := e.svc.Assess(ctx, e.anna, NewAssessment{Outcome: NotSuitable, Conditions: []string{OnlyNonSmoker}, Reasons: "x", ReviewDate: "2026-06-01"}); !fields(err)["conditions"] {
			t.Errorf("conditions with not suitable: %v", err)
		}
		list, err := e.svc.Assessments(ctx, e.anna)
		if err != nil || len(list) != 0 {
			t.Fatalf("before any: %v %v", list, err)
		}
		if _, err := e.svc.Assess(ctx, e.anna, NewAssessment{Outcome: NotSuitable, Reasons: "Assaulted a cellmate in 2025.", ReviewDate: "2026-04-01"}); err != nil {
			t.Fatal(err)
		}
		e.clock = e.clock.Add(24 * time.Hour)
		a, err := e.svc.Assess(ctx, e.anna, NewAssessment{Outcome: Conditional, Conditions: []string{OnlySameLanguage, OnlyNonSmoker, OnlyNonSmoker}, Smoker: false,
			Reasons: "Calmer after treatment; speaks Swedish only.", ReviewDate: "2026-09-01"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(a.Conditions, ",") != "only_non_smoker,only_same_language" || a.AssessedByName != "Mona Manager" {
			t.Fatalf("stored %+v", a)
		}
		list, err = e.svc.Assessments(ctx, e.anna)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != a.ID || list[1].Outcome != NotSuitable || !list[0].MayShare() || list[1].MayShare() {
			t.Fatalf("history %+v", list)
		}
		if !e.timelineHas(e.anna, "Cell-sharing assessment: may share a cell only non smoker, same language") {
			t.Error("no timeline line")
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE type = 'placement.sharing_assessed'`); n != 2 {
			t.Errorf("%d events", n)
		}
		// The review date passed: flagged.
		e.clock = time.Date(2026, 9, 2, 9, 0, 0, 0, time.UTC)
		list, _ = e.svc.Assessments(ctx, e.anna)
		if !list[0].ReviewDue {
			t.Error("an assessment past its review date is not flagged")
		}
	})
}
