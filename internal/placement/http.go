// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"net/http"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/web"
)

// Handlers serves the placement pages and the /api/v1 non-association
// and sharing-assessment API.
//
// Access: every route declares its permission. Routes under
// /clients/{id}/… are caseload-checked by the router for the client, and
// the service finds only that person's non-associations. The staff lists
// (/placement…, /api/v1/nonassociations) hold only decisions with a
// member in the caller's caseload.
type Handlers struct {
	Web       *web.Server
	Placement *Service
	Batch     *Batch
	Client    *client.Service
	Estate    *estate.Service
	// Names maps location ids to their names.
	Names func(ctx context.Context, ids []string) (map[string]string, error)
}

// Register adds the routes to h.Web.
func (h *Handlers) Register() {
	for _, rt := range h.routes() {
		h.Web.Handle(rt)
	}
}

// The API's bodies and answers.
type (
	// NonAssociationList is a list of non-associations.
	NonAssociationList struct {
		NonAssociations []*NonAssociation `json:"nonassociations"`
	}
	// NonAssociationUpdate changes a non-association at a version.
	NonAssociationUpdate struct {
		NewNonAssociation
		Version int `json:"version"`
	}
	// EndRequest ends a non-association at a version, with the reason.
	EndRequest struct {
		Version int    `json:"version"`
		Reason  string `json:"reason"`
	}
	// AssessmentList is a person's sharing assessments: the one in force
	// (null when there is none) and every one, newest first.
	AssessmentList struct {
		Current     *Assessment  `json:"current"`
		Assessments []Assessment `json:"assessments"`
	}
	// ProfileList is a person's placement profiles: the one in force
	// (null when there is none) and every one, newest first.
	ProfileList struct {
		Current  *Profile  `json:"current"`
		Profiles []Profile `json:"profiles"`
	}
)

