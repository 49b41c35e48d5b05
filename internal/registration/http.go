// SPDX-License-Identifier: AGPL-3.0-or-later

package registration

import (
	"context"
	"net/http"
	"strings"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/imagecheck"
	"github.com/custodia/custodia/internal/platform/web"
)

// Handlers serves the registration pages and the /api/v1 registrations
// API.
//
// Access: every route declares its permission. Routes under
// /clients/{id}/… are caseload-checked by the router for the client; the
// service then refuses a registration that is not about that client, and
// hides radicalisation concerns from all but the security role and their
// authors. The work lists (/registrations…) show only the caller's
// caseload.
type Handlers struct {
	Web    *web.Server
	Reg    *Service
	Client *client.Service
	// Lineage is a location's id with its parents' (unit → institution).
	Lineage func(ctx context.Context, id string) ([]string, error)
	// Names maps location ids to their names (the counts table).
	Names func(ctx context.Context, ids []string) (map[string]string, error)
	// Staff lists the staff the forms offer as involved officers.
	Staff func(r *http.Request) ([]access.Staff, error)
}

// Register adds the routes to h.Web.
func (h *Handlers) Register() {
	for _, rt := range h.routes() {
		h.Web.Handle(rt)
	}
}

// The API's answers.
type (
	// RegistrationList is a list of registrations.
	RegistrationList struct {
		Registrations []*Registration `json:"registrations"`
	}
	// CountList is the counts by unit, kind and month.
	CountList struct {
		Counts []Count `json:"counts"`
	}
	// StatementList is the statements asked of the caller.
	StatementList struct {
		Statements []MyStatement `json:"statements"`
	}
	// DraftUpdate replaces a draft's content.
	DraftUpdate struct {
		NewRegistration
		Version int `json:"version"`
	}
	// VersionOnly carries the version an action was decided on.
	VersionOnly struct {
		Version int `json:"version"`
	}
	// ReviewDecision accepts a report or returns it with comments.
	ReviewDecision struct {
		Version  int    `json:"version"`
		Decision string `json:"decision"` // accept or return
		Comment  string `json:"comment"`
	}
	// StatementText is an officer's statement.
	StatementText struct {
		Text string `json:"text"`
	}
)

