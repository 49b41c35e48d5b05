// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"bytes"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

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
