// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/plan"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
)

// shot saves a screenshot of u's page as name.png in the directory named
// by CUSTODIA_SCREENSHOTS, when it is set.
func (u *ui) shot(name string) {
	u.t.Helper()
	dir := os.Getenv("CUSTODIA_SCREENSHOTS")
	if dir == "" {
		return
	}
	b, err := chromedp.Run(u.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

// TestBrowserPlanConflict: Anna and Bengt, in two browsers, edit one
// action plan. Anna's autosave lands first. Bengt's autosave is refused:
// it stops and offers the choice, his text kept. The choice shows both
// texts side by side (what only one of them changed already chosen),
// survives a reload, and Bengt merges the title both changed. The history
// has both saves and the plan keeps every word either of them typed.
func TestBrowserPlanConflict(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	ctx := audit.WithActor(context.Background(), audit.System)
	p, err := a.Plan.Create(ctx, w.clientIn, plan.Document{Title: "Plan 2026", Goals: []plan.Goal{{Text: "Finish school",
		Measures: []plan.Measure{{What: "Enrol in adult education", Responsible: "Case worker"}}}}, ClientView: "I want to finish school."})
	if err != nil {
		t.Fatal(err)
	}
	browserStaff(t, a, "anna", access.CaseWorker, w.instIn)
	browserStaff(t, a, "bengt", access.Officer, w.instIn)
	edit := a.URL() + "/clients/" + w.clientIn + "/plans/" + p.ID + "/edit"

	ua, ub := newUI(t, a), newUI(t, a)
	ua.login("anna")
	ub.login("bengt")
	for _, u := range []*ui{ua, ub} {
		u.do("open the plan for editing", chromedp.Navigate(edit))
		u.waitFor("the edit form", `document.querySelector("#plan-form #f-follow_up") && document.readyState === "complete"`)
	}
	annaNote := "Anna: met the school counsellor on Monday."
	bengtView := " He also wants to see his daughter every week."

	// Anna types; her autosave lands as version 2.
	ua.retype("#f-title", "Plan 2026 school")
	ua.do("type follow-up notes", chromedp.SendKeys(chromedp.CSS("#f-follow_up"), annaNote))
	ua.waitFor("Anna's autosave", `document.querySelector("#autosave-status.saved") && `+textOf("#autosave-status")+`.includes("version 2")`)
	ua.shot("plan-edit-autosaved")

	// Bengt, still on version 1, types; his autosave meets Anna's save.
	ub.retype("#f-title", "Plan 2026 family")
	ub.do("add to the client's view", chromedp.Click(chromedp.CSS("#f-client_view")), chromedp.KeyEvent("\ue010"), chromedp.KeyEvent(bengtView))
	ub.waitFor("the conflict banner", `!document.querySelector("#autosave-conflict").hidden`)
	if got := js[string](ub, `document.querySelector("#f-client_view").value`); got != "I want to finish school."+bengtView {
		t.Errorf("Bengt's text after the refused autosave: %q", got)
	}
	if v := js[string](ub, `document.querySelector("input[name=version]").value`); v != "1" {
		t.Errorf("the refused autosave moved the form's version to %s", v)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM plan_versions WHERE plan_id = $1`, p.ID); n != 2 {
		t.Fatalf("%d versions after the refused autosave, want 2", n)
	}
	ub.shot("plan-edit-conflict-banner")
	ub.do("compare and choose", chromedp.Click(chromedp.CSS("#autosave-conflict button")))
	ub.waitFor("the side-by-side choice", `location.pathname.endsWith("/conflict") && document.querySelector("#conflict-form")`)

	entry := func(key string) string { return `fieldset.conflict-entry[data-key="` + key + `"]` }
	check := func() {
		t.Helper()
		for key, want := range map[string][2]string{
			"title":       {"Plan 2026 family", "Plan 2026 school"},
			"client_view": {"I want to finish school." + bengtView, "I want to finish school."},
			"follow_up":   {"", annaNote},
		} {
			mine, theirs := ub.text(entry(key)+` [data-side="mine"]`), ub.text(entry(key)+` [data-side="theirs"]`)
			if (want[0] != "" && mine != want[0]) || theirs != want[1] {
				t.Errorf("%s: yours %q, theirs %q; want %q and %q", key, mine, theirs, want[0], want[1])
			}
		}
		checked := func(key, side string) bool {
			return js[bool](ub, `!!document.querySelector(`+jsQuote(entry(key)+` input[value="`+side+`"]:checked`)+`)`)
		}
		if !checked("client_view", "mine") || !checked("follow_up", "theirs") || checked("title", "mine") || checked("title", "theirs") {
			t.Error("the choice should keep Bengt's view and Anna's notes and ask about the title")
		}
		if n := js[int](ub, `document.querySelectorAll(`+jsQuote(entry("title")+" mark")+`).length`); n != 2 {
			t.Errorf("%d marked differences in the title, want one on each side", n)
		}
	}
	check()
	ub.shot("plan-conflict")

	// Bengt starts merging the title, and the page is reloaded.
	ub.do("choose to write the title", chromedp.Click(chromedp.CSS(entry("title")+` input[value="edit"]`)))
	ub.waitFor("the merge box filled from both titles", `document.querySelector(`+jsQuote(entry("title")+" textarea")+`).value.includes("Plan 2026 school")`)
	merged := "Plan 2026 school and family"
	ub.retype(entry("title")+" textarea", merged)
	ub.do("reload the choice", chromedp.Reload())
	ub.waitFor("the reloaded choice", `document.querySelector("#conflict-form") && document.readyState === "complete"`)
	check()
	// The draft comes back from IndexedDB after the page has loaded.
	ub.waitFor("the merged title restored from the device", `document.querySelector(`+jsQuote(entry("title")+" textarea")+`).value === `+jsQuote(merged))
	if !js[bool](ub, `document.querySelector(`+jsQuote(entry("title")+` input[value="edit"]`)+`).checked`) {
		t.Error("after the reload the typed title is not the chosen one")
	}
	ub.do("save the choice", chromedp.Click(chromedp.CSS("#save-choice")))
	ub.waitFor("the plan page", textOf("#plan-title")+` === `+jsQuote(merged))

	ub.shot("plan-show")
	rd, err := a.Plan.Get(ctx, w.clientIn, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := rd.Plan.Document
	if rd.Plan.Version != 3 || d.Title != merged || d.ClientView != "I want to finish school."+bengtView || d.FollowUp != annaNote || len(d.Goals) != 1 {
		t.Fatalf("the plan after the choice: version %d, %+v", rd.Plan.Version, d)
	}

	// The history shows both saves.
	ub.do("open the history", chromedp.Navigate(a.URL()+"/clients/"+w.clientIn+"/plans/"+p.ID+"/history"))
	ub.waitFor("the history", `document.querySelectorAll("#plan-history > li").length === 3`)
	hist := ub.text("#plan-history")
	for _, want := range []string{"Version 3", "Test bengt", "Saved after choosing between two versions", "Version 2", "Test anna", "Saved automatically", "Follow-up notes changed", "Version 1"} {
		if !strings.Contains(hist, want) {
			t.Errorf("the history lacks %q: %s", want, hist)
		}
	}
	ub.shot("plan-history")
	ub.do("open version 2", chromedp.Click(chromedp.CSS(`#plan-history li[data-version="2"] a`)))
	ub.waitFor("version 2", `location.pathname.endsWith("/versions/2")`)
	if body := ub.text("main"); !strings.Contains(body, annaNote) || strings.Contains(body, bengtView) {
		t.Errorf("version 2 should hold Anna's note and not Bengt's text: %s", body)
	}
}
