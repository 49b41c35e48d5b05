// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
)

// TestPlacementWeightsAPI: an institution's soft-cost weights are read by
// placement.read holders and set by placement.write holders whose
// caseload covers it; refusals name the fields and store nothing;
// versions are checked; a unit has no weights of its own.
func TestPlacementWeightsAPI(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	manager := tokenFor(t, a, "manager", access.UnitManager, w.instIn)
	officer := tokenFor(t, a, "officer", access.Officer, w.instIn)
	outside := tokenFor(t, a, "outside manager", access.UnitManager, w.instOut)
	url := "/api/v1/placement/weights/" + w.instIn

	status, cur, _ := officer.call("GET", url, "", nil)
	if status != 200 || cur["default"] != true || cur["version"] != float64(0) || cur["violence"] != float64(200) {
		t.Fatalf("the defaults: %d %v", status, cur)
	}
	good := map[string]any{"risk": 20, "violence": 400, "move": 10, "transfer": 300, "smoking": 5, "version": 0}
	if status, _, _ := officer.call("PUT", url, "", good); status != 403 {
		t.Errorf("an officer sets the weights: %d, want 403", status)
	}
	if status, _, _ := outside.call("PUT", url, "", good); status != 403 {
		t.Errorf("a manager of another institution sets the weights: %d, want 403", status)
	}
	status, p, _ := manager.call("PUT", url, "", map[string]any{"risk": -1, "violence": 2000000, "move": 10, "version": 0})
	if status != 422 {
		t.Fatalf("bad weights: %d %v", status, p)
	}
	fields := problemFields(p)
	for _, f := range []string{"risk", "violence", "transfer", "smoking"} {
		if !slices.Contains(fields, f) {
			t.Errorf("the problem does not name %s: %v", f, p)
		}
	}
	if slices.Contains(fields, "move") {
		t.Errorf("the problem names a good field: %v", p)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM placement_weights`); n != 0 {
		t.Fatalf("refusals stored %d", n)
	}
	if status, p, _ := manager.call("PUT", "/api/v1/placement/weights/"+w.unitIn, "", good); status != 404 {
		t.Errorf("weights of a unit: %d %v, want 404", status, p)
	}

	status, got, _ := manager.call("PUT", url, "", good)
	if status != 200 || got["default"] != false || got["version"] != float64(1) || got["transfer"] != float64(300) {
		t.Fatalf("set: %d %v", status, got)
	}
	if status, p, _ := manager.call("PUT", url, "", good); status != 409 {
		t.Errorf("set again at version 0: %d %v, want 409", status, p)
	}
	status, cur, _ = officer.call("GET", url, "", nil)
	if status != 200 || cur["default"] != false || cur["risk"] != float64(20) || cur["version"] != float64(1) {
		t.Fatalf("read back: %d %v", status, cur)
	}
	if status, _, _ := outside.call("GET", url, "", nil); status != 403 {
		t.Errorf("another institution's weights read from outside the caseload: %d, want 403", status)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM audit_log WHERE action = 'placement.weights.set'`); n != 1 {
		t.Errorf("%d audit rows, want 1", n)
	}
}

