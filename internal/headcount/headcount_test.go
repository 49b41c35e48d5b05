// SPDX-License-Identifier: AGPL-3.0-or-later

package headcount_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/headcount"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
	"github.com/custodia/custodia/internal/platform/web"
)

var staff = audit.Actor{ID: "staff-setup", Name: "Setup", Role: "case_worker"}

func ctx() context.Context { return audit.WithActor(context.Background(), staff) }

// fixture: Kumla with unit A (cells A1: 2 beds, A2: 1 bed) and unit B
// (B1: 2 beds, B2: 2 beds out of use), and Hall elsewhere. On the roll:
// Anna (A1, violence alert), Bo (A1, on leave), Cecilia (escaped from A2),
// David (B1). Not on the roll: Erik (released from B1), Frida (registered,
// never admitted), Gustav (in Hall).
type fixture struct {
	d                  *db.DB
	est                *estate.Service
	cli                *client.Service
	acc                *access.Service
	srv                *httptest.Server
	kumla, a, b, hall  *estate.Location
	a1, a2, b1, b2, h1 *estate.Cell
	onRoll             map[string]string // client id → name
	gustav             string
}

func mustLoc(t *testing.T, s *estate.Service, n estate.NewLocation) *estate.Location {
	t.Helper()
	l, err := s.CreateLocation(ctx(), n)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustCell(t *testing.T, s *estate.Service, unit, label string, capacity int) *estate.Cell {
	t.Helper()
	c, err := s.CreateCell(ctx(), estate.NewCell{UnitID: unit, Label: label, Capacity: capacity, SecurityLevel: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) person(t *testing.T, given, family, home string) *client.Client {
	t.Helper()
	c, err := f.cli.Register(ctx(), client.NewClient{GivenName: given, FamilyName: family, BirthDate: "1985-04-12", Sex: "M", HomeLocation: home})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cli.AddLegalBasis(ctx(), c.ID, client.NewLegalBasis{Kind: client.BasisRemand, StartDate: "2025-01-10", Offences: "Rån"}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) move(t *testing.T, c *client.Client, a client.Action, cell string) {
	t.Helper()
	m, err := f.cli.MoveClient(ctx(), c.ID, client.Move{Action: a, Version: c.Version, CellID: cell, Reason: "test"})
	if err != nil {
		t.Fatalf("%s %s: %v", a, c.GivenName, err)
	}
	*c = *m.Client
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	al := audit.NewLog(d)
	t.Cleanup(al.Close)
	f := &fixture{d: d, est: &estate.Service{DB: d}, cli: &client.Service{DB: d, Audit: al}, acc: &access.Service{DB: d}, onRoll: map[string]string{}}
	f.kumla = mustLoc(t, f.est, estate.NewLocation{Kind: estate.Institution, Code: "KUM", Name: "Anstalten Kumla", Category: "closed", SecurityLevel: 1})
	f.a = mustLoc(t, f.est, estate.NewLocation{Kind: estate.Unit, ParentID: f.kumla.ID, Code: "KUM-A", Name: "Avdelning A", SecurityLevel: 1})
	f.b = mustLoc(t, f.est, estate.NewLocation{Kind: estate.Unit, ParentID: f.kumla.ID, Code: "KUM-B", Name: "Avdelning B", SecurityLevel: 2})
	f.hall = mustLoc(t, f.est, estate.NewLocation{Kind: estate.Institution, Code: "HAL", Name: "Anstalten Hall", Category: "closed", SecurityLevel: 1})
	hu := mustLoc(t, f.est, estate.NewLocation{Kind: estate.Unit, ParentID: f.hall.ID, Code: "HAL-A", Name: "Hall A", SecurityLevel: 1})
	f.a1 = mustCell(t, f.est, f.a.ID, "A1", 2)
	f.a2 = mustCell(t, f.est, f.a.ID, "A2", 1)
	f.b1 = mustCell(t, f.est, f.b.ID, "B1", 2)
	f.b2 = mustCell(t, f.est, f.b.ID, "B2", 2)
	f.h1 = mustCell(t, f.est, hu.ID, "H1", 1)
	if _, err := f.est.CloseCell(ctx(), f.b2.ID, d.Now().Add(-time.Hour), nil, "Vattenskada"); err != nil {
		t.Fatal(err)
	}

	anna := f.person(t, "Anna", "Andersson", f.kumla.ID)
	f.move(t, anna, client.Admit, f.a1.ID)
	if _, err := f.cli.AddAlert(ctx(), anna.ID, client.NewAlert{Kind: "violence"}); err != nil {
		t.Fatal(err)
	}
	bo := f.person(t, "Bo", "Berg", f.kumla.ID)
	f.move(t, bo, client.Admit, f.a1.ID)
	f.move(t, bo, client.LeaveOut, "")
	cecilia := f.person(t, "Cecilia", "Carlsson", f.kumla.ID)
	f.move(t, cecilia, client.Admit, f.a2.ID)
	f.move(t, cecilia, client.Escape, "")
	david := f.person(t, "David", "Dahl", f.kumla.ID)
	f.move(t, david, client.Admit, f.b1.ID)
	if _, err := f.cli.AddAlert(ctx(), david.ID, client.NewAlert{Kind: "self_harm"}); err != nil {
		t.Fatal(err)
	}
	erik := f.person(t, "Erik", "Ek", f.kumla.ID)
	f.move(t, erik, client.Admit, f.b1.ID)
	f.move(t, erik, client.Release, "")
	f.person(t, "Frida", "Falk", f.kumla.ID)
	gustav := f.person(t, "Gustav", "Gran", f.hall.ID)
	f.move(t, gustav, client.Admit, f.h1.ID)
	f.gustav = gustav.ID
	for _, c := range []*client.Client{anna, bo, cecilia, david} {
		f.onRoll[c.ID] = c.Name()
	}

	s := web.NewServer(d, f.acc, al, nil)
	s.RegisterBase()
	s.Lineage = f.est.Lineage
	(&headcount.Handlers{Web: s, Estate: f.est, Client: f.cli}).Register()
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) token(t *testing.T, role access.Role, caseload ...string) (string, string) {
	t.Helper()
	tok, err := f.acc.IssueToken(audit.WithActor(context.Background(), audit.System), "t "+string(role), role, caseload, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret, tok.ID
}

func (f *fixture) get(t *testing.T, path, bearer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (f *fixture) rollReads(t *testing.T, actor string) map[string]int {
	t.Helper()
	rows, err := f.d.Query(`SELECT client_id FROM audit_log WHERE action = 'client.roll.read' AND actor_id = $1`, actor)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id]++
	}
	return out
}

type figures = headcount.Figures

func TestRollFiguresAddUp(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		tok, tokID := f.token(t, access.Officer, f.kumla.ID)
		code, body := f.get(t, "/api/v1/headcount/"+f.kumla.ID, tok)
		if code != 200 {
			t.Fatalf("roll: %d %s", code, body)
		}
		var r headcount.Roll
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		if len(r.Units) != 2 || r.Units[0].ID != f.a.ID || r.Units[1].ID != f.b.ID {
			t.Fatalf("units: %+v", r.Units)
		}
		ua, ub := r.Units[0], r.Units[1]
		wantA := figures{Roll: 3, InCells: 1, OnLeave: 1, Escaped: 1, Capacity: 3, Occupied: 2, Free: 1, OutOfUse: 0, Cells: 2}
		wantB := figures{Roll: 1, InCells: 1, Capacity: 4, Occupied: 1, Free: 1, OutOfUse: 2, Cells: 2}
		wantT := figures{Roll: 4, InCells: 2, OnLeave: 1, Escaped: 1, Capacity: 7, Occupied: 3, Free: 2, OutOfUse: 2, Cells: 4}
		if ua.Figures != wantA {
			t.Errorf("unit A: %+v, want %+v", ua.Figures, wantA)
		}
		if ub.Figures != wantB {
			t.Errorf("unit B: %+v, want %+v", ub.Figures, wantB)
		}
		if r.Totals != wantT {
			t.Errorf("totals: %+v, want %+v", r.Totals, wantT)
		}
		for _, fg := range []figures{ua.Figures, ub.Figures, r.Totals} {
			if fg.Roll != fg.InCells+fg.OnLeave+fg.Escaped+fg.Unplaced || fg.Free != fg.Capacity-fg.Occupied-fg.OutOfUse {
				t.Errorf("figures do not add up: %+v", fg)
			}
		}
		if !r.Check.OK || !ua.Check.OK || !ub.Check.OK || r.Check.CellPeople != 3 || r.Check.EstateOccupied != 3 {
			t.Errorf("check: %+v / %+v / %+v", r.Check, ua.Check, ub.Check)
		}
		// Who is where.
		a1 := ua.Cells[0]
		if a1.Label != "A1" || len(a1.People) != 2 || a1.People[0].Name != "Anna Andersson" || a1.People[1].Status != client.OnLeave {
			t.Fatalf("A1: %+v", a1)
		}
		if len(a1.People[0].Alerts) != 1 || a1.People[0].Alerts[0] != "violence" {
			t.Fatalf("Anna's alerts: %v", a1.People[0].Alerts)
		}
		if len(ua.OnLeave) != 1 || ua.OnLeave[0].Name != "Bo Berg" || ua.OnLeave[0].CellLabel != "A1" {
			t.Fatalf("on leave: %+v", ua.OnLeave)
		}
		if len(ua.Escaped) != 1 || ua.Escaped[0].Name != "Cecilia Carlsson" || ua.Escaped[0].CellID != "" {
			t.Fatalf("escaped: %+v", ua.Escaped)
		}
		if a2 := ua.Cells[1]; len(a2.People) != 0 || a2.Free != 1 {
			t.Fatalf("A2 should be empty after the escape: %+v", a2)
		}
		if b2 := ub.Cells[1]; b2.OutOfUse == nil || b2.OutOfUse.Reason != "Vattenskada" || b2.Free != 0 {
			t.Fatalf("B2 should be out of use: %+v", b2)
		}
		// The read is audited: each person listed, nobody else.
		reads := f.rollReads(t, tokID)
		if len(reads) != len(f.onRoll) {
			t.Fatalf("audited %d people, want %d: %v", len(reads), len(f.onRoll), reads)
		}
		for id := range f.onRoll {
			if reads[id] != 1 {
				t.Errorf("%s: %d roll reads audited, want 1", f.onRoll[id], reads[id])
			}
		}

		// A unit's roll has only that unit.
		code, body = f.get(t, "/api/v1/headcount/"+f.b.ID, tok)
		var rb headcount.Roll
		json.Unmarshal([]byte(body), &rb) //nolint:errcheck
		if code != 200 || len(rb.Units) != 1 || rb.Totals != wantB || rb.InstitutionName != "Anstalten Kumla" {
			t.Fatalf("unit roll: %d %+v", code, rb)
		}
	})
}

func TestRollFlagsMismatch(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		// The bed counter drifts from the register (a bug or a hand edit).
		dbtest.Exec(t, d, `UPDATE cells SET occupied = occupied + 1 WHERE id = '`+f.b1.ID+`'`)
		tok, _ := f.token(t, access.Officer, f.kumla.ID)
		code, body := f.get(t, "/api/v1/headcount/"+f.kumla.ID, tok)
		var r headcount.Roll
		json.Unmarshal([]byte(body), &r) //nolint:errcheck
		if code != 200 || r.Check.OK || r.Units[1].Check.OK || !r.Units[0].Check.OK {
			t.Fatalf("mismatch not flagged where it is: %d %+v", code, r.Check)
		}
		if c := r.Check; c.CellPeople != 3 || c.BedHolders != 3 || c.EstateOccupied != 4 || len(c.MismatchedCells) != 1 || !strings.Contains(c.MismatchedCells[0], "B1") {
			t.Fatalf("check: %+v", c)
		}
		if !r.Units[1].Cells[0].Mismatch {
			t.Fatal("cell B1 not flagged")
		}
		// The page says so loudly.
		s := f.login(t, "off", access.Officer, f.kumla.ID)
		code, page := f.page(t, s, "/headcount/"+f.kumla.ID)
		if code != 200 || !strings.Contains(page, `class="roll-check bad" role="alert"`) || !strings.Contains(page, "THE COUNT DOES NOT AGREE") || !strings.Contains(page, "Register: 1 people, bed counter: 2") {
			t.Fatalf("page does not flag the mismatch: %d", code)
		}
	})
}