func (h *Handlers) routes() []web.Route {
	const cl, staff = web.ScopeClient, web.ScopeStaff
	read, write, review, complain := access.RegistrationRead, access.RegistrationWrite, access.RegistrationReview, access.ComplaintHandle
	one := "/api/v1/clients/{id}/registrations/{reg}"
	rs := append([]web.Route{
		{Method: "POST", Pattern: "/api/v1/clients/{id}/registrations", Perm: write, Scope: cl, API: true, OwnIdempotency: true,
			Summary: "Record a registration about the client, as a draft or submitted (submit: true). Send an Idempotency-Key: a retry returns the registration the first attempt stored (200) instead of storing a second",
			Handle:  h.apiCreate, Request: NewRegistration{}, Response: &Registration{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/registrations", Perm: read, Scope: cl, API: true, Summary: "Registrations about the client (as subject or involved), newest first", Handle: h.apiForClient, Response: RegistrationList{}},
		{Method: "GET", Pattern: one, Perm: read, Scope: cl, API: true, Summary: "One registration with its statements, amendments, history and complaints", Handle: h.apiGet, Response: &Registration{}},
		{Method: "PUT", Pattern: one, Perm: write, Scope: cl, API: true, Summary: "Replace a draft's content (its author only; version required; submit: true submits it)", Handle: h.apiUpdateDraft, Request: DraftUpdate{}, Response: &Registration{}},
		{Method: "POST", Pattern: one + "/submit", Perm: write, Scope: cl, API: true, Summary: "Submit a draft or a returned report for review (its author only)", Handle: h.apiSubmit, Request: VersionOnly{}, Response: &Registration{}},
		{Method: "POST", Pattern: one + "/review", Perm: review, Scope: cl, API: true, Summary: "Accept a submitted report, or return it to its author with comments", Handle: h.apiReview, Request: ReviewDecision{}, Response: &Registration{}},
		{Method: "POST", Pattern: one + "/close", Perm: review, Scope: cl, API: true, Summary: "Close an accepted report (every statement given, every complaint decided)", Handle: h.apiClose, Request: VersionOnly{}, Response: &Registration{}},
		{Method: "POST", Pattern: one + "/amendments", Perm: write, Scope: cl, API: true, Summary: "Append a correction to a submitted report or to the caller's own statement, with the reason", Handle: h.apiAmend, Request: NewAmendment{}, Response: &Amendment{}},
		{Method: "POST", Pattern: one + "/statement", Perm: write, Scope: cl, API: true, Summary: "Give the statement asked of the caller", Handle: h.apiStatement, Request: StatementText{}, Response: &Statement{}},
		{Method: "POST", Pattern: one + "/client-informed", Perm: write, Scope: cl, API: true, Summary: "Record that the client was given the notice of the registration and of the right to complain", Handle: h.apiInformed, Request: VersionOnly{}, Response: &Registration{}},
		{Method: "POST", Pattern: one + "/complaints", Perm: complain, Scope: cl, API: true, Summary: "Record the client's complaint about a registration of force or restraint", Handle: h.apiComplaint, Request: NewComplaint{}, Response: &Complaint{}},
		{Method: "POST", Pattern: one + "/complaints/{complaint}/decision", Perm: complain, Scope: cl, API: true, Summary: "Decide a complaint, with reasons", Handle: h.apiDecide, Request: Decision{}, Response: &Complaint{}},
		{Method: "POST", Pattern: one + "/photos", Perm: write, Scope: cl, API: true, MaxBody: imagecheck.MaxBody, Query: []string{"caption"},
			Summary: "Attach a photograph: the raw JPEG or PNG (at most 2 MiB) as the body with its Content-Type; ?caption= describes it", Handle: h.apiAddPhoto, Response: &Photo{}},
		{Method: "GET", Pattern: one + "/photos/{photo}", Perm: read, Scope: cl, API: true, Summary: "A photograph of a registration: the image itself, never cached; every fetch is an audited read", Handle: h.photo},
		{Method: "GET", Pattern: "/api/v1/registrations", Perm: read, Scope: staff, API: true, Query: []string{"status", "kind", "mine"}, Summary: "Registrations in the caller's caseload, most recently changed first", Handle: h.apiList, Response: RegistrationList{}},
		{Method: "GET", Pattern: "/api/v1/registrations/overdue", Perm: review, Scope: staff, API: true, Summary: "What is late in the caller's caseload: reports not reviewed within 24 h, old drafts, overdue statements, complaints past their deadline", Handle: h.apiOverdue, Response: &Overdue{}},
		{Method: "GET", Pattern: "/api/v1/registrations/counts", Perm: review, Scope: staff, API: true, Query: []string{"from", "to"}, Summary: "Numbers of registrations by unit, kind and month in the caller's caseload", Handle: h.apiCounts, Response: CountList{}},
		{Method: "GET", Pattern: "/api/v1/statements", Perm: write, Scope: staff, API: true, Summary: "The statements asked of the caller, open first", Handle: h.apiMyStatements, Response: StatementList{}},
	}, h.pageRoutes()...)
	for i := range rs {
		if strings.Contains(rs[i].Pattern, "{reg}") {
			rs[i].AlsoCovers = h.where
		}
	}
	return rs
}

// where grants a registration's routes to the staff of the place where it
// happened, also after the client has moved on.
func (h *Handlers) where(r *http.Request, clientID string) ([]string, error) {
	p := principal(r)
	locs, involved, err := h.Reg.Where(r.Context(), clientID, r.PathValue("reg"), p.ID)
	if involved && !p.IsToken {
		// The author and the staff named in it (asked for a statement)
		// were there: they reach it whatever their caseload is now.
		return p.Caseload, err
	}
	return locs, err
}

func principal(r *http.Request) *access.Principal { return web.PrincipalFrom(r.Context()) }
func clientOf(r *http.Request) string             { return web.ClientAccessFrom(r.Context()).ClientID }

func location(r *Registration) string {
	return "/api/v1/clients/" + r.ClientID + "/registrations/" + r.ID
}

func (h *Handlers) apiCreate(w http.ResponseWriter, r *http.Request) error {
	var n NewRegistration
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	reg, err := h.Reg.Create(r.Context(), principal(r), clientOf(r), web.IdempotencyKey(r), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", location(reg))
	if reg.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		return web.WriteJSON(w, http.StatusOK, reg)
	}
	return web.WriteJSON(w, http.StatusCreated, reg)
}

func (h *Handlers) apiForClient(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Reg.ForClient(r.Context(), principal(r), clientOf(r))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, RegistrationList{Registrations: orEmpty(list)})
}

func orEmpty(l []*Registration) []*Registration {
	if l == nil {
		return []*Registration{}
	}
	return l
}

func (h *Handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	reg, err := h.Reg.Get(r.Context(), principal(r), clientOf(r), r.PathValue("reg"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, reg)
}

func (h *Handlers) apiUpdateDraft(w http.ResponseWriter, r *http.Request) error {
	var u DraftUpdate
	if err := web.DecodeJSON(r, &u); err != nil {
		return err
	}
	if u.Version < 1 {
		return apperr.Field("version", "Send the version of the draft you changed.")
	}
	reg, err := h.Reg.UpdateDraft(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), u.Version, u.NewRegistration)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, reg)
}

