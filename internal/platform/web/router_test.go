// SPDX-License-Identifier: AGPL-3.0-or-later

package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
	_ "github.com/custodia/custodia/internal/platform/events"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

type fixture struct {
	db      *db.DB
	srv     *httptest.Server
	acc     *access.Service
	created atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	d := dbtest.SQLite(t)
	acc := &access.Service{DB: d}
	al := audit.NewLog(d)
	t.Cleanup(al.Close)
	s := web.NewServer(d, acc, al, nil)
	s.RegisterBase()
	f := &fixture{acc: acc, db: d}
	// Clients "in" live in unit U1, "out" in U2.
	s.Locate = func(ctx context.Context, id string) (string, []string, error) {
		switch id {
		case "in":
			return "in", []string{"I1", "U1"}, nil
		case "out":
			return "out", []string{"I2", "U2"}, nil
		case "old":
			return "in", []string{"I1", "U1"}, nil // merged into "in"
		}
		return "", nil, apperr.New(apperr.NotFound, "no such client")
	}
	s.Handle(web.Route{Method: "GET", Pattern: "/api/v1/things/{id}", Perm: access.ClientRead, Scope: web.ScopeClient, API: true,
		Handle: func(w http.ResponseWriter, r *http.Request) error {
			ca := web.ClientAccessFrom(r.Context())
			return web.WriteJSON(w, 200, map[string]any{"id": ca.ClientID, "break_glass": ca.BreakGlass})
		}})
	s.Handle(web.Route{Method: "POST", Pattern: "/api/v1/things", Perm: access.ClientWrite, Scope: web.ScopeStaff, API: true,
		Handle: func(w http.ResponseWriter, r *http.Request) error {
			var in struct {
				Name  string `json:"name"`
				Count int    `json:"count"`
			}
			if err := web.DecodeJSON(r, &in); err != nil {
				return err
			}
			if in.Name == "" {
				return apperr.Field("name", "Required.")
			}
			n := f.created.Add(1)
			w.Header().Set("Location", fmt.Sprintf("/api/v1/things/%d", n))
			return web.WriteJSON(w, 201, map[string]any{"n": n, "name": in.Name})
		}})
	// stored writes a row in a transaction; "crash" stops the request
	// after the commit, "die" before it, as a server stopping would.
	dbtest.Exec(t, d, `CREATE TABLE stored_things (name TEXT NOT NULL)`)
	s.Handle(web.Route{Method: "POST", Pattern: "/api/v1/stored", Perm: access.ClientWrite, Scope: web.ScopeStaff, API: true,
		Handle: func(w http.ResponseWriter, r *http.Request) error {
			var in struct {
				Name  string `json:"name"`
				Crash bool   `json:"crash"`
				Die   bool   `json:"die"`
			}
			if err := web.DecodeJSON(r, &in); err != nil {
				return err
			}
			if in.Die {
				panic("stopped before the change")
			}
			if err := d.Transact(r.Context(), func(tx *db.Tx) error {
				_, err := tx.ExecContext(r.Context(), `INSERT INTO stored_things (name) VALUES ($1)`, in.Name)
				return err
			}); err != nil {
				return err
			}
			if in.Crash {
				panic("stopped after the change")
			}
			return web.WriteJSON(w, 201, map[string]any{"name": in.Name})
		}})
	s.Handle(web.Route{Method: "POST", Pattern: "/ui/things", Perm: access.ClientWrite, Scope: web.ScopeStaff,
		Handle: func(w http.ResponseWriter, r *http.Request) error {
			return web.Redirect(w, r, "/", "Saved", "thing")
		}})
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) token(t *testing.T, role access.Role, caseload ...string) string {
	t.Helper()
	tok, err := f.acc.IssueToken(audit.WithActor(context.Background(), audit.System), "test "+string(role), role, caseload, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret
}

func (f *fixture) do(t *testing.T, method, path, bearer, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func TestHandleRefusesUndeclaredRoutes(t *testing.T) {
	s := web.NewServer(nil, nil, nil, nil)
	h := func(http.ResponseWriter, *http.Request) error { return nil }
	for name, rt := range map[string]web.Route{
		"no scope":        {Method: "GET", Pattern: "/a", Perm: access.ClientRead, Handle: h},
		"no permission":   {Method: "GET", Pattern: "/b", Scope: web.ScopeStaff, Handle: h},
		"client no {id}":  {Method: "GET", Pattern: "/c", Scope: web.ScopeClient, Perm: access.ClientRead, Handle: h},
		"location no loc": {Method: "GET", Pattern: "/d", Scope: web.ScopeLocation, Perm: access.Headcount, Handle: h},
		"no handler":      {Method: "GET", Pattern: "/e", Scope: web.ScopePublic},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Handle accepted a route without a full access declaration")
				}
			}()
			s.Handle(rt)
		})
	}
}