func (f *fixture) login(t *testing.T, user string, role access.Role, caseload ...string) string {
	t.Helper()
	if _, err := f.acc.CreateStaff(audit.WithActor(context.Background(), audit.System), access.NewStaff{Username: user, DisplayName: "Staff " + user, Role: role, Caseload: caseload, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	sess, _, err := f.acc.Login(context.Background(), user, "correct horse battery", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return sess.Token
}

func (f *fixture) page(t *testing.T, cookie, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: "custodia_session", Value: cookie})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestRollPageAndAccess(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		s := f.login(t, "kumla", access.Officer, f.kumla.ID)
		code, page := f.page(t, s, "/headcount/"+f.kumla.ID)
		if code != 200 {
			t.Fatalf("roll page: %d", code)
		}
		for _, want := range []string{"Anna Andersson", `class="badge violence"`, `class="badge self-harm"`, "Bo Berg", "Cecilia Carlsson", "Vattenskada",
			`data-print hidden`, `/headcount/assets/headcount.css`, "The count agrees.", "<thead>"} {
			if !strings.Contains(page, want) {
				t.Errorf("roll page lacks %q", want)
			}
		}
		for _, not := range []string{"Erik", "Frida", "Gustav"} {
			if strings.Contains(page, not) {
				t.Errorf("roll page lists %s, who is not on Kumla's roll", not)
			}
		}
		code, page = f.page(t, s, "/headcount")
		if code != 200 || !strings.Contains(page, "/headcount/"+f.kumla.ID) || strings.Contains(page, "Anstalten Hall") {
			t.Fatalf("chooser: %d", code)
		}
		code, css := f.page(t, "", "/headcount/assets/headcount.css")
		if code != 200 || !strings.Contains(css, "size: A4") || !strings.Contains(css, "@media print") {
			t.Fatalf("print stylesheet: %d", code)
		}

		// An officer of Hall may not see Kumla's roll; nothing is audited.
		hallTok, hallID := f.token(t, access.Officer, f.hall.ID)
		for _, p := range []string{"/api/v1/headcount/" + f.kumla.ID, "/api/v1/headcount/" + f.a.ID} {
			if code, body := f.get(t, p, hallTok); code != 403 || !strings.Contains(body, "caseload") {
				t.Errorf("%s from Hall: %d %s", p, code, body)
			}
		}
		hs := f.login(t, "hall", access.Officer, f.hall.ID)
		if code, _ := f.page(t, hs, "/headcount/"+f.kumla.ID); code != 403 {
			t.Errorf("roll page from Hall: %d", code)
		}
		if n := len(f.rollReads(t, hallID)); n != 0 {
			t.Fatalf("refused requests audited %d reads", n)
		}
		// Hall's own roll works and shows Gustav only.
		code, body := f.get(t, "/api/v1/headcount/"+f.hall.ID, hallTok)
		if code != 200 || !strings.Contains(body, "Gustav Gran") || strings.Contains(body, "Anna") {
			t.Fatalf("Hall's roll: %d %s", code, body)
		}
		// A unit caseload reaches its unit, not the institution.
		unitTok, _ := f.token(t, access.Officer, f.a.ID)
		if code, _ := f.get(t, "/api/v1/headcount/"+f.a.ID, unitTok); code != 200 {
			t.Errorf("unit officer on own unit: %d", code)
		}
		if code, _ := f.get(t, "/api/v1/headcount/"+f.kumla.ID, unitTok); code != 403 {
			t.Errorf("unit officer on the institution: %d", code)
		}
		// Roles without the Headcount permission are refused.
		analyst, _ := f.token(t, access.Analyst, access.Everywhere)
		if code, _ := f.get(t, "/api/v1/headcount/"+f.kumla.ID, analyst); code != 403 {
			t.Errorf("analyst: %d", code)
		}
	})
}

