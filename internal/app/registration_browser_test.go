// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/web"
)

// fillUseOfForce fills the use-of-force form as an officer does: ticks,
// types, and picks the officers who used force from the staff list.
func (u *ui) fillUseOfForce(narrative string, officers ...string) {
	u.t.Helper()
	u.waitFor("the use-of-force form", `document.readyState === "complete" && document.querySelector('form[data-keep^="reg-new-"] #f-narrative')`)
	u.do("tick the force and the restraint",
		chromedp.Click(chromedp.CSS(`input[name=forces][value=physical_hold]`)),
		chromedp.Click(chromedp.CSS(`input[name=restraints][value=handcuffs]`)),
		chromedp.Click(chromedp.CSS(`input[name=medical_offered]`)),
	)
	u.do("type what happened",
		chromedp.SendKeys(chromedp.CSS("#f-place"), "Corridor A, outside cell 101"),
		chromedp.SendKeys(chromedp.CSS("#f-reason"), "He struck an officer and would not stop."),
		chromedp.SendKeys(chromedp.CSS("#f-duration_minutes"), "12"),
		chromedp.SendKeys(chromedp.CSS("#f-narrative"), narrative),
	)
	for _, name := range officers {
		u.pickStaff("#f-staff_used_force", name)
	}
}

// pickStaff adds a person to a multiple-choice staff list, as a
// ctrl-click does.
func (u *ui) pickStaff(sel, name string) {
	u.t.Helper()
	ok := js[bool](u, `(() => {
		const s = document.querySelector(`+jsQuote(sel)+`);
		const o = [...s.options].find(o => o.text.startsWith(`+jsQuote(name)+`));
		if (!o) return false;
		o.selected = true;
		s.dispatchEvent(new Event("input", {bubbles: true}));
		s.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`)
	if !ok {
		u.t.Fatalf("%s does not offer %s: %s", sel, name, js[string](u, `[...document.querySelector(`+jsQuote(sel)+`).options].map(o => o.text).join(" | ")`))
	}
}

// setLocalTime sets a datetime-local input the way the picker does.
func (u *ui) setLocalTime(sel string, t time.Time) {
	u.t.Helper()
	js[bool](u, `(() => { const el = document.querySelector(`+jsQuote(sel)+`); el.value = `+jsQuote(t.In(web.Zone).Format("2006-01-02T15:04"))+`;
		el.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`)
}

