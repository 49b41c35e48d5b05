// SPDX-License-Identifier: AGPL-3.0-or-later

package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/admin"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
	"github.com/custodia/custodia/internal/platform/web"
)

const pw = "correct horse battery staple"

type fixture struct {
	d   *db.DB
	acc *access.Service
	al  *audit.Log
	s   *web.Server
	srv *httptest.Server
}

var sys = audit.WithActor(context.Background(), audit.System)

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	acc := &access.Service{DB: d}
	al := audit.NewLog(d)
	t.Cleanup(al.Close)
	s := web.NewServer(d, acc, al, nil)
	s.RegisterBase()
	// "old" was merged into "c1".
	s.Locate = func(ctx context.Context, id string) (string, []string, error) {
		switch id {
		case "c1", "c2":
			return id, []string{"I1"}, nil
		case "old":
			return "c1", []string{"I1"}, nil
		}
		return "", nil, apperr.New(apperr.NotFound, "no such client")
	}
	h := &admin.Handlers{Web: s, Access: acc, Audit: al, DB: d,
		Names: func(ctx context.Context, ids []string) (map[string]string, error) {
			known := map[string]string{"I1": "Kumla", "U1": "Kumla A", "I2": "Ila"}
			out := map[string]string{}
			for _, id := range ids {
				if n, ok := known[id]; ok {
					out[id] = n
				}
			}
			return out, nil
		}}
	h.Register()
	f := &fixture{d: d, acc: acc, al: al, s: s, srv: httptest.NewServer(s)}
	t.Cleanup(f.srv.Close)
	return f
}

// engines runs body on SQLite and, when CUSTODIA_TEST_POSTGRES is set, on
// PostgreSQL.
func engines(t *testing.T, body func(t *testing.T, f *fixture)) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) { body(t, newFixture(t, d)) })
}

