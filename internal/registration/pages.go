// SPDX-License-Identifier: AGPL-3.0-or-later

package registration

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
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/imagecheck"
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
	read, write, review, complain := access.RegistrationRead, access.RegistrationWrite, access.RegistrationReview, access.ComplaintHandle
	one := "/clients/{id}/registrations/{reg}"
	return []web.Route{
		{Method: "GET", Pattern: "/registrations", Perm: read, Scope: staff, Summary: "Registrations work page: my drafts and returned reports, statements asked of me, reports to review, overdue lists and counts", Handle: h.workPage},
		{Method: "GET", Pattern: "/clients/{id}/registrations", Perm: read, Scope: cl, Summary: "A client's registrations, and new ones by kind", Handle: h.clientPage},
		{Method: "GET", Pattern: "/clients/{id}/registrations/new", Perm: write, Scope: cl, Summary: "Form: a new registration of a kind (?kind=)", Handle: h.newPage},
		{Method: "POST", Pattern: "/clients/{id}/registrations", Perm: write, Scope: cl, OwnIdempotency: true, Summary: "Store a new registration as a draft or submitted (kept in the browser until the server confirms)", Handle: h.create},
		{Method: "GET", Pattern: one, Perm: read, Scope: cl, Summary: "A registration with its statements, amendments, history, complaints and the actions open to the caller", Handle: h.showPage},
		{Method: "GET", Pattern: one + "/edit", Perm: write, Scope: cl, Summary: "Form: continue a draft", Handle: h.editPage},
		{Method: "POST", Pattern: one + "/edit", Perm: write, Scope: cl, Summary: "Save a draft, or save and submit it (version checked)", Handle: h.saveDraft},
		{Method: "POST", Pattern: one + "/submit", Perm: write, Scope: cl, Summary: "Submit a returned report again", Handle: h.submit},
		{Method: "POST", Pattern: one + "/review", Perm: review, Scope: cl, Summary: "Accept a report or return it with comments", Handle: h.review},
		{Method: "POST", Pattern: one + "/close", Perm: review, Scope: cl, Summary: "Close an accepted report", Handle: h.close},
		{Method: "POST", Pattern: one + "/amend", Perm: write, Scope: cl, Summary: "Append a correction with the reason", Handle: h.amend},
		{Method: "POST", Pattern: one + "/statement", Perm: write, Scope: cl, Summary: "Give the statement asked of you", Handle: h.statement},
		{Method: "POST", Pattern: one + "/photos", Perm: write, Scope: cl, MaxBody: imagecheck.MaxBody, Summary: "Attach a photograph (multipart form; JPEG or PNG, at most 2 MiB) with a caption", Handle: h.addPhoto},
		{Method: "GET", Pattern: one + "/photos/{photo}", Perm: read, Scope: cl, Summary: "A photograph of a registration (never cached; every fetch is an audited read)", Handle: h.photo},
		{Method: "GET", Pattern: one + "/notice", Perm: write, Scope: cl, Summary: "Printable notice to the client of the registration and the right to complain", Handle: h.noticePage},
		{Method: "POST", Pattern: one + "/informed", Perm: write, Scope: cl, Summary: "Record that the client was given the notice", Handle: h.informed},
		{Method: "POST", Pattern: one + "/complaints", Perm: complain, Scope: cl, Summary: "Record the client's complaint", Handle: h.complaint},
		{Method: "POST", Pattern: one + "/complaints/{complaint}/decide", Perm: complain, Scope: cl, Summary: "Decide a complaint", Handle: h.decide},
	}
}

// ---------- Messages in the user's language ----------

