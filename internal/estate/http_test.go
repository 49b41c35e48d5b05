// SPDX-License-Identifier: AGPL-3.0-or-later

package estate_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

type server struct {
	*world
	d   *db.DB
	acc *access.Service
	web *web.Server
	srv *httptest.Server
	// a second institution outside the test caseloads
	other     *estate.Location
	otherUnit *estate.Location
	otherCell *estate.Cell
}

func newServer(t *testing.T, d *db.DB) *server {
	t.Helper()
	w := newWorld(t, d)
	acc := &access.Service{DB: d}
	al := audit.NewLog(d)
	t.Cleanup(al.Close)
	s := web.NewServer(d, acc, al, nil)
	s.RegisterBase()
	s.Lineage = w.svc.Lineage
	(&estate.Handlers{Web: s, Estate: w.svc}).Register()
	f := &server{world: w, d: d, acc: acc, web: s}
	f.other = mustLoc(t, w.svc, estate.NewLocation{Kind: estate.Institution, Code: "HAL", Name: "Anstalten Hall", Category: "closed", SecurityLevel: 1})
	f.otherUnit = mustLoc(t, w.svc, estate.NewLocation{Kind: estate.Unit, ParentID: f.other.ID, Code: "HAL-A", Name: "Hall A", SecurityLevel: 1})
	f.otherCell = mustCell(t, w.svc, f.otherUnit.ID, "1", 1)
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *server) token(t *testing.T, role access.Role, caseload ...string) string {
	t.Helper()
	tok, err := f.acc.IssueToken(audit.WithActor(context.Background(), audit.System), "test "+string(role), role, caseload, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret
}

type session struct{ cookie, csrf string }

func (f *server) login(t *testing.T, user string, role access.Role, caseload ...string) session {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.System)
	if _, err := f.acc.CreateStaff(ctx, access.NewStaff{Username: user, DisplayName: "Staff " + user, Role: role, Caseload: caseload, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	sess, _, err := f.acc.Login(context.Background(), user, "correct horse battery", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return session{sess.Token, sess.CSRF}
}

func (f *server) api(t *testing.T, method, path, bearer, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
	}
	return res, out
}

func (f *server) page(t *testing.T, s session, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf", s.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(&http.Cookie{Name: "custodia_session", Value: s.cookie})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func fieldOf(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		m, _ := e.(map[string]any)
		out = append(out, m["field"].(string))
	}
	return out
}

func wantProblem(t *testing.T, res *http.Response, p map[string]any, status int, field string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d: %v", res.StatusCode, status, p)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want problem+json", ct)
	}
	if field != "" {
		for _, f := range fieldOf(p) {
			if f == field {
				return
			}
		}
		t.Fatalf("problem does not name field %q: %v", field, p)
	}
}