func (f *fixture) staff(t *testing.T, username string, role access.Role, caseload ...string) access.Staff {
	t.Helper()
	st, err := f.acc.CreateStaff(sys, access.NewStaff{Username: username, DisplayName: "Name of " + username, Role: role, Caseload: caseload, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (f *fixture) token(t *testing.T, role access.Role, caseload ...string) string {
	t.Helper()
	tok, err := f.acc.IssueToken(sys, "test "+string(role), role, caseload, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret
}

func (f *fixture) login(t *testing.T, username string) access.Session {
	t.Helper()
	sess, _, err := f.acc.Login(context.Background(), username, pw, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func send(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// api calls an API route with a bearer token and an optional JSON body.
func (f *fixture) api(t *testing.T, method, path, bearer, body string, hdr ...string) (*http.Response, string) {
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
	return send(t, req)
}

// ui calls a browser route with a session; POSTs carry the CSRF token.
func (f *fixture) ui(t *testing.T, method, path string, sess *access.Session, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if method != "GET" {
		if form == nil {
			form = url.Values{}
		}
		if sess != nil {
			form.Set("csrf", sess.CSRF)
		}
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, body)
	if method != "GET" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if sess != nil {
		req.AddCookie(&http.Cookie{Name: "custodia_session", Value: sess.Token})
	}
	req.Header.Set("Accept-Language", "en")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return send(t, req)
}

type problem struct {
	Status int `json:"status"`
	Detail string
	Errors []apperr.FieldError `json:"errors"`
}

func fieldsOf(t *testing.T, body string) []string {
	t.Helper()
	var p problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem document: %s", body)
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestStaffAPI(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		adm := f.token(t, access.Administrator, "*")
		body := `{"username":"Anna.Berg","display_name":"Anna Berg","role":"officer","caseload":["I1","U1"],"password":"` + pw + `"}`
		res, out := f.api(t, "POST", "/api/v1/staff", adm, body)
		if res.StatusCode != 201 || res.Header.Get("Location") != "/api/v1/staff/anna.berg" {
			t.Fatalf("create: %d %s %s", res.StatusCode, res.Header.Get("Location"), out)
		}
		var st admin.StaffView
		json.Unmarshal([]byte(out), &st)
		if st.Username != "anna.berg" || st.Role != access.Officer || len(st.Caseload) != 2 || strings.Contains(out, "password") {
			t.Fatalf("created account: %s", out)
		}
		if _, _, err := f.acc.Login(context.Background(), "anna.berg", pw, "127.0.0.1"); err != nil {
			t.Fatalf("the new account cannot sign in: %v", err)
		}
		res, out = f.api(t, "GET", "/api/v1/staff/anna.berg", adm, "")
		if res.StatusCode != 200 || !strings.Contains(out, `"display_name":"Anna Berg"`) || !strings.Contains(out, `"locked":false`) {
			t.Fatalf("get: %d %s", res.StatusCode, out)
		}
		res, out = f.api(t, "GET", "/api/v1/staff", adm, "")
		if res.StatusCode != 200 || !strings.Contains(out, `"username":"anna.berg"`) {
			t.Fatalf("list: %d %s", res.StatusCode, out)
		}

		// A taken username is a conflict.
		res, out = f.api(t, "POST", "/api/v1/staff", adm, body)
		if res.StatusCode != 409 || !has(fieldsOf(t, out), "username") {
			t.Fatalf("duplicate: %d %s", res.StatusCode, out)
		}

		for name, tc := range map[string]struct {
			body  string
			field string
		}{
			"short password": {`{"username":"b1","display_name":"B","role":"officer","password":"short"}`, "password"},
			"bad username":   {`{"username":"B B!","display_name":"B","role":"officer","password":"` + pw + `"}`, "username"},
			"no name":        {`{"username":"b2","display_name":" ","role":"officer","password":"` + pw + `"}`, "display_name"},
			"bad role":       {`{"username":"b3","display_name":"B","role":"warden","password":"` + pw + `"}`, "role"},
			"unknown place":  {`{"username":"b4","display_name":"B","role":"officer","caseload":["X9"],"password":"` + pw + `"}`, "caseload"},
			"bad language":   {`{"username":"b5","display_name":"B","role":"officer","lang":"fr","password":"` + pw + `"}`, "lang"},
			"unknown field":  {`{"username":"b6","display_name":"B","role":"officer","admin":true,"password":"` + pw + `"}`, "admin"},
		} {
			t.Run(name, func(t *testing.T) {
				res, out := f.api(t, "POST", "/api/v1/staff", adm, tc.body)
				if res.StatusCode != 422 || res.Header.Get("Content-Type") != "application/problem+json" || !has(fieldsOf(t, out), tc.field) {
					t.Fatalf("%d %s", res.StatusCode, out)
				}
			})
		}

		// Idempotency-Key: a repeat answers with the first result.
		body2 := `{"username":"carl","display_name":"Carl","role":"security","caseload":["*"],"password":"` + pw + `"}`
		res, first := f.api(t, "POST", "/api/v1/staff", adm, body2, "Idempotency-Key", "k-carl")
		if res.StatusCode != 201 {
			t.Fatalf("first: %d %s", res.StatusCode, first)
		}
		res, again := f.api(t, "POST", "/api/v1/staff", adm, body2, "Idempotency-Key", "k-carl")
		if res.StatusCode != 201 || res.Header.Get("Idempotent-Replayed") != "true" || again != first {
			t.Fatalf("repeat: %d %s", res.StatusCode, again)
		}

		// Password reset.
		res, out = f.api(t, "POST", "/api/v1/staff/anna.berg/password", adm, `{"password":"short"}`)
		if res.StatusCode != 422 || !has(fieldsOf(t, out), "password") {
			t.Fatalf("short reset: %d %s", res.StatusCode, out)
		}
		res, out = f.api(t, "POST", "/api/v1/staff/nobody/password", adm, `{"password":"another long password"}`)
		if res.StatusCode != 404 {
			t.Fatalf("reset unknown: %d %s", res.StatusCode, out)
		}
		res, out = f.api(t, "POST", "/api/v1/staff/anna.berg/password", adm, `{"password":"another long password"}`)
		if res.StatusCode != 204 {
			t.Fatalf("reset: %d %s", res.StatusCode, out)
		}
		if _, _, err := f.acc.Login(context.Background(), "anna.berg", "another long password", "127.0.0.1"); err != nil {
			t.Fatalf("the new password does not work: %v", err)
		}

		// Every write is in the audit log.
		recs, err := f.al.Search(context.Background(), audit.Filter{Action: "staff."})
		if err != nil {
			t.Fatal(err)
		}
		var creates, resets int
		for _, r := range recs {
			switch r.Action {
			case "staff.create":
				creates++
			case "staff.reset_password":
				resets++
			}
		}
		if creates != 2 || resets != 1 {
			t.Fatalf("audit: %d creates, %d resets", creates, resets)
		}
	})
}

func TestStaffUI(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		f.staff(t, "root", access.Administrator, "*")
		sess := f.login(t, "root")
		res, out := f.ui(t, "GET", "/admin/users", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "root") || !strings.Contains(out, "All locations") {
			t.Fatalf("list: %d %s", res.StatusCode, out)
		}
		res, out = f.ui(t, "GET", "/admin/users/new", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, `name="idempotency_key" value="0`) {
			t.Fatalf("form: %d %s", res.StatusCode, out)
		}

		bad := url.Values{"username": {"anna"}, "display_name": {"Anna Berg"}, "role": {"officer"}, "caseload": {"I1, X9"},
			"password": {"tooshort"}, "password2": {"tooshort"}}
		res, out = f.ui(t, "POST", "/admin/users", &sess, bad)
		if res.StatusCode != 422 {
			t.Fatalf("bad form: %d %s", res.StatusCode, out)
		}
		for _, want := range []string{`value="anna"`, `value="Anna Berg"`, `value="I1, X9"`, `value="officer" selected`,
			"Use 12 to 256 characters.", "No location has this id: X9", `id="e-password"`, `aria-invalid="true"`} {
			if !strings.Contains(out, want) {
				t.Errorf("re-rendered form lacks %q", want)
			}
		}
		if strings.Contains(out, "tooshort") {
			t.Error("the typed password was sent back")
		}

		// The same mistakes in Swedish.
		res, out = f.ui(t, "POST", "/admin/users", &sess, bad, "Accept-Language", "sv")
		if res.StatusCode != 422 || !strings.Contains(out, "Använd 12 till 256 tecken.") {
			t.Fatalf("Swedish form: %d", res.StatusCode)
		}

		good := url.Values{"username": {"anna"}, "display_name": {"Anna Berg"}, "role": {"officer"}, "caseload": {"I1"},
			"password": {pw}, "password2": {pw}, "idempotency_key": {"ui-anna"}}
		res, out = f.ui(t, "POST", "/admin/users", &sess, good)
		if res.StatusCode != 303 || res.Header.Get("Location") != "/admin/users" {
			t.Fatalf("create: %d %s", res.StatusCode, out)
		}
		// Submitted twice (back button): the first answer again, no conflict.
		res, _ = f.ui(t, "POST", "/admin/users", &sess, good)
		if res.StatusCode != 303 || res.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("resubmit: %d", res.StatusCode)
		}
		good.Del("idempotency_key")
		res, out = f.ui(t, "POST", "/admin/users", &sess, good)
		if res.StatusCode != 409 || !strings.Contains(out, "This user name is taken.") || !strings.Contains(out, `value="anna"`) {
			t.Fatalf("duplicate: %d %s", res.StatusCode, out)
		}
		res, out = f.ui(t, "GET", "/admin/users", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "Anna Berg") || !strings.Contains(out, "Kumla") {
			t.Fatalf("list after create: %s", out)
		}

		// Password reset.
		res, out = f.ui(t, "GET", "/admin/users/anna/password", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "anna") {
			t.Fatalf("reset form: %d", res.StatusCode)
		}
		res, _ = f.ui(t, "GET", "/admin/users/nobody/password", &sess, nil)
		if res.StatusCode != 404 {
			t.Fatalf("reset form of nobody: %d", res.StatusCode)
		}
		res, out = f.ui(t, "POST", "/admin/users/anna/password", &sess, url.Values{"password": {"new password 123"}, "password2": {"new password 124"}})
		if res.StatusCode != 422 || !strings.Contains(out, "The two passwords differ.") {
			t.Fatalf("mismatch: %d", res.StatusCode)
		}
		res, _ = f.ui(t, "POST", "/admin/users/anna/password", &sess, url.Values{"password": {"new password 123"}, "password2": {"new password 123"}})
		if res.StatusCode != 303 {
			t.Fatalf("reset: %d", res.StatusCode)
		}
		if _, _, err := f.acc.Login(context.Background(), "anna", "new password 123", "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTokens(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		adm := f.token(t, access.Administrator, "*")
		res, out := f.api(t, "POST", "/api/v1/tokens", adm, `{"name":"court","role":"security","caseload":["I1"],"ttl_days":0}`)
		if res.StatusCode != 422 || !has(fieldsOf(t, out), "ttl_days") {
			t.Fatalf("no expiry: %d %s", res.StatusCode, out)
		}
		res, out = f.api(t, "POST", "/api/v1/tokens", adm, `{"name":"","role":"x","ttl_days":5}`)
		if fs := fieldsOf(t, out); res.StatusCode != 422 || !has(fs, "name") || !has(fs, "role") {
			t.Fatalf("bad token: %d %s", res.StatusCode, out)
		}
		res, out = f.api(t, "POST", "/api/v1/tokens", adm, `{"name":"court","role":"security","caseload":["I1"],"ttl_days":30}`)
		if res.StatusCode != 201 {
			t.Fatalf("issue: %d %s", res.StatusCode, out)
		}
		var tok access.Token
		json.Unmarshal([]byte(out), &tok)
		if !strings.HasPrefix(tok.Secret, "cst_") || tok.Role != access.Security || tok.ExpiresAt.Sub(tok.CreatedAt) != 30*24*time.Hour {
			t.Fatalf("issued: %s", out)
		}
		res, out = f.api(t, "GET", "/api/v1/break-glass", tok.Secret, "")
		if res.StatusCode != 200 {
			t.Fatalf("using the token: %d %s", res.StatusCode, out)
		}
		res, out = f.api(t, "GET", "/api/v1/tokens", adm, "")
		if res.StatusCode != 200 || !strings.Contains(out, `"name":"court"`) || strings.Contains(out, tok.Secret) || strings.Contains(out, `"secret"`) {
			t.Fatalf("list: %d %s", res.StatusCode, out)
		}
		res, out = f.api(t, "GET", "/api/v1/tokens/"+tok.ID, adm, "")
		if res.StatusCode != 200 || strings.Contains(out, `"secret"`) {
			t.Fatalf("get: %d %s", res.StatusCode, out)
		}
		// Idempotency-Key: a repeat issues no second token and, because
		// the secret is shown once, answers without it; the stored answer
		// in the database holds no secret either.
		res, first := f.api(t, "POST", "/api/v1/tokens", adm, `{"name":"prison service","role":"analyst","ttl_days":1}`, "Idempotency-Key", "tok-1")
		res2, again := f.api(t, "POST", "/api/v1/tokens", adm, `{"name":"prison service","role":"analyst","ttl_days":1}`, "Idempotency-Key", "tok-1")
		if res.StatusCode != 201 || res2.StatusCode != 201 || !strings.Contains(first, `"secret"`) || strings.Contains(again, `"secret"`) ||
			res2.Header.Get("Idempotent-Replayed") != "true" || res.Header.Get("Location") != res2.Header.Get("Location") {
			t.Fatalf("idempotent issue: %d %d %s", res.StatusCode, res2.StatusCode, again)
		}
		var stored int
		if err := f.d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM idempotency WHERE body LIKE '%secret":%'`).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("%d stored answers hold a token secret (%v)", stored, err)
		}
		if list, _ := f.acc.ListTokens(context.Background()); len(list) != 3 {
			t.Fatalf("%d tokens after a repeated issue, want 3", len(list))
		}
		res, _ = f.api(t, "DELETE", "/api/v1/tokens/"+tok.ID, adm, "")
		if res.StatusCode != 204 {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		res, _ = f.api(t, "GET", "/api/v1/break-glass", tok.Secret, "")
		if res.StatusCode != 401 {
			t.Fatalf("revoked token: %d", res.StatusCode)
		}
		res, _ = f.api(t, "DELETE", "/api/v1/tokens/"+tok.ID, adm, "")
		if res.StatusCode != 404 {
			t.Fatalf("revoke twice: %d", res.StatusCode)
		}

		// UI: issue shows the secret once; revoke.
		f.staff(t, "root", access.Administrator, "*")
		sess := f.login(t, "root")
		res, out = f.ui(t, "POST", "/admin/tokens", &sess, url.Values{"name": {"police"}, "role": {"officer"}, "caseload": {"I2"}, "ttl_days": {"abc"}})
		if res.StatusCode != 422 || !strings.Contains(out, "Enter a whole number of days from 1 to 730.") || !strings.Contains(out, `value="police"`) {
			t.Fatalf("bad issue: %d %s", res.StatusCode, out)
		}
		res, out = f.ui(t, "POST", "/admin/tokens", &sess, url.Values{"name": {"police"}, "role": {"officer"}, "caseload": {"I2"}, "ttl_days": {"10"}})
		if res.StatusCode != 201 || !strings.Contains(out, `id="new-secret" class="mono" readonly value="cst_`) {
			t.Fatalf("issue: %d %s", res.StatusCode, out)
		}
		list, err := f.acc.ListTokens(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var id string
		for _, x := range list {
			if x.Name == "police" {
				id = x.ID
			}
		}
		res, out = f.ui(t, "GET", "/admin/tokens", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "police") || strings.Contains(out, "new-secret") || !strings.Contains(out, "Ila") {
			t.Fatalf("list page: %d %s", res.StatusCode, out)
		}
		res, _ = f.ui(t, "POST", "/admin/tokens/"+id+"/revoke", &sess, nil)
		if res.StatusCode != 303 {
			t.Fatalf("revoke: %d", res.StatusCode)
		}
		if res, out = f.ui(t, "GET", "/admin/tokens", &sess, nil); res.StatusCode != 200 || !strings.Contains(out, "Revoked") {
			t.Fatalf("revoked token not shown as revoked: %s", out)
		}
	})
}

// writeAs appends an audit entry as actor at the database's current time.
func writeAs(t *testing.T, d *db.DB, a audit.Actor, e audit.Entry) {
	t.Helper()
	err := d.Transact(context.Background(), func(tx *db.Tx) error {
		return audit.WriteAs(context.Background(), tx, a, e)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func actor(st access.Staff) audit.Actor {
	return audit.Actor{ID: st.ID, Name: st.DisplayName, Role: string(st.Role), Remote: "10.0.0.1"}
}

func page(t *testing.T, out string) admin.AuditPage {
	t.Helper()
	var p admin.AuditPage
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return p
}

func TestAuditSearch(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		olle := f.staff(t, "olle", access.Officer, "I1")
		kim := f.staff(t, "kim", access.CaseWorker, "I2")
		jan10 := time.Date(2024, 1, 10, 12, 0, 0, 0, time.UTC)
		feb10 := time.Date(2024, 2, 10, 12, 0, 0, 0, time.UTC)
		f.d.SetClock(func() time.Time { return jan10 })
		writeAs(t, f.d, actor(olle), audit.Entry{Action: "client.read", ClientID: "c1", ObjectType: "client", ObjectID: "c1"})
		f.d.SetClock(func() time.Time { return feb10 })
		writeAs(t, f.d, actor(kim), audit.Entry{Action: "client.update", ClientID: "c2", ObjectType: "client", ObjectID: "c2", Detail: "fields=name"})
		writeAs(t, f.d, actor(olle), audit.Entry{Action: "client.read", ClientID: "c2", BreakGlass: true, Reason: "Night shift emergency call"})
		f.d.SetClock(time.Now)

		aud := f.token(t, access.Security, "I1")
		for name, tc := range map[string]struct {
			query string
			check func(r audit.Record) bool
			min   int
		}{
			"client":      {"client=c1", func(r audit.Record) bool { return r.ClientID == "c1" }, 1},
			"staff name":  {"staff=olle", func(r audit.Record) bool { return r.ActorID == olle.ID }, 2},
			"staff id":    {"staff=" + kim.ID, func(r audit.Record) bool { return r.ActorID == kim.ID }, 1},
			"action":      {"action=client.update", func(r audit.Record) bool { return r.Action == "client.update" }, 1},
			"from":        {"from=2024-02-01&to=2024-02-28", func(r audit.Record) bool { return r.At.Equal(feb10) }, 2},
			"to":          {"from=2024-01-01&to=2024-01-10", func(r audit.Record) bool { return r.At.Equal(jan10) }, 1},
			"break-glass": {"break_glass=1&action=client.", func(r audit.Record) bool { return r.BreakGlass && r.Reason != "" }, 1},
		} {
			t.Run(name, func(t *testing.T) {
				res, out := f.api(t, "GET", "/api/v1/audit?"+tc.query, aud, "")
				if res.StatusCode != 200 {
					t.Fatalf("%d %s", res.StatusCode, out)
				}
				p := page(t, out)
				if len(p.Items) < tc.min {
					t.Fatalf("want at least %d rows: %s", tc.min, out)
				}
				for i, r := range p.Items {
					if !tc.check(r) {
						t.Errorf("row %d does not match the filter: %+v", i, r)
					}
					if i > 0 && r.Seq >= p.Items[i-1].Seq {
						t.Error("not newest first")
					}
				}
			})
		}
		// Exact counts on the dated rows (searches made now fall outside).
		res, out := f.api(t, "GET", "/api/v1/audit?from=2024-01-01&to=2024-12-31", aud, "")
		if p := page(t, out); res.StatusCode != 200 || len(p.Items) != 3 {
			t.Fatalf("period: %s", out)
		}
		// Paging.
		res, out = f.api(t, "GET", "/api/v1/audit?from=2024-01-01&to=2024-12-31&limit=2", aud, "")
		p1 := page(t, out)
		if res.StatusCode != 200 || len(p1.Items) != 2 || p1.NextBefore == 0 {
			t.Fatalf("page 1: %s", out)
		}
		res, out = f.api(t, "GET", fmt.Sprintf("/api/v1/audit?from=2024-01-01&to=2024-12-31&limit=2&before=%d", p1.NextBefore), aud, "")
		p2 := page(t, out)
		if res.StatusCode != 200 || len(p2.Items) != 1 || p2.NextBefore != 0 || p2.Items[0].Seq >= p1.Items[1].Seq {
			t.Fatalf("page 2: %s", out)
		}
		// Bad filters.
		for q, field := range map[string]string{"from=yesterday": "from", "from=2024-03-01&to=2024-02-01": "to", "limit=0": "limit", "before=-3": "before", "action=DROP TABLE": "action"} {
			res, out := f.api(t, "GET", "/api/v1/audit?"+strings.ReplaceAll(q, " ", "%20"), aud, "")
			if res.StatusCode != 422 || !has(fieldsOf(t, out), field) {
				t.Errorf("%s: %d %s", q, res.StatusCode, out)
			}
		}
		// Searching is itself logged.
		recs, _ := f.al.Search(context.Background(), audit.Filter{Action: "audit.search.read", ClientID: "c1"})
		if len(recs) == 0 {
			t.Fatal("a search for a client was not logged as a read of that client")
		}

		// UI.
		f.staff(t, "sec", access.Security, "I1")
		sess := f.login(t, "sec")
		res, out = f.ui(t, "GET", "/audit?client=c2", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "Night shift emergency call") || !strings.Contains(out, "client.update") || strings.Contains(out, ">c1<") {
			t.Fatalf("UI search: %d %s", res.StatusCode, out)
		}
		if !strings.Contains(out, `href="/audit/clients/c2/access"`) {
			t.Error("no link to the access report")
		}
		res, out = f.ui(t, "GET", "/audit?from=31.12.2024&client=c2", &sess, nil)
		if res.StatusCode != 422 || !strings.Contains(out, `value="31.12.2024"`) || !strings.Contains(out, "Enter a date, for example 2025-03-27.") {
			t.Fatalf("UI bad filter: %d %s", res.StatusCode, out)
		}
		res, out = f.ui(t, "GET", "/audit?from=2024-01-01&to=2024-12-31&limit=1", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "before=") {
			t.Fatalf("UI paging: %d %s", res.StatusCode, out)
		}
	})
}

func TestVerify(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		olle := f.staff(t, "olle", access.Officer, "I1")
		writeAs(t, f.d, actor(olle), audit.Entry{Action: "client.read", ClientID: "c1"})
		aud := f.token(t, access.Administrator, "*")
		res, out := f.api(t, "POST", "/api/v1/audit/verify", aud, "")
		var v admin.VerifyOutcome
		json.Unmarshal([]byte(out), &v)
		if res.StatusCode != 200 || !v.OK || v.Records < 3 {
			t.Fatalf("verify: %d %s", res.StatusCode, out)
		}
		f.staff(t, "sec", access.Security, "I1")
		sess := f.login(t, "sec")
		res, out = f.ui(t, "POST", "/audit/verify", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "The audit chain is intact") {
			t.Fatalf("UI verify: %d %s", res.StatusCode, out)
		}

		var seq int64
		if err := f.d.QueryRow(`SELECT seq FROM audit_log WHERE action = 'client.read'`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		dbtest.Exec(t, f.d, fmt.Sprintf(`UPDATE audit_log SET client_id = 'c2' WHERE seq = %d`, seq))
		res, out = f.api(t, "POST", "/api/v1/audit/verify", aud, "")
		v = admin.VerifyOutcome{}
		json.Unmarshal([]byte(out), &v)
		if res.StatusCode != 200 || v.OK || v.BadSeq != seq || v.Problem == "" {
			t.Fatalf("tampered: %d %s", res.StatusCode, out)
		}
		res, out = f.ui(t, "POST", "/audit/verify", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, fmt.Sprintf("The audit chain is broken at entry %d", seq)) {
			t.Fatalf("UI tampered: %d %s", res.StatusCode, out)
		}
		recs, _ := f.al.Search(context.Background(), audit.Filter{Action: "audit.verify"})
		if len(recs) != 4 || !strings.HasPrefix(recs[0].Detail, "broken") {
			t.Fatalf("verifications are not logged with their outcome: %+v", recs)
		}
	})
}

func TestWhoLooked(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		olle := f.staff(t, "olle", access.Officer, "I1")
		ctx := audit.WithActor(context.Background(), actor(olle))
		if err := f.al.RecordRead(ctx, audit.Entry{Action: "client.read", ClientID: "c1"}, audit.Entry{Action: "client.read", ClientID: "c1"}); err != nil {
			t.Fatal(err)
		}
		writeAs(t, f.d, actor(olle), audit.Entry{Action: "client.alert_set", ClientID: "old"})
		writeAs(t, f.d, actor(olle), audit.Entry{Action: "client.read", ClientID: "c2"})

		aud := f.token(t, access.Administrator, "*")
		res, out := f.api(t, "GET", "/api/v1/audit/clients/c1/access", aud, "")
		var rep admin.AccessReport
		json.Unmarshal([]byte(out), &rep)
		if res.StatusCode != 200 || rep.ClientID != "c1" || len(rep.Items) != 1 || rep.Items[0].ActorID != olle.ID || rep.Items[0].Reads != 2 || rep.Items[0].Writes != 0 {
			t.Fatalf("report: %d %s", res.StatusCode, out)
		}
		// The report is itself a logged read of the client's data.
		recs, _ := f.al.Search(context.Background(), audit.Filter{ClientID: "c1", Action: "audit.client_access.read"})
		if len(recs) != 1 || recs[0].ActorName != "test administrator" {
			t.Fatalf("report not logged: %+v", recs)
		}
		// A merged id covers both records.
		res, out = f.api(t, "GET", "/api/v1/audit/clients/old/access", aud, "")
		rep = admin.AccessReport{}
		json.Unmarshal([]byte(out), &rep)
		var o audit.Access
		for _, a := range rep.Items {
			if a.ActorID == olle.ID {
				o = a
			}
		}
		if res.StatusCode != 200 || rep.ClientID != "c1" || rep.RequestedID != "old" || o.Reads != 2 || o.Writes != 1 || len(rep.Items) != 2 {
			t.Fatalf("merged report: %d %s", res.StatusCode, out)
		}
		res, _ = f.api(t, "GET", "/api/v1/audit/clients/nobody/access", aud, "")
		if res.StatusCode != 404 {
			t.Fatalf("unknown client: %d", res.StatusCode)
		}
		f.staff(t, "sec", access.Security, "I2")
		sess := f.login(t, "sec")
		res, out = f.ui(t, "GET", "/audit/clients/c1/access", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "Name of olle") || !strings.Contains(out, "Who has looked at this file") {
			t.Fatalf("UI report: %d %s", res.StatusCode, out)
		}
	})
}

func TestBreakGlassReview(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		f.staff(t, "olle", access.Officer, "I1")
		f.staff(t, "sec", access.Security, "I1")
		_, olle, err := f.acc.Login(context.Background(), "olle", pw, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		octx := web.WithPrincipal(context.Background(), olle)
		g1, err := f.acc.BreakGlass(octx, olle, "c2", "Medical emergency on the night shift")
		if err != nil {
			t.Fatal(err)
		}
		g2, err := f.acc.BreakGlass(octx, olle, "c1", "Transport papers needed at the gate")
		if err != nil {
			t.Fatal(err)
		}
		sec := f.token(t, access.Security, "*")
		res, out := f.api(t, "GET", "/api/v1/break-glass", sec, "")
		if res.StatusCode != 200 || !strings.Contains(out, g1.ID) || !strings.Contains(out, "Medical emergency on the night shift") || !strings.Contains(out, `"staff_name":"Name of olle"`) {
			t.Fatalf("list: %d %s", res.StatusCode, out)
		}
		if res, out = f.api(t, "GET", "/api/v1/break-glass?filter=bogus", sec, ""); res.StatusCode != 422 || !has(fieldsOf(t, out), "filter") {
			t.Fatalf("bad filter: %d %s", res.StatusCode, out)
		}
		review := "/api/v1/break-glass/" + g1.ID + "/review"
		for body, field := range map[string]string{`{"note":"x"}`: "justified", `{"justified":false}`: "note", `{"justified":"yes"}`: "justified"} {
			if res, out := f.api(t, "POST", review, sec, body); res.StatusCode != 422 || !has(fieldsOf(t, out), field) {
				t.Errorf("%s: %d %s", body, res.StatusCode, out)
			}
		}
		if res, out = f.api(t, "POST", review, sec, `{"justified":true,"note":"Confirmed with the duty doctor"}`); res.StatusCode != 204 {
			t.Fatalf("review: %d %s", res.StatusCode, out)
		}
		if res, _ = f.api(t, "POST", review, sec, `{"justified":true}`); res.StatusCode != 409 {
			t.Fatalf("review twice: %d", res.StatusCode)
		}
		res, out = f.api(t, "GET", "/api/v1/break-glass?filter=unreviewed", sec, "")
		if res.StatusCode != 200 || strings.Contains(out, g1.ID) || !strings.Contains(out, g2.ID) {
			t.Fatalf("unreviewed: %s", out)
		}
		res, out = f.api(t, "GET", "/api/v1/break-glass", sec, "")
		var all struct{ Items []access.Grant }
		json.Unmarshal([]byte(out), &all)
		if res.StatusCode != 200 || len(all.Items) != 2 || all.Items[0].ID != g2.ID || all.Items[1].ReviewOK == nil || !*all.Items[1].ReviewOK {
			t.Fatalf("unreviewed first, then the verdict: %s", out)
		}
		// The review is audited (by access), and so is seeing the list.
		if recs, _ := f.al.Search(context.Background(), audit.Filter{Action: "breakglass.review", ClientID: "c2"}); len(recs) != 1 {
			t.Fatalf("review not audited: %+v", recs)
		}
		if recs, _ := f.al.Search(context.Background(), audit.Filter{Action: "breakglass.list.read", ClientID: "c1"}); len(recs) == 0 {
			t.Fatal("seeing a grant was not logged as a read of the client")
		}

		// UI.
		sess := f.login(t, "sec")
		res, out = f.ui(t, "GET", "/break-glass", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "Transport papers needed at the gate") || !strings.Contains(out, "Confirmed with the duty doctor") {
			t.Fatalf("UI list: %d %s", res.StatusCode, out)
		}
		res, out = f.ui(t, "POST", "/break-glass/"+g2.ID+"/review", &sess, url.Values{"justified": {"no"}, "note": {""}, "filter": {"unreviewed"}})
		if res.StatusCode != 422 || !strings.Contains(out, "Write what was wrong") || !strings.Contains(out, `value="no" checked`) {
			t.Fatalf("UI bad review: %d %s", res.StatusCode, out)
		}
		res, out = f.ui(t, "POST", "/break-glass/"+g2.ID+"/review", &sess, url.Values{"note": {"typed note kept"}})
		if res.StatusCode != 422 || !strings.Contains(out, ">typed note kept</textarea>") {
			t.Fatalf("UI review without verdict: %d %s", res.StatusCode, out)
		}
		res, _ = f.ui(t, "POST", "/break-glass/"+g2.ID+"/review", &sess, url.Values{"justified": {"no"}, "note": {"Not needed; papers were at the gate"}, "filter": {"unreviewed"}})
		if res.StatusCode != 303 || res.Header.Get("Location") != "/break-glass?filter=unreviewed" {
			t.Fatalf("UI review: %d", res.StatusCode)
		}
		res, out = f.ui(t, "GET", "/break-glass?filter=unreviewed", &sess, nil)
		if res.StatusCode != 200 || strings.Contains(out, "Transport papers") {
			t.Fatal("a reviewed grant is still listed as unreviewed")
		}

		// Nobody reviews their own break-glass.
		_, sp, err := f.acc.Login(context.Background(), "sec", pw, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		own, err := f.acc.BreakGlass(web.WithPrincipal(context.Background(), sp), sp, "c2", "Checking an alert on a transfer")
		if err != nil {
			t.Fatal(err)
		}
		res, out = f.ui(t, "POST", "/break-glass/"+own.ID+"/review", &sess, url.Values{"justified": {"yes"}})
		if res.StatusCode != 403 || !strings.Contains(out, "You cannot review your own break-glass access.") {
			t.Fatalf("own review: %d %s", res.StatusCode, out)
		}
	})
}

// TestEveryRouteRefuses checks, for every route of the package, that
// every role without its permission gets 403 and an anonymous caller 401
// (API) or the sign-in page (UI).
func TestEveryRouteRefuses(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t))
	want := map[string]access.Permission{
		"/admin/users": access.UsersAdmin, "/api/v1/staff": access.UsersAdmin,
		"/admin/tokens": access.TokensAdmin, "/api/v1/tokens": access.TokensAdmin,
		"/audit": access.AuditRead, "/api/v1/audit": access.AuditRead,
		"/break-glass": access.BreakGlassReview, "/api/v1/break-glass": access.BreakGlassReview,
	}
	tokens := map[access.Role]string{}
	sessions := map[access.Role]access.Session{}
	for _, role := range access.Roles {
		tokens[role] = f.token(t, role, "*")
		f.staff(t, "u-"+strings.ReplaceAll(string(role), "_", "-"), role, "*")
		sessions[role] = f.login(t, "u-"+strings.ReplaceAll(string(role), "_", "-"))
	}
	n := 0
	for _, rt := range f.s.Routes() {
		var perm access.Permission
		for prefix, p := range want {
			if rt.Pattern == prefix || strings.HasPrefix(rt.Pattern, prefix+"/") {
				perm = p
			}
		}
		if perm == "" {
			continue // a platform route
		}
		n++
		if rt.Perm != perm || rt.Scope != web.ScopeStaff {
			t.Errorf("%s %s declares %s/%s, want %s/staff", rt.Method, rt.Pattern, rt.Perm, rt.Scope, perm)
		}
		path := strings.NewReplacer("{username}", "nobody", "{id}", "x").Replace(rt.Pattern)
		name := rt.Method + " " + path
		if rt.API {
			if res, _ := f.api(t, rt.Method, path, "", ""); res.StatusCode != 401 {
				t.Errorf("%s anonymous: %d", name, res.StatusCode)
			}
		} else {
			res, _ := f.ui(t, rt.Method, path, nil, nil)
			if res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Errorf("%s anonymous: %d %s", name, res.StatusCode, res.Header.Get("Location"))
			}
			// A token cannot use a browser route even with the permission.
			if res, _ := f.api(t, rt.Method, path, tokens[access.Administrator], ""); res.StatusCode != 403 {
				t.Errorf("%s with a token: %d", name, res.StatusCode)
			}
		}
		for _, role := range access.Roles {
			if role.Allows(perm) {
				continue
			}
			var res *http.Response
			if rt.API {
				res, _ = f.api(t, rt.Method, path, tokens[role], "")
			} else {
				sess := sessions[role]
				res, _ = f.ui(t, rt.Method, path, &sess, nil)
			}
			if res.StatusCode != 403 {
				t.Errorf("%s as %s: %d, want 403", name, role, res.StatusCode)
			}
		}
	}
	if n != 29 {
		t.Errorf("checked %d routes, want 29", n)
	}
}