// TestBuildUnplaced: people the register puts in a unit but in no known
// cell of it count on the roll and fail the check.
func TestBuildUnplaced(t *testing.T) {
	unit := estate.Location{ID: "u", Kind: estate.Unit, Name: "U", Code: "U"}
	cells := []estate.Cell{{ID: "c1", UnitID: "u", Label: "1", Capacity: 2, Occupied: 1}}
	people := []client.Occupant{
		{ID: "p1", GivenName: "A", FamilyName: "A", Status: client.InCustody, InstitutionID: "i", UnitID: "u", CellID: "c1"},
		{ID: "p2", GivenName: "B", FamilyName: "B", Status: client.InCustody, InstitutionID: "i", UnitID: "u", CellID: "elsewhere"},
	}
	r := headcount.Build(unit, cells, people, time.Now())
	u := r.Units[0]
	if u.Figures.Roll != 2 || u.Figures.InCells != 1 || u.Figures.Unplaced != 1 || len(u.Unplaced) != 1 || u.Check.OK || r.Check.OK {
		t.Fatalf("unplaced person: %+v %+v", u.Figures, u.Check)
	}
	r = headcount.Build(unit, cells, people[:1], time.Now())
	if !r.Check.OK || r.Totals.Roll != 1 || r.Totals.Free != 1 {
		t.Fatalf("clean roll: %+v %+v", r.Totals, r.Check)
	}
}

func TestEveryRouteHasSummary(t *testing.T) {
	d := dbtest.SQLite(t)
	s := web.NewServer(d, &access.Service{DB: d}, nil, nil)
	(&headcount.Handlers{Web: s}).Register()
	for _, rt := range s.Routes() {
		if strings.TrimSpace(rt.Summary) == "" {
			t.Errorf("%s %s has no summary", rt.Method, rt.Pattern)
		}
		if rt.Scope != web.ScopePublic && rt.Perm != access.Headcount {
			t.Errorf("%s %s needs %s, want headcount.read", rt.Method, rt.Pattern, rt.Perm)
		}
		if strings.Contains(rt.Pattern, "{loc}") && rt.Scope != web.ScopeLocation {
			t.Errorf("%s %s is not caseload-checked", rt.Method, rt.Pattern)
		}
	}
}
