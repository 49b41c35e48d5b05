// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/client/natid"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
	"github.com/custodia/custodia/internal/platform/web"
)

type httpEnv struct {
	*env
	acc *access.Service
	srv *httptest.Server
}

func newHTTPEnv(t *testing.T, d *db.DB) *httpEnv {
	t.Helper()
	e := newEnv(t, d)
	acc := &access.Service{DB: d}
	s := web.NewServer(d, acc, e.al, nil)
	s.RegisterBase()
	s.Locate = e.svc.Locate
	s.Lineage = e.est.Lineage
	(&Handlers{Web: s, Client: e.svc, Estate: e.est}).Register()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &httpEnv{env: e, acc: acc, srv: srv}
}

// caller is a signed-in browser session or an API token.
type caller struct {
	h             *httpEnv
	session, csrf string
	token         string
}

func (h *httpEnv) staff(name string, role access.Role, caseload ...string) *caller {
	h.t.Helper()
	ctx := audit.WithActor(context.Background(), audit.System)
	if _, err := h.acc.CreateStaff(ctx, access.NewStaff{Username: name, DisplayName: name, Role: role, Caseload: caseload, Password: "correct horse battery"}); err != nil {
		h.t.Fatal(err)
	}
	sess, _, err := h.acc.Login(context.Background(), name, "correct horse battery", "127.0.0.1")
	if err != nil {
		h.t.Fatal(err)
	}
	return &caller{h: h, session: sess.Token, csrf: sess.CSRF}
}

func (h *httpEnv) apiToken(role access.Role, caseload ...string) *caller {
	h.t.Helper()
	tok, err := h.acc.IssueToken(audit.WithActor(context.Background(), audit.System), "test "+string(role), role, caseload, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return &caller{h: h, token: tok.Secret}
}

func (c *caller) do(method, path, body string, hdr ...string) (*http.Response, string) {
	c.h.t.Helper()
	req, _ := http.NewRequest(method, c.h.srv.URL+path, strings.NewReader(body))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		req.AddCookie(&http.Cookie{Name: "custodia_session", Value: c.session})
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// form posts a browser form with the session's CSRF token.
func (c *caller) form(path string, v url.Values, hdr ...string) (*http.Response, string) {
	c.h.t.Helper()
	v.Set("csrf", c.csrf)
	return c.do("POST", path, v.Encode(), hdr...)
}

func mustJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
}

type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field, Message string
	} `json:"errors"`
	CurrentVersion   int    `json:"current_version"`
	ExistingClientID string `json:"existing_client_id"`
	BreakGlass       bool   `json:"break_glass"`
}

func (p problem) field() string {
	if len(p.Errors) == 0 {
		return ""
	}
	return p.Errors[0].Field
}

