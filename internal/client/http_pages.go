// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

// ---------- Search ----------

type listData struct {
	P        *web.Page
	Q        string
	Results  []Summary
	Outside  bool // every result is outside the caseload (break-glass offered)
	Searched bool
	Error    string
}

// Badge is the badge class of an alert kind.
func (d *listData) Badge(kind string) string { return alertClass(kind) }

func (h *Handlers) listPage(w http.ResponseWriter, r *http.Request) error {
	lang := web.LangOf(r)
	pg := h.Web.NewPage(w, r, i18n.T(lang, "clients.search.title"))
	pg.Nav = "clients"
	d := &listData{P: pg, Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	if d.Q != "" {
		res, err := h.Client.Search(r.Context(), web.PrincipalFrom(r.Context()), d.Q, 25)
		if e, ok := apperr.As(err); ok && e.Code == apperr.Invalid && len(e.Fields) > 0 {
			d.Error = tr(lang, e.Fields[0].Message)
		} else if err != nil {
			return err
		}
		d.Searched = true
		// The service lists people outside the caseload only when nobody
		// in it matches, with identity only and the break-glass way in.
		d.Results = res
		d.Outside = len(res) > 0 && !res[0].InCaseload
	}
	pg.Data = d
	if isHTMX(r) {
		return fragment(w, "results", d)
	}
	return h.Web.Render(w, pages, "list.html", pg)
}

// ---------- Register ----------

type newData struct {
	Homes    []estate.Location
	Existing *existingRecord
}

type existingRecord struct{ ID, Number string }

func existingOf(err error) *existingRecord {
	if e, ok := apperr.As(err); ok {
		if id, _ := e.Detail["existing_client_id"].(string); id != "" {
			num, _ := e.Detail["existing_client_number"].(string)
			return &existingRecord{ID: id, Number: num}
		}
	}
	return nil
}

func (h *Handlers) homes(ctx context.Context) ([]estate.Location, error) {
	tree, err := h.Estate.Tree(ctx)
	if err != nil {
		return nil, err
	}
	var out []estate.Location
	for _, l := range tree {
		if l.Kind == estate.Institution || l.Kind == estate.Office {
			out = append(out, l)
		}
	}
	return out, nil
}

func (h *Handlers) newPage(w http.ResponseWriter, r *http.Request) error {
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "client.new"))
	pg.Nav = "clients"
	homes, err := h.homes(r.Context())
	if err != nil {
		return err
	}
	pg.Data = &newData{Homes: homes}
	return h.Web.Render(w, pages, "new.html", pg)
}

// splitLines and splitWords read list fields typed into one box.
func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\n' || r == '\t' })
}

func detailsFrom(f url.Values) PersonDetails {
	return PersonDetails{
		GivenName: f.Get("given_name"), FamilyName: f.Get("family_name"), Aliases: splitLines(f.Get("aliases")),
		BirthDate: strings.TrimSpace(f.Get("birth_date")), Sex: f.Get("sex"), NationalID: f.Get("national_id"),
		NationalIDCountry: f.Get("national_id_country"), Nationality: f.Get("nationality"), Languages: splitWords(f.Get("languages")),
		HomeLocation: f.Get("home_location"),
	}
}

func (h *Handlers) create(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return apperr.Field("body", "The form could not be read.")
	}
	lang := web.LangOf(r)
	c, err := h.Client.Register(r.Context(), detailsFrom(r.PostForm))
	if err != nil {
		pg := h.Web.NewPage(w, r, i18n.T(lang, "client.new"))
		pg.Nav = "clients"
		homes, herr := h.homes(r.Context())
		if herr != nil {
			return herr
		}
		pg.Data = &newData{Homes: homes, Existing: existingOf(err)}
		return h.Web.FormError(w, r, pages, "new.html", pg, localize(lang, err))
	}
	return web.Redirect(w, r, "/clients/"+c.ID, i18n.T(lang, "clients.flash.registered", c.Name(), c.Number), "client-new")
}

// ---------- The client page ----------

