// SPDX-License-Identifier: AGPL-3.0-or-later

package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/i18n"
)

//go:embed layout/*.html
var layoutFS embed.FS

// Zone is the time zone times are shown in.
var Zone = func() *time.Location {
	if z, err := time.LoadLocation("Europe/Stockholm"); err == nil {
		return z
	}
	return time.UTC
}()

// Page is what every template gets: the layout's needs plus the page's
// own Data. Errors and Form let a form re-render with the user's input
// and a message next to each field at fault.
type Page struct {
	Title  string
	Nav    string // the active navigation item
	P      *access.Principal
	Lang   i18n.Lang
	CSRF   string
	Flash  string
	Saved  string // the data-keep key the server confirms (browser drafts)
	Error  string // a message for the error summary
	Errors map[string]string
	Form   url.Values
	Data   any
	Status int
	Path   string
	// Offline is the page the service worker shows when the server
	// cannot be reached: the layout leaves out what needs the server.
	Offline bool
}

// Templates is a set of pages, each parsed together with the layout and
// the set's partials (files whose names start with "_").
type Templates struct {
	pages map[string]*template.Template
}

// Funcs are the helpers every template may use.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"t": func(lang i18n.Lang, key string, args ...any) string { return i18n.T(lang, key, args...) },
		"can": func(p *access.Principal, perm string) bool {
			return p != nil && p.Can(access.Permission(perm))
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(Zone).Format("2006-01-02 15:04")
		},
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Format("2006-01-02")
		},
		"isotime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ferr": func(p *Page, field string) string {
			if p == nil {
				return ""
			}
			return p.Errors[field]
		},
		"val": func(p *Page, field string) string {
			if p == nil || p.Form == nil {
				return ""
			}
			return p.Form.Get(field)
		},
		"vals": func(p *Page, field string) []string {
			if p == nil || p.Form == nil {
				return nil
			}
			return p.Form[field]
		},
		"has": func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		},
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"join":     strings.Join,
		"langs":    i18n.Langs,
		"langname": func(l i18n.Lang) string { return i18n.Name(l) },
		"add":      func(a, b int) int { return a + b },
		"sub":      func(a, b int) int { return a - b },
		"query":    url.QueryEscape,
	}
}

// MustTemplates parses every *.html page of fsys (nil: the layout alone)
// with the layout and fsys's partials; it panics on a template error, which
// the first test of any package catches.
func MustTemplates(fsys fs.FS) *Templates {
	base := template.Must(template.New("layout").Funcs(Funcs()).ParseFS(layoutFS, "layout/*.html"))
	ts := &Templates{pages: map[string]*template.Template{}}
	if fsys == nil {
		ts.pages["error.html"] = base
		return ts
	}
	names, err := fs.Glob(fsys, "*.html")
	if err != nil {
		panic(err)
	}
	var partials []string
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			partials = append(partials, n)
		}
	}
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), "_") {
			continue
		}
		t := template.Must(base.Clone())
		if len(partials) > 0 {
			t = template.Must(t.ParseFS(fsys, partials...))
		}
		t = template.Must(t.ParseFS(fsys, n))
		ts.pages[n] = t
	}
	return ts
}

// NewPage starts a page for r: principal, language, CSRF token and any
// flash message left by a redirect.
func (s *Server) NewPage(w http.ResponseWriter, r *http.Request, title string) *Page {
	p := PrincipalFrom(r.Context())
	pg := &Page{Title: title, P: p, Lang: LangOf(r), Path: r.URL.Path}
	if p != nil {
		pg.CSRF = p.CSRF
	}
	if c, err := r.Cookie("custodia_flash"); err == nil {
		if v, err := url.QueryUnescape(c.Value); err == nil {
			msg, saved, _ := strings.Cut(v, "\x1f")
			pg.Flash, pg.Saved = msg, saved
		}
		http.SetCookie(w, &http.Cookie{Name: "custodia_flash", Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	return pg
}

// LangOf picks the language: the user's setting, a chosen cookie, or the
// browser's Accept-Language.
func LangOf(r *http.Request) i18n.Lang {
	setting := ""
	if p := PrincipalFrom(r.Context()); p != nil {
		setting = p.Lang
	}
	if setting == "" {
		if c, err := r.Cookie("custodia_lang"); err == nil {
			setting = c.Value
		}
	}
	return i18n.Match(r.Header.Get("Accept-Language"), setting)
}

// Render writes page name of ts with pg.
func (s *Server) Render(w http.ResponseWriter, ts *Templates, name string, pg *Page) error {
	t, ok := ts.pages[name]
	if !ok {
		return fmt.Errorf("web: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pg); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if pg.Status != 0 {
		w.WriteHeader(pg.Status)
	}
	_, err := buf.WriteTo(w)
	return err
}

// FormError re-renders a form page after a failed submit: the user's input
// is kept, each field error is shown next to its field, and the status is
// 422 (or the error's own status for conflicts and refusals).
func (s *Server) FormError(w http.ResponseWriter, r *http.Request, ts *Templates, name string, pg *Page, err error) error {
	e, ok := apperr.As(err)
	if !ok || e.Code == apperr.Internal || e.Code == apperr.Unauthorized {
		return err
	}
	pg.Form = r.PostForm
	pg.Errors = map[string]string{}
	for _, f := range e.Fields {
		pg.Errors[f.Field] = f.Message
	}
	pg.Error = e.Message
	pg.Status = Status(err)
	return s.Render(w, ts, name, pg)
}

// Redirect sends the browser on after a successful POST (POST-redirect-GET)
// with a flash message; savedKey tells the browser's draft store that the
// form it kept under that key is now safely stored.
func Redirect(w http.ResponseWriter, r *http.Request, to, flash, savedKey string) error {
	http.SetCookie(w, &http.Cookie{Name: "custodia_flash", Value: url.QueryEscape(flash + "\x1f" + savedKey), Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if savedKey != "" {
		w.Header().Set("X-Custodia-Saved", savedKey)
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

type errorData struct {
	Status     int
	Message    string
	BreakGlass bool
	ClientID   string
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	pg := s.NewPage(w, r, "Error")
	pg.Status = Status(err)
	d := errorData{Status: pg.Status, Message: "Something went wrong."}
	if e, ok := apperr.As(err); ok {
		d.Message = e.Message
		if bg, _ := e.Detail["break_glass"].(bool); bg {
			d.BreakGlass = true
			d.ClientID, _ = e.Detail["client_id"].(string)
		}
	}
	pg.Title = d.Message
	pg.Data = d
	if rerr := s.Render(w, s.layout, "error.html", pg); rerr != nil {
		s.Log.Error("render error page", "err", rerr)
		http.Error(w, d.Message, pg.Status)
	}
}

// Localize rewrites a domain error for a page: its message and field
// messages through tr, and — when field is not nil — the service's field
// names into the form's (several service fields may map to one form
// field, which then shows the first message). Other errors pass through.
func Localize(err error, tr func(string) string, field func(string) string) error {
	e, ok := apperr.As(err)
	if !ok || e.Code == apperr.Internal {
		return err
	}
	out := &apperr.Error{Code: e.Code, Message: tr(e.Message), Detail: e.Detail}
	seen := map[string]bool{}
	for _, f := range e.Fields {
		name := f.Field
		if field != nil {
			name = field(name)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out.Fields = append(out.Fields, apperr.FieldError{Field: name, Message: tr(f.Message)})
	}
	return out
}