var msgRules = i18n.Rules{
	{Re: regexp.MustCompile(`^Required\.$`), Key: "reg.err.required"},
	{Re: regexp.MustCompile(`^Choose at least one\.$`), Key: "reg.err.choose_one"},
	{Re: regexp.MustCompile(`^Choose from: `), Key: "reg.err.choose_from"},
	{Re: regexp.MustCompile(`^At most (\d+) characters\.$`), Key: "reg.err.too_long"},
	{Re: regexp.MustCompile(`^Use a date and time`), Key: "reg.err.datetime"},
	{Re: regexp.MustCompile(`^Cannot be in the future\.$`), Key: "reg.err.future"},
	{Re: regexp.MustCompile(`^More than five years ago`), Key: "reg.err.too_old"},
	{Re: regexp.MustCompile(`^Say which force or restraints`), Key: "reg.err.forces"},
	{Re: regexp.MustCompile(`^Say why force or restraints`), Key: "reg.err.reason"},
	{Re: regexp.MustCompile(`^How long, in minutes`), Key: "reg.err.duration"},
	{Re: regexp.MustCompile(`^From 0 to (\d+) minutes\.$`), Key: "reg.err.duration_range"},
	{Re: regexp.MustCompile(`^Record at least one item\.$`), Key: "reg.err.items"},
	{Re: regexp.MustCompile(`^Say to whom the concern`), Key: "reg.err.reported_to"},
	{Re: regexp.MustCompile(`^Name every officer who used force`), Key: "reg.err.officers"},
	{Re: regexp.MustCompile(`^There is no client with this id\.$`), Key: "reg.err.no_client"},
	{Re: regexp.MustCompile(`^There is no staff member with this id\.$`), Key: "reg.err.no_staff"},
	{Re: regexp.MustCompile(`^Say what the author must correct\.$`), Key: "reg.err.return_comment"},
	{Re: regexp.MustCompile(`^The request has invalid fields\.$`), Key: "reg.err.invalid"},
	{Re: regexp.MustCompile(`^Someone else changed this|^The registration was changed by someone else`), Key: "reg.err.stale"},
	{Re: regexp.MustCompile(`^Another manager must review your own report\.$`), Key: "reg.err.self_review"},
	{Re: regexp.MustCompile(`^(\d+) statement\(s\) are still outstanding\.$`), Key: "reg.err.statements_open"},
	{Re: regexp.MustCompile(`^(\d+) complaint\(s\) are still to be decided\.$`), Key: "reg.err.complaints_open"},
	{Re: regexp.MustCompile(`^This statement was already given`), Key: "reg.err.statement_given"},
	{Re: regexp.MustCompile(`^A number of minutes`), Key: "reg.err.duration"},
	{Re: regexp.MustCompile(`^Choose one of: upheld`), Key: "reg.err.outcome"},
	{Re: regexp.MustCompile(`^Choose a photo \(JPEG or PNG\)\.$`), Key: "reg.err.photo_required"},
	{Re: regexp.MustCompile(`^This is not a JPEG or PNG image\.$`), Key: "reg.err.photo_type"},
	{Re: regexp.MustCompile(`^The photo is larger than 2 MiB`), Key: "reg.err.photo_too_large"},
	{Re: regexp.MustCompile(`^The image is \d+ × \d+ pixels`), Key: "reg.err.photo_dimensions"},
	{Re: regexp.MustCompile(`^A registration holds at most (\d+) photos\.$`), Key: "reg.err.photo_count"},
	{Re: regexp.MustCompile(`^This registration is closed\.$`), Key: "reg.err.closed"},
}

func tr(lang i18n.Lang, msg string) string { return msgRules.T(lang, msg) }

// formField names the form field for a service field: the forms use the
// API's names without "details.", and one field for each list.
func formField(f string) string {
	f = strings.TrimPrefix(f, "details.")
	if strings.HasPrefix(f, "items") {
		return "items"
	}
	if strings.HasPrefix(f, "parties") {
		return "parties"
	}
	return f
}

func localize(lang i18n.Lang, err error) error {
	return web.Localize(err, func(m string) string { return tr(lang, m) }, formField)
}

// ---------- Reading a form ----------

func ints(f url.Values, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(f.Get(name)))
	return n
}

