// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/client/natid"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
)

// The browser tests drive the whole system through headless Chromium as a
// member of staff would: typing, clicking, choosing from lists. The world
// they start from is built through the services; every step a user takes
// goes through the UI.

const browserPassword = "correct horse battery"

// ui is one signed-in (or signing-in) browser tab on a running app.
type ui struct {
	t   *testing.T
	ctx context.Context
	a   *app.App
}

func newUI(t *testing.T, a *app.App) *ui {
	t.Helper()
	return &ui{t: t, ctx: apptest.Browser(t), a: a}
}

// stepTimeout bounds each step, so a broken page fails in seconds rather
// than at the browser context's deadline.
const stepTimeout = 15 * time.Second

// do runs user actions, failing the test with what was being done.
func (u *ui) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		u.t.Fatalf("%s: %v", what, err)
	}
}

// js evaluates expr in the page and decodes its value into T; a promise
// is awaited.
func js[T any](u *ui, expr string) T {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		u.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls the predicate from Go, so it keeps polling across page
// loads (a form post, a redirect) where an in-page poll would be lost. The
// predicate may be a promise.
func (u *ui) waitFor(what, predicate string) {
	u.t.Helper()
	u.waitLonger(what, predicate, stepTimeout)
}

// waitLonger is waitFor with its own timeout.
func (u *ui) waitLonger(what, predicate string, timeout time.Duration) {
	u.t.Helper()
	deadline := time.Now().Add(timeout)
	expr := `(async () => { try { return !!(await (` + predicate + `)); } catch (e) { return false; } })()`
	for {
		ctx, cancel := context.WithTimeout(u.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body := ""
			ctx, cancel := context.WithTimeout(u.ctx, 2*time.Second)
			if s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`)); err == nil {
				body = s
			}
			cancel()
			if len(body) > 3000 {
				body = body[:3000] + "…"
			}
			u.t.Fatalf("waiting for %s (%s): timed out (last error %v); the page:\n%s", what, predicate, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsQuote quotes a Go string as a JavaScript string literal.
func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// textOf is a JavaScript expression for the trimmed text of the first
// element matching sel ("" when there is none).
func textOf(sel string) string {
	return `((document.querySelector(` + jsQuote(sel) + `) || {}).textContent || "").replace(/\s+/g, " ").trim()`
}

func (u *ui) text(sel string) string {
	u.t.Helper()
	return js[string](u, textOf(sel))
}

// login signs in through the sign-in form.
func (u *ui) login(user string) {
	u.t.Helper()
	u.do("open the sign-in page", chromedp.Navigate(u.a.URL()+"/login"))
	u.do("sign in",
		chromedp.SendKeys(chromedp.CSS("#f-username"), user),
		chromedp.SendKeys(chromedp.CSS("#f-password"), browserPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	)
	u.waitFor("the signed-in start page", `location.pathname !== "/login" && document.querySelector(".usermenu")`)
}

// choose picks the option of a <select> whose label starts with label,
// as a user's pick in the list does: one selection, then the input and
// change events the browser fires for it (which drive htmx). Typing into
// a closed list is no substitute: every letter that moves the selection
// fires its own change, and htmx replaces the list under the keyboard.
func (u *ui) choose(sel, label string) {
	u.t.Helper()
	u.htmxIdle(sel)
	u.do("focus "+sel, chromedp.Focus(chromedp.CSS(sel)))
	got := js[string](u, `(() => {
		const s = document.querySelector(`+jsQuote(sel)+`);
		const o = [...s.options].find(o => !o.disabled && o.text.trim().startsWith(`+jsQuote(label)+`));
		if (!o || s.disabled) return "";
		s.value = o.value;
		s.dispatchEvent(new Event("input", {bubbles: true}));
		s.dispatchEvent(new Event("change", {bubbles: true}));
		return o.text;
	})()`)
	if got == "" {
		opts := js[string](u, `[...document.querySelector(`+jsQuote(sel)+`).options].map(o => o.text).join(" | ")`)
		u.t.Fatalf("%s offers no %q: %s", sel, label, opts)
	}
}

// htmxIdle waits until htmx has no request, swap or settle under way and,
// when the element at sel is an htmx element, has wired it up: a list that
// htmx has just swapped in ignores a change until then. A person is never
// that fast; a test is.
func (u *ui) htmxIdle(sel string) {
	u.t.Helper()
	u.waitFor("htmx to settle around "+sel, `window.htmx && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") &&
		(el => el && (!el.matches("[hx-get], [hx-post]") || (el["htmx-internal-data"] || {}).initHash))(document.querySelector(`+jsQuote(sel)+`))`)
}

// retype replaces the text of an input or textarea with what the keyboard
// types: select everything in it, then type over the selection.
func (u *ui) retype(sel, text string) {
	u.t.Helper()
	u.do("select the text of "+sel, chromedp.Focus(chromedp.CSS(sel)))
	js[chromedp.Void](u, `document.querySelector(`+jsQuote(sel)+`).select()`)
	u.do("type into "+sel, chromedp.KeyEvent(text))
	if got := js[string](u, `document.querySelector(`+jsQuote(sel)+`).value`); got != text {
		u.t.Fatalf("%s holds %q after retyping, want %q", sel, got, text)
	}
}

// typeDate types an ISO date into an <input type=date> in the order the
// browser's locale shows the day, month and year segments.
func (u *ui) typeDate(sel, iso string) {
	u.t.Helper()
	d, err := time.Parse("2006-01-02", iso)
	if err != nil {
		u.t.Fatal(err)
	}
	order := js[[]string](u, `new Intl.DateTimeFormat(navigator.language).formatToParts(new Date(2000, 10, 22)).filter(p => p.type !== "literal").map(p => p.type)`)
	var keys string
	for _, part := range order {
		switch part {
		case "year":
			keys += d.Format("2006")
		case "month":
			keys += d.Format("01")
		case "day":
			keys += d.Format("02")
		}
	}
	u.do("type a date into "+sel, chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(keys))
	if got := js[string](u, `document.querySelector(`+jsQuote(sel)+`).value`); got != iso {
		u.t.Fatalf("%s holds %q after typing %q (locale order %v), want %s", sel, got, keys, order, iso)
	}
}

// browserStaff creates a member of staff who signs in with browserPassword.
func browserStaff(t testing.TB, a *app.App, user string, role access.Role, caseload ...string) string {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.System)
	s, err := a.Access.CreateStaff(ctx, access.NewStaff{Username: user, DisplayName: "Test " + user, Role: role, Caseload: caseload, Password: browserPassword})
	if err != nil {
		t.Fatal(err)
	}
	return s.ID
}

func countRows(t testing.TB, a *app.App, query string, args ...any) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestBrowserRegisterAdmitTransfer is the reception desk: a unit manager
// signs in, finds a known person by a misspelt name without diacritics,
// registers a new person (correcting an invalid ID number the server
// refuses), records the legal basis, admits them to a cell through the
// institution → unit → cell picker and transfers them to a cell in
// another unit. The record then shows the new cell and a timeline with
// the transfer above the admission.
func TestBrowserRegisterAdmitTransfer(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	ctx := audit.WithActor(context.Background(), audit.System)
	unitB, err := a.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Unit, ParentID: w.instIn, Code: "IN-B", Name: "Avdelning B", SecurityLevel: 1, Gender: "male"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Estate.CreateCell(ctx, estate.NewCell{UnitID: unitB.ID, Label: "201", Capacity: 1, SecurityLevel: 1, Gender: "male"}); err != nil {
		t.Fatal(err)
	}
	browserStaff(t, a, "manager", access.UnitManager, w.instIn)
	u := newUI(t, a)
	u.login("manager")

	// Search as you type: no diacritics, a letter missing. The results
	// come in through htmx, so the page itself is not reloaded.
	u.waitFor("the search page", `location.pathname === "/clients" && document.querySelector("#q")`)
	js[chromedp.Void](u, `window.__samePage = true`)
	u.do("type a search", chromedp.SendKeys(chromedp.CSS("#q"), "Ake Lindqvst"))
	u.waitFor("Åke Lindqvist in the live results", textOf("#results tbody")+`.includes("Åke Lindqvist")`)
	if !js[bool](u, `window.__samePage === true`) {
		t.Error("the search results came with a page load, not as a live update")
	}
	if res := u.text("#results"); strings.Contains(res, "Örjan") {
		t.Errorf("the results list a person outside the caseload although someone inside matches: %s", res)
	}
	if href := js[string](u, `document.querySelector("#results tbody a").getAttribute("href")`); href != "/clients/"+w.clientIn {
		t.Errorf("the hit links to %s, want /clients/%s", href, w.clientIn)
	}

	// Register a new person; the first try has an ID number that fails
	// its check digit.
	clientsBefore := countRows(t, a, `SELECT COUNT(*) FROM clients`)
	u.do("open the registration form", chromedp.Click(chromedp.CSS(`a[href="/clients/new"]`)))
	u.waitFor("the registration form", `document.querySelector("#f-given_name")`)
	u.do("type the names",
		chromedp.SendKeys(chromedp.CSS("#f-given_name"), "Maja"),
		chromedp.SendKeys(chromedp.CSS("#f-family_name"), "Öberg"),
		chromedp.SendKeys(chromedp.CSS("#f-national_id"), "19900101-1234"),
	)
	u.choose("#f-national_id_country", "Sweden")
	u.choose("#f-home_location", "Anstalt IN")
	u.do("submit the registration", chromedp.Click(chromedp.CSS(`form[action="/clients/new"] button[type=submit]`)))
	u.waitFor("the error next to the ID number", `document.querySelector("#e-f-national_id")`)
	if msg := u.text("#e-f-national_id"); len(msg) < len("Error: x") {
		t.Errorf("the ID number's error says %q", msg)
	}
	if js[string](u, `document.querySelector("#f-national_id").getAttribute("aria-invalid")`) != "true" {
		t.Error("the ID number field is not marked invalid")
	}
	// The server must send the typed values back (the value attribute),
	// not leave it to the browser's draft.
	for sel, want := range map[string]string{"#f-given_name": "Maja", "#f-family_name": "Öberg", "#f-national_id": "19900101-1234"} {
		if got := js[string](u, `document.querySelector(`+jsQuote(sel)+`).getAttribute("value") || ""`); got != want {
			t.Errorf("after the refused submit %s holds %q, want %q", sel, got, want)
		}
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM clients`); n != clientsBefore {
		t.Fatalf("a refused registration stored someone: %d clients, was %d", n, clientsBefore)
	}
	pnr := natid.Generate(natid.SE, time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), natid.Female, nil)
	u.retype("#f-national_id", pnr)
	u.do("submit the corrected registration", chromedp.Click(chromedp.CSS(`form[action="/clients/new"] button[type=submit]`)))
	u.waitFor("the new record", textOf("#client-name")+` === "Maja Öberg"`)
	id := js[string](u, `location.pathname.split("/")[2]`)
	if n := countRows(t, a, `SELECT COUNT(*) FROM clients`); n != clientsBefore+1 {
		t.Fatalf("%d clients after registering one, was %d", n, clientsBefore)
	}

	// The legal basis the admission rests on.
	u.do("open the legal-basis form", chromedp.Click(chromedp.CSS(`section[aria-labelledby="h-bases"] details > summary`)))
	u.choose("#basis-kind", "Remand")
	u.typeDate("#basis-start_date", "2026-11-01")
	u.do("type the offences", chromedp.SendKeys(chromedp.CSS("#basis-offences"), "Grov stöld"))
	u.do("record the legal basis", chromedp.Click(chromedp.CSS(`form[action$="/legal-bases"] button[type=submit]`)))
	u.waitFor("the legal basis on the record", textOf(`section[aria-labelledby="h-bases"] ul`)+`.includes("Grov stöld")`)

	// Admit: the picker narrows institution → unit → cell through htmx.
	u.do("open the admission form", chromedp.Click(chromedp.CSS(`details.move:has(input[name=action][value=admit]) > summary`)))
	units := `[...document.querySelectorAll("#admit-unit option")].map(o => o.text).join("|")`
	cells := `[...document.querySelectorAll("#admit-cell_id option")].map(o => o.text).join("|")`
	u.choose("#admit-institution", "Anstalt OUT")
	u.waitFor("the units of Anstalt OUT", `!`+units+`.includes("Avdelning B") && `+units+`.includes("Avdelning A")`)
	u.choose("#admit-institution", "Anstalt IN")
	u.waitFor("the units of Anstalt IN", units+`.includes("Avdelning B")`)
	u.choose("#admit-unit", "Avdelning A")
	u.waitFor("the free cells of Avdelning A", cells+`.includes("101")`)
	if c := js[string](u, cells); strings.Contains(c, "201") {
		t.Errorf("the cells of Avdelning A include one of Avdelning B: %s", c)
	}
	u.choose("#admit-cell_id", "101")
	u.do("admit", chromedp.Click(chromedp.CSS(`form.move-form:has(input[name=action][value=admit]) button[type=submit]`)))
	u.waitFor("the record in custody in cell 101", textOf(".client-header .facts")+`.includes("Avdelning A, Cell 101")`)
	if s := u.text(".client-header .pill"); s != "In custody" {
		t.Errorf("status after admission: %q", s)
	}

	// Transfer to the cell of the other unit.
	u.do("open the transfer form", chromedp.Click(chromedp.CSS(`details.move:has(input[name=action][value=transfer]) > summary`)))
	tcells := `[...document.querySelectorAll("#transfer-cell_id option")].map(o => o.text).join("|")`
	u.choose("#transfer-unit", "Avdelning B")
	u.waitFor("the free cells of Avdelning B", tcells+`.includes("201")`)
	u.choose("#transfer-cell_id", "201")
	u.do("give a reason", chromedp.SendKeys(chromedp.CSS("#transfer-reason"), "Moved during renovation of wing A"))
	u.do("transfer", chromedp.Click(chromedp.CSS(`form.move-form:has(input[name=action][value=transfer]) button[type=submit]`)))
	u.waitFor("the record in cell 201", textOf(".client-header .facts")+`.includes("Anstalt IN, Avdelning B, Cell 201")`)

	c, err := a.Client.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Location == nil || c.Location.UnitID != unitB.ID || c.Status != client.InCustody {
		t.Errorf("the register has %+v (%s), want Avdelning B in custody", c.Location, c.Status)
	}
	// The page may still be settling (a queued form's page is loaded
	// again after the server answered): read the timeline once it is there.
	u.waitFor("the timeline", `document.querySelectorAll("#timeline li .what").length > 0`)
	kinds := js[[]string](u, `[...document.querySelectorAll("#timeline li .what")].map(e => e.textContent.trim())`)
	tr, ad := slices.Index(kinds, "Transfer"), slices.Index(kinds, "Admission")
	if tr != 0 || ad < 0 || tr > ad {
		t.Errorf("timeline %v: want Transfer first and above Admission", kinds)
	}

	if os.Getenv("CUSTODIA_SCREENSHOT") == "1" {
		u.do("reload the record at 1280×900", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(a.URL()+"/clients/"+id))
		u.waitFor("the record", textOf("#client-name")+` === "Maja Öberg"`)
		shot, err := chromedp.Run(u.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshot.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowserHeadcountAddsUp opens the nominal roll of an institution and
// checks its figures, per unit and in total, against the people admitted
// through the services: in cells, on leave (bed kept) and escaped.
func TestBrowserHeadcountAddsUp(t *testing.T) {
	a := apptest.Start(t)
	ctx := audit.WithActor(context.Background(), audit.System)
	inst, err := a.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Institution, Code: "HC", Name: "Anstalt Hall", Category: "closed", SecurityLevel: 2, Gender: "male"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Institution, Code: "OT", Name: "Anstalt Other", Category: "closed", SecurityLevel: 2, Gender: "male"})
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ inCells, onLeave, escaped int }
	type unit struct {
		id, name string
		cells    []string
		want     want
	}
	mkUnit := func(parent, code, name string, cells, capacity int) *unit {
		l, err := a.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Unit, ParentID: parent, Code: code, Name: name, SecurityLevel: 2, Gender: "male"})
		if err != nil {
			t.Fatal(err)
		}
		un := &unit{id: l.ID, name: name}
		for i := range cells {
			c, err := a.Estate.CreateCell(ctx, estate.NewCell{UnitID: l.ID, Label: strconv.Itoa(100*len(code) + i + 1), Capacity: capacity, SecurityLevel: 2, Gender: "male"})
			if err != nil {
				t.Fatal(err)
			}
			un.cells = append(un.cells, c.ID)
		}
		return un
	}
	units := []*unit{mkUnit(inst.ID, "HC-A", "Avdelning Alfa", 3, 2), mkUnit(inst.ID, "HC-B", "Avdelning Beta", 2, 1)}
	elsewhere := mkUnit(other.ID, "OT-A", "Avdelning Annan", 1, 2)
	n := 0
	// admit puts a new person in cell, then moves them on as then says.
	admit := func(un *unit, cell string, then ...client.Action) {
		n++
		c, err := a.Client.Register(ctx, client.NewClient{GivenName: "Person" + strconv.Itoa(n), FamilyName: "Roll", BirthDate: "1980-02-03", Sex: "M", HomeLocation: inst.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Client.AddLegalBasis(ctx, c.ID, client.NewLegalBasis{Kind: client.BasisSentence, StartDate: "2026-01-01", LengthDays: 365, Offences: "Bedrägeri"}); err != nil {
			t.Fatal(err)
		}
		mv, err := a.Client.MoveClient(ctx, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: cell})
		if err != nil {
			t.Fatal(err)
		}
		v := mv.Client.Version
		for _, act := range then {
			mv, err := a.Client.MoveClient(ctx, c.ID, client.Move{Action: act, Version: v, Reason: "Test movement " + string(act)})
			if err != nil {
				t.Fatalf("%s: %v", act, err)
			}
			v = mv.Client.Version
		}
		if un == nil {
			return
		}
		switch {
		case len(then) == 0:
			un.want.inCells++
		case then[len(then)-1] == client.LeaveOut:
			un.want.onLeave++
		case then[len(then)-1] == client.Escape:
			un.want.escaped++
		}
	}
	alfa, beta := units[0], units[1]
	admit(alfa, alfa.cells[0])
	admit(alfa, alfa.cells[0])
	admit(alfa, alfa.cells[1])
	admit(alfa, alfa.cells[1], client.LeaveOut)
	admit(alfa, alfa.cells[2], client.Escape)
	admit(beta, beta.cells[0])
	admit(beta, beta.cells[1], client.LeaveOut, client.LeaveReturn, client.Escape)
	admit(nil, elsewhere.cells[0]) // another institution: not on this roll
	outsider := "Person" + strconv.Itoa(n) + " Roll"
	browserStaff(t, a, "officer", access.Officer, inst.ID)

	u := newUI(t, a)
	u.login("officer")
	u.do("open the headcount", chromedp.Click(chromedp.CSS(`nav a[href="/headcount"]`)))
	u.waitFor("the choice of institutions", `location.pathname === "/headcount" && document.querySelector(`+jsQuote(`a[href="/headcount/`+inst.ID+`"]`)+`)`)
	u.do("open the roll of Anstalt Hall", chromedp.Click(chromedp.CSS(`a[href="/headcount/`+inst.ID+`"]`)))
	u.waitFor("the nominal roll", `document.querySelector('section[aria-labelledby="h-totals"] tfoot')`)

	// The totals table: a row per unit, then the total.
	rows := js[[][]string](u, `[...document.querySelectorAll('section[aria-labelledby="h-totals"] tbody tr, section[aria-labelledby="h-totals"] tfoot tr')].map(tr => [...tr.children].map(c => c.textContent.trim()))`)
	if len(rows) != len(units)+1 {
		t.Fatalf("the totals table has %d rows, want %d: %v", len(rows), len(units)+1, rows)
	}
	num := func(row []string, col int) int {
		t.Helper()
		v, err := strconv.Atoi(row[col])
		if err != nil {
			t.Fatalf("row %v column %d: %v", row, col, err)
		}
		return v
	}
	// Columns: unit, roll, present, on leave, escaped, capacity, occupied, free, out of use.
	check := func(row []string, name string, w want) {
		t.Helper()
		got := want{num(row, 2), num(row, 3), num(row, 4)}
		if row[0] != name || got != w || num(row, 1) != w.inCells+w.onLeave+w.escaped {
			t.Errorf("row %v: want %s with roll %d (in cells %d, on leave %d, escaped %d)", row, name, w.inCells+w.onLeave+w.escaped, w.inCells, w.onLeave, w.escaped)
		}
		// Beds: the people in cells and those on leave hold one each.
		if occ := num(row, 6); occ != w.inCells+w.onLeave {
			t.Errorf("row %v: %d occupied beds, want %d", row, occ, w.inCells+w.onLeave)
		}
	}
	var total want
	for i, un := range units {
		check(rows[i], un.name, un.want)
		total.inCells += un.want.inCells
		total.onLeave += un.want.onLeave
		total.escaped += un.want.escaped
	}
	check(rows[len(units)], "Total", total)
	if roll := num(rows[len(units)], 1); roll != n-1 {
		t.Errorf("the roll totals %d, but %d people were admitted to the institution", roll, n-1)
	}
	if bad := js[int](u, `document.querySelectorAll(".roll-check.bad, tr.mismatch").length`); bad != 0 {
		t.Errorf("the roll shows %d mismatch warnings: %s", bad, u.text(".roll-check.bad"))
	}
	if ok := js[int](u, `document.querySelectorAll(".roll-check.ok").length`); ok != len(units)+1 {
		t.Errorf("%d checks say the count agrees, want %d (the institution and each unit)", ok, len(units)+1)
	}
	if body := u.text("main"); strings.Contains(body, outsider) {
		t.Error("the roll lists a person of another institution")
	}
}

