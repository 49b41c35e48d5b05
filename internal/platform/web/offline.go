// SPDX-License-Identifier: AGPL-3.0-or-later

package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web/assets"
)

// OfflinePath is the generic page the service worker shows, from its
// cache, when a page cannot be loaded because the network or the server is
// down. It holds no personal data: it is the same for everyone, rendered
// without the session, and the browser fills in what waits on the device.
const OfflinePath = "/offline"

// swVersion is replaced in sw.js by a hash of everything the worker
// precaches, so that a binary with a new offline page or new assets is a
// new worker: the browser installs it, it caches the new copies under a new
// cache name and deletes the old ones.
const swVersion = "__CUSTODIA_SW_VERSION__"

// offlinePage is the page at OfflinePath in lang: no principal, no CSRF
// token, no flash — nothing of the request but its language.
func offlinePage(lang i18n.Lang) *Page {
	return &Page{Title: i18n.T(lang, "offline.title"), Lang: lang, Path: OfflinePath, Offline: true}
}

func renderOffline(lang i18n.Lang) ([]byte, error) {
	t, ok := pages.pages["offline.html"]
	if !ok {
		return nil, fmt.Errorf("web: no offline page")
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", offlinePage(lang)); err != nil {
		return nil, fmt.Errorf("web: render the offline page: %w", err)
	}
	return buf.Bytes(), nil
}

// offline serves the page in the language asked for (?lang=, which is how
// the worker caches every language), else in the request's. It sets no
// cookie and reads nothing of the session but its language.
func (s *Server) offline(w http.ResponseWriter, r *http.Request) error {
	lang := i18n.Lang(r.URL.Query().Get("lang"))
	if !lang.Valid() {
		lang = LangOf(r)
	}
	b, err := renderOffline(lang)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", string(lang))
	_, err = w.Write(b)
	return err
}

var serviceWorker = sync.OnceValues(func() ([]byte, error) {
	src, err := fs.ReadFile(assets.FS, "sw.js")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	err = fs.WalkDir(assets.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets.FS, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range i18n.Langs() {
		b, err := renderOffline(l)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "offline %s %d\n", l, len(b))
		h.Write(b)
	}
	v := hex.EncodeToString(h.Sum(nil))[:16]
	return bytes.Replace(src, []byte(swVersion), []byte(v), 1), nil
})

// sw serves the service worker that sends the browser's outbox and shows
// the offline page. At the root, so its scope is the whole site;
// revalidated on every check, so a new version reaches the browsers with
// the binary.
func (s *Server) sw(w http.ResponseWriter, r *http.Request) {
	b, err := serviceWorker()
	if err != nil {
		s.Log.Error("service worker", "err", err)
		http.Error(w, "The service worker is not available.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "sw.js", time.Time{}, bytes.NewReader(b))
}
