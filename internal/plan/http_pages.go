// SPDX-License-Identifier: AGPL-3.0-or-later

package plan

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

func base(clientID string) string { return "/clients/" + clientID + "/plans" }

func planURL(clientID, planID string) string { return base(clientID) + "/" + planID }

// ---------- Reading the edit form ----------

var (
	goalField    = regexp.MustCompile(`^goals\[(\d{1,3})\]\.(id|text|remove)$`)
	measureField = regexp.MustCompile(`^goals\[(\d{1,3})\]\.measures\[(\d{1,3})\]\.(id|what|responsible|start|due|status|remove)$`)
)

// formDocument reads a plan from the edit form. Goals and measures come
// in numbered fields; a slot left blank (the empty row for a new goal or
// measure) and a row ticked for removal are left out. The document's
// goals and measures are then numbered afresh, which is how the form is
// rendered again, so field errors name the fields the user sees.
func formDocument(f url.Values) Document {
	d := Document{Title: f.Get("title"), PeriodStart: f.Get("period_start"), PeriodEnd: f.Get("period_end"),
		ClientView: f.Get("client_view"), FollowUp: f.Get("follow_up"), Goals: []Goal{}}
	type row struct {
		vals     map[string]string
		measures map[int]map[string]string
	}
	goals := map[int]*row{}
	get := func(i int) *row {
		if goals[i] == nil {
			goals[i] = &row{vals: map[string]string{}, measures: map[int]map[string]string{}}
		}
		return goals[i]
	}
	for k, v := range f {
		if m := goalField.FindStringSubmatch(k); m != nil {
			i, _ := strconv.Atoi(m[1])
			get(i).vals[m[2]] = v[0]
		} else if m := measureField.FindStringSubmatch(k); m != nil {
			i, _ := strconv.Atoi(m[1])
			j, _ := strconv.Atoi(m[2])
			g := get(i)
			if g.measures[j] == nil {
				g.measures[j] = map[string]string{}
			}
			g.measures[j][m[3]] = v[0]
		}
	}
	blank := func(vals map[string]string, keys ...string) bool {
		for _, k := range keys {
			if strings.TrimSpace(vals[k]) != "" {
				return false
			}
		}
		return true
	}
	for _, i := range sortedKeys(goals) {
		g := goals[i]
		if g.vals["remove"] != "" {
			continue
		}
		goal := Goal{ID: g.vals["id"], Text: g.vals["text"], Measures: []Measure{}}
		for _, j := range sortedKeys(g.measures) {
			m := g.measures[j]
			if m["remove"] != "" || blank(m, "what", "responsible", "start", "due") {
				continue
			}
			goal.Measures = append(goal.Measures, Measure{ID: m["id"], What: m["what"], Responsible: m["responsible"], Start: m["start"], Due: m["due"], Status: MeasureStatus(m["status"])})
		}
		if blank(g.vals, "text") && len(goal.Measures) == 0 {
			continue
		}
		d.Goals = append(d.Goals, goal)
	}
	return d
}

func sortedKeys[T any](m map[int]T) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// ---------- Page data ----------

type pageData struct {
	Client client.Heading
	Base   string // /clients/{id}/plans
	Plan   *Plan
	// Edit form: the goals as rows, each with an empty measure row after
	// its measures, and an empty goal row at the end (ids made up front, so
	// that autosaving a new row twice adds it once).
	Rows      []Goal
	Statuses  []MeasureStatus
	Conflict  bool
	Listing   *Listing
	History   *History
	Version   *Version
	Open      *Conflict
	OtherName string
}

// PlanURL is the plan's page.
func (d *pageData) PlanURL() string { return d.Base + "/" + d.Plan.ID }

func rows(doc Document) []Goal {
	out := make([]Goal, 0, len(doc.Goals)+1)
	for _, g := range doc.Goals {
		g.Measures = append(append([]Measure(nil), g.Measures...), Measure{ID: db.NewID(), Status: Planned})
		out = append(out, g)
	}
	return append(out, Goal{ID: db.NewID(), Measures: []Measure{{ID: db.NewID(), Status: Planned}}})
}

func (h *Handlers) page(w http.ResponseWriter, r *http.Request, title string) *web.Page {
	pg := h.Web.NewPage(w, r, title)
	pg.Nav = "clients"
	return pg
}

// ---------- List, new ----------

