// SPDX-License-Identifier: AGPL-3.0-or-later

// Package registration keeps the registrations prison services are
// required by law to make — use of force, restraint during transport,
// contraband finds, incidents, radicalisation concerns — and the
// complaints and statements that follow them. Its promise is that none is
// ever lost: a registration is stored exactly once however often a client
// retries it (the Idempotency-Key is stored with it, in its transaction),
// it is durable before it is acknowledged, and once submitted it is never
// changed in place: corrections are appended as amendments.
package registration

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	db.Register(db.Module{Name: "registration", FS: sub})
}

// Service records and reads registrations.
//
// Access: the web layer has checked the caller's role and that their
// caseload covers the client named in the path. The service adds what
// only it can know: a radicalisation concern exists only for the security
// role and its author (anyone else gets NotFound); a draft is changed and
// submitted only by its author; nobody reviews their own report; a
// statement is given only by the officer it was asked of.
type Service struct {
	DB     *db.DB
	Audit  *audit.Log
	Access *access.Service
}

func actorOf(ctx context.Context) audit.Actor {
	a, _ := audit.ActorFrom(ctx)
	return a
}

// canSee reports whether p may know that r exists.
func canSee(p *access.Principal, r *Registration) bool {
	return r.Kind != Radicalisation || p.Role == access.Security || p.ID == r.AuthorID
}

// involves reports whether the registration is about clientID, as its
// subject or as a party.
func involves(r *Registration, clientID string) bool {
	return r.ClientID == clientID || slices.ContainsFunc(r.Parties, func(p Party) bool { return p.Type == "client" && p.ID == clientID })
}

// load reads registration id for the client page of clientID, refusing
// (as NotFound, so its existence does not leak) what p may not see.
func load(ctx context.Context, q querier, p *access.Principal, clientID, id string) (*Registration, error) {
	r, err := findReg(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if !involves(r, clientID) || !canSee(p, r) {
		return nil, apperr.New(apperr.NotFound, "There is no such registration.")
	}
	return r, nil
}

// Create records a new registration about clientID, as a draft or
// submitted at once. key is the caller's Idempotency-Key: a retry with the
// same key returns the registration the first attempt stored (Replayed
// set) instead of storing a second one.
func (s *Service) Create(ctx context.Context, p *access.Principal, clientID, key string, n NewRegistration) (*Registration, error) {
	if len(key) > 200 {
		return nil, apperr.Field("Idempotency-Key", "At most 200 characters.")
	}
	// Validating and naming the staff involved need no transaction, so
	// they run here, in the caller's goroutine: on SQLite every write
	// transaction runs on the one writer, and on PostgreSQL a staff lookup
	// inside the transaction would need a second pooled connection while
	// holding the first. Their verdict waits until the key is looked up,
	// so a retry of a stored registration is answered with it whatever
	// the clock says about its time now.
	when, invalid := n.normalise(s.DB.Now(), !n.Submit)
	if invalid == nil {
		var err error
		if invalid, err = s.nameStaff(ctx, n.Parties); err != nil {
			return nil, err
		}
	}
	a := actorOf(ctx)
	// A retry finds what its first attempt stored. The lookup runs before
	// the write transaction (on SQLite, reads do not take the one writer);
	// two attempts racing past it both try to insert, the unique index on
	// (author, key) refuses the second, which then finds the first.
	replay := func(q db.Querier) (*Registration, error) {
		if key == "" {
			return nil, nil
		}
		prev, err := findByKey(ctx, q, a.ID, key)
		if err != nil || prev == nil {
			return nil, err
		}
		if prev.ClientID != clientID || prev.Kind != n.Kind {
			// The path may name a merged-away record of the same person.
			if pl, err := client.Whereabouts(ctx, q, clientID); err != nil || pl.ID != prev.ClientID || prev.Kind != n.Kind {
				return nil, apperr.Field("Idempotency-Key", "This key was already used for a different registration.")
			}
		}
		if err := loadParties(ctx, q, []*Registration{prev}); err != nil {
			return nil, err
		}
		prev.Replayed = true
		return prev, nil
	}
	if prev, err := replay(s.DB); prev != nil || err != nil {
		return prev, err
	}
	if invalid != nil {
		return nil, invalid
	}
	// Who and where the person is, and the clients named, are read before
	// the write too; a registration records where the person was when it
	// was made.
	pl, err := client.Whereabouts(ctx, s.DB, clientID)
	if err != nil {
		return nil, err
	}
	if err := nameClients(ctx, s.DB, n.Parties); err != nil {
		return nil, err
	}
	var out *Registration
	err = s.DB.Transact(ctx, func(tx *db.Tx) error {
		r := &Registration{ID: db.NewID(), Kind: n.Kind, ClientID: pl.ID, ClientName: pl.Name, InstitutionID: pl.InstitutionID, UnitID: pl.UnitID,
			OccurredAt: when, Place: n.Place, Details: n.Details, Parties: n.Parties, Status: Draft,
			AuthorID: a.ID, AuthorName: a.Name, CreatedAt: tx.Now, UpdatedAt: tx.Now, Version: 1}
		if r.InstitutionID == "" {
			r.InstitutionID = pl.OfficeID
		}
		if n.Submit {
			r.Status, r.SubmittedAt = Submitted, tx.Now
		}
		if err := insertReg(ctx, tx, r, key); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.create", ClientID: r.ClientID, ObjectType: "registration", ObjectID: r.ID, Detail: "kind=" + string(r.Kind) + " status=" + string(r.Status)}); err != nil {
			return err
		}
		created := historyLine{"created", ""}
		if n.Submit {
			if err := s.submitted(ctx, tx, r, a, created); err != nil {
				return err
			}
		} else if err := addHistoryLines(ctx, tx, r.ID, a.ID, a.Name, created); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil && key != "" && db.IsUniqueViolation(err) {
		// A concurrent attempt with the same key stored it first. It is
		// looked up in a write transaction: on SQLite that one runs after
		// the attempt's (perhaps in the same group commit, not yet on
		// disk) and returns only once both are committed.
		var prev *Registration
		rerr := s.DB.Transact(ctx, func(tx *db.Tx) error {
			var err error
			prev, err = replay(tx)
			return err
		})
		if prev != nil || rerr != nil {
			return prev, rerr
		}
	}
	return out, err
}

// nameStaff checks that the staff named as parties exist and fills in
// their names from the records (what the form sent is not trusted for a
// name that will stand in a legal record). invalid names the party that
// is not a staff member; err is a failure to read.
func (s *Service) nameStaff(ctx context.Context, ps []Party) (invalid, err error) {
	var staffIDs []string
	for i := range ps {
		if ps[i].Type == "staff" {
			staffIDs = append(staffIDs, ps[i].ID)
		}
	}
	if len(staffIDs) == 0 {
		return nil, nil
	}
	names, err := s.Access.StaffNames(ctx, staffIDs)
	if err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].Type != "staff" {
			continue
		}
		name, ok := names[ps[i].ID]
		if !ok {
			return apperr.Field(fmt.Sprintf("parties[%d].id", i), "There is no staff member with this id."), nil
		}
		ps[i].Name = name
	}
	return nil, nil
}

