// SPDX-License-Identifier: AGPL-3.0-or-later

// Package web is Custodia's HTTP ground: a router on which every route
// declares the permission and scope it needs (the router refuses a route
// without them and enforces them before any handler runs), authentication
// by session cookie or bearer token, CSRF, security headers, request size
// limits, idempotency keys, RFC 9457 problem documents, and the page
// layout that capability packages render their templates into.
//
// A capability registers its routes with Server.Handle:
//
//	s.Handle(web.Route{Method: "GET", Pattern: "/clients/{id}", Perm: access.ClientRead,
//		Scope: web.ScopeClient, Handle: h.show})
//
// Handlers return an error; *apperr.Error values become the right status
// (problem+json for API routes, an error page for UI routes). UI handlers
// that re-render a form with field errors do so themselves with
// Server.Render and status 422.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
)

// Scope says what part of the caseload a route touches.
type Scope string

// The scopes.
const (
	// ScopePublic routes need no sign-in (sign-in page, health, assets).
	ScopePublic Scope = "public"
	// ScopeStaff routes need a principal with Perm but touch no single
	// client (lists filtered by caseload, estate, admin).
	ScopeStaff Scope = "staff"
	// ScopeClient routes act on the client named by the {id} path value;
	// the caller's caseload must cover the client's current location, or
	// the caller must hold an active break-glass grant.
	ScopeClient Scope = "client"
	// ScopeLocation routes act on the institution, unit or office named by
	// the {loc} path value, which must be in the caseload.
	ScopeLocation Scope = "location"
)

// HandlerFunc is a route's handler.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route is one endpoint with its access declaration.
type Route struct {
	Method  string
	Pattern string // a net/http pattern path, e.g. "/api/v1/clients/{id}"
	Perm    access.Permission
	Scope   Scope
	// API routes answer JSON and problem+json and accept bearer tokens;
	// others are pages and forms for browsers.
	API bool
	// Summary is a one-line description (OpenAPI, route listings).
	Summary string
	Handle  HandlerFunc
	// MaxBody overrides the default body limit (1 MiB).
	MaxBody int64
	// Request and Response are zero values of the JSON bodies an API route
	// reads and answers (e.g. client.NewClient{}, &client.Client{}); Query
	// names its query parameters. The OpenAPI description is generated
	// from them.
	Request, Response any
	Query             []string
	// SecretAnswer marks a route whose answer holds a secret shown once
	// (an API token): the idempotency store keeps its status and Location
	// but not its body, so no secret rests in the database.
	SecretAnswer bool
	// OwnIdempotency marks a creating route whose service stores the
	// Idempotency-Key (IdempotencyKey(r)) with the record it creates, in
	// the same transaction. The generic key store is skipped: its claim
	// and its answer are separate transactions, so a crash between them
	// would leave the key claimed with no answer, and the record's retry
	// could neither find it nor create it.
	OwnIdempotency bool
	// AlsoCovers, on a client route, names further locations whose
	// caseload grants the route for the client (the canonical id) besides
	// the client's current place: a registration stays with the unit
	// where it happened after the person moves on, and that unit's
	// manager reviews it there.
	AlsoCovers func(r *http.Request, clientID string) ([]string, error)
}

// ClientLocator resolves a client id to the id of the record that holds
// it now (after merges) and that record's current locations (institution,
// unit or probation office ids) for the caseload check. It returns an
// apperr NotFound when there is no such client.
type ClientLocator func(ctx context.Context, clientID string) (canonical string, locations []string, err error)

// LocationLineage returns a location's id with its parents' (unit →
// institution), for caseload checks on location routes.
type LocationLineage func(ctx context.Context, id string) ([]string, error)

// Server holds the routes and what enforcing them needs.
type Server struct {
	DB      *db.DB
	Access  *access.Service
	Audit   *audit.Log
	Locate  ClientLocator
	Lineage LocationLineage
	Log     *slog.Logger
	Health  func(ctx context.Context) error
	Secure  bool // set the Secure flag on cookies (behind TLS)
	mux     *http.ServeMux
	routes  []Route
	layout  *Templates
}

// NewServer makes a server with the shared layout and no routes.
func NewServer(d *db.DB, acc *access.Service, al *audit.Log, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{DB: d, Access: acc, Audit: al, Log: log, mux: http.NewServeMux()}
	s.layout = MustTemplates(nil)
	return s
}