// placement is the cell picker: institution → unit → a cell with a free
// bed, each narrowed by htmx as the one before is chosen.
type placement struct {
	P            *web.Page
	ClientID     string
	Pre          string
	Institutions []estate.Location
	Units        []estate.Location
	Cells        []estate.Cell
	Institution  string
	Unit         string
	Cell         string
}

type showData struct {
	C          *Client
	Timeline   timelineData
	Merges     []MergeRecord
	Place      placement
	Offices    []estate.Location
	BreakGlass bool
	// Only is set on the page a failed form comes back on: the one form
	// (or section) to show, so field ids and messages are unambiguous.
	Only string
	// Merge is the duplicate shown before a merge is confirmed.
	Merge *Client
}

// PlaceFor is the cell picker for a form whose field ids start with pre.
func (d *showData) PlaceFor(pre string) placement {
	p := d.Place
	p.Pre = pre
	return p
}

// BasesFor lists the active legal bases an action can rest on.
func (d *showData) BasesFor(a Action) []LegalBasis {
	kinds := []string{BasisRemand, BasisSentence}
	if a == StartCommunity {
		kinds = []string{BasisCommunity}
	}
	var out []LegalBasis
	for _, b := range d.C.LegalBases {
		if !b.Ended && slices.Contains(kinds, b.Kind) {
			out = append(out, b)
		}
	}
	return out
}

// NeedsCell, NeedsOffice, NeedsBasis and NeedsReason tell the movement
// form which fields an action has.
func (d *showData) NeedsCell(a Action) bool   { return NeedsCell(a) }
func (d *showData) NeedsOffice(a Action) bool { return a == StartCommunity }
func (d *showData) NeedsBasis(a Action) bool  { return a == Admit || a == StartCommunity }
func (d *showData) NeedsReason(a Action) bool { return a == Escape || a == Transfer }

// Show reports whether a form or section is on the page.
func (d *showData) Show(name string) bool { return d.Only == "" || d.Only == name }

// AlertKinds are the alert kinds a form offers.
func (d *showData) AlertKinds() []string { return AlertKinds }

// ActiveAlerts are the alerts in force now.
func (d *showData) ActiveAlerts() []Alert {
	var out []Alert
	for _, a := range d.C.Alerts {
		if a.Active {
			out = append(out, a)
		}
	}
	return out
}

// OtherAlerts are ended and future alerts.
func (d *showData) OtherAlerts() []Alert {
	var out []Alert
	for _, a := range d.C.Alerts {
		if !a.Active {
			out = append(out, a)
		}
	}
	return out
}

type timelineData struct {
	P        *web.Page
	ClientID string
	Entries  []HistoryEntry
	Next     string
}

const timelinePage = 20

var preRe = regexp.MustCompile(`^[a-z_]{1,20}-$`)

func (h *Handlers) placement(ctx context.Context, pg *web.Page, c *Client, inst, unit, cell string) (placement, []estate.Location, error) {
	pl := placement{P: pg, ClientID: c.ID, Institution: inst, Unit: unit, Cell: cell}
	tree, err := h.Estate.Tree(ctx)
	if err != nil {
		return pl, nil, err
	}
	var offices []estate.Location
	for _, l := range tree {
		switch l.Kind {
		case estate.Institution:
			pl.Institutions = append(pl.Institutions, l)
		case estate.Office:
			offices = append(offices, l)
		}
	}
	if pl.Institution == "" && pl.Unit == "" {
		if c.Location != nil && c.Location.InstitutionID != "" {
			pl.Institution, pl.Unit = c.Location.InstitutionID, c.Location.UnitID
		} else {
			pl.Institution = c.HomeLocation
		}
	}
	found := false
	for _, in := range pl.Institutions {
		if in.ID == pl.Institution {
			pl.Units, found = in.Units, true
		}
	}
	if !found {
		pl.Institution = ""
	}
	if !slices.ContainsFunc(pl.Units, func(u estate.Location) bool { return u.ID == pl.Unit }) {
		pl.Unit = ""
	}
	if pl.Unit != "" {
		cells, err := h.Estate.Cells(ctx, pl.Unit)
		if err != nil {
			return pl, nil, err
		}
		for _, x := range cells {
			if x.Free() > 0 && (c.Location == nil || x.ID != c.Location.CellID) {
				pl.Cells = append(pl.Cells, x)
			}
		}
	}
	return pl, offices, nil
}