func decodeVersion(r *http.Request) (int, error) {
	var v VersionOnly
	if err := web.DecodeJSON(r, &v); err != nil {
		return 0, err
	}
	if v.Version < 1 {
		return 0, apperr.Field("version", "Send the version you acted on.")
	}
	return v.Version, nil
}

func (h *Handlers) apiSubmit(w http.ResponseWriter, r *http.Request) error {
	v, err := decodeVersion(r)
	if err != nil {
		return err
	}
	reg, err := h.Reg.Submit(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), v)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, reg)
}

func (h *Handlers) apiReview(w http.ResponseWriter, r *http.Request) error {
	var d ReviewDecision
	if err := web.DecodeJSON(r, &d); err != nil {
		return err
	}
	var fe apperr.Fields
	if d.Version < 1 {
		fe.Add("version", "Send the version you reviewed.")
	}
	if d.Decision != "accept" && d.Decision != "return" {
		fe.Add("decision", "Choose accept or return.")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	reg, err := h.Reg.Review(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), d.Version, d.Decision == "accept", d.Comment)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, reg)
}

func (h *Handlers) apiClose(w http.ResponseWriter, r *http.Request) error {
	v, err := decodeVersion(r)
	if err != nil {
		return err
	}
	reg, err := h.Reg.Close(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), v)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, reg)
}

func (h *Handlers) apiAmend(w http.ResponseWriter, r *http.Request) error {
	var n NewAmendment
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	a, err := h.Reg.Amend(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), n)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusCreated, a)
}

func (h *Handlers) apiStatement(w http.ResponseWriter, r *http.Request) error {
	var t StatementText
	if err := web.DecodeJSON(r, &t); err != nil {
		return err
	}
	st, err := h.Reg.GiveStatement(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), t.Text)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, st)
}

func (h *Handlers) apiInformed(w http.ResponseWriter, r *http.Request) error {
	v, err := decodeVersion(r)
	if err != nil {
		return err
	}
	reg, err := h.Reg.InformClient(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), v)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, reg)
}

func (h *Handlers) apiComplaint(w http.ResponseWriter, r *http.Request) error {
	var n NewComplaint
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	c, err := h.Reg.AddComplaint(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), n)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusCreated, c)
}

func (h *Handlers) apiDecide(w http.ResponseWriter, r *http.Request) error {
	var d Decision
	if err := web.DecodeJSON(r, &d); err != nil {
		return err
	}
	if d.Version < 1 {
		return apperr.Field("version", "Send the version of the complaint you decided.")
	}
	c, err := h.Reg.DecideComplaint(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), r.PathValue("complaint"), d)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, c)
}

func filterOf(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	f := Filter{Status: Status(q.Get("status")), Kind: Kind(q.Get("kind")), Mine: q.Get("mine") == "true" || q.Get("mine") == "1"}
	var fe apperr.Fields
	switch f.Status {
	case "", Draft, Submitted, Returned, Accepted, Closed:
	default:
		fe.Add("status", "Choose draft, submitted, returned, accepted or closed.")
	}
	if f.Kind != "" && !f.Kind.Valid() {
		fe.Add("kind", "Unknown kind.")
	}
	return f, fe.Err()
}

func (h *Handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	f, err := filterOf(r)
	if err != nil {
		return err
	}
	list, err := h.Reg.List(r.Context(), principal(r), f)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, RegistrationList{Registrations: orEmpty(list)})
}

func (h *Handlers) apiOverdue(w http.ResponseWriter, r *http.Request) error {
	o, err := h.Reg.Overdue(r.Context(), principal(r))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, o)
}

func (h *Handlers) apiCounts(w http.ResponseWriter, r *http.Request) error {
	c, err := h.Reg.Counts(r.Context(), principal(r), r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, CountList{Counts: c})
}

func (h *Handlers) apiMyStatements(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Reg.MyStatements(r.Context(), principal(r))
	if err != nil {
		return err
	}
	if list == nil {
		list = []MyStatement{}
	}
	return web.WriteJSON(w, http.StatusOK, StatementList{Statements: list})
}

func (h *Handlers) apiAddPhoto(w http.ResponseWriter, r *http.Request) error {
	data, ct, err := imagecheck.FromBody(r)
	if err != nil {
		return err
	}
	ph, err := h.Reg.AddPhoto(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), data, ct, r.URL.Query().Get("caption"))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/clients/"+clientOf(r)+"/registrations/"+r.PathValue("reg")+"/photos/"+ph.ID)
	return web.WriteJSON(w, http.StatusCreated, ph)
}

// photo serves a registration's photograph (page and API).
func (h *Handlers) photo(w http.ResponseWriter, r *http.Request) error {
	ph, data, err := h.Reg.Photo(r.Context(), principal(r), clientOf(r), r.PathValue("reg"), r.PathValue("photo"))
	if err != nil {
		return err
	}
	return imagecheck.Serve(w, r, ph.ContentType, "registration-photo", data)
}
