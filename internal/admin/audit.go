// SPDX-License-Identifier: AGPL-3.0-or-later

package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

// Page sizes of the audit search.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 500
)

var actionRe = regexp.MustCompile(`^[a-z0-9._-]{1,100}$`)

// parseDay reads a filter date: a calendar day (2006-01-02) in the display
// time zone, or an RFC 3339 instant. end makes a day mean its end (the
// start of the next day), so "to" includes the day typed.
func parseDay(s string, end bool) (time.Time, bool) {
	if t, err := time.ParseInLocation("2006-01-02", s, web.Zone); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t.UTC(), true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// auditFilter reads the audit search's query parameters: client, staff
// (username or id), action (prefix), from, to, break_glass, limit, before.
func (h *Handlers) auditFilter(ctx context.Context, lang i18n.Lang, q url.Values) (audit.Filter, error) {
	var fe apperr.Fields
	f := audit.Filter{Limit: DefaultAuditLimit}
	f.ClientID = strings.TrimSpace(q.Get("client"))
	if len(f.ClientID) > 100 {
		fe.Add("client", i18n.T(lang, "admin.audit.err.client"))
	}
	if s := strings.TrimSpace(q.Get("staff")); s != "" {
		f.ActorID = s
		// A username is resolved to the account's id; anything else is
		// taken as an actor id (staff or API token).
		st, err := h.Access.GetStaff(ctx, s)
		switch {
		case err == nil:
			f.ActorID = st.ID
		case apperr.CodeOf(err) != apperr.NotFound:
			return f, err
		}
	}
	if s := strings.TrimSpace(q.Get("action")); s != "" {
		if !actionRe.MatchString(s) {
			fe.Add("action", i18n.T(lang, "admin.audit.err.action"))
		}
		f.Action = s
	}
	if s := strings.TrimSpace(q.Get("from")); s != "" {
		t, ok := parseDay(s, false)
		if !ok {
			fe.Add("from", i18n.T(lang, "admin.audit.err.date"))
		}
		f.From = t
	}
	if s := strings.TrimSpace(q.Get("to")); s != "" {
		t, ok := parseDay(s, true)
		if !ok {
			fe.Add("to", i18n.T(lang, "admin.audit.err.date"))
		}
		f.To = t
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		fe.Add("to", i18n.T(lang, "admin.audit.err.order"))
	}
	switch strings.ToLower(q.Get("break_glass")) {
	case "", "0", "false", "off":
	case "1", "true", "on":
		f.BreakGlassOnly = true
	default:
		fe.Add("break_glass", i18n.T(lang, "admin.audit.err.bool"))
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxAuditLimit {
			fe.Add("limit", i18n.T(lang, "admin.audit.err.limit", MaxAuditLimit))
		}
		f.Limit = n
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			fe.Add("before", i18n.T(lang, "admin.audit.err.before"))
		}
		f.BeforeSeq = n
	}
	return f, invalid(lang, fe)
}

// AuditPage is one page of audit search results, newest first.
// NextBefore is the "before" value of the next (older) page, 0 at the end.
type AuditPage struct {
	Items      []audit.Record `json:"items"`
	NextBefore int64          `json:"next_before,omitempty"`
}

// search runs f and records that the caller searched the log (the log
// names clients and staff). A search for one client counts as a read of
// that client's data and shows in their access report.
func (h *Handlers) search(ctx context.Context, f audit.Filter) (AuditPage, error) {
	limit := f.Limit
	f.Limit = limit + 1
	recs, err := h.Audit.Search(ctx, f)
	if err != nil {
		return AuditPage{}, err
	}
	pg := AuditPage{Items: recs}
	if len(recs) > limit {
		pg.Items = recs[:limit]
		pg.NextBefore = pg.Items[limit-1].Seq
	}
	if pg.Items == nil {
		pg.Items = []audit.Record{}
	}
	var d []string
	for _, kv := range [][2]string{{"staff", f.ActorID}, {"action", f.Action}, {"from", fmtTime(f.From)}, {"to", fmtTime(f.To)}} {
		if kv[1] != "" {
			d = append(d, kv[0]+"="+kv[1])
		}
	}
	if f.BreakGlassOnly {
		d = append(d, "break_glass=true")
	}
	d = append(d, fmt.Sprintf("rows=%d", len(pg.Items)))
	e := audit.Entry{Action: "audit.search.read", ClientID: f.ClientID, ObjectType: "audit_log", Detail: strings.Join(d, " ")}
	if err := h.Audit.RecordRead(ctx, e); err != nil {
		return AuditPage{}, err
	}
	return pg, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return db.FormatTime(t)
}