func TestStaffEditAPI(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		adm := f.token(t, access.Administrator, "*")
		f.staff(t, "root", access.Administrator, "*")
		f.staff(t, "anna", access.Officer, "I1")

		// The last enabled administrator account cannot be disabled, even
		// through a token; with a second administrator it can.
		res, out := f.api(t, "PATCH", "/api/v1/staff/root", adm, `{"version":1,"disabled":true}`)
		if res.StatusCode != 403 || !strings.Contains(out, "last enabled administrator") {
			t.Fatalf("last administrator: %d %s", res.StatusCode, out)
		}
		f.staff(t, "root2", access.Administrator, "*")

		// Only users.admin may change accounts.
		for _, role := range access.Roles {
			if role.Allows(access.UsersAdmin) {
				continue
			}
			if res, out := f.api(t, "PATCH", "/api/v1/staff/anna", f.token(t, role, "*"), `{"version":1,"role":"administrator"}`); res.StatusCode != 403 {
				t.Fatalf("as %s: %d %s", role, res.StatusCode, out)
			}
		}
		res, out = f.api(t, "PATCH", "/api/v1/staff/anna", adm, `{"role":"security"}`)
		if res.StatusCode != 422 || !has(fieldsOf(t, out), "version") {
			t.Fatalf("no version: %d %s", res.StatusCode, out)
		}
		res, out = f.api(t, "PATCH", "/api/v1/staff/anna", adm, `{"version":1,"role":"warden","caseload":["X9"],"lang":"fr","display_name":""}`)
		if fs := fieldsOf(t, out); res.StatusCode != 422 || !has(fs, "role") || !has(fs, "caseload") || !has(fs, "lang") || !has(fs, "display_name") {
			t.Fatalf("invalid: %d %s", res.StatusCode, out)
		}
		res, out = f.api(t, "PATCH", "/api/v1/staff/anna", adm, `{"version":1,"superuser":true}`)
		if res.StatusCode != 422 {
			t.Fatalf("unknown field: %d %s", res.StatusCode, out)
		}
		if res, _ := f.api(t, "PATCH", "/api/v1/staff/nobody", adm, `{"version":1,"role":"security"}`); res.StatusCode != 404 {
			t.Fatalf("unknown account: %d", res.StatusCode)
		}

		res, out = f.api(t, "PATCH", "/api/v1/staff/anna", adm, `{"version":1,"role":"security","caseload":["I1","U1"],"lang":"sv"}`)
		var st admin.StaffView
		json.Unmarshal([]byte(out), &st)
		if res.StatusCode != 200 || st.Version != 2 || st.Role != access.Security || len(st.Caseload) != 2 || st.Lang != "sv" || st.DisplayName != "Name of anna" {
			t.Fatalf("patch: %d %s", res.StatusCode, out)
		}
		// A stale version is a conflict that names the current version.
		res, out = f.api(t, "PATCH", "/api/v1/staff/anna", adm, `{"version":1,"display_name":"Lost update"}`)
		var p map[string]any
		json.Unmarshal([]byte(out), &p)
		if res.StatusCode != 409 || p["current_version"] != float64(2) || !strings.Contains(out, "Someone else changed this account") {
			t.Fatalf("stale: %d %s", res.StatusCode, out)
		}

		// Disabling ends the person's sessions and stops sign-in.
		sess := f.login(t, "root")
		anna := f.login(t, "anna")
		if _, err := f.acc.SessionPrincipal(context.Background(), anna.Token, ""); err != nil {
			t.Fatal(err)
		}
		res, out = f.api(t, "PATCH", "/api/v1/staff/root", adm, `{"version":1,"disabled":true}`)
		if res.StatusCode != 200 || !strings.Contains(out, `"disabled":true`) {
			t.Fatalf("disable: %d %s", res.StatusCode, out)
		}
		if res, _ := f.ui(t, "GET", "/admin/users", &sess, nil); res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Fatalf("a disabled administrator's session still works: %d", res.StatusCode)
		}
		if _, _, err := f.acc.Login(context.Background(), "root", pw, "127.0.0.1"); err == nil {
			t.Fatal("a disabled account signs in")
		}
		if p, _ := f.acc.SessionPrincipal(context.Background(), anna.Token, ""); p == nil {
			t.Fatal("disabling one account ended another's session")
		}
		res, out = f.api(t, "PATCH", "/api/v1/staff/root", adm, `{"version":2,"disabled":false}`)
		if res.StatusCode != 200 || !strings.Contains(out, `"disabled":false`) {
			t.Fatalf("enable: %d %s", res.StatusCode, out)
		}
		sess = f.login(t, "root")

		// Signed in, an administrator cannot disable or demote themselves,
		// and is told why.
		req := func(body string) (*http.Response, string) {
			return f.api(t, "PATCH", "/api/v1/staff/root", "", body, "Cookie", "custodia_session="+sess.Token, "X-CSRF-Token", sess.CSRF)
		}
		res, out = req(`{"version":3,"disabled":true}`)
		if res.StatusCode != 403 || !strings.Contains(out, "another administrator") || !has(fieldsOf(t, out), "disabled") {
			t.Fatalf("self-disable: %d %s", res.StatusCode, out)
		}
		res, out = req(`{"version":3,"role":"security"}`)
		if res.StatusCode != 403 || !has(fieldsOf(t, out), "role") {
			t.Fatalf("self-demotion: %d %s", res.StatusCode, out)
		}
		res, out = req(`{"version":3,"display_name":"Root Admin"}`)
		if res.StatusCode != 200 || !strings.Contains(out, `"display_name":"Root Admin"`) {
			t.Fatalf("own name: %d %s", res.StatusCode, out)
		}

		var updates, disables, enables int
		recs, _ := f.al.Search(context.Background(), audit.Filter{Action: "staff."})
		for _, r := range recs {
			switch r.Action {
			case "staff.update":
				updates++
			case "staff.disable":
				disables++
			case "staff.enable":
				enables++
			}
		}
		if updates != 4 || disables != 1 || enables != 1 {
			t.Fatalf("audit: %d updates, %d disables, %d enables", updates, disables, enables)
		}
	})
}

