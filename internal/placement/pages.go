// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"embed"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
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

func (h *Handlers) pageRoutes() []web.Route {
	const cl, staff = web.ScopeClient, web.ScopeStaff
	read, write := access.PlacementRead, access.PlacementWrite
	base := "/clients/{id}/placement"
	one := base + "/nonassociations/{na}"
	return []web.Route{
		{Method: "GET", Pattern: "/placement", Perm: read, Scope: staff, Summary: "The non-association register of the caller's caseload: those past their review date first, then every active one", Handle: h.registerPage},
		{Method: "GET", Pattern: base + "/overview", Perm: read, Scope: cl, Summary: "A client's placement page: sharing assessment and its history, non-associations", Handle: h.clientPage},
		{Method: "GET", Pattern: base + "/nonassociations/new", Perm: write, Scope: cl, Summary: "Form: record a non-association", Handle: h.newNAPage},
		{Method: "POST", Pattern: base + "/nonassociations", Perm: write, Scope: cl, Summary: "Record a non-association (kept in the browser until the server confirms)", Handle: h.createNA},
		{Method: "GET", Pattern: one, Perm: read, Scope: cl, Summary: "A non-association with its versions", Handle: h.showNAPage},
		{Method: "GET", Pattern: one + "/edit", Perm: write, Scope: cl, Summary: "Form: change or review a non-association", Handle: h.editNAPage},
		{Method: "POST", Pattern: one + "/edit", Perm: write, Scope: cl, Summary: "Change or review a non-association (version checked)", Handle: h.updateNA},
		{Method: "POST", Pattern: one + "/end", Perm: write, Scope: cl, Summary: "End a non-association with the reason", Handle: h.endNA},
		{Method: "GET", Pattern: base + "/assessments/new", Perm: write, Scope: cl, Summary: "Form: record a cell-sharing assessment", Handle: h.newAssessmentPage},
		{Method: "POST", Pattern: base + "/assessments", Perm: write, Scope: cl, Summary: "Record a cell-sharing assessment (kept in the browser until the server confirms)", Handle: h.assess},
		{Method: "GET", Pattern: base + "/profiles/new", Perm: write, Scope: cl, Summary: "Form: record a placement profile (security level, accessible cell, remand restrictions)", Handle: h.newProfilePage},
		{Method: "POST", Pattern: base + "/profiles", Perm: write, Scope: cl, Summary: "Record a placement profile (kept in the browser until the server confirms)", Handle: h.setProfile},
		{Method: "GET", Pattern: base + "/move", Perm: access.ClientMove, Scope: cl, Summary: "Cell move screen: every free bed in the caseload ranked for the person, with the reasons; beds that break a rule greyed with why not", Handle: h.movePage},
		{Method: "POST", Pattern: base + "/move", Perm: access.ClientMove, Scope: cl, Summary: "Move the person to the chosen bed (checked against the rules again, then the register's transfer)", Handle: h.move},
	}
}

// ---------- Messages in the user's language ----------

var msgRules = i18n.Rules{
	{Re: regexp.MustCompile(`^Required\.$`), Key: "placement.err.required"},
	{Re: regexp.MustCompile(`^At most (\d+) characters\.$`), Key: "placement.err.too_long"},
	{Re: regexp.MustCompile(`^At most (\d+) people\.$`), Key: "placement.err.too_many"},
	{Re: regexp.MustCompile(`^Choose from: `), Key: "placement.err.choose"},
	{Re: regexp.MustCompile(`^Use a date \(YYYY-MM-DD\)\.$`), Key: "placement.err.date"},
	{Re: regexp.MustCompile(`^Cannot be in the past\.$`), Key: "placement.err.past"},
	{Re: regexp.MustCompile(`^At most three years ahead\.$`), Key: "placement.err.too_far"},
	{Re: regexp.MustCompile(`^Name at least one other person\.$`), Key: "placement.err.members"},
	{Re: regexp.MustCompile(`^There is no client with this id\.$`), Key: "placement.err.no_client"},
	{Re: regexp.MustCompile(`^No client with the number (.+)\.$`), Key: "placement.err.no_number"},
	{Re: regexp.MustCompile(`^Choose at least one condition\.$`), Key: "placement.err.conditions"},
	{Re: regexp.MustCompile(`^Conditions go with a conditional outcome only\.$`), Key: "placement.err.conditions_only"},
	{Re: regexp.MustCompile(`^The request has invalid fields\.$`), Key: "placement.err.invalid"},
	{Re: regexp.MustCompile(`^This non-association has ended\.$`), Key: "placement.err.ended"},
	{Re: regexp.MustCompile(`^Someone else changed this|changed by someone else`), Key: "placement.err.stale"},
	{Re: regexp.MustCompile(`^Use a whole number from 0 to (\d+)\.$`), Key: "placement.err.weight"},
	{Re: regexp.MustCompile(`^Use a security level from (\d+) \(highest\) to (\d+) \(lowest\)\.$`), Key: "placement.err.security_level"},
}

