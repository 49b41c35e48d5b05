// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"net/http"
	"strconv"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/web"
)

func clientID(r *http.Request) string { return web.ClientAccessFrom(r.Context()).ClientID }

func created(w http.ResponseWriter, loc string, v any) error {
	w.Header().Set("Location", loc)
	return web.WriteJSON(w, http.StatusCreated, v)
}

// SearchResult is the answer of GET /api/v1/clients.
type SearchResult struct {
	Results []Summary `json:"results"`
}

func (h *Handlers) apiSearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 25
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return apperr.Field("limit", "Use a whole number from 1 to 100.")
		}
		limit = n
	}
	res, err := h.Client.Search(r.Context(), web.PrincipalFrom(r.Context()), q.Get("q"), limit)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, SearchResult{Results: res})
}

func (h *Handlers) apiCreate(w http.ResponseWriter, r *http.Request) error {
	var n NewClient
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	c, err := h.Client.Register(r.Context(), n)
	if err != nil {
		return err
	}
	c.AllowedNext = Allowed(c.Status)
	return created(w, "/api/v1/clients/"+c.ID, c)
}

func (h *Handlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	c, err := h.Client.Get(r.Context(), clientID(r))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, c)
}

// DetailsUpdate is the body of PUT /api/v1/clients/{id}: every detail,
// with the version the caller read.
type DetailsUpdate struct {
	Version           *int     `json:"version"`
	GivenName         string   `json:"given_name"`
	FamilyName        string   `json:"family_name"`
	Aliases           []string `json:"aliases"`
	BirthDate         string   `json:"birth_date"`
	Sex               string   `json:"sex"`
	NationalID        string   `json:"national_id"`
	NationalIDCountry string   `json:"national_id_country"`
	Nationality       string   `json:"nationality"`
	Languages         []string `json:"languages"`
}

func needVersion(v *int) (int, error) {
	if v == nil {
		return 0, apperr.Field("version", "Send the version you read; it protects against overwriting someone else's change.")
	}
	return *v, nil
}

func (h *Handlers) apiPut(w http.ResponseWriter, r *http.Request) error {
	var u DetailsUpdate
	if err := web.DecodeJSON(r, &u); err != nil {
		return err
	}
	v, err := needVersion(u.Version)
	if err != nil {
		return err
	}
	c, err := h.Client.UpdateDetails(r.Context(), clientID(r), v, PersonDetails{GivenName: u.GivenName, FamilyName: u.FamilyName, Aliases: u.Aliases,
		BirthDate: u.BirthDate, Sex: u.Sex, NationalID: u.NationalID, NationalIDCountry: u.NationalIDCountry, Nationality: u.Nationality, Languages: u.Languages})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, c)
}

func (h *Handlers) apiPatch(w http.ResponseWriter, r *http.Request) error {
	var p DetailsPatch
	if err := web.DecodeJSON(r, &p); err != nil {
		return err
	}
	v, err := needVersion(p.Version)
	if err != nil {
		return err
	}
	c, err := h.Client.PatchDetails(r.Context(), clientID(r), v, p)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, c)
}

// TimelineResult is one page of a timeline; Next is the before= cursor
// of the following page (absent on the last).
type TimelineResult struct {
	Entries []HistoryEntry `json:"entries"`
	Next    string         `json:"next,omitempty"`
}

func (h *Handlers) apiTimeline(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return apperr.Field("limit", "Use a whole number from 1 to 200.")
		}
		limit = n
	}
	entries, next, err := h.Client.TimelinePage(r.Context(), clientID(r), q.Get("before"), limit)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, TimelineResult{Entries: entries, Next: next})
}

func (h *Handlers) apiAddBasis(w http.ResponseWriter, r *http.Request) error {
	var n NewLegalBasis
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	id := clientID(r)
	b, err := h.Client.AddLegalBasis(r.Context(), id, n)
	if err != nil {
		return err
	}
	return created(w, "/api/v1/clients/"+id+"/legal-bases/"+b.ID, b)
}