// nameClients checks, in the transaction, that the clients named as
// parties exist, and takes their record's id (a merged record's
// survivor) and name.
func nameClients(ctx context.Context, q db.Querier, ps []Party) error {
	for i := range ps {
		if ps[i].Type != "client" {
			continue
		}
		pl, err := client.Whereabouts(ctx, q, ps[i].ID)
		if err != nil {
			return apperr.Field(fmt.Sprintf("parties[%d].id", i), "There is no client with this id.")
		}
		ps[i].ID, ps[i].Name = pl.ID, pl.Name
	}
	return nil
}

// submitted does what submitting a report sets off: statements asked of
// every involved officer but the author, a line on the timeline of every
// client involved (not for radicalisation concerns, which the timeline's
// readers may not see), and the event.
func (s *Service) submitted(ctx context.Context, tx *db.Tx, r *Registration, a audit.Actor, before ...historyLine) error {
	var ask []Party
	for _, p := range r.Parties {
		if p.Type != "staff" || p.ID == r.AuthorID || p.Role == "victim" || slices.ContainsFunc(ask, func(q Party) bool { return q.ID == p.ID }) {
			continue
		}
		ask = append(ask, p)
	}
	newly, err := requestStatements(ctx, tx, r.ID, ask)
	if err != nil {
		return err
	}
	// The history lines and the events go in one statement each: this runs
	// for every report submitted, on SQLite under the single writer.
	lines := append(slices.Clone(before), historyLine{"submitted", ""})
	var evs []events.Outgoing
	asked := 0
	for _, p := range ask {
		if !newly[p.ID] {
			continue
		}
		asked++
		lines = append(lines, historyLine{"statement_requested", p.Name})
		evs = append(evs, events.Outgoing{Type: "registration.statement_requested", Subject: r.ID, Data: map[string]any{"registration_id": r.ID, "staff_id": p.ID}})
	}
	if err := addHistoryLines(ctx, tx, r.ID, a.ID, a.Name, lines...); err != nil {
		return err
	}
	if r.Kind != Radicalisation {
		seen := map[string]bool{}
		for _, cid := range append([]string{r.ClientID}, clientParties(r)...) {
			if seen[cid] {
				continue
			}
			seen[cid] = true
			if err := client.AddHistory(ctx, tx, cid, "registration", summary(r), "registration", r.ID); err != nil {
				return err
			}
		}
	}
	evs = append(evs, events.Outgoing{Type: "registration.submitted", Subject: r.ID, Data: map[string]any{
		"registration_id": r.ID, "kind": r.Kind, "client_id": r.ClientID, "institution_id": r.InstitutionID, "unit_id": r.UnitID, "statements_requested": asked}})
	return events.EmitAll(ctx, tx, evs...)
}

func clientParties(r *Registration) []string {
	var out []string
	for _, p := range r.Parties {
		if p.Type == "client" {
			out = append(out, p.ID)
		}
	}
	return out
}

// summary is the registration's line on a timeline.
func summary(r *Registration) string {
	var what []string
	switch r.Kind {
	case UseOfForce:
		what = append(append(what, r.Details.Forces...), r.Details.Restraints...)
	case TransportRestraint:
		what = r.Details.Restraints
	case Contraband:
		for _, it := range r.Details.Items {
			what = append(what, it.Kind)
		}
	case Incident:
		what = r.Details.IncidentTypes
	}
	label := map[Kind]string{UseOfForce: "Use of force", TransportRestraint: "Restraint during transport", Contraband: "Contraband found", Incident: "Incident", Radicalisation: "Radicalisation concern"}[r.Kind]
	s := label + " registered"
	if len(what) > 0 {
		s += ": " + strings.ReplaceAll(strings.Join(what, ", "), "_", " ")
	}
	return s
}

