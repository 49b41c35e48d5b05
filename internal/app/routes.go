// SPDX-License-Identifier: AGPL-3.0-or-later

package app

import (
	"net/http"

	"github.com/custodia/custodia/internal/admin"
	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/headcount"
	"github.com/custodia/custodia/internal/placement"
	"github.com/custodia/custodia/internal/plan"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/web"
	"github.com/custodia/custodia/internal/registration"
)

// routes registers every capability's routes on the server.
func routes(a *App) {
	s := a.Web
	s.RegisterBase()
	(&client.Handlers{Web: s, Client: a.Client, Estate: a.Estate}).Register()
	(&estate.Handlers{Web: s, Estate: a.Estate}).Register()
	(&headcount.Handlers{Web: s, Estate: a.Estate, Client: a.Client}).Register()
	(&registration.Handlers{Web: s, Reg: a.Reg, Client: a.Client, Names: a.Estate.Names, Lineage: a.Estate.Lineage, Staff: func(r *http.Request) ([]access.Staff, error) { return a.Access.ListStaff(r.Context()) }}).Register()
	(&plan.Handlers{Web: s, Plan: a.Plan}).Register()
	(&placement.Handlers{Web: s, Placement: a.Place, Batch: a.Batch, Client: a.Client, Estate: a.Estate, Names: a.Estate.Names}).Register()
	(&admin.Handlers{Web: s, Access: a.Access, Audit: a.Audit, DB: a.DB, Names: a.Estate.Names}).Register()
	s.Handle(web.Route{Method: "GET", Pattern: "/{$}", Scope: web.ScopeStaff, Perm: access.Authenticated, Summary: "Start page", Handle: func(w http.ResponseWriter, r *http.Request) error {
		p := web.PrincipalFrom(r.Context())
		switch {
		case p.Can(access.ClientRead):
			http.Redirect(w, r, "/clients", http.StatusSeeOther)
		case p.Can(access.EstateRead):
			http.Redirect(w, r, "/estate", http.StatusSeeOther)
		default:
			http.Redirect(w, r, "/audit", http.StatusSeeOther)
		}
		return nil
	}})
	s.Handle(web.Route{Method: "GET", Pattern: "/api/openapi.json", Scope: web.ScopePublic, Summary: "The OpenAPI 3.1 description of this API", Handle: serveOpenAPI})
}
