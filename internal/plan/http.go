// SPDX-License-Identifier: AGPL-3.0-or-later

package plan

import (
	"embed"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/plan.css assets/plan.js
var assetFS embed.FS

var pages = func() *web.Templates {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		panic(err)
	}
	return web.MustTemplates(sub)
}()

// Handlers serves the action plan pages and API. Every route about a plan
// is client-scoped ({id}): the router has checked the caller's role and
// caseload (or break-glass grant) for the person before a handler runs,
// and the service finds {plan} only among that person's plans.
type Handlers struct {
	Web  *web.Server
	Plan *Service
}

// Register adds the plan routes to h.Web.
func (h *Handlers) Register() {
	for _, rt := range h.routes() {
		h.Web.Handle(rt)
	}
}

func (h *Handlers) routes() []web.Route {
	const c = web.ScopeClient
	read, write := access.PlanRead, access.PlanWrite
	return []web.Route{
		{Method: "GET", Pattern: "/clients/{id}/plans", Perm: read, Scope: c, Summary: "A person's action plans", Handle: h.listPage},
		{Method: "GET", Pattern: "/clients/{id}/plans/new", Perm: write, Scope: c, Summary: "Form: start an action plan", Handle: h.newPage},
		{Method: "POST", Pattern: "/clients/{id}/plans", Perm: write, Scope: c, Summary: "Start an action plan (a draft), then edit it", Handle: h.create},
		{Method: "GET", Pattern: "/clients/{id}/plans/{plan}", Perm: read, Scope: c, Summary: "An action plan: goals, measures, the client's view, follow-up", Handle: h.showPage},
		{Method: "GET", Pattern: "/clients/{id}/plans/{plan}/edit", Perm: write, Scope: c, Summary: "Form: edit an action plan (autosaves while typing)", Handle: h.editPage},
		{Method: "POST", Pattern: "/clients/{id}/plans/{plan}/edit", Perm: write, Scope: c, Summary: "Save an action plan (a save against an older version opens the side-by-side choice)", Handle: h.save},
		{Method: "POST", Pattern: "/clients/{id}/plans/{plan}/autosave", Perm: write, Scope: c, Summary: "Autosave an action plan while typing (JSON answer; stops at a conflict)", Handle: h.autosave},
		{Method: "POST", Pattern: "/clients/{id}/plans/{plan}/status", Perm: write, Scope: c, Summary: "Activate, complete or cancel an action plan (version checked)", Handle: h.setStatus},
		{Method: "GET", Pattern: "/clients/{id}/plans/{plan}/history", Perm: read, Scope: c, Summary: "Every version of an action plan: who, when, what changed", Handle: h.historyPage},
		{Method: "GET", Pattern: "/clients/{id}/plans/{plan}/versions/{version}", Perm: read, Scope: c, Summary: "One version of an action plan as it was saved", Handle: h.versionPage},
		{Method: "GET", Pattern: "/clients/{id}/plans/{plan}/conflict", Perm: write, Scope: c, Summary: "Your refused save beside the stored plan, field by field, to choose from", Handle: h.conflictPage},
		{Method: "POST", Pattern: "/clients/{id}/plans/{plan}/conflict", Perm: write, Scope: c, Summary: "Save what you chose between your text and the stored plan", Handle: h.resolve},
		{Method: "GET", Pattern: "/plans/assets/{file}", Scope: web.ScopePublic, Summary: "The plan pages' script (autosave, conflict choice) and styles (static, nothing personal)", Handle: asset},

		{Method: "GET", Pattern: "/api/v1/clients/{id}/plans", Perm: read, Scope: c, API: true, Summary: "A person's action plans, newest first", Handle: h.apiList, Response: Listing{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/plans", Perm: write, Scope: c, API: true, Summary: "Start an action plan as a draft (Idempotency-Key accepted)", Handle: h.apiCreate, Request: Document{}, Response: &Plan{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/plans/{plan}", Perm: read, Scope: c, API: true, Summary: "One action plan", Handle: h.apiGet, Response: &Plan{}},
		{Method: "PUT", Pattern: "/api/v1/clients/{id}/plans/{plan}", Perm: write, Scope: c, API: true, Summary: "Replace an action plan's document (and optionally its status); version required; 409 with both versions (current, yours) when someone saved first", Handle: h.apiPut, Request: PutRequest{}, Response: &Plan{}},
		{Method: "PATCH", Pattern: "/api/v1/clients/{id}/plans/{plan}", Perm: write, Scope: c, API: true, Summary: "Change some fields of an action plan (absent fields keep their values); version required; 409 with both versions when someone saved first", Handle: h.apiPatch, Request: PatchRequest{}, Response: &Plan{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/plans/{plan}/versions", Perm: read, Scope: c, API: true, Summary: "Every version of an action plan, newest first, with who saved it and what changed", Handle: h.apiVersions, Response: History{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/plans/{plan}/versions/{version}", Perm: read, Scope: c, API: true, Summary: "One version of an action plan with its whole document", Handle: h.apiVersion, Response: VersionRead{}},
	}
}

func clientID(r *http.Request) string { return web.ClientAccessFrom(r.Context()).ClientID }

func asset(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	ct := map[string]string{"plan.css": "text/css; charset=utf-8", "plan.js": "text/javascript; charset=utf-8"}[name]
	if ct == "" {
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

// ---------- API ----------

// PutRequest is the body of PUT: the whole document with the version it
// was read at; a status moves the plan in the same save.
type PutRequest struct {
	Version  *int      `json:"version"`
	Status   Status    `json:"status,omitempty"`
	Document *Document `json:"document"`
}

// PatchRequest is the body of PATCH: the version and only what changes
// (goals, when present, replace the list).
type PatchRequest struct {
	Version     *int    `json:"version"`
	Status      *Status `json:"status"`
	Title       *string `json:"title"`
	PeriodStart *string `json:"period_start"`
	PeriodEnd   *string `json:"period_end"`
	Goals       *[]Goal `json:"goals"`
	ClientView  *string `json:"client_view"`
	FollowUp    *string `json:"follow_up"`
}

func needVersion(v *int) (int, error) {
	if v == nil {
		return 0, apperr.Field("version", "Send the version you read; it protects against overwriting someone else's change.")
	}
	return *v, nil
}

func (h *Handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	l, err := h.Plan.List(r.Context(), clientID(r))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, l)
}

func (h *Handlers) apiCreate(w http.ResponseWriter, r *http.Request) error {
	var d Document
	if err := web.DecodeJSON(r, &d); err != nil {
		return err
	}
	p, err := h.Plan.Create(r.Context(), clientID(r), d)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/clients/"+p.ClientID+"/plans/"+p.ID)
	return web.WriteJSON(w, http.StatusCreated, p)
}

func (h *Handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	rd, err := h.Plan.Get(r.Context(), clientID(r), r.PathValue("plan"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, rd.Plan)
}

func (h *Handlers) apiPut(w http.ResponseWriter, r *http.Request) error {
	var req PutRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	v, err := needVersion(req.Version)
	if err != nil {
		return err
	}
	if req.Document == nil {
		return apperr.Field("document", "Send the whole document.")
	}
	p, err := h.Plan.Save(r.Context(), clientID(r), r.PathValue("plan"), SaveInput{Version: v, Document: *req.Document, Status: req.Status})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, p)
}

func (h *Handlers) apiPatch(w http.ResponseWriter, r *http.Request) error {
	var req PatchRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	v, err := needVersion(req.Version)
	if err != nil {
		return err
	}
	rd, err := h.Plan.Get(r.Context(), clientID(r), r.PathValue("plan"))
	if err != nil {
		return err
	}
	// The patch applies to the version the caller read; the save refuses
	// it if that is not the stored one.
	d := rd.Plan.Document
	if v != rd.Plan.Version {
		vr, err := h.Plan.Version(r.Context(), clientID(r), rd.Plan.ID, v)
		if err != nil {
			return apperr.Field("version", "Not a version of this action plan.")
		}
		d = *vr.Version.Document
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&d.Title, req.Title)
	set(&d.PeriodStart, req.PeriodStart)
	set(&d.PeriodEnd, req.PeriodEnd)
	set(&d.ClientView, req.ClientView)
	set(&d.FollowUp, req.FollowUp)
	if req.Goals != nil {
		d.Goals = *req.Goals
	}
	in := SaveInput{Version: v, Document: d}
	if req.Status != nil {
		in.Status = *req.Status
	}
	p, err := h.Plan.Save(r.Context(), clientID(r), rd.Plan.ID, in)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, p)
}

func (h *Handlers) apiVersions(w http.ResponseWriter, r *http.Request) error {
	hs, err := h.Plan.Versions(r.Context(), clientID(r), r.PathValue("plan"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, hs)
}

func versionParam(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		return 0, apperr.New(apperr.NotFound, "This action plan has no such version.")
	}
	return n, nil
}

func (h *Handlers) apiVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	v, err := h.Plan.Version(r.Context(), clientID(r), r.PathValue("plan"), n)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, v)
}

// localize rewrites the service's English messages that have a catalogue
// text into lang (pages only; the API speaks English).
func localize(lang i18n.Lang, err error) error {
	return web.Localize(err, func(m string) string { return trMsg(lang, m) }, nil)
}

// serviceTexts are the service's own messages with their catalogue keys.
var serviceTexts = map[string]string{
	"This client has no such action plan.":                                        "plan.err.no_plan",
	"This action plan has no such version.":                                       "plan.err.no_version",
	"There is no open conflict on this action plan.":                              "plan.err.no_conflict",
	"This client already has an active action plan; complete or cancel it first.": "plan.err.one_active",
	"Choose which text to keep.":                                                  "plan.err.choose",
	"The request has invalid fields.":                                             "plan.err.invalid",
}

func trMsg(lang i18n.Lang, msg string) string {
	if k, ok := serviceTexts[msg]; ok {
		return i18n.T(lang, k)
	}
	return msg
}