func TestStaffEditUI(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		f.staff(t, "root", access.Administrator, "*")
		f.staff(t, "anna", access.Officer, "I1")
		sess := f.login(t, "root")
		res, out := f.ui(t, "GET", "/admin/users", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, `href="/admin/users/anna/edit"`) {
			t.Fatalf("list links no edit page: %d", res.StatusCode)
		}
		res, out = f.ui(t, "GET", "/admin/users/anna/edit", &sess, nil)
		for _, want := range []string{`name="version" value="1"`, `value="Name of anna"`, `value="officer" selected`, `value="I1"`, `name="enabled" value="1" checked`} {
			if !strings.Contains(out, want) {
				t.Errorf("edit form lacks %q", want)
			}
		}
		if res.StatusCode != 200 {
			t.Fatalf("edit form: %d", res.StatusCode)
		}
		if res, _ := f.ui(t, "GET", "/admin/users/nobody/edit", &sess, nil); res.StatusCode != 404 {
			t.Fatalf("edit form of nobody: %d", res.StatusCode)
		}

		// 422 keeps what was typed.
		bad := url.Values{"version": {"1"}, "display_name": {"Anna Berg"}, "role": {"warden"}, "caseload": {"I1, X9"}, "lang": {"sv"}, "enabled": {"1"}}
		res, out = f.ui(t, "POST", "/admin/users/anna/edit", &sess, bad)
		if res.StatusCode != 422 {
			t.Fatalf("bad form: %d %s", res.StatusCode, out)
		}
		for _, want := range []string{`value="Anna Berg"`, `value="I1, X9"`, `value="sv" selected`, "No location has this id: X9", "Choose one of the roles.", `id="e-role"`} {
			if !strings.Contains(out, want) {
				t.Errorf("re-rendered form lacks %q", want)
			}
		}

		// Save: name, role, caseload, language, and disable (untick).
		good := url.Values{"version": {"1"}, "display_name": {"Anna Berg"}, "role": {"case_worker"}, "caseload": {"I1, U1"}, "lang": {"sv"}}
		annaSess := f.login(t, "anna")
		res, _ = f.ui(t, "POST", "/admin/users/anna/edit", &sess, good)
		if res.StatusCode != 303 || res.Header.Get("Location") != "/admin/users" {
			t.Fatalf("save: %d", res.StatusCode)
		}
		st, err := f.acc.GetStaff(context.Background(), "anna")
		if err != nil || st.DisplayName != "Anna Berg" || st.Role != access.CaseWorker || strings.Join(st.Caseload, ",") != "I1,U1" || st.Lang != "sv" || !st.Disabled || st.Version != 2 {
			t.Fatalf("saved %+v %v", st, err)
		}
		if p, _ := f.acc.SessionPrincipal(context.Background(), annaSess.Token, ""); p != nil {
			t.Fatal("a disabled account's session still works")
		}
		if _, _, err := f.acc.Login(context.Background(), "anna", pw, ""); err == nil {
			t.Fatal("a disabled account signs in")
		}
		_, out = f.ui(t, "GET", "/admin/users", &sess, nil)
		if !strings.Contains(out, "Disabled") {
			t.Fatal("the list does not show the account disabled")
		}

		// The same form sent again is stale: 409, a plain message, the
		// typed values kept, and nothing saved.
		good.Set("display_name", "Anna B. Berg")
		res, out = f.ui(t, "POST", "/admin/users/anna/edit", &sess, good)
		if res.StatusCode != 409 || !strings.Contains(out, "Someone else changed this account") || !strings.Contains(out, `value="Anna B. Berg"`) || !strings.Contains(out, "Reload the form") {
			t.Fatalf("stale: %d %s", res.StatusCode, out)
		}
		res, out = f.ui(t, "POST", "/admin/users/anna/edit", &sess, good, "Accept-Language", "sv")
		if res.StatusCode != 409 || !strings.Contains(out, "Någon annan ändrade kontot") {
			t.Fatalf("stale in Swedish: %d", res.StatusCode)
		}
		if st, _ := f.acc.GetStaff(context.Background(), "anna"); st.DisplayName != "Anna Berg" {
			t.Fatal("a stale form was saved")
		}
		// Enable again.
		good.Set("version", "2")
		good.Set("enabled", "1")
		if res, _ := f.ui(t, "POST", "/admin/users/anna/edit", &sess, good); res.StatusCode != 303 {
			t.Fatalf("enable: %d", res.StatusCode)
		}
		if _, _, err := f.acc.Login(context.Background(), "anna", pw, ""); err != nil {
			t.Fatalf("an enabled account cannot sign in: %v", err)
		}

		// One's own account: a note, and no disabling or self-demotion.
		res, out = f.ui(t, "GET", "/admin/users/root/edit", &sess, nil)
		if res.StatusCode != 200 || !strings.Contains(out, "This is your own account") {
			t.Fatal("no note on one's own account")
		}
		self := url.Values{"version": {"1"}, "display_name": {"Root"}, "role": {"administrator"}, "caseload": {"*"}}
		res, out = f.ui(t, "POST", "/admin/users/root/edit", &sess, self)
		if res.StatusCode != 403 || !strings.Contains(out, "You cannot disable your own account") || !strings.Contains(out, `id="e-disabled"`) {
			t.Fatalf("self-disable: %d %s", res.StatusCode, out)
		}
		self.Set("enabled", "1")
		self.Set("role", "security")
		res, out = f.ui(t, "POST", "/admin/users/root/edit", &sess, self)
		if res.StatusCode != 403 || !strings.Contains(out, "You cannot remove your own administrator role") || !strings.Contains(out, `value="security" selected`) {
			t.Fatalf("self-demotion: %d %s", res.StatusCode, out)
		}
		if p, _ := f.acc.SessionPrincipal(context.Background(), sess.Token, ""); p == nil || p.Role != access.Administrator {
			t.Fatal("the administrator lost their session or role")
		}

		// A role without users.admin is refused the form and the save.
		f.staff(t, "olle", access.Security, "*")
		olle := f.login(t, "olle")
		if res, _ := f.ui(t, "GET", "/admin/users/anna/edit", &olle, nil); res.StatusCode != 403 {
			t.Fatalf("security opens the form: %d", res.StatusCode)
		}
		if res, _ := f.ui(t, "POST", "/admin/users/anna/edit", &olle, url.Values{"version": {"3"}, "display_name": {"X"}, "role": {"administrator"}, "enabled": {"1"}}); res.StatusCode != 403 {
			t.Fatalf("security saves: %d", res.StatusCode)
		}
	})
}