// load builds the client page for id (the canonical id from the router).
func (h *Handlers) load(r *http.Request, pg *web.Page, id string) (*showData, error) {
	ctx := r.Context()
	c, err := h.Client.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &showData{C: c, BreakGlass: web.ClientAccessFrom(ctx).BreakGlass}
	entries, next, err := h.Client.TimelinePage(ctx, id, "", timelinePage)
	if err != nil {
		return nil, err
	}
	d.Timeline = timelineData{P: pg, ClientID: id, Entries: entries, Next: next}
	if pg.P.Can(access.ClientMerge) {
		if d.Merges, err = h.Client.Merges(ctx, id); err != nil {
			return nil, err
		}
	}
	if d.Place, d.Offices, err = h.placement(ctx, pg, c, r.FormValue("institution"), r.FormValue("unit"), r.FormValue("cell_id")); err != nil {
		return nil, err
	}
	return d, nil
}

func (h *Handlers) showPage(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	if r.PathValue("id") != id {
		http.Redirect(w, r, "/clients/"+id, http.StatusSeeOther)
		return nil
	}
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "client.title"))
	pg.Nav = "clients"
	d, err := h.load(r, pg, id)
	if err != nil {
		return err
	}
	pg.Title = d.C.Name() + " (" + d.C.Number + ")"
	pg.Data = d
	return h.Web.Render(w, pages, "show.html", pg)
}

// formFail shows a failed client-page form again on a page of its own,
// with the person's header, the typed values and a message next to each
// field at fault (422, or 409 for conflicts).
func (h *Handlers) formFail(w http.ResponseWriter, r *http.Request, id, only string, err error) error {
	if e, ok := apperr.As(err); !ok || e.Code == apperr.Internal {
		return err
	}
	lang := web.LangOf(r)
	pg := h.Web.NewPage(w, r, i18n.T(lang, "client.title"))
	pg.Nav = "clients"
	d, lerr := h.load(r, pg, id)
	if lerr != nil {
		return lerr
	}
	d.Only = only
	pg.Title = d.C.Name() + " (" + d.C.Number + ")"
	pg.Data = d
	return h.Web.FormError(w, r, pages, "action.html", pg, localize(lang, err))
}

func formInt(f url.Values, field string) (int, error) {
	s := strings.TrimSpace(f.Get(field))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, apperr.Field(field, "Enter a whole number.")
	}
	return n, nil
}

func backTo(id string) string { return "/clients/" + id }

func (h *Handlers) move(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	f := r.PostForm
	m := Move{Action: Action(f.Get("action")), CellID: f.Get("cell_id"), OfficeID: f.Get("office_id"), LegalBasisID: f.Get("legal_basis_id"), Reason: f.Get("reason")}
	only := "move-" + string(m.Action)
	v, err := formInt(f, "version")
	if err != nil {
		return h.formFail(w, r, id, only, err)
	}
	m.Version = v
	if _, err := h.Client.MoveClient(r.Context(), id, m); err != nil {
		return h.formFail(w, r, id, only, err)
	}
	lang := web.LangOf(r)
	return web.Redirect(w, r, backTo(id), i18n.T(lang, "clients.flash.moved", i18n.T(lang, "clients.action."+string(m.Action))), "move-"+id)
}

func (h *Handlers) addBasis(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	f := r.PostForm
	n := NewLegalBasis{Kind: f.Get("kind"), StartDate: strings.TrimSpace(f.Get("start_date")), EndDate: strings.TrimSpace(f.Get("end_date")),
		Offences: f.Get("offences"), Court: f.Get("court"), CaseRef: f.Get("case_ref")}
	days, err := formInt(f, "length_days")
	if err != nil {
		return h.formFail(w, r, id, "basis", err)
	}
	n.LengthDays = days
	if _, err := h.Client.AddLegalBasis(r.Context(), id, n); err != nil {
		return h.formFail(w, r, id, "basis", err)
	}
	return web.Redirect(w, r, backTo(id), i18n.T(web.LangOf(r), "clients.flash.basis_added"), "basis-"+id)
}