func TestAuthenticationAndRole(t *testing.T) {
	f := newFixture(t)
	res, body := f.do(t, "GET", "/api/v1/things/in", "", "")
	if res.StatusCode != 401 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("anonymous API call: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	res, _ = f.do(t, "POST", "/ui/things", "", "")
	if res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous UI call: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = f.do(t, "GET", "/api/v1/things/in", "cst_not-a-token", "")
	if res.StatusCode != 401 {
		t.Fatalf("bad token: %d", res.StatusCode)
	}
	analyst := f.token(t, access.Analyst, "*")
	res, body = f.do(t, "GET", "/api/v1/things/in", analyst, "")
	if res.StatusCode != 403 {
		t.Fatalf("analyst reading a client: %d %s", res.StatusCode, body)
	}
	officer := f.token(t, access.Officer, "U1")
	res, body = f.do(t, "GET", "/api/v1/things/in", officer, "")
	if res.StatusCode != 200 || !strings.Contains(body, `"break_glass":false`) {
		t.Fatalf("officer in caseload: %d %s", res.StatusCode, body)
	}
	res, body = f.do(t, "GET", "/api/v1/things/old", officer, "")
	if res.StatusCode != 200 || !strings.Contains(body, `"id":"in"`) {
		t.Fatalf("merged id should resolve to the survivor: %d %s", res.StatusCode, body)
	}
	res, _ = f.do(t, "GET", "/api/v1/things/missing", officer, "")
	if res.StatusCode != 404 {
		t.Fatalf("missing client: %d", res.StatusCode)
	}
	// API tokens cannot use browser routes.
	cw := f.token(t, access.CaseWorker, "*")
	res, _ = f.do(t, "POST", "/ui/things", cw, "")
	if res.StatusCode != 403 {
		t.Fatalf("token on a UI route: %d", res.StatusCode)
	}
	res, _ = f.do(t, "GET", "/healthz", "", "")
	if res.StatusCode != 200 {
		t.Fatalf("healthz: %d", res.StatusCode)
	}
	if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("security headers missing")
	}
}

func TestCaseloadAndBreakGlass(t *testing.T) {
	f := newFixture(t)
	officer := f.token(t, access.Officer, "U1")
	res, body := f.do(t, "GET", "/api/v1/things/out", officer, "")
	if res.StatusCode != 403 {
		t.Fatalf("out of caseload: %d %s", res.StatusCode, body)
	}
	var p map[string]any
	json.Unmarshal([]byte(body), &p)
	if p["break_glass"] != true {
		t.Fatalf("the refusal should offer break-glass: %s", body)
	}
	// A grant for the token's principal lets it in, flagged.
	pr, err := f.acc.TokenPrincipal(context.Background(), officer, "127.0.0.1")
	if err != nil || pr == nil {
		t.Fatal(err)
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{ID: pr.ID, Name: pr.Name, Role: string(pr.Role)})
	if _, err := f.acc.BreakGlass(ctx, pr, "out", "short"); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("a too-short reason must be refused, got %v", err)
	}
	if _, err := f.acc.BreakGlass(ctx, pr, "out", "Urgent medical question from the night shift"); err != nil {
		t.Fatal(err)
	}
	res, body = f.do(t, "GET", "/api/v1/things/out", officer, "")
	if res.StatusCode != 200 || !strings.Contains(body, `"break_glass":true`) {
		t.Fatalf("after break-glass: %d %s", res.StatusCode, body)
	}
}