// UpdateDraft replaces a draft's content (its author only). version is
// the draft's version when the author began this edit: a save from
// another device in between is a conflict, not silently overwritten.
func (s *Service) UpdateDraft(ctx context.Context, p *access.Principal, clientID, id string, version int, n NewRegistration) (*Registration, error) {
	var out *Registration
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		if r.AuthorID != a.ID {
			return apperr.New(apperr.Forbidden, "Only the author may change a draft.")
		}
		if r.Status != Draft {
			return apperr.New(apperr.Conflict, "This registration was submitted; correct it with an amendment.")
		}
		if r.Version != version {
			return apperr.StaleVersion("registration", r.Version)
		}
		n.Kind = r.Kind
		when, err := n.normalise(tx.Now, !n.Submit)
		if err != nil {
			return err
		}
		invalid, err := s.nameStaff(ctx, n.Parties)
		if err != nil {
			return err
		}
		if invalid != nil {
			return invalid
		}
		if err := nameClients(ctx, tx, n.Parties); err != nil {
			return err
		}
		r.OccurredAt, r.Place, r.Details, r.Parties = when, n.Place, n.Details, n.Parties
		if err := updateDraft(ctx, tx, r, version); err != nil {
			return err
		}
		r.Version++
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.draft", ClientID: r.ClientID, ObjectType: "registration", ObjectID: r.ID}); err != nil {
			return err
		}
		if n.Submit {
			if err := s.submit(ctx, tx, r, a); err != nil {
				return err
			}
		}
		out = r
		return nil
	})
	return out, err
}

// Submit sends a draft (or a report returned for correction) for review.
func (s *Service) Submit(ctx context.Context, p *access.Principal, clientID, id string, version int) (*Registration, error) {
	var out *Registration
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		if r.AuthorID != a.ID {
			return apperr.New(apperr.Forbidden, "Only the author may submit this registration.")
		}
		if r.Version != version {
			return apperr.StaleVersion("registration", r.Version)
		}
		if r.Status == Draft {
			// What a draft may lack, a submission may not.
			n := NewRegistration{Kind: r.Kind, OccurredAt: txt(r.OccurredAt), Place: r.Place, Details: r.Details, Parties: r.Parties}
			if _, err := n.normalise(tx.Now, false); err != nil {
				return err
			}
		}
		if err := s.submit(ctx, tx, r, a); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

func (s *Service) submit(ctx context.Context, tx *db.Tx, r *Registration, a audit.Actor) error {
	first := r.Status == Draft
	if r.Status != Draft && r.Status != Returned {
		return apperr.New(apperr.Conflict, "This registration is %s; only a draft or a returned report can be submitted.", r.Status)
	}
	if err := setStatus(ctx, tx, r.ID, r.Version, []Status{Draft, Returned}, Submitted, `, submitted_at = $5`, tx.NowText()); err != nil {
		return err
	}
	r.Status, r.SubmittedAt = Submitted, tx.Now
	r.Version++
	if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.submit", ClientID: r.ClientID, ObjectType: "registration", ObjectID: r.ID}); err != nil {
		return err
	}
	if first {
		return s.submitted(ctx, tx, r, a)
	}
	if err := addHistory(ctx, tx, r.ID, a.ID, a.Name, "resubmitted", ""); err != nil {
		return err
	}
	return events.Emit(ctx, tx, "registration.resubmitted", r.ID, map[string]any{"registration_id": r.ID, "kind": r.Kind})
}

// Review accepts a submitted report, or returns it to its author with
// comments (required). Nobody reviews their own report.
func (s *Service) Review(ctx context.Context, p *access.Principal, clientID, id string, version int, accept bool, comment string) (*Registration, error) {
	comment = strings.TrimSpace(comment)
	if !accept && comment == "" {
		return nil, apperr.Field("comment", "Say what the author must correct.")
	}
	if len([]rune(comment)) > maxText {
		return nil, apperr.Field("comment", fmt.Sprintf("At most %d characters.", maxText))
	}
	var out *Registration
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		if r.AuthorID == a.ID {
			return apperr.New(apperr.Forbidden, "Another manager must review your own report.")
		}
		if r.Status != Submitted {
			return apperr.New(apperr.Conflict, "This registration is %s; only a submitted report can be reviewed.", r.Status)
		}
		to, action := Accepted, "accepted"
		if !accept {
			to, action = Returned, "returned"
		}
		if err := setStatus(ctx, tx, r.ID, version, []Status{Submitted}, to, `, reviewed_at = $5, reviewer_id = $6, reviewer_name = $7, review_comment = $8`,
			tx.NowText(), a.ID, a.Name, comment); err != nil {
			return err
		}
		r.Status, r.ReviewedAt, r.ReviewerName, r.ReviewComment = to, tx.Now, a.Name, comment
		r.Version = version + 1
		if err := addHistory(ctx, tx, r.ID, a.ID, a.Name, action, comment); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration." + action, ClientID: r.ClientID, ObjectType: "registration", ObjectID: r.ID}); err != nil {
			return err
		}
		out = r
		return events.Emit(ctx, tx, "registration."+action, r.ID, map[string]any{"registration_id": r.ID, "kind": r.Kind, "author_id": r.AuthorID})
	})
	return out, err
}

