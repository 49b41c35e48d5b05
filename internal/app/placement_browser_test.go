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

// wing is an institution with two units: A with cells 101 (Åke alone),
// 102 (Carl, who may share), 103 (Dan, not assessed) and 104 (empty), and
// B with 201 (Bo, Åke's co-accused).
type wing struct {
	inst, unitA, unitB  string
	cells               map[string]string
	ake, bo, carl, dan  string
	akeNumber, boNumber string
}

func buildWing(t *testing.T, a *app.App) wing {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.System)
	w := wing{cells: map[string]string{}}
	loc := func(n estate.NewLocation) string {
		l, err := a.Estate.CreateLocation(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	w.inst = loc(estate.NewLocation{Kind: estate.Institution, Code: "KRO", Name: "Kronoberg", Category: "remand", SecurityLevel: 1, Gender: "male"})
	w.unitA = loc(estate.NewLocation{Kind: estate.Unit, ParentID: w.inst, Code: "KRO-A", Name: "Avdelning A", SecurityLevel: 1, Gender: "male"})
	w.unitB = loc(estate.NewLocation{Kind: estate.Unit, ParentID: w.inst, Code: "KRO-B", Name: "Avdelning B", SecurityLevel: 1, Gender: "male"})
	for _, c := range []struct {
		unit, label string
		capacity    int
	}{{w.unitA, "101", 1}, {w.unitA, "102", 2}, {w.unitA, "103", 2}, {w.unitA, "104", 2}, {w.unitB, "201", 2}} {
		ce, err := a.Estate.CreateCell(ctx, estate.NewCell{UnitID: c.unit, Label: c.label, Capacity: c.capacity, SecurityLevel: 1, Gender: "male"})
		if err != nil {
			t.Fatal(err)
		}
		w.cells[c.label] = ce.ID
	}
	admit := func(given, cell string) (string, string) {
		c, err := a.Client.Register(ctx, client.NewClient{GivenName: given, FamilyName: "Holm", BirthDate: "1988-02-03", Sex: "M", HomeLocation: w.inst})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Client.AddLegalBasis(ctx, c.ID, client.NewLegalBasis{Kind: client.BasisRemand, StartDate: "2026-01-10", Offences: "Grovt rån"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Client.MoveClient(ctx, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: w.cells[cell]}); err != nil {
			t.Fatal(err)
		}
		return c.ID, c.Number
	}
	w.ake, w.akeNumber = admit("Åke", "101")
	w.bo, w.boNumber = admit("Bo", "201")
	w.carl, _ = admit("Carl", "102")
	w.dan, _ = admit("Dan", "103")
	if _, err := a.Place.Assess(ctx, w.carl, placement.NewAssessment{Outcome: placement.SuitableAny, Reasons: "Calm, shared before without incident.",
		ReviewDate: time.Now().AddDate(0, 6, 0).Format("2006-01-02")}); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestBrowserPlacement is a unit manager's morning: Åke's co-accused Bo
// is recorded as a non-association (the first try misses the reason and
// keeps what was typed), Åke is assessed as fit to share, and the move
// screen ranks every free bed — the empty cell first, sharing with Carl
// next, Dan's cell greyed because Dan was never assessed, Bo's unit
// greyed because of the non-association — and one click moves Åke.
func TestBrowserPlacement(t *testing.T) {
	a := apptest.Start(t)
	w := buildWing(t, a)
	browserStaff(t, a, "mona", access.UnitManager, w.inst)

	u := newUI(t, a)
	u.login("mona")
	u.do("open Åke's record", chromedp.Navigate(a.URL()+"/clients/"+w.ake))
	u.do("open the placement card", chromedp.Click(chromedp.CSS(`section[aria-labelledby="h-placement"] a`)))
	u.waitFor("Åke's placement page", `document.querySelector("#h-nonassociations")`)
	u.do("start a non-association", chromedp.Click(chromedp.CSS(`a[href$="/placement/nonassociations/new"]`)))
	u.waitFor("the form", `document.readyState === "complete" && document.querySelector('form[data-keep^="na-new-"] #f-members')`)
	u.do("type Bo's number", chromedp.SendKeys(chromedp.CSS("#f-members"), w.boNumber))
	u.choose("#f-scope", "the same unit")
	u.choose("#f-reason_category", "Co-accused")
	u.typeDate("#f-review_date", time.Now().AddDate(0, 2, 0).Format("2006-01-02"))
	u.do("save without a reason", chromedp.Click(chromedp.CSS(`form[data-keep^="na-new-"] button[type=submit]`)))
	u.waitFor("the message next to the reason", `document.querySelector(".field.has-error #f-reason") && document.querySelector("#e-f-reason")`)
	if got := js[string](u, `document.querySelector("#f-members").value`); got != w.boNumber {
		t.Fatalf("after the refusal the people field holds %q", got)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM placement_nonassociations`); n != 0 {
		t.Fatalf("a refused form stored %d", n)
	}
	u.do("give the reason and save",
		chromedp.SendKeys(chromedp.CSS("#f-reason"), "Co-accused in B 2211-26; the prosecutor asks that they be kept apart."),
		chromedp.Click(chromedp.CSS(`form[data-keep^="na-new-"] button[type=submit]`)))
	u.waitFor("the non-association on Åke's page", `location.pathname.endsWith("/placement/overview") && document.querySelector("table.nonassociations")`)
	if s := u.text(`section[aria-labelledby="h-nonassociations"]`); !strings.Contains(s, "Bo Holm") || !strings.Contains(s, "Co-accused") {
		t.Fatalf("the non-associations: %q", s)
	}

	u.do("assess Åke", chromedp.Click(chromedp.CSS(`a[href$="/placement/assessments/new"]`)))
	u.waitFor("the assessment form", `document.readyState === "complete" && document.querySelector('form[data-keep^="sharing-new-"]')`)
	u.do("fill the assessment",
		chromedp.Click(chromedp.CSS(`input[name=outcome][value=suitable_any]`)),
		chromedp.SendKeys(chromedp.CSS("#f-reasons"), "No alerts; asked to share."))
	u.typeDate("#f-review_date", time.Now().AddDate(0, 6, 0).Format("2006-01-02"))
	u.do("save the assessment", chromedp.Click(chromedp.CSS(`form[data-keep^="sharing-new-"] button[type=submit]`)))
	u.waitFor("the assessment on the page", `document.querySelector(".outcome-suitable_any")`)

	u.do("open the move screen", chromedp.Click(chromedp.CSS(`a[href$="/placement/move"]`)))
	u.waitFor("the ranked beds", `document.querySelector("table.beds tbody tr")`)
	order := js[[]string](u, `[...document.querySelectorAll("table.beds tbody tr")].map(r => r.dataset.cell)`)
	rank := map[string]int{}
	for i, c := range order {
		rank[c] = i
	}
	if rank[w.cells["104"]] > rank[w.cells["102"]] {
		t.Errorf("the empty cell ranks below sharing with Carl: %v", order)
	}
	row := func(label string) string {
		return u.text(`tr[data-cell="` + w.cells[label] + `"]`)
	}
	greyed := func(label string) bool {
		return js[bool](u, `document.querySelector('tr[data-cell="`+w.cells[label]+`"]').classList.contains("not-allowed")`)
	}
	if !greyed("201") || !strings.Contains(row("201"), "kept apart from Bo Holm") {
		t.Errorf("Bo's unit: greyed %v, %q", greyed("201"), row("201"))
	}
	if !greyed("103") || !strings.Contains(row("103"), "Dan Holm has no cell-sharing assessment") {
		t.Errorf("Dan's cell: greyed %v, %q", greyed("103"), row("103"))
	}
	if greyed("102") || !strings.Contains(row("102"), "shares with Carl Holm") {
		t.Errorf("Carl's cell: greyed %v, %q", greyed("102"), row("102"))
	}
	if js[int](u, `document.querySelectorAll("tr.not-allowed button").length`) != 0 {
		t.Error("a greyed bed offers a move")
	}
	u.do("move Åke to 104", chromedp.Click(chromedp.CSS(`tr[data-cell="`+w.cells["104"]+`"] button[type=submit]`)))
	u.waitFor("back on the record", `location.pathname === "/clients/`+w.ake+`"`)
	if n := countRows(t, a, `SELECT COUNT(*) FROM clients WHERE id = $1 AND cell_id = $2`, w.ake, w.cells["104"]); n != 1 {
		t.Fatal("Åke is not in 104")
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM outbox WHERE type = 'client.transferred' OR type LIKE 'client.%transfer%'`); n == 0 {
		t.Error("no transfer event")
	}
	if tl := u.text("#timeline"); !strings.Contains(tl, "Non-association recorded") || !strings.Contains(tl, "Cell move to Kronoberg") {
		t.Errorf("the timeline: %q", tl)
	}
}