func (h *Handlers) listPage(w http.ResponseWriter, r *http.Request) error {
	l, err := h.Plan.List(r.Context(), clientID(r))
	if err != nil {
		return err
	}
	lang := web.LangOf(r)
	pg := h.page(w, r, i18n.T(lang, "plan.ui.plans")+" — "+l.Client.Name())
	pg.Data = &pageData{Client: l.Client, Base: base(clientID(r)), Listing: l}
	return h.Web.Render(w, pages, "list.html", pg)
}

func (h *Handlers) newPage(w http.ResponseWriter, r *http.Request) error {
	l, err := h.Plan.List(r.Context(), clientID(r))
	if err != nil {
		return err
	}
	pg := h.page(w, r, i18n.T(web.LangOf(r), "plan.ui.new"))
	pg.Data = &pageData{Client: l.Client, Base: base(clientID(r))}
	return h.Web.Render(w, pages, "new.html", pg)
}

func (h *Handlers) create(w http.ResponseWriter, r *http.Request) error {
	lang := web.LangOf(r)
	id := clientID(r)
	d := Document{Title: r.PostFormValue("title"), PeriodStart: r.PostFormValue("period_start"), PeriodEnd: r.PostFormValue("period_end"),
		ClientView: r.PostFormValue("client_view")}
	err := d.Normalize(lang)
	var p *Plan
	if err == nil {
		p, err = h.Plan.Create(r.Context(), id, d)
	}
	if err != nil {
		l, lerr := h.Plan.List(r.Context(), id)
		if lerr != nil {
			return lerr
		}
		pg := h.page(w, r, i18n.T(lang, "plan.ui.new"))
		pg.Data = &pageData{Client: l.Client, Base: base(id)}
		return h.Web.FormError(w, r, pages, "new.html", pg, localize(lang, err))
	}
	return web.Redirect(w, r, planURL(id, p.ID)+"/edit", i18n.T(lang, "plan.flash.created"), "plan-new-"+id)
}

// ---------- Show, edit, save ----------

func (h *Handlers) showPage(w http.ResponseWriter, r *http.Request) error {
	rd, err := h.Plan.Get(r.Context(), clientID(r), r.PathValue("plan"))
	if err != nil {
		return err
	}
	pg := h.page(w, r, rd.Plan.Document.Title)
	pg.Data = &pageData{Client: rd.Client, Base: base(clientID(r)), Plan: rd.Plan, Conflict: rd.Conflict}
	return h.Web.Render(w, pages, "show.html", pg)
}

func (h *Handlers) editPage(w http.ResponseWriter, r *http.Request) error {
	id := clientID(r)
	rd, err := h.Plan.Get(r.Context(), id, r.PathValue("plan"))
	if err != nil {
		return err
	}
	if rd.Conflict {
		// Their refused text waits for a choice; a fresh form would hide it.
		http.Redirect(w, r, planURL(id, rd.Plan.ID)+"/conflict", http.StatusSeeOther)
		return nil
	}
	if !rd.Plan.Status.Editable() {
		http.Redirect(w, r, planURL(id, rd.Plan.ID), http.StatusSeeOther)
		return nil
	}
	return h.renderEdit(w, r, rd, rd.Plan.Document, rd.Plan.Version)
}

func (h *Handlers) renderEdit(w http.ResponseWriter, r *http.Request, rd *Read, doc Document, version int) error {
	lang := web.LangOf(r)
	pg := h.page(w, r, i18n.T(lang, "plan.ui.edit")+": "+rd.Plan.Document.Title)
	pg.Form = docForm(doc, version)
	pg.Data = &pageData{Client: rd.Client, Base: base(clientID(r)), Plan: rd.Plan, Rows: rows(doc), Statuses: MeasureStatuses}
	return h.Web.Render(w, pages, "edit.html", pg)
}

// docForm is the edit form's plain fields; goals and measures render from
// the rows.
func docForm(d Document, version int) url.Values {
	return url.Values{"version": {strconv.Itoa(version)}, "title": {d.Title}, "period_start": {d.PeriodStart}, "period_end": {d.PeriodEnd},
		"client_view": {d.ClientView}, "follow_up": {d.FollowUp}}
}

// readForm reads and checks the edit form in the user's language.
func readForm(r *http.Request) (Document, int, error) {
	lang := web.LangOf(r)
	// With the CSRF token and the key in headers (the autosave), nothing
	// has read the body yet.
	if err := r.ParseForm(); err != nil {
		return Document{}, 0, apperr.Field("body", "The form could not be read.")
	}
	d := formDocument(r.PostForm)
	v, verr := strconv.Atoi(r.PostFormValue("version"))
	if err := d.Normalize(lang); err != nil {
		return d, v, err
	}
	if verr != nil {
		return d, v, apperr.Field("version", i18n.T(lang, "plan.err.version"))
	}
	return d, v, nil
}