// Close closes an accepted registration once every statement is in and
// every complaint decided.
func (s *Service) Close(ctx context.Context, p *access.Principal, clientID, id string, version int) (*Registration, error) {
	var out *Registration
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		if r.Status != Accepted {
			return apperr.New(apperr.Conflict, "This registration is %s; only an accepted report can be closed.", r.Status)
		}
		if n, err := openStatements(ctx, tx, r.ID); err != nil {
			return err
		} else if n > 0 {
			return apperr.New(apperr.Conflict, "%d statement(s) are still outstanding.", n)
		}
		if n, err := openComplaints(ctx, tx, r.ID); err != nil {
			return err
		} else if n > 0 {
			return apperr.New(apperr.Conflict, "%d complaint(s) are still to be decided.", n)
		}
		a := actorOf(ctx)
		if err := setStatus(ctx, tx, r.ID, version, []Status{Accepted}, Closed, `, closed_at = $5`, tx.NowText()); err != nil {
			return err
		}
		r.Status, r.ClosedAt, r.Version = Closed, tx.Now, version+1
		if err := addHistory(ctx, tx, r.ID, a.ID, a.Name, "closed", ""); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.close", ClientID: r.ClientID, ObjectType: "registration", ObjectID: r.ID}); err != nil {
			return err
		}
		out = r
		return events.Emit(ctx, tx, "registration.closed", r.ID, map[string]any{"registration_id": r.ID, "kind": r.Kind})
	})
	return out, err
}

// NewAmendment corrects one field of a submitted registration, or (with
// StatementID) the text of the caller's own statement.
type NewAmendment struct {
	StatementID string `json:"statement_id,omitempty"`
	Field       string `json:"field"`
	Value       string `json:"value"`
	Reason      string `json:"reason"`
}

// Amend appends a correction. The author of the report and its reviewers
// amend a report; only a statement's officer amends the statement.
func (s *Service) Amend(ctx context.Context, p *access.Principal, clientID, id string, n NewAmendment) (Amendment, error) {
	var fe apperr.Fields
	n.Reason = textField(&fe, "reason", n.Reason, true, maxShort*3)
	n.Value = textField(&fe, "value", n.Value, true, maxText)
	if n.StatementID != "" {
		n.Field = "statement"
	} else if !slices.Contains(amendable, n.Field) {
		fe.Add("field", "Choose one of: "+strings.Join(amendable, ", ")+".")
	}
	if n.Field == "occurred_at" {
		if t, err := parseWhen(n.Value); err != nil || t.IsZero() {
			fe.Add("value", "Use a date and time, e.g. 2026-11-25T14:30.")
		} else {
			n.Value = txt(t)
		}
	}
	if n.Field == "duration_minutes" {
		if m, err := strconv.Atoi(n.Value); err != nil || m < 1 || m > maxDuration {
			fe.Add("value", fmt.Sprintf("A number of minutes from 1 to %d.", maxDuration))
		}
	}
	if err := fe.Err(); err != nil {
		return Amendment{}, err
	}
	var out Amendment
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		if r.Status == Draft {
			return apperr.New(apperr.Conflict, "A draft is changed directly, not amended.")
		}
		a := actorOf(ctx)
		am := Amendment{ID: db.NewID(), StatementID: n.StatementID, Field: n.Field, NewValue: n.Value, Reason: n.Reason, AuthorName: a.Name, At: tx.Now}
		if n.StatementID != "" {
			st, err := findStatement(ctx, tx, r.ID, "", n.StatementID, tx.Now)
			if err != nil {
				return err
			}
			if st.StaffID != a.ID {
				return apperr.New(apperr.Forbidden, "Only the officer who gave a statement may amend it.")
			}
			if st.Status != "submitted" {
				return apperr.New(apperr.Conflict, "This statement has not been given yet; give it first.")
			}
			am.OldValue = current(ctx, tx, r.ID, st.Text, "statement", n.StatementID)
		} else {
			if r.AuthorID != a.ID && !p.Can(access.RegistrationReview) {
				return apperr.New(apperr.Forbidden, "Only the author or a reviewer may amend this report.")
			}
			am.OldValue = current(ctx, tx, r.ID, fieldValue(r, n.Field), n.Field, "")
		}
		if err := insertAmendment(ctx, tx, r.ID, &am, a.ID); err != nil {
			return err
		}
		if err := bump(ctx, tx, r.ID); err != nil {
			return err
		}
		if err := addHistory(ctx, tx, r.ID, a.ID, a.Name, "amended", n.Reason); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.amend", ClientID: r.ClientID, ObjectType: "registration", ObjectID: r.ID, Detail: "field=" + n.Field}); err != nil {
			return err
		}
		out = am
		return events.Emit(ctx, tx, "registration.amended", r.ID, map[string]any{"registration_id": r.ID, "field": n.Field})
	})
	return out, err
}

