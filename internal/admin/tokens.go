// SPDX-License-Identifier: AGPL-3.0-or-later

package admin

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

// MaxTokenDays bounds a token's lifetime: every token expires.
const MaxTokenDays = 730

// NewToken is the body of POST /api/v1/tokens.
type NewToken struct {
	Name     string      `json:"name"`
	Role     access.Role `json:"role"`
	Caseload []string    `json:"caseload"`
	// TTLDays is the lifetime in days, 1 to MaxTokenDays.
	TTLDays int `json:"ttl_days"`
}

// issueToken validates in the caller's language and issues the token.
func (h *Handlers) issueToken(ctx context.Context, lang i18n.Lang, n NewToken) (access.Token, error) {
	n.Caseload = cleanIDs(n.Caseload)
	n.Name = strings.TrimSpace(n.Name)
	var fe apperr.Fields
	if n.Name == "" || len(n.Name) > 200 {
		fe.Add("name", i18n.T(lang, "admin.token.err.name"))
	}
	if !n.Role.Valid() {
		fe.Add("role", i18n.T(lang, "admin.staff.err.role"))
	}
	if n.TTLDays < 1 || n.TTLDays > MaxTokenDays {
		fe.Add("ttl_days", i18n.T(lang, "admin.token.err.ttl_days", MaxTokenDays))
	}
	if err := h.checkCaseload(ctx, lang, &fe, n.Caseload); err != nil {
		return access.Token{}, err
	}
	if err := invalid(lang, fe); err != nil {
		return access.Token{}, err
	}
	t, err := h.Access.IssueToken(ctx, n.Name, n.Role, n.Caseload, time.Duration(n.TTLDays)*24*time.Hour)
	if err != nil {
		return access.Token{}, localize(lang, "admin.token.err", err)
	}
	return tokenView(t), nil
}

// tokenView is t as the API shows it: an empty caseload as [] rather than
// null.
func tokenView(t access.Token) access.Token {
	if t.Caseload == nil {
		t.Caseload = []string{}
	}
	return t
}

func (h *Handlers) revokeToken(ctx context.Context, lang i18n.Lang, id string) error {
	err := h.Access.RevokeToken(ctx, id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return apperr.New(apperr.NotFound, "%s", i18n.T(lang, "admin.token.err.not_found"))
	}
	return err
}

// ---------- UI ----------

type tokenRow struct {
	access.Token
	RoleName    string
	Places      []place
	CreatorName string
	State       string // active, expired, revoked
}

type tokensData struct {
	Tokens []tokenRow
	Roles  []option
	// New is the token just issued, with its secret (shown once).
	New *access.Token
}

func (h *Handlers) tokensData(ctx context.Context, lang i18n.Lang) (tokensData, error) {
	list, err := h.Access.ListTokens(ctx)
	if err != nil {
		return tokensData{}, err
	}
	var creators []string
	cls := make([][]string, len(list))
	for i, t := range list {
		creators = append(creators, t.CreatedBy)
		cls[i] = t.Caseload
	}
	names, err := h.Access.StaffNames(ctx, creators)
	if err != nil {
		return tokensData{}, err
	}
	places, err := h.placeNames(ctx, lang, cls...)
	if err != nil {
		return tokensData{}, err
	}
	now := h.DB.Now()
	d := tokensData{Roles: roleOptions(lang)}
	for _, t := range list {
		row := tokenRow{Token: t, RoleName: roleName(lang, t.Role), Places: places(t.Caseload), CreatorName: names[t.CreatedBy], State: "active"}
		if row.CreatorName == "" {
			row.CreatorName = t.CreatedBy
		}
		switch {
		case !t.RevokedAt.IsZero():
			row.State = "revoked"
		case !t.ExpiresAt.IsZero() && now.After(t.ExpiresAt):
			row.State = "expired"
		}
		d.Tokens = append(d.Tokens, row)
	}
	return d, nil
}

func (h *Handlers) tokensPage(w http.ResponseWriter, r *http.Request) error {
	l := lang(r)
	d, err := h.tokensData(r.Context(), l)
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.tokens.title"))
	pg.Nav = "tokens"
	pg.Data = d
	pg.Form = url.Values{"ttl_days": {"90"}}
	return h.Web.Render(w, pages, "tokens.html", pg)
}

func (h *Handlers) tokenIssue(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	l := lang(r)
	f := r.PostForm
	n := NewToken{Name: f.Get("name"), Role: access.Role(f.Get("role")), Caseload: splitIDs(f.Get("caseload"))}
	var err error
	if n.TTLDays, err = strconv.Atoi(strings.TrimSpace(f.Get("ttl_days"))); err != nil {
		n.TTLDays = -1
	}
	t, err := h.issueToken(r.Context(), l, n)
	d, derr := h.tokensData(r.Context(), l)
	if derr != nil {
		return derr
	}
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.tokens.title"))
	pg.Nav = "tokens"
	pg.Data = d
	if err != nil {
		return h.Web.FormError(w, r, pages, "tokens.html", pg, err)
	}
	// The secret is rendered into this answer and nowhere else; it is
	// not put in a flash cookie or a redirect.
	d.New = &t
	pg.Data = d
	pg.Form = url.Values{"ttl_days": {"90"}}
	pg.Flash = i18n.T(l, "admin.tokens.issued", t.Name)
	pg.Status = http.StatusCreated
	return h.Web.Render(w, pages, "tokens.html", pg)
}

func (h *Handlers) tokenRevoke(w http.ResponseWriter, r *http.Request) error {
	l := lang(r)
	if err := h.revokeToken(r.Context(), l, r.PathValue("id")); err != nil {
		return err
	}
	return web.Redirect(w, r, "/admin/tokens", i18n.T(l, "admin.tokens.revoked"), "")
}

// ---------- API ----------

func (h *Handlers) apiTokenList(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Access.ListTokens(r.Context())
	if err != nil {
		return err
	}
	items := make([]access.Token, len(list))
	for i, t := range list {
		items[i] = tokenView(t)
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (h *Handlers) apiTokenGet(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Access.ListTokens(r.Context())
	if err != nil {
		return err
	}
	for _, t := range list {
		if t.ID == r.PathValue("id") {
			return web.WriteJSON(w, http.StatusOK, tokenView(t))
		}
	}
	return apperr.New(apperr.NotFound, "%s", i18n.T(lang(r), "admin.token.err.not_found"))
}

func (h *Handlers) apiTokenIssue(w http.ResponseWriter, r *http.Request) error {
	var n NewToken
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	t, err := h.issueToken(r.Context(), lang(r), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tokens/"+url.PathEscape(t.ID))
	return web.WriteJSON(w, http.StatusCreated, t)
}

func (h *Handlers) apiTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := h.revokeToken(r.Context(), lang(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