// TestBrowserBreakGlass: an officer opens a record outside the caseload,
// is refused with the way in offered, gives too short a reason and is told
// so next to the field, then gives a proper one and sees the record under
// a break-glass banner; the read is flagged in the audit log.
func TestBrowserBreakGlass(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	officer := browserStaff(t, a, "officer", access.Officer, w.instIn)
	u := newUI(t, a)
	u.login("officer")

	u.do("open a record outside the caseload", chromedp.Navigate(a.URL()+"/clients/"+w.clientOut))
	if h := u.text("main h1"); !strings.HasPrefix(h, "403") {
		t.Errorf("the page says %q, want a 403 refusal", h)
	}
	if strings.Contains(u.text("main"), "Örjan") {
		t.Error("the refusal shows the person's name")
	}
	form := `form[action="/clients/` + w.clientOut + `/break-glass"]`
	u.waitFor("the break-glass form", `document.querySelector(`+jsQuote(form+" textarea")+`)`)
	u.do("give too short a reason",
		chromedp.SendKeys(chromedp.CSS(form+" textarea"), "curious"),
		chromedp.Click(chromedp.CSS(form+" button[type=submit]")),
	)
	u.waitFor("the error next to the reason", `document.querySelector("#e-f-reason")`)
	if msg := u.text("#e-f-reason"); !strings.Contains(msg, "10 characters") {
		t.Errorf("the reason's error says %q", msg)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM break_glass`); n != 0 {
		t.Fatalf("a too short reason opened %d grants", n)
	}
	reason := "Night shift: urgent medication question from the hospital"
	u.retype("#f-reason", reason)
	u.do("open the record with the reason", chromedp.Click(chromedp.CSS(form+" button[type=submit]")))
	u.waitFor("the record", textOf("#client-name")+` === "Örjan Lindqvist"`)
	if b := u.text(".client-header .banner.break-glass"); !strings.Contains(b, "Break-glass") {
		t.Errorf("no break-glass banner on the record (got %q)", b)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM audit_log WHERE client_id = $1 AND actor_id = $2 AND action = 'client.read' AND break_glass = 1 AND reason = $3`, w.clientOut, officer, reason); n < 1 {
		t.Errorf("no flagged read of the record in the audit log")
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM audit_log WHERE client_id = $1 AND actor_id = $2 AND action LIKE 'client.%read' AND break_glass = 0`, w.clientOut, officer); n != 0 {
		t.Errorf("%d unflagged reads of the record by the officer in the audit log", n)
	}
}

// TestBrowserOfflineDraft types into a form kept as a draft (data-keep),
// reloads the page and finds the text restored from the browser's
// IndexedDB, with the status line saying so; nothing reached the server.
func TestBrowserOfflineDraft(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	browserStaff(t, a, "manager", access.UnitManager, w.instIn)
	u := newUI(t, a)
	u.login("manager")
	before := countRows(t, a, `SELECT COUNT(*) FROM clients`)

	u.do("open the registration form", chromedp.Navigate(a.URL()+"/clients/new"))
	u.waitFor("a form kept as a draft", `document.querySelector('form[data-keep="client-new"] #f-given_name')`)
	u.do("type",
		chromedp.SendKeys(chromedp.CSS("#f-given_name"), "Sven"),
		chromedp.SendKeys(chromedp.CSS("#f-family_name"), "Ångström"),
		chromedp.SendKeys(chromedp.CSS("#f-aliases"), "Svenne"),
	)
	u.do("reload", chromedp.Reload())
	u.waitFor("the reloaded form", `document.querySelector("#f-given_name") && document.readyState === "complete"`)
	// Restoring reads IndexedDB, which answers asynchronously.
	u.waitFor("the status line saying the draft was restored", textOf("#sync-status")+` === "Draft restored"`)
	for sel, want := range map[string]string{"#f-given_name": "Sven", "#f-family_name": "Ångström", "#f-aliases": "Svenne"} {
		if got := js[string](u, `document.querySelector(`+jsQuote(sel)+`).value`); got != want {
			t.Errorf("after the reload %s holds %q, want %q from the draft", sel, got, want)
		}
		// The server knows nothing of the draft: the value is the browser's.
		if attr := js[string](u, `document.querySelector(`+jsQuote(sel)+`).getAttribute("value") || ""`); attr != "" {
			t.Errorf("the server rendered %s with %q", sel, attr)
		}
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM clients`); n != before {
		t.Errorf("typing registered someone: %d clients, was %d", n, before)
	}
	// The draft is in IndexedDB, under the signed-in user; the synchronous
	// journal in localStorage was folded into it and is empty again.
	type draft struct {
		Key  string     `json:"key"`
		User string     `json:"user"`
		F    [][]string `json:"f"`
	}
	u.waitFor("the journal folded into IndexedDB", `!Object.keys(localStorage).some(k => k.includes(":draft:client-new:"))`)
	var mine []draft
	for _, d := range js[[]draft](u, idbAll("drafts")) {
		if strings.Contains(d.Key, ":draft:client-new:") {
			mine = append(mine, d)
		}
	}
	if len(mine) != 1 || mine[0].User != js[string](u, userJS) || !slices.ContainsFunc(mine[0].F, func(p []string) bool { return len(p) == 2 && p[0] == "given_name" && p[1] == "Sven" }) {
		t.Errorf("drafts of the registration form in IndexedDB: %+v", mine)
	}
}