func fieldValue(r *Registration, f string) string {
	d := r.Details
	switch f {
	case "narrative":
		return d.Narrative
	case "place":
		return r.Place
	case "occurred_at":
		return txt(r.OccurredAt)
	case "reason":
		return d.Reason
	case "duration_minutes":
		return strconv.Itoa(d.DurationMinutes)
	case "injuries":
		return d.Injuries
	case "client_account":
		return d.ClientAccount
	case "body_camera_ref":
		return d.BodyCameraRef
	case "police_report_ref":
		return d.PoliceReportRef
	case "storage_ref":
		return d.StorageRef
	case "reported_to":
		return d.ReportedTo
	case "transport_ref":
		return d.TransportRef
	}
	return ""
}

// GiveStatement records the caller's own statement, asked of them when
// the report was submitted. A statement given is corrected by amendment.
func (s *Service) GiveStatement(ctx context.Context, p *access.Principal, clientID, id, text string) (Statement, error) {
	var fe apperr.Fields
	text = textField(&fe, "text", text, true, maxText)
	if err := fe.Err(); err != nil {
		return Statement{}, err
	}
	var out Statement
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		st, err := findStatement(ctx, tx, r.ID, a.ID, "", tx.Now)
		if err != nil {
			return err
		}
		if err := submitStatement(ctx, tx, st.ID, text); err != nil {
			return err
		}
		st.Status, st.Text, st.SubmittedAt, st.Overdue = "submitted", text, tx.Now, false
		st.Version++
		if err := bump(ctx, tx, r.ID); err != nil {
			return err
		}
		if err := addHistory(ctx, tx, r.ID, a.ID, a.Name, "statement_given", ""); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.statement", ClientID: r.ClientID, ObjectType: "statement", ObjectID: st.ID}); err != nil {
			return err
		}
		out = st
		return events.Emit(ctx, tx, "registration.statement_given", r.ID, map[string]any{"registration_id": r.ID, "statement_id": st.ID})
	})
	return out, err
}

// InformClient records that the client was told (the printed notice
// handed over) that a registration of force or restraint used on them
// exists and that they may complain.
func (s *Service) InformClient(ctx context.Context, p *access.Principal, clientID, id string, version int) (*Registration, error) {
	var out *Registration
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		if !r.Kind.Complainable() {
			return apperr.New(apperr.Conflict, "Clients are informed of force and restraints used on them, not of this kind.")
		}
		if r.Status == Draft {
			return apperr.New(apperr.Conflict, "Submit the registration before informing the client.")
		}
		if !r.ClientInformedAt.IsZero() {
			return apperr.New(apperr.Conflict, "The client was already informed.")
		}
		a := actorOf(ctx)
		if err := setInformed(ctx, tx, r.ID, version, a.Name); err != nil {
			return err
		}
		r.ClientInformedAt, r.ClientInformedBy, r.Version = tx.Now, a.Name, version+1
		if err := addHistory(ctx, tx, r.ID, a.ID, a.Name, "client_informed", ""); err != nil {
			return err
		}
		if err := client.AddHistory(ctx, tx, r.ClientID, "registration", "Informed of the registration and of the right to complain", "registration", r.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.inform", ClientID: r.ClientID, ObjectType: "registration", ObjectID: r.ID}); err != nil {
			return err
		}
		out = r
		return events.Emit(ctx, tx, "registration.client_informed", r.ID, map[string]any{"registration_id": r.ID, "client_id": r.ClientID})
	})
	return out, err
}

// NewComplaint is a client's complaint as staff record it.
type NewComplaint struct {
	Text       string `json:"text"`
	ReceivedAt string `json:"received_at"` // when the complaint came in; default now
	HandlerID  string `json:"handler_id"`  // default: whoever records it
}

// AddComplaint records a client's complaint about a registration of force
// or restraint, with a handler and a deadline for the decision.
func (s *Service) AddComplaint(ctx context.Context, p *access.Principal, clientID, id string, n NewComplaint) (Complaint, error) {
	var fe apperr.Fields
	n.Text = textField(&fe, "text", n.Text, true, maxText)
	received, err := parseWhen(n.ReceivedAt)
	if err != nil {
		fe.Add("received_at", "Use a date and time, e.g. 2026-11-25T14:30.")
	}
	if err := fe.Err(); err != nil {
		return Complaint{}, err
	}
	var out Complaint
	err = s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		if !r.Kind.Complainable() || r.Status == Draft {
			return apperr.New(apperr.Conflict, "Complaints are recorded against submitted registrations of force or restraint.")
		}
		if received.IsZero() {
			received = tx.Now
		}
		if received.After(tx.Now.Add(futureSlack)) {
			return apperr.Field("received_at", "Cannot be in the future.")
		}
		a := actorOf(ctx)
		c := Complaint{ID: db.NewID(), ReceivedAt: received, Text: n.Text, HandlerID: a.ID, HandlerName: a.Name, Status: "open", Version: 1,
			Deadline: received.In(zone).AddDate(0, 0, ComplaintDecideDays).Format("2006-01-02")}
		if n.HandlerID != "" && n.HandlerID != a.ID {
			names, err := s.Access.StaffNames(ctx, []string{n.HandlerID})
			if err != nil {
				return err
			}
			name, ok := names[n.HandlerID]
			if !ok {
				return apperr.Field("handler_id", "There is no staff member with this id.")
			}
			c.HandlerID, c.HandlerName = n.HandlerID, name
		}
		if err := insertComplaint(ctx, tx, r.ID, r.ClientID, &c); err != nil {
			return err
		}
		if err := bump(ctx, tx, r.ID); err != nil {
			return err
		}
		if err := addHistory(ctx, tx, r.ID, a.ID, a.Name, "complaint_received", c.HandlerName+", "+c.Deadline); err != nil {
			return err
		}
		if err := client.AddHistory(ctx, tx, r.ClientID, "complaint", "Complaint about a registration received", "registration", r.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.complaint", ClientID: r.ClientID, ObjectType: "complaint", ObjectID: c.ID}); err != nil {
			return err
		}
		out = c
		return events.Emit(ctx, tx, "registration.complaint_received", r.ID, map[string]any{"registration_id": r.ID, "complaint_id": c.ID, "handler_id": c.HandlerID, "deadline": c.Deadline})
	})
	return out, err
}