func (h *Handlers) addAlert(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	f := r.PostForm
	n := NewAlert{Kind: f.Get("kind"), Note: f.Get("note"), StartsAt: strings.TrimSpace(f.Get("starts_at")), EndsAt: strings.TrimSpace(f.Get("ends_at"))}
	if _, err := h.Client.AddAlert(r.Context(), id, n); err != nil {
		return h.formFail(w, r, id, "alert", err)
	}
	return web.Redirect(w, r, backTo(id), i18n.T(web.LangOf(r), "clients.flash.alert_added"), "alert-"+id)
}

func (h *Handlers) endAlert(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	v, err := formInt(r.PostForm, "version")
	if err == nil {
		err = h.Client.EndAlert(r.Context(), id, r.PathValue("alert"), v)
	}
	if err != nil {
		return h.formFail(w, r, id, "alerts", err)
	}
	return web.Redirect(w, r, backTo(id), i18n.T(web.LangOf(r), "clients.flash.alert_ended"), "")
}

// ---------- Edit details ----------

type editData struct {
	C        *Client
	Existing *existingRecord
	Stale    bool
}

func valuesOf(c *Client) url.Values {
	return url.Values{
		"given_name": {c.GivenName}, "family_name": {c.FamilyName}, "aliases": {strings.Join(c.Aliases, "\n")},
		"birth_date": {c.BirthDate}, "sex": {c.Sex}, "national_id": {c.NationalID}, "national_id_country": {c.NationalIDCountry},
		"nationality": {c.Nationality}, "languages": {strings.Join(c.Languages, ", ")}, "version": {strconv.Itoa(c.Version)},
	}
}

func (h *Handlers) editPage(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	c, err := h.Client.Get(r.Context(), id)
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "clients.edit.title")+": "+c.Name())
	pg.Nav = "clients"
	pg.Form = valuesOf(c)
	pg.Data = &editData{C: c}
	return h.Web.Render(w, pages, "edit.html", pg)
}

func (h *Handlers) update(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	lang := web.LangOf(r)
	v, err := formInt(r.PostForm, "version")
	if err == nil {
		_, err = h.Client.UpdateDetails(r.Context(), id, v, detailsFrom(r.PostForm))
	}
	if err != nil {
		cur, gerr := h.Client.Get(r.Context(), id)
		if gerr != nil {
			return gerr
		}
		pg := h.Web.NewPage(w, r, i18n.T(lang, "clients.edit.title")+": "+cur.Name())
		pg.Nav = "clients"
		e, _ := apperr.As(err)
		stale := e != nil && e.Code == apperr.Conflict && e.Detail["current_version"] != nil
		pg.Data = &editData{C: cur, Existing: existingOf(err), Stale: stale}
		return h.Web.FormError(w, r, pages, "edit.html", pg, localize(lang, err))
	}
	return web.Redirect(w, r, backTo(id), i18n.T(lang, "clients.flash.updated"), "details-"+id)
}

// ---------- Merge ----------

// duplicateFor resolves the record to merge in (by id or client number)
// and checks that the caller may see it too: a merge must not become a
// way into a record outside the caseload.
func (h *Handlers) duplicateFor(r *http.Request, ref string) (string, error) {
	ctx := r.Context()
	if strings.TrimSpace(ref) == "" {
		return "", apperr.Field("merged_id", "Choose the duplicate record.")
	}
	raw, err := h.Client.Resolve(ctx, ref)
	if err != nil {
		return "", apperr.Field("merged_id", "There is no such record.")
	}
	canon, locs, err := h.Client.Locate(ctx, raw)
	if err != nil {
		return "", err
	}
	if _, err := h.Web.Access.CheckClient(ctx, web.PrincipalFrom(ctx), access.ClientMerge, canon, locs); err != nil {
		return "", err
	}
	return canon, nil
}

