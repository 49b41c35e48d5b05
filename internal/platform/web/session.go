// SPDX-License-Identifier: AGPL-3.0-or-later

package web

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web/assets"
)

//go:embed pages/*.html
var pagesFS embed.FS

var pages = func() *Templates {
	sub, _ := fs.Sub(pagesFS, "pages")
	return MustTemplates(sub)
}()

// RegisterBase adds the routes every deployment has: sign-in and -out,
// language choice, health, static assets, the JSON session endpoints, the
// service worker and its offline page.
func (s *Server) RegisterBase() {
	s.Handle(Route{Method: "GET", Pattern: "/login", Scope: ScopePublic, Summary: "Sign-in page", Handle: s.loginPage})
	s.Handle(Route{Method: "POST", Pattern: "/login", Scope: ScopePublic, Summary: "Sign in", Handle: s.login})
	s.Handle(Route{Method: "POST", Pattern: "/logout", Scope: ScopeStaff, Perm: access.Authenticated, Summary: "Sign out", Handle: s.logout})
	s.Handle(Route{Method: "POST", Pattern: "/lang", Scope: ScopePublic, Summary: "Choose the interface language", Handle: s.setLang})
	s.Handle(Route{Method: "GET", Pattern: "/healthz", Scope: ScopePublic, Summary: "Health: 200 when the database and the bus are usable", Handle: s.healthz})
	s.Handle(Route{Method: "GET", Pattern: "/api/v1/me", Scope: ScopeStaff, Perm: access.Authenticated, API: true, Summary: "The caller's identity, role and caseload", Handle: s.me})
	s.Handle(Route{Method: "GET", Pattern: OfflinePath, Scope: ScopePublic, Summary: "The page shown, from the browser's cache, when the server cannot be reached (no personal data)", Handle: s.offline})
	s.Handle(Route{Method: "GET", Pattern: "/session", Scope: ScopeStaff, Perm: access.Authenticated, Summary: "Who is signed in and the session's CSRF token, for the browser's outbox", Handle: s.sessionInfo})
	static := http.StripPrefix("/assets/", http.FileServerFS(assets.FS))
	s.mux.Handle("GET /assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		static.ServeHTTP(w, r)
	}))
	s.mux.Handle("GET /sw.js", http.HandlerFunc(s.sw))
}

// SessionInfo is what GET /session answers: the signed-in user and the
// session's CSRF token.
type SessionInfo struct {
	User string `json:"user"`
	CSRF string `json:"csrf"`
}

// sessionInfo lets the browser's outbox sender — the service worker, which
// has no page to read the token from — send a queued form under the session
// it belongs to: it sends only the items of this user, with this token. The
// token is no less secret than in every page: the session cookie is
// SameSite=Strict, no CORS header lets another origin read the answer, and a
// request the browser marks as coming from another site is refused. Bearer
// tokens need no CSRF token and are refused on this route like on every
// page.
func (s *Server) sessionInfo(w http.ResponseWriter, r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return apperr.New(apperr.Forbidden, "This is only answered to this site's own pages.")
	}
	p := PrincipalFrom(r.Context())
	return WriteJSON(w, http.StatusOK, SessionInfo{User: p.ID, CSRF: p.CSRF})
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	if PrincipalFrom(r.Context()) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	pg := s.NewPage(w, r, i18n.T(LangOf(r), "login.title"))
	pg.Form = url.Values{"next": {r.URL.Query().Get("next")}}
	return s.Render(w, pages, "login.html", pg)
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return apperr.Field("body", "The form could not be read.")
	}
	sess, _, err := s.Access.Login(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"), remoteAddr(r))
	if err != nil {
		pg := s.NewPage(w, r, i18n.T(LangOf(r), "login.title"))
		pg.Form = url.Values{"username": {r.PostForm.Get("username")}, "next": {r.PostForm.Get("next")}}
		if e, ok := apperr.As(err); ok && e.Code == apperr.Unauthorized {
			pg.Error = i18n.T(pg.Lang, "login.failed")
			pg.Status = http.StatusUnauthorized
			return s.Render(w, pages, "login.html", pg)
		}
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/", HttpOnly: true, Secure: s.Secure,
		SameSite: http.SameSiteStrictMode, Expires: sess.ExpiresAt})
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.Access.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func (s *Server) setLang(w http.ResponseWriter, r *http.Request) error {
	lang := i18n.Lang(r.PostFormValue("lang"))
	if !lang.Valid() {
		return apperr.Field("lang", "Choose one of the offered languages.")
	}
	http.SetCookie(w, &http.Cookie{Name: "custodia_lang", Value: string(lang), Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	status := map[string]string{"database": "ok", "bus": "ok"}
	code := http.StatusOK
	if err := s.DB.PingContext(ctx); err != nil {
		status["database"], code = err.Error(), http.StatusServiceUnavailable
	}
	if s.Health != nil {
		if err := s.Health(ctx); err != nil {
			status["bus"], code = err.Error(), http.StatusServiceUnavailable
		}
	}
	return WriteJSON(w, code, status)
}

// Me is the caller as the API describes it.
type Me struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Caseload []string `json:"caseload"`
	Token    bool     `json:"token"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	return WriteJSON(w, http.StatusOK, Me{ID: p.ID, Name: p.Name, Role: string(p.Role), Caseload: p.Caseload, Token: p.IsToken})
}
