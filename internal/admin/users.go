// SPDX-License-Identifier: AGPL-3.0-or-later

package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

// StaffView is a staff account as the API shows it: the account plus
// whether it is locked out now.
type StaffView struct {
	access.Staff
	Locked bool `json:"locked"`
}

// view is st as the API shows it: its lock-out now, and an empty caseload
// as [] rather than null.
func (h *Handlers) view(st access.Staff) StaffView {
	if st.Caseload == nil {
		st.Caseload = []string{}
	}
	return StaffView{Staff: st, Locked: st.LockedUntil.After(h.DB.Now())}
}

// staffList loads every account and records that the caller saw them
// (staff names are personal data too).
func (h *Handlers) staffList(ctx context.Context) ([]StaffView, error) {
	list, err := h.Access.ListStaff(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.Audit.RecordRead(ctx, audit.Entry{Action: "staff.list.read", ObjectType: "staff", Detail: fmt.Sprintf("count=%d", len(list))}); err != nil {
		return nil, err
	}
	out := make([]StaffView, 0, len(list))
	for _, st := range list {
		out = append(out, h.view(st))
	}
	return out, nil
}

// findStaff returns the account called username, or NotFound, and records
// that the caller saw it.
func (h *Handlers) findStaff(ctx context.Context, lang i18n.Lang, username string) (StaffView, error) {
	st, err := h.Access.GetStaff(ctx, username)
	if apperr.CodeOf(err) == apperr.NotFound {
		return StaffView{}, apperr.New(apperr.NotFound, "%s", i18n.T(lang, "admin.err.no_user", username))
	}
	if err != nil {
		return StaffView{}, err
	}
	if err := h.Audit.RecordRead(ctx, audit.Entry{Action: "staff.read", ObjectType: "staff", ObjectID: st.ID}); err != nil {
		return StaffView{}, err
	}
	return h.view(st), nil
}

// createStaff validates a new account in the caller's language and creates
// it. A taken username is a conflict (409), not invalid input. extra are
// errors the caller found already (a form's repeated password), reported
// together with the rest.
func (h *Handlers) createStaff(ctx context.Context, lang i18n.Lang, n access.NewStaff, extra ...apperr.FieldError) (access.Staff, error) {
	n.Caseload = cleanIDs(n.Caseload)
	var fe apperr.Fields
	if err := n.Validate(); err != nil {
		e, ok := apperr.As(err)
		if !ok {
			return access.Staff{}, err
		}
		for _, f := range e.Fields {
			fe.Add(f.Field, msg(lang, "admin.staff.err."+f.Field, f.Message))
		}
	}
	if n.Lang != "" && !i18n.Lang(n.Lang).Valid() {
		fe.Add("lang", i18n.T(lang, "admin.staff.err.lang"))
	}
	if err := h.checkCaseload(ctx, lang, &fe, n.Caseload); err != nil {
		return access.Staff{}, err
	}
	fe = append(fe, extra...)
	if err := invalid(lang, fe); err != nil {
		return access.Staff{}, err
	}
	st, err := h.Access.CreateStaff(ctx, n)
	if err != nil {
		// A taken username is the service's conflict on that field; say it
		// in the caller's language.
		if e, ok := apperr.As(err); ok && e.Code == apperr.Conflict && len(e.Fields) == 1 && e.Fields[0].Field == "username" {
			m := i18n.T(lang, "admin.staff.err.username_taken")
			return access.Staff{}, &apperr.Error{Code: apperr.Conflict, Message: m, Fields: []apperr.FieldError{{Field: "username", Message: m}}}
		}
		return access.Staff{}, localize(lang, "admin.staff.err", err)
	}
	return st, nil
}

// resetPassword checks the new password in the caller's language and sets
// it; extra are errors the caller found already.
func (h *Handlers) resetPassword(ctx context.Context, lang i18n.Lang, username, pw string, extra ...apperr.FieldError) error {
	var fe apperr.Fields
	if p := access.PasswordProblem(pw); p != "" {
		fe.Add("password", msg(lang, "admin.staff.err.password", p))
	}
	if err := invalid(lang, append(fe, extra...)); err != nil {
		return err
	}
	err := h.Access.ResetPassword(ctx, username, pw)
	if apperr.CodeOf(err) == apperr.NotFound {
		return apperr.New(apperr.NotFound, "%s", i18n.T(lang, "admin.err.no_user", username))
	}
	return localize(lang, "admin.staff.err", err)
}

// updateStaff checks a change in the caller's language and applies it.
// A stale version is a conflict (409) that says so plainly; changing one's
// own account in a way that would lock administration out is refused
// (403) with the reason.
func (h *Handlers) updateStaff(ctx context.Context, lang i18n.Lang, username string, c access.StaffChange) (access.Staff, error) {
	var fe apperr.Fields
	if c.Caseload != nil {
		cl := cleanIDs(*c.Caseload)
		c.Caseload = &cl
	}
	if err := c.Validate(); err != nil {
		e, ok := apperr.As(err)
		if !ok {
			return access.Staff{}, err
		}
		for _, f := range e.Fields {
			fe.Add(f.Field, msg(lang, "admin.staff.err."+f.Field, f.Message))
		}
	}
	if c.Caseload != nil && !fe.Has("caseload") {
		if err := h.checkCaseload(ctx, lang, &fe, *c.Caseload); err != nil {
			return access.Staff{}, err
		}
	}
	if err := invalid(lang, fe); err != nil {
		return access.Staff{}, err
	}
	st, err := h.Access.UpdateStaff(ctx, username, c)
	if err == nil {
		return st, nil
	}
	e, _ := apperr.As(err)
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
		return access.Staff{}, apperr.New(apperr.NotFound, "%s", i18n.T(lang, "admin.err.no_user", username))
	case errors.Is(err, access.ErrDisableSelf):
		m := i18n.T(lang, "admin.staff.err.disable_self")
		return access.Staff{}, &apperr.Error{Code: apperr.Forbidden, Message: m, Fields: []apperr.FieldError{{Field: "disabled", Message: m}}}
	case errors.Is(err, access.ErrDemoteSelf):
		m := i18n.T(lang, "admin.staff.err.demote_self")
		return access.Staff{}, &apperr.Error{Code: apperr.Forbidden, Message: m, Fields: []apperr.FieldError{{Field: "role", Message: m}}}
	case apperr.CodeOf(err) == apperr.Conflict:
		return access.Staff{}, &apperr.Error{Code: apperr.Conflict, Message: i18n.T(lang, "admin.users.stale"), Detail: e.Detail}
	}
	return access.Staff{}, localize(lang, "admin.staff.err", err)
}