func (h *Handlers) save(w http.ResponseWriter, r *http.Request) error {
	id, planID := clientID(r), r.PathValue("plan")
	lang := web.LangOf(r)
	d, v, err := readForm(r)
	var p *Plan
	if err == nil {
		p, err = h.Plan.Save(r.Context(), id, planID, SaveInput{Version: v, Document: d, Keep: true})
	}
	if apperr.CodeOf(err) == apperr.Conflict {
		if e, _ := apperr.As(err); e != nil && e.Detail["yours"] != nil {
			return web.Redirect(w, r, planURL(id, planID)+"/conflict", i18n.T(lang, "plan.flash.conflict"), "")
		}
	}
	if err != nil {
		rd, gerr := h.Plan.Get(r.Context(), id, planID)
		if gerr != nil {
			return gerr
		}
		// The form comes back as typed, at the version it was typed on.
		pg := h.page(w, r, i18n.T(lang, "plan.ui.edit")+": "+rd.Plan.Document.Title)
		pg.Data = &pageData{Client: rd.Client, Base: base(id), Plan: rd.Plan, Rows: rows(d), Statuses: MeasureStatuses}
		if e, ok := apperr.As(localize(lang, err)); ok {
			pg.Errors = map[string]string{}
			for _, f := range e.Fields {
				pg.Errors[f.Field] = f.Message
			}
			pg.Error = e.Message
			if e.Code == apperr.Invalid {
				pg.Error = i18n.T(lang, "plan.err.invalid")
			}
			pg.Status = web.Status(err)
		} else {
			return err
		}
		pg.Form = docForm(d, v)
		return h.Web.Render(w, pages, "edit.html", pg)
	}
	return web.Redirect(w, r, planURL(id, planID), i18n.T(lang, "plan.flash.saved", p.Version), "plan-"+planID)
}

// autosaveAnswer is what the edit page's script gets back.
type autosaveAnswer struct {
	Status  string              `json:"status"` // saved, invalid, conflict
	Version int                 `json:"version,omitempty"`
	Message string              `json:"message"`
	URL     string              `json:"url,omitempty"`
	Errors  []apperr.FieldError `json:"errors,omitempty"`
}

func (h *Handlers) autosave(w http.ResponseWriter, r *http.Request) error {
	id, planID := clientID(r), r.PathValue("plan")
	lang := web.LangOf(r)
	d, v, err := readForm(r)
	var p *Plan
	if err == nil {
		p, err = h.Plan.Save(r.Context(), id, planID, SaveInput{Version: v, Document: d, Autosave: true, Keep: true})
	}
	if err != nil {
		e, ok := apperr.As(localize(lang, err))
		if !ok {
			return err
		}
		switch {
		case e.Code == apperr.Conflict && e.Detail["yours"] != nil:
			// Kept server-side; the script stops autosaving and offers the
			// choice instead of trying again.
			return web.WriteJSON(w, http.StatusConflict, autosaveAnswer{Status: "conflict", URL: planURL(id, planID) + "/conflict", Message: i18n.T(lang, "plan.autosave.conflict")})
		case e.Code == apperr.Invalid:
			msg := e.Message
			if len(e.Fields) > 0 {
				msg = e.Fields[0].Message
			}
			return web.WriteJSON(w, http.StatusUnprocessableEntity, autosaveAnswer{Status: "invalid", Message: i18n.T(lang, "plan.autosave.invalid", msg), Errors: e.Fields})
		}
		return web.WriteJSON(w, web.Status(err), autosaveAnswer{Status: "refused", Message: e.Message})
	}
	w.Header().Set("X-Custodia-Saved", "plan-"+planID)
	return web.WriteJSON(w, http.StatusOK, autosaveAnswer{Status: "saved", Version: p.Version,
		Message: i18n.T(lang, "plan.autosave.saved", p.UpdatedAt.In(web.Zone).Format("15:04:05"), p.Version)})
}

// ---------- Status ----------

