// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/web"
)

// world is a small estate with one client inside a caseload and one
// outside it.
type world struct {
	instIn, unitIn, cellIn    string
	instOut, unitOut, cellOut string
	clientIn, clientOut       string
}

func buildWorld(t testing.TB, a *app.App) world {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.System)
	var w world
	mk := func(code string) (inst, unit, cell string) {
		i, err := a.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Institution, Code: code, Name: "Anstalt " + code, Category: "closed", SecurityLevel: 1, Gender: "male"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := a.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Unit, ParentID: i.ID, Code: code + "-A", Name: "Avdelning A", SecurityLevel: 1, Gender: "male"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Estate.CreateCell(ctx, estate.NewCell{UnitID: u.ID, Label: "101", Capacity: 2, SecurityLevel: 1, Gender: "male"})
		if err != nil {
			t.Fatal(err)
		}
		return i.ID, u.ID, c.ID
	}
	w.instIn, w.unitIn, w.cellIn = mk("IN")
	w.instOut, w.unitOut, w.cellOut = mk("OUT")
	admit := func(given, inst, cell string) string {
		c, err := a.Client.Register(ctx, client.NewClient{GivenName: given, FamilyName: "Lindqvist", BirthDate: "1985-04-12", Sex: "M", HomeLocation: inst})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Client.AddLegalBasis(ctx, c.ID, client.NewLegalBasis{Kind: client.BasisRemand, StartDate: "2026-11-01", Offences: "Rån"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Client.MoveClient(ctx, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: cell}); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	w.clientIn = admit("Åke", w.instIn, w.cellIn)
	w.clientOut = admit("Örjan", w.instOut, w.cellOut)
	return w
}

var param = regexp.MustCompile(`\{([a-zA-Z_]+)(\.\.\.)?\}`)

// TestAccessMatrix sends every registered route, as every role, for a
// target inside and outside the caller's caseload, and checks the router's
// decision: 401 (API) or a redirect to sign-in (pages) without credentials,
// 403 for a role without the route's permission, 403 outside the caseload
// for client- and location-scoped routes, and otherwise anything but a
// refusal or a server error. Handlers get empty or dummy input, so this
// also proves no route crashes on it.
func TestAccessMatrix(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	ctx := audit.WithActor(context.Background(), audit.System)

	type cred struct{ token, session, csrf string }
	creds := map[access.Role]cred{}
	for _, role := range access.Roles {
		tok, err := a.Access.IssueToken(ctx, "matrix "+string(role), role, []string{w.instIn}, 0)
		if err != nil {
			t.Fatal(err)
		}
		creds[role] = cred{token: tok.Secret}
	}
	login := func(role access.Role) cred {
		user := "m_" + string(role)
		if _, err := a.Access.CreateStaff(ctx, access.NewStaff{Username: user, DisplayName: "Matrix " + string(role), Role: role, Caseload: []string{w.instIn}, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		sess, _, err := a.Access.Login(context.Background(), user, "correct horse battery", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		c := creds[role]
		c.session, c.csrf = sess.Token, sess.CSRF
		return c
	}
	for _, role := range access.Roles {
		creds[role] = login(role)
	}

	hc := apptest.HTTPClient(t)
	send := func(rt web.Route, path string, c *cred) int {
		t.Helper()
		var body io.Reader
		if rt.Method != "GET" && rt.Method != "HEAD" {
			if rt.API {
				body = strings.NewReader("{}")
			} else {
				body = strings.NewReader("")
			}
		}
		req, _ := http.NewRequest(rt.Method, a.URL()+path, body)
		if rt.API {
			req.Header.Set("Content-Type", "application/json")
		} else if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if c != nil {
			if rt.API {
				req.Header.Set("Authorization", "Bearer "+c.token)
			} else {
				req.AddCookie(&http.Cookie{Name: "custodia_session", Value: c.session})
				req.Header.Set("X-CSRF-Token", c.csrf)
			}
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", rt.Method, path, err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			return 401
		}
		return resp.StatusCode
	}
	fill := func(pattern string, in bool) string {
		p := strings.TrimSuffix(pattern, "{$}")
		return param.ReplaceAllStringFunc(p, func(m string) string {
			name := param.FindStringSubmatch(m)[1]
			switch name {
			case "id":
				if in {
					return w.clientIn
				}
				return w.clientOut
			case "loc":
				if in {
					return w.instIn
				}
				return w.instOut
			case "cell":
				if in {
					return w.cellIn
				}
				return w.cellOut
			}
			return "00000000-0000-7000-8000-000000000000"
		})
	}
	cleanup := func() {
		// Break-glass requests in the matrix must not open the door for
		// the next rows.
		if _, err := a.DB.ExecContext(context.Background(), `DELETE FROM break_glass`); err != nil {
			t.Fatal(err)
		}
	}

	// Routes whose caseload check depends on the body: an empty form asks
	// to create an institution, which needs a national caseload that no
	// caller here has, so the handler's own 403 is the right answer.
	bodyScoped := map[string]bool{"POST /estate": true}
	// Break-glass is a person's decision: API tokens are refused it.
	tokenRefused := map[string]bool{"POST /api/v1/clients/{id}/break-glass": true}

	routes := a.Web.Routes()
	checked := 0
	for _, rt := range routes {
		if rt.Scope == web.ScopePublic || strings.HasPrefix(rt.Pattern, "/assets/") {
			continue
		}
		if rt.Pattern == "/logout" {
			continue // ends the session the rest of the matrix uses; covered in web tests
		}
		name := rt.Method + " " + rt.Pattern
		// No credentials.
		if got := send(rt, fill(rt.Pattern, true), nil); got != 401 {
			t.Errorf("%s without credentials: %d, want 401 or a redirect to sign-in", name, got)
		}
		scoped := rt.Scope == web.ScopeClient || rt.Scope == web.ScopeLocation || strings.Contains(rt.Pattern, "{cell}")
		for _, role := range access.Roles {
			c := creds[role]
			can := rt.Perm == access.Authenticated || role.Allows(rt.Perm)
			for _, in := range []bool{true, false} {
				if !in && !scoped {
					continue
				}
				got := send(rt, fill(rt.Pattern, in), &c)
				cleanup()
				checked++
				where := map[bool]string{true: "in caseload", false: "outside caseload"}[in]
				switch {
				case !can:
					if got != 403 {
						t.Errorf("%s as %s (%s): %d, want 403 (role lacks %s)", name, role, where, got, rt.Perm)
					}
				case !in:
					if got != 403 {
						t.Errorf("%s as %s (%s): %d, want 403", name, role, where, got)
					}
				case tokenRefused[name]:
					if got != 403 {
						t.Errorf("%s as a %s token: %d, want 403", name, role, got)
					}
				case bodyScoped[name]:
					if got != 403 && got != 422 {
						t.Errorf("%s as %s (%s): %d, want 403 or 422", name, role, where, got)
					}
				default:
					if got == 401 || got == 403 || got >= 500 {
						t.Errorf("%s as %s (%s): %d, want the handler's answer", name, role, where, got)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no routes checked")
	}
	t.Logf("%d route × role × caseload combinations checked over %d routes", checked, len(routes))
}