// fromForm reads a registration form. Staff and client parties come from
// the role selects; other people from a line each.
func (h *Handlers) fromForm(r *http.Request, kind Kind) (NewRegistration, error) {
	f := r.PostForm
	n := NewRegistration{Kind: kind, OccurredAt: f.Get("occurred_at"), Place: f.Get("place"), Submit: f.Get("action") == "submit"}
	d := &n.Details
	d.Narrative, d.Reason, d.Injuries, d.ClientAccount = f.Get("narrative"), f.Get("reason"), f.Get("injuries"), f.Get("client_account")
	d.BodyCameraRef, d.TransportRef, d.From, d.To = f.Get("body_camera_ref"), f.Get("transport_ref"), f.Get("from"), f.Get("to")
	d.FoundDuring, d.StorageRef, d.PoliceReportRef, d.ReportedTo = f.Get("found_during"), f.Get("storage_ref"), f.Get("police_report_ref"), f.Get("reported_to")
	d.Forces, d.Restraints, d.IncidentTypes, d.Indicators = f["forces"], f["restraints"], f["incident_types"], f["indicators"]
	d.MedicalOffered, d.MedicalDone = f.Get("medical_offered") != "", f.Get("medical_done") != ""
	var fe apperr.Fields
	if s := strings.TrimSpace(f.Get("duration_minutes")); s != "" {
		m, err := strconv.Atoi(s)
		if err != nil {
			fe.Add("duration_minutes", "Enter a whole number.")
		}
		d.DurationMinutes = m
	}
	kinds, descs, qtys, units := f["item_kind"], f["item_description"], f["item_quantity"], f["item_unit"]
	for i := range kinds {
		it := Item{Kind: kinds[i]}
		if i < len(descs) {
			it.Description = descs[i]
		}
		if i < len(units) {
			it.Unit = units[i]
		}
		if i < len(qtys) && strings.TrimSpace(qtys[i]) != "" {
			q, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(qtys[i]), ",", "."), 64)
			if err != nil {
				fe.Add("items", "Enter quantities as numbers, e.g. 2.5.")
			}
			it.Quantity = q
		}
		if it.Kind == "" && it.Description == "" && it.Quantity == 0 {
			continue
		}
		d.Items = append(d.Items, it)
	}
	for _, role := range PartyRoles {
		for _, id := range f["staff_"+role] {
			if id != "" {
				n.Parties = append(n.Parties, Party{Type: "staff", ID: id, Role: role})
			}
		}
		for _, ref := range strings.FieldsFunc(f.Get("clients_"+role), func(r rune) bool { return r == ',' || r == '\n' || r == ';' || r == ' ' }) {
			id, err := h.Client.Resolve(r.Context(), ref)
			if err != nil {
				fe.Add("parties", "No client with the number "+ref+".")
				continue
			}
			n.Parties = append(n.Parties, Party{Type: "client", ID: id, Role: role})
		}
		for _, line := range strings.Split(f.Get("others_"+role), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				n.Parties = append(n.Parties, Party{Type: "other", Name: line, Role: role})
			}
		}
	}
	return n, fe.Err()
}