// Routes lists every registered route, sorted by pattern then method.
func (s *Server) Routes() []Route {
	out := append([]Route(nil), s.routes...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pattern != out[j].Pattern {
			return out[i].Pattern < out[j].Pattern
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// Handle registers a route. It panics — failing every test and the start
// of the binary — when the route does not declare a permission and a
// scope, so no route can be added without an access decision.
func (s *Server) Handle(rt Route) {
	if rt.Method == "" || rt.Pattern == "" || rt.Handle == nil {
		panic(fmt.Sprintf("web: route %s %s is incomplete", rt.Method, rt.Pattern))
	}
	switch rt.Scope {
	case ScopePublic:
	case ScopeStaff, ScopeClient, ScopeLocation:
		if rt.Perm == "" {
			panic(fmt.Sprintf("web: route %s %s declares no permission", rt.Method, rt.Pattern))
		}
	default:
		panic(fmt.Sprintf("web: route %s %s declares no scope", rt.Method, rt.Pattern))
	}
	if rt.Scope == ScopeClient && !strings.Contains(rt.Pattern, "{id}") {
		panic(fmt.Sprintf("web: client route %s %s has no {id}", rt.Method, rt.Pattern))
	}
	if rt.Scope == ScopeLocation && !strings.Contains(rt.Pattern, "{loc}") {
		panic(fmt.Sprintf("web: location route %s %s has no {loc}", rt.Method, rt.Pattern))
	}
	s.routes = append(s.routes, rt)
	s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	// mux.Handler finds the route without setting path values; only
	// mux.ServeHTTP sets them, so it serves the request below.
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		// Unknown path or method: answer in the caller's language.
		if strings.HasPrefix(r.URL.Path, "/api/") {
			err := apperr.New(apperr.NotFound, "There is no such resource.")
			if _, p := s.mux.Handler(&http.Request{Method: "GET", URL: r.URL, Host: r.Host}); p != "" && r.Method != "GET" {
				WriteProblem(w, r, &apperr.Error{Code: "method", Message: "This method is not allowed here."})
				return
			}
			WriteProblem(w, r, err)
			return
		}
		s.renderError(w, r, apperr.New(apperr.NotFound, "There is no such page."))
		return
	}
	s.mux.ServeHTTP(w, r)
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

type ctxKey int

const (
	principalKey ctxKey = iota
	clientKey
	routeKey
)

// PrincipalFrom returns the caller (nil on public routes without sign-in).
func PrincipalFrom(ctx context.Context) *access.Principal {
	p, _ := ctx.Value(principalKey).(*access.Principal)
	return p
}

// ClientAccess is the outcome of a client route's caseload check.
type ClientAccess struct {
	ClientID   string // canonical id (a merged-away id resolves to the survivor)
	Locations  []string
	BreakGlass bool
	Reason     string
}

// ClientAccessFrom returns the client route's access decision.
func ClientAccessFrom(ctx context.Context) ClientAccess {
	c, _ := ctx.Value(clientKey).(ClientAccess)
	return c
}

// RouteFrom returns the route being served.
func RouteFrom(ctx context.Context) Route {
	rt, _ := ctx.Value(routeKey).(Route)
	return rt
}

// WithPrincipal attaches a principal and its audit actor to ctx (tests,
// jobs acting for a user).
func WithPrincipal(ctx context.Context, p *access.Principal) context.Context {
	ctx = context.WithValue(ctx, principalKey, p)
	return audit.WithActor(ctx, audit.Actor{ID: p.ID, Name: p.Name, Role: string(p.Role), Remote: p.Remote})
}

const sessionCookie = "custodia_session"

func remoteAddr(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func (s *Server) authenticate(r *http.Request) (*access.Principal, bool, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, true, nil
		}
		p, err := s.Access.TokenPrincipal(r.Context(), strings.TrimSpace(tok), remoteAddr(r))
		return p, true, err
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false, nil
	}
	p, err := s.Access.SessionPrincipal(r.Context(), c.Value, remoteAddr(r))
	return p, false, err
}

func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.Log.Error("panic serving request", "route", rt.Pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.fail(w, r, rt, apperr.New(apperr.Internal, "Something went wrong on our side. Nothing was saved."))
			}
		}()
		ctx := context.WithValue(r.Context(), routeKey, rt)
		r = r.WithContext(ctx)
		p, bearer, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, rt, fmt.Errorf("authenticate: %w", err))
			return
		}
		if p != nil {
			r = r.WithContext(WithPrincipal(r.Context(), p))
		}
		if rt.Scope != ScopePublic {
			if p == nil {
				if rt.API || bearer {
					w.Header().Set("WWW-Authenticate", `Bearer realm="custodia"`)
					WriteProblem(w, r, apperr.New(apperr.Unauthorized, "Sign in, or send a valid bearer token."))
					return
				}
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if !rt.API && p.IsToken {
				WriteProblem(w, r, apperr.New(apperr.Forbidden, "API tokens can only call /api/ routes."))
				return
			}
		}
		// The body limit comes first: the CSRF check may read a form body.
		limit := rt.MaxBody
		if limit == 0 {
			limit = 1 << 20
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		// Cookie-authenticated writes must carry the session's CSRF token;
		// bearer requests carry no ambient credentials and need none.
		if p != nil && !bearer && !safeMethod(r.Method) {
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				var err error
				if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
					err = r.ParseMultipartForm(limit)
				} else {
					err = r.ParseForm()
				}
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					s.fail(w, r, rt, err) // a 413
					return
				}
				tok = r.PostFormValue("csrf")
			}
			if tok == "" || tok != p.CSRF {
				s.fail(w, r, rt, apperr.New(apperr.Forbidden, "The form was stale or came from another site (CSRF check failed). Reload the page and try again."))
				return
			}
		}
		if rt.Scope != ScopePublic && !p.Can(rt.Perm) {
			s.fail(w, r, rt, apperr.New(apperr.Forbidden, "Your role (%s) does not allow this.", p.Role))
			return
		}
		switch rt.Scope {
		case ScopeClient:
			ca, err := s.checkClient(r, rt, p)
			if err != nil {
				s.fail(w, r, rt, err)
				return
			}
			ctx := context.WithValue(r.Context(), clientKey, ca)
			if ca.BreakGlass {
				ctx = audit.WithBreakGlass(ctx, ca.ClientID, ca.Reason)
			}
			r = r.WithContext(ctx)
		case ScopeLocation:
			if err := s.checkLocation(r, p); err != nil {
				s.fail(w, r, rt, err)
				return
			}
		}
		if r.Method == http.MethodPost && p != nil {
			if key := idempotencyKey(r); key != "" && !rt.OwnIdempotency {
				s.idempotent(w, r, rt, p, key)
				return
			}
		}
		if err := rt.Handle(w, r); err != nil {
			s.fail(w, r, rt, err)
		}
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (s *Server) checkClient(r *http.Request, rt Route, p *access.Principal) (ClientAccess, error) {
	id := r.PathValue("id")
	if s.Locate == nil {
		return ClientAccess{}, errors.New("web: no client locator configured")
	}
	canonical, locs, err := s.Locate(r.Context(), id)
	if err != nil {
		return ClientAccess{}, err
	}
	bg, err := s.Access.CheckClient(r.Context(), p, rt.Perm, canonical, locs)
	if err != nil && rt.AlsoCovers != nil && apperr.CodeOf(err) == apperr.Forbidden {
		extra, xerr := rt.AlsoCovers(r, canonical)
		if xerr != nil {
			return ClientAccess{}, xerr
		}
		if len(extra) > 0 && p.Covers(extra...) {
			return ClientAccess{ClientID: canonical, Locations: locs}, nil
		}
	}
	if err != nil {
		return ClientAccess{}, err
	}
	ca := ClientAccess{ClientID: canonical, Locations: locs, BreakGlass: bg}
	if bg {
		ca.Reason = s.Access.ActiveReason(r.Context(), p.ID, canonical)
	}
	return ca, nil
}