func tr(lang i18n.Lang, msg string) string { return msgRules.T(lang, msg) }

// formField names the form field for a service field: one field for the
// list of members, one for the conditions.
func formField(f string) string {
	switch {
	case strings.HasPrefix(f, "members"):
		return "members"
	case strings.HasPrefix(f, "conditions"):
		return "conditions"
	}
	return f
}

func localize(lang i18n.Lang, err error) error {
	return web.Localize(err, func(m string) string { return tr(lang, m) }, formField)
}

// ---------- Forms ----------

func splitRefs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// naFromForm reads the non-association form. The other people are typed
// as client numbers (what staff know), resolved here to ids.
func (h *Handlers) naFromForm(r *http.Request) (NewNonAssociation, error) {
	f := r.PostForm
	n := NewNonAssociation{Scope: f.Get("scope"), ReasonCategory: f.Get("reason_category"), Reason: f.Get("reason"), ReviewDate: f.Get("review_date")}
	var fe apperr.Fields
	for _, ref := range splitRefs(f.Get("members")) {
		id, err := h.Client.Resolve(r.Context(), ref)
		if err != nil {
			if apperr.CodeOf(err) != apperr.NotFound {
				return n, err
			}
			fe.Add("members", "No client with the number "+ref+".")
			continue
		}
		n.Members = append(n.Members, id)
	}
	if err := fe.Err(); err != nil {
		return n, err
	}
	return n, nil
}

func naForm(n *NonAssociation, clientID string) url.Values {
	v := url.Values{}
	v.Set("scope", n.Scope)
	v.Set("reason_category", n.ReasonCategory)
	v.Set("reason", n.Reason)
	v.Set("review_date", n.ReviewDate)
	var nums []string
	for _, m := range n.Others(clientID) {
		nums = append(nums, m.Number)
	}
	v.Set("members", strings.Join(nums, " "))
	v.Set("version", strconv.Itoa(n.Version))
	return v
}

func (h *Handlers) place(r *http.Request, clientID string) (client.Placed, error) {
	return db.Read(r.Context(), h.Placement.DB, func(tx *db.Tx) (client.Placed, error) { return client.Whereabouts(r.Context(), tx, clientID) })
}

// choices are the option lists the forms offer.
func choices() map[string][]string {
	levels := make([]string, 0, estate.MaxSecurity)
	for l := estate.MinSecurity; l <= estate.MaxSecurity; l++ {
		levels = append(levels, strconv.Itoa(l))
	}
	return map[string][]string{"scopes": Scopes, "reasons": ReasonCategories, "outcomes": Outcomes, "conditions": Conditions, "levels": levels}
}

// naFormData is what the non-association form needs.
type naFormData struct {
	ClientID   string
	ClientName string
	NA         *NonAssociation // nil for a new one
	Keep       string
	Action     string
	Choices    map[string][]string
	Today      string
}

func today() string { return time.Now().In(zone).Format("2006-01-02") }