// formOf writes a registration back into form values (to continue a draft).
func formOf(reg *Registration, refs map[string]string) url.Values {
	d := reg.Details
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !reg.OccurredAt.IsZero() {
		v.Set("occurred_at", reg.OccurredAt.In(web.Zone).Format("2006-01-02T15:04"))
	}
	set("place", reg.Place)
	set("narrative", d.Narrative)
	set("reason", d.Reason)
	set("injuries", d.Injuries)
	set("client_account", d.ClientAccount)
	set("body_camera_ref", d.BodyCameraRef)
	set("transport_ref", d.TransportRef)
	set("from", d.From)
	set("to", d.To)
	set("found_during", d.FoundDuring)
	set("storage_ref", d.StorageRef)
	set("police_report_ref", d.PoliceReportRef)
	set("reported_to", d.ReportedTo)
	if d.DurationMinutes > 0 {
		v.Set("duration_minutes", strconv.Itoa(d.DurationMinutes))
	}
	if d.MedicalOffered {
		v.Set("medical_offered", "on")
	}
	if d.MedicalDone {
		v.Set("medical_done", "on")
	}
	v["forces"], v["restraints"], v["incident_types"], v["indicators"] = d.Forces, d.Restraints, d.IncidentTypes, d.Indicators
	for _, it := range d.Items {
		v.Add("item_kind", it.Kind)
		v.Add("item_description", it.Description)
		v.Add("item_quantity", strconv.FormatFloat(it.Quantity, 'f', -1, 64))
		v.Add("item_unit", it.Unit)
	}
	others := map[string][]string{}
	clients := map[string][]string{}
	for _, p := range reg.Parties {
		switch p.Type {
		case "staff":
			v.Add("staff_"+p.Role, p.ID)
		case "client":
			clients[p.Role] = append(clients[p.Role], refs[p.ID])
		default:
			others[p.Role] = append(others[p.Role], p.Name)
		}
	}
	for role, names := range others {
		v.Set("others_"+role, strings.Join(names, "\n"))
	}
	for role, nums := range clients {
		v.Set("clients_"+role, strings.Join(nums, " "))
	}
	return v
}

// ---------- Pages ----------

// formData is what the registration form needs.
type formData struct {
	ClientID   string
	ClientName string
	Kind       Kind
	Reg        *Registration // nil for a new registration
	Staff      []access.Staff
	Choices    map[string][]string
	Roles      []string // the party roles the kind asks for
	Keep       string   // the browser draft key
	Action     string
	Now        string
	ItemRows   []itemRow
}

// itemRow is a row of the contraband items table, as typed.
type itemRow struct{ Kind, Description, Quantity, Unit string }

func itemRows(f url.Values) []itemRow {
	rows := make([]itemRow, max(4, len(f["item_kind"])+1))
	at := func(name string, i int) string {
		if vs := f[name]; i < len(vs) {
			return vs[i]
		}
		return ""
	}
	for i := range rows {
		rows[i] = itemRow{at("item_kind", i), at("item_description", i), at("item_quantity", i), at("item_unit", i)}
	}
	return rows
}

var kindRoles = map[Kind][]string{
	UseOfForce:         {"used_force", "witness"},
	TransportRestraint: {"escort", "witness"},
	Contraband:         {"involved", "witness"},
	Incident:           {"victim", "perpetrator", "involved", "witness"},
	Radicalisation:     {"involved"},
}

func choiceLists() map[string][]string {
	return map[string][]string{"forces": Forces, "restraints": Restraints, "item_kind": ItemKinds, "found_during": FoundDuring,
		"incident_types": Incidents, "indicators": Indicators, "amendable": amendable, "outcomes": Outcomes, "units": {"pcs", "g", "ml"}}
}

// staffFor lists the staff who could have been there: active accounts
// whose caseload is the client's institution or any part of it (officers
// from other units answer alarms).
func (h *Handlers) staffFor(r *http.Request, inst string) ([]access.Staff, error) {
	if h.Staff == nil {
		return nil, nil
	}
	all, err := h.Staff(r)
	if err != nil {
		return nil, err
	}
	within := map[string]bool{}
	inside := func(loc string) (bool, error) {
		if loc == access.Everywhere || loc == inst {
			return true, nil
		}
		if v, ok := within[loc]; ok {
			return v, nil
		}
		v := false
		if h.Lineage != nil && inst != "" {
			line, err := h.Lineage(r.Context(), loc)
			if err != nil && apperr.CodeOf(err) != apperr.NotFound {
				return false, err
			}
			v = slices.Contains(line, inst)
		}
		within[loc] = v
		return v, nil
	}
	out := all[:0:0]
	for _, s := range all {
		if s.Disabled || s.Role == access.Administrator || s.Role == access.Analyst {
			continue
		}
		for _, loc := range s.Caseload {
			ok, err := inside(loc)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, s)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b access.Staff) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	return out, nil
}