// TestBrowserUseOfForceWorkflow is a use of force from the first keystroke
// to closing: the officer's first submit misses the time and gets the
// message next to the field with everything typed still there; the
// submitted report asks the other officer for a statement, who finds it
// on the work page and gives it; the manager returns the report with a
// comment, the author corrects it with an amendment (the original stays)
// and submits again; the manager accepts and closes it, and the client's
// timeline shows the registration.
func TestBrowserUseOfForceWorkflow(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	browserStaff(t, a, "otto", access.Officer, w.unitIn)
	browserStaff(t, a, "olga", access.Officer, w.instIn)
	browserStaff(t, a, "mona", access.UnitManager, w.instIn)
	regs := func() int {
		return countRows(t, a, `SELECT COUNT(*) FROM registrations WHERE client_id = $1`, w.clientIn)
	}

	otto := newUI(t, a)
	otto.login("otto")
	otto.do("open the client's registrations", chromedp.Navigate(a.URL()+"/clients/"+w.clientIn+"/registrations"))
	otto.do("start a use-of-force registration", chromedp.Click(chromedp.CSS(`a[href$="/registrations/new?kind=use_of_force"]`)))
	otto.fillUseOfForce("Refused to go back to his cell and hit me. Olga and I held him.", "Test otto", "Test olga")
	otto.do("submit without the time", chromedp.Click(chromedp.CSS(`button[name=action][value=submit]`)))
	otto.waitFor("the message next to the time", `document.querySelector(".field.has-error #f-occurred_at") && document.querySelector("#e-f-occurred_at")`)
	if got := js[string](otto, `document.querySelector("#f-narrative").value`); !strings.HasPrefix(got, "Refused to go back") {
		t.Fatalf("after the refused submit the narrative holds %q", got)
	}
	if js[int](otto, `document.querySelectorAll("#f-staff_used_force option:checked").length`) != 2 {
		t.Fatalf("the officers chosen were lost on the refused submit")
	}
	if n := regs(); n != 0 {
		t.Fatalf("a refused submit stored %d registrations", n)
	}
	otto.setLocalTime("#f-occurred_at", time.Now().Add(-30*time.Minute))
	otto.do("submit", chromedp.Click(chromedp.CSS(`button[name=action][value=submit]`)))
	otto.waitFor("the submitted registration", `location.pathname.includes("/registrations/0") && document.querySelector(".pill.reg-submitted")`)
	otto.waitFor("the server's message that it was submitted", `(document.querySelector("main > .flash") || {}).textContent === "Registration submitted for review."`)
	regURL := js[string](otto, `location.pathname`)
	if n := regs(); n != 1 {
		t.Fatalf("%d registrations stored", n)
	}
	if s := otto.text(`section[aria-labelledby="h-statements"]`); !strings.Contains(s, "Test olga") || strings.Contains(s, "Test otto") {
		t.Errorf("statements asked: %q (want Olga's, not the author's)", s)
	}

	olga := newUI(t, a)
	olga.login("olga")
	olga.do("open the registrations work page", chromedp.Navigate(a.URL()+"/registrations"))
	olga.do("open the statement asked of her", chromedp.Click(chromedp.CSS(`section[aria-labelledby="h-my-statements"] a`)))
	olga.waitFor("the statement form", `document.querySelector('form[action$="/statement"] #f-text')`)
	olga.do("write and give the statement",
		chromedp.SendKeys(chromedp.CSS(`form[action$="/statement"] #f-text`), "I held his left arm until he calmed down."),
		chromedp.Click(chromedp.CSS(`form[action$="/statement"] button[type=submit]`)),
	)
	olga.waitFor("the statement given", `document.querySelector('section[aria-labelledby="h-statements"] blockquote')`)

	mona := newUI(t, a)
	mona.login("mona")
	mona.do("open the work page", chromedp.Navigate(a.URL()+"/registrations"))
	if s := mona.text(`section[aria-labelledby="h-review-queue"]`); !strings.Contains(s, "Åke") {
		t.Fatalf("the review queue: %q", s)
	}
	mona.do("open the report", chromedp.Navigate(a.URL()+regURL))
	mona.do("return it without a comment", chromedp.Click(chromedp.CSS(`button[name=decision][value=return]`)))
	mona.waitFor("the message asking for a comment", `document.querySelector("#e-f-comment")`)
	mona.do("return it with a comment",
		chromedp.SendKeys(chromedp.CSS(`#f-comment`), "How long were the handcuffs on?"),
		chromedp.Click(chromedp.CSS(`button[name=decision][value=return]`)),
	)
	mona.waitFor("the report returned", `document.querySelector(".pill.reg-returned")`)

	otto.do("reopen the report", chromedp.Navigate(a.URL()+regURL))
	otto.waitFor("the reviewer's comment", `document.body.innerText.includes("How long were the handcuffs on?")`)
	otto.do("open the correction form", chromedp.Click(chromedp.CSS(`section[aria-labelledby="h-amendments"] details > summary`)))
	otto.choose("#f-field", "What happened")
	otto.do("type the correction",
		chromedp.SendKeys(chromedp.CSS(`form[action$="/amend"] #f-value`), "Handcuffs on for 12 minutes, then removed in his cell."),
		chromedp.SendKeys(chromedp.CSS(`form[action$="/amend"] #f-reason`), "Asked by the reviewer"),
		chromedp.Click(chromedp.CSS(`form[action$="/amend"] button[type=submit]`)),
	)
	otto.waitFor("the correction beside the struck original", `document.querySelector(".amended") && document.querySelector("dd del")`)
	if s := otto.text(`section[aria-labelledby="h-details"]`); !strings.Contains(s, "Refused to go back") || !strings.Contains(s, "Handcuffs on for 12 minutes") {
		t.Errorf("the details after the correction: %q", s)
	}
	otto.do("submit again", chromedp.Click(chromedp.CSS(`form[action$="/submit"] button[type=submit]`)))
	otto.waitFor("submitted again", `document.querySelector(".pill.reg-submitted")`)

	mona.do("reopen the report", chromedp.Navigate(a.URL()+regURL))
	mona.do("accept it", chromedp.Click(chromedp.CSS(`button[name=decision][value=accept]`)))
	mona.waitFor("accepted", `document.querySelector(".pill.reg-accepted")`)
	js[bool](mona, `(window.confirm = () => true, true)`)
	mona.do("close it", chromedp.Click(chromedp.CSS(`form[action$="/close"] button[type=submit]`)))
	mona.waitFor("closed", `document.querySelector(".pill.reg-closed")`)
	hist := mona.text(`section[aria-labelledby="h-history"]`)
	for _, want := range []string{"Created", "Submitted", "Statement given", "Returned", "Corrected", "Submitted again", "Accepted", "Closed"} {
		if !strings.Contains(hist, want) {
			t.Errorf("the history lacks %q: %s", want, hist)
		}
	}
	mona.do("open the client's timeline", chromedp.Navigate(a.URL()+"/clients/"+w.clientIn+"/timeline"))
	if tl := mona.text("#timeline"); !strings.Contains(tl, "Use of force registered: physical hold, handcuffs") {
		t.Errorf("the timeline: %q", tl)
	}
	mona.do("follow the timeline line to the registration", chromedp.Click(chromedp.CSS(`#timeline a[href="`+regURL+`"]`)))
	mona.waitFor("the registration", `location.pathname === `+jsQuote(regURL))
}

