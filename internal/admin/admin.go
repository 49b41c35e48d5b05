// SPDX-License-Identifier: AGPL-3.0-or-later

// Package admin is the staff-administration, audit and break-glass-review
// capability: administrators manage staff accounts and API tokens,
// auditors search the hash-chained audit log, verify it and answer a data
// subject's "who has looked at my file", and security reviews every
// break-glass access. Each screen has a JSON equivalent under /api/v1.
//
// The package owns no tables: every write goes through access.Service,
// which audits it in the same transaction; reads of personal data shown
// here are recorded with audit.Log.RecordRead before the data is sent.
package admin

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = func() *web.Templates {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		panic(err)
	}
	return web.MustTemplates(sub)
}()

// Handlers serves the administration, audit and break-glass-review routes.
type Handlers struct {
	Web    *web.Server
	Access *access.Service
	Audit  *audit.Log
	DB     *db.DB
	// Names maps location ids (institutions, units, offices) to their
	// names, to show caseloads readably and to refuse unknown ids. Optional:
	// without it ids are shown and accepted as typed.
	Names func(ctx context.Context, ids []string) (map[string]string, error)
}

// Register adds every route of the package to h.Web. Each UI route has an
// /api/v1 equivalent with the same permission.
func (h *Handlers) Register() {
	for _, rt := range h.routes() {
		h.Web.Handle(rt)
	}
}