func (h *Handlers) place(r *http.Request, clientID string) (client.Placed, error) {
	return db.Read(r.Context(), h.Reg.DB, func(tx *db.Tx) (client.Placed, error) { return client.Whereabouts(r.Context(), tx, clientID) })
}

func (h *Handlers) formPage(w http.ResponseWriter, r *http.Request, kind Kind, reg *Registration, form url.Values, err error) error {
	lang := web.LangOf(r)
	id := clientOf(r)
	pl, perr := h.Reg.Subject(r.Context(), id)
	if perr != nil {
		return perr
	}
	inst := pl.InstitutionID
	if inst == "" {
		inst = pl.OfficeID
	}
	staff, serr := h.staffFor(r, inst)
	if serr != nil {
		return serr
	}
	d := formData{ClientID: id, ClientName: pl.Name, Kind: kind, Reg: reg, Staff: staff, Choices: choiceLists(), Roles: kindRoles[kind],
		Keep: "reg-new-" + id + "-" + string(kind), Action: "/clients/" + id + "/registrations", Now: time.Now().In(web.Zone).Format("2006-01-02T15:04")}
	title := i18n.T(lang, "reg.new_title", i18n.T(lang, "reg.kind."+string(kind)), pl.Name)
	if reg != nil {
		d.Keep = "reg-" + reg.ID
		d.Action = "/clients/" + id + "/registrations/" + reg.ID + "/edit"
		title = i18n.T(lang, "reg.edit_title", i18n.T(lang, "reg.kind."+string(kind)), pl.Name)
	}
	pg := h.Web.NewPage(w, r, title)
	pg.Nav = "registrations"
	d.ItemRows = itemRows(form)
	pg.Data = d
	pg.Form = form
	if err != nil {
		return h.Web.FormError(w, r, pages, "form.html", pg, localize(lang, err))
	}
	return h.Web.Render(w, pages, "form.html", pg)
}

func (h *Handlers) newPage(w http.ResponseWriter, r *http.Request) error {
	kind := Kind(r.URL.Query().Get("kind"))
	if !kind.Valid() {
		return apperr.New(apperr.NotFound, "There is no such kind of registration.")
	}
	return h.formPage(w, r, kind, nil, url.Values{}, nil)
}

func (h *Handlers) create(w http.ResponseWriter, r *http.Request) error {
	kind := Kind(r.PostForm.Get("kind"))
	if !kind.Valid() {
		return apperr.Field("kind", "Unknown kind.")
	}
	n, err := h.fromForm(r, kind)
	if err != nil {
		return h.formPage(w, r, kind, nil, r.PostForm, err)
	}
	reg, err := h.Reg.Create(r.Context(), principal(r), clientOf(r), web.IdempotencyKey(r), n)
	if err != nil {
		return h.formPage(w, r, kind, nil, r.PostForm, err)
	}
	lang := web.LangOf(r)
	flash := i18n.T(lang, "reg.flash.saved_draft")
	if reg.Status != Draft {
		flash = i18n.T(lang, "reg.flash.submitted")
	}
	return web.Redirect(w, r, "/clients/"+reg.ClientID+"/registrations/"+reg.ID, flash, "reg-new-"+clientOf(r)+"-"+string(kind))
}

func (h *Handlers) editPage(w http.ResponseWriter, r *http.Request) error {
	reg, err := h.Reg.Get(r.Context(), principal(r), clientOf(r), r.PathValue("reg"))
	if err != nil {
		return err
	}
	if reg.Status != Draft {
		http.Redirect(w, r, "/clients/"+clientOf(r)+"/registrations/"+reg.ID, http.StatusSeeOther)
		return nil
	}
	refs, err := h.clientNumbers(r, reg)
	if err != nil {
		return err
	}
	return h.formPage(w, r, reg.Kind, reg, formOf(reg, refs), nil)
}

// clientNumbers maps the clients named in reg to their client numbers
// (what staff type in the form).
func (h *Handlers) clientNumbers(r *http.Request, reg *Registration) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range reg.Parties {
		if p.Type == "client" {
			pl, err := h.place(r, p.ID)
			if err != nil {
				return nil, err
			}
			out[p.ID] = pl.Number
		}
	}
	return out, nil
}

