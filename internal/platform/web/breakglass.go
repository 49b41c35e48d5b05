// SPDX-License-Identifier: AGPL-3.0-or-later

package web

import (
	"net/http"
	"strings"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/i18n"
)

// RegisterBreakGlass adds the routes that open a break-glass grant for a
// client outside the caller's caseload. They are staff-scoped, not
// client-scoped: their purpose is to reach a client the caseload does not
// cover. The access service refuses roles that cannot read clients and
// reasons that say nothing, and audits every grant.
func (s *Server) RegisterBreakGlass() {
	s.Handle(Route{Method: "POST", Pattern: "/clients/{id}/break-glass", Scope: ScopeStaff, Perm: access.ClientRead,
		Summary: "Open a break-glass grant for a client outside the caseload", Handle: s.breakGlassForm})
	s.Handle(Route{Method: "POST", Pattern: "/api/v1/clients/{id}/break-glass", Scope: ScopeStaff, Perm: access.ClientRead, API: true,
		Summary: "Open a break-glass grant for a client outside the caseload (creates)", Request: breakGlassRequest{}, Response: access.Grant{},
		Handle: s.breakGlassAPI})
}

type breakGlassRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) openGrant(r *http.Request, reason string) (access.Grant, string, error) {
	if s.Locate == nil {
		return access.Grant{}, "", apperr.New(apperr.Internal, "No client register configured.")
	}
	id, _, err := s.Locate(r.Context(), r.PathValue("id"))
	if err != nil {
		return access.Grant{}, "", err
	}
	g, err := s.Access.BreakGlass(r.Context(), PrincipalFrom(r.Context()), id, reason)
	return g, id, err
}

func (s *Server) breakGlassForm(w http.ResponseWriter, r *http.Request) error {
	reason := r.PostFormValue("reason")
	_, id, err := s.openGrant(r, reason)
	if err != nil {
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.Invalid {
			return err
		}
		pg := s.NewPage(w, r, e.Message)
		pg.Status = http.StatusUnprocessableEntity
		d := errorData{Status: http.StatusForbidden, Message: i18n.T(pg.Lang, "audit.break_glass"), BreakGlass: true, ClientID: r.PathValue("id"), Reason: reason}
		for _, f := range e.Fields {
			if f.Field == "reason" {
				d.ReasonError = f.Message
			}
		}
		if d.ReasonError == "" {
			d.ReasonError = e.Message
		}
		pg.Data = d
		return s.Render(w, s.layout, "error.html", pg)
	}
	return Redirect(w, r, "/clients/"+id, i18n.T(LangOf(r), "audit.break_glass_opened"), "")
}

func (s *Server) breakGlassAPI(w http.ResponseWriter, r *http.Request) error {
	var req breakGlassRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	g, _, err := s.openGrant(r, strings.TrimSpace(req.Reason))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, g)
}
