// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/platform/access"
)

// TestPlacementAPI is the non-association register and the sharing
// assessments as a partner system uses them: refusals are problem
// documents naming the fields and store nothing; a decision may name a
// person outside the caller's caseload (co-accused elsewhere) but the
// caller cannot open that person's page; roles without the permission
// are refused; versions are checked.
func TestPlacementAPI(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	manager := tokenFor(t, a, "manager", access.UnitManager, w.instIn)
	officer := tokenFor(t, a, "officer", access.Officer, w.instIn)
	finance := tokenFor(t, a, "finance", access.Finance, w.instIn)
	outside := tokenFor(t, a, "outside manager", access.UnitManager, w.instOut)
	base := "/api/v1/clients/" + w.clientIn + "/nonassociations"
	review := time.Now().AddDate(0, 3, 0).Format("2006-01-02")

	status, p, h := manager.call("POST", base, "", map[string]any{"scope": "wing", "members": []string{"00000000-0000-7000-8000-000000000000"}})
	if status != 422 || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("bad non-association: %d %v", status, p)
	}
	fields := problemFields(p)
	for _, f := range []string{"scope", "reason_category", "reason", "review_date"} {
		if !slices.Contains(fields, f) {
			t.Errorf("the problem does not name %s: %v", f, p)
		}
	}
	status, p, _ = manager.call("POST", base, "", map[string]any{"scope": "unit", "reason_category": "co_accused", "reason": "Same case.", "review_date": review,
		"members": []string{"00000000-0000-7000-8000-000000000000"}})
	if status != 422 || !slices.Contains(problemFields(p), "members[0]") {
		t.Fatalf("an unknown member: %d %v", status, p)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM placement_nonassociations`); n != 0 {
		t.Fatalf("refusals stored %d", n)
	}

	good := map[string]any{"scope": "institution", "reason_category": "co_accused", "reason": "Co-accused in B 1234-26.", "review_date": review, "members": []string{w.clientOut}}
	if status, _, _ := officer.call("POST", base, "", good); status != 403 {
		t.Errorf("an officer records a non-association: %d, want 403", status)
	}
	status, na, h := manager.call("POST", base, "k-na", good)
	if status != 201 || h.Get("Location") == "" || len(asList(na["members"])) != 2 {
		t.Fatalf("create: %d %v", status, na)
	}
	id := na["id"].(string)
	if status, again, _ := manager.call("POST", base, "k-na", good); status != 201 || again["id"] != id {
		t.Fatalf("a retry with the key: %d %v", status, again["id"])
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM placement_nonassociations`); n != 1 {
		t.Fatalf("%d stored after a retry", n)
	}

	if status, _, _ := finance.call("GET", base, "", nil); status != 403 {
		t.Errorf("finance reads non-associations: %d", status)
	}
	status, list, _ := officer.call("GET", base, "", nil)
	if status != 200 || len(asList(list["nonassociations"])) != 1 {
		t.Fatalf("officer's list: %d %v", status, list)
	}
	if status, _, _ := manager.call("GET", "/api/v1/clients/"+w.clientOut+"/nonassociations", "", nil); status != 403 {
		t.Errorf("the other member's page outside the caseload: %d, want 403", status)
	}
	status, list, _ = outside.call("GET", "/api/v1/nonassociations", "", nil)
	if status != 200 || len(asList(list["nonassociations"])) != 1 {
		t.Errorf("the other institution's register: %d %v", status, list)
	}
	if status, list, _ = manager.call("GET", "/api/v1/nonassociations?due=true", "", nil); status != 200 || len(asList(list["nonassociations"])) != 0 {
		t.Errorf("due list: %d %v", status, list)
	}

	one := base + "/" + id
	upd := map[string]any{"version": 7, "scope": "unit", "reason_category": "co_accused", "reason": "Narrowed after the hearing.", "review_date": review, "members": []string{w.clientOut}}
	if status, p, _ := manager.call("PUT", one, "", upd); status != 409 {
		t.Fatalf("stale update: %d %v", status, p)
	}
	upd["version"] = 1
	if status, p, _ := manager.call("PUT", one, "", upd); status != 200 || p["version"].(float64) != 2 || p["scope"] != "unit" {
		t.Fatalf("update: %d %v", status, p)
	}
	if status, p, _ := manager.call("POST", one+"/end", "", map[string]any{"version": 2}); status != 422 || !slices.Contains(problemFields(p), "reason") {
		t.Fatalf("end without a reason: %d %v", status, p)
	}
	status, p, _ = manager.call("POST", one+"/end", "", map[string]any{"version": 2, "reason": "Judgment delivered."})
	if status != 200 || p["status"] != "ended" {
		t.Fatalf("end: %d %v", status, p)
	}
	status, p, _ = manager.call("GET", one, "", nil)
	if status != 200 || len(asList(p["versions"])) != 3 {
		t.Fatalf("read: %d %v", status, p)
	}

	sharing := "/api/v1/clients/" + w.clientIn + "/sharing-assessments"
	status, p, _ = manager.call("POST", sharing, "", map[string]any{"outcome": "sometimes"})
	if status != 422 {
		t.Fatalf("bad assessment: %d %v", status, p)
	}
	for _, f := range []string{"outcome", "reasons", "review_date"} {
		if !slices.Contains(problemFields(p), f) {
			t.Errorf("the problem does not name %s: %v", f, p)
		}
	}
	status, p, _ = manager.call("POST", sharing, "", map[string]any{"outcome": "conditional", "conditions": []string{"only_non_smoker"}, "reasons": "Asthma.", "review_date": review})
	if status != 201 {
		t.Fatalf("assess: %d %v", status, p)
	}
	status, p, _ = officer.call("GET", sharing, "", nil)
	cur, _ := p["current"].(map[string]any)
	if status != 200 || cur == nil || cur["outcome"] != "conditional" {
		t.Fatalf("assessments: %d %v", status, p)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'placement.%'`); n < 8 {
		t.Errorf("%d placement audit rows", n)
	}
}

// TestPlacementProfileAPI: a placement profile is refused with every
// field at fault named and nothing stored, refused to a role without
// placement.write, and read back as the one in force with the history.
func TestPlacementProfileAPI(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	manager := tokenFor(t, a, "manager", access.UnitManager, w.instIn)
	officer := tokenFor(t, a, "officer", access.Officer, w.instIn)
	finance := tokenFor(t, a, "finance", access.Finance, w.instIn)
	base := "/api/v1/clients/" + w.clientIn + "/placement-profiles"

	status, p, h := manager.call("POST", base, "", map[string]any{"security_level": 7, "accessible": true})
	if status != 422 || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("bad profile: %d %v", status, p)
	}
	for _, f := range []string{"security_level", "reasons"} {
		if !slices.Contains(problemFields(p), f) {
			t.Errorf("the problem does not name %s: %v", f, p)
		}
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM placement_profiles`); n != 0 {
		t.Fatalf("a refusal stored %d", n)
	}
	good := map[string]any{"security_level": 1, "accessible": true, "restricted": true, "reasons": "Restrictions decided by the prosecutor."}
	if status, _, _ := officer.call("POST", base, "", good); status != 403 {
		t.Errorf("an officer records a profile: %d, want 403", status)
	}
	if status, _, _ := finance.call("GET", base, "", nil); status != 403 {
		t.Errorf("finance reads profiles: %d, want 403", status)
	}
	status, p, h = manager.call("POST", base, "k-profile", good)
	if status != 201 || h.Get("Location") != base || p["security_level"].(float64) != 1 || p["restricted"] != true {
		t.Fatalf("record: %d %v", status, p)
	}
	if status, _, _ := manager.call("POST", base, "", map[string]any{"security_level": 3, "reasons": "Reviewed."}); status != 201 {
		t.Fatalf("a second profile: %d", status)
	}
	status, p, _ = officer.call("GET", base, "", nil)
	cur, _ := p["current"].(map[string]any)
	if status != 200 || cur == nil || cur["security_level"].(float64) != 3 || cur["restricted"] != false || len(asList(p["profiles"])) != 2 {
		t.Fatalf("profiles: %d %v", status, p)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'placement.profile.%'`); n < 3 {
		t.Errorf("%d profile audit rows", n)
	}
}