// Decision decides a complaint.
type Decision struct {
	Version  int    `json:"version"`
	Outcome  string `json:"outcome"` // upheld, partly_upheld, rejected, withdrawn
	Decision string `json:"decision"`
}

// DecideComplaint records the decision on a complaint with its reasons.
func (s *Service) DecideComplaint(ctx context.Context, p *access.Principal, clientID, id, complaintID string, d Decision) (Complaint, error) {
	var fe apperr.Fields
	if !slices.Contains(Outcomes, d.Outcome) {
		fe.Add("outcome", "Choose one of: "+strings.Join(Outcomes, ", ")+".")
	}
	d.Decision = textField(&fe, "decision", d.Decision, true, maxText)
	if err := fe.Err(); err != nil {
		return Complaint{}, err
	}
	var out Complaint
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		if err := decideComplaint(ctx, tx, r.ID, complaintID, d.Version, d.Outcome, d.Decision, a.Name); err != nil {
			return err
		}
		cs, err := complaints(ctx, tx, `WHERE id = $1`, tx.Now, complaintID)
		if err != nil || len(cs) != 1 {
			return fmt.Errorf("registration: complaint reread: %v", err)
		}
		if err := bump(ctx, tx, r.ID); err != nil {
			return err
		}
		if err := addHistory(ctx, tx, r.ID, a.ID, a.Name, "complaint_decided", d.Outcome); err != nil {
			return err
		}
		if err := client.AddHistory(ctx, tx, r.ClientID, "complaint", "Complaint about a registration decided: "+strings.ReplaceAll(d.Outcome, "_", " "), "registration", r.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.complaint_decide", ClientID: r.ClientID, ObjectType: "complaint", ObjectID: complaintID, Detail: "outcome=" + d.Outcome}); err != nil {
			return err
		}
		out = cs[0]
		return events.Emit(ctx, tx, "registration.complaint_decided", r.ID, map[string]any{"registration_id": r.ID, "complaint_id": complaintID, "outcome": d.Outcome})
	})
	return out, err
}

// Where returns where registration id about clientID happened (its
// institution and unit), for the caseload check: the staff of that place
// keep access to it after the person has moved on. involved reports that
// staffID wrote it or is named in it (asked for a statement): they were
// there, and keep access wherever their caseload is. Nothing when there
// is no such registration about the client.
func (s *Service) Where(ctx context.Context, clientID, id, staffID string) (locs []string, involved bool, err error) {
	err = s.DB.ReadOnly(ctx, func(tx *db.Tx) error {
		r, err := findReg(ctx, tx, id)
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil
		}
		if err != nil || !involves(r, clientID) {
			return err
		}
		for _, l := range []string{r.InstitutionID, r.UnitID} {
			if l != "" {
				locs = append(locs, l)
			}
		}
		involved = r.AuthorID == staffID || slices.ContainsFunc(r.Parties, func(p Party) bool { return p.Type == "staff" && p.ID == staffID })
		return nil
	})
	return locs, involved, err
}

// Get reads one registration in full (statements, amendments, history,
// complaints) for the page of clientID. The read is audited.
func (s *Service) Get(ctx context.Context, p *access.Principal, clientID, id string) (*Registration, error) {
	r, err := db.Read(ctx, s.DB, func(tx *db.Tx) (*Registration, error) {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return nil, err
		}
		pl, err := client.Whereabouts(ctx, tx, r.ClientID)
		if err != nil {
			return nil, err
		}
		r.ClientName = pl.Name
		return r, loadFull(ctx, tx, r, tx.Now)
	})
	if err != nil {
		return nil, err
	}
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "registration.read", ClientID: r.ClientID, ObjectType: "registration", ObjectID: r.ID, Detail: "kind=" + string(r.Kind)}); err != nil {
		return nil, fmt.Errorf("registration: audit read: %w", err)
	}
	return r, nil
}

