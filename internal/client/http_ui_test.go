// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"net/url"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func TestUIRegisterForm(t *testing.T) {
	h := newHTTPEnv(t, dbtest.SQLite(t))
	cw := h.staff("cw", access.CaseWorker, h.inst.ID)
	res, body := cw.do("GET", "/clients/new", "")
	if res.StatusCode != 200 || !strings.Contains(body, `data-keep="client-new"`) || !strings.Contains(body, "Kumla") || !strings.Contains(body, "Frivården Örebro") {
		t.Fatalf("form: %d", res.StatusCode)
	}
	// A bad ID number: 422, the typed values kept, the message beside the field.
	form := url.Values{"given_name": {"Åsa"}, "family_name": {"Öberg"}, "aliases": {"Åsa Ö"}, "national_id": {"19900101-1234"}, "national_id_country": {"SE"},
		"nationality": {"SE"}, "languages": {"sv, fi"}, "home_location": {h.inst.ID}}
	res, body = cw.form("/clients/new", form)
	if res.StatusCode != 422 {
		t.Fatalf("bad ID: %d", res.StatusCode)
	}
	for _, want := range []string{`value="Åsa"`, `value="Öberg"`, `value="19900101-1234"`, `value="sv, fi"`, `<option value="SE" selected>`,
		`id="e-f-national_id"`, `aria-invalid="true"`, `href="#f-national_id"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the re-rendered form lacks %s", want)
		}
	}
	if n := h.count(`SELECT COUNT(*) FROM clients`); n != 0 {
		t.Fatal("an invalid form registered someone")
	}
	// Swedish: the field message is translated.
	res, body = cw.form("/clients/new", form, "Accept-Language", "sv")
	if res.StatusCode != 422 || !strings.Contains(body, "Inte ett giltigt") {
		t.Fatalf("Swedish re-render: %d", res.StatusCode)
	}
	// Valid: redirect to the record with a flash; a replay of the offline
	// queue's key does not register twice.
	c := h.register("Anna", "Berg")
	form.Set("national_id", h.natID("SE"))
	form.Set("idempotency_key", "k-1")
	res, _ = cw.form("/clients/new", form)
	if res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/clients/") || res.Header.Get("X-Custodia-Saved") != "client-new" {
		t.Fatalf("register: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res2, _ := cw.form("/clients/new", form)
	if res2.StatusCode != 303 || res2.Header.Get("Location") != res.Header.Get("Location") || h.count(`SELECT COUNT(*) FROM clients`) != 2 {
		t.Fatalf("replayed submit: %d, %d clients", res2.StatusCode, h.count(`SELECT COUNT(*) FROM clients`))
	}
	flash := ""
	for _, ck := range res.Cookies() {
		if ck.Name == "custodia_flash" {
			flash, _ = url.QueryUnescape(ck.Value)
		}
	}
	if !strings.HasPrefix(flash, "Registered Åsa Öberg as K-") {
		t.Fatalf("flash %q", flash)
	}
	res, body = cw.do("GET", res.Header.Get("Location"), "")
	if res.StatusCode != 200 || !strings.Contains(body, "Åsa") || !strings.Contains(body, "Öberg") {
		t.Fatalf("record page after registering: %d", res.StatusCode)
	}
	// A duplicate ID: the message names the existing record and links to it.
	form.Set("national_id", c.NationalID)
	form.Del("idempotency_key")
	res, body = cw.form("/clients/new", form)
	if res.StatusCode != 409 || !strings.Contains(body, c.Number) || !strings.Contains(body, `href="/clients/`+c.ID+`"`) {
		t.Fatalf("duplicate: %d", res.StatusCode)
	}
}

func TestUIClientPageAndMovements(t *testing.T) {
	h := newHTTPEnv(t, dbtest.SQLite(t))
	off := h.staff("off", access.Officer, h.inst.ID)
	c := h.register("Carl", "Dahl")
	h.basis(c, BasisSentence)
	if _, err := h.svc.AddAlert(h.ctx, c.ID, NewAlert{Kind: "violence", Note: "Hot"}); err != nil {
		t.Fatal(err)
	}
	res, body := off.do("GET", "/clients/"+c.ID, "")
	if res.StatusCode != 200 {
		t.Fatalf("page: %d", res.StatusCode)
	}
	for _, want := range []string{c.Number, "badge violence", `name="action" value="admit"`, `name="action" value="start_community"`, `class="timeline"`,
		`hx-get="/clients/` + c.ID + `/placement?pre=admit-"`} {
		if !strings.Contains(body, want) {
			t.Errorf("client page lacks %s", want)
		}
	}
	if strings.Contains(body, `value="transfer"`) || strings.Contains(body, "/edit") || strings.Contains(body, "/merge") {
		t.Error("the page offers what the status or the role does not allow")
	}
	// Search finds the person, with the alert badge.
	res, body = off.do("GET", "/clients?q=karl+dal", "")
	if res.StatusCode != 200 || !strings.Contains(body, `href="/clients/`+c.ID+`"`) || !strings.Contains(body, `class="badge violence"`) || !strings.Contains(body, "<html") {
		t.Fatalf("search: %d", res.StatusCode)
	}
	// The cell picker narrows to cells with a free bed.
	h.admitted("Full", "Cell", "A1")
	reads := h.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'client.read' AND client_id = $1`, c.ID)
	res, body = off.do("GET", "/clients/"+c.ID+"/placement?pre=admit-&institution="+h.inst.ID+"&unit="+h.unitA.ID, "", "HX-Request", "true")
	if res.StatusCode != 200 || strings.Contains(body, "<html") || !strings.Contains(body, h.cells["A2"].ID) || strings.Contains(body, h.cells["A1"].ID) || !strings.Contains(body, `id="admit-cell_id"`) {
		t.Fatalf("placement: %d %s", res.StatusCode, body)
	}
	if h.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'client.read' AND client_id = $1`, c.ID) != reads+1 {
		t.Fatal("the cell picker read the person's record without an audit row")
	}
	// Admission through the form.
	res, _ = off.form("/clients/"+c.ID+"/movements", url.Values{"action": {"admit"}, "version": {"1"}, "cell_id": {h.cells["A2"].ID}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/clients/"+c.ID {
		t.Fatalf("admit: %d", res.StatusCode)
	}
	// A transfer to a full cell comes back with the reason kept.
	res, body = off.form("/clients/"+c.ID+"/movements", url.Values{"action": {"transfer"}, "version": {"2"}, "institution": {h.inst.ID}, "unit": {h.unitA.ID},
		"cell_id": {h.cells["A1"].ID}, "reason": {"Konflikt på avdelningen"}})
	if res.StatusCode != 409 || !strings.Contains(body, "Konflikt på avdelningen") || !strings.Contains(body, "is full") || !strings.Contains(body, `id="e-f-cell_id"`) {
		t.Fatalf("full cell: %d", res.StatusCode)
	}
	// A stale version: a clear conflict.
	res, body = off.form("/clients/"+c.ID+"/movements", url.Values{"action": {"leave_out"}, "version": {"1"}})
	if res.StatusCode != 409 || !strings.Contains(body, "Someone else changed") {
		t.Fatalf("stale movement: %d", res.StatusCode)
	}
	// Older timeline lines come as an htmx fragment.
	for range 25 {
		if _, err := h.svc.AddAlert(h.ctx, c.ID, NewAlert{Kind: "other", Note: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	_, body = off.do("GET", "/clients/"+c.ID, "")
	i := strings.Index(body, `hx-get="/clients/`+c.ID+`/timeline?before=`)
	if i < 0 {
		t.Fatal("no link to older lines")
	}
	href := body[i+len(`hx-get="`):]
	href = strings.ReplaceAll(href[:strings.Index(href, `"`)], "&amp;", "&")
	res, frag := off.do("GET", href, "", "HX-Request", "true")
	if res.StatusCode != 200 || strings.Contains(frag, "<html") || !strings.Contains(frag, "Registered as "+c.Number) {
		t.Fatalf("older lines: %d %s", res.StatusCode, frag)
	}
	// An officer cannot record a legal basis (client.write).
	if res, _ := off.form("/clients/"+c.ID+"/legal-bases", url.Values{"kind": {"remand"}}); res.StatusCode != 403 {
		t.Fatalf("officer adding a legal basis: %d", res.StatusCode)
	}
}