func (h *Handlers) merge(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	f := r.PostForm
	dupID, err := h.duplicateFor(r, f.Get("merged_id"))
	if err != nil {
		return h.formFail(w, r, id, "merge", err)
	}
	if dupID == id {
		return h.formFail(w, r, id, "merge", apperr.Field("merged_id", "A record cannot be merged into itself."))
	}
	if f.Get("confirm") != "1" {
		// First step: show both records side by side before anything changes.
		lang := web.LangOf(r)
		pg := h.Web.NewPage(w, r, i18n.T(lang, "merge.title"))
		pg.Nav = "clients"
		d, err := h.load(r, pg, id)
		if err != nil {
			return err
		}
		if d.Merge, err = h.Client.Get(r.Context(), dupID); err != nil {
			return err
		}
		d.Only = "merge-confirm"
		pg.Form = url.Values{"merged_id": {dupID}, "reason": {f.Get("reason")}, "version": {f.Get("version")}, "merged_version": {strconv.Itoa(d.Merge.Version)}}
		pg.Data = d
		return h.Web.Render(w, pages, "merge.html", pg)
	}
	sv, err := formInt(f, "version")
	if err != nil {
		return h.formFail(w, r, id, "merge", err)
	}
	mv, err := formInt(f, "merged_version")
	if err != nil {
		return h.formFail(w, r, id, "merge", err)
	}
	if _, err := h.Client.Merge(r.Context(), id, dupID, sv, mv, f.Get("reason")); err != nil {
		return h.formFail(w, r, id, "merge", err)
	}
	return web.Redirect(w, r, backTo(id), i18n.T(web.LangOf(r), "merge.done"), "")
}

func (h *Handlers) undoMerge(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	if err := h.Client.UndoMerge(r.Context(), id, r.PathValue("merge")); err != nil {
		return h.formFail(w, r, id, "merges", err)
	}
	return web.Redirect(w, r, backTo(id), i18n.T(web.LangOf(r), "merge.undone"), "")
}

// ---------- Timeline and cell picker fragments ----------

func (h *Handlers) timelinePage(w http.ResponseWriter, r *http.Request) error {
	id := web.ClientAccessFrom(r.Context()).ClientID
	entries, next, err := h.Client.TimelinePage(r.Context(), id, r.URL.Query().Get("before"), timelinePage)
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "timeline.title"))
	pg.Nav = "clients"
	d := timelineData{P: pg, ClientID: id, Entries: entries, Next: next}
	if isHTMX(r) {
		return fragment(w, "timeline-items", d)
	}
	pg.Data = d
	return h.Web.Render(w, pages, "timeline.html", pg)
}

func (h *Handlers) placementFragment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := web.ClientAccessFrom(ctx).ClientID
	c, err := h.Client.Get(ctx, id) // audited: the picker reads where the person is
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, "")
	q := r.URL.Query()
	inst, unit := q.Get("institution"), q.Get("unit")
	pl, _, err := h.placement(ctx, pg, c, inst, unit, q.Get("cell_id"))
	if err != nil {
		return err
	}
	pl.Pre = q.Get("pre")
	if !preRe.MatchString(pl.Pre) {
		pl.Pre = "f-"
	}
	return fragment(w, "placement", pl)
}

// ---------- Break-glass ----------

type breakGlassData struct{ ClientID string }

func (h *Handlers) breakGlassPage(w http.ResponseWriter, r *http.Request) error {
	canon, _, err := h.Client.Locate(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "audit.break_glass"))
	pg.Nav = "clients"
	pg.Data = breakGlassData{ClientID: canon}
	return h.Web.Render(w, pages, "breakglass.html", pg)
}

func (h *Handlers) breakGlass(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := web.PrincipalFrom(ctx)
	canon, _, err := h.Client.Locate(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	lang := web.LangOf(r)
	if _, err := h.Web.Access.BreakGlass(ctx, p, canon, r.PostFormValue("reason")); err != nil {
		pg := h.Web.NewPage(w, r, i18n.T(lang, "audit.break_glass"))
		pg.Nav = "clients"
		pg.Data = breakGlassData{ClientID: canon}
		return h.Web.FormError(w, r, pages, "breakglass.html", pg, localize(lang, err))
	}
	return web.Redirect(w, r, backTo(canon), i18n.T(lang, "clients.flash.break_glass"), "")
}