func (h *Handlers) saveDraft(w http.ResponseWriter, r *http.Request) error {
	p, id := principal(r), clientOf(r)
	cur, err := h.Reg.Get(r.Context(), p, id, r.PathValue("reg"))
	if err != nil {
		return err
	}
	n, err := h.fromForm(r, cur.Kind)
	if err == nil {
		_, err = h.Reg.UpdateDraft(r.Context(), p, id, cur.ID, ints(r.PostForm, "version"), n)
	}
	if err != nil {
		return h.formPage(w, r, cur.Kind, cur, r.PostForm, err)
	}
	lang := web.LangOf(r)
	flash := i18n.T(lang, "reg.flash.saved_draft")
	if n.Submit {
		flash = i18n.T(lang, "reg.flash.submitted")
	}
	return web.Redirect(w, r, "/clients/"+id+"/registrations/"+cur.ID, flash, "reg-"+cur.ID)
}

// showData is what the registration page needs.
type showData struct {
	R         *Registration
	ClientID  string
	Effective map[string]string // amended fields' current values
	Mine      *Statement        // the statement asked of the caller
	CanEdit   bool              // the caller's draft
	CanSubmit bool              // the caller's returned report
	CanReview bool
	CanClose  bool
	Waiting   bool // accepted, but statements or complaints are still open
	CanAmend  bool
	Choices   map[string][]string
	Only      string // after a failed action: the form to show
}

func (h *Handlers) showData(r *http.Request) (*showData, error) {
	p := principal(r)
	reg, err := h.Reg.Get(r.Context(), p, clientOf(r), r.PathValue("reg"))
	if err != nil {
		return nil, err
	}
	d := &showData{R: reg, ClientID: clientOf(r), Effective: map[string]string{}, Choices: choiceLists()}
	for _, a := range reg.Amendments {
		if a.StatementID == "" {
			d.Effective[a.Field] = a.NewValue
		}
	}
	for i := range reg.Statements {
		if reg.Statements[i].StaffID == p.ID {
			d.Mine = &reg.Statements[i]
		}
	}
	mine := reg.AuthorID == p.ID
	d.CanEdit = mine && reg.Status == Draft
	d.CanSubmit = mine && reg.Status == Returned
	d.CanReview = p.Can(access.RegistrationReview) && !mine && reg.Status == Submitted
	d.CanClose = p.Can(access.RegistrationReview) && reg.Status == Accepted
	for _, st := range reg.Statements {
		d.CanClose = d.CanClose && st.Status != "requested"
	}
	for _, c := range reg.Complaints {
		d.CanClose = d.CanClose && c.Status != "open"
	}
	d.Waiting = p.Can(access.RegistrationReview) && reg.Status == Accepted && !d.CanClose
	d.CanAmend = reg.Status != Draft && (mine || p.Can(access.RegistrationReview))
	return d, nil
}

func (h *Handlers) showPage(w http.ResponseWriter, r *http.Request) error {
	d, err := h.showData(r)
	if err != nil {
		return err
	}
	return h.renderShow(w, r, d, nil)
}

func (h *Handlers) renderShow(w http.ResponseWriter, r *http.Request, d *showData, err error) error {
	lang := web.LangOf(r)
	pg := h.Web.NewPage(w, r, i18n.T(lang, "reg.kind."+string(d.R.Kind))+" — "+d.R.ClientName)
	pg.Nav = "registrations"
	pg.Data = d
	if err != nil {
		return h.Web.FormError(w, r, pages, "show.html", pg, localize(lang, err))
	}
	return h.Web.Render(w, pages, "show.html", pg)
}