func TestProblemDetailsNameTheField(t *testing.T) {
	f := newFixture(t)
	cw := f.token(t, access.CaseWorker, "*")
	for name, tc := range map[string]struct {
		body   string
		status int
		field  string
	}{
		"missing field": {`{"count": 1}`, 422, "name"},
		"wrong type":    {`{"name": "x", "count": "many"}`, 422, "count"},
		"unknown field": {`{"name": "x", "colour": "red"}`, 422, "colour"},
		"malformed":     {`{"name": `, 422, "body"},
		"two objects":   {`{"name": "x"} {"name": "y"}`, 422, "body"},
		"oversize":      {`{"name": "` + strings.Repeat("a", 2<<20) + `"}`, 413, ""},
		"not an object": {`[1,2]`, 422, "body"},
		"empty":         {``, 422, "body"},
	} {
		t.Run(name, func(t *testing.T) {
			before := f.created.Load()
			res, body := f.do(t, "POST", "/api/v1/things", cw, tc.body, "Content-Type", "application/json")
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var p struct {
				Status int                      `json:"status"`
				Errors []struct{ Field string } `json:"errors"`
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != tc.status {
				t.Fatalf("not a problem document: %s", body)
			}
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
				t.Fatalf("want field %q named, got %s", tc.field, body)
			}
			if f.created.Load() != before {
				t.Fatal("bad input changed something")
			}
		})
	}
}

// TestIdempotencyKeysExpire: a key is remembered for KeepKeys, then the
// same key is a new request and the old answer is gone from the table.
func TestIdempotencyKeysExpire(t *testing.T) {
	f := newFixture(t)
	cw := f.token(t, access.CaseWorker, "*")
	if res, _ := f.do(t, "POST", "/api/v1/things", cw, `{"name":"a"}`, "Idempotency-Key", "old"); res.StatusCode != 201 {
		t.Fatal(res.StatusCode)
	}
	// A claim whose answer was never stored (the server stopped
	// mid-request) expires too.
	if res, _ := f.do(t, "POST", "/api/v1/things", cw, `{"name":"b"}`, "Idempotency-Key", "stuck"); res.StatusCode != 201 {
		t.Fatal(res.StatusCode)
	}
	dbtest.Exec(t, f.db, `UPDATE idempotency SET status = 0, body = '', location = '' WHERE key = 'stuck'`)
	later := time.Now().Add(web.KeepKeys + time.Minute)
	f.db.SetClock(func() time.Time { return later })
	defer f.db.SetClock(time.Now)
	res, _ := f.do(t, "POST", "/api/v1/things", cw, `{"name":"a"}`, "Idempotency-Key", "old")
	if res.StatusCode != 201 || res.Header.Get("Idempotent-Replayed") != "" || f.created.Load() != 3 {
		t.Fatalf("an expired key must start a new request: %d created=%d", res.StatusCode, f.created.Load())
	}
	res, _ = f.do(t, "POST", "/api/v1/things", cw, `{"name":"b"}`, "Idempotency-Key", "stuck")
	if res.StatusCode != 201 || res.Header.Get("Idempotent-Replayed") != "" || f.created.Load() != 4 {
		t.Fatalf("an expired unanswered claim must start a new request: %d created=%d", res.StatusCode, f.created.Load())
	}
}