func (h *Handlers) naFormPage(w http.ResponseWriter, r *http.Request, na *NonAssociation, form url.Values, err error) error {
	lang := web.LangOf(r)
	id := clientOf(r)
	pl, perr := h.place(r, id)
	if perr != nil {
		return perr
	}
	d := naFormData{ClientID: id, ClientName: pl.Name, NA: na, Keep: "na-new-" + id, Action: "/clients/" + id + "/placement/nonassociations", Choices: choices(), Today: today()}
	title := i18n.T(lang, "placement.na.new_title", pl.Name)
	if na != nil {
		d.Keep = "na-" + na.ID
		d.Action = "/clients/" + id + "/placement/nonassociations/" + na.ID + "/edit"
		title = i18n.T(lang, "placement.na.edit_title", pl.Name)
	}
	pg := h.Web.NewPage(w, r, title)
	pg.Nav = "placement"
	pg.Data = d
	pg.Form = form
	if err != nil {
		return h.Web.FormError(w, r, pages, "na_form.html", pg, localize(lang, err))
	}
	return h.Web.Render(w, pages, "na_form.html", pg)
}

func (h *Handlers) newNAPage(w http.ResponseWriter, r *http.Request) error {
	return h.naFormPage(w, r, nil, url.Values{}, nil)
}

func (h *Handlers) createNA(w http.ResponseWriter, r *http.Request) error {
	n, err := h.naFromForm(r)
	if err == nil {
		_, err = h.Placement.CreateNonAssociation(r.Context(), clientOf(r), n)
	}
	if err != nil {
		return h.naFormPage(w, r, nil, r.PostForm, err)
	}
	return web.Redirect(w, r, "/clients/"+clientOf(r)+"/placement/overview", i18n.T(web.LangOf(r), "placement.flash.na_saved"), "na-new-"+clientOf(r))
}

func (h *Handlers) editNAPage(w http.ResponseWriter, r *http.Request) error {
	na, err := h.Placement.NonAssociation(r.Context(), clientOf(r), r.PathValue("na"))
	if err != nil {
		return err
	}
	if na.Status != Active {
		http.Redirect(w, r, "/clients/"+clientOf(r)+"/placement/nonassociations/"+na.ID, http.StatusSeeOther)
		return nil
	}
	return h.naFormPage(w, r, na, naForm(na, clientOf(r)), nil)
}

func formInt(f url.Values, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(f.Get(name)))
	return n
}

func (h *Handlers) updateNA(w http.ResponseWriter, r *http.Request) error {
	id := clientOf(r)
	cur, err := h.Placement.NonAssociation(r.Context(), id, r.PathValue("na"))
	if err != nil {
		return err
	}
	n, err := h.naFromForm(r)
	if err == nil {
		_, err = h.Placement.UpdateNonAssociation(r.Context(), id, cur.ID, formInt(r.PostForm, "version"), n)
	}
	if err != nil {
		return h.naFormPage(w, r, cur, r.PostForm, err)
	}
	return web.Redirect(w, r, "/clients/"+id+"/placement/nonassociations/"+cur.ID, i18n.T(web.LangOf(r), "placement.flash.na_updated"), "na-"+cur.ID)
}

// naShowData is the non-association page.
type naShowData struct {
	ClientID string
	NA       *NonAssociation
	Names    map[string]string
	Choices  map[string][]string
}

func (h *Handlers) renderNA(w http.ResponseWriter, r *http.Request, na *NonAssociation, err error) error {
	lang := web.LangOf(r)
	names, nerr := h.locationNames(r.Context(), na.Members)
	if nerr != nil {
		return nerr
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "placement.na.title"))
	pg.Nav = "placement"
	pg.Data = naShowData{ClientID: clientOf(r), NA: na, Names: names, Choices: choices()}
	if err != nil {
		return h.Web.FormError(w, r, pages, "na_show.html", pg, localize(lang, err))
	}
	return h.Web.Render(w, pages, "na_show.html", pg)
}

func (h *Handlers) showNAPage(w http.ResponseWriter, r *http.Request) error {
	na, err := h.Placement.NonAssociation(r.Context(), clientOf(r), r.PathValue("na"))
	if err != nil {
		return err
	}
	return h.renderNA(w, r, na, nil)
}