func (h *Handlers) routes() []web.Route {
	const staff = web.ScopeStaff
	return []web.Route{
		// Staff accounts.
		{Method: "GET", Pattern: "/admin/users", Perm: access.UsersAdmin, Scope: staff, Summary: "Staff accounts", Handle: h.usersPage},
		{Method: "GET", Pattern: "/admin/users/new", Perm: access.UsersAdmin, Scope: staff, Summary: "Form: new staff account", Handle: h.userNewPage},
		{Method: "POST", Pattern: "/admin/users", Perm: access.UsersAdmin, Scope: staff, Summary: "Create a staff account", Handle: h.userCreate},
		{Method: "GET", Pattern: "/admin/users/{username}/password", Perm: access.UsersAdmin, Scope: staff, Summary: "Form: reset a staff member's password", Handle: h.passwordPage},
		{Method: "POST", Pattern: "/admin/users/{username}/password", Perm: access.UsersAdmin, Scope: staff, Summary: "Reset a staff member's password", Handle: h.passwordReset},
		{Method: "GET", Pattern: "/admin/users/{username}/edit", Perm: access.UsersAdmin, Scope: staff, Summary: "Form: change a staff account (name, role, caseload, language, enabled)", Handle: h.userEditPage},
		{Method: "POST", Pattern: "/admin/users/{username}/edit", Perm: access.UsersAdmin, Scope: staff, Summary: "Change a staff account; unticking enabled disables it and ends its sessions", Handle: h.userUpdate},
		{Method: "GET", Pattern: "/api/v1/staff", Perm: access.UsersAdmin, Scope: staff, API: true, Summary: "List staff accounts", Handle: h.apiStaffList, Response: &StaffList{}},
		{Method: "POST", Pattern: "/api/v1/staff", Perm: access.UsersAdmin, Scope: staff, API: true, Summary: "Create a staff account (Idempotency-Key accepted)", Handle: h.apiStaffCreate, Request: access.NewStaff{}, Response: &StaffView{}},
		{Method: "GET", Pattern: "/api/v1/staff/{username}", Perm: access.UsersAdmin, Scope: staff, API: true, Summary: "One staff account", Handle: h.apiStaffGet, Response: &StaffView{}},
		{Method: "PATCH", Pattern: "/api/v1/staff/{username}", Perm: access.UsersAdmin, Scope: staff, API: true,
			Summary: "Change a staff account: display_name, role, caseload, lang and disabled, any subset; version required (409 when stale), absent fields keep their values. disabled=true disables the account and ends its sessions, false enables it; you cannot disable yourself or drop your own administrator role (403)",
			Handle:  h.apiStaffPatch, Request: access.StaffChange{}, Response: &StaffView{}},
		{Method: "POST", Pattern: "/api/v1/staff/{username}/password", Perm: access.UsersAdmin, Scope: staff, API: true, Summary: "Reset a staff member's password; ends their sessions", Handle: h.apiPasswordReset, Request: PasswordReset{}},

		// API tokens.
		{Method: "GET", Pattern: "/admin/tokens", Perm: access.TokensAdmin, Scope: staff, Summary: "API tokens", Handle: h.tokensPage},
		{Method: "POST", Pattern: "/admin/tokens", Perm: access.TokensAdmin, Scope: staff, Summary: "Issue an API token (the secret is shown once)", Handle: h.tokenIssue},
		{Method: "POST", Pattern: "/admin/tokens/{id}/revoke", Perm: access.TokensAdmin, Scope: staff, Summary: "Revoke an API token", Handle: h.tokenRevoke},
		{Method: "GET", Pattern: "/api/v1/tokens", Perm: access.TokensAdmin, Scope: staff, API: true, Summary: "List API tokens (never their secrets)", Handle: h.apiTokenList},
		{Method: "POST", Pattern: "/api/v1/tokens", Perm: access.TokensAdmin, Scope: staff, API: true, Summary: "Issue an API token bound to a role and caseload (Idempotency-Key accepted)", SecretAnswer: true, Handle: h.apiTokenIssue},
		{Method: "GET", Pattern: "/api/v1/tokens/{id}", Perm: access.TokensAdmin, Scope: staff, API: true, Summary: "One API token (never its secret)", Handle: h.apiTokenGet},
		{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Perm: access.TokensAdmin, Scope: staff, API: true, Summary: "Revoke an API token", Handle: h.apiTokenRevoke},

		// Audit log. Auditors are not limited by caseload: the routes are
		// staff-scoped, and each read of the log is itself audited.
		{Method: "GET", Pattern: "/audit", Perm: access.AuditRead, Scope: staff, Summary: "Audit log search", Handle: h.auditPage},
		{Method: "POST", Pattern: "/audit/verify", Perm: access.AuditRead, Scope: staff, Summary: "Verify the audit hash chain", Handle: h.auditVerify},
		{Method: "GET", Pattern: "/audit/clients/{id}/access", Perm: access.AuditRead, Scope: staff, Summary: "Who has looked at a client's file (printable)", Handle: h.accessReportPage},
		{Method: "GET", Pattern: "/api/v1/audit", Perm: access.AuditRead, Scope: staff, API: true, Summary: "Search the audit log, newest first (client, staff, action, from, to, break_glass, limit, before)", Handle: h.apiAuditSearch},
		{Method: "POST", Pattern: "/api/v1/audit/verify", Perm: access.AuditRead, Scope: staff, API: true, Summary: "Verify the audit hash chain", Handle: h.apiAuditVerify},
		{Method: "GET", Pattern: "/api/v1/audit/clients/{id}/access", Perm: access.AuditRead, Scope: staff, API: true, Summary: "Who has looked at a client's file", Handle: h.apiAccessReport},

		// Break-glass review.
		{Method: "GET", Pattern: "/break-glass", Perm: access.BreakGlassReview, Scope: staff, Summary: "Break-glass accesses for review", Handle: h.breakGlassPage},
		{Method: "POST", Pattern: "/break-glass/{id}/review", Perm: access.BreakGlassReview, Scope: staff, Summary: "Review a break-glass access", Handle: h.breakGlassReview},
		{Method: "GET", Pattern: "/api/v1/break-glass", Perm: access.BreakGlassReview, Scope: staff, API: true, Summary: "Break-glass accesses, unreviewed first (filter=all|unreviewed)", Handle: h.apiBreakGlassList},
		{Method: "POST", Pattern: "/api/v1/break-glass/{id}/review", Perm: access.BreakGlassReview, Scope: staff, API: true, Summary: "Review a break-glass access", Handle: h.apiBreakGlassReview},
	}
}