func TestUIRoleWithoutMove(t *testing.T) {
	h := newHTTPEnv(t, dbtest.SQLite(t))
	c := h.admitted("Dan", "Ek", "A1")
	fin := h.staff("fin", access.Finance, h.inst.ID)
	if res, _ := fin.do("GET", "/clients/"+c.ID, ""); res.StatusCode != 200 {
		t.Fatalf("finance reading: %d", res.StatusCode)
	}
	res, _ := fin.form("/clients/"+c.ID+"/movements", url.Values{"action": {"release"}, "version": {"2"}})
	if res.StatusCode != 403 {
		t.Fatalf("finance releasing someone: %d", res.StatusCode)
	}
	if now, _ := findClient(h.ctx, h.db, c.ID); now.Status != InCustody {
		t.Fatal("the refused release happened")
	}
}

func TestUICaseloadAndBreakGlass(t *testing.T) {
	h := newHTTPEnv(t, dbtest.SQLite(t))
	c := h.admitted("Eva", "Fors", "A1")
	other := h.staff("other", access.Officer, h.inst2.ID)
	res, body := other.do("GET", "/clients/"+c.ID, "")
	if res.StatusCode != 403 || !strings.Contains(body, `action="/clients/`+c.ID+`/break-glass"`) || strings.Contains(body, "Fors") {
		t.Fatalf("outside the caseload: %d", res.StatusCode)
	}
	// The search lists the person by identity only, with the way in.
	res, body = other.do("GET", "/clients?q=eva+fors", "", "HX-Request", "true")
	if res.StatusCode != 200 || strings.Contains(body, "<html") || !strings.Contains(body, c.Number) || !strings.Contains(body, "/clients/"+c.ID+"/break-glass") ||
		strings.Contains(body, `href="/clients/`+c.ID+`"`) {
		t.Fatalf("search outside the caseload: %d %s", res.StatusCode, body)
	}
	// Too short a reason: the form again with the message.
	res, body = other.form("/clients/"+c.ID+"/break-glass", url.Values{"reason": {"because"}})
	if res.StatusCode != 422 || !strings.Contains(body, `value="because"`) && !strings.Contains(body, ">because<") {
		t.Fatalf("short reason: %d", res.StatusCode)
	}
	res, _ = other.form("/clients/"+c.ID+"/break-glass", url.Values{"reason": {"Medical emergency during the night shift"}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/clients/"+c.ID {
		t.Fatalf("break-glass: %d", res.StatusCode)
	}
	res, body = other.do("GET", "/clients/"+c.ID, "")
	if res.StatusCode != 200 || !strings.Contains(body, "Fors") || !strings.Contains(body, "banner break-glass") {
		t.Fatalf("after break-glass: %d", res.StatusCode)
	}
	if n := h.count(`SELECT COUNT(*) FROM audit_log WHERE client_id = $1 AND action = 'client.read' AND break_glass = 1`, c.ID); n != 1 {
		t.Fatalf("the read under break-glass was not flagged (%d)", n)
	}
}

func TestUIEditAndMerge(t *testing.T) {
	h := newHTTPEnv(t, dbtest.SQLite(t))
	cw := h.staff("cw", access.CaseWorker, h.inst.ID)
	c := h.register("Gun", "Holm")
	res, body := cw.do("GET", "/clients/"+c.ID+"/edit", "")
	if res.StatusCode != 200 || !strings.Contains(body, `value="Gun"`) || !strings.Contains(body, `name="version" value="1"`) {
		t.Fatalf("edit form: %d", res.StatusCode)
	}
	form := url.Values{"version": {"1"}, "given_name": {"Gunn"}, "family_name": {"Holm"}, "national_id": {c.NationalID}, "national_id_country": {"SE"}}
	if res, _ := cw.form("/clients/"+c.ID+"/edit", form); res.StatusCode != 303 {
		t.Fatalf("save: %d", res.StatusCode)
	}
	// The same stale form again: 409, typed values kept, nothing overwritten.
	form.Set("given_name", "Gunilla")
	res, body = cw.form("/clients/"+c.ID+"/edit", form)
	if res.StatusCode != 409 || !strings.Contains(body, `value="Gunilla"`) || !strings.Contains(body, "Nothing was saved") {
		t.Fatalf("stale save: %d", res.StatusCode)
	}
	if now, _ := findClient(h.ctx, h.db, c.ID); now.GivenName != "Gunn" {
		t.Fatalf("stale save overwrote: %s", now.GivenName)
	}
	// Merge: preview, confirm, undo.
	dup, err := h.svc.Register(h.ctx, NewClient{GivenName: "Gun", FamilyName: "Holm", BirthDate: c.BirthDate, Sex: "F", HomeLocation: h.inst.ID})
	if err != nil {
		t.Fatal(err)
	}
	res, body = cw.form("/clients/"+c.ID+"/merge", url.Values{"merged_id": {dup.Number}, "reason": {"Registered twice"}, "version": {"2"}})
	if res.StatusCode != 200 || !strings.Contains(body, dup.Number) || !strings.Contains(body, `name="confirm" value="1"`) {
		t.Fatalf("merge preview: %d", res.StatusCode)
	}
	if n := h.count(`SELECT COUNT(*) FROM client_merges`); n != 0 {
		t.Fatal("the preview merged")
	}
	res, _ = cw.form("/clients/"+c.ID+"/merge", url.Values{"merged_id": {dup.ID}, "reason": {"Registered twice"}, "version": {"2"}, "merged_version": {"1"}, "confirm": {"1"}})
	if res.StatusCode != 303 {
		t.Fatalf("merge: %d", res.StatusCode)
	}
	// The duplicate's address leads to the survivor.
	if res, _ := cw.do("GET", "/clients/"+dup.ID, ""); res.StatusCode != 303 || res.Header.Get("Location") != "/clients/"+c.ID {
		t.Fatalf("merged id: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	ms, _ := h.svc.Merges(h.ctx, c.ID)
	if len(ms) != 1 {
		t.Fatal("no merge recorded")
	}
	if res, _ := cw.form("/clients/"+c.ID+"/merges/"+ms[0].ID+"/undo", url.Values{}); res.StatusCode != 303 {
		t.Fatalf("undo: %d", res.StatusCode)
	}
	if canon, _, _ := h.svc.Locate(h.ctx, dup.ID); canon != dup.ID {
		t.Fatal("undo did not separate the records")
	}
}

// TestUIReleasedLocationIsLast: a released person's page shows where they
// were last, marked as such, not as if they were still there.
func TestUIReleasedLocationIsLast(t *testing.T) {
	h := newHTTPEnv(t, dbtest.SQLite(t))
	c := h.admitted("Siv", "Ek", "A1")
	mgr := h.staff("mgr", access.UnitManager, h.inst.ID)
	_, body := mgr.do("GET", "/clients/"+c.ID, "")
	if strings.Contains(body, "Last:") {
		t.Fatal("a person in custody is shown at their last location")
	}
	h.mustMove(c.ID, Move{Action: Release, Version: c.Version, Reason: "sentence served"})
	res, body := mgr.do("GET", "/clients/"+c.ID, "")
	if res.StatusCode != 200 || !strings.Contains(body, "Last:") {
		t.Fatalf("released: %d; the location is not marked as the last one", res.StatusCode)
	}
}
