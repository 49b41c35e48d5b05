// SPDX-License-Identifier: AGPL-3.0-or-later

package plan

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
	"github.com/custodia/custodia/internal/platform/web"
)

type httpEnv struct {
	*env
	acc  *access.Service
	srv  *httptest.Server
	home string
}

func newHTTPEnv(t *testing.T, d *db.DB) *httpEnv {
	t.Helper()
	e := newEnv(t, d)
	acc := &access.Service{DB: d}
	al := e.svc.Audit
	s := web.NewServer(d, acc, al, nil)
	s.RegisterBase()
	s.Locate = e.people.Locate
	s.Lineage = (&estate.Service{DB: d}).Lineage
	(&Handlers{Web: s, Plan: e.svc}).Register()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &httpEnv{env: e, acc: acc, srv: srv, home: e.person.HomeLocation}
}

type caller struct {
	h             *httpEnv
	session, csrf string
	token         string
}

func (h *httpEnv) staff(name string, role access.Role) *caller {
	h.t.Helper()
	ctx := audit.WithActor(context.Background(), audit.System)
	if _, err := h.acc.CreateStaff(ctx, access.NewStaff{Username: name, DisplayName: name, Role: role, Caseload: []string{h.home}, Password: "correct horse battery"}); err != nil {
		h.t.Fatal(err)
	}
	sess, _, err := h.acc.Login(context.Background(), name, "correct horse battery", "127.0.0.1")
	if err != nil {
		h.t.Fatal(err)
	}
	return &caller{h: h, session: sess.Token, csrf: sess.CSRF}
}

func (h *httpEnv) apiToken(role access.Role) *caller {
	h.t.Helper()
	tok, err := h.acc.IssueToken(audit.WithActor(context.Background(), audit.System), "test "+string(role), role, []string{h.home}, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return &caller{h: h, token: tok.Secret}
}

func (c *caller) do(method, path, body string) (*http.Response, string) {
	c.h.t.Helper()
	req, _ := http.NewRequest(method, c.h.srv.URL+path, strings.NewReader(body))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.AddCookie(&http.Cookie{Name: "custodia_session", Value: c.session})
		req.Header.Set("X-CSRF-Token", c.csrf)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func problemFields(t *testing.T, res *http.Response, body string) (map[string]any, []string) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want problem+json: %s", ct, body)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	var fields []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		fields = append(fields, e.(map[string]any)["field"].(string))
	}
	return p, fields
}