// ForClient lists the registrations about a client (as subject or party)
// that p may see, newest first. The read is audited.
func (s *Service) ForClient(ctx context.Context, p *access.Principal, clientID string) ([]*Registration, error) {
	args := []any{clientID}
	vis := visibilityNoCaseload(p, &args)
	list, err := db.Read(ctx, s.DB, func(tx *db.Tx) ([]*Registration, error) {
		return listRegs(ctx, tx, `(r.client_id = $1 OR r.id IN (SELECT registration_id FROM registration_parties WHERE party_id = $1 AND party_type = 'client')) AND `+vis,
			`r.occurred_at DESC, r.id`, 500, args...)
	})
	if err != nil {
		return nil, err
	}
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "registration.list", ClientID: clientID, ObjectType: "client", ObjectID: clientID, Detail: fmt.Sprintf("n=%d", len(list))}); err != nil {
		return nil, fmt.Errorf("registration: audit read: %w", err)
	}
	return list, nil
}

// visibilityNoCaseload limits rows to what p may see on a client's page,
// where the router has already checked the caseload for the client.
func visibilityNoCaseload(p *access.Principal, args *[]any) string {
	if p.Role == access.Security {
		return "1 = 1"
	}
	*args = append(*args, p.ID)
	return fmt.Sprintf("(r.kind <> 'radicalisation' OR r.author_id = $%d)", len(*args))
}

// Filter selects registrations for a work list.
type Filter struct {
	Status Status
	Kind   Kind
	Mine   bool // only the caller's own
	Limit  int
}

// List is the caseload's registrations, newest first, for the work lists.
// Each client named is an audited read.
func (s *Service) List(ctx context.Context, p *access.Principal, f Filter) ([]*Registration, error) {
	args := []any{}
	where := visibility(p, &args)
	if f.Status != "" {
		args = append(args, f.Status)
		where += fmt.Sprintf(" AND r.status = $%d", len(args))
	}
	if f.Kind != "" {
		args = append(args, f.Kind)
		where += fmt.Sprintf(" AND r.kind = $%d", len(args))
	}
	if f.Mine {
		args = append(args, p.ID)
		where += fmt.Sprintf(" AND r.author_id = $%d", len(args))
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	list, err := db.Read(ctx, s.DB, func(tx *db.Tx) ([]*Registration, error) {
		return listRegs(ctx, tx, where, `r.updated_at DESC, r.id`, f.Limit, args...)
	})
	if err != nil {
		return nil, err
	}
	return list, s.auditList(ctx, list)
}

func (s *Service) auditList(ctx context.Context, list []*Registration) error {
	if len(list) == 0 {
		return nil
	}
	entries := make([]audit.Entry, len(list))
	for i, r := range list {
		entries[i] = audit.Entry{Action: "registration.list", ClientID: r.ClientID, ObjectType: "registration", ObjectID: r.ID}
	}
	if err := s.Audit.RecordRead(ctx, entries...); err != nil {
		return fmt.Errorf("registration: audit read: %w", err)
	}
	return nil
}

// Overdue is what a manager must act on.
type Overdue struct {
	NotReviewed []*Registration    `json:"not_reviewed"` // submitted more than ReviewWithin ago
	OldDrafts   []*Registration    `json:"old_drafts"`   // drafts older than DraftWithin
	Statements  []OverdueStatement `json:"statements"`   // asked more than StatementOverdue ago
	Complaints  []OverdueComplaint `json:"complaints"`   // past their deadline
}

// OverdueStatement is an overdue statement with its registration.
type OverdueStatement struct {
	Statement
	Registration *Registration `json:"registration"`
}

// OverdueComplaint is a complaint past its deadline with its registration.
type OverdueComplaint struct {
	Complaint
	Registration *Registration `json:"registration"`
}

// Overdue lists what is late in p's caseload.
func (s *Service) Overdue(ctx context.Context, p *access.Principal) (*Overdue, error) {
	o, err := db.Read(ctx, s.DB, func(tx *db.Tx) (*Overdue, error) {
		o := &Overdue{NotReviewed: []*Registration{}, OldDrafts: []*Registration{}, Statements: []OverdueStatement{}, Complaints: []OverdueComplaint{}}
		args := []any{}
		vis := visibility(p, &args)
		n := len(args)
		var err error
		o.NotReviewed, err = listRegs(ctx, tx, vis+fmt.Sprintf(" AND r.status = 'submitted' AND r.submitted_at < $%d", n+1), `r.submitted_at, r.id`, 500,
			append(args, db.FormatTime(tx.Now.Add(-ReviewWithin)))...)
		if err != nil {
			return nil, err
		}
		o.OldDrafts, err = listRegs(ctx, tx, vis+fmt.Sprintf(" AND r.status = 'draft' AND r.created_at < $%d", n+1), `r.created_at, r.id`, 500,
			append(args, db.FormatTime(tx.Now.Add(-DraftWithin)))...)
		if err != nil {
			return nil, err
		}
		withStatements, err := listRegs(ctx, tx, vis+fmt.Sprintf(" AND r.id IN (SELECT registration_id FROM registration_statements WHERE status = 'requested' AND requested_at < $%d)", n+1),
			`r.submitted_at, r.id`, 500, append(args, db.FormatTime(tx.Now.Add(-StatementOverdue)))...)
		if err != nil {
			return nil, err
		}
		for _, r := range withStatements {
			sts, err := statements(ctx, tx, r.ID, tx.Now)
			if err != nil {
				return nil, err
			}
			for _, st := range sts {
				if st.Overdue {
					o.Statements = append(o.Statements, OverdueStatement{Statement: st, Registration: r})
				}
			}
		}
		withComplaints, err := listRegs(ctx, tx, vis+fmt.Sprintf(" AND r.id IN (SELECT registration_id FROM registration_complaints WHERE status = 'open' AND deadline < $%d)", n+1),
			`r.submitted_at, r.id`, 500, append(args, tx.Now.In(zone).Format("2006-01-02"))...)
		if err != nil {
			return nil, err
		}
		for _, r := range withComplaints {
			cs, err := complaints(ctx, tx, `WHERE registration_id = $1 AND status = 'open'`, tx.Now, r.ID)
			if err != nil {
				return nil, err
			}
			for _, c := range cs {
				if c.Overdue {
					o.Complaints = append(o.Complaints, OverdueComplaint{Complaint: c, Registration: r})
				}
			}
		}
		return o, nil
	})
	if err != nil {
		return nil, err
	}
	all := append(append([]*Registration{}, o.NotReviewed...), o.OldDrafts...)
	for _, st := range o.Statements {
		all = append(all, st.Registration)
	}
	for _, c := range o.Complaints {
		all = append(all, c.Registration)
	}
	return o, s.auditList(ctx, all)
}

// Counts are the numbers of registrations by unit, kind and month (of
// when it happened) in p's caseload, from and to being dates (inclusive,
// empty for open). Drafts are not counted. No names: not an audited read.
func (s *Service) Counts(ctx context.Context, p *access.Principal, from, to string) ([]Count, error) {
	args := []any{}
	where := visibility(p, &args) + " AND r.status <> 'draft'"
	for _, b := range []struct {
		v, op, field string
	}{{from, ">=", "from"}, {to, "<", "to"}} {
		if b.v == "" {
			continue
		}
		d, err := time.ParseInLocation("2006-01-02", b.v, zone)
		if err != nil {
			return nil, apperr.Field(b.field, "Use a date (YYYY-MM-DD).")
		}
		if b.op == "<" {
			d = d.AddDate(0, 0, 1)
		}
		args = append(args, db.FormatTime(d))
		where += fmt.Sprintf(" AND r.occurred_at %s $%d", b.op, len(args))
	}
	return db.Read(ctx, s.DB, func(tx *db.Tx) ([]Count, error) { return counts(ctx, tx, where, args...) })
}

// MyStatements lists the statements asked of the caller.
// Each registration listed names its client: an audited read.
func (s *Service) MyStatements(ctx context.Context, p *access.Principal) ([]MyStatement, error) {
	list, err := db.Read(ctx, s.DB, func(tx *db.Tx) ([]MyStatement, error) { return myStatements(ctx, tx, p.ID, tx.Now) })
	if err != nil || len(list) == 0 {
		return list, err
	}
	entries := make([]audit.Entry, len(list))
	for i, m := range list {
		entries[i] = audit.Entry{Action: "registration.list", ClientID: m.ClientID, ObjectType: "registration", ObjectID: m.RegistrationID}
	}
	if err := s.Audit.RecordRead(ctx, entries...); err != nil {
		return nil, fmt.Errorf("registration: audit read: %w", err)
	}
	return list, nil
}

// Subject reads who a new registration is about, for its form: the
// person's name and place are shown, so the read is audited.
func (s *Service) Subject(ctx context.Context, clientID string) (client.Placed, error) {
	pl, err := client.Whereabouts(ctx, s.DB, clientID)
	if err != nil {
		return pl, err
	}
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "registration.form", ClientID: pl.ID, ObjectType: "client", ObjectID: pl.ID}); err != nil {
		return pl, fmt.Errorf("registration: audit read: %w", err)
	}
	return pl, nil
}