// TestPlacementWeightsPage: the register links a unit manager to the
// weights of their institution; the form re-renders a wrong value with
// the field marked and keeps what was typed; a good one is saved.
func TestPlacementWeightsPage(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	ctx := audit.WithActor(context.Background(), audit.System)
	if _, err := a.Access.CreateStaff(ctx, access.NewStaff{Username: "wmona", DisplayName: "Mona", Role: access.UnitManager, Caseload: []string{w.instIn},
		Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	sess, _, err := a.Access.Login(context.Background(), "wmona", "correct horse battery", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hc := apptest.HTTPClient(t)
	do := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, a.URL()+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.AddCookie(&http.Cookie{Name: "custodia_session", Value: sess.Token})
		req.Header.Set("X-CSRF-Token", sess.CSRF)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	page := "/placement/weights/" + w.instIn
	if status, body := do("GET", "/placement", nil); status != 200 || !strings.Contains(body, `href="`+page+`"`) || strings.Contains(body, w.instOut) {
		t.Fatalf("the register's links to the weights: %d", status)
	}
	status, body := do("GET", page, nil)
	if status != 200 || !strings.Contains(body, `id="weights-default"`) || !strings.Contains(body, `name="violence" type="number"`) {
		t.Fatalf("the form: %d %s", status, body)
	}
	bad := url.Values{"risk": {"ten"}, "violence": {"200"}, "move": {"30"}, "transfer": {"100"}, "smoking": {"20"}, "version": {"0"}}
	status, body = do("POST", page, bad)
	if status != 422 || !strings.Contains(body, `id="e-f-risk"`) || strings.Contains(body, `id="e-f-violence"`) || !strings.Contains(body, `value="ten"`) {
		t.Fatalf("a wrong value: %d %s", status, body)
	}
	good := url.Values{"risk": {"15"}, "violence": {"250"}, "move": {"30"}, "transfer": {"100"}, "smoking": {"20"}, "version": {"0"}}
	if status, _ = do("POST", page, good); status != http.StatusSeeOther {
		t.Fatalf("saving: %d", status)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM placement_weights WHERE risk = 15 AND violence = 250 AND version = 1`); n != 1 {
		t.Fatalf("stored %d", n)
	}
	if status, body = do("GET", page, nil); status != 200 || !strings.Contains(body, `id="weights-set"`) || !strings.Contains(body, `value="250"`) {
		t.Fatalf("after saving: %d", status)
	}
}

// TestPlacementProfilePage: the profile form refuses with the fields
// marked, records, and the placement page shows the profile in force.
func TestPlacementProfilePage(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	ctx := audit.WithActor(context.Background(), audit.System)
	if _, err := a.Access.CreateStaff(ctx, access.NewStaff{Username: "pmona", DisplayName: "Mona", Role: access.UnitManager, Caseload: []string{w.instIn},
		Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	sess, _, err := a.Access.Login(context.Background(), "pmona", "correct horse battery", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	hc := apptest.HTTPClient(t)
	do := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, a.URL()+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.AddCookie(&http.Cookie{Name: "custodia_session", Value: sess.Token})
		req.Header.Set("X-CSRF-Token", sess.CSRF)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	page := "/clients/" + w.clientIn + "/placement/profiles/new"
	status, body := do("GET", page, nil)
	if status != 200 || !strings.Contains(body, `name="security_level" value="3"`) || !strings.Contains(body, `name="restricted" value="yes"`) {
		t.Fatalf("the form: %d %s", status, body)
	}
	post := "/clients/" + w.clientIn + "/placement/profiles"
	status, body = do("POST", post, url.Values{"accessible": {"yes"}, "reasons": {" "}})
	if status != 422 || !strings.Contains(body, `id="e-f-security_level"`) || !strings.Contains(body, `id="e-f-reasons"`) {
		t.Fatalf("a refusal: %d %s", status, body)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM placement_profiles`); n != 0 {
		t.Fatalf("a refusal stored %d", n)
	}
	good := url.Values{"security_level": {"1"}, "accessible": {"yes"}, "restricted": {"yes"}, "reasons": {"Prosecutor's restrictions."}}
	if status, _ = do("POST", post, good); status != http.StatusSeeOther {
		t.Fatalf("saving: %d", status)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM placement_profiles WHERE security_level = 1 AND accessible = 1 AND restricted = 1`); n != 1 {
		t.Fatalf("stored %d", n)
	}
	status, body = do("GET", "/clients/"+w.clientIn+"/placement/overview", nil)
	if status != 200 || !strings.Contains(body, `id="h-profile"`) || !strings.Contains(body, "Prosecutor&#39;s restrictions.") {
		t.Fatalf("the placement page: %d %s", status, body)
	}
	if status, body = do("GET", page, nil); status != 200 || !strings.Contains(body, `name="security_level" value="1" checked`) {
		t.Fatalf("the form starts from the profile in force: %d", status)
	}
}