// ---------- UI ----------

type userRow struct {
	StaffView
	RoleName string
	Places   []place
}

type usersData struct {
	Users []userRow
}

func (h *Handlers) usersPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	l := lang(r)
	list, err := h.staffList(ctx)
	if err != nil {
		return err
	}
	cls := make([][]string, len(list))
	for i, st := range list {
		cls[i] = st.Caseload
	}
	places, err := h.placeNames(ctx, l, cls...)
	if err != nil {
		return err
	}
	d := usersData{}
	for _, st := range list {
		d.Users = append(d.Users, userRow{StaffView: st, RoleName: roleName(l, st.Role), Places: places(st.Caseload)})
	}
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.users.title"))
	pg.Nav = "users"
	pg.Data = d
	return h.Web.Render(w, pages, "users.html", pg)
}

type userFormData struct {
	Roles []option
	Langs []option
}

func (h *Handlers) userForm(w http.ResponseWriter, r *http.Request) *web.Page {
	l := lang(r)
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.users.new_title"))
	pg.Nav = "users"
	pg.Data = userFormData{Roles: roleOptions(l), Langs: langOptions(l)}
	return pg
}

// langOptions are the UI languages for a select, first "from the browser".
func langOptions(l i18n.Lang) []option {
	langs := []option{{Value: "", Label: i18n.T(l, "admin.users.lang_default")}}
	for _, x := range i18n.Langs() {
		langs = append(langs, option{Value: string(x), Label: i18n.Name(x)})
	}
	return langs
}

func (h *Handlers) userNewPage(w http.ResponseWriter, r *http.Request) error {
	pg := h.userForm(w, r)
	// A fresh key per form: a double submit, or the back button and submit
	// again, answers with the first result instead of a second account.
	pg.Form = url.Values{"idempotency_key": {db.NewID()}}
	return h.Web.Render(w, pages, "user_new.html", pg)
}

func (h *Handlers) userCreate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	l := lang(r)
	f := r.PostForm
	n := access.NewStaff{
		Username:    f.Get("username"),
		DisplayName: f.Get("display_name"),
		Role:        access.Role(f.Get("role")),
		Caseload:    splitIDs(f.Get("caseload")),
		Password:    f.Get("password"),
		Lang:        f.Get("lang"),
	}
	var extra []apperr.FieldError
	if f.Get("password") != f.Get("password2") {
		extra = append(extra, apperr.FieldError{Field: "password2", Message: i18n.T(l, "admin.staff.err.password2")})
	}
	st, err := h.createStaff(r.Context(), l, n, extra...)
	if err != nil {
		pg := h.userForm(w, r)
		// Passwords are never sent back to the browser.
		f.Del("password")
		f.Del("password2")
		return h.Web.FormError(w, r, pages, "user_new.html", pg, err)
	}
	return web.Redirect(w, r, "/admin/users", i18n.T(l, "admin.users.created", st.Username), "")
}

type passwordData struct {
	User StaffView
}

func (h *Handlers) passwordPage(w http.ResponseWriter, r *http.Request) error {
	l := lang(r)
	st, err := h.findStaff(r.Context(), l, r.PathValue("username"))
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.password.title", st.Username))
	pg.Nav = "users"
	pg.Data = passwordData{User: st}
	return h.Web.Render(w, pages, "user_password.html", pg)
}