func TestAPICreateListPatch(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newServer(t, d)
		admin := f.token(t, access.Administrator, access.Everywhere)

		res, inst := f.api(t, "POST", "/api/v1/locations", admin, `{"kind":"institution","code":"SKO","name":"Anstalten Skogome","category":"open","security_level":3}`)
		if res.StatusCode != 201 || res.Header.Get("Location") != "/api/v1/locations/"+inst["id"].(string) {
			t.Fatalf("create institution: %d %v", res.StatusCode, inst)
		}
		instID := inst["id"].(string)
		res, unit := f.api(t, "POST", "/api/v1/locations", admin, `{"kind":"unit","parent_id":"`+instID+`","code":"SKO-1","name":"Hus 1","security_level":3}`)
		if res.StatusCode != 201 {
			t.Fatalf("create unit: %d %v", res.StatusCode, unit)
		}
		unitID := unit["id"].(string)
		res, p := f.api(t, "POST", "/api/v1/locations", admin, `{"kind":"unit","parent_id":"`+instID+`","code":"SKO-1","name":"Hus 1 igen","security_level":3}`)
		wantProblem(t, res, p, 409, "code")
		res, p = f.api(t, "POST", "/api/v1/locations", admin, `{"kind":"unit","parent_id":"`+instID+`","code":"","name":"x","security_level":7}`)
		wantProblem(t, res, p, 422, "security_level")
		if !strings.Contains(strings.Join(fieldOf(p), ","), "code") {
			t.Fatalf("every bad field should be named: %v", p)
		}

		res, cell := f.api(t, "POST", "/api/v1/cells", admin, `{"unit_id":"`+unitID+`","label":"12","capacity":4,"security_level":3,"accessible":true}`)
		if res.StatusCode != 201 || cell["version"].(float64) != 1 || cell["accessible"] != true {
			t.Fatalf("create cell: %d %v", res.StatusCode, cell)
		}
		cellID := cell["id"].(string)
		res, p = f.api(t, "POST", "/api/v1/cells", admin, `{"unit_id":"`+unitID+`","label":"13","capacity":"four","security_level":3}`)
		wantProblem(t, res, p, 422, "capacity")
		res, p = f.api(t, "POST", "/api/v1/cells", admin, `{"unit_id":"`+unitID+`","label":"13","capacity":1,"security_level":3,"beds":2}`)
		wantProblem(t, res, p, 422, "beds")
		res, p = f.api(t, "POST", "/api/v1/cells", admin, `{"unit_id":"nowhere","label":"13","capacity":1,"security_level":3}`)
		wantProblem(t, res, p, 422, "unit_id")

		// The list shows the tree with counts.
		res, list := f.api(t, "GET", "/api/v1/locations", admin, "")
		if res.StatusCode != 200 {
			t.Fatal(res.StatusCode)
		}
		var found bool
		for _, l := range list["locations"].([]any) {
			m := l.(map[string]any)
			if m["id"] == instID {
				found = true
				if m["capacity"].(float64) != 4 || m["available_beds"].(float64) != 4 || len(m["units"].([]any)) != 1 {
					t.Fatalf("institution counts: %v", m)
				}
			}
		}
		if !found {
			t.Fatal("new institution not listed")
		}
		res, cells := f.api(t, "GET", "/api/v1/locations/"+instID+"/cells", admin, "")
		if res.StatusCode != 200 || len(cells["cells"].([]any)) != 1 {
			t.Fatalf("cells: %d %v", res.StatusCode, cells)
		}

		// PATCH keeps absent fields, bumps the version, refuses a stale one.
		res, patched := f.api(t, "PATCH", "/api/v1/cells/"+cellID, admin, `{"version":1,"capacity":6}`)
		if res.StatusCode != 200 || patched["capacity"].(float64) != 6 || patched["label"] != "12" || patched["accessible"] != true || patched["version"].(float64) != 2 {
			t.Fatalf("patch cell: %d %v", res.StatusCode, patched)
		}
		res, p = f.api(t, "PATCH", "/api/v1/cells/"+cellID, admin, `{"version":1,"capacity":2}`)
		wantProblem(t, res, p, 409, "")
		if p["current_version"].(float64) != 2 || !strings.Contains(p["detail"].(string), "reload") {
			t.Fatalf("stale patch should say so and give the current version: %v", p)
		}
		res, p = f.api(t, "PATCH", "/api/v1/cells/"+cellID, admin, `{"capacity":2}`)
		wantProblem(t, res, p, 422, "version")
		res, p = f.api(t, "PATCH", "/api/v1/locations/"+unitID, admin, `{"version":1,"name":"Hus Ett"}`)
		if res.StatusCode != 200 || p["name"] != "Hus Ett" || p["code"] != "SKO-1" || p["security_level"].(float64) != 3 {
			t.Fatalf("patch location: %d %v", res.StatusCode, p)
		}
		res, p = f.api(t, "PATCH", "/api/v1/locations/"+unitID, admin, `{"version":1,"name":"Lost update"}`)
		wantProblem(t, res, p, 409, "")
		res, p = f.api(t, "GET", "/api/v1/locations/"+unitID, admin, "")
		if res.StatusCode != 200 || p["name"] != "Hus Ett" {
			t.Fatalf("stale patch changed the unit: %v", p)
		}

		// Closures.
		res, p = f.api(t, "POST", "/api/v1/cells/"+cellID+"/closures", admin, `{"reason":"  "}`)
		wantProblem(t, res, p, 422, "reason")
		res, p = f.api(t, "POST", "/api/v1/cells/"+cellID+"/closures", admin, `{"from":"yesterday","reason":"x"}`)
		wantProblem(t, res, p, 422, "from")
		res, cl := f.api(t, "POST", "/api/v1/cells/"+cellID+"/closures", admin, `{"reason":"Fire damage"}`)
		if res.StatusCode != 201 {
			t.Fatalf("close: %d %v", res.StatusCode, cl)
		}
		_, loc := f.api(t, "GET", "/api/v1/locations/"+unitID, admin, "")
		if loc["out_of_use_beds"].(float64) != 6 || loc["available_beds"].(float64) != 0 {
			t.Fatalf("closed cell should take its beds out of use: %v", loc)
		}
		res, c := f.api(t, "POST", "/api/v1/closures/"+cl["id"].(string)+"/end", admin, "")
		if res.StatusCode != 200 || c["out_of_use"] != nil {
			t.Fatalf("end closure: %d %v", res.StatusCode, c)
		}
		res, p = f.api(t, "POST", "/api/v1/closures/"+cl["id"].(string)+"/end", admin, "")
		wantProblem(t, res, p, 404, "")
	})
}