// TestBrowserDraftOnAnotherDevice: a draft saved on the server on the
// wing tablet is continued at the office PC, where nothing of it is in
// the browser, and submitted from there.
func TestBrowserDraftOnAnotherDevice(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	browserStaff(t, a, "otto", access.Officer, w.instIn)
	tablet := newUI(t, a)
	tablet.login("otto")
	tablet.do("start a contraband registration", chromedp.Navigate(a.URL()+"/clients/"+w.clientIn+"/registrations/new?kind=contraband"))
	tablet.waitFor("the form", `document.readyState === "complete" && document.querySelector("#f-narrative")`)
	tablet.do("type the start of it",
		chromedp.SendKeys(chromedp.CSS("#f-place"), "Cell 101"),
		chromedp.SendKeys(chromedp.CSS("#f-narrative"), "Phone taped under the bed frame."),
	)
	tablet.do("save it as a draft", chromedp.Click(chromedp.CSS(`button[name=action][value=draft]`)))
	tablet.waitFor("the saved draft", `document.querySelector(".pill.reg-draft")`)
	if n := countRows(t, a, `SELECT COUNT(*) FROM registrations WHERE status = 'draft'`); n != 1 {
		t.Fatalf("%d drafts on the server", n)
	}

	office := newUI(t, a)
	office.login("otto")
	office.do("open the work page", chromedp.Navigate(a.URL()+"/registrations"))
	office.do("open the draft", chromedp.Click(chromedp.CSS(`section[aria-labelledby="h-mine"] a`)))
	office.do("continue it", chromedp.Click(chromedp.CSS(`a[href$="/edit"]`)))
	office.waitFor("the draft's text from the server", `document.querySelector("#f-narrative") && document.querySelector("#f-narrative").value === "Phone taped under the bed frame."`)
	office.choose("#f-found_during", "Cell search")
	office.choose(`select[name=item_kind]`, "Phone")
	office.setLocalTime("#f-occurred_at", time.Now().Add(-2*time.Hour))
	office.do("submit", chromedp.Click(chromedp.CSS(`button[name=action][value=submit]`)))
	office.waitFor("the submitted registration", `document.querySelector(".pill.reg-submitted")`)
	if n := countRows(t, a, `SELECT COUNT(*) FROM registrations WHERE status = 'submitted' AND details LIKE '%phone%'`); n != 1 {
		t.Fatalf("%d submitted registrations", n)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM registrations`); n != 1 {
		t.Fatalf("continuing the draft made %d registrations", n)
	}
}