// Sweep sends the reminders and overdue notices that are due: an officer
// who has not given a statement after StatementReminder is reminded,
// after StatementOverdue it is overdue (the officer and the managers are
// told, through events the notification service delivers). Each is sent
// once; running Sweep again, or on another server at once, sends nothing
// twice.
func (s *Service) Sweep(ctx context.Context) (reminded, overdue int, err error) {
	ctx = audit.WithActor(ctx, audit.System)
	for _, step := range []struct {
		mark, event string
		after       time.Duration
		n           *int
	}{{"reminded_at", "registration.statement_reminder", StatementReminder, &reminded}, {"overdue_at", "registration.statement_overdue", StatementOverdue, &overdue}} {
		due, err := db.Read(ctx, s.DB, func(tx *db.Tx) ([]dueStatement, error) {
			return dueStatements(ctx, tx, step.mark, tx.Now.Add(-step.after))
		})
		if err != nil {
			return reminded, overdue, err
		}
		for _, d := range due {
			sent := false
			err := s.DB.Transact(ctx, func(tx *db.Tx) error {
				sent = false
				ok, err := markStatement(ctx, tx, d.ID, step.mark)
				if err != nil || !ok {
					return err
				}
				// Counted after the commit: a retried transaction runs
				// this function again.
				sent = true
				return events.Emit(ctx, tx, step.event, d.RegistrationID, map[string]any{"registration_id": d.RegistrationID, "statement_id": d.ID, "staff_id": d.StaffID})
			})
			if err != nil {
				return reminded, overdue, err
			}
			if sent {
				*step.n++
			}
		}
	}
	return reminded, overdue, nil
}

// Run sweeps every interval until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration, log func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil && log != nil {
			log(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