func TestAPIRoleAndCaseload(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newServer(t, d)
		officer := f.token(t, access.Officer, f.inst.ID)
		manager := f.token(t, access.UnitManager, f.inst.ID)

		// Officers read the estate but may not change it.
		res, p := f.api(t, "GET", "/api/v1/locations/"+f.a.ID, officer, "")
		if res.StatusCode != 200 {
			t.Fatalf("officer read: %d %v", res.StatusCode, p)
		}
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/api/v1/locations", `{"kind":"unit","parent_id":"` + f.inst.ID + `","code":"KUM-Z","name":"Z","security_level":1}`},
			{"PATCH", "/api/v1/locations/" + f.a.ID, `{"version":1,"name":"Mine"}`},
			{"POST", "/api/v1/cells", `{"unit_id":"` + f.a.ID + `","label":"999","capacity":1,"security_level":1}`},
			{"PATCH", "/api/v1/cells/" + f.a1.ID, `{"version":1,"capacity":3}`},
			{"POST", "/api/v1/cells/" + f.a1.ID + "/closures", `{"reason":"x"}`},
		} {
			res, p := f.api(t, c.method, c.path, officer, c.body)
			wantProblem(t, res, p, 403, "")
		}

		// A unit manager of Kumla: Hall is outside the caseload.
		res, p = f.api(t, "GET", "/api/v1/locations/"+f.other.ID, manager, "")
		wantProblem(t, res, p, 403, "")
		res, p = f.api(t, "GET", "/api/v1/locations/"+f.otherUnit.ID+"/cells", manager, "")
		wantProblem(t, res, p, 403, "")
		res, p = f.api(t, "PATCH", "/api/v1/locations/"+f.otherUnit.ID, manager, `{"version":1,"name":"Taken"}`)
		wantProblem(t, res, p, 403, "")
		res, p = f.api(t, "POST", "/api/v1/cells", manager, `{"unit_id":"`+f.otherUnit.ID+`","label":"2","capacity":1,"security_level":1}`)
		wantProblem(t, res, p, 403, "")
		res, p = f.api(t, "PATCH", "/api/v1/cells/"+f.otherCell.ID, manager, `{"version":1,"capacity":2}`)
		wantProblem(t, res, p, 403, "")
		res, p = f.api(t, "POST", "/api/v1/cells/"+f.otherCell.ID+"/closures", manager, `{"reason":"x"}`)
		wantProblem(t, res, p, 403, "")
		res, p = f.api(t, "POST", "/api/v1/locations", manager, `{"kind":"unit","parent_id":"`+f.other.ID+`","code":"HAL-Z","name":"Z","security_level":1}`)
		wantProblem(t, res, p, 403, "")
		res, p = f.api(t, "POST", "/api/v1/locations", manager, `{"kind":"institution","code":"NEW","name":"New","category":"open","security_level":3}`)
		wantProblem(t, res, p, 403, "")
		// A closure in Hall cannot be ended from Kumla.
		admin := f.token(t, access.Administrator, access.Everywhere)
		_, cl := f.api(t, "POST", "/api/v1/cells/"+f.otherCell.ID+"/closures", admin, `{"reason":"Mould"}`)
		res, p = f.api(t, "POST", "/api/v1/closures/"+cl["id"].(string)+"/end", manager, "")
		wantProblem(t, res, p, 403, "")
		if c, _ := f.svc.Cell(actor(), f.otherCell.ID); c.OutOfUse == nil {
			t.Fatal("a refused request ended the closure")
		}
		if c, _ := f.svc.Cell(actor(), f.otherCell.ID); c.Capacity != 1 {
			t.Fatal("a refused request changed the cell")
		}

		// Inside the caseload the manager may change things.
		res, p = f.api(t, "PATCH", "/api/v1/cells/"+f.a1.ID, manager, `{"version":1,"capacity":3}`)
		if res.StatusCode != 200 {
			t.Fatalf("manager in caseload: %d %v", res.StatusCode, p)
		}
		// The list shows only the caseload.
		_, list := f.api(t, "GET", "/api/v1/locations", manager, "")
		ls := list["locations"].([]any)
		if len(ls) != 1 || ls[0].(map[string]any)["id"] != f.inst.ID {
			t.Fatalf("list beyond caseload: %v", list)
		}
		// A caseload of one unit sees that unit of its institution only,
		// with the institution's counts summed over it.
		unitOnly := f.token(t, access.Officer, f.b.ID)
		_, list = f.api(t, "GET", "/api/v1/locations", unitOnly, "")
		ls = list["locations"].([]any)
		if len(ls) != 1 {
			t.Fatalf("unit caseload list: %v", list)
		}
		m := ls[0].(map[string]any)
		if us := m["units"].([]any); len(us) != 1 || us[0].(map[string]any)["id"] != f.b.ID || m["capacity"].(float64) != 4 {
			t.Fatalf("unit caseload should see unit B only: %v", m)
		}
	})
}