func (s *Server) checkLocation(r *http.Request, p *access.Principal) error {
	loc := r.PathValue("loc")
	lineage := []string{loc}
	if s.Lineage != nil {
		l, err := s.Lineage(r.Context(), loc)
		if err != nil {
			return err
		}
		lineage = l
	}
	if !p.Covers(lineage...) {
		return apperr.New(apperr.Forbidden, "This location is outside your caseload.")
	}
	return nil
}

// fail answers an error in the route's language: problem+json for the
// API, an error page for browsers.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, rt Route, err error) {
	if apperr.CodeOf(err) == apperr.Internal {
		if _, ok := apperr.As(err); !ok {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				err = tooLarge(mbe)
			} else {
				s.Log.Error("request failed", "method", r.Method, "route", rt.Pattern, "err", err)
				err = apperr.New(apperr.Internal, "Something went wrong on our side. Nothing was saved; try again.")
			}
		}
	}
	if rt.API || strings.HasPrefix(r.URL.Path, "/api/") || r.Header.Get("Authorization") != "" {
		WriteProblem(w, r, err)
		return
	}
	if e, ok := apperr.As(err); ok && e.Code == apperr.Unauthorized {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.renderError(w, r, err)
}

// Mux exposes the underlying mux for static handlers registered by the
// app (assets); they bypass access checks and must serve nothing personal.
func (s *Server) Mux() *http.ServeMux { return s.mux }