func (h *Handlers) routes() []web.Route {
	const cl, staff = web.ScopeClient, web.ScopeStaff
	read, write := access.PlacementRead, access.PlacementWrite
	one := "/api/v1/clients/{id}/nonassociations/{na}"
	return append([]web.Route{
		{Method: "POST", Pattern: "/api/v1/clients/{id}/nonassociations", Perm: write, Scope: cl, API: true,
			Summary: "Record that the client and the people named (members: client ids) must be kept apart, within a scope, with the reason and a review date",
			Handle:  h.apiCreate, Request: NewNonAssociation{}, Response: &NonAssociation{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/nonassociations", Perm: read, Scope: cl, API: true, Summary: "The client's non-associations, active first", Handle: h.apiForClient, Response: NonAssociationList{}},
		{Method: "GET", Pattern: one, Perm: read, Scope: cl, API: true, Summary: "One of the client's non-associations with every version", Handle: h.apiGet, Response: &NonAssociation{}},
		{Method: "PUT", Pattern: one, Perm: write, Scope: cl, API: true, Summary: "Change an active non-association (version required); a new review date records a review", Handle: h.apiUpdate, Request: NonAssociationUpdate{}, Response: &NonAssociation{}},
		{Method: "POST", Pattern: one + "/end", Perm: write, Scope: cl, API: true, Summary: "End a non-association, with the reason (version required)", Handle: h.apiEnd, Request: EndRequest{}, Response: &NonAssociation{}},
		{Method: "GET", Pattern: "/api/v1/nonassociations", Perm: read, Scope: staff, API: true, Query: []string{"due"},
			Summary: "Active non-associations with a member in the caller's caseload; due=true: only those past their review date", Handle: h.apiList, Response: NonAssociationList{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/sharing-assessments", Perm: write, Scope: cl, API: true,
			Summary: "Record a cell-sharing risk assessment of the client: outcome not_suitable, suitable_any or conditional (with conditions), reasons, review date",
			Handle:  h.apiAssess, Request: NewAssessment{}, Response: &Assessment{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/sharing-assessments", Perm: read, Scope: cl, API: true, Summary: "The client's sharing assessment in force and the history", Handle: h.apiAssessments, Response: AssessmentList{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/placement-profiles", Perm: write, Scope: cl, API: true,
			Summary: "Record the client's placement profile: security level 1 (highest) to 3 (lowest) the cell must have at least, whether an accessible cell is needed, remand restrictions (alone in the cell), reasons",
			Handle:  h.apiSetProfile, Request: NewProfile{}, Response: &Profile{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/placement-profiles", Perm: read, Scope: cl, API: true, Summary: "The client's placement profile in force and the history", Handle: h.apiProfiles, Response: ProfileList{}},
	}, append(append(h.pageRoutes(), h.batchRoutes()...), h.weightsRoutes()...)...)
}

func clientOf(r *http.Request) string { return web.ClientAccessFrom(r.Context()).ClientID }

func location(clientID string, n *NonAssociation) string {
	return "/api/v1/clients/" + clientID + "/nonassociations/" + n.ID
}

func orEmpty(l []*NonAssociation) []*NonAssociation {
	if l == nil {
		return []*NonAssociation{}
	}
	return l
}

func (h *Handlers) apiCreate(w http.ResponseWriter, r *http.Request) error {
	var n NewNonAssociation
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	na, err := h.Placement.CreateNonAssociation(r.Context(), clientOf(r), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", location(clientOf(r), na))
	return web.WriteJSON(w, http.StatusCreated, na)
}

func (h *Handlers) apiForClient(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Placement.NonAssociationsFor(r.Context(), clientOf(r))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, NonAssociationList{NonAssociations: orEmpty(list)})
}

func (h *Handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	na, err := h.Placement.NonAssociation(r.Context(), clientOf(r), r.PathValue("na"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, na)
}

func (h *Handlers) apiUpdate(w http.ResponseWriter, r *http.Request) error {
	var u NonAssociationUpdate
	if err := web.DecodeJSON(r, &u); err != nil {
		return err
	}
	if u.Version < 1 {
		return apperr.Field("version", "Send the version you changed.")
	}
	na, err := h.Placement.UpdateNonAssociation(r.Context(), clientOf(r), r.PathValue("na"), u.Version, u.NewNonAssociation)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, na)
}

func (h *Handlers) apiEnd(w http.ResponseWriter, r *http.Request) error {
	var e EndRequest
	if err := web.DecodeJSON(r, &e); err != nil {
		return err
	}
	if e.Version < 1 {
		return apperr.Field("version", "Send the version you ended.")
	}
	na, err := h.Placement.EndNonAssociation(r.Context(), clientOf(r), r.PathValue("na"), e.Version, e.Reason)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, na)
}

func (h *Handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	due := r.URL.Query().Get("due")
	if due != "" && due != "true" && due != "false" {
		return apperr.Field("due", "Use true or false.")
	}
	list, err := h.Placement.NonAssociations(r.Context(), web.PrincipalFrom(r.Context()), ListFilter{Due: due == "true"})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, NonAssociationList{NonAssociations: orEmpty(list)})
}

func (h *Handlers) apiAssess(w http.ResponseWriter, r *http.Request) error {
	var n NewAssessment
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	a, err := h.Placement.Assess(r.Context(), clientOf(r), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/clients/"+clientOf(r)+"/sharing-assessments")
	return web.WriteJSON(w, http.StatusCreated, a)
}

func (h *Handlers) apiAssessments(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Placement.Assessments(r.Context(), clientOf(r))
	if err != nil {
		return err
	}
	out := AssessmentList{Assessments: list}
	if len(list) > 0 {
		out.Current = &list[0]
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handlers) apiSetProfile(w http.ResponseWriter, r *http.Request) error {
	var n NewProfile
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	p, err := h.Placement.SetProfile(r.Context(), clientOf(r), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/clients/"+clientOf(r)+"/placement-profiles")
	return web.WriteJSON(w, http.StatusCreated, p)
}

func (h *Handlers) apiProfiles(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Placement.Profiles(r.Context(), clientOf(r))
	if err != nil {
		return err
	}
	out := ProfileList{Profiles: list}
	if len(list) > 0 {
		out.Current = &list[0]
	}
	return web.WriteJSON(w, http.StatusOK, out)
}
