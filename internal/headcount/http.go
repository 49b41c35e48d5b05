// SPDX-License-Identifier: AGPL-3.0-or-later

package headcount

import (
	"context"
	"embed"
	"io/fs"
	"net/http"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/headcount.css assets/headcount.js
var assetFS embed.FS

var pages = func() *web.Templates {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		panic(err)
	}
	return web.MustTemplates(sub)
}()

// Handlers serves the nominal roll. Every route needs the Headcount
// permission; the roll of a location is caseload-checked by the router
// ({loc} and its parents must be in the caller's caseload).
type Handlers struct {
	Web    *web.Server
	Estate *estate.Service
	Client *client.Service
}

// Register adds the headcount routes to h.Web.
func (h *Handlers) Register() {
	for _, rt := range h.routes() {
		h.Web.Handle(rt)
	}
}

func (h *Handlers) routes() []web.Route {
	return []web.Route{
		{Method: "GET", Pattern: "/headcount", Perm: access.Headcount, Scope: web.ScopeStaff, Summary: "Choose an institution or unit of your caseload for the nominal roll", Handle: h.choosePage},
		{Method: "GET", Pattern: "/headcount/{loc}", Perm: access.Headcount, Scope: web.ScopeLocation, Summary: "Nominal roll of an institution or unit: who is in each cell, on leave, escaped; beds; totals and the check (printable on A4; audited read)", Handle: h.rollPage},
		{Method: "GET", Pattern: "/api/v1/headcount/{loc}", Perm: access.Headcount, Scope: web.ScopeLocation, API: true, Summary: "Nominal roll of an institution or unit with per-unit and total figures and the check (audited read)", Handle: h.apiRoll, Response: Roll{}},
		{Method: "GET", Pattern: "/headcount/assets/{file}", Scope: web.ScopePublic, Summary: "The roll's print stylesheet and print button script (static, nothing personal)", Handle: h.asset},
	}
}

// Roll reads the nominal roll of the institution or unit id. The caller's
// caseload must already have been checked; the people listed are audited
// by the client service before the roll is returned.
func (h *Handlers) Roll(ctx context.Context, id string) (Roll, error) {
	loc, err := h.Estate.Location(ctx, id)
	if err != nil {
		return Roll{}, err
	}
	if loc.Kind == estate.Office {
		return Roll{}, apperr.New(apperr.NotFound, "The headcount is kept for institutions and units, not probation offices.")
	}
	cells, err := h.Estate.Cells(ctx, id)
	if err != nil {
		return Roll{}, err
	}
	people, err := h.Client.Occupants(ctx, []string{id})
	if err != nil {
		return Roll{}, err
	}
	r := Build(*loc, cells, people, h.Estate.DB.Now())
	if !r.Check.OK {
		// The estate and the register are read in two transactions, so a
		// move committed between the two reads looks like a mismatch. Read
		// the bed counters again, after the people: a move in between is
		// now on both sides, while a real mismatch stays. (The people are
		// not read twice, which would audit the whole roll twice.)
		if again, err := h.Estate.Cells(ctx, id); err == nil {
			r = Build(*loc, again, people, h.Estate.DB.Now())
		}
	}
	if loc.Kind == estate.Unit && loc.ParentID != "" {
		if names, err := h.Estate.Names(ctx, []string{loc.ParentID}); err == nil {
			r.InstitutionName = names[loc.ParentID]
		}
	}
	return r, nil
}

type chooseData struct {
	Institutions []estate.Location
}

func (h *Handlers) choosePage(w http.ResponseWriter, r *http.Request) error {
	tree, err := h.Estate.Tree(r.Context())
	if err != nil {
		return err
	}
	var d chooseData
	for _, l := range estate.Visible(web.PrincipalFrom(r.Context()), tree) {
		if l.Kind == estate.Institution {
			d.Institutions = append(d.Institutions, l)
		}
	}
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "headcount.title"))
	pg.Nav, pg.Data = "headcount", d
	return h.Web.Render(w, pages, "choose.html", pg)
}

func (h *Handlers) rollPage(w http.ResponseWriter, r *http.Request) error {
	roll, err := h.Roll(r.Context(), r.PathValue("loc"))
	if err != nil {
		return err
	}
	lang := web.LangOf(r)
	pg := h.Web.NewPage(w, r, i18n.T(lang, "headcount.nominal_roll")+" — "+roll.Name)
	pg.Nav, pg.Data = "headcount", roll
	return h.Web.Render(w, pages, "roll.html", pg)
}

func (h *Handlers) apiRoll(w http.ResponseWriter, r *http.Request) error {
	roll, err := h.Roll(r.Context(), r.PathValue("loc"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, roll)
}

func (h *Handlers) asset(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	var ct string
	switch name {
	case "headcount.css":
		ct = "text/css; charset=utf-8"
	case "headcount.js":
		ct = "text/javascript; charset=utf-8"
	default:
		return apperr.New(apperr.NotFound, "There is no such file.")
	}
	b, err := assetFS.ReadFile("assets/" + name)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err = w.Write(b)
	return err
}
