// SPDX-License-Identifier: AGPL-3.0-or-later

package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func TestCreateSaveHistory(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := e.create()
		if p.Version != 1 || p.Status != Draft || len(p.Document.Goals) != 1 || p.Document.Goals[0].ID == "" || p.Document.Goals[0].Measures[0].Status != Planned {
			t.Fatalf("created %+v", p)
		}
		if n := e.count(`SELECT COUNT(*) FROM client_history WHERE client_id = $1 AND kind = 'plan' AND ref_id = $2`, e.person.ID, p.ID); n != 1 {
			t.Errorf("%d timeline lines for the new plan, want 1", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'plan.create' AND object_id = $1 AND client_id = $2`, p.ID, e.person.ID); n != 1 {
			t.Errorf("%d audit rows for the new plan, want 1", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE type = 'plan.created' AND subject = $1`, e.person.ID); n != 1 {
			t.Errorf("%d plan.created events, want 1", n)
		}

		doc := clone(p.Document)
		doc.Goals[0].Measures[0].Status = Done
		doc.FollowUp = "Two tests so far, both clean."
		p2, err := e.svc.Save(e.b, e.person.ID, p.ID, SaveInput{Version: 1, Document: doc})
		if err != nil {
			t.Fatal(err)
		}
		if p2.Version != 2 || p2.UpdatedByName != bengActor.Name {
			t.Fatalf("saved %+v", p2)
		}
		// Saving the same text again writes nothing.
		if p3, err := e.svc.Save(e.b, e.person.ID, p.ID, SaveInput{Version: 2, Document: doc, Autosave: true}); err != nil || p3.Version != 2 {
			t.Fatalf("an unchanged save: %v, %+v", err, p3)
		}
		h, err := e.svc.Versions(e.a, e.person.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Versions) != 2 || h.Versions[0].Version != 2 || h.Versions[1].Version != 1 {
			t.Fatalf("versions %+v", h.Versions)
		}
		v2 := h.Versions[0]
		if v2.SavedByName != bengActor.Name || v2.Kind != KindSaved || !strings.Contains(v2.Summary, "Weekly urine tests: status planned → done") || !strings.Contains(v2.Summary, "Follow-up notes changed") {
			t.Errorf("version 2: %+v", v2)
		}
		v1, err := e.svc.Version(e.a, e.person.ID, p.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !v1.Version.Document.Equal(p.Document) {
			t.Errorf("version 1 holds %+v, want %+v", v1.Version.Document, p.Document)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action IN ('plan.versions.read', 'plan.version.read') AND object_id = $1`, p.ID); n != 2 {
			t.Errorf("%d audited reads of the history, want 2", n)
		}
	})
}

func TestValidation(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for _, tc := range []struct {
			name  string
			edit  func(d *Document)
			field string
		}{
			{"no title", func(d *Document) { d.Title = "  " }, "title"},
			{"bad period date", func(d *Document) { d.PeriodStart = "2026-13-01" }, "period_start"},
			{"period ends first", func(d *Document) { d.PeriodEnd = "2025-12-31" }, "period_end"},
			{"empty goal", func(d *Document) { d.Goals[0].Text = "" }, "goals[0].text"},
			{"measure without what", func(d *Document) { d.Goals[0].Measures[1].What = " " }, "goals[0].measures[1].what"},
			{"due before start", func(d *Document) { d.Goals[0].Measures[0].Due = "2026-01-01" }, "goals[0].measures[0].due"},
			{"unknown status", func(d *Document) { d.Goals[0].Measures[0].Status = "maybe" }, "goals[0].measures[0].status"},
			{"id twice", func(d *Document) { d.Goals[0].Measures[0].ID, d.Goals[0].Measures[1].ID = "x", "x" }, "goals[0].measures[1].id"},
			{"long title", func(d *Document) { d.Title = strings.Repeat("å", 201) }, "title"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				plans := e.count(`SELECT COUNT(*) FROM plans`)
				doc := sample()
				tc.edit(&doc)
				_, err := e.svc.Create(e.a, e.person.ID, doc)
				if apperr.CodeOf(err) != apperr.Invalid || !slices.Contains(fieldsOf(err), tc.field) {
					t.Fatalf("want invalid %s, got %v", tc.field, err)
				}
				if n := e.count(`SELECT COUNT(*) FROM plans`); n != plans {
					t.Fatal("an invalid plan was stored")
				}
			})
		}
	})
}

// TestConcurrentEdits: Anna and Bengt open version 1. Anna saves first.
// Bengt's save is refused, his text is kept, and resolving it keeps what
// each of them changed and what he chose where both changed one field.
func TestConcurrentEdits(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := e.create()
		anna, bengt := clone(p.Document), clone(p.Document)
		anna.FollowUp = "Anna: met the school counsellor."
		anna.Title = "Plan 2026 (Anna)"
		bengt.ClientView = "I want to finish school and see my daughter."
		bengt.Title = "Plan 2026 (Bengt)"
		if _, err := e.svc.Save(e.a, e.person.ID, p.ID, SaveInput{Version: 1, Document: anna, Autosave: true}); err != nil {
			t.Fatal(err)
		}
		// Without Keep (the API): a conflict with both versions, nothing kept.
		_, err := e.svc.Save(e.b, e.person.ID, p.ID, SaveInput{Version: 1, Document: bengt})
		ae, ok := apperr.As(err)
		if !ok || ae.Code != apperr.Conflict || ae.Detail["current_version"] != 2 || ae.Detail["yours"] == nil || ae.Detail["current"] == nil {
			t.Fatalf("want a conflict with both versions, got %v", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM plan_conflicts`); n != 0 {
			t.Fatalf("an API conflict kept %d drafts", n)
		}
		// With Keep (the pages): the same refusal, and Bengt's text is kept.
		if _, err := e.svc.Save(e.b, e.person.ID, p.ID, SaveInput{Version: 1, Document: bengt, Autosave: true, Keep: true}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("want a conflict, got %v", err)
		}
		r, err := e.svc.Get(e.b, e.person.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Plan.Version != 2 || r.Plan.Document.Title != anna.Title || !r.Conflict {
			t.Fatalf("after the refused save: %+v (open conflict %v)", r.Plan, r.Conflict)
		}
		if none, err := e.svc.OpenConflict(e.a, e.person.ID, p.ID); err != nil || none != nil {
			t.Fatalf("Anna has no conflict, got %v, %v", none, err)
		}
		c, err := e.svc.OpenConflict(e.b, e.person.ID, p.ID)
		if err != nil || c == nil {
			t.Fatalf("Bengt's conflict: %v, %v", c, err)
		}
		autos := map[string]Side{}
		for _, en := range c.Entries {
			autos[en.Key] = en.Auto
		}
		want := map[string]Side{"title": "", "client_view": Mine, "follow_up": Theirs}
		if len(autos) != len(want) {
			t.Fatalf("entries %v, want %v", c.Entries, want)
		}
		for k, v := range want {
			if a, ok := autos[k]; !ok || a != v {
				t.Errorf("entry %s: auto %q (present %v), want %q", k, a, ok, v)
			}
		}
		if !slices.Contains(c.TheirNames, annaActor.Name) {
			t.Errorf("the conflict names %v, want Anna", c.TheirNames)
		}
		// The title must be chosen.
		_, err = e.svc.Resolve(e.b, e.person.ID, p.ID, Resolution{Version: 2})
		if apperr.CodeOf(err) != apperr.Invalid || !slices.Contains(fieldsOf(err), "choice:title") {
			t.Fatalf("want choice:title invalid, got %v", err)
		}
		got, err := e.svc.Resolve(e.b, e.person.ID, p.ID, Resolution{Version: 2, Choices: map[string]Choice{"title": {Side: Edited, Text: "Plan 2026 (Anna and Bengt)"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 3 || got.Document.Title != "Plan 2026 (Anna and Bengt)" || got.Document.ClientView != bengt.ClientView || got.Document.FollowUp != anna.FollowUp {
			t.Fatalf("resolved %+v", got.Document)
		}
		if n := e.count(`SELECT COUNT(*) FROM plan_conflicts`); n != 0 {
			t.Errorf("%d conflicts open after resolving", n)
		}
		h, err := e.svc.Versions(e.a, e.person.ID, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Versions) != 3 || h.Versions[0].Kind != KindResolved || h.Versions[1].Kind != KindAutosave || h.Versions[1].SavedByName != annaActor.Name {
			t.Errorf("history %+v", h.Versions)
		}
	})
}

// TestRepeatedSave: a save whose answer was lost, sent again at the old
// version, is not a conflict with itself.
func TestRepeatedSave(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := e.create()
		doc := clone(p.Document)
		doc.FollowUp = "Seen on Monday."
		for range 2 {
			got, err := e.svc.Save(e.a, e.person.ID, p.ID, SaveInput{Version: 1, Document: doc, Autosave: true, Keep: true})
			if err != nil || got.Version != 2 {
				t.Fatalf("save: %v, %+v", err, got)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM plan_versions WHERE plan_id = $1`, p.ID); n != 2 {
			t.Errorf("%d versions, want 2", n)
		}
	})
}

func TestStatus(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := e.create()
		if _, err := e.svc.SetStatus(e.a, e.person.ID, p.ID, 1, Completed); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("completing a draft: %v", err)
		}
		act, err := e.svc.SetStatus(e.a, e.person.ID, p.ID, 1, Active)
		if err != nil {
			t.Fatal(err)
		}
		if act.Version != 2 || act.Status != Active || act.ActivatedAt.IsZero() {
			t.Fatalf("activated %+v", act)
		}
		if _, err := e.svc.SetStatus(e.a, e.person.ID, p.ID, 1, Completed); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("a stale status change: %v", err)
		}
		second := e.create()
		if _, err := e.svc.SetStatus(e.a, e.person.ID, second.ID, 1, Active); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("a second active plan: %v", err)
		}
		done, err := e.svc.SetStatus(e.a, e.person.ID, p.ID, 2, Completed)
		if err != nil {
			t.Fatal(err)
		}
		doc := clone(done.Document)
		doc.FollowUp = "Too late."
		if _, err := e.svc.Save(e.a, e.person.ID, p.ID, SaveInput{Version: done.Version, Document: doc}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("editing a completed plan: %v", err)
		}
		if _, err := e.svc.SetStatus(e.a, e.person.ID, second.ID, 1, Active); err != nil {
			t.Fatalf("activating after the first was completed: %v", err)
		}
		lines := e.count(`SELECT COUNT(*) FROM client_history WHERE client_id = $1 AND kind = 'plan'`, e.person.ID)
		if lines != 5 { // two created, two activated, one completed
			t.Errorf("%d timeline lines, want 5", lines)
		}
	})
}

// TestPlansFollowThePerson: a plan of one person is not found under
// another; after a merge the survivor's list has the duplicate's plan.
func TestPlansFollowThePerson(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := e.create()
		other := e.register(e.person.HomeLocation, "Örjan")
		if _, err := e.svc.Get(e.a, other.ID, p.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("another person's plan: %v", err)
		}
		doc := clone(p.Document)
		doc.Title = "Changed through another record"
		if _, err := e.svc.Save(e.a, other.ID, p.ID, SaveInput{Version: 1, Document: doc}); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("saving another person's plan: %v", err)
		}
		if _, err := e.people.Merge(e.a, other.ID, e.person.ID, other.Version, e.person.Version, "Same person, registered twice"); err != nil {
			t.Fatal(err)
		}
		l, err := e.svc.List(e.a, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Plans) != 1 || l.Plans[0].ID != p.ID || l.Client.GivenName != "Örjan" {
			t.Fatalf("the survivor's plans: %+v", l)
		}
		if _, err := e.svc.Get(e.a, other.ID, p.ID); err != nil {
			t.Fatalf("the merged record's plan through the survivor: %v", err)
		}
	})
}