func (h *Handlers) setStatus(w http.ResponseWriter, r *http.Request) error {
	id, planID := clientID(r), r.PathValue("plan")
	lang := web.LangOf(r)
	v, _ := strconv.Atoi(r.PostFormValue("version"))
	to := Status(r.PostFormValue("status"))
	p, err := h.Plan.SetStatus(r.Context(), id, planID, v, to)
	if err != nil {
		rd, gerr := h.Plan.Get(r.Context(), id, planID)
		if gerr != nil {
			return gerr
		}
		pg := h.page(w, r, rd.Plan.Document.Title)
		pg.Data = &pageData{Client: rd.Client, Base: base(id), Plan: rd.Plan, Conflict: rd.Conflict}
		if e, ok := apperr.As(err); ok && e.Code == apperr.Conflict && e.Detail["current_version"] != nil {
			err = apperr.New(apperr.Conflict, "%s", i18n.T(lang, "plan.err.stale"))
		}
		return h.Web.FormError(w, r, pages, "show.html", pg, localize(lang, err))
	}
	return web.Redirect(w, r, planURL(id, planID), i18n.T(lang, "plan.flash.status."+string(p.Status)), "")
}

// ---------- History ----------

func (h *Handlers) historyPage(w http.ResponseWriter, r *http.Request) error {
	hs, err := h.Plan.Versions(r.Context(), clientID(r), r.PathValue("plan"))
	if err != nil {
		return err
	}
	pg := h.page(w, r, i18n.T(web.LangOf(r), "plan.ui.history")+": "+hs.Plan.Document.Title)
	pg.Data = &pageData{Client: hs.Client, Base: base(clientID(r)), Plan: hs.Plan, History: hs}
	return h.Web.Render(w, pages, "history.html", pg)
}

func (h *Handlers) versionPage(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	vr, err := h.Plan.Version(r.Context(), clientID(r), r.PathValue("plan"), n)
	if err != nil {
		return err
	}
	pg := h.page(w, r, i18n.T(web.LangOf(r), "plan.ui.version", vr.Version.Version)+": "+vr.Version.Document.Title)
	pg.Data = &pageData{Client: vr.Client, Base: base(clientID(r)), Plan: vr.Plan, Version: vr.Version}
	return h.Web.Render(w, pages, "version.html", pg)
}

// ---------- Conflict ----------

func (h *Handlers) conflictPage(w http.ResponseWriter, r *http.Request) error {
	c, err := h.Plan.OpenConflict(r.Context(), clientID(r), r.PathValue("plan"))
	if err != nil {
		return err
	}
	if c == nil {
		http.Redirect(w, r, planURL(clientID(r), r.PathValue("plan")), http.StatusSeeOther)
		return nil
	}
	return h.renderConflict(w, r, c, nil)
}

func (h *Handlers) renderConflict(w http.ResponseWriter, r *http.Request, c *Conflict, err error) error {
	lang := web.LangOf(r)
	pg := h.page(w, r, i18n.T(lang, "plan.conflict.title")+": "+c.Plan.Document.Title)
	d := &pageData{Client: c.Client, Base: base(clientID(r)), Plan: c.Plan, Open: c, OtherName: strings.Join(c.TheirNames, ", ")}
	pg.Data = d
	if err == nil {
		pg.Form = url.Values{"version": {strconv.Itoa(c.Plan.Version)}}
		for _, e := range c.Entries {
			if e.Auto != "" {
				pg.Form.Set("choice:"+e.Key, string(e.Auto))
			}
		}
		return h.Web.Render(w, pages, "conflict.html", pg)
	}
	return h.Web.FormError(w, r, pages, "conflict.html", pg, localize(lang, err))
}

func (h *Handlers) resolve(w http.ResponseWriter, r *http.Request) error {
	id, planID := clientID(r), r.PathValue("plan")
	lang := web.LangOf(r)
	if err := r.ParseForm(); err != nil {
		return apperr.Field("body", "The form could not be read.")
	}
	f := r.PostForm
	v, _ := strconv.Atoi(f.Get("version"))
	res := Resolution{Version: v, All: Side(f.Get("all")), Choices: map[string]Choice{}}
	for k, vals := range f {
		if key, ok := strings.CutPrefix(k, "choice:"); ok {
			res.Choices[key] = Choice{Side: Side(vals[0]), Text: f.Get("edit:" + key)}
		}
	}
	p, err := h.Plan.Resolve(r.Context(), id, planID, res)
	if apperr.CodeOf(err) == apperr.Conflict {
		if e, _ := apperr.As(err); e != nil && e.Detail["yours"] != nil {
			return web.Redirect(w, r, planURL(id, planID)+"/conflict", i18n.T(lang, "plan.flash.conflict_again"), "")
		}
	}
	if err != nil {
		c, cerr := h.Plan.OpenConflict(r.Context(), id, planID)
		if cerr != nil {
			return cerr
		}
		if c == nil {
			return err
		}
		return h.renderConflict(w, r, c, err)
	}
	return web.Redirect(w, r, planURL(id, planID), i18n.T(lang, "plan.flash.resolved", p.Version), "plan-conflict-"+planID)
}