func (h *Handlers) endNA(w http.ResponseWriter, r *http.Request) error {
	id := clientOf(r)
	_, err := h.Placement.EndNonAssociation(r.Context(), id, r.PathValue("na"), formInt(r.PostForm, "version"), r.PostForm.Get("reason"))
	if err != nil {
		if e, ok := apperr.As(err); !ok || e.Code == apperr.Internal || e.Code == apperr.NotFound {
			return err
		}
		na, gerr := h.Placement.NonAssociation(r.Context(), id, r.PathValue("na"))
		if gerr != nil {
			return gerr
		}
		return h.renderNA(w, r, na, err)
	}
	return web.Redirect(w, r, "/clients/"+id+"/placement/nonassociations/"+r.PathValue("na"), i18n.T(web.LangOf(r), "placement.flash.na_ended"), "na-end-"+r.PathValue("na"))
}

// locationNames names the places the members are in now.
func (h *Handlers) locationNames(ctx context.Context, ms []Member) (map[string]string, error) {
	if h.Names == nil {
		return map[string]string{}, nil
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.InstitutionID, m.UnitID)
	}
	return h.Names(ctx, ids)
}

// ---------- Sharing assessments ----------

type assessFormData struct {
	ClientID   string
	ClientName string
	Current    *Assessment
	Choices    map[string][]string
	Today      string
}

func assessFromForm(f url.Values) NewAssessment {
	return NewAssessment{Outcome: f.Get("outcome"), Conditions: f["conditions"], Smoker: f.Get("smoker") == "yes", Reasons: f.Get("reasons"), ReviewDate: f.Get("review_date")}
}

func (h *Handlers) assessFormPage(w http.ResponseWriter, r *http.Request, form url.Values, err error) error {
	lang := web.LangOf(r)
	id := clientOf(r)
	pl, perr := h.place(r, id)
	if perr != nil {
		return perr
	}
	list, lerr := h.Placement.Assessments(r.Context(), id)
	if lerr != nil {
		return lerr
	}
	d := assessFormData{ClientID: id, ClientName: pl.Name, Choices: choices(), Today: today()}
	if len(list) > 0 {
		d.Current = &list[0]
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "placement.sharing.new_title", pl.Name))
	pg.Nav = "placement"
	pg.Data = d
	pg.Form = form
	if err != nil {
		return h.Web.FormError(w, r, pages, "assess_form.html", pg, localize(lang, err))
	}
	return h.Web.Render(w, pages, "assess_form.html", pg)
}

func (h *Handlers) newAssessmentPage(w http.ResponseWriter, r *http.Request) error {
	return h.assessFormPage(w, r, url.Values{}, nil)
}

func (h *Handlers) assess(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Placement.Assess(r.Context(), clientOf(r), assessFromForm(r.PostForm)); err != nil {
		return h.assessFormPage(w, r, r.PostForm, err)
	}
	return web.Redirect(w, r, "/clients/"+clientOf(r)+"/placement/overview", i18n.T(web.LangOf(r), "placement.flash.assessed"), "sharing-new-"+clientOf(r))
}

// ---------- Placement profiles ----------

type profileFormData struct {
	ClientID   string
	ClientName string
	Current    *Profile
	Choices    map[string][]string
}

func profileFromForm(f url.Values) NewProfile {
	return NewProfile{SecurityLevel: formInt(f, "security_level"), Accessible: f.Get("accessible") == "yes", Restricted: f.Get("restricted") == "yes", Reasons: f.Get("reasons")}
}

func (h *Handlers) profileFormPage(w http.ResponseWriter, r *http.Request, form url.Values, err error) error {
	lang := web.LangOf(r)
	id := clientOf(r)
	pl, perr := h.place(r, id)
	if perr != nil {
		return perr
	}
	list, lerr := h.Placement.Profiles(r.Context(), id)
	if lerr != nil {
		return lerr
	}
	d := profileFormData{ClientID: id, ClientName: pl.Name, Choices: choices()}
	if len(list) > 0 {
		d.Current = &list[0]
		if err == nil && len(form) == 0 {
			form = url.Values{"security_level": {strconv.Itoa(d.Current.SecurityLevel)}, "accessible": {yesNo(d.Current.Accessible)}, "restricted": {yesNo(d.Current.Restricted)}}
		}
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "placement.profile.new_title", pl.Name))
	pg.Nav = "placement"
	pg.Data = d
	pg.Form = form
	if err != nil {
		return h.Web.FormError(w, r, pages, "profile_form.html", pg, localize(lang, err))
	}
	return h.Web.Render(w, pages, "profile_form.html", pg)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (h *Handlers) newProfilePage(w http.ResponseWriter, r *http.Request) error {
	return h.profileFormPage(w, r, url.Values{}, nil)
}

