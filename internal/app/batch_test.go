// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/placement"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
)

// batchWing is a unit whose placement breaks two cell non-associations:
// Carl and Eva share 102, Finn and Gus share 104. Åke is alone in 101,
// Dan (never assessed) in 103; 105 and 106 are empty. Unit B (201, Bo)
// is next door.
type batchWing struct {
	inst, unitA, unitB string
	cells              map[string]string
	people             map[string]string // given name → id
}

func buildBatchWing(t *testing.T, a *app.App) batchWing {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.System)
	w := batchWing{cells: map[string]string{}, people: map[string]string{}}
	loc := func(n estate.NewLocation) string {
		l, err := a.Estate.CreateLocation(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	w.inst = loc(estate.NewLocation{Kind: estate.Institution, Code: "SAL", Name: "Salberga", Category: "closed", SecurityLevel: 1, Gender: "male"})
	w.unitA = loc(estate.NewLocation{Kind: estate.Unit, ParentID: w.inst, Code: "SAL-A", Name: "Avdelning A", SecurityLevel: 1, Gender: "male"})
	w.unitB = loc(estate.NewLocation{Kind: estate.Unit, ParentID: w.inst, Code: "SAL-B", Name: "Avdelning B", SecurityLevel: 1, Gender: "male"})
	for _, c := range []struct {
		unit, label string
		beds        int
	}{{w.unitA, "101", 1}, {w.unitA, "102", 2}, {w.unitA, "103", 2}, {w.unitA, "104", 2}, {w.unitA, "105", 2}, {w.unitA, "106", 1}, {w.unitB, "201", 2}} {
		ce, err := a.Estate.CreateCell(ctx, estate.NewCell{UnitID: c.unit, Label: c.label, Capacity: c.beds, SecurityLevel: 1, Gender: "male"})
		if err != nil {
			t.Fatal(err)
		}
		w.cells[c.label] = ce.ID
	}
	review := time.Now().AddDate(0, 6, 0).Format("2006-01-02")
	for _, p := range []struct {
		given, cell string
		share       bool
	}{{"Åke", "101", true}, {"Carl", "102", true}, {"Eva", "102", true}, {"Dan", "103", false}, {"Finn", "104", true}, {"Gus", "104", true}, {"Bo", "201", true}} {
		c, err := a.Client.Register(ctx, client.NewClient{GivenName: p.given, FamilyName: "Ek", BirthDate: "1987-05-06", Sex: "M", HomeLocation: w.inst})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Client.AddLegalBasis(ctx, c.ID, client.NewLegalBasis{Kind: client.BasisRemand, StartDate: "2026-01-10", Offences: "Rån"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Client.MoveClient(ctx, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: w.cells[p.cell]}); err != nil {
			t.Fatal(err)
		}
		if p.share {
			if _, err := a.Place.Assess(ctx, c.ID, placement.NewAssessment{Outcome: placement.SuitableAny, Reasons: "Calm.", ReviewDate: review}); err != nil {
				t.Fatal(err)
			}
		}
		w.people[p.given] = c.ID
	}
	for _, pair := range [][2]string{{"Carl", "Eva"}, {"Finn", "Gus"}} {
		if _, err := a.Place.CreateNonAssociation(ctx, w.people[pair[0]], placement.NewNonAssociation{Members: []string{w.people[pair[1]]}, Scope: placement.ScopeCell,
			ReasonCategory: "threat", Reason: "Threats on the wing.", ReviewDate: review}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func cellOf(t *testing.T, a *app.App, id string) string {
	t.Helper()
	var cell string
	if err := a.DB.QueryRowContext(context.Background(), `SELECT COALESCE(cell_id, '') FROM clients WHERE id = $1`, id).Scan(&cell); err != nil {
		t.Fatal(err)
	}
	return cell
}

// TestBatchAPI: a partner system proposes a unit re-plan and accepts it;
// refusals name the fields; an officer may read but not accept; a
// manager of another institution does not find it; a repeat of the
// accept with the same key applies nothing twice.
func TestBatchAPI(t *testing.T) {
	a := apptest.Start(t)
	w := buildBatchWing(t, a)
	manager := tokenFor(t, a, "manager", access.UnitManager, w.inst)
	officer := tokenFor(t, a, "officer", access.Officer, w.inst)
	outside := tokenFor(t, a, "outside", access.UnitManager, "elsewhere")
	base := "/api/v1/placement/proposals"

	if status, p, _ := manager.call("POST", base, "", map[string]any{"scope": "wing"}); status != 422 || problemFields(p)[0] != "scope" {
		t.Fatalf("bad scope: %d %v", status, p)
	}
	if status, _, _ := officer.call("POST", base, "", map[string]any{"scope": "unit", "location_id": w.unitA}); status != 403 {
		t.Fatalf("an officer proposes: %d", status)
	}
	status, pr, h := manager.call("POST", base, "", map[string]any{"scope": "unit", "location_id": w.unitA, "time_limit_ms": 2000})
	if status != 201 || h.Get("Location") == "" || pr["status"] != "proposed" || len(asList(pr["moves"])) < 2 || len(asList(pr["broken_before"])) != 2 {
		t.Fatalf("propose: %d %v", status, pr)
	}
	id := pr["id"].(string)
	// Keeping the pairs apart costs moves but takes away their risk.
	before := pr["before"].(map[string]any)["risk"].(float64)
	after := pr["after"].(map[string]any)["risk"].(float64)
	if after >= before {
		t.Errorf("cell-mate risk after %v is not below before %v", after, before)
	}
	if status, _, _ := outside.call("GET", base+"/"+id, "", nil); status != 404 {
		t.Errorf("another institution's manager reads it: %d", status)
	}
	if status, list, _ := officer.call("GET", base, "", nil); status != 200 || len(asList(list["proposals"])) != 1 {
		t.Errorf("officer's list: %d %v", status, list)
	}
	if status, _, _ := officer.call("POST", base+"/"+id+"/accept", "", map[string]any{}); status != 403 {
		t.Errorf("an officer accepts: %d", status)
	}
	if status, p, _ := manager.call("POST", base+"/"+id+"/accept", "", map[string]any{"moves": []int{99}}); status != 422 {
		t.Errorf("an unknown move: %d %v", status, p)
	}
	status, acc, _ := manager.call("POST", base+"/"+id+"/accept", "acc-1", map[string]any{})
	if status != 200 || len(asList(acc["applied"])) != len(asList(pr["moves"])) {
		t.Fatalf("accept: %d %v", status, acc)
	}
	transfers := countRows(t, a, `SELECT COUNT(*) FROM movements WHERE kind = 'transfer'`)
	status, again, _ := manager.call("POST", base+"/"+id+"/accept", "acc-1", map[string]any{})
	if status != 200 || again["id"] != acc["id"] || countRows(t, a, `SELECT COUNT(*) FROM movements WHERE kind = 'transfer'`) != transfers {
		t.Fatalf("a repeat: %d %v", status, again)
	}
	for _, m := range asList(pr["moves"]) {
		mv := m.(map[string]any)
		if cellOf(t, a, mv["client_id"].(string)) != mv["to_cell_id"] {
			t.Errorf("%v is not in %v", mv["client_name"], mv["to_place"])
		}
	}
	status, got, _ := manager.call("GET", base+"/"+id, "", nil)
	if status != 200 || got["status"] != "applied" || len(asList(got["acceptances"])) != 1 {
		t.Fatalf("after: %d %v", status, got)
	}
}

// TestBrowserBatchPlacement is a manager re-planning a unit where two
// pairs kept apart share cells: the proposal shows the rules broken now,
// the risk before and after and the moves; the manager locks one person,
// proposes again, accepts only one of the moves, and the person is in
// the new cell with a line on the timeline while the other stays.
func TestBrowserBatchPlacement(t *testing.T) {
	a := apptest.Start(t)
	w := buildBatchWing(t, a)
	browserStaff(t, a, "mona", access.UnitManager, w.inst)

	u := newUI(t, a)
	u.login("mona")
	u.do("open the placement register", chromedp.Navigate(a.URL()+"/placement"))
	u.do("open batch placement", chromedp.Click(chromedp.CSS("#batch-link")))
	u.waitFor("the proposal form", `document.readyState === "complete" && document.querySelector("#f-target")`)
	u.do("choose unit A", chromedp.SetValue(chromedp.CSS("#f-target"), "unit:"+w.unitA))
	u.do("propose", chromedp.Click(chromedp.CSS(`form[action="/placement/proposals"] button[type=submit]`)))
	u.waitFor("the proposal", `location.pathname.startsWith("/placement/proposals/") && document.querySelector("table.moves")`)
	if s := u.text(".broken-now"); !strings.Contains(s, "kept apart from") {
		t.Fatalf("the rules broken now: %q", s)
	}
	if s := u.text("table.cost"); !strings.Contains(s, "Total") {
		t.Fatalf("the cost table: %q", s)
	}
	if s := u.text("#move-count"); !strings.Contains(s, "moves proposed") {
		t.Fatalf("the move count: %q", s)
	}
	moved := js[[]string](u, `[...document.querySelectorAll("table.moves tbody tr")].map(r => r.dataset.client)`)
	first := ""
	for _, name := range []string{"Carl", "Eva"} {
		for _, id := range moved {
			if id == w.people[name] {
				first = name
			}
		}
	}
	if first == "" {
		t.Fatalf("neither Carl nor Eva moves: %v", moved)
	}
	other := map[string]string{"Carl": "Eva", "Eva": "Carl"}[first]

	// Lock the one who moved: the other must move instead.
	u.do("lock "+first, chromedp.SetValue(chromedp.CSS(`tr[data-client="`+w.people[first]+`"] select`), "stay"))
	firstURL := js[string](u, `location.pathname`)
	u.do("propose again", chromedp.Click(chromedp.CSS("#repropose-button")))
	u.waitFor("the new proposal", `location.pathname !== `+jsQuote(firstURL)+` && document.querySelector("table.moves")`)
	if js[bool](u, `!!document.querySelector('tr[data-client="`+w.people[first]+`"]')`) {
		t.Fatalf("%s moves though locked", first)
	}
	if !js[bool](u, `!!document.querySelector('tr[data-client="`+w.people[other]+`"]')`) {
		t.Fatalf("%s does not move", other)
	}

	// Accept only the move of the other; untick the rest.
	rows := js[[]string](u, `[...document.querySelectorAll("table.moves tbody tr")].map(r => r.dataset.client)`)
	for _, id := range rows {
		if id != w.people[other] {
			u.do("untick a move", chromedp.Click(chromedp.CSS(`tr[data-client="`+id+`"] input[name=move]`)))
		}
	}
	target := js[string](u, `document.querySelector('tr[data-client="`+w.people[other]+`"]').cells[3].textContent.trim()`)
	u.do("accept", chromedp.Click(chromedp.CSS("#accept-button")))
	u.waitFor("the move applied", `document.querySelector('tr[data-client="`+w.people[other]+`"].move-applied')`)
	if len(rows) > 1 && js[int](u, `document.querySelectorAll("tr.move-proposed").length`) != len(rows)-1 {
		t.Errorf("the unticked moves were applied too")
	}
	if cellOf(t, a, w.people[other]) == w.cells["102"] {
		t.Fatalf("%s is still in 102", other)
	}
	if cellOf(t, a, w.people[first]) != w.cells["102"] {
		t.Fatalf("%s moved though locked", first)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM placement_proposal_acceptances WHERE accepted_by_name <> '' AND status = 'done'`); n != 1 {
		t.Errorf("%d acceptances recorded", n)
	}
	for _, id := range rows {
		if id != w.people[other] && countRows(t, a, `SELECT COUNT(*) FROM movements WHERE client_id = $1 AND kind = 'transfer'`, id) != 0 {
			t.Errorf("an unticked person was moved")
		}
	}
	u.do("open "+other+"'s record", chromedp.Navigate(a.URL()+"/clients/"+w.people[other]))
	u.waitFor("the timeline", `document.querySelector("#timeline")`)
	if tl := u.text("#timeline"); !strings.Contains(tl, "Batch placement") || !strings.Contains(tl, strings.TrimSpace(target)) {
		t.Errorf("the timeline: %q (target %q)", tl, target)
	}
}
