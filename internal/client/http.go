// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages are the full pages, each with the layout and the partials.
var pages = func() *web.Templates {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		panic(err)
	}
	return web.MustTemplates(sub)
}()

// fragments are the partials alone, for htmx requests (live search
// results, older timeline lines, the cell picker).
var fragments = template.Must(template.New("fragments").Funcs(web.Funcs()).ParseFS(templateFS, "templates/_*.html"))

// Handlers serves the person register's pages and JSON API. Every route
// declares its permission and scope; routes about one client use
// web.ScopeClient with {id}, so the router has checked the caller's
// caseload (or break-glass grant) before a handler runs, and handlers act
// on the canonical id it resolved (merged ids lead to the survivor).
type Handlers struct {
	Web    *web.Server
	Client *Service
	Estate *estate.Service
}

// Register adds every route of the register to h.Web.
func (h *Handlers) Register() {
	for _, rt := range h.routes() {
		h.Web.Handle(rt)
	}
}

func (h *Handlers) routes() []web.Route {
	const staff, client = web.ScopeStaff, web.ScopeClient
	return []web.Route{
		// Pages and forms.
		{Method: "GET", Pattern: "/clients", Perm: access.ClientRead, Scope: staff, Summary: "Search the person register (live results with htmx)", Handle: h.listPage},
		{Method: "GET", Pattern: "/clients/new", Perm: access.ClientWrite, Scope: staff, Summary: "Form: register a person", Handle: h.newPage},
		{Method: "POST", Pattern: "/clients/new", Perm: access.ClientWrite, Scope: staff, Summary: "Register a person", Handle: h.create},
		{Method: "GET", Pattern: "/clients/{id}", Perm: access.ClientRead, Scope: client, Summary: "A person's record: details, alerts, legal bases, timeline and the movements allowed now", Handle: h.showPage},
		{Method: "GET", Pattern: "/clients/{id}/timeline", Perm: access.ClientRead, Scope: client, Summary: "Older timeline lines (htmx fragment, or a page)", Handle: h.timelinePage},
		{Method: "GET", Pattern: "/clients/{id}/placement", Perm: access.ClientMove, Scope: client, Summary: "Cell picker: institutions, units and cells with free beds (htmx fragment)", Handle: h.placementFragment},
		{Method: "POST", Pattern: "/clients/{id}/movements", Perm: access.ClientMove, Scope: client, Summary: "Record a movement (admit, transfer, leave, escape, release, community sentence)", Handle: h.move},
		{Method: "POST", Pattern: "/clients/{id}/legal-bases", Perm: access.ClientWrite, Scope: client, Summary: "Record a legal basis (remand, sentence, community sentence)", Handle: h.addBasis},
		{Method: "POST", Pattern: "/clients/{id}/alerts", Perm: access.ClientAlert, Scope: client, Summary: "Set an alert", Handle: h.addAlert},
		{Method: "POST", Pattern: "/clients/{id}/alerts/{alert}/end", Perm: access.ClientAlert, Scope: client, Summary: "End an alert now", Handle: h.endAlert},
		{Method: "GET", Pattern: "/clients/{id}/edit", Perm: access.ClientWrite, Scope: client, Summary: "Form: edit a person's details", Handle: h.editPage},
		{Method: "POST", Pattern: "/clients/{id}/edit", Perm: access.ClientWrite, Scope: client, Summary: "Save a person's details (refused when someone else saved first)", Handle: h.update},
		{Method: "GET", Pattern: "/clients/{id}/photo", Perm: access.ClientRead, Scope: client, Summary: "The person's photo (JPEG or PNG; never cached; every fetch is an audited read)", Handle: h.photo},
		{Method: "POST", Pattern: "/clients/{id}/photo", Perm: access.ClientWrite, Scope: client, MaxBody: photoMaxBody, Summary: "Upload or replace the person's photo (multipart form; JPEG or PNG, at most 2 MiB)", Handle: h.uploadPhoto},
		{Method: "POST", Pattern: "/clients/{id}/photo/delete", Perm: access.ClientWrite, Scope: client, Summary: "Remove the person's photo", Handle: h.removePhoto},
		{Method: "POST", Pattern: "/clients/{id}/merge", Perm: access.ClientMerge, Scope: client, Summary: "Merge a duplicate record into this one (preview, then confirm)", Handle: h.merge},
		{Method: "POST", Pattern: "/clients/{id}/merges/{merge}/undo", Perm: access.ClientMerge, Scope: client, Summary: "Undo a merge into this record", Handle: h.undoMerge},
		// Break-glass is how a caller outside the caseload gets in, so the
		// route cannot require the caseload: it is staff-scoped, records
		// the written reason, and is reviewed by security.
		{Method: "GET", Pattern: "/clients/{id}/break-glass", Perm: access.ClientRead, Scope: staff, Summary: "Form: break-glass access to a record outside the caseload", Handle: h.breakGlassPage},
		{Method: "POST", Pattern: "/clients/{id}/break-glass", Perm: access.ClientRead, Scope: staff, Summary: "Open a record outside the caseload with a written reason (break-glass)", Handle: h.breakGlass},

		// JSON API.
		{Method: "GET", Pattern: "/api/v1/clients", Perm: access.ClientRead, Scope: staff, API: true, Summary: "Search people by name, ID number or client number (q, limit); hits outside the caseload show identity only", Handle: h.apiSearch, Query: []string{"q", "limit"}, Response: SearchResult{}},
		{Method: "POST", Pattern: "/api/v1/clients", Perm: access.ClientWrite, Scope: staff, API: true, Summary: "Register a person (Idempotency-Key accepted)", Handle: h.apiCreate, Request: NewClient{}, Response: &Client{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}", Perm: access.ClientRead, Scope: client, API: true, Summary: "A person's record with alerts, legal bases and stays", Handle: h.apiGet, Response: &Client{}},
		{Method: "PUT", Pattern: "/api/v1/clients/{id}", Perm: access.ClientWrite, Scope: client, API: true, Summary: "Replace a person's details (version required; 409 when stale)", Handle: h.apiPut, Request: DetailsUpdate{}, Response: &Client{}},
		{Method: "PATCH", Pattern: "/api/v1/clients/{id}", Perm: access.ClientWrite, Scope: client, API: true, Summary: "Change some of a person's details (JSON merge patch with version; 409 when stale)", Handle: h.apiPatch, Request: DetailsPatch{}, Response: &Client{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/timeline", Perm: access.ClientRead, Scope: client, API: true, Summary: "A person's timeline, newest first (before = cursor or RFC 3339 time, limit)", Handle: h.apiTimeline, Query: []string{"before", "limit"}, Response: TimelineResult{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/photo", Perm: access.ClientRead, Scope: client, API: true, Summary: "The person's photo: the image itself (image/jpeg or image/png), never cached; every fetch is an audited read", Handle: h.photo},
		{Method: "PUT", Pattern: "/api/v1/clients/{id}/photo", Perm: access.ClientWrite, Scope: client, API: true, MaxBody: photoMaxBody, Summary: "Set or replace the person's photo: the raw JPEG or PNG (at most 2 MiB) as the body, with its Content-Type; If-Match may carry the record's version (409 when stale)", Handle: h.apiPutPhoto, Response: PhotoChange{}},
		{Method: "DELETE", Pattern: "/api/v1/clients/{id}/photo", Perm: access.ClientWrite, Scope: client, API: true, Summary: "Remove the person's photo; If-Match may carry the record's version (409 when stale)", Handle: h.apiDeletePhoto, Response: PhotoChange{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/legal-bases", Perm: access.ClientWrite, Scope: client, API: true, Summary: "Record a legal basis (Idempotency-Key accepted)", Handle: h.apiAddBasis, Request: NewLegalBasis{}, Response: LegalBasis{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/legal-bases/{basis}", Perm: access.ClientRead, Scope: client, API: true, Summary: "One legal basis", Handle: h.apiGetBasis, Response: LegalBasis{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/movements", Perm: access.ClientMove, Scope: client, API: true, Summary: "Record a movement by the transition table (version required; Idempotency-Key accepted)", Handle: h.apiMove, Request: MoveRequest{}, Response: Moved{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/movements/{movement}", Perm: access.ClientRead, Scope: client, API: true, Summary: "One movement", Handle: h.apiGetMovement, Response: Movement{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/alerts", Perm: access.ClientAlert, Scope: client, API: true, Summary: "Set an alert (Idempotency-Key accepted)", Handle: h.apiAddAlert, Request: NewAlert{}, Response: Alert{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/alerts/{alert}", Perm: access.ClientRead, Scope: client, API: true, Summary: "One alert", Handle: h.apiGetAlert, Response: Alert{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/alerts/{alert}/end", Perm: access.ClientAlert, Scope: client, API: true, Summary: "End an alert now (version required)", Handle: h.apiEndAlert, Request: AlertEndRequest{}, Response: Alert{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/merge", Perm: access.ClientMerge, Scope: client, API: true, Summary: "Merge a duplicate record into this one (both versions required; the caller must have access to both)", Handle: h.apiMerge, Request: MergeRequest{}, Response: MergeRecord{}},
		{Method: "GET", Pattern: "/api/v1/clients/{id}/merges/{merge}", Perm: access.ClientRead, Scope: client, API: true, Summary: "One merge into this record", Handle: h.apiGetMerge, Response: MergeRecord{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/merges/{merge}/undo", Perm: access.ClientMerge, Scope: client, API: true, Summary: "Undo a merge into this record", Handle: h.apiUndoMerge, Response: MergeRecord{}},
		{Method: "POST", Pattern: "/api/v1/clients/{id}/break-glass", Perm: access.ClientRead, Scope: staff, API: true, Summary: "Break-glass access to a record outside the caseload, with a written reason (staff sessions only)", Handle: h.apiBreakGlass, Request: BreakGlassRequest{}, Response: access.Grant{}},
	}
}

// CSSClass is the badge class of the alert's kind.
func (a Alert) CSSClass() string { return alertClass(a.Kind) }

// alertClass is the badge class of an alert kind.
func alertClass(kind string) string { return strings.ReplaceAll(kind, "_", "-") }

// CSSClass is the pill class of a status.
func (s Status) CSSClass() string {
	switch s {
	case InCustody:
		return "admitted"
	case OnLeave:
		return "on-leave"
	case Escaped:
		return "escaped"
	case Released:
		return "released"
	case InCommunity:
		return "in-community"
	}
	return "unknown"
}

var historyKinds = []string{"registered", "details", "legal_basis", "alert", "merge", "merge_undone", "photo", "plan", "registration", "complaint", "nonassociation", "sharing"}

// KindKey is the catalogue key naming a timeline line's kind; kinds that
// other capabilities add show as a plain entry.
func (e HistoryEntry) KindKey() string {
	if slices.Contains(historyKinds, e.Kind) {
		return "clients.history." + e.Kind
	}
	if _, ok := transitions[Action(e.Kind)]; ok {
		return "clients.history." + e.Kind
	}
	return "clients.history.other"
}

// ---------- Messages in the user's language ----------

// msgRules map the service's English messages to catalogue keys; the
// submatches become the message's arguments. A message without a rule is
// shown as the service wrote it.
var msgRules = []struct {
	re  *regexp.Regexp
	key string
}{
	{regexp.MustCompile(`^Required\.$`), "clients.err.required"},
	{regexp.MustCompile(`^At most (\d+) characters\.$`), "clients.err.max_chars"},
	{regexp.MustCompile(`^At most 20 aliases\.$`), "clients.err.aliases_max"},
	{regexp.MustCompile(`^Contains characters a name cannot have\.$`), "clients.err.name_chars"},
	{regexp.MustCompile(`^Say which country issued the ID number`), "clients.err.id_country_missing"},
	{regexp.MustCompile(`^Use SE, NO or DK\.$`), "clients.err.id_country"},
	{regexp.MustCompile(`^Not a valid ID number: (.*)\.$`), "clients.err.bad_id"},
	{regexp.MustCompile(`^Does not match the date of birth in the ID number \((.*)\)\.$`), "clients.err.dob_mismatch"},
	{regexp.MustCompile(`^Required \(YYYY-MM-DD\), unless`), "clients.err.dob_required"},
	{regexp.MustCompile(`^Use the form YYYY-MM-DD\.$`), "clients.err.date_format"},
	{regexp.MustCompile(`^Must be a date in the past 120 years\.$`), "clients.err.dob_range"},
	{regexp.MustCompile(`^Use F, M or X\.$`), "clients.err.sex"},
	{regexp.MustCompile(`^Use a two-letter country code`), "clients.err.nationality"},
	{regexp.MustCompile(`^"(.*)" is not a language code`), "clients.err.language"},
	{regexp.MustCompile(`^Choose the institution or office registering the person\.$`), "clients.err.home_required"},
	{regexp.MustCompile(`^No such institution or office\.$`), "clients.err.home_unknown"},
	{regexp.MustCompile(`^Already registered as (.*)\.$`), "clients.err.already_registered"},
	{regexp.MustCompile(`^A person with this ID number is already registered as (.*)\.$`), "clients.err.duplicate"},
	{regexp.MustCompile(`^Choose remand, sentence or community sentence\.$`), "clients.err.basis_kind"},
	{regexp.MustCompile(`^Give the length in days`), "clients.err.length_days"},
	{regexp.MustCompile(`^Must not be negative\.$`), "clients.err.negative"},
	{regexp.MustCompile(`^Must not be before the start date\.$`), "clients.err.end_before_start"},
	{regexp.MustCompile(`^Name the offence\(s\)\.$`), "clients.err.offences"},
	{regexp.MustCompile(`^Choose a cell\.$`), "clients.err.cell_required"},
	{regexp.MustCompile(`^Choose the probation office\.$`), "clients.err.office_required"},
	{regexp.MustCompile(`^Say why\.$`), "clients.err.reason_required"},
	{regexp.MustCompile(`^No such probation office\.$`), "clients.err.office_unknown"},
	{regexp.MustCompile(`^This legal basis does not exist`), "clients.err.basis_unknown"},
	{regexp.MustCompile(`^No active .* is recorded\.$`), "clients.err.no_basis"},
	{regexp.MustCompile(`^Record a legal basis .* before this movement\.$`), "clients.err.basis_first"},
	{regexp.MustCompile(`^The client is already in this cell\.$`), "clients.err.same_cell"},
	{regexp.MustCompile(`^Cell (.*) is full \((\d+) of (\d+) beds taken\)\.$`), "clients.err.cell_full"},
	{regexp.MustCompile(`^Cell (.*) is out of use: (.*)\.$`), "clients.err.cell_closed"},
	{regexp.MustCompile(`^No such cell\.$`), "clients.err.cell_unknown"},
	{regexp.MustCompile(`^Describe the alert\.$`), "clients.err.alert_note"},
	{regexp.MustCompile(`^Use a date \(YYYY-MM-DD\) or date and time\.$`), "clients.err.when"},
	{regexp.MustCompile(`^Must be after the start\.$`), "clients.err.after_start"},
	{regexp.MustCompile(`^Choose one of: (.*)\.$`), "clients.err.choose_one"},
	{regexp.MustCompile(`^Choose the duplicate record\.$`), "clients.err.merge_pick"},
	{regexp.MustCompile(`^A record cannot be merged into itself\.$`), "clients.err.merge_self"},
	{regexp.MustCompile(`^Say why these are the same person\.$`), "clients.err.merge_reason"},
	{regexp.MustCompile(`^There is no such record\.$`), "clients.err.no_record"},
	{regexp.MustCompile(`^There is no client with this (?:id|number)\.$`), "clients.err.no_record"},
	{regexp.MustCompile(`^Write why you need access`), "clients.err.bg_reason"},
	{regexp.MustCompile(`^The request has invalid fields\.$`), "clients.err.invalid"},
	{regexp.MustCompile(`^Someone else changed this`), "clients.err.stale"},
	{regexp.MustCompile(`^This record was merged into another`), "clients.err.merged"},
	{regexp.MustCompile(`^One of the records has already been merged\.$`), "clients.err.already_merged"},
	{regexp.MustCompile(`^Both records have a current stay`), "clients.err.both_active"},
	{regexp.MustCompile(`^The duplicate has the current stay`), "clients.err.dup_active"},
	{regexp.MustCompile(`^The records have different ID numbers`), "clients.err.different_ids"},
	{regexp.MustCompile(`^This merge has already been undone\.$`), "clients.err.merge_undone"},
	{regexp.MustCompile(`^This alert has already ended\.$`), "clients.err.alert_ended"},
	{regexp.MustCompile(`^This client has no such (?:alert|merge)\.$`), "clients.err.not_found"},
	{regexp.MustCompile(`^This client is outside your caseload`), "clients.err.outside_caseload"},
	{regexp.MustCompile(`^Choose a photo \(JPEG or PNG\)\.$`), "clients.err.photo_required"},
	{regexp.MustCompile(`^This is not a JPEG or PNG image\.$`), "clients.err.photo_type"},
	{regexp.MustCompile(`^The photo is larger than 2 MiB`), "clients.err.photo_too_large"},
	{regexp.MustCompile(`^The image is (\d+) × (\d+) pixels;`), "clients.err.photo_dimensions"},
	{regexp.MustCompile(`^The upload could not be read\.$`), "clients.err.photo_unreadable"},
	{regexp.MustCompile(`^This client has no photo\.$`), "clients.err.no_photo"},
}

var transitionRe = regexp.MustCompile(`^(?:Not allowed: )?cannot (.+) a client who is (.+?)\.?$`)

// tr translates one service message into lang.
func tr(lang i18n.Lang, msg string) string {
	if m := transitionRe.FindStringSubmatch(msg); m != nil {
		var a Action
		var s Status
		for k, v := range actionText {
			if v == m[1] {
				a = k
			}
		}
		for k, v := range statusText {
			if v == m[2] {
				s = k
			}
		}
		if a != "" && s != "" {
			return i18n.T(lang, "clients.err.transition", i18n.T(lang, "clients.action."+string(a)), i18n.T(lang, "clients.status."+string(s)))
		}
	}
	for _, r := range msgRules {
		m := r.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		args := make([]any, 0, len(m)-1)
		for _, s := range m[1:] {
			args = append(args, s)
		}
		return i18n.T(lang, r.key, args...)
	}
	return msg
}

// localize rewrites an error's messages into lang for a page; the codes,
// fields and details stay.
func localize(lang i18n.Lang, err error) error {
	return web.Localize(err, func(m string) string { return tr(lang, m) }, nil)
}

// fragment writes a partial template (an htmx swap target).
func fragment(w http.ResponseWriter, name string, data any) error {
	var b strings.Builder
	if err := fragments.ExecuteTemplate(&b, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "HX-Request")
	_, err := w.Write([]byte(b.String()))
	return err
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }
