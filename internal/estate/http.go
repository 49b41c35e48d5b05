// SPDX-License-Identifier: AGPL-3.0-or-later

package estate

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// Handlers serves the estate pages and the /api/v1 locations and cells
// API.
//
// Access: reading needs EstateRead, changing needs EstateWrite. Routes
// naming a location in the path ({loc}: an institution, unit, office or
// cell) are caseload-checked by the router; the lists show only what the
// caller's caseload covers; routes naming a cell or closure by another
// name ({cell}, {closure}) or in the body (unit_id, parent_id) check the
// caseload here. New institutions and offices need a national caseload
// (access.Everywhere), since no caseload can name them before they exist.
type Handlers struct {
	Web    *web.Server
	Estate *Service
}

// Register adds the estate routes to h.Web.
func (h *Handlers) Register() {
	for _, rt := range h.routes() {
		h.Web.Handle(rt)
	}
}

func (h *Handlers) routes() []web.Route {
	const staff, loc = web.ScopeStaff, web.ScopeLocation
	read, write := access.EstateRead, access.EstateWrite
	return []web.Route{
		{Method: "GET", Pattern: "/estate", Perm: read, Scope: staff, Summary: "The estate: institutions with units and bed counts, and probation offices", Handle: h.treePage},
		{Method: "GET", Pattern: "/estate/new", Perm: write, Scope: staff, Summary: "Form: new institution, unit or probation office (kind, parent)", Handle: h.newLocationPage},
		{Method: "POST", Pattern: "/estate", Perm: write, Scope: staff, Summary: "Create an institution, unit or probation office", Handle: h.createLocation},
		{Method: "GET", Pattern: "/estate/{loc}", Perm: read, Scope: loc, Summary: "An institution, unit or office: its units and cells with capacity, occupancy and out-of-use periods", Handle: h.locationPage},
		{Method: "GET", Pattern: "/estate/{loc}/edit", Perm: write, Scope: loc, Summary: "Form: change a location", Handle: h.editLocationPage},
		{Method: "POST", Pattern: "/estate/{loc}/edit", Perm: write, Scope: loc, Summary: "Change a location (version checked)", Handle: h.updateLocation},
		{Method: "GET", Pattern: "/estate/{loc}/cells/new", Perm: write, Scope: loc, Summary: "Form: new cell in a unit", Handle: h.newCellPage},
		{Method: "POST", Pattern: "/estate/{loc}/cells", Perm: write, Scope: loc, Summary: "Create a cell in a unit", Handle: h.createCell},
		{Method: "GET", Pattern: "/estate/cells/{loc}/edit", Perm: write, Scope: loc, Summary: "Form: change a cell", Handle: h.editCellPage},
		{Method: "POST", Pattern: "/estate/cells/{loc}/edit", Perm: write, Scope: loc, Summary: "Change a cell (version checked; capacity not below occupancy)", Handle: h.updateCell},
		{Method: "GET", Pattern: "/estate/cells/{loc}/close", Perm: write, Scope: loc, Summary: "Form: take a cell out of use for a period", Handle: h.closeCellPage},
		{Method: "POST", Pattern: "/estate/cells/{loc}/close", Perm: write, Scope: loc, Summary: "Take a cell out of use for a period, with a reason", Handle: h.closeCell},
		{Method: "POST", Pattern: "/estate/cells/{loc}/reopen", Perm: write, Scope: loc, Summary: "End a cell's out-of-use period (closure_id) now", Handle: h.reopenCell},

		{Method: "GET", Pattern: "/api/v1/locations", Perm: read, Scope: staff, API: true, Summary: "Institutions (with units) and offices in the caller's caseload, with bed counts", Handle: h.apiList, Response: struct {
			Locations []Location `json:"locations"`
		}{}},
		{Method: "POST", Pattern: "/api/v1/locations", Perm: write, Scope: staff, API: true, Summary: "Create an institution, unit or office (Idempotency-Key accepted)", Handle: h.apiCreateLocation, Request: NewLocation{}, Response: &Location{}},
		{Method: "GET", Pattern: "/api/v1/locations/{loc}", Perm: read, Scope: loc, API: true, Summary: "One location with bed counts (and units for an institution)", Handle: h.apiGetLocation, Response: &Location{}},
		{Method: "PATCH", Pattern: "/api/v1/locations/{loc}", Perm: write, Scope: loc, API: true, Summary: "Change a location; version required, absent fields keep their values", Handle: h.apiPatchLocation, Request: LocationUpdate{}, Response: &Location{}},
		{Method: "GET", Pattern: "/api/v1/locations/{loc}/cells", Perm: read, Scope: loc, API: true, Summary: "Cells of a unit, or of every unit of an institution, with current and planned out-of-use periods", Handle: h.apiCells, Response: struct {
			Cells []Cell `json:"cells"`
		}{}},
		{Method: "POST", Pattern: "/api/v1/cells", Perm: write, Scope: staff, API: true, Summary: "Create a cell in the unit named by unit_id (Idempotency-Key accepted)", Handle: h.apiCreateCell, Request: NewCell{}, Response: &Cell{}},
		{Method: "PATCH", Pattern: "/api/v1/cells/{cell}", Perm: write, Scope: staff, API: true, Summary: "Change a cell; version required, absent fields keep their values", Handle: h.apiPatchCell, Request: CellUpdate{}, Response: &Cell{}},
		{Method: "POST", Pattern: "/api/v1/cells/{cell}/closures", Perm: write, Scope: staff, API: true, Summary: "Take a cell out of use from `from` (default now) until `until` (optional) with a reason", Handle: h.apiCloseCell, Request: ClosureRequest{}, Response: &Closure{}},
		{Method: "POST", Pattern: "/api/v1/closures/{closure}/end", Perm: write, Scope: staff, API: true, Summary: "End an out-of-use period now (a future one is withdrawn)", Handle: h.apiEndClosure, Response: &Cell{}},
	}
}

// ---------- access helpers ----------

// covers checks that the caller's caseload covers location, unit or cell
// id. field names the request field to blame when id names nothing.
func (h *Handlers) covers(ctx context.Context, id, field, what string) error {
	if id == "" {
		return apperr.Field(field, "Choose the "+what+".")
	}
	lin, err := h.Estate.Lineage(ctx, id)
	if apperr.CodeOf(err) == apperr.NotFound {
		if field == "" {
			return apperr.New(apperr.NotFound, "No such %s.", what)
		}
		return apperr.Field(field, "No such "+what+".")
	}
	if err != nil {
		return err
	}
	if !web.PrincipalFrom(ctx).Covers(lin...) {
		return apperr.New(apperr.Forbidden, "This %s is outside your caseload.", what)
	}
	return nil
}

// mayCreate checks that the caller may create n: a unit inside their
// caseload, or (national caseload only) an institution or office.
func (h *Handlers) mayCreate(ctx context.Context, n NewLocation) error {
	if n.Kind == Unit {
		return h.covers(ctx, n.ParentID, "parent_id", "institution")
	}
	if n.Kind == Institution || n.Kind == Office {
		if !web.PrincipalFrom(ctx).Covers(access.Everywhere) {
			return apperr.New(apperr.Forbidden, "Only staff with a national caseload can add institutions and probation offices.")
		}
	}
	return nil
}

// Visible returns the part of tree the principal's caseload covers: a
// covered institution or office whole; an institution of which only some
// units are covered with just those units, its counts summed over them.
func Visible(p *access.Principal, tree []Location) []Location {
	var out []Location
	for _, l := range tree {
		if p.Covers(l.ID) {
			out = append(out, l)
			continue
		}
		var units []Location
		for _, u := range l.Units {
			if p.Covers(u.ID) {
				units = append(units, u)
			}
		}
		if len(units) == 0 {
			continue
		}
		part := l
		part.Units = units
		part.Cells, part.Capacity, part.Occupied, part.OutOfUse, part.Available = 0, 0, 0, 0, 0
		for _, u := range units {
			part.Cells += u.Cells
			part.Capacity += u.Capacity
			part.Occupied += u.Occupied
			part.OutOfUse += u.OutOfUse
			part.Available += u.Available
		}
		out = append(out, part)
	}
	return out
}

// ---------- form parsing ----------

// formInt reads an integer field; empty gives def.
func formInt(fe *apperr.Fields, lang i18n.Lang, f url.Values, name string, def int) int {
	s := strings.TrimSpace(f.Get(name))
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		fe.Add(name, i18n.T(lang, "estate.ui.err.whole_number"))
	}
	return n
}

func formFloat(fe *apperr.Fields, lang i18n.Lang, f url.Values, name string) *float64 {
	s := strings.TrimSpace(strings.ReplaceAll(f.Get(name), ",", "."))
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		fe.Add(name, i18n.T(lang, "estate.ui.err.number"))
		return nil
	}
	return &v
}

func formBool(f url.Values, name string) bool {
	v := f.Get(name)
	return v == "on" || v == "true" || v == "1" || v == "yes"
}

// ParseWhen reads a time typed by a user or an API client: RFC 3339, a
// local date and time (YYYY-MM-DDTHH:MM) or a date (midnight), both in
// web.Zone.
func ParseWhen(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, web.Zone); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date or time: %q", s)
}

// closureInput reads from, until and reason; an empty from is now.
func closureInput(fe *apperr.Fields, lang i18n.Lang, now time.Time, fromS, untilS string) (time.Time, *time.Time) {
	from := now
	if strings.TrimSpace(fromS) != "" {
		t, err := ParseWhen(fromS)
		if err != nil {
			fe.Add("from", i18n.T(lang, "estate.ui.err.when"))
		}
		from = t
	}
	var until *time.Time
	if strings.TrimSpace(untilS) != "" {
		t, err := ParseWhen(untilS)
		if err != nil {
			fe.Add("until", i18n.T(lang, "estate.ui.err.when"))
		} else {
			until = &t
		}
	}
	return from, until
}

func invalid(lang i18n.Lang, fe apperr.Fields) error {
	if len(fe) == 0 {
		return nil
	}
	return &apperr.Error{Code: apperr.Invalid, Message: i18n.T(lang, "estate.ui.err.invalid"), Fields: fe}
}

// merge combines form-parsing errors with a service's validation error so
// the user sees every problem at once.
func merge(lang i18n.Lang, fe apperr.Fields, err error) error {
	if e, ok := apperr.As(err); ok && e.Code == apperr.Invalid {
		for _, f := range e.Fields {
			if !fe.Has(f.Field) {
				fe = append(fe, f)
			}
		}
		return invalid(lang, fe)
	}
	if err != nil {
		return err
	}
	return invalid(lang, fe)
}

// conflictText makes a stale-version refusal say plainly what to do.
func conflictText(lang i18n.Lang, err error) error {
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Conflict || e.Detail["current_version"] == nil {
		return err
	}
	return &apperr.Error{Code: apperr.Conflict, Message: i18n.T(lang, "estate.ui.err.stale"), Fields: e.Fields, Detail: e.Detail}
}

// ---------- pages ----------

type treeData struct {
	Institutions []Location
	Offices      []Location
	Total        Location
	CanWrite     bool
	National     bool
}

func (h *Handlers) treePage(w http.ResponseWriter, r *http.Request) error {
	p := web.PrincipalFrom(r.Context())
	all, err := h.Estate.Tree(r.Context())
	if err != nil {
		return err
	}
	d := treeData{CanWrite: p.Can(access.EstateWrite), National: p.Covers(access.Everywhere)}
	for _, l := range Visible(p, all) {
		if l.Kind == Office {
			d.Offices = append(d.Offices, l)
			continue
		}
		d.Institutions = append(d.Institutions, l)
		d.Total.Cells += l.Cells
		d.Total.Capacity += l.Capacity
		d.Total.Occupied += l.Occupied
		d.Total.OutOfUse += l.OutOfUse
		d.Total.Available += l.Available
	}
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "estate.title"))
	pg.Nav = "estate"
	pg.Data = d
	return h.Web.Render(w, pages, "estate.html", pg)
}

type unitCells struct {
	Unit  Location
	Cells []Cell
}

type locationData struct {
	Loc      *Location
	Parent   *Location
	Units    []unitCells
	CanWrite bool
	Now      time.Time
}

func (h *Handlers) locationPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	l, err := h.Estate.Location(ctx, r.PathValue("loc"))
	if err != nil {
		return err
	}
	d := locationData{Loc: l, CanWrite: web.PrincipalFrom(ctx).Can(access.EstateWrite), Now: h.Estate.DB.Now()}
	if l.ParentID != "" {
		if d.Parent, err = h.Estate.Location(ctx, l.ParentID); err != nil {
			return err
		}
	}
	if l.Kind != Office {
		cells, err := h.Estate.Cells(ctx, l.ID)
		if err != nil {
			return err
		}
		d.Units = groupCells(l, cells)
	}
	pg := h.Web.NewPage(w, r, l.Name)
	pg.Nav = "estate"
	pg.Data = d
	return h.Web.Render(w, pages, "location.html", pg)
}

// groupCells orders cells under their units in the unit order of l (an
// institution) or under l itself (a unit).
func groupCells(l *Location, cells []Cell) []unitCells {
	units := l.Units
	if l.Kind == Unit {
		units = []Location{*l}
	}
	by := map[string][]Cell{}
	for _, c := range cells {
		by[c.UnitID] = append(by[c.UnitID], c)
	}
	out := make([]unitCells, 0, len(units))
	for _, u := range units {
		out = append(out, unitCells{Unit: u, Cells: by[u.ID]})
	}
	return out
}

type locationForm struct {
	Kind       Kind
	Parent     *Location
	Loc        *Location // nil when creating
	Parents    []Location
	Categories []string
	Genders    []string
	Levels     []int
}

func levels() []int {
	out := []int{}
	for i := MinSecurity; i <= MaxSecurity; i++ {
		out = append(out, i)
	}
	return out
}

func (h *Handlers) locationFormPage(w http.ResponseWriter, r *http.Request, f locationForm, pg *web.Page) error {
	f.Categories, f.Genders, f.Levels = Categories, Genders, levels()
	if f.Kind == Unit && f.Loc == nil {
		all, err := h.Estate.Tree(r.Context())
		if err != nil {
			return err
		}
		p := web.PrincipalFrom(r.Context())
		for _, l := range all {
			if l.Kind == Institution && p.Covers(l.ID) {
				f.Parents = append(f.Parents, l)
			}
		}
	}
	pg.Nav = "estate"
	pg.Data = f
	return nil
}

func (h *Handlers) newLocationPage(w http.ResponseWriter, r *http.Request) error {
	lang := web.LangOf(r)
	q := r.URL.Query()
	kind := Kind(q.Get("kind"))
	if kind != Unit && kind != Office {
		kind = Institution
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "estate.ui.new."+string(kind)))
	pg.Form = url.Values{"kind": {string(kind)}, "parent_id": {q.Get("parent")}, "gender": {"any"},
		"idempotency_key": {db.RandomToken(16)}}
	if err := h.locationFormPage(w, r, locationForm{Kind: kind}, pg); err != nil {
		return err
	}
	return h.Web.Render(w, pages, "location_form.html", pg)
}

func readLocation(lang i18n.Lang, f url.Values) (NewLocation, apperr.Fields) {
	var fe apperr.Fields
	n := NewLocation{Kind: Kind(f.Get("kind")), ParentID: strings.TrimSpace(f.Get("parent_id")), Code: f.Get("code"), Name: f.Get("name"),
		Category: f.Get("category"), Gender: f.Get("gender"), Region: f.Get("region"), Address: f.Get("address")}
	n.SecurityLevel = formInt(&fe, lang, f, "security_level", 0)
	n.Lat, n.Lon = formFloat(&fe, lang, f, "lat"), formFloat(&fe, lang, f, "lon")
	return n, fe
}

func (h *Handlers) createLocation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := web.LangOf(r)
	if err := r.ParseForm(); err != nil {
		return apperr.Field("body", "The form could not be read.")
	}
	n, fe := readLocation(lang, r.PostForm)
	if n.Kind != Unit && n.Kind != Office {
		n.Kind = Institution
	}
	fail := func(err error) error {
		pg := h.Web.NewPage(w, r, i18n.T(lang, "estate.ui.new."+string(n.Kind)))
		if e := h.locationFormPage(w, r, locationForm{Kind: n.Kind}, pg); e != nil {
			return e
		}
		return h.Web.FormError(w, r, pages, "location_form.html", pg, err)
	}
	if err := h.mayCreate(ctx, n); err != nil {
		return fail(err)
	}
	if len(fe) > 0 {
		// Report the service's checks too, without creating anything.
		return fail(merge(lang, fe, n.normalise()))
	}
	l, err := h.Estate.CreateLocation(ctx, n)
	if err != nil {
		return fail(err)
	}
	return web.Redirect(w, r, "/estate/"+l.ID, i18n.T(lang, "estate.ui.flash.created", l.Name), "")
}

func (h *Handlers) editLocationPage(w http.ResponseWriter, r *http.Request) error {
	l, err := h.Estate.Location(r.Context(), r.PathValue("loc"))
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "estate.ui.edit_title", l.Name))
	pg.Form = url.Values{"name": {l.Name}, "category": {l.Category}, "security_level": {strconv.Itoa(l.SecurityLevel)}, "gender": {l.Gender},
		"region": {l.Region}, "address": {l.Address}, "version": {strconv.Itoa(l.Version)}}
	if l.Lat != nil && l.Lon != nil {
		pg.Form.Set("lat", strconv.FormatFloat(*l.Lat, 'f', -1, 64))
		pg.Form.Set("lon", strconv.FormatFloat(*l.Lon, 'f', -1, 64))
	}
	if err := h.locationFormPage(w, r, locationForm{Kind: l.Kind, Loc: l}, pg); err != nil {
		return err
	}
	return h.Web.Render(w, pages, "location_form.html", pg)
}

func (h *Handlers) updateLocation(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := web.LangOf(r)
	l, err := h.Estate.Location(ctx, r.PathValue("loc"))
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return apperr.Field("body", "The form could not be read.")
	}
	f := r.PostForm
	var fe apperr.Fields
	u := LocationUpdate{Name: f.Get("name"), Category: f.Get("category"), Gender: f.Get("gender"), Region: f.Get("region"), Address: f.Get("address")}
	u.Version = formInt(&fe, lang, f, "version", 0)
	u.SecurityLevel = formInt(&fe, lang, f, "security_level", 0)
	u.Lat, u.Lon = formFloat(&fe, lang, f, "lat"), formFloat(&fe, lang, f, "lon")
	fail := func(err error) error {
		pg := h.Web.NewPage(w, r, i18n.T(lang, "estate.ui.edit_title", l.Name))
		if e := h.locationFormPage(w, r, locationForm{Kind: l.Kind, Loc: l}, pg); e != nil {
			return e
		}
		return h.Web.FormError(w, r, pages, "location_form.html", pg, conflictText(lang, err))
	}
	if len(fe) > 0 {
		n := u.newLocation(l)
		return fail(merge(lang, fe, n.normalise()))
	}
	if _, err := h.Estate.UpdateLocation(ctx, l.ID, u); err != nil {
		return fail(err)
	}
	return web.Redirect(w, r, "/estate/"+l.ID, i18n.T(lang, "estate.ui.flash.saved"), "")
}

type cellForm struct {
	Unit    *Location
	Cell    *Cell // nil when creating
	Genders []string
	Levels  []int
	Max     int
}