func TestAPI(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHTTPEnv(t, d)
		cw := h.apiToken(access.CaseWorker, h.inst.ID)
		nid := h.natID(natid.DK)
		body := `{"given_name":"Mette","family_name":"Jensen","national_id":"` + nid + `","national_id_country":"DK","languages":["da"],"home_location":"` + h.inst.ID + `"}`

		// Create, with an Idempotency-Key: a repeat is answered, not run.
		res, out := cw.do("POST", "/api/v1/clients", body, "Idempotency-Key", "reg-1")
		if res.StatusCode != 201 || !strings.HasPrefix(res.Header.Get("Location"), "/api/v1/clients/") {
			t.Fatalf("create: %d %s", res.StatusCode, out)
		}
		var c Client
		mustJSON(t, out, &c)
		res2, out2 := cw.do("POST", "/api/v1/clients", body, "Idempotency-Key", "reg-1")
		if res2.StatusCode != 201 || out2 != out || res2.Header.Get("Location") != res.Header.Get("Location") || res2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("repeat: %d %s", res2.StatusCode, out2)
		}
		if n := h.count(`SELECT COUNT(*) FROM clients`); n != 1 {
			t.Fatalf("the repeat created another record (%d)", n)
		}
		// The same person again without the key: a conflict naming the record.
		res, out = cw.do("POST", "/api/v1/clients", body)
		var p problem
		mustJSON(t, out, &p)
		if res.StatusCode != 409 || p.field() != "national_id" || p.ExistingClientID != c.ID || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("duplicate: %d %s", res.StatusCode, out)
		}

		// Get.
		res, out = cw.do("GET", res2.Header.Get("Location"), "")
		var got Client
		mustJSON(t, out, &got)
		if res.StatusCode != 200 || got.ID != c.ID || got.NationalID != nid || got.BirthDate == "" || len(got.AllowedNext) == 0 {
			t.Fatalf("get: %d %s", res.StatusCode, out)
		}

		// Field errors, bad JSON, oversize.
		for name, tc := range map[string]struct {
			body   string
			status int
			field  string
		}{
			"bad ID number": {`{"given_name":"A","family_name":"B","national_id":"321399-1234","national_id_country":"DK","home_location":"` + h.inst.ID + `"}`, 422, "national_id"},
			"missing name":  {`{"family_name":"B","birth_date":"1990-01-01","sex":"F","home_location":"` + h.inst.ID + `"}`, 422, "given_name"},
			"wrong type":    {`{"given_name":7}`, 422, "given_name"},
			"unknown field": {`{"given_name":"A","shoe_size":44}`, 422, "shoe_size"},
			"malformed":     {`{"given_name": `, 422, "body"},
			"oversize":      {`{"given_name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, ""},
		} {
			t.Run(name, func(t *testing.T) {
				before := h.count(`SELECT COUNT(*) FROM clients`)
				res, out := cw.do("POST", "/api/v1/clients", tc.body)
				var p problem
				mustJSON(t, out, &p)
				if res.StatusCode != tc.status || p.Status != tc.status || res.Header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("%d %s", res.StatusCode, out)
				}
				if tc.field != "" && p.field() != tc.field {
					t.Fatalf("want field %s named: %s", tc.field, out)
				}
				if h.count(`SELECT COUNT(*) FROM clients`) != before {
					t.Fatal("bad input wrote a record")
				}
			})
		}

		// Legal basis, then admission by movement.
		res, out = cw.do("POST", "/api/v1/clients/"+c.ID+"/legal-bases", `{"kind":"remand","start_date":"2025-02-01","offences":"Narkotikabrott"}`)
		if res.StatusCode != 201 || !strings.Contains(res.Header.Get("Location"), "/legal-bases/") {
			t.Fatalf("basis: %d %s", res.StatusCode, out)
		}
		if res, out := cw.do("GET", res.Header.Get("Location"), ""); res.StatusCode != 200 || !strings.Contains(out, "Narkotikabrott") {
			t.Fatalf("get basis: %d %s", res.StatusCode, out)
		}
		res, out = cw.do("POST", "/api/v1/clients/"+c.ID+"/movements", `{"action":"admit","cell_id":"`+h.cells["A2"].ID+`"}`)
		if mustJSON(t, out, &p); res.StatusCode != 422 || p.field() != "version" {
			t.Fatalf("movement without version: %d %s", res.StatusCode, out)
		}
		res, out = cw.do("POST", "/api/v1/clients/"+c.ID+"/movements", `{"action":"admit","version":1,"cell_id":"`+h.cells["A2"].ID+`"}`)
		var mv Moved
		mustJSON(t, out, &mv)
		if res.StatusCode != 201 || mv.Client.Status != InCustody || mv.Client.Location.CellID != h.cells["A2"].ID || !strings.HasSuffix(res.Header.Get("Location"), "/movements/"+mv.Movement) {
			t.Fatalf("admit: %d %s", res.StatusCode, out)
		}
		if res, out := cw.do("GET", res.Header.Get("Location"), ""); res.StatusCode != 200 || !strings.Contains(out, `"action":"admit"`) {
			t.Fatalf("get movement: %d %s", res.StatusCode, out)
		}
		res, out = cw.do("POST", "/api/v1/clients/"+c.ID+"/movements", `{"action":"start_community","version":2,"office_id":"`+h.office.ID+`"}`)
		if mustJSON(t, out, &p); res.StatusCode != 409 || p.field() != "action" || !strings.Contains(p.Detail, "in custody") {
			t.Fatalf("a refused transition: %d %s", res.StatusCode, out)
		}

		// PUT with a stale version: 409, nothing overwritten.
		put := `{"version":1,"given_name":"Mette","family_name":"Hansen","national_id":"` + nid + `","national_id_country":"DK"}`
		res, out = cw.do("PUT", "/api/v1/clients/"+c.ID, put)
		if mustJSON(t, out, &p); res.StatusCode != 409 || p.CurrentVersion != 2 {
			t.Fatalf("stale put: %d %s", res.StatusCode, out)
		}
		if now, _ := findClient(h.ctx, h.db, c.ID); now.FamilyName != "Jensen" {
			t.Fatal("a stale PUT overwrote the record")
		}
		res, out = cw.do("PATCH", "/api/v1/clients/"+c.ID, `{"version":2,"family_name":"Hansen"}`)
		if mustJSON(t, out, &got); res.StatusCode != 200 || got.FamilyName != "Hansen" || got.GivenName != "Mette" || got.NationalID != nid || got.Version != 3 {
			t.Fatalf("patch: %d %s", res.StatusCode, out)
		}

		// Alerts.
		res, out = cw.do("POST", "/api/v1/clients/"+c.ID+"/alerts", `{"kind":"self_harm","note":"Observeras"}`)
		var al Alert
		if mustJSON(t, out, &al); res.StatusCode != 201 || !al.Active {
			t.Fatalf("alert: %d %s", res.StatusCode, out)
		}
		res, out = cw.do("POST", "/api/v1/clients/"+c.ID+"/alerts/"+al.ID+"/end", `{"version":1}`)
		if mustJSON(t, out, &al); res.StatusCode != 200 || al.Active {
			t.Fatalf("end alert: %d %s", res.StatusCode, out)
		}

		// Timeline, paged.
		res, out = cw.do("GET", "/api/v1/clients/"+c.ID+"/timeline?limit=2", "")
		var tl TimelineResult
		if mustJSON(t, out, &tl); res.StatusCode != 200 || len(tl.Entries) != 2 || tl.Next == "" || tl.Entries[0].Kind != "alert" {
			t.Fatalf("timeline: %d %s", res.StatusCode, out)
		}
		res, out = cw.do("GET", "/api/v1/clients/"+c.ID+"/timeline?limit=50&before="+url.QueryEscape(tl.Next), "")
		var rest TimelineResult
		if mustJSON(t, out, &rest); res.StatusCode != 200 || len(rest.Entries) != 4 || rest.Entries[len(rest.Entries)-1].Kind != "registered" {
			t.Fatalf("timeline page 2: %d %s", res.StatusCode, out)
		}

		// Search, limited: identity only outside the caseload.
		res, out = cw.do("GET", "/api/v1/clients?q=mette+hansen&limit=5", "")
		var sr SearchResult
		if mustJSON(t, out, &sr); res.StatusCode != 200 || len(sr.Results) != 1 || !sr.Results[0].InCaseload {
			t.Fatalf("search: %d %s", res.StatusCode, out)
		}
		if res, out := cw.do("GET", "/api/v1/clients?q=", ""); res.StatusCode != 422 || !strings.Contains(out, `"field":"q"`) {
			t.Fatalf("empty search: %d %s", res.StatusCode, out)
		}
	})
}

func TestAPIAccess(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHTTPEnv(t, d)
		c := h.admitted("Bo", "Ek", "A1")
		// Security reads and sets alerts but may not move people.
		sec := h.apiToken(access.Security, "*")
		if res, out := sec.do("GET", "/api/v1/clients/"+c.ID, ""); res.StatusCode != 200 {
			t.Fatalf("security reading: %d %s", res.StatusCode, out)
		}
		res, out := sec.do("POST", "/api/v1/clients/"+c.ID+"/movements", `{"action":"release","version":`+itoa(c.Version)+`}`)
		if res.StatusCode != 403 {
			t.Fatalf("security moving someone: %d %s", res.StatusCode, out)
		}
		if now, _ := findClient(h.ctx, h.db, c.ID); now.Status != InCustody {
			t.Fatal("a refused movement moved the person")
		}
		// An officer of another institution is refused, with break-glass offered.
		other := h.apiToken(access.Officer, h.inst2.ID)
		res, out = other.do("GET", "/api/v1/clients/"+c.ID, "")
		var p problem
		if mustJSON(t, out, &p); res.StatusCode != 403 || !p.BreakGlass {
			t.Fatalf("outside the caseload: %d %s", res.StatusCode, out)
		}
		if res, _ := other.do("POST", "/api/v1/clients/"+c.ID+"/break-glass", `{"reason":"Night shift medical emergency"}`); res.StatusCode != 403 {
			t.Fatalf("an API token broke glass: %d", res.StatusCode)
		}
		// Merging needs access to both records.
		cw := h.apiToken(access.CaseWorker, h.inst2.ID)
		mine := h.register("Bo", "Ekk")
		if _, err := h.svc.UpdateDetails(h.ctx, mine.ID, mine.Version, PersonDetails{GivenName: "Bo", FamilyName: "Ekk", BirthDate: mine.BirthDate, Sex: "M"}); err != nil {
			t.Fatal(err)
		}
		h.db.Exec(`UPDATE clients SET home_location = $1 WHERE id = $2`, h.inst2.ID, mine.ID) //nolint:errcheck
		res, out = cw.do("POST", "/api/v1/clients/"+mine.ID+"/merge", `{"merged_id":"`+c.Number+`","survivor_version":2,"merged_version":`+itoa(c.Version)+`,"reason":"Same person"}`)
		if res.StatusCode != 403 {
			t.Fatalf("merging in a record outside the caseload: %d %s", res.StatusCode, out)
		}
	})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