// VerifyOutcome is what the chain verification found.
type VerifyOutcome struct {
	OK      bool   `json:"ok"`
	Records int64  `json:"records"`
	BadSeq  int64  `json:"bad_seq,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// verify walks the whole chain and records that it was verified, with the
// outcome, in the log itself.
func (h *Handlers) verify(ctx context.Context) (VerifyOutcome, error) {
	res, err := audit.Verify(ctx, h.DB)
	if err != nil {
		return VerifyOutcome{}, err
	}
	out := VerifyOutcome{OK: res.OK(), Records: res.Records, BadSeq: res.BadSeq, Problem: res.Problem}
	detail := fmt.Sprintf("ok records=%d", res.Records)
	if !out.OK {
		detail = fmt.Sprintf("broken at=%d records=%d", res.BadSeq, res.Records)
	}
	err = h.DB.Transact(ctx, func(tx *db.Tx) error {
		return audit.Write(ctx, tx, audit.Entry{Action: "audit.verify", ObjectType: "audit_log", Detail: detail})
	})
	return out, err
}

// AccessReport answers a data subject's "who has looked at my file".
type AccessReport struct {
	ClientID    string         `json:"client_id"`
	RequestedID string         `json:"requested_id,omitempty"`
	GeneratedAt time.Time      `json:"generated_at"`
	Items       []audit.Access `json:"items"`
}

// accessReport summarises every access to a client's record, per staff
// member, and records the report as a read of the client's data. A merged
// id is resolved to the surviving record and both ids are covered.
func (h *Handlers) accessReport(ctx context.Context, lang i18n.Lang, id string) (AccessReport, error) {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > 100 {
		return AccessReport{}, apperr.New(apperr.NotFound, "%s", i18n.T(lang, "admin.report.err.client"))
	}
	canonical := id
	if h.Web.Locate != nil {
		c, _, err := h.Web.Locate(ctx, id)
		if err != nil {
			return AccessReport{}, err
		}
		canonical = c
	}
	items, err := h.Audit.WhoAccessed(ctx, canonical)
	if err != nil {
		return AccessReport{}, err
	}
	if canonical != id {
		more, err := h.Audit.WhoAccessed(ctx, id)
		if err != nil {
			return AccessReport{}, err
		}
		items = mergeAccess(items, more)
	}
	if items == nil {
		items = []audit.Access{}
	}
	rep := AccessReport{ClientID: canonical, GeneratedAt: h.DB.Now()}
	if canonical != id {
		rep.RequestedID = id
	}
	rep.Items = items
	e := audit.Entry{Action: "audit.client_access.read", ClientID: canonical, ObjectType: "client", ObjectID: canonical, Detail: fmt.Sprintf("who-accessed report rows=%d", len(items))}
	if err := h.Audit.RecordRead(ctx, e); err != nil {
		return AccessReport{}, err
	}
	return rep, nil
}

// mergeAccess adds b's per-staff lines into a's, newest last access first.
func mergeAccess(a, b []audit.Access) []audit.Access {
	idx := map[string]int{}
	for i, x := range a {
		idx[x.ActorID] = i
	}
	for _, y := range b {
		i, ok := idx[y.ActorID]
		if !ok {
			idx[y.ActorID] = len(a)
			a = append(a, y)
			continue
		}
		x := &a[i]
		x.Reads += y.Reads
		x.Writes += y.Writes
		x.BreakGlass += y.BreakGlass
		if y.First.Before(x.First) {
			x.First = y.First
		}
		if y.Last.After(x.Last) {
			x.Last = y.Last
		}
	}
	sort.SliceStable(a, func(i, j int) bool { return a[i].Last.After(a[j].Last) })
	return a
}

// ---------- UI ----------

type auditData struct {
	Page   AuditPage
	Query  url.Values
	Older  string // link to the next older page
	Newest string // link back to the newest page
	Client string // the client filter, for the access-report link
	Verify *VerifyOutcome
}

func (h *Handlers) auditPage(w http.ResponseWriter, r *http.Request) error {
	l := lang(r)
	q := r.URL.Query()
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.audit.title"))
	pg.Nav = "audit"
	pg.Form = q
	d := auditData{Query: q}
	f, err := h.auditFilter(r.Context(), l, q)
	if err != nil {
		e, ok := apperr.As(err)
		if !ok {
			return err
		}
		pg.Errors = map[string]string{}
		for _, fe := range e.Fields {
			pg.Errors[fe.Field] = fe.Message
		}
		pg.Error = e.Message
		pg.Status = web.Status(err)
		pg.Data = d
		return h.Web.Render(w, pages, "audit.html", pg)
	}
	if d.Page, err = h.search(r.Context(), f); err != nil {
		return err
	}
	if d.Page.NextBefore != 0 {
		older := url.Values{}
		for k, v := range q {
			older[k] = v
		}
		older.Set("before", strconv.FormatInt(d.Page.NextBefore, 10))
		d.Older = "/audit?" + older.Encode()
	}
	if f.BeforeSeq != 0 {
		newest := url.Values{}
		for k, v := range q {
			if k != "before" {
				newest[k] = v
			}
		}
		d.Newest = "/audit?" + newest.Encode()
	}
	d.Client = f.ClientID
	pg.Data = d
	return h.Web.Render(w, pages, "audit.html", pg)
}

func (h *Handlers) auditVerify(w http.ResponseWriter, r *http.Request) error {
	l := lang(r)
	res, err := h.verify(r.Context())
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.verify.title"))
	pg.Nav = "audit"
	d := auditData{Verify: &res}
	if !res.OK && res.BadSeq > 0 {
		// Show the records around the break, the first bad one at the top.
		d.Older = "/audit?before=" + strconv.FormatInt(res.BadSeq+1, 10)
	}
	pg.Data = d
	return h.Web.Render(w, pages, "audit_verify.html", pg)
}

type reportRow struct {
	audit.Access
	RoleName string
}

type reportData struct {
	AccessReport
	Rows []reportRow
}

func (h *Handlers) accessReportPage(w http.ResponseWriter, r *http.Request) error {
	l := lang(r)
	rep, err := h.accessReport(r.Context(), l, r.PathValue("id"))
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(l, "admin.report.title", rep.ClientID))
	pg.Nav = "audit"
	d := reportData{AccessReport: rep}
	for _, a := range rep.Items {
		d.Rows = append(d.Rows, reportRow{Access: a, RoleName: roleName(l, access.Role(a.Role))})
	}
	pg.Data = d
	return h.Web.Render(w, pages, "audit_access.html", pg)
}

// ---------- API ----------

func (h *Handlers) apiAuditSearch(w http.ResponseWriter, r *http.Request) error {
	f, err := h.auditFilter(r.Context(), lang(r), r.URL.Query())
	if err != nil {
		return err
	}
	pg, err := h.search(r.Context(), f)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, pg)
}

func (h *Handlers) apiAuditVerify(w http.ResponseWriter, r *http.Request) error {
	res, err := h.verify(r.Context())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, res)
}

func (h *Handlers) apiAccessReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := h.accessReport(r.Context(), lang(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, rep)
}