// act runs one of the page's actions and goes back to the page, or shows
// the page again with the error next to the form that failed.
func (h *Handlers) act(w http.ResponseWriter, r *http.Request, only, flashKey string, f func(ctx context.Context, p *access.Principal, clientID, id string) error) error {
	p, id := principal(r), clientOf(r)
	if err := f(r.Context(), p, id, r.PathValue("reg")); err != nil {
		if e, ok := apperr.As(err); !ok || e.Code == apperr.Internal || e.Code == apperr.NotFound || e.Code == apperr.Forbidden {
			return err
		}
		d, derr := h.showData(r)
		if derr != nil {
			return derr
		}
		d.Only = only
		return h.renderShow(w, r, d, err)
	}
	return web.Redirect(w, r, "/clients/"+id+"/registrations/"+r.PathValue("reg"), i18n.T(web.LangOf(r), flashKey), only+"-"+r.PathValue("reg"))
}

func (h *Handlers) submit(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "submit", "reg.flash.submitted", func(ctx context.Context, p *access.Principal, cid, id string) error {
		_, err := h.Reg.Submit(ctx, p, cid, id, ints(r.PostForm, "version"))
		return err
	})
}

func (h *Handlers) review(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "review", "reg.flash.reviewed", func(ctx context.Context, p *access.Principal, cid, id string) error {
		_, err := h.Reg.Review(ctx, p, cid, id, ints(r.PostForm, "version"), r.PostForm.Get("decision") == "accept", r.PostForm.Get("comment"))
		return err
	})
}

func (h *Handlers) close(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "close", "reg.flash.closed", func(ctx context.Context, p *access.Principal, cid, id string) error {
		_, err := h.Reg.Close(ctx, p, cid, id, ints(r.PostForm, "version"))
		return err
	})
}

func (h *Handlers) amend(w http.ResponseWriter, r *http.Request) error {
	only := "amend"
	if r.PostForm.Get("statement_id") != "" {
		only = "amend-statement"
	}
	return h.act(w, r, only, "reg.flash.amended", func(ctx context.Context, p *access.Principal, cid, id string) error {
		f := r.PostForm
		_, err := h.Reg.Amend(ctx, p, cid, id, NewAmendment{StatementID: f.Get("statement_id"), Field: f.Get("field"), Value: f.Get("value"), Reason: f.Get("reason")})
		return err
	})
}

func (h *Handlers) statement(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "statement", "reg.flash.statement", func(ctx context.Context, p *access.Principal, cid, id string) error {
		_, err := h.Reg.GiveStatement(ctx, p, cid, id, r.PostForm.Get("text"))
		return err
	})
}

func (h *Handlers) informed(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "informed", "reg.flash.informed", func(ctx context.Context, p *access.Principal, cid, id string) error {
		_, err := h.Reg.InformClient(ctx, p, cid, id, ints(r.PostForm, "version"))
		return err
	})
}

func (h *Handlers) complaint(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "complaint", "reg.flash.complaint", func(ctx context.Context, p *access.Principal, cid, id string) error {
		f := r.PostForm
		_, err := h.Reg.AddComplaint(ctx, p, cid, id, NewComplaint{Text: f.Get("text"), ReceivedAt: f.Get("received_at"), HandlerID: f.Get("handler_id")})
		return err
	})
}

func (h *Handlers) decide(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "decide-"+r.PathValue("complaint"), "reg.flash.decided", func(ctx context.Context, p *access.Principal, cid, id string) error {
		f := r.PostForm
		_, err := h.Reg.DecideComplaint(ctx, p, cid, id, r.PathValue("complaint"), Decision{Version: ints(f, "version"), Outcome: f.Get("outcome"), Decision: f.Get("decision")})
		return err
	})
}

// addPhoto attaches an uploaded photograph. A file upload is not kept in
// the browser's outbox (which holds text): a failed upload shows the
// browser's error and the officer sends it again.
func (h *Handlers) addPhoto(w http.ResponseWriter, r *http.Request) error {
	return h.act(w, r, "photo", "reg.flash.photo", func(ctx context.Context, p *access.Principal, cid, id string) error {
		data, err := imagecheck.FromForm(r, "photo")
		if err != nil {
			return err
		}
		_, err = h.Reg.AddPhoto(ctx, p, cid, id, data, "", r.FormValue("caption"))
		return err
	})
}