// TestIdempotencyAfterACrash: the server stops in the middle of a keyed
// request. Stopped after its change committed, the retry is answered as
// done and the change is not made twice; stopped before, the retry makes
// it, once.
func TestIdempotencyAfterACrash(t *testing.T) {
	f := newFixture(t)
	cw := f.token(t, access.CaseWorker, "*")
	count := func(name string) int {
		var n int
		if err := f.db.QueryRow(`SELECT COUNT(*) FROM stored_things WHERE name = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Older than any request may run, younger than a key is kept.
	age := func(key string) {
		if _, err := f.db.Exec(`UPDATE idempotency SET created_at = $1 WHERE key = $2`, db.FormatTime(time.Now().Add(-5*time.Minute)), key); err != nil {
			t.Fatal(err)
		}
	}
	if res, _ := f.do(t, "POST", "/api/v1/stored", cw, `{"name":"after","crash":true}`, "Idempotency-Key", "after"); res.StatusCode != 500 {
		t.Fatalf("the crashing request: %d", res.StatusCode)
	}
	if count("after") != 1 {
		t.Fatal("the change before the crash is not stored")
	}
	age("after")
	res, body := f.do(t, "POST", "/api/v1/stored", cw, `{"name":"after","crash":true}`, "Idempotency-Key", "after")
	if res.StatusCode != 200 || res.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(body, "replayed") {
		t.Fatalf("the retry after a committed change: %d %s", res.StatusCode, body)
	}
	if n := count("after"); n != 1 {
		t.Fatalf("the retry made the change again: %d rows", n)
	}

	if res, _ := f.do(t, "POST", "/api/v1/stored", cw, `{"name":"before","die":true}`, "Idempotency-Key", "before"); res.StatusCode != 500 {
		t.Fatalf("the dying request: %d", res.StatusCode)
	}
	age("before")
	if res, body := f.do(t, "POST", "/api/v1/stored", cw, `{"name":"before"}`, "Idempotency-Key", "before"); res.StatusCode != 201 {
		t.Fatalf("the retry after a request that changed nothing: %d %s", res.StatusCode, body)
	}
	if res, _ := f.do(t, "POST", "/api/v1/stored", cw, `{"name":"before"}`, "Idempotency-Key", "before"); res.StatusCode != 201 || res.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a further repeat is not the stored answer: %d", res.StatusCode)
	}
	if n := count("before"); n != 1 {
		t.Fatalf("%d rows, want the one change", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	cw := f.token(t, access.CaseWorker, "*")
	res1, body1 := f.do(t, "POST", "/api/v1/things", cw, `{"name":"a"}`, "Idempotency-Key", "k1")
	res2, body2 := f.do(t, "POST", "/api/v1/things", cw, `{"name":"a"}`, "Idempotency-Key", "k1")
	if res1.StatusCode != 201 || res2.StatusCode != 201 || body1 != body2 || res2.Header.Get("Location") != res1.Header.Get("Location") {
		t.Fatalf("repeat differs: %d %s / %d %s", res1.StatusCode, body1, res2.StatusCode, body2)
	}
	if res2.Header.Get("Idempotent-Replayed") != "true" || f.created.Load() != 1 {
		t.Fatalf("repeat was executed again (created=%d)", f.created.Load())
	}
	// A failed first attempt frees the key for a corrected retry.
	res, _ := f.do(t, "POST", "/api/v1/things", cw, `{"count":1}`, "Idempotency-Key", "k2")
	if res.StatusCode != 422 {
		t.Fatalf("invalid: %d", res.StatusCode)
	}
	res, _ = f.do(t, "POST", "/api/v1/things", cw, `{"name":"b"}`, "Idempotency-Key", "k2")
	if res.StatusCode != 201 || f.created.Load() != 2 {
		t.Fatalf("corrected retry: %d created=%d", res.StatusCode, f.created.Load())
	}
	// Concurrent repeats create once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, body := f.do(t, "POST", "/api/v1/things", cw, `{"name":"c"}`, "Idempotency-Key", "k3")
			if res.StatusCode != 201 {
				t.Errorf("concurrent repeat: %d %s", res.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	if f.created.Load() != 3 {
		t.Fatalf("concurrent repeats created %d things, want 1", f.created.Load()-2)
	}
	// Another principal's key is its own.
	cw2 := f.token(t, access.CaseWorker, "*")
	f.do(t, "POST", "/api/v1/things", cw2, `{"name":"a"}`, "Idempotency-Key", "k1")
	if f.created.Load() != 4 {
		t.Fatal("keys must be scoped per principal")
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	ctx := audit.WithActor(context.Background(), audit.System)
	if _, err := f.acc.CreateStaff(ctx, access.NewStaff{Username: "cw", DisplayName: "Case Worker", Role: access.CaseWorker, Caseload: []string{"*"}, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	sess, _, err := f.acc.Login(context.Background(), "cw", "correct horse battery", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	post := func(csrf string) int {
		req, _ := http.NewRequest("POST", f.srv.URL+"/ui/things", strings.NewReader("csrf="+csrf))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "custodia_session", Value: sess.Token})
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := post(""); s != 403 {
		t.Fatalf("no CSRF token: %d", s)
	}
	if s := post("wrong"); s != 403 {
		t.Fatalf("wrong CSRF token: %d", s)
	}
	if s := post(sess.CSRF); s != 303 {
		t.Fatalf("right CSRF token: %d", s)
	}
	// A form body over the limit is refused before the CSRF check reads
	// it whole.
	big := "csrf=" + sess.CSRF + "&x=" + strings.Repeat("a", 2<<20)
	req, _ := http.NewRequest("POST", f.srv.URL+"/ui/things", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "custodia_session", Value: sess.Token})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize form: %d, want 413", res.StatusCode)
	}
}

// TestSessionInfo: GET /session tells the browser's outbox sender (the
// service worker, which has no page) who is signed in and the session's
// CSRF token — to the session's own cookie, from this site only. It is no
// way round CSRF: without the cookie it answers nothing, another site's
// request is refused, a bearer token (which needs no CSRF token) is
// refused as on every page, and the service worker it serves is scoped to
// the whole site.
func TestSessionInfo(t *testing.T) {
	f := newFixture(t)
	ctx := audit.WithActor(context.Background(), audit.System)
	st, err := f.acc.CreateStaff(ctx, access.NewStaff{Username: "cw", DisplayName: "Case Worker", Role: access.CaseWorker, Caseload: []string{"*"}, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := f.acc.Login(context.Background(), "cw", "correct horse battery", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cookie := "custodia_session=" + sess.Token

	res, body := f.do(t, "GET", "/session", "", "", "Cookie", cookie, "Sec-Fetch-Site", "same-origin")
	var got web.SessionInfo
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &got) != nil || got.User != st.ID || got.CSRF != sess.CSRF {
		t.Fatalf("GET /session with the cookie: %d %s, want user %s and the session's token", res.StatusCode, body, st.ID)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET /session is cacheable: Cache-Control %q", cc)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("GET /session lets another origin read it")
	}
	for _, site := range []string{"cross-site", "same-site"} {
		if res, body := f.do(t, "GET", "/session", "", "", "Cookie", cookie, "Sec-Fetch-Site", site); res.StatusCode != 403 || json.Unmarshal([]byte(body), &web.SessionInfo{}) == nil {
			t.Errorf("GET /session from a %s request: %d %.80s, want a 403 page", site, res.StatusCode, body)
		}
	}
	if res, body := f.do(t, "GET", "/session", "", ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") || strings.Contains(body, "csrf") {
		t.Errorf("GET /session without a session: %d %s, want a redirect to sign in", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := f.do(t, "GET", "/session", f.token(t, access.CaseWorker, "*"), ""); res.StatusCode != 403 {
		t.Errorf("GET /session with a bearer token: %d, want 403", res.StatusCode)
	}

	res, body = f.do(t, "GET", "/sw.js", "", "")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "javascript") || !strings.Contains(body, "importScripts('/assets/custodia-outbox.js')") {
		t.Fatalf("GET /sw.js: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET /sw.js: Cache-Control %q, want no-cache", cc)
	}
}

// TestOfflinePage: GET /offline, the page the service worker keeps to show
// when the server cannot be reached, is public and generic. Asked for with
// a signed-in session (and a flash cookie waiting for the next page) it
// shows nothing of the session — no name, no user id, no CSRF token, no
// sign-out — and sets no cookie, so a cached copy on a shared tablet holds
// no personal data. It is in the language asked for (?lang=, how the
// worker caches each), else the request's. /sw.js carries a version that
// changes with what it caches.
func TestOfflinePage(t *testing.T) {
	f := newFixture(t)
	ctx := audit.WithActor(context.Background(), audit.System)
	st, err := f.acc.CreateStaff(ctx, access.NewStaff{Username: "olle", DisplayName: "Olle Officersson", Role: access.Officer, Caseload: []string{"U1"}, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := f.acc.Login(context.Background(), "olle", "correct horse battery", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cookie := "custodia_session=" + sess.Token + "; custodia_flash=" + url.QueryEscape("Saved\x1freg-new-x")
	for _, tc := range []struct{ query, acceptLang, cookie, lang string }{
		{"", "sv-SE,sv;q=0.9", "", "sv"},
		{"", "", cookie, "en"},
		{"?lang=da", "sv", cookie, "da"},
		{"?lang=nb", "", "", "nb"},
		{"?lang=xx", "da", "", "da"},
	} {
		res, body := f.do(t, "GET", "/offline"+tc.query, "", "", "Cookie", tc.cookie, "Accept-Language", tc.acceptLang)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /offline%s: %d %s", tc.query, res.StatusCode, res.Header.Get("Content-Type"))
		}
		lang := i18n.Lang(tc.lang)
		if res.Header.Get("Content-Language") != tc.lang || !strings.Contains(body, `<html lang="`+tc.lang+`"`) ||
			!strings.Contains(body, html.EscapeString(i18n.T(lang, "offline.title"))) || !strings.Contains(body, html.EscapeString(i18n.T(lang, "offline.kept"))) {
			t.Errorf("GET /offline%s (Accept-Language %q): Content-Language %q, want the page in %s", tc.query, tc.acceptLang, res.Header.Get("Content-Language"), tc.lang)
		}
		for _, secret := range []string{st.ID, "Olle", sess.CSRF, sess.Token, "custodia-user", `action="/logout"`, `action="/lang"`, "reg-new-x"} {
			if strings.Contains(body, secret) {
				t.Errorf("GET /offline%s shows %q", tc.query, secret)
			}
		}
		if c := res.Header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("GET /offline%s sets cookies: %v", tc.query, c)
		}
		for _, want := range []string{`id="custodia-offline"`, `id="sync-status"`, `data-health="/healthz"`, `src="/assets/custodia.js"`} {
			if !strings.Contains(body, want) {
				t.Errorf("GET /offline%s lacks %s", tc.query, want)
			}
		}
	}

	res, body := f.do(t, "GET", "/sw.js", "", "")
	v := regexp.MustCompile(`var VERSION = '([0-9a-f]{16})';`).FindStringSubmatch(body)
	if res.StatusCode != 200 || v == nil {
		t.Fatalf("GET /sw.js: %d, no version set", res.StatusCode)
	}
	for _, want := range []string{"'/offline'", "'/assets/custodia.js'", "'/assets/custodia-outbox.js'", "'/assets/custodia.css'"} {
		if !strings.Contains(body, want) {
			t.Errorf("the service worker does not precache %s", want)
		}
	}
}