// msg is the message for key in lang, or fallback when the catalogue has
// no such key.
func msg(lang i18n.Lang, key, fallback string, args ...any) string {
	if s := i18n.T(lang, key, args...); s != key {
		return s
	}
	return fallback
}

// localize rewrites an invalid-input error from a service into lang: each
// field's message becomes the catalogue's "<prefix>.<field>" text when
// there is one (the service's English is kept otherwise).
func localize(lang i18n.Lang, prefix string, err error) error {
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Invalid {
		return err
	}
	out := &apperr.Error{Code: e.Code, Message: msg(lang, "admin.err.invalid", e.Message), Detail: e.Detail}
	for _, f := range e.Fields {
		out.Fields = append(out.Fields, apperr.FieldError{Field: f.Field, Message: msg(lang, prefix+"."+f.Field, f.Message)})
	}
	return out
}

// invalid makes the collected field errors one error in lang.
func invalid(lang i18n.Lang, fe apperr.Fields) error {
	if len(fe) == 0 {
		return nil
	}
	return &apperr.Error{Code: apperr.Invalid, Message: i18n.T(lang, "admin.err.invalid"), Fields: fe}
}

// splitIDs reads a caseload typed as ids separated by commas, semicolons,
// spaces or new lines.
func splitIDs(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	return cleanIDs(f)
}

// cleanIDs trims, drops empties and duplicates, keeping order.
func cleanIDs(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out
}

// checkCaseload adds a field error when an id is malformed or, when the
// location names are known, names no location.
func (h *Handlers) checkCaseload(ctx context.Context, lang i18n.Lang, fe *apperr.Fields, ids []string) error {
	var look []string
	for _, id := range ids {
		if len(id) > 100 || strings.ContainsAny(id, "<>\"'") {
			fe.Add("caseload", i18n.T(lang, "admin.err.caseload_format"))
			return nil
		}
		if id != access.Everywhere {
			look = append(look, id)
		}
	}
	if h.Names == nil || len(look) == 0 {
		return nil
	}
	names, err := h.Names(ctx, look)
	if err != nil {
		return fmt.Errorf("admin: location names: %w", err)
	}
	var unknown []string
	for _, id := range look {
		if _, ok := names[id]; !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		fe.Add("caseload", i18n.T(lang, "admin.err.caseload_unknown", strings.Join(unknown, ", ")))
	}
	return nil
}

// place is a caseload entry as shown: its id and, when known, its name.
type place struct {
	ID   string
	Name string
}

// placeNames resolves every location id in lists to a displayable place.
func (h *Handlers) placeNames(ctx context.Context, lang i18n.Lang, lists ...[]string) (func([]string) []place, error) {
	names := map[string]string{}
	if h.Names != nil {
		seen := map[string]bool{}
		var ids []string
		for _, l := range lists {
			for _, id := range l {
				if id != access.Everywhere && !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
		if len(ids) > 0 {
			sort.Strings(ids)
			m, err := h.Names(ctx, ids)
			if err != nil {
				return nil, fmt.Errorf("admin: location names: %w", err)
			}
			names = m
		}
	}
	return func(ids []string) []place {
		out := make([]place, 0, len(ids))
		for _, id := range ids {
			p := place{ID: id, Name: names[id]}
			if id == access.Everywhere {
				p.Name = i18n.T(lang, "admin.caseload.everywhere")
			}
			out = append(out, p)
		}
		return out
	}, nil
}

// roleOptions are the roles for a select, with their names in lang.
type option struct {
	Value, Label string
}

func roleOptions(lang i18n.Lang) []option {
	out := make([]option, 0, len(access.Roles))
	for _, r := range access.Roles {
		out = append(out, option{Value: string(r), Label: roleName(lang, r)})
	}
	return out
}

func roleName(lang i18n.Lang, r access.Role) string {
	return msg(lang, "admin.role."+string(r), string(r))
}

// lang is the request's language.
func lang(r *http.Request) i18n.Lang { return web.LangOf(r) }

// readForm parses a posted form, naming the body as the fault.
func readForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return apperr.Field("body", "The form could not be read.")
	}
	return nil
}