func (h *Handlers) apiGetBasis(w http.ResponseWriter, r *http.Request) error {
	b, err := h.Client.LegalBasis(r.Context(), clientID(r), r.PathValue("basis"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, b)
}

// MoveRequest is the body of POST /api/v1/clients/{id}/movements: a
// Move whose version must be sent.
type MoveRequest struct {
	Move
	Version *int `json:"version"`
}

func (h *Handlers) apiMove(w http.ResponseWriter, r *http.Request) error {
	var m MoveRequest
	if err := web.DecodeJSON(r, &m); err != nil {
		return err
	}
	v, err := needVersion(m.Version)
	if err != nil {
		return err
	}
	m.Move.Version = v
	id := clientID(r)
	out, err := h.Client.MoveClient(r.Context(), id, m.Move)
	if err != nil {
		return err
	}
	return created(w, "/api/v1/clients/"+id+"/movements/"+out.Movement, out)
}

func (h *Handlers) apiGetMovement(w http.ResponseWriter, r *http.Request) error {
	m, err := h.Client.Movement(r.Context(), clientID(r), r.PathValue("movement"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, m)
}

func (h *Handlers) apiAddAlert(w http.ResponseWriter, r *http.Request) error {
	var n NewAlert
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	id := clientID(r)
	a, err := h.Client.AddAlert(r.Context(), id, n)
	if err != nil {
		return err
	}
	return created(w, "/api/v1/clients/"+id+"/alerts/"+a.ID, a)
}

func (h *Handlers) findAlert(r *http.Request) (Alert, error) {
	c, err := h.Client.Get(r.Context(), clientID(r))
	if err != nil {
		return Alert{}, err
	}
	for _, a := range c.Alerts {
		if a.ID == r.PathValue("alert") {
			return a, nil
		}
	}
	return Alert{}, apperr.New(apperr.NotFound, "This client has no such alert.")
}

func (h *Handlers) apiGetAlert(w http.ResponseWriter, r *http.Request) error {
	a, err := h.findAlert(r)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, a)
}

// AlertEndRequest is the body of POST
// /api/v1/clients/{id}/alerts/{alert}/end: the alert's version.
type AlertEndRequest struct {
	Version *int `json:"version"`
}

func (h *Handlers) apiEndAlert(w http.ResponseWriter, r *http.Request) error {
	var in AlertEndRequest
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	v, err := needVersion(in.Version)
	if err != nil {
		return err
	}
	if err := h.Client.EndAlert(r.Context(), clientID(r), r.PathValue("alert"), v); err != nil {
		return err
	}
	a, err := h.findAlert(r)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, a)
}

// MergeRequest is the body of POST /api/v1/clients/{id}/merge.
type MergeRequest struct {
	MergedID        string `json:"merged_id"` // the duplicate: its id or client number
	SurvivorVersion *int   `json:"survivor_version"`
	MergedVersion   *int   `json:"merged_version"`
	Reason          string `json:"reason"`
}

func (h *Handlers) apiMerge(w http.ResponseWriter, r *http.Request) error {
	var in MergeRequest
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	var fe apperr.Fields
	if in.SurvivorVersion == nil {
		fe.Add("survivor_version", "Send the version of this record you read.")
	}
	if in.MergedVersion == nil {
		fe.Add("merged_version", "Send the version of the duplicate you read.")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	id := clientID(r)
	dup, err := h.duplicateFor(r, in.MergedID)
	if err != nil {
		return err
	}
	rec, err := h.Client.Merge(r.Context(), id, dup, *in.SurvivorVersion, *in.MergedVersion, in.Reason)
	if err != nil {
		return err
	}
	return created(w, "/api/v1/clients/"+id+"/merges/"+rec.ID, rec)
}

func (h *Handlers) findMerge(r *http.Request) (MergeRecord, error) {
	ms, err := h.Client.Merges(r.Context(), clientID(r))
	if err != nil {
		return MergeRecord{}, err
	}
	for _, m := range ms {
		if m.ID == r.PathValue("merge") {
			return m, nil
		}
	}
	return MergeRecord{}, apperr.New(apperr.NotFound, "This client has no such merge.")
}

func (h *Handlers) apiGetMerge(w http.ResponseWriter, r *http.Request) error {
	m, err := h.findMerge(r)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, m)
}

func (h *Handlers) apiUndoMerge(w http.ResponseWriter, r *http.Request) error {
	if err := h.Client.UndoMerge(r.Context(), clientID(r), r.PathValue("merge")); err != nil {
		return err
	}
	m, err := h.findMerge(r)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, m)
}

// BreakGlassRequest is the body of POST /api/v1/clients/{id}/break-glass.
type BreakGlassRequest struct {
	Reason string `json:"reason"`
}

func (h *Handlers) apiBreakGlass(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := web.PrincipalFrom(ctx)
	if p.IsToken {
		return apperr.New(apperr.Forbidden, "Break-glass is a person's decision; API tokens cannot use it.")
	}
	var in BreakGlassRequest
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	canon, _, err := h.Client.Locate(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	g, err := h.Web.Access.BreakGlass(ctx, p, canon, in.Reason)
	if err != nil {
		return err
	}
	return created(w, "/api/v1/clients/"+canon, g)
}