func (h *Handlers) cellFormData(ctx context.Context, unitID string, c *Cell) (cellForm, error) {
	u, err := h.Estate.Location(ctx, unitID)
	if err != nil {
		return cellForm{}, err
	}
	return cellForm{Unit: u, Cell: c, Genders: Genders, Levels: levels(), Max: MaxCellCapacity}, nil
}

func (h *Handlers) newCellPage(w http.ResponseWriter, r *http.Request) error {
	lang := web.LangOf(r)
	f, err := h.cellFormData(r.Context(), r.PathValue("loc"), nil)
	if err != nil {
		return err
	}
	if f.Unit.Kind != Unit {
		return apperr.New(apperr.NotFound, "%s", i18n.T(lang, "estate.ui.err.cells_in_units"))
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "estate.ui.new_cell_in", f.Unit.Name))
	pg.Nav, pg.Data = "estate", f
	pg.Form = url.Values{"capacity": {"1"}, "security_level": {strconv.Itoa(max(f.Unit.SecurityLevel, MinSecurity))}, "gender": {f.Unit.Gender},
		"idempotency_key": {db.RandomToken(16)}}
	return h.Web.Render(w, pages, "cell_form.html", pg)
}

func readCell(lang i18n.Lang, f url.Values) (CellUpdate, apperr.Fields) {
	var fe apperr.Fields
	u := CellUpdate{Label: f.Get("label"), Gender: f.Get("gender"), Accessible: formBool(f, "accessible"), Smoking: formBool(f, "smoking"), Note: f.Get("note")}
	u.Capacity = formInt(&fe, lang, f, "capacity", 0)
	u.SecurityLevel = formInt(&fe, lang, f, "security_level", 0)
	u.Version = formInt(&fe, lang, f, "version", 0)
	return u, fe
}

func (h *Handlers) createCell(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := web.LangOf(r)
	f, err := h.cellFormData(ctx, r.PathValue("loc"), nil)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return apperr.Field("body", "The form could not be read.")
	}
	u, fe := readCell(lang, r.PostForm)
	n := u.newCell(f.Unit.ID)
	fail := func(err error) error {
		pg := h.Web.NewPage(w, r, i18n.T(lang, "estate.ui.new_cell_in", f.Unit.Name))
		pg.Nav, pg.Data = "estate", f
		return h.Web.FormError(w, r, pages, "cell_form.html", pg, err)
	}
	if len(fe) > 0 {
		return fail(merge(lang, fe, n.normalise()))
	}
	c, err := h.Estate.CreateCell(ctx, n)
	if err != nil {
		return fail(err)
	}
	return web.Redirect(w, r, "/estate/"+f.Unit.ID+"#cell-"+c.ID, i18n.T(lang, "estate.ui.flash.cell_created", c.Label), "")
}

func (h *Handlers) editCellPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := h.Estate.Cell(ctx, r.PathValue("loc"))
	if err != nil {
		return err
	}
	f, err := h.cellFormData(ctx, c.UnitID, c)
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "estate.ui.edit_cell", c.Label))
	pg.Nav, pg.Data = "estate", f
	pg.Form = url.Values{"label": {c.Label}, "capacity": {strconv.Itoa(c.Capacity)}, "security_level": {strconv.Itoa(c.SecurityLevel)},
		"gender": {c.Gender}, "note": {c.Note}, "version": {strconv.Itoa(c.Version)}}
	if c.Accessible {
		pg.Form.Set("accessible", "on")
	}
	if c.Smoking {
		pg.Form.Set("smoking", "on")
	}
	return h.Web.Render(w, pages, "cell_form.html", pg)
}