func TestUIFormsAndAccess(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newServer(t, d)
		mgr := f.login(t, "mgr", access.UnitManager, f.inst.ID)
		off := f.login(t, "off", access.Officer, f.inst.ID)

		res, body := f.page(t, mgr, "GET", "/estate", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Anstalten Kumla") || strings.Contains(body, "Anstalten Hall") {
			t.Fatalf("estate page: %d", res.StatusCode)
		}
		res, body = f.page(t, mgr, "GET", "/estate/"+f.a.ID, nil)
		if res.StatusCode != 200 || !strings.Contains(body, `id="cell-`+f.a1.ID+`"`) || !strings.Contains(body, "/estate/cells/"+f.a1.ID+"/close") {
			t.Fatalf("unit page: %d", res.StatusCode)
		}
		res, _ = f.page(t, mgr, "GET", "/estate/"+f.other.ID, nil)
		if res.StatusCode != 403 {
			t.Fatalf("institution outside caseload: %d", res.StatusCode)
		}
		res, _ = f.page(t, mgr, "GET", "/estate/cells/"+f.otherCell.ID+"/edit", nil)
		if res.StatusCode != 403 {
			t.Fatalf("cell outside caseload: %d", res.StatusCode)
		}

		// A bad form keeps what was typed and says what is wrong where.
		res, body = f.page(t, mgr, "POST", "/estate/"+f.a.ID+"/cells", url.Values{"label": {"Z9"}, "capacity": {"many"}, "security_level": {"2"}, "note": {"By the stairs"}})
		if res.StatusCode != 422 {
			t.Fatalf("bad cell form: %d", res.StatusCode)
		}
		for _, want := range []string{`value="Z9"`, `By the stairs</textarea>`, `id="e-capacity"`, "Enter a whole number."} {
			if !strings.Contains(body, want) {
				t.Errorf("422 page lacks %q", want)
			}
		}
		if cells, _ := f.svc.Cells(actor(), f.a.ID); len(cells) != 3 {
			t.Fatalf("a refused form created a cell: %d cells", len(cells))
		}
		res, body = f.page(t, mgr, "POST", "/estate/"+f.a.ID+"/cells", url.Values{"label": {"101"}, "capacity": {"1"}, "security_level": {"2"}})
		if res.StatusCode != 409 || !strings.Contains(body, "This label is taken") || !strings.Contains(body, `value="101"`) {
			t.Fatalf("duplicate label: %d", res.StatusCode)
		}
		res, _ = f.page(t, mgr, "POST", "/estate/"+f.a.ID+"/cells", url.Values{"label": {"104"}, "capacity": {"2"}, "security_level": {"2"}, "accessible": {"on"}})
		if res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/estate/"+f.a.ID) {
			t.Fatalf("create cell: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		cells, _ := f.svc.Cells(actor(), f.a.ID)
		var c104 *estate.Cell
		for i := range cells {
			if cells[i].Label == "104" {
				c104 = &cells[i]
			}
		}
		if c104 == nil || c104.Capacity != 2 || !c104.Accessible || c104.Gender != "any" {
			t.Fatalf("created cell: %+v", c104)
		}

		// Editing with a stale version: 409 and a message that says what
		// happened, the typed values kept.
		form := url.Values{"label": {"104b"}, "capacity": {"3"}, "security_level": {"2"}, "gender": {"any"}, "version": {"1"}}
		res, _ = f.page(t, mgr, "POST", "/estate/cells/"+c104.ID+"/edit", form)
		if res.StatusCode != 303 {
			t.Fatalf("edit cell: %d", res.StatusCode)
		}
		form = url.Values{"label": {"104c"}, "capacity": {"4"}, "security_level": {"2"}, "gender": {"any"}, "version": {"1"}}
		res, body = f.page(t, mgr, "POST", "/estate/cells/"+c104.ID+"/edit", form)
		if res.StatusCode != 409 || !strings.Contains(body, "Someone else changed this") || !strings.Contains(body, `value="104c"`) {
			t.Fatalf("stale edit: %d", res.StatusCode)
		}
		if c, _ := f.svc.Cell(actor(), c104.ID); c.Label != "104b" || c.Capacity != 3 {
			t.Fatalf("stale edit changed the cell: %+v", c)
		}

		// Out of use with a reason, then back in use.
		res, body = f.page(t, mgr, "POST", "/estate/cells/"+c104.ID+"/close", url.Values{"from": {""}, "reason": {""}})
		if res.StatusCode != 422 || !strings.Contains(body, `id="e-reason"`) {
			t.Fatalf("closure without reason: %d", res.StatusCode)
		}
		res, _ = f.page(t, mgr, "POST", "/estate/cells/"+c104.ID+"/close", url.Values{"from": {"2020-01-01"}, "reason": {"Renovation"}})
		if res.StatusCode != 303 {
			t.Fatalf("close: %d", res.StatusCode)
		}
		c, _ := f.svc.Cell(actor(), c104.ID)
		if c.OutOfUse == nil || c.OutOfUse.Reason != "Renovation" {
			t.Fatalf("cell not closed: %+v", c)
		}
		// Another cell's page cannot end this cell's closure.
		other := cells[0].ID
		if other == c104.ID {
			other = cells[1].ID
		}
		res, _ = f.page(t, mgr, "POST", "/estate/cells/"+other+"/reopen", url.Values{"closure_id": {c.OutOfUse.ID}})
		if res.StatusCode != 404 {
			t.Fatalf("reopen through another cell: %d", res.StatusCode)
		}
		if c, _ := f.svc.Cell(actor(), c104.ID); c.OutOfUse == nil {
			t.Fatal("reopen through another cell ended the closure")
		}
		res, _ = f.page(t, mgr, "POST", "/estate/cells/"+c104.ID+"/reopen", url.Values{"closure_id": {c.OutOfUse.ID}})
		if res.StatusCode != 303 {
			t.Fatalf("reopen: %d", res.StatusCode)
		}
		if c, _ := f.svc.Cell(actor(), c104.ID); c.OutOfUse != nil {
			t.Fatal("cell still closed")
		}

		// Location forms.
		res, body = f.page(t, mgr, "POST", "/estate", url.Values{"kind": {"unit"}, "parent_id": {f.inst.ID}, "code": {"KUM-C"}, "name": {""}, "security_level": {"9"}})
		if res.StatusCode != 422 || !strings.Contains(body, `value="KUM-C"`) || !strings.Contains(body, `id="e-name"`) || !strings.Contains(body, `id="e-security_level"`) {
			t.Fatalf("bad unit form: %d", res.StatusCode)
		}
		res, _ = f.page(t, mgr, "POST", "/estate", url.Values{"kind": {"unit"}, "parent_id": {f.inst.ID}, "code": {"KUM-C"}, "name": {"Avdelning C"}, "security_level": {"2"}})
		if res.StatusCode != 303 {
			t.Fatalf("create unit: %d", res.StatusCode)
		}
		res, _ = f.page(t, mgr, "POST", "/estate", url.Values{"kind": {"institution"}, "code": {"NEW"}, "name": {"New"}, "category": {"open"}, "security_level": {"3"}})
		if res.StatusCode != 403 {
			t.Fatalf("manager with a local caseload created an institution: %d", res.StatusCode)
		}
		res, body = f.page(t, mgr, "POST", "/estate/"+f.a.ID+"/edit", url.Values{"name": {"A-huset"}, "security_level": {"1"}, "gender": {"male"}, "version": {"7"}})
		if res.StatusCode != 409 || !strings.Contains(body, `value="A-huset"`) {
			t.Fatalf("stale location edit: %d", res.StatusCode)
		}

		// An officer (no EstateWrite) sees the estate but gets 403 on forms.
		res, _ = f.page(t, off, "GET", "/estate/"+f.a.ID, nil)
		if res.StatusCode != 200 {
			t.Fatalf("officer view: %d", res.StatusCode)
		}
		for _, c := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", "/estate/new?kind=unit", nil},
			{"POST", "/estate", url.Values{"kind": {"unit"}, "parent_id": {f.inst.ID}, "code": {"KUM-D"}, "name": {"D"}, "security_level": {"2"}}},
			{"GET", "/estate/cells/" + f.a1.ID + "/edit", nil},
			{"POST", "/estate/cells/" + f.a1.ID + "/edit", url.Values{"label": {"x"}, "capacity": {"2"}, "security_level": {"2"}, "version": {"1"}}},
			{"POST", "/estate/cells/" + f.a1.ID + "/close", url.Values{"reason": {"x"}}},
			{"POST", "/estate/" + f.a.ID + "/cells", url.Values{"label": {"x"}, "capacity": {"2"}, "security_level": {"2"}}},
		} {
			res, _ := f.page(t, off, c.method, c.path, c.form)
			if res.StatusCode != 403 {
				t.Errorf("officer %s %s: %d, want 403", c.method, c.path, res.StatusCode)
			}
		}
	})
}