func (h *Handlers) setProfile(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Placement.SetProfile(r.Context(), clientOf(r), profileFromForm(r.PostForm)); err != nil {
		return h.profileFormPage(w, r, r.PostForm, err)
	}
	return web.Redirect(w, r, "/clients/"+clientOf(r)+"/placement/overview", i18n.T(web.LangOf(r), "placement.flash.profile_saved"), "profile-new-"+clientOf(r))
}

// ---------- The client's page and the register ----------

type clientData struct {
	ClientID   string
	ClientName string
	Current    *Assessment
	History    []Assessment
	Profile    *Profile
	Profiles   []Profile
	Active     []*NonAssociation
	Ended      []*NonAssociation
	Names      map[string]string
	InCustody  bool
	CanMove    bool
}

func (h *Handlers) clientPage(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), clientOf(r)
	pl, err := h.place(r, id)
	if err != nil {
		return err
	}
	list, err := h.Placement.NonAssociationsFor(ctx, id)
	if err != nil {
		return err
	}
	as, err := h.Placement.Assessments(ctx, id)
	if err != nil {
		return err
	}
	d := clientData{ClientID: id, ClientName: pl.Name, InCustody: pl.InstitutionID != ""}
	var all []Member
	for _, n := range list {
		if n.Status == Active {
			d.Active = append(d.Active, n)
		} else {
			d.Ended = append(d.Ended, n)
		}
		all = append(all, n.Members...)
	}
	if len(as) > 0 {
		d.Current, d.History = &as[0], as[1:]
	}
	ps, err := h.Placement.Profiles(ctx, id)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		d.Profile, d.Profiles = &ps[0], ps[1:]
	}
	if d.Names, err = h.locationNames(ctx, all); err != nil {
		return err
	}
	d.CanMove = d.InCustody && web.PrincipalFrom(ctx).Can(access.ClientMove)
	lang := web.LangOf(r)
	pg := h.Web.NewPage(w, r, i18n.T(lang, "placement.client_title", pl.Name))
	pg.Nav = "placement"
	pg.Data = d
	return h.Web.Render(w, pages, "client.html", pg)
}

type registerData struct {
	Due    []*NonAssociation
	Active []*NonAssociation
	Names  map[string]string
	// Institutions whose weights the caller may set.
	Weights []estate.Location
}

func (h *Handlers) registerPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	list, err := h.Placement.NonAssociations(ctx, web.PrincipalFrom(ctx), ListFilter{})
	if err != nil {
		return err
	}
	d := registerData{}
	var all []Member
	for _, n := range list {
		if n.ReviewDue {
			d.Due = append(d.Due, n)
		}
		d.Active = append(d.Active, n)
		all = append(all, n.Members...)
	}
	// The longest overdue first: it has waited longest for someone.
	slices.SortStableFunc(d.Due, func(a, b *NonAssociation) int { return strings.Compare(a.ReviewDate, b.ReviewDate) })
	if d.Names, err = h.locationNames(ctx, all); err != nil {
		return err
	}
	if p := web.PrincipalFrom(ctx); p.Can(access.PlacementWrite) {
		tree, err := h.Estate.Tree(ctx)
		if err != nil {
			return err
		}
		for _, l := range tree {
			if l.Kind == estate.Institution && p.Covers(l.ID) {
				d.Weights = append(d.Weights, l)
			}
		}
	}
	lang := web.LangOf(r)
	pg := h.Web.NewPage(w, r, i18n.T(lang, "placement.register_title"))
	pg.Nav = "placement"
	pg.Data = d
	return h.Web.Render(w, pages, "register.html", pg)
}