func (h *Handlers) updateCell(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := web.LangOf(r)
	c, err := h.Estate.Cell(ctx, r.PathValue("loc"))
	if err != nil {
		return err
	}
	f, err := h.cellFormData(ctx, c.UnitID, c)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return apperr.Field("body", "The form could not be read.")
	}
	u, fe := readCell(lang, r.PostForm)
	fail := func(err error) error {
		pg := h.Web.NewPage(w, r, i18n.T(lang, "estate.ui.edit_cell", c.Label))
		pg.Nav, pg.Data = "estate", f
		return h.Web.FormError(w, r, pages, "cell_form.html", pg, conflictText(lang, err))
	}
	if len(fe) > 0 {
		n := u.newCell(c.UnitID)
		return fail(merge(lang, fe, n.normalise()))
	}
	if _, err := h.Estate.UpdateCell(ctx, c.ID, u); err != nil {
		return fail(err)
	}
	return web.Redirect(w, r, "/estate/"+c.UnitID+"#cell-"+c.ID, i18n.T(lang, "estate.ui.flash.saved"), "")
}

type closeData struct {
	Unit *Location
	Cell *Cell
}

func (h *Handlers) closeFormData(ctx context.Context, cellID string) (closeData, error) {
	c, err := h.Estate.Cell(ctx, cellID)
	if err != nil {
		return closeData{}, err
	}
	u, err := h.Estate.Location(ctx, c.UnitID)
	if err != nil {
		return closeData{}, err
	}
	return closeData{Unit: u, Cell: c}, nil
}

func (h *Handlers) closeCellPage(w http.ResponseWriter, r *http.Request) error {
	d, err := h.closeFormData(r.Context(), r.PathValue("loc"))
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(web.LangOf(r), "estate.ui.close_title", d.Cell.Label))
	pg.Nav, pg.Data = "estate", d
	pg.Form = url.Values{"from": {h.Estate.DB.Now().In(web.Zone).Format("2006-01-02T15:04")}, "idempotency_key": {db.RandomToken(16)}}
	return h.Web.Render(w, pages, "closure_form.html", pg)
}

func (h *Handlers) closeCell(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := web.LangOf(r)
	d, err := h.closeFormData(ctx, r.PathValue("loc"))
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return apperr.Field("body", "The form could not be read.")
	}
	var fe apperr.Fields
	from, until := closureInput(&fe, lang, h.Estate.DB.Now(), r.PostForm.Get("from"), r.PostForm.Get("until"))
	reason := r.PostForm.Get("reason")
	fail := func(err error) error {
		pg := h.Web.NewPage(w, r, i18n.T(lang, "estate.ui.close_title", d.Cell.Label))
		pg.Nav, pg.Data = "estate", d
		return h.Web.FormError(w, r, pages, "closure_form.html", pg, err)
	}
	if len(fe) > 0 {
		if strings.TrimSpace(reason) == "" {
			fe.Add("reason", "Say why the cell is out of use.")
		}
		return fail(invalid(lang, fe))
	}
	if _, err := h.Estate.CloseCell(ctx, d.Cell.ID, from, until, reason); err != nil {
		return fail(err)
	}
	return web.Redirect(w, r, "/estate/"+d.Unit.ID+"#cell-"+d.Cell.ID, i18n.T(lang, "estate.ui.flash.closed", d.Cell.Label), "")
}

func (h *Handlers) reopenCell(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := web.LangOf(r)
	c, err := h.Estate.Cell(ctx, r.PathValue("loc"))
	if err != nil {
		return err
	}
	id := r.PostFormValue("closure_id")
	cellID, err := h.Estate.ClosureCell(ctx, id)
	if err != nil && apperr.CodeOf(err) != apperr.NotFound {
		return err
	}
	if err != nil || cellID != c.ID {
		return apperr.New(apperr.NotFound, "This cell has no such current or planned out-of-use period.")
	}
	if err := h.Estate.ReopenCell(ctx, id); err != nil {
		return err
	}
	return web.Redirect(w, r, "/estate/"+c.UnitID+"#cell-"+c.ID, i18n.T(lang, "estate.ui.flash.reopened", c.Label), "")
}

// ---------- API ----------

func (h *Handlers) apiList(w http.ResponseWriter, r *http.Request) error {
	all, err := h.Estate.Tree(r.Context())
	if err != nil {
		return err
	}
	list := Visible(web.PrincipalFrom(r.Context()), all)
	if list == nil {
		list = []Location{}
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"locations": list})
}

