// SPDX-License-Identifier: AGPL-3.0-or-later

package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

// GrantListLimit is how many break-glass accesses one list shows.
const GrantListLimit = 100

// grants lists break-glass accesses (filter "all" or "unreviewed"),
// unreviewed first, and records that the reviewer saw each one: a grant
// names a client and the stated reason, so it shows in that client's
// access report.
func (h *Handlers) grants(ctx context.Context, lang i18n.Lang, filter string) ([]access.Grant, error) {
	var only bool
	switch filter {
	case "", "all":
	case "unreviewed":
		only = true
	default:
		return nil, invalid(lang, apperr.Fields{{Field: "filter", Message: i18n.T(lang, "admin.bg.err.filter")}})
	}
	list, err := h.Access.ListGrants(ctx, only, GrantListLimit)
	if err != nil {
		return nil, err
	}
	if len(list) > 0 {
		entries := make([]audit.Entry, 0, len(list))
		for _, g := range list {
			entries = append(entries, audit.Entry{Action: "breakglass.list.read", ClientID: g.ClientID, ObjectType: "break_glass", ObjectID: g.ID})
		}
		if err := h.Audit.RecordRead(ctx, entries...); err != nil {
			return nil, err
		}
	}
	if list == nil {
		list = []access.Grant{}
	}
	return list, nil
}

// Review is a reviewer's verdict on a break-glass access: justified or
// not, with a note (required when not justified, so that follow-up has
// something to act on).
type Review struct {
	Justified *bool  `json:"justified"`
	Note      string `json:"note"`
}

func (h *Handlers) review(ctx context.Context, lang i18n.Lang, p *access.Principal, id string, rv Review) error {
	rv.Note = strings.TrimSpace(rv.Note)
	var fe apperr.Fields
	if rv.Justified == nil {
		fe.Add("justified", i18n.T(lang, "admin.bg.err.justified"))
	} else if !*rv.Justified && rv.Note == "" {
		fe.Add("note", i18n.T(lang, "admin.bg.err.note_required"))
	}
	if len(rv.Note) > 2000 {
		fe.Add("note", i18n.T(lang, "admin.bg.err.note_long"))
	}
	if err := invalid(lang, fe); err != nil {
		return err
	}
	err := h.Access.ReviewGrant(ctx, p, id, *rv.Justified, rv.Note)
	switch apperr.CodeOf(err) {
	case apperr.Conflict:
		return apperr.New(apperr.Conflict, "%s", i18n.T(lang, "admin.bg.err.conflict"))
	case apperr.Forbidden:
		return apperr.New(apperr.Forbidden, "%s", i18n.T(lang, "admin.bg.err.own"))
	}
	return localize(lang, "admin.bg.err", err)
}

// ---------- UI ----------

type grantRow struct {
	access.Grant
	RoleName     string
	ReviewerName string
}

// Verdict is "yes" or "no" once reviewed, "" before.
func (g grantRow) Verdict() string {
	if g.ReviewOK == nil {
		return ""
	}
	if *g.ReviewOK {
		return "yes"
	}
	return "no"
}

type breakGlassData struct {
	Filter string
	Grants []grantRow
	// ReviewID is the grant whose review form failed and is shown again
	// with the typed values and the errors.
	ReviewID string
}

func (h *Handlers) breakGlassData(ctx context.Context, lang i18n.Lang, filter string) (breakGlassData, error) {
	list, err := h.grants(ctx, lang, filter)
	if err != nil {
		return breakGlassData{}, err
	}
	var reviewers []string
	for _, g := range list {
		if g.ReviewedBy != "" {
			reviewers = append(reviewers, g.ReviewedBy)
		}
	}
	names, err := h.Access.StaffNames(ctx, reviewers)
	if err != nil {
		return breakGlassData{}, err
	}
	if filter == "" {
		filter = "all"
	}
	d := breakGlassData{Filter: filter}
	for _, g := range list {
		row := grantRow{Grant: g, RoleName: roleName(lang, g.StaffRole), ReviewerName: names[g.ReviewedBy]}
		if row.ReviewerName == "" {
			row.ReviewerName = g.ReviewedBy
		}
		d.Grants = append(d.Grants, row)
	}
	return d, nil
}

func (h *Handlers) breakGlassPage(w http.ResponseWriter, r *http.Request) error {
	l := lang(r)
	filter := r.URL.Query().Get("filter")
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.bg.title"))
	pg.Nav = "breakglass"
	d, err := h.breakGlassData(r.Context(), l, filter)
	if apperr.CodeOf(err) == apperr.Invalid {
		pg.Form = r.URL.Query()
		d, err = h.breakGlassData(r.Context(), l, "all")
		if err != nil {
			return err
		}
		pg.Errors = map[string]string{"filter": i18n.T(l, "admin.bg.err.filter")}
		pg.Error = i18n.T(l, "admin.err.invalid")
		pg.Status = http.StatusUnprocessableEntity
	} else if err != nil {
		return err
	}
	pg.Data = d
	return h.Web.Render(w, pages, "breakglass.html", pg)
}

func (h *Handlers) breakGlassReview(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	l := lang(r)
	id := r.PathValue("id")
	var rv Review
	switch r.PostForm.Get("justified") {
	case "yes":
		rv.Justified = new(true)
	case "no":
		rv.Justified = new(false)
	}
	rv.Note = r.PostForm.Get("note")
	err := h.review(r.Context(), l, web.PrincipalFrom(r.Context()), id, rv)
	if err != nil {
		if _, ok := apperr.As(err); !ok {
			return err
		}
		filter := r.PostForm.Get("filter")
		if filter != "unreviewed" {
			filter = "all"
		}
		d, derr := h.breakGlassData(r.Context(), l, filter)
		if derr != nil {
			return derr
		}
		d.ReviewID = id
		pg := h.Web.NewPage(w, r, i18n.T(l, "admin.bg.title"))
		pg.Nav = "breakglass"
		pg.Data = d
		return h.Web.FormError(w, r, pages, "breakglass.html", pg, err)
	}
	to := "/break-glass"
	if r.PostForm.Get("filter") == "unreviewed" {
		to += "?filter=unreviewed"
	}
	return web.Redirect(w, r, to, i18n.T(l, "admin.bg.reviewed"), "")
}

// ---------- API ----------

func (h *Handlers) apiBreakGlassList(w http.ResponseWriter, r *http.Request) error {
	list, err := h.grants(r.Context(), lang(r), r.URL.Query().Get("filter"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (h *Handlers) apiBreakGlassReview(w http.ResponseWriter, r *http.Request) error {
	var rv Review
	if err := web.DecodeJSON(r, &rv); err != nil {
		return err
	}
	if err := h.review(r.Context(), lang(r), web.PrincipalFrom(r.Context()), r.PathValue("id"), rv); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
