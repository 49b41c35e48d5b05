// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/i18n"
)

// proxyMode is what the cable between the browser and the app does.
type proxyMode int

const (
	forward proxyMode = iota // pass everything
	cut                      // the server is gone: connections are closed at once
	swallow                  // requests reach the server, its answers are lost
)

// netProxy is a TCP proxy in front of the app, so the browser can lose the
// server while the app keeps running. It keeps a copy of every byte sent
// towards the app, to show which requests arrived and with which headers.
type netProxy struct {
	ln     net.Listener
	target string

	mu        sync.Mutex
	mode      proxyMode
	conns     map[net.Conn]struct{}
	sent      bytes.Buffer // everything forwarded to the app
	swallowed int          // answers dropped
}

func startProxy(t *testing.T, target string) *netProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &netProxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.set(cut) })
	return p
}

func (p *netProxy) URL() string { return "http://" + p.ln.Addr().String() }

// set switches the mode; cutting also drops the connections already open.
func (p *netProxy) set(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	if m == cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *netProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == cut {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *netProxy) drop(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *netProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *netProxy) pipe(c net.Conn) {
	if !p.track(c) {
		c.Close()
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(s) {
		if s != nil {
			s.Close()
		}
		p.drop(c)
		return
	}
	defer p.drop(c, s)
	go func() {
		defer p.drop(c, s)
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				p.mu.Lock()
				ok := p.mode != cut
				if ok {
					p.sent.Write(buf[:n])
				}
				p.mu.Unlock()
				if !ok {
					return
				}
				if _, err := s.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			p.mu.Lock()
			m := p.mode
			if m == swallow {
				p.swallowed++
			}
			p.mu.Unlock()
			if m != forward {
				return // the answer is lost on the way; both ends are closed
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// posts counts the requests that reached the app for path with the given
// Idempotency-Key header.
func (p *netProxy) posts(path, key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	re := regexp.MustCompile(`(?is)POST ` + regexp.QuoteMeta(path) + ` HTTP/1\.1\r\n(?:[^\r\n]+\r\n)*?idempotency-key: ` + regexp.QuoteMeta(key) + `\r\n`)
	return len(re.FindAllIndex(p.sent.Bytes(), -1))
}

func (p *netProxy) swallowedAnswers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.swallowed
}

// outboxItem is what custodia.js keeps in the browser's IndexedDB for a
// form it could not send.
type outboxItem struct {
	ID       string  `json:"id"`
	User     string  `json:"user"`
	URL      string  `json:"url"`
	Body     string  `json:"body"`
	Page     string  `json:"page"`
	Label    string  `json:"label"`
	Tries    int     `json:"tries"`
	T        float64 `json:"t"`
	Rejected int     `json:"rejected"`
}

// idbAll is a JavaScript promise of every record in one object store of
// the browser's IndexedDB database "custodia" (none before it exists). It
// reads the database directly, not through custodia.js.
func idbAll(store string) string {
	return `(async () => {
		if (!(await indexedDB.databases()).some(d => d.name === "custodia")) return [];
		const db = await new Promise((ok, fail) => { const r = indexedDB.open("custodia"); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
		try {
			if (!db.objectStoreNames.contains(` + jsQuote(store) + `)) return [];
			return await new Promise((ok, fail) => {
				const q = db.transaction(` + jsQuote(store) + `).objectStore(` + jsQuote(store) + `).getAll();
				q.onsuccess = () => ok(q.result); q.onerror = () => fail(q.error);
			});
		} finally { db.close(); }
	})()`
}

// userJS is the signed-in user's id, as the page names it.
const userJS = `document.querySelector('meta[name="custodia-user"]').content`

// outboxJS is a promise of the signed-in user's outbox (items of other
// users of the device are theirs).
var outboxJS = `(` + idbAll("outbox") + `).then(box => box.filter(i => i.user === ` + userJS + `))`

// TestBrowserOfflineOutbox puts a TCP proxy between Chromium and the app
// and pulls the cable while an officer sets an alert. The page must say
// the alert is kept and will be retried, keep it in the local outbox, and
// the server must not have it; when the cable is back the outbox sends it
// once, with its Idempotency-Key, and says so. Then the next alert from
// the same form reaches the server but its answer is lost: the browser
// retries with the same key and the server still stores it once. Once
// confirmed, nothing of it lingers as a draft.
func TestBrowserOfflineOutbox(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	browserStaff(t, a, "manager", access.UnitManager, w.instIn)
	px := startProxy(t, a.URL())
	u := newUI(t, a)

	// Sign in through the proxy: the browser only ever knows the proxy.
	u.do("open the sign-in page", chromedp.Navigate(px.URL()+"/login"))
	u.do("sign in",
		chromedp.SendKeys(chromedp.CSS("#f-username"), "manager"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), browserPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	)
	u.waitFor("the signed-in start page", `location.pathname !== "/login" && document.querySelector(".usermenu")`)

	page := "/clients/" + w.clientIn
	alertsPath := page + "/alerts"
	form := `form[action="` + alertsPath + `"]`
	alerts := func() int { return countRows(t, a, `SELECT COUNT(*) FROM alerts WHERE client_id = $1`, w.clientIn) }
	keyOnServer := func(key string) int {
		return countRows(t, a, `SELECT COUNT(*) FROM idempotency WHERE key = $1 AND status <> 0`, key)
	}
	outbox := func() []outboxItem { return js[[]outboxItem](u, outboxJS) }
	unsent := strings.Replace(i18n.T("en", "sync.unsent"), "%d", "1", 1)
	saved := jsQuote(i18n.T("en", "sync.saved"))

	u.do("open the record", chromedp.Navigate(px.URL()+page))
	u.waitFor("the alert form, ready", `document.readyState === "complete" && document.querySelector(`+jsQuote(form+` input[name=idempotency_key]`)+`).value`)
	u.do("open the alert form", chromedp.Click(chromedp.CSS(`section[aria-labelledby="h-alerts"] details > summary`)))
	before := alerts()

	// The cable is pulled; the officer sets an alert.
	px.set(cut)
	key1 := js[string](u, `document.querySelector(`+jsQuote(form+` input[name=idempotency_key]`)+`).value`)
	u.choose("#alert-kind", "Medical")
	u.do("type the note", chromedp.SendKeys(chromedp.CSS("#alert-note"), "Insulin at 08 and 20"))
	u.do("set the alert", chromedp.Click(chromedp.CSS(form+" button[type=submit]")))
	u.waitFor("the status line saying the alert is kept and will be retried", textOf("#sync-status .sync-msg")+` === `+jsQuote(unsent))
	if got := js[string](u, `document.querySelector("#sync-status").getAttribute("role") + " " + document.querySelector("#sync-status").getAttribute("aria-live")`); got != "status polite" {
		t.Errorf("the status line is announced as %q, want role=status aria-live=polite", got)
	}
	if p := js[string](u, `location.pathname`); p != page {
		t.Errorf("the page went to %s while offline; the typed alert must stay on screen", p)
	}
	box := outbox()
	if len(box) != 1 {
		t.Fatalf("the outbox holds %d items, want the alert: %+v (status %q, %d alerts on the server, had %d)", len(box), box, u.text("#sync-status"), alerts(), before)
	}
	item := box[0]
	body, err := url.ParseQuery(item.Body)
	if err != nil {
		t.Fatal(err)
	}
	if item.ID != key1 || body.Get("idempotency_key") != key1 || body.Get("note") != "Insulin at 08 and 20" || body.Get("kind") != "medical" || !strings.HasSuffix(item.URL, alertsPath) {
		t.Errorf("the outbox item is %+v, want the alert to %s under the form's key %s", item, alertsPath, key1)
	}
	if n := alerts(); n != before {
		t.Fatalf("the server has %d alerts while cut off, had %d", n, before)
	}
	if n := px.posts(alertsPath, key1); n != 0 {
		t.Fatalf("%d copies of the alert reached the server while cut off", n)
	}

	// The cable is back: the outbox sends the alert by itself.
	px.set(forward)
	u.waitFor("the outbox to empty", outboxJS+`.then(b => b.length === 0)`)
	u.waitFor("the status line saying saved", textOf("#sync-status")+` === `+saved)
	if n := alerts(); n != before+1 {
		t.Fatalf("the server has %d alerts after the outbox sent one, had %d", n, before)
	}
	if n := px.posts(alertsPath, key1); n != 1 {
		t.Errorf("%d requests with Idempotency-Key %s reached the server, want 1", n, key1)
	}
	if keyOnServer(key1) != 1 {
		t.Errorf("the server has no answer stored for key %s", key1)
	}
	// The form is ready for the next alert: emptied, under a new key (the
	// old one would make the server answer a new alert with this one).
	if v := js[string](u, `document.querySelector("#alert-note").value`); v != "" {
		t.Errorf("after the server has the alert the form still shows %q: pressing the button again would send it as a new alert", v)
	}

	// The next alert, from the same form on the same page: its request
	// reaches the server, but the answers are lost on the way back.
	px.set(swallow)
	u.choose("#alert-kind", "Escape risk")
	u.retype("#alert-note", "Planned escape overheard")
	key2 := js[string](u, `document.querySelector(`+jsQuote(form+` input[name=idempotency_key]`)+`).value`)
	if key2 == key1 {
		t.Errorf("the form offers the key of the alert already sent (%s) for a new alert: the server would answer the old one and drop the new", key1)
	}
	u.do("set the second alert", chromedp.Click(chromedp.CSS(form+" button[type=submit]")))
	u.waitFor("the outbox to retry the second alert", outboxJS+`.then(b => b.some(i => i.tries >= 2 && new URLSearchParams(i.body).get("note") === "Planned escape overheard"))`)
	if n := px.swallowedAnswers(); n < 2 {
		t.Errorf("%d answers were lost, want the first and at least one retry", n)
	}
	box = outbox()
	if len(box) != 1 {
		t.Fatalf("the outbox holds %d items, want the second alert: %+v", len(box), box)
	}
	key2 = box[0].ID
	if n := px.posts(alertsPath, key2); n < 2 {
		t.Errorf("%d requests with Idempotency-Key %s reached the server, want the first and a retry", n, key2)
	}
	if n := alerts(); n != before+2 {
		t.Fatalf("the server has %d alerts after the second reached it (retried, answers lost), want %d", n, before+2)
	}
	if got := u.text("#sync-status .sync-msg"); got != unsent {
		t.Errorf("with the answer lost the status line says %q, want %q", got, unsent)
	}

	px.set(forward)
	u.waitFor("the outbox to empty", outboxJS+`.then(b => b.length === 0)`)
	u.waitFor("the status line saying saved", textOf("#sync-status")+` === `+saved)
	if n := alerts(); n != before+2 {
		t.Errorf("the server has %d alerts after all retries, want exactly %d", n, before+2)
	}
	if keyOnServer(key2) != 1 {
		t.Errorf("the server has no answer stored for key %s", key2)
	}

	// Confirmed means done: a reload shows both alerts and no draft of them.
	u.do("reload the record", chromedp.Navigate(px.URL()+page))
	u.waitFor("the reloaded record", `document.readyState === "complete" && document.querySelector("#alert-note")`)
	if list := u.text(`section[aria-labelledby="h-alerts"] .alert-list`); !strings.Contains(list, "Insulin at 08 and 20") || !strings.Contains(list, "Planned escape overheard") {
		t.Errorf("the record's alerts: %q", list)
	}
	if v := js[string](u, `document.querySelector("#alert-note").value`); v != "" {
		t.Errorf("after the reload the alert form is refilled with %q, an alert the server already has", v)
	}
	if drafts := js[[]string](u, `Object.keys(localStorage).filter(k => k.includes(":draft:alert-"))`); len(drafts) != 0 {
		t.Errorf("drafts of saved alerts linger in the localStorage journal: %v", drafts)
	}
	if drafts := js[[]string](u, `(`+idbAll("drafts")+`).then(ds => ds.map(d => d.key).filter(k => k.includes(":draft:alert-")))`); len(drafts) != 0 {
		t.Errorf("drafts of saved alerts linger in IndexedDB: %v", drafts)
	}
}

// frontMode is what the front (an HTTP proxy before the app) does.
type frontMode int32

const (
	frontForward    frontMode = iota // pass everything
	frontCut                         // the network or the server is gone: connections are dropped
	frontWritesDown                  // pages load, but every POST is answered 503 before it reaches the app
)

// front is an HTTP reverse proxy before the app, so a test can take the
// server away from the browser while the app keeps running, and count the
// POSTs that reached the app per path and Idempotency-Key.
type front struct {
	srv      *httptest.Server
	mode     atomic.Int32
	noWorker atomic.Bool // /sw.js is not found: the page must send by itself

	mu      sync.Mutex
	reached map[string]int
}

func startFront(t *testing.T, target string) *front {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &front{reached: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sw.js" && f.noWorker.Load() {
			http.NotFound(w, r)
			return
		}
		switch frontMode(f.mode.Load()) {
		case frontCut:
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		case frontWritesDown:
			if r.Method == http.MethodPost {
				http.Error(w, "The database is down.", http.StatusServiceUnavailable)
				return
			}
		}
		if r.Method == http.MethodPost {
			f.mu.Lock()
			f.reached[r.URL.Path+" "+r.Header.Get("Idempotency-Key")]++
			f.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *front) URL() string     { return f.srv.URL }
func (f *front) set(m frontMode) { f.mode.Store(int32(m)) }
func (f *front) posts(path, key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reached[path+" "+key]
}

// loginAt signs in through the sign-in form at base.
func (u *ui) loginAt(base, user string) {
	u.t.Helper()
	u.do("open the sign-in page", chromedp.Navigate(base+"/login"))
	u.do("sign in",
		chromedp.SendKeys(chromedp.CSS("#f-username"), user),
		chromedp.SendKeys(chromedp.CSS("#f-password"), browserPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	)
	u.waitFor("the signed-in start page", `location.pathname !== "/login" && document.querySelector(".usermenu")`)
}

// openAlertForm opens a client's record at base and its alert form, with
// the service worker running (or, without worker, with none registered),
// and returns the form's selector.
func (u *ui) openAlertForm(base, clientID string, worker bool) string {
	u.t.Helper()
	form := `form[action="/clients/` + clientID + `/alerts"]`
	u.do("open the record", chromedp.Navigate(base+"/clients/"+clientID))
	u.waitFor("the alert form, ready", `document.readyState === "complete" && document.querySelector(`+jsQuote(form+` input[name=idempotency_key]`)+`).value`)
	if worker {
		u.waitFor("the service worker, active", `navigator.serviceWorker.getRegistration().then(r => !!(r && r.active))`)
	} else {
		time.Sleep(300 * time.Millisecond) // the page's attempt to register it
		if js[bool](u, `navigator.serviceWorker.getRegistration().then(r => !!r)`) {
			u.t.Fatal("a service worker is registered although /sw.js is not there")
		}
	}
	u.do("open the alert form", chromedp.Click(chromedp.CSS(`section[aria-labelledby="h-alerts"] details > summary`)))
	return form
}

// waitingItem is one line of the list of what waits on this device.
type waitingItem struct {
	Href  string `json:"href"`
	Label string `json:"label"`
	Facts string `json:"facts"`
}

const waitingJS = `[...document.querySelectorAll("#sync-status .sync-list li[data-id]")].map(li => ({href: li.querySelector("a").getAttribute("href"), label: li.querySelector("a").textContent, facts: li.querySelector(".sync-facts").textContent}))`

// TestBrowserOfflineWaitingList: the server goes away and an officer sets
// an alert. The status line says plainly that it is saved on this device
// and will be sent automatically, and opens to a list of what waits: the
// form and record, when it was saved, how many tries. A reload while the
// server still cannot store anything loses nothing — the list is back, the
// alert is still kept, its draft under the same Idempotency-Key. When the
// server is back the alert is stored exactly once (rows counted on the
// server, POSTs counted on the way) and nothing of it lingers. The same
// holds where no service worker runs (plain http off localhost): then the
// page sends by itself.
func TestBrowserOfflineWaitingList(t *testing.T) {
	for _, worker := range []bool{true, false} {
		name := "worker"
		if !worker {
			name = "page"
		}
		t.Run(name, func(t *testing.T) { testWaitingList(t, worker) })
	}
}

func testWaitingList(t *testing.T, worker bool) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	browserStaff(t, a, "manager", access.UnitManager, w.instIn)
	fr := startFront(t, a.URL())
	fr.noWorker.Store(!worker)
	u := newUI(t, a)
	u.loginAt(fr.URL(), "manager")

	page := "/clients/" + w.clientIn
	alertsPath := page + "/alerts"
	alerts := func() int { return countRows(t, a, `SELECT COUNT(*) FROM alerts WHERE client_id = $1`, w.clientIn) }
	unsent := strings.Replace(i18n.T("en", "sync.unsent"), "%d", "1", 1)
	form := u.openAlertForm(fr.URL(), w.clientIn, worker)
	heading := u.text(`section[aria-labelledby="h-alerts"] h2`)
	before := alerts()

	fr.set(frontCut)
	key := js[string](u, `document.querySelector(`+jsQuote(form+` input[name=idempotency_key]`)+`).value`)
	u.choose("#alert-kind", "Medical")
	u.do("type the note", chromedp.SendKeys(chromedp.CSS("#alert-note"), "Allergic to penicillin"))
	u.do("set the alert", chromedp.Click(chromedp.CSS(form+" button[type=submit]")))
	u.waitFor("the status line saying the alert is saved on this device", textOf("#sync-status .sync-msg")+` === `+jsQuote(unsent))
	if !strings.HasPrefix(unsent, "Saved on this device — will be sent automatically") {
		t.Errorf("the status line says %q", unsent)
	}
	check := func(when string, minTries int) {
		t.Helper()
		list := js[[]waitingItem](u, waitingJS)
		if len(list) != 1 {
			t.Fatalf("%s: the list of what waits has %d lines: %+v", when, len(list), list)
		}
		it := list[0]
		t.Logf("%s, the list says: %s%s", when, it.Label, it.Facts)
		if it.Href != page || !strings.Contains(it.Label, heading) || !strings.Contains(it.Label, "Åke Lindqvist") {
			t.Errorf("%s: the waiting alert is listed as %+v, want a link to %s naming %q and the client", when, it, page, heading)
		}
		tries := regexp.MustCompile(`tries: (\d+)`).FindStringSubmatch(it.Facts)
		if !strings.Contains(it.Facts, "saved ") || !strings.Contains(it.Facts, "next try ") || tries == nil {
			t.Errorf("%s: the waiting alert's facts: %q", when, it.Facts)
		} else if n, _ := strconv.Atoi(tries[1]); n < minTries {
			t.Errorf("%s: %d tries listed, want at least %d", when, n, minTries)
		}
	}
	check("offline", 1)
	// The list opens from the status line, with the keyboard too.
	u.do("open the list", chromedp.Focus(chromedp.CSS("#sync-status summary")), chromedp.KeyEvent("\r"))
	if !js[bool](u, `document.querySelector("#sync-status details").open && document.querySelector("#sync-status .sync-list").getBoundingClientRect().height > 0`) {
		t.Error("the list of what waits does not open from the status line")
	}

	// The server is up again but cannot store anything; the officer reloads.
	fr.set(frontWritesDown)
	u.do("reload", chromedp.Reload())
	u.waitFor("the reloaded record", `document.readyState === "complete" && document.querySelector("#alert-note")`)
	u.waitFor("the status line after the reload", textOf("#sync-status .sync-msg")+` === `+jsQuote(unsent))
	u.waitFor("a retry refused by the server that cannot store", outboxJS+`.then(b => b.length === 1 && b[0].tries >= 2)`)
	u.waitFor("the list to show the retry", waitingJS+`.some(i => /tries: ([2-9]|\d\d)/.test(i.facts))`)
	check("after the reload", 2)
	if got := js[string](u, `document.querySelector(`+jsQuote(form+` input[name=idempotency_key]`)+`).value`); got != key {
		t.Errorf("after the reload the form's key is %s, want the queued alert's %s: sending the form again would store it twice", got, key)
	}
	if n := alerts(); n != before {
		t.Fatalf("the server has %d alerts while it could not store, had %d", n, before)
	}
	if n := fr.posts(alertsPath, key); n != 0 {
		t.Fatalf("%d copies reached the app while it was down", n)
	}

	fr.set(frontForward)
	u.waitLonger("the outbox to empty", outboxJS+`.then(b => b.length === 0)`, 45*time.Second)
	u.waitFor("the status line saying saved", textOf("#sync-status")+` === `+jsQuote(i18n.T("en", "sync.saved")))
	if n := alerts(); n != before+1 {
		t.Errorf("the server has %d alerts, want exactly %d", n, before+1)
	}
	if n := fr.posts(alertsPath, key); n != 1 {
		t.Errorf("%d requests with the alert's key reached the app, want 1", n)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM alerts WHERE client_id = $1 AND note = $2`, w.clientIn, "Allergic to penicillin"); n != 1 {
		t.Errorf("the alert is stored %d times", n)
	}
	if v := js[string](u, `document.querySelector("#alert-note").value`); v != "" {
		t.Errorf("after the server has the alert the form still shows %q", v)
	}
	if drafts := js[[]string](u, `(`+idbAll("drafts")+`).then(ds => ds.map(d => d.key).filter(k => k.includes(":draft:alert-")))`); len(drafts) != 0 {
		t.Errorf("drafts of the saved alert linger in IndexedDB: %v", drafts)
	}
}

// sitePages lists the tabs open on base.
func sitePages(t *testing.T, ctx context.Context, base string) []string {
	t.Helper()
	ts, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ti := range ts {
		if ti.Type == "page" && strings.HasPrefix(ti.URL, base) {
			out = append(out, ti.URL)
		}
	}
	return out
}

// TestBrowserOfflineWorkerSendsAfterTabClosed: the page that queued an
// alert is closed while the server is gone; no page of the site is open
// when it comes back, and the service worker delivers the alert, once.
// Then the same with the worker stopped as well (as the browser stops idle
// workers): the browser's Background Sync event starts it, and it sends
// the alert with a CSRF token of its own from GET /session. Chromium
// retries a failed sync only minutes later, so the test fires that event
// itself through the DevTools protocol.
func TestBrowserOfflineWorkerSendsAfterTabClosed(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	browserStaff(t, a, "manager", access.UnitManager, w.instIn)
	fr := startFront(t, a.URL())
	u := newUI(t, a)
	u.loginAt(fr.URL(), "manager")
	// The first tab stays open, off the site, to drive the browser.
	u.do("leave the site", chromedp.Navigate("about:blank"))

	alertsPath := "/clients/" + w.clientIn + "/alerts"
	alerts := func() int { return countRows(t, a, `SELECT COUNT(*) FROM alerts WHERE client_id = $1`, w.clientIn) }
	unsent := strings.Replace(i18n.T("en", "sync.unsent"), "%d", "1", 1)
	before := alerts()

	// queueInTab sets an alert in a new tab while the server is gone and
	// closes the tab; it returns the alert's Idempotency-Key.
	queueInTab := func(note string) string {
		t.Helper()
		tctx, cancel := chromedp.NewContext(u.ctx)
		// The tab lives as long as the context of its first action.
		if err := chromedp.Do(tctx); err != nil {
			t.Fatal(err)
		}
		tab := &ui{t: t, ctx: tctx, a: a}
		form := tab.openAlertForm(fr.URL(), w.clientIn, true)
		fr.set(frontCut)
		tab.choose("#alert-kind", "Medical")
		tab.do("type the note", chromedp.SendKeys(chromedp.CSS("#alert-note"), note))
		tab.do("set the alert", chromedp.Click(chromedp.CSS(form+" button[type=submit]")))
		tab.waitFor("the status line saying the alert is saved on this device", textOf("#sync-status .sync-msg")+` === `+jsQuote(unsent))
		box := js[[]outboxItem](tab, outboxJS)
		if len(box) != 1 {
			t.Fatalf("the outbox holds %+v, want the alert", box)
		}
		cancel()
		if err := chromedp.Cancel(tctx); err != nil && err != context.Canceled {
			t.Logf("close the tab: %v", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(sitePages(t, u.ctx, fr.URL())) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the tab did not close: %v", sitePages(t, u.ctx, fr.URL()))
			}
			time.Sleep(50 * time.Millisecond)
		}
		return box[0].ID
	}
	waitServer := func(what string, cond func() bool, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: timed out", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// 1. The worker keeps retrying after the tab is gone.
	key1 := queueInTab("Diabetic, insulin at 08")
	time.Sleep(time.Second) // the server stays away a little longer
	if n := alerts(); n != before {
		t.Fatalf("the server has %d alerts while cut off, had %d", n, before)
	}
	fr.set(frontForward)
	waitServer("the worker to deliver the alert", func() bool { return alerts() == before+1 }, 60*time.Second)
	if open := sitePages(t, u.ctx, fr.URL()); len(open) != 0 {
		t.Errorf("a page of the site was open while the alert was delivered: %v", open)
	}
	time.Sleep(2 * time.Second) // time for a duplicate to show
	if n := alerts(); n != before+1 {
		t.Errorf("the server has %d alerts, want exactly %d", n, before+1)
	}
	if n := fr.posts(alertsPath, key1); n != 1 {
		t.Errorf("%d requests with the alert's key reached the app, want 1", n)
	}

	// 2. The worker is stopped too; a Background Sync event starts it.
	ectx, cancelEvents := context.WithTimeout(u.ctx, stepTimeout)
	defer cancelEvents()
	evs := chromedp.Events(ectx, serviceworker.WorkerRegistrationUpdated)
	if _, err := chromedp.Call(u.ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	var regID serviceworker.RegistrationID
	for ev, err := range evs {
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ev.Registrations {
			if strings.HasPrefix(r.ScopeURL, fr.URL()) && !r.IsDeleted {
				regID = r.RegistrationID
			}
		}
		if regID != "" {
			break
		}
	}
	cancelEvents()
	key2 := queueInTab("Epileptic, see the plan")
	if _, err := chromedp.Call(u.ctx, serviceworker.StopAllWorkers, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	fr.set(frontForward)
	time.Sleep(2 * time.Second)
	if n := alerts(); n != before+1 {
		t.Fatalf("with no page and the worker stopped something sent the alert: %d alerts, want %d", n, before+1)
	}
	if _, err := chromedp.Call(u.ctx, serviceworker.DispatchSyncEvent, serviceworker.DispatchSyncEventParams{
		Origin: fr.URL(), RegistrationID: regID, Tag: "custodia-outbox"}); err != nil {
		t.Fatal(err)
	}
	waitServer("the woken worker to deliver the alert", func() bool { return alerts() == before+2 }, 30*time.Second)
	time.Sleep(2 * time.Second)
	if n := alerts(); n != before+2 {
		t.Errorf("the server has %d alerts, want exactly %d", n, before+2)
	}
	if n := fr.posts(alertsPath, key2); n != 1 {
		t.Errorf("%d requests with the second alert's key reached the app, want 1", n)
	}
	if open := sitePages(t, u.ctx, fr.URL()); len(open) != 0 {
		t.Errorf("a page of the site was open while the alert was delivered: %v", open)
	}
}

// TestBrowserOfflineDraftsInIndexedDB: what an officer types is kept in
// the browser's IndexedDB (read back here directly), and the synchronous
// localStorage journal that covers the moment before IndexedDB commits is
// emptied once it has; a reload restores the draft. Then the device is one
// that ran the earlier version, which kept everything in localStorage: a
// draft, an alert queued by this officer and one queued by another
// officer. The first load moves them all into IndexedDB; this officer's
// alert is sent, once, with a fresh CSRF token (the stored one is stale);
// the other officer's waits for them; the draft is there to continue.
func TestBrowserOfflineDraftsInIndexedDB(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	manager := browserStaff(t, a, "manager", access.UnitManager, w.instIn)
	u := newUI(t, a)
	u.login("manager")
	type draft struct {
		Key  string     `json:"key"`
		User string     `json:"user"`
		F    [][]string `json:"f"`
		K    string     `json:"k"`
	}
	alertDrafts := func() []draft {
		var out []draft
		for _, d := range js[[]draft](u, idbAll("drafts")) {
			if strings.Contains(d.Key, ":draft:alert-"+w.clientIn+":") {
				out = append(out, d)
			}
		}
		return out
	}

	u.openAlertForm(a.URL(), w.clientIn, true)
	u.choose("#alert-kind", "Medical")
	u.do("type the note", chromedp.SendKeys(chromedp.CSS("#alert-note"), "Vegetarian, no pork"))
	u.waitFor("the draft in IndexedDB", `(`+idbAll("drafts")+`).then(ds => ds.some(d => d.key.includes(":draft:alert-") && d.f.some(p => p[0] === "note" && p[1] === "Vegetarian, no pork")))`)
	u.waitFor("the journal emptied", `!Object.keys(localStorage).some(k => k.includes(":draft:alert-"))`)
	if ds := alertDrafts(); len(ds) != 1 || ds[0].User != manager {
		t.Errorf("the alert form's drafts in IndexedDB: %+v, want one of user %s", ds, manager)
	}
	u.do("reload", chromedp.Reload())
	u.waitFor("the draft restored", `document.querySelector("#alert-note") && document.querySelector("#alert-note").value === "Vegetarian, no pork"`)
	if v := js[string](u, `document.querySelector("#alert-kind").value`); v != "medical" {
		t.Errorf("after the reload the kind is %q, want medical from the draft", v)
	}

	// The device ran the earlier version: everything is in localStorage.
	alertsURL := a.URL() + "/clients/" + w.clientIn + "/alerts"
	mineKey, theirsKey := "0190c0de-0000-7000-8000-000000000001", "0190c0de-0000-7000-8000-000000000002"
	legacyItem := func(key, note string) map[string]any {
		return map[string]any{"id": key, "url": alertsURL, "page": "/clients/" + w.clientIn, "keep": "", "tries": 3, "next": 0,
			"body": url.Values{"csrf": {"stale-token"}, "kind": {"medical"}, "note": {note}, "idempotency_key": {key}}.Encode()}
	}
	seed, _ := json.Marshal(map[string]any{
		"custodia:" + manager + ":outbox":                        []any{legacyItem(mineKey, "Queued before the upgrade")},
		"custodia:someone-else:outbox":                           []any{legacyItem(theirsKey, "Queued by someone else")},
		"custodia:" + manager + ":draft:client-new:/clients/new": map[string]any{"t": 1, "f": [][]string{{"given_name", "Legacy"}, {"family_name", "Draftsson"}}},
	})
	js[chromedp.Void](u, `(() => { const s = `+string(seed)+`; for (const k in s) localStorage.setItem(k, JSON.stringify(s[k])); })()`)
	stored := func(note string) int {
		return countRows(t, a, `SELECT COUNT(*) FROM alerts WHERE client_id = $1 AND note = $2`, w.clientIn, note)
	}
	u.do("load a page", chromedp.Navigate(a.URL()+"/clients"))
	u.waitFor("the journal folded into IndexedDB", `!Object.keys(localStorage).some(k => k.endsWith(":outbox") || k.includes(":draft:client-new:"))`)
	u.waitLonger("the upgraded alert to be sent", outboxJS+`.then(b => b.length === 0)`, 30*time.Second)
	if n := stored("Queued before the upgrade"); n != 1 {
		t.Errorf("the alert queued before the upgrade is stored %d times, want 1", n)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM idempotency WHERE key = $1 AND status <> 0`, mineKey); n != 1 {
		t.Errorf("the server has no answer for the upgraded alert's key")
	}
	others := js[[]outboxItem](u, `(`+idbAll("outbox")+`).then(b => b.filter(i => i.user === "someone-else"))`)
	if len(others) != 1 || others[0].ID != theirsKey {
		t.Errorf("the other officer's queued alert in IndexedDB: %+v, want it kept for them", others)
	}
	if n := stored("Queued by someone else"); n != 0 {
		t.Errorf("another officer's queued alert was sent under this officer's session (%d stored)", n)
	}
	u.do("open the registration form", chromedp.Navigate(a.URL()+"/clients/new"))
	u.waitFor("the upgraded draft restored", `document.querySelector("#f-given_name") && document.querySelector("#f-given_name").value === "Legacy"`)
	if v := js[string](u, `document.querySelector("#f-family_name").value`); v != "Draftsson" {
		t.Errorf("the upgraded draft's family name: %q", v)
	}
	time.Sleep(time.Second)
	if n := stored("Queued before the upgrade"); n != 1 {
		t.Errorf("the alert queued before the upgrade is stored %d times after another page load, want 1", n)
	}
}

// TestBrowserOfflineRefusedStaysVisible: an alert queued while the server
// was away turns out to be one the server refuses (no kind chosen). It is
// not dropped: the status line says so, the list opens by itself with a
// link back to the record, and there the form is filled in again to be
// corrected; the corrected alert is a new request and is stored once.
func TestBrowserOfflineRefusedStaysVisible(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	browserStaff(t, a, "manager", access.UnitManager, w.instIn)
	fr := startFront(t, a.URL())
	u := newUI(t, a)
	u.loginAt(fr.URL(), "manager")
	page := "/clients/" + w.clientIn
	form := u.openAlertForm(fr.URL(), w.clientIn, true)
	note := "Threatened staff on the wing"
	stored := func() int {
		return countRows(t, a, `SELECT COUNT(*) FROM alerts WHERE client_id = $1 AND note = $2`, w.clientIn, note)
	}

	fr.set(frontCut)
	u.do("type the note, no kind", chromedp.SendKeys(chromedp.CSS("#alert-note"), note))
	u.do("set the alert", chromedp.Click(chromedp.CSS(form+" button[type=submit]")))
	// Kept, and its first attempt failed: a cable restored before that
	// attempt would let the page send it online, where a refusal is shown
	// the ordinary way (the form re-rendered), not kept.
	u.waitFor("the alert kept after a failed attempt", outboxJS+`.then(b => b.length === 1 && b[0].tries >= 1)`)
	key := js[[]outboxItem](u, outboxJS)[0].ID
	fr.set(frontForward)
	u.waitLonger("the server's refusal", outboxJS+`.then(b => b.length === 1 && b[0].rejected === 422)`, 30*time.Second)
	rejected := strings.Replace(i18n.T("en", "sync.rejected"), "%d", "1", 1)
	u.waitFor("the status line saying it was not accepted", textOf("#sync-status .sync-msg")+` === `+jsQuote(rejected))
	if !js[bool](u, `document.querySelector("#sync-status details").open`) {
		t.Error("the list with the refused alert is closed; its link back to the form is hidden")
	}
	list := js[[]waitingItem](u, waitingJS)
	if len(list) != 1 || list[0].Href != page || !strings.Contains(list[0].Facts, "not accepted (422)") {
		t.Fatalf("the list: %+v, want the refused alert linking to %s", list, page)
	}
	if n := stored(); n != 0 {
		t.Fatalf("the refused alert is stored %d times", n)
	}

	u.do("follow the link back to the form", chromedp.Click(chromedp.CSS("#sync-status .sync-list a")))
	u.waitFor("the form filled in again", `document.querySelector("#alert-note") && document.querySelector("#alert-note").value === `+jsQuote(note))
	u.waitFor("the outbox emptied", outboxJS+`.then(b => b.length === 0)`)
	if got := js[string](u, `document.querySelector(`+jsQuote(form+` input[name=idempotency_key]`)+`).value`); got == key {
		t.Error("the form to correct carries the refused request's key")
	}
	u.do("open the alert form", chromedp.Click(chromedp.CSS(`section[aria-labelledby="h-alerts"] details > summary`)))
	u.choose("#alert-kind", "Violence risk")
	u.do("set the corrected alert", chromedp.Click(chromedp.CSS(form+" button[type=submit]")))
	u.waitFor("the alert on the record", textOf(`section[aria-labelledby="h-alerts"] .alert-list`)+`.includes(`+jsQuote(note)+`)`)
	if n := stored(); n != 1 {
		t.Errorf("the corrected alert is stored %d times, want 1", n)
	}
}