func (h *Handlers) apiCreateLocation(w http.ResponseWriter, r *http.Request) error {
	var n NewLocation
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	if err := h.mayCreate(r.Context(), n); err != nil {
		return err
	}
	l, err := h.Estate.CreateLocation(r.Context(), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/locations/"+l.ID)
	return web.WriteJSON(w, http.StatusCreated, l)
}

func (h *Handlers) apiGetLocation(w http.ResponseWriter, r *http.Request) error {
	l, err := h.Estate.Location(r.Context(), r.PathValue("loc"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, l)
}

func (h *Handlers) apiPatchLocation(w http.ResponseWriter, r *http.Request) error {
	l, err := h.Estate.Location(r.Context(), r.PathValue("loc"))
	if err != nil {
		return err
	}
	// Absent fields keep their current values; version must be sent.
	u := LocationUpdate{Name: l.Name, Category: l.Category, SecurityLevel: l.SecurityLevel, Gender: l.Gender, Region: l.Region,
		Address: l.Address, Lat: l.Lat, Lon: l.Lon}
	if err := web.DecodeJSON(r, &u); err != nil {
		return err
	}
	if u.Version <= 0 {
		return apperr.Field("version", "Send the version you read (optimistic locking).")
	}
	out, err := h.Estate.UpdateLocation(r.Context(), l.ID, u)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handlers) apiCells(w http.ResponseWriter, r *http.Request) error {
	cells, err := h.Estate.Cells(r.Context(), r.PathValue("loc"))
	if err != nil {
		return err
	}
	if cells == nil {
		cells = []Cell{}
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"cells": cells})
}

func (h *Handlers) apiCreateCell(w http.ResponseWriter, r *http.Request) error {
	var n NewCell
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	if err := h.covers(r.Context(), n.UnitID, "unit_id", "unit"); err != nil {
		return err
	}
	c, err := h.Estate.CreateCell(r.Context(), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/cells/"+c.ID)
	return web.WriteJSON(w, http.StatusCreated, c)
}

func (h *Handlers) apiPatchCell(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("cell")
	if err := h.covers(ctx, id, "", "cell"); err != nil {
		return err
	}
	c, err := h.Estate.Cell(ctx, id)
	if err != nil {
		return err
	}
	u := CellUpdate{Label: c.Label, Capacity: c.Capacity, SecurityLevel: c.SecurityLevel, Gender: c.Gender, Accessible: c.Accessible,
		Smoking: c.Smoking, Note: c.Note}
	if err := web.DecodeJSON(r, &u); err != nil {
		return err
	}
	if u.Version <= 0 {
		return apperr.Field("version", "Send the version you read (optimistic locking).")
	}
	out, err := h.Estate.UpdateCell(ctx, id, u)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// ClosureRequest is the body of POST /api/v1/cells/{cell}/closures.
type ClosureRequest struct {
	From   string `json:"from"`  // RFC 3339 or YYYY-MM-DD; empty is now
	Until  string `json:"until"` // optional
	Reason string `json:"reason"`
}

func (h *Handlers) apiCloseCell(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("cell")
	if err := h.covers(ctx, id, "", "cell"); err != nil {
		return err
	}
	var in ClosureRequest
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	var fe apperr.Fields
	from, until := closureInput(&fe, i18n.English, h.Estate.DB.Now(), in.From, in.Until)
	if strings.TrimSpace(in.Reason) == "" {
		fe.Add("reason", "Say why the cell is out of use.")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	cl, err := h.Estate.CloseCell(ctx, id, from, until, in.Reason)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusCreated, cl)
}

func (h *Handlers) apiEndClosure(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("closure")
	cellID, err := h.Estate.ClosureCell(ctx, id)
	if err != nil {
		return err
	}
	if err := h.covers(ctx, cellID, "", "cell"); err != nil {
		return err
	}
	if err := h.Estate.ReopenCell(ctx, id); err != nil {
		return err
	}
	c, err := h.Estate.Cell(ctx, cellID)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, c)
}
