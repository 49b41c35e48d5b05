// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

// WeightsUpdate sets an institution's weights at a version (0 when it has
// set none). Every weight is required.
type WeightsUpdate struct {
	Risk     *int64 `json:"risk"`
	Violence *int64 `json:"violence"`
	Move     *int64 `json:"move"`
	Transfer *int64 `json:"transfer"`
	Smoking  *int64 `json:"smoking"`
	Version  *int   `json:"version"`
}

func (u WeightsUpdate) values() (WeightValues, int, error) {
	var v WeightValues
	var fe apperr.Fields
	given := map[string]*int64{"risk": u.Risk, "violence": u.Violence, "move": u.Move, "transfer": u.Transfer, "smoking": u.Smoking}
	for _, f := range WeightFields {
		switch p := given[f]; {
		case p == nil:
			fe.Add(f, "Required.")
		case *p < 0 || *p > MaxWeight:
			fe.Add(f, weightRange)
		default:
			*v.Field(f) = *p
		}
	}
	version := 0
	switch {
	case u.Version == nil:
		fe.Add("version", "Required.")
	case *u.Version < 0:
		fe.Add("version", "Send the version you changed.")
	default:
		version = *u.Version
	}
	return v, version, fe.Err()
}

func (h *Handlers) weightsRoutes() []web.Route {
	const loc = web.ScopeLocation
	read, write := access.PlacementRead, access.PlacementWrite
	api := "/api/v1/placement/weights/{loc}"
	return []web.Route{
		{Method: "GET", Pattern: "/placement/weights/{loc}", Perm: write, Scope: loc, Summary: "Form: the soft-cost weights of an institution's placements", Handle: h.weightsPage},
		{Method: "POST", Pattern: "/placement/weights/{loc}", Perm: write, Scope: loc, Summary: "Set the soft-cost weights of an institution's placements (version checked)", Handle: h.setWeights},
		{Method: "GET", Pattern: api, Perm: read, Scope: loc, API: true, Summary: "The soft-cost weights in force in an institution (default: true when it has set none)", Handle: h.apiWeights, Response: &InstitutionWeights{}},
		{Method: "PUT", Pattern: api, Perm: write, Scope: loc, API: true,
			Summary: "Set the soft-cost weights of an institution (every weight 0–1000000; version 0 when it has set none, else the version read)",
			Handle:  h.apiSetWeights, Request: WeightsUpdate{}, Response: &InstitutionWeights{}},
	}
}

// institution is the {loc} of the path, which must be an institution.
func (h *Handlers) institution(r *http.Request) (*estate.Location, error) {
	l, err := h.Estate.Location(r.Context(), r.PathValue("loc"))
	if err != nil {
		return nil, err
	}
	if l.Kind != estate.Institution {
		return nil, apperr.New(apperr.NotFound, "Weights are set for an institution, and this is not one.")
	}
	return l, nil
}

func (h *Handlers) apiWeights(w http.ResponseWriter, r *http.Request) error {
	l, err := h.institution(r)
	if err != nil {
		return err
	}
	iw, err := h.Placement.Weights(r.Context(), l.ID)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, iw)
}

func (h *Handlers) apiSetWeights(w http.ResponseWriter, r *http.Request) error {
	l, err := h.institution(r)
	if err != nil {
		return err
	}
	var u WeightsUpdate
	if err := web.DecodeJSON(r, &u); err != nil {
		return err
	}
	v, version, err := u.values()
	if err != nil {
		return err
	}
	iw, err := h.Placement.SetWeights(r.Context(), l.ID, version, v)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, iw)
}

type weightsData struct {
	Institution *estate.Location
	Current     *InstitutionWeights
	Fields      []string
	Max         int
}

func (h *Handlers) weightsFormPage(w http.ResponseWriter, r *http.Request, form url.Values, failed error) error {
	lang := web.LangOf(r)
	l, err := h.institution(r)
	if err != nil {
		return err
	}
	cur, err := h.Placement.Weights(r.Context(), l.ID)
	if err != nil {
		return err
	}
	if form == nil {
		form = url.Values{"version": {strconv.Itoa(cur.Version)}}
		for _, f := range WeightFields {
			form.Set(f, strconv.FormatInt(*cur.Field(f), 10))
		}
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "placement.weights.title", l.Name))
	pg.Nav = "placement"
	pg.Data = weightsData{Institution: l, Current: cur, Fields: WeightFields, Max: MaxWeight}
	pg.Form = form
	if failed != nil {
		return h.Web.FormError(w, r, pages, "weights.html", pg, localize(lang, failed))
	}
	return h.Web.Render(w, pages, "weights.html", pg)
}

func (h *Handlers) weightsPage(w http.ResponseWriter, r *http.Request) error {
	return h.weightsFormPage(w, r, nil, nil)
}

// weightsFromForm reads the form; a value that is not a whole number is
// an error of its field.
func weightsFromForm(f url.Values) (WeightValues, int, error) {
	var v WeightValues
	var fe apperr.Fields
	for _, name := range WeightFields {
		s := strings.TrimSpace(f.Get(name))
		if s == "" {
			fe.Add(name, "Required.")
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fe.Add(name, weightRange)
			continue
		}
		*v.Field(name) = n
	}
	version, err := strconv.Atoi(f.Get("version"))
	if err != nil || version < 0 {
		fe.Add("version", "Send the version you changed.")
	}
	return v, version, fe.Err()
}

func (h *Handlers) setWeights(w http.ResponseWriter, r *http.Request) error {
	l, err := h.institution(r)
	if err != nil {
		return err
	}
	v, version, err := weightsFromForm(r.PostForm)
	if err == nil {
		_, err = h.Placement.SetWeights(r.Context(), l.ID, version, v)
	}
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Code != apperr.Internal {
			return h.weightsFormPage(w, r, r.PostForm, err)
		}
		return err
	}
	return web.Redirect(w, r, "/placement/weights/"+l.ID, i18n.T(web.LangOf(r), "placement.weights.saved"), "")
}
