// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/i18n"
)

// cable is what stands between the browser and the app: pulled, the
// server is out of reach (connections are closed at once).
type cable interface {
	URL() string
	pull()
	restore()
	posts(path, key string) int // POSTs that reached the app with that Idempotency-Key
}

type proxyCable struct{ *netProxy }

func (c proxyCable) pull()    { c.set(cut) }
func (c proxyCable) restore() { c.set(forward) }

type frontCable struct{ *front }

func (c frontCable) pull()    { c.set(frontCut) }
func (c frontCable) restore() { c.set(frontForward) }

// screenshot saves the page as name in $CUSTODIA_SCREENSHOT_DIR, if set.
func (u *ui) screenshot(name string) {
	u.t.Helper()
	dir := os.Getenv("CUSTODIA_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	shot, err := chromedp.Run(u.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

// TestBrowserOfflineRegistration is the scenario: an officer fills
// in a use-of-force form, the server goes away, the officer submits; the
// page says it is saved on this device and will be sent automatically and
// lists it, and the server has nothing. The officer reloads while the
// server is still away: the service worker shows the offline page under
// the same address, saying so and listing the registration as still
// waiting. The server comes back: the registration is stored exactly once
// (rows counted, and the POSTs with its Idempotency-Key that reached the
// app), the page goes back to the form by itself, and no draft of it is
// left. The offline page the worker keeps holds no personal data, and the
// worker caches nothing else but the static assets.
//
// Without a service worker (plain http off localhost) a reload while the
// server is away shows the browser's own error page; the registration
// stays on the device and is sent, once, when a page of the site is
// loaded again.
//
// CUSTODIA_SCREENSHOT_DIR=dir saves the offline page as offline.png there.
func TestBrowserOfflineRegistration(t *testing.T) {
	for _, worker := range []bool{true, false} {
		name := "worker"
		if !worker {
			name = "page"
		}
		t.Run(name, func(t *testing.T) { testOfflineRegistration(t, worker) })
	}
}

func testOfflineRegistration(t *testing.T, worker bool) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	browserStaff(t, a, "otto", access.Officer, w.unitIn)
	browserStaff(t, a, "olga", access.Officer, w.instIn)
	var c cable
	if worker {
		c = proxyCable{startProxy(t, a.URL())}
	} else {
		fr := startFront(t, a.URL())
		fr.noWorker.Store(true)
		c = frontCable{fr}
	}
	u := newUI(t, a)
	u.loginAt(c.URL(), "otto")

	regsPath := "/clients/" + w.clientIn + "/registrations"
	formPage := regsPath + "/new?kind=use_of_force"
	narrative := "He refused to go back to his cell and hit Olga. We held him until he calmed down."
	regs := func() int {
		return countRows(t, a, `SELECT COUNT(*) FROM registrations WHERE client_id = $1`, w.clientIn)
	}
	unsent := strings.Replace(i18n.T("en", "sync.unsent"), "%d", "1", 1)
	offlinePage := `document.getElementById("custodia-offline") && location.pathname + location.search === ` + jsQuote(formPage)
	regDrafts := `Promise.all([Object.keys(localStorage).filter(k => k.includes(":draft:reg-new-")), (` + idbAll("drafts") + `).then(ds => ds.map(d => d.key).filter(k => k.includes(":draft:reg-new-")))]).then(([j, d]) => j.concat(d))`

	u.do("open the use-of-force form", chromedp.Navigate(c.URL()+formPage))
	if worker {
		u.waitFor("the service worker, active, with the offline page cached",
			`navigator.serviceWorker.getRegistration().then(r => !!(r && r.active)) && caches.match("/offline").then(r => !!r)`)
	} else {
		time.Sleep(300 * time.Millisecond) // the page's attempt to register it
		if js[bool](u, `navigator.serviceWorker.getRegistration().then(r => !!r)`) {
			t.Fatal("a service worker is registered although /sw.js is not there")
		}
	}
	u.fillUseOfForce(narrative, "Test otto", "Test olga")
	u.setLocalTime("#f-occurred_at", time.Now().Add(-20*time.Minute))
	key := js[string](u, `document.querySelector('form[data-keep^="reg-new-"] input[name=idempotency_key]').value`)
	if key == "" {
		t.Fatal("the form has no Idempotency-Key")
	}

	// The server goes away; the officer submits.
	c.pull()
	u.do("submit", chromedp.Click(chromedp.CSS(`button[name=action][value=submit]`)))
	u.waitFor("the status line saying it is saved on this device", textOf("#sync-status .sync-msg")+` === `+jsQuote(unsent))
	if p := js[string](u, `location.pathname + location.search`); p != formPage {
		t.Errorf("the page went to %s while the server was away", p)
	}
	box := js[[]outboxItem](u, outboxJS)
	if len(box) != 1 || box[0].ID != key {
		t.Fatalf("the outbox holds %+v, want the registration under the form's key %s", box, key)
	}
	if body, _ := url.ParseQuery(box[0].Body); body.Get("narrative") != narrative || len(body["staff_used_force"]) != 2 || body.Get("occurred_at") == "" || body.Get("action") != "submit" {
		t.Errorf("the queued registration's form: %v", body)
	}
	checkList := func(when string) {
		t.Helper()
		list := js[[]waitingItem](u, waitingJS)
		if len(list) != 1 {
			t.Fatalf("%s: the list of what waits has %d lines: %+v", when, len(list), list)
		}
		t.Logf("%s, the list says: %s%s", when, list[0].Label, list[0].Facts)
		if list[0].Href != formPage || !strings.Contains(list[0].Label, "Åke Lindqvist") || !strings.Contains(list[0].Facts, "saved ") || !strings.Contains(list[0].Facts, "tries: ") {
			t.Errorf("%s: the waiting registration is listed as %+v, want a link to %s naming the client, when it was saved and the tries", when, list[0], formPage)
		}
	}
	checkList("submitted while the server is away")
	if n := regs(); n != 0 {
		t.Fatalf("the server has %d registrations while out of reach", n)
	}
	if n := c.posts(regsPath, key); n != 0 {
		t.Fatalf("%d copies of the registration reached the app while out of reach", n)
	}

	// The officer reloads while the server is still away.
	if worker {
		u.do("reload", chromedp.Reload())
		u.waitFor("the offline page under the form's address", offlinePage)
		if h := u.text("#custodia-offline h1"); h != i18n.T("en", "offline.title") {
			t.Errorf("the offline page's heading: %q", h)
		}
		u.waitFor("the status line saying it still waits", textOf("#sync-status .sync-msg")+` === `+jsQuote(unsent))
		checkList("reloaded while the server is away")
		if !js[bool](u, `document.querySelector("#sync-status details").open`) {
			t.Error("on the offline page the list of what waits is closed")
		}
		page := u.text("main")
		for _, want := range []string{i18n.T("en", "offline.lead"), i18n.T("en", "offline.kept")} {
			if !strings.Contains(page, want) {
				t.Errorf("the offline page does not say %q: %s", want, page)
			}
		}
		if js[bool](u, `!!document.querySelector(".usermenu, form[action='/logout'], #f-narrative")`) {
			t.Error("the offline page shows a signed-in user or the form")
		}
		u.waitFor("the page saying when it checks again", textOf("#offline-check")+`.startsWith(`+jsQuote(strings.Split(i18n.T("en", "offline.next_check"), "%s")[0])+`)`)
		// What the worker keeps: the generic page (nothing of the officer,
		// the person or the registration) and the static assets, nothing
		// else — no page that was visited.
		cached := js[[]string](u, `(async () => { const out = []; for (const k of await caches.keys()) for (const r of await (await caches.open(k)).keys()) { const u = new URL(r.url); out.push(k + " " + u.pathname + u.search); } return out; })()`)
		for _, e := range cached {
			name, path, _ := strings.Cut(e, " ")
			if !strings.HasPrefix(name, "custodia-offline-") || !(path == "/offline" || strings.HasPrefix(path, "/offline?lang=") || strings.HasPrefix(path, "/assets/")) {
				t.Errorf("the browser's cache holds %s", e)
			}
		}
		if len(cached) != 9 {
			t.Errorf("the browser's cache holds %d entries, want the offline page, one per language, and 4 assets: %v", len(cached), cached)
		}
		html := js[string](u, `caches.match("/offline").then(r => r.text())`)
		for _, secret := range []string{"Test otto", "Test olga", "Lindqvist", w.clientIn, "Corridor A", js[string](u, `localStorage.getItem("custodia:last-user")`)} {
			if strings.Contains(html, secret) {
				t.Errorf("the cached offline page holds %q", secret)
			}
		}
		u.screenshot("offline.png")
	} else {
		// Nothing of the site can answer: the browser shows its own error
		// page (chromedp may report the failed load).
		_, _ = chromedp.Run(u.ctx, chromedp.Reload())
		u.waitFor("the browser's error page", `!document.querySelector("#f-narrative") && !document.getElementById("custodia-offline")`)
	}
	time.Sleep(time.Second)
	if n := regs(); n != 0 {
		t.Fatalf("the server has %d registrations while out of reach", n)
	}

	// The server is back.
	c.restore()
	if worker {
		u.waitLonger("the offline page to go back to the form by itself", `!document.getElementById("custodia-offline") && document.querySelector("#f-narrative") && location.pathname + location.search === `+jsQuote(formPage), 45*time.Second)
	} else {
		u.do("load the form again", chromedp.Navigate(c.URL()+formPage))
	}
	u.waitLonger("the outbox to empty", outboxJS+`.then(b => b.length === 0)`, 45*time.Second)
	u.waitFor("the form emptied", `document.querySelector("#f-narrative") && document.querySelector("#f-narrative").value === ""`)
	time.Sleep(2 * time.Second) // time for a duplicate to show
	if n := regs(); n != 1 {
		t.Errorf("the server has %d registrations, want exactly 1", n)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM registrations WHERE client_id = $1 AND place = $2`, w.clientIn, "Corridor A, outside cell 101"); n != 1 {
		t.Errorf("the registration as typed is stored %d times", n)
	}
	if n := c.posts(regsPath, key); n != 1 {
		t.Errorf("%d requests with Idempotency-Key %s reached the app, want 1", n, key)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM registrations WHERE idem_key = $1 AND status = 'submitted'`, key); n != 1 {
		t.Errorf("%d submitted registrations carry the key %s, want 1", n, key)
	}
	u.waitFor("no draft of the registration left", regDrafts+`.then(l => l.length === 0)`)
	if got := js[string](u, `document.querySelector('form[data-keep^="reg-new-"] input[name=idempotency_key]').value`); got == key {
		t.Error("the emptied form still carries the key of the registration the server has: a new one would be answered with the old")
	}
}