func (h *Handlers) noticePage(w http.ResponseWriter, r *http.Request) error {
	d, err := h.showData(r)
	if err != nil {
		return err
	}
	if !d.R.Kind.Complainable() {
		return apperr.New(apperr.NotFound, "Clients are given notice of force and restraints used on them only.")
	}
	// The notice is printed in the client's language, which need not be
	// the officer's.
	lang := web.LangOf(r)
	if l := i18n.Lang(r.URL.Query().Get("lang")); slices.Contains(i18n.Langs(), l) {
		lang = l
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "reg.notice.title"))
	pg.Lang = lang
	pg.Nav = "registrations"
	pg.Data = struct {
		*showData
		Deadline string
	}{d, d.R.OccurredAt.In(web.Zone).AddDate(0, 0, ComplaintDecideDays).Format("2006-01-02")}
	return h.Web.Render(w, pages, "notice.html", pg)
}

// clientData is a client's registrations page.
type clientData struct {
	ClientID   string
	ClientName string
	List       []*Registration
	Kinds      []Kind
}

func (h *Handlers) clientPage(w http.ResponseWriter, r *http.Request) error {
	p, id := principal(r), clientOf(r)
	pl, err := h.place(r, id)
	if err != nil {
		return err
	}
	list, err := h.Reg.ForClient(r.Context(), p, id)
	if err != nil {
		return err
	}
	// Anyone who writes registrations may raise a radicalisation
	// concern; only security (and the author) sees it afterwards.
	kinds := Kinds
	lang := web.LangOf(r)
	pg := h.Web.NewPage(w, r, i18n.T(lang, "reg.client_title", pl.Name))
	pg.Nav = "registrations"
	pg.Data = clientData{ClientID: id, ClientName: pl.Name, List: list, Kinds: kinds}
	return h.Web.Render(w, pages, "client.html", pg)
}

// workData is the registrations work page.
type workData struct {
	Mine       []*Registration
	Statements []MyStatement
	ToReview   []*Registration
	Overdue    *Overdue
	Counts     []Count
	Names      map[string]string
	From, To   string
}

func (h *Handlers) workPage(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	ctx := r.Context()
	d := workData{}
	var err error
	if p.Can(access.RegistrationWrite) {
		all, err := h.Reg.List(ctx, p, Filter{Mine: true, Limit: 100})
		if err != nil {
			return err
		}
		for _, reg := range all {
			if reg.Status == Draft || reg.Status == Returned {
				d.Mine = append(d.Mine, reg)
			}
		}
		if d.Statements, err = h.Reg.MyStatements(ctx, p); err != nil {
			return err
		}
	}
	if p.Can(access.RegistrationReview) {
		if d.ToReview, err = h.Reg.List(ctx, p, Filter{Status: Submitted}); err != nil {
			return err
		}
		if d.Overdue, err = h.Reg.Overdue(ctx, p); err != nil {
			return err
		}
		q := r.URL.Query()
		d.From, d.To = q.Get("from"), q.Get("to")
		if d.From == "" {
			d.From = time.Now().In(web.Zone).AddDate(0, -5, 0).Format("2006-01") + "-01"
		}
		if d.Counts, err = h.Reg.Counts(ctx, p, d.From, d.To); err != nil {
			return err
		}
		if d.Names, err = h.countNames(ctx, d.Counts); err != nil {
			return err
		}
	}
	lang := web.LangOf(r)
	pg := h.Web.NewPage(w, r, i18n.T(lang, "reg.work_title"))
	pg.Nav = "registrations"
	pg.Data = d
	return h.Web.Render(w, pages, "work.html", pg)
}

func (h *Handlers) countNames(ctx context.Context, cs []Count) (map[string]string, error) {
	if h.Names == nil {
		return map[string]string{}, nil
	}
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.InstitutionID, c.UnitID)
	}
	return h.Names(ctx, ids)
}