func (h *Handlers) passwordReset(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	l := lang(r)
	username := r.PathValue("username")
	pw := r.PostForm.Get("password")
	var extra []apperr.FieldError
	if pw != r.PostForm.Get("password2") {
		extra = append(extra, apperr.FieldError{Field: "password2", Message: i18n.T(l, "admin.staff.err.password2")})
	}
	if err := h.resetPassword(r.Context(), l, username, pw, extra...); err != nil {
		if apperr.CodeOf(err) != apperr.Invalid {
			return err
		}
		st, ferr := h.findStaff(r.Context(), l, username)
		if ferr != nil {
			return ferr
		}
		pg := h.Web.NewPage(w, r, i18n.T(l, "admin.password.title", st.Username))
		pg.Nav = "users"
		pg.Data = passwordData{User: st}
		r.PostForm.Del("password")
		r.PostForm.Del("password2")
		return h.Web.FormError(w, r, pages, "user_password.html", pg, err)
	}
	return web.Redirect(w, r, "/admin/users", i18n.T(l, "admin.password.done", username), "")
}

type userEditData struct {
	User  StaffView
	Roles []option
	Langs []option
	Self  bool // the administrator's own account
	Stale bool // the form was sent from an old version
}

// editPage is the edit form of st, its fields filled from form.
func (h *Handlers) editPage(w http.ResponseWriter, r *http.Request, st StaffView) *web.Page {
	l := lang(r)
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.users.edit_title", st.Username))
	pg.Nav = "users"
	self := false
	if p := web.PrincipalFrom(r.Context()); p != nil && p.ID == st.ID {
		self = true
	}
	pg.Data = userEditData{User: st, Roles: roleOptions(l), Langs: langOptions(l), Self: self}
	return pg
}

func (h *Handlers) userEditPage(w http.ResponseWriter, r *http.Request) error {
	st, err := h.findStaff(r.Context(), lang(r), r.PathValue("username"))
	if err != nil {
		return err
	}
	pg := h.editPage(w, r, st)
	pg.Form = url.Values{
		"version":      {strconv.Itoa(st.Version)},
		"display_name": {st.DisplayName},
		"role":         {string(st.Role)},
		"caseload":     {strings.Join(st.Caseload, ", ")},
		"lang":         {st.Lang},
	}
	if !st.Disabled {
		pg.Form.Set("enabled", "1")
	}
	return h.Web.Render(w, pages, "user_edit.html", pg)
}

func (h *Handlers) userUpdate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(r); err != nil {
		return err
	}
	l := lang(r)
	f := r.PostForm
	username := r.PathValue("username")
	// The form always sends the whole account; an unticked box sends
	// nothing, which means disabled.
	version, _ := strconv.Atoi(f.Get("version"))
	name, role, cl, ul := f.Get("display_name"), access.Role(f.Get("role")), splitIDs(f.Get("caseload")), f.Get("lang")
	disabled := f.Get("enabled") == ""
	st, err := h.updateStaff(r.Context(), l, username, access.StaffChange{Version: version, DisplayName: &name, Role: &role, Caseload: &cl, Lang: &ul, Disabled: &disabled})
	if err != nil {
		code := apperr.CodeOf(err)
		if code != apperr.Invalid && code != apperr.Conflict && code != apperr.Forbidden {
			return err
		}
		cur, ferr := h.findStaff(r.Context(), l, username)
		if ferr != nil {
			return ferr
		}
		pg := h.editPage(w, r, cur)
		d := pg.Data.(userEditData)
		d.Stale = code == apperr.Conflict
		pg.Data = d
		return h.Web.FormError(w, r, pages, "user_edit.html", pg, err)
	}
	return web.Redirect(w, r, "/admin/users", i18n.T(l, "admin.users.saved", st.Username), "")
}

// ---------- API ----------

// StaffList is the answer of GET /api/v1/staff.
type StaffList struct {
	Items []StaffView `json:"items"`
}

func (h *Handlers) apiStaffList(w http.ResponseWriter, r *http.Request) error {
	list, err := h.staffList(r.Context())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, StaffList{Items: list})
}

func (h *Handlers) apiStaffGet(w http.ResponseWriter, r *http.Request) error {
	st, err := h.findStaff(r.Context(), lang(r), r.PathValue("username"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, st)
}

func (h *Handlers) apiStaffCreate(w http.ResponseWriter, r *http.Request) error {
	var n access.NewStaff
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	st, err := h.createStaff(r.Context(), lang(r), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/staff/"+url.PathEscape(st.Username))
	return web.WriteJSON(w, http.StatusCreated, h.view(st))
}

// PasswordReset is the body of POST /api/v1/staff/{username}/password.
type PasswordReset struct {
	Password string `json:"password"`
}

func (h *Handlers) apiPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var in PasswordReset
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := h.resetPassword(r.Context(), lang(r), r.PathValue("username"), in.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handlers) apiStaffPatch(w http.ResponseWriter, r *http.Request) error {
	var c access.StaffChange
	if err := web.DecodeJSON(r, &c); err != nil {
		return err
	}
	st, err := h.updateStaff(r.Context(), lang(r), r.PathValue("username"), c)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, h.view(st))
}
