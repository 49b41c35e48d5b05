// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/i18n"
)

// TestBrowserOfflinePageSharedTablet: a wing tablet that two officers
// use. Sven, who reads Swedish, is signed in; an alert Otto queued earlier
// still waits on the tablet. The server goes away and Sven opens a page:
// the offline page is in Swedish (his pages told the worker so; it
// cached the page without cookies) and says nothing of Sven's waits — Otto's
// alert is not listed to Sven, nor sent under his session. The server comes
// back and the page goes back to where Sven was going.
// CUSTODIA_SCREENSHOT_DIR=dir saves the Swedish page as offline-sv.png. Sven signs out; the
// server goes away again: the offline page knows nobody and lists nothing.
func TestBrowserOfflinePageSharedTablet(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	ctx := audit.WithActor(context.Background(), audit.System)
	if _, err := a.Access.CreateStaff(ctx, access.NewStaff{Username: "sven", DisplayName: "Test sven", Role: access.Officer, Caseload: []string{w.instIn}, Password: browserPassword, Lang: "sv"}); err != nil {
		t.Fatal(err)
	}
	otto := browserStaff(t, a, "otto", access.Officer, w.instIn)
	px := startProxy(t, a.URL())
	u := newUI(t, a)
	u.loginAt(px.URL(), "sven")

	page := "/clients/" + w.clientIn
	alertsPath := page + "/alerts"
	ottoKey := "0190c0de-0000-7000-8000-0000000000aa"
	u.do("open a record", chromedp.Navigate(px.URL()+page))
	u.waitFor("the service worker, with the offline page in Swedish", `navigator.serviceWorker.getRegistration().then(r => !!(r && r.active)) &&
		caches.match("/offline").then(r => !!r && r.headers.get("Content-Language") === "sv")`)
	// Otto's alert, queued on this tablet before Sven signed in.
	item, _ := json.Marshal([]map[string]any{{"id": ottoKey, "url": px.URL() + alertsPath, "page": page, "label": "Otto's alert", "keep": "", "tries": 1, "next": 0,
		"body": url.Values{"kind": {"medical"}, "note": {"Otto's note"}, "idempotency_key": {ottoKey}}.Encode()}})
	js[chromedp.Void](u, `localStorage.setItem(`+jsQuote("custodia:"+otto+":outbox")+`, `+jsQuote(string(item))+`)`)
	u.do("load the record again", chromedp.Reload())
	u.waitFor("Otto's alert in IndexedDB", `(`+idbAll("outbox")+`).then(b => b.some(i => i.id === `+jsQuote(ottoKey)+`))`)

	px.set(cut)
	u.do("open the list of clients", chromedp.Navigate(px.URL()+"/clients"))
	u.waitFor("the offline page under the address asked for", `document.getElementById("custodia-offline") && location.pathname === "/clients"`)
	if l := js[string](u, `document.documentElement.lang`); l != "sv" {
		t.Errorf("the offline page is in %q, want Sven's Swedish", l)
	}
	if h := u.text("#custodia-offline h1"); h != i18n.T("sv", "offline.title") {
		t.Errorf("the offline page's heading: %q", h)
	}
	u.waitFor("the status saying nothing of Sven's waits", textOf("#sync-status")+` === `+jsQuote(i18n.T("sv", "offline.none")))
	if n := js[int](u, `document.querySelectorAll("#sync-status li").length`); n != 0 {
		t.Errorf("the offline page lists %d items to Sven: %s", n, u.text("#sync-status"))
	}
	u.screenshot("offline-sv.png")

	px.set(forward)
	u.waitLonger("the page to go back to the list of clients", `!document.getElementById("custodia-offline") && location.pathname === "/clients" && document.querySelector(".usermenu")`, stepTimeout*3)

	u.do("sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button[type=submit]`)))
	u.waitFor("the sign-in page", `location.pathname === "/login" && document.querySelector("#f-username")`)
	if got := js[string](u, `localStorage.getItem("custodia:last-user") || ""`); got != "" {
		t.Errorf("after signing out the tablet still remembers user %s", got)
	}
	loginLang := js[string](u, `document.documentElement.lang`)
	u.waitFor("the worker to keep the offline page in the sign-in page's language", `caches.match("/offline").then(r => !!r && r.headers.get("Content-Language") === `+jsQuote(loginLang)+`)`)

	px.set(cut)
	u.do("open the record", chromedp.Navigate(px.URL()+page))
	u.waitFor("the offline page", `document.getElementById("custodia-offline") && location.pathname === `+jsQuote(page))
	u.waitFor("the offline page knowing nobody", textOf("#sync-status")+` === `+jsQuote(i18n.T(i18n.Lang(loginLang), "offline.anon")))
	if n := js[int](u, `document.querySelectorAll("#sync-status li").length`); n != 0 {
		t.Errorf("with nobody signed in the offline page lists %d items: %s", n, u.text("#sync-status"))
	}
	if !js[bool](u, `(`+idbAll("outbox")+`).then(b => b.some(i => i.id === `+jsQuote(ottoKey)+`))`) {
		t.Error("Otto's alert is gone from the tablet")
	}
	if n := px.posts(alertsPath, ottoKey); n != 0 {
		t.Errorf("Otto's alert was sent %d times while Sven was signed in", n)
	}
}