func TestEveryRouteHasSummary(t *testing.T) {
	d := dbtest.SQLite(t)
	s := web.NewServer(d, &access.Service{DB: d}, nil, nil)
	(&estate.Handlers{Web: s, Estate: &estate.Service{DB: d}}).Register()
	if len(s.Routes()) < 20 {
		t.Fatalf("only %d routes", len(s.Routes()))
	}
	for _, rt := range s.Routes() {
		if strings.TrimSpace(rt.Summary) == "" {
			t.Errorf("%s %s has no summary", rt.Method, rt.Pattern)
		}
		if rt.Scope == web.ScopePublic {
			t.Errorf("%s %s is public", rt.Method, rt.Pattern)
		}
		if rt.Method != "GET" && rt.Perm != access.EstateWrite {
			t.Errorf("%s %s changes the estate without EstateWrite", rt.Method, rt.Pattern)
		}
	}
}

// TestTemplateKeysExist: every catalogue key a template or handler names
// exists (in English; the i18n tests check the other languages).
func TestTemplateKeysExist(t *testing.T) {
	re := regexp.MustCompile(`"((?:estate|headcount|common|error|nav)\.[a-z0-9_.]+)"`)
	seen := 0
	err := filepath.WalkDir(".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !(strings.HasSuffix(p, ".html") || p == "http.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			key := m[1]
			if strings.HasSuffix(key, ".") || strings.HasSuffix(key, ".html") {
				continue // a prefix completed at run time, or a template name
			}
			seen++
			if i18n.T(i18n.English, key) == key {
				t.Errorf("%s: no catalogue entry for %q", p, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Fatalf("found only %d keys; is the pattern right?", seen)
	}
	// Keys built at run time from values.
	for _, prefix := range []string{"estate.ui.category.", "estate.ui.gender.", "estate.ui.kind.", "estate.ui.new."} {
		var vals []string
		switch prefix {
		case "estate.ui.category.":
			vals = estate.Categories
		case "estate.ui.gender.":
			vals = estate.Genders
		default:
			vals = []string{"institution", "unit", "office"}
		}
		for _, v := range vals {
			if i18n.T(i18n.English, prefix+v) == prefix+v {
				t.Errorf("no catalogue entry for %q", prefix+v)
			}
		}
	}
}