func TestAPI(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHTTPEnv(t, d)
		api := h.apiToken(access.CaseWorker)
		base := "/api/v1/clients/" + h.person.ID + "/plans"

		for _, tc := range []struct{ body, field string }{
			{`{"title": " "}`, "title"},
			{`{"title": "Plan", "period_start": "1 May"}`, "period_start"},
			{`{"title": "Plan", "goals": [{"text": "Work", "measures": [{"what": ""}]}]}`, "goals[0].measures[0].what"},
			{`{"title": "Plan", "colour": "red"}`, "colour"},
			{`{"title": 7}`, "title"},
		} {
			res, body := api.do("POST", base, tc.body)
			p, fields := problemFields(t, res, body)
			if res.StatusCode != 422 || len(fields) == 0 || fields[0] != tc.field {
				t.Errorf("POST %s: %d %v (%v), want 422 naming %s", tc.body, res.StatusCode, fields, p["detail"], tc.field)
			}
		}
		res, body := api.do("POST", base, `{"title": "Plan 2026", "goals": [{"text": "Work", "measures": [{"what": "Apply for jobs", "responsible": "the client"}]}], "client_view": "I want a job."}`)
		if res.StatusCode != 201 {
			t.Fatalf("create: %d %s", res.StatusCode, body)
		}
		var p Plan
		json.Unmarshal([]byte(body), &p) //nolint:errcheck
		if p.Version != 1 || p.Status != Draft || res.Header.Get("Location") != base+"/"+p.ID {
			t.Fatalf("created %+v at %s", p, res.Header.Get("Location"))
		}
		one := base + "/" + p.ID

		res, body = api.do("PUT", one, `{"document": {"title": "x"}}`)
		if _, fields := problemFields(t, res, body); res.StatusCode != 422 || len(fields) != 1 || fields[0] != "version" {
			t.Errorf("PUT without version: %d %s", res.StatusCode, body)
		}
		res, body = api.do("PATCH", one, `{"version": 1, "follow_up": "Two applications sent."}`)
		if res.StatusCode != 200 || !strings.Contains(body, `"version":2`) || !strings.Contains(body, "I want a job.") {
			t.Fatalf("PATCH: %d %s", res.StatusCode, body)
		}
		// A second writer still at version 1: 409 with both versions.
		res, body = api.do("PUT", one, `{"version": 1, "document": {"title": "Plan 2026", "client_view": "I want a job near home."}}`)
		prob, _ := problemFields(t, res, body)
		cur, _ := prob["current"].(map[string]any)
		yours, _ := prob["yours"].(map[string]any)
		if res.StatusCode != 409 || prob["current_version"] != float64(2) || cur == nil || yours == nil ||
			cur["document"].(map[string]any)["follow_up"] != "Two applications sent." || yours["client_view"] != "I want a job near home." {
			t.Fatalf("stale PUT: %d %s", res.StatusCode, body)
		}
		res, body = api.do("GET", one, "")
		if res.StatusCode != 200 || !strings.Contains(body, `"version":2`) || strings.Contains(body, "near home") {
			t.Fatalf("after the refused PUT: %d %s", res.StatusCode, body)
		}
		res, body = api.do("GET", one+"/versions", "")
		var hs History
		json.Unmarshal([]byte(body), &hs) //nolint:errcheck
		if res.StatusCode != 200 || len(hs.Versions) != 2 || !strings.Contains(hs.Versions[0].Summary, "Follow-up notes changed") {
			t.Fatalf("versions: %d %s", res.StatusCode, body)
		}
		res, body = api.do("GET", one+"/versions/1", "")
		if res.StatusCode != 200 || !strings.Contains(body, "Apply for jobs") {
			t.Fatalf("version 1: %d %s", res.StatusCode, body)
		}
		// The plan is not reachable through another person.
		other := h.register(h.home, "Örjan")
		if res, _ := api.do("GET", "/api/v1/clients/"+other.ID+"/plans/"+p.ID, ""); res.StatusCode != 404 {
			t.Errorf("another person's plan: %d, want 404", res.StatusCode)
		}
		// Roles without the permission are refused by the router.
		if res, _ := h.apiToken(access.TransportPlanner).do("GET", base, ""); res.StatusCode != 403 {
			t.Errorf("a transport planner: %d, want 403", res.StatusCode)
		}
		if n := h.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'plan.read' AND object_id = $1`, p.ID); n < 2 {
			t.Errorf("%d audited reads of the plan", n)
		}
	})
}

// TestPages: a refused form comes back with the typed text and the error
// next to the field; a save against a stale version leads to the choice,
// which shows both texts.
func TestPages(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHTTPEnv(t, d)
		ui := h.staff("anna", access.CaseWorker)
		base := "/clients/" + h.person.ID + "/plans"
		res, body := ui.do("POST", base, url.Values{"title": {""}, "period_start": {"2026-02-01"}, "client_view": {"Jag vill plugga."}}.Encode())
		if res.StatusCode != 422 || !strings.Contains(body, `id="e-f-title"`) || !strings.Contains(body, `value="2026-02-01"`) || !strings.Contains(body, "Jag vill plugga.") {
			t.Fatalf("invalid create: %d\n%s", res.StatusCode, body)
		}
		res, _ = ui.do("POST", base, url.Values{"title": {"Plan 2026"}}.Encode())
		loc := res.Header.Get("Location")
		if res.StatusCode != 303 || !strings.HasSuffix(loc, "/edit") {
			t.Fatalf("create: %d to %q", res.StatusCode, loc)
		}
		one := strings.TrimSuffix(loc, "/edit")
		res, body = ui.do("GET", loc, "")
		if res.StatusCode != 200 || !strings.Contains(body, `name="goals[0].text"`) || !strings.Contains(body, `data-autosave="`+one+`/autosave"`) {
			t.Fatalf("edit page: %d\n%s", res.StatusCode, body)
		}
		form := url.Values{"version": {"1"}, "title": {"Plan 2026"}, "goals[0].id": {"g1"}, "goals[0].text": {"Finish school"},
			"goals[0].measures[0].id": {"m1"}, "goals[0].measures[0].what": {"Enrol in Komvux"}, "goals[0].measures[0].status": {"planned"},
			"goals[0].measures[1].id": {"m2"}, "goals[0].measures[1].status": {"planned"}, // the empty row
			"goals[1].id": {"g2"}, "goals[1].measures[0].id": {"m3"}, "goals[1].measures[0].status": {"planned"}}
		res, body = ui.do("POST", one+"/autosave", form.Encode())
		if res.StatusCode != 200 || !strings.Contains(body, `"status":"saved"`) || !strings.Contains(body, `"version":2`) {
			t.Fatalf("autosave: %d %s", res.StatusCode, body)
		}
		rd, err := h.svc.Get(h.a, h.person.ID, strings.TrimPrefix(one, base+"/"))
		if err != nil {
			t.Fatal(err)
		}
		if g := rd.Plan.Document.Goals; len(g) != 1 || g[0].ID != "g1" || len(g[0].Measures) != 1 {
			t.Fatalf("the empty rows were stored: %+v", g)
		}
		// An invalid autosave names the field and stores nothing.
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("version", "2")
		bad.Set("goals[0].measures[0].due", "soon")
		res, body = ui.do("POST", one+"/autosave", bad.Encode())
		if res.StatusCode != 422 || !strings.Contains(body, "goals[0].measures[0].due") {
			t.Fatalf("invalid autosave: %d %s", res.StatusCode, body)
		}
		// Bengt saves from version 2, then Anna saves from version 1.
		bengt := h.staff("bengt", access.Officer)
		theirs := url.Values{}
		for k, v := range form {
			theirs[k] = v
		}
		theirs.Set("version", "2")
		theirs.Set("follow_up", "Bengt: Komvux called back.")
		if res, body := bengt.do("POST", one+"/edit", theirs.Encode()); res.StatusCode != 303 {
			t.Fatalf("Bengt's save: %d %s", res.StatusCode, body)
		}
		form.Set("follow_up", "Anna: application sent.")
		res, _ = ui.do("POST", one+"/edit", form.Encode())
		if res.StatusCode != 303 || res.Header.Get("Location") != one+"/conflict" {
			t.Fatalf("stale save: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, _ := ui.do("GET", one+"/edit", ""); res.StatusCode != 303 || res.Header.Get("Location") != one+"/conflict" {
			t.Errorf("the edit page with an open conflict: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		res, body = ui.do("GET", one+"/conflict", "")
		if res.StatusCode != 200 || !strings.Contains(body, "Anna: application sent.") || !strings.Contains(body, "Bengt: Komvux called back.") || !strings.Contains(body, `name="choice:follow_up"`) {
			t.Fatalf("conflict page: %d\n%s", res.StatusCode, body)
		}
		res, body = ui.do("POST", one+"/conflict", url.Values{"version": {"3"}}.Encode())
		if res.StatusCode != 422 || !strings.Contains(body, `id="e-f-choice:follow_up"`) {
			t.Fatalf("no choice: %d\n%s", res.StatusCode, body)
		}
		res, _ = ui.do("POST", one+"/conflict", url.Values{"version": {"3"}, "choice:follow_up": {"edit"}, "edit:follow_up": {"Bengt: Komvux called back.\nAnna: application sent."}}.Encode())
		if res.StatusCode != 303 || res.Header.Get("Location") != one {
			t.Fatalf("resolve: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		res, body = ui.do("GET", one+"/history", "")
		if res.StatusCode != 200 || strings.Count(body, "data-version=") != 4 {
			t.Fatalf("history: %d\n%s", res.StatusCode, body)
		}
		res, body = ui.do("GET", one, "")
		if res.StatusCode != 200 || !strings.Contains(body, "Komvux called back.\nAnna: application sent.") {
			t.Fatalf("plan page: %d\n%s", res.StatusCode, body)
		}
	})
}
