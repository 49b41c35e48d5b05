// SPDX-License-Identifier: AGPL-3.0-or-later

// Package placement keeps the registers the placement rules read — the
// non-association register (people who must be kept apart, within a
// scope), cell-sharing risk assessments and placement profiles (minimum
// security, accessibility, remand restrictions) — and the cell move screen
// that ranks free beds with the optimiser in placement/solve. Both
// registers are decisions about risk: nothing is deleted, every change is
// a version or a new assessment, every read and write is audited, and
// each change is an event that transport and visits react to.
package placement

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

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
	db.Register(db.Module{Name: "placement", FS: sub})
}

// Service keeps the non-association register and the sharing
// assessments.
//
// Access: the web layer has checked the caller's role and that their
// caseload covers the client named in the path (clientID, the canonical
// id). The service finds a non-association only among that person's, so
// another person's decision is NotFound. The other members of a
// non-association are shown whoever's caseload they are in: keeping
// people apart needs to know who they are. Lists without a client
// (NonAssociations) hold only decisions with a member in the caller's
// caseload.
type Service struct {
	DB    *db.DB
	Audit *audit.Log
}

// readDetail is the audit detail of every read: the register shows names
// and security-classed reasons.
const readDetail = "classes=personal,security"

func actorOf(ctx context.Context) audit.Actor {
	a, _ := audit.ActorFrom(ctx)
	return a
}

// members resolves the stored member ids to the people as the register
// knows them now: merged records become their survivor, and a person
// named twice through a merge counts once.
func members(ctx context.Context, tx *db.Tx, ids []string) ([]Member, error) {
	out := make([]Member, 0, len(ids))
	for _, id := range ids {
		pl, err := client.Whereabouts(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(m Member) bool { return m.ClientID == pl.ID }) {
			continue
		}
		out = append(out, Member{ClientID: pl.ID, Number: pl.Number, Name: pl.Name, InstitutionID: pl.InstitutionID, UnitID: pl.UnitID, locations: pl.Locations()})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// complete turns stored rows into non-associations with their members.
func complete(ctx context.Context, tx *db.Tx, list []*stored) ([]*NonAssociation, error) {
	today := dateOf(tx.Now)
	out := make([]*NonAssociation, 0, len(list))
	for _, s := range list {
		ms, err := members(ctx, tx, s.memberIDs)
		if err != nil {
			return nil, err
		}
		n := s.NonAssociation
		n.Members = ms
		n.ReviewDue = n.Status == Active && n.ReviewDate < today
		out = append(out, &n)
	}
	return out, nil
}

// resolveNew checks every person named exists and returns the group's
// canonical ids, the client of the path first.
func resolveNew(ctx context.Context, tx *db.Tx, clientID string, others []string) ([]client.Placed, error) {
	self, err := client.Whereabouts(ctx, tx, clientID)
	if err != nil {
		return nil, err
	}
	group := []client.Placed{self}
	var fe apperr.Fields
	for i, id := range others {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		pl, err := client.Whereabouts(ctx, tx, id)
		if apperr.CodeOf(err) == apperr.NotFound {
			fe.Add(fmt.Sprintf("members[%d]", i), "There is no client with this id.")
			continue
		}
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(group, func(g client.Placed) bool { return g.ID == pl.ID }) {
			group = append(group, pl)
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if len(group) < 2 {
		return nil, apperr.Field("members", "Name at least one other person.")
	}
	return group, nil
}

func ids(group []client.Placed) []string {
	out := make([]string, len(group))
	for i, g := range group {
		out[i] = g.ID
	}
	return out
}

// summary is a non-association's line on a member's timeline. It names no
// other member: the timeline is read by everyone who may read the person,
// and the other people may be in nobody's caseload there.
func summary(verb string, n *NonAssociation) string {
	return fmt.Sprintf("Non-association %s: %s, kept apart in %s", verb, strings.ReplaceAll(n.ReasonCategory, "_", " "), n.Scope)
}

// writeAll appends an audit entry per member, so each person's audit
// trail shows the decision.
func writeAll(ctx context.Context, tx *db.Tx, action, id string, memberIDs []string, detail string) error {
	entries := make([]audit.Entry, len(memberIDs))
	for i, m := range memberIDs {
		entries[i] = audit.Entry{Action: action, ClientID: m, ObjectType: "nonassociation", ObjectID: id, Detail: detail}
	}
	return audit.Write(ctx, tx, entries...)
}

func versionOf(n *NonAssociation, memberIDs []string, action, actor string) Version {
	return Version{Version: n.Version, ActorName: actor, Action: action, Members: memberIDs, Scope: n.Scope, ReasonCategory: n.ReasonCategory,
		Reason: n.Reason, ReviewDate: n.ReviewDate, EndReason: n.EndReason}
}

func eventData(n *NonAssociation, memberIDs []string) map[string]any {
	// No free text: reasons are security-classed and events travel to
	// other systems.
	return map[string]any{"nonassociation_id": n.ID, "members": memberIDs, "scope": n.Scope, "reason_category": n.ReasonCategory,
		"review_date": n.ReviewDate, "status": n.Status, "version": n.Version}
}

// CreateNonAssociation records that the client and the people named in
// n.Members must be kept apart, decided by the signed-in member of staff.
// Every person must exist; each gets a line on their timeline.
func (s *Service) CreateNonAssociation(ctx context.Context, clientID string, n NewNonAssociation) (*NonAssociation, error) {
	var out *NonAssociation
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		if err := n.validate(dateOf(tx.Now)); err != nil {
			return err
		}
		group, err := resolveNew(ctx, tx, clientID, n.Members)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		na := &NonAssociation{ID: db.NewID(), Scope: n.Scope, ReasonCategory: n.ReasonCategory, Reason: n.Reason, DecidedByID: a.ID, DecidedByName: a.Name,
			DecidedAt: tx.Now, ReviewDate: n.ReviewDate, Status: Active, UpdatedAt: tx.Now, Version: 1}
		mids := ids(group)
		if err := insertNA(ctx, tx, na, mids); err != nil {
			return err
		}
		if err := insertVersion(ctx, tx, na.ID, versionOf(na, mids, "created", a.Name), a.ID); err != nil {
			return err
		}
		for _, m := range mids {
			if err := client.AddHistory(ctx, tx, m, "nonassociation", summary("recorded", na), "nonassociation", na.ID); err != nil {
				return err
			}
		}
		if err := writeAll(ctx, tx, "placement.nonassociation.create", na.ID, mids, "scope="+na.Scope+" reason="+na.ReasonCategory); err != nil {
			return err
		}
		if err := events.Emit(ctx, tx, "placement.nonassociation_created", na.ID, eventData(na, mids)); err != nil {
			return err
		}
		for _, g := range group {
			na.Members = append(na.Members, Member{ClientID: g.ID, Number: g.Number, Name: g.Name, InstitutionID: g.InstitutionID, UnitID: g.UnitID})
		}
		out = na
		return nil
	})
	return out, err
}

// loadFor reads non-association id for the page of clientID, who must be
// one of its members (else NotFound, so ids of other people's decisions
// say nothing).
func loadFor(ctx context.Context, tx *db.Tx, clientID, id string) (*stored, *NonAssociation, error) {
	s, err := findNA(ctx, tx, id)
	if err != nil {
		return nil, nil, err
	}
	list, err := complete(ctx, tx, []*stored{s})
	if err != nil {
		return nil, nil, err
	}
	n := list[0]
	if !slices.ContainsFunc(n.Members, func(m Member) bool { return m.ClientID == clientID }) {
		return nil, nil, apperr.New(apperr.NotFound, "There is no such non-association.")
	}
	return s, n, nil
}

func memberIDs(n *NonAssociation) []string {
	out := make([]string, len(n.Members))
	for i, m := range n.Members {
		out[i] = m.ClientID
	}
	return out
}

// UpdateNonAssociation changes an active non-association (scope, reason,
// review date, the people in it) at version, keeping the version before.
// A new review date is how a review is recorded. People added or taken
// out get a line on their timeline.
func (s *Service) UpdateNonAssociation(ctx context.Context, clientID, id string, version int, n NewNonAssociation) (*NonAssociation, error) {
	var out *NonAssociation
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		_, cur, err := loadFor(ctx, tx, clientID, id)
		if err != nil {
			return err
		}
		if cur.Status != Active {
			return apperr.New(apperr.Conflict, "This non-association has ended.")
		}
		if cur.Version != version {
			return apperr.StaleVersion("non-association", cur.Version)
		}
		if err := n.validate(dateOf(tx.Now)); err != nil {
			return err
		}
		group, err := resolveNew(ctx, tx, clientID, n.Members)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		before := memberIDs(cur)
		next := *cur
		next.Scope, next.ReasonCategory, next.Reason, next.ReviewDate = n.Scope, n.ReasonCategory, n.Reason, n.ReviewDate
		mids := ids(group)
		if err := updateNA(ctx, tx, &next, mids, version); err != nil {
			return err
		}
		next.Version, next.UpdatedAt = version+1, tx.Now
		if err := insertVersion(ctx, tx, next.ID, versionOf(&next, mids, "updated", a.Name), a.ID); err != nil {
			return err
		}
		for _, m := range mids {
			if !slices.Contains(before, m) {
				if err := client.AddHistory(ctx, tx, m, "nonassociation", summary("recorded", &next), "nonassociation", next.ID); err != nil {
					return err
				}
			}
		}
		for _, m := range before {
			if !slices.Contains(mids, m) {
				if err := client.AddHistory(ctx, tx, m, "nonassociation", summary("no longer includes this person", &next), "nonassociation", next.ID); err != nil {
					return err
				}
			}
		}
		affected := append(slices.Clone(mids), slices.DeleteFunc(slices.Clone(before), func(m string) bool { return slices.Contains(mids, m) })...)
		if err := writeAll(ctx, tx, "placement.nonassociation.update", next.ID, affected, fmt.Sprintf("version=%d", next.Version)); err != nil {
			return err
		}
		if err := events.Emit(ctx, tx, "placement.nonassociation_updated", next.ID, eventData(&next, mids)); err != nil {
			return err
		}
		full, err := findNA(ctx, tx, next.ID)
		if err != nil {
			return err
		}
		list, err := complete(ctx, tx, []*stored{full})
		if err != nil {
			return err
		}
		out = list[0]
		return nil
	})
	return out, err
}

// EndNonAssociation ends an active non-association at version, with the
// reason (the case was decided, the threat is gone).
func (s *Service) EndNonAssociation(ctx context.Context, clientID, id string, version int, reason string) (*NonAssociation, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, apperr.Field("reason", "Required.")
	case len(reason) > 4000:
		return nil, apperr.Field("reason", "At most 4000 characters.")
	}
	var out *NonAssociation
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		_, cur, err := loadFor(ctx, tx, clientID, id)
		if err != nil {
			return err
		}
		if cur.Status != Active {
			return apperr.New(apperr.Conflict, "This non-association has ended.")
		}
		if cur.Version != version {
			return apperr.StaleVersion("non-association", cur.Version)
		}
		a := actorOf(ctx)
		if err := endNA(ctx, tx, id, a.Name, reason, version); err != nil {
			return err
		}
		cur.Status, cur.EndedAt, cur.EndedByName, cur.EndReason, cur.UpdatedAt, cur.Version, cur.ReviewDue = Ended, tx.Now, a.Name, reason, tx.Now, version+1, false
		mids := memberIDs(cur)
		if err := insertVersion(ctx, tx, id, versionOf(cur, mids, "ended", a.Name), a.ID); err != nil {
			return err
		}
		for _, m := range mids {
			if err := client.AddHistory(ctx, tx, m, "nonassociation", summary("ended", cur), "nonassociation", id); err != nil {
				return err
			}
		}
		if err := writeAll(ctx, tx, "placement.nonassociation.end", id, mids, ""); err != nil {
			return err
		}
		if err := events.Emit(ctx, tx, "placement.nonassociation_ended", id, eventData(cur, mids)); err != nil {
			return err
		}
		out = cur
		return nil
	})
	return out, err
}

// recordReads audits the reading of the non-associations: one entry per
// person shown.
func (s *Service) recordReads(ctx context.Context, action string, list []*NonAssociation) error {
	var entries []audit.Entry
	for _, n := range list {
		for _, m := range n.Members {
			entries = append(entries, audit.Entry{Action: action, ClientID: m.ClientID, ObjectType: "nonassociation", ObjectID: n.ID, Detail: readDetail})
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if err := s.Audit.RecordRead(ctx, entries...); err != nil {
		return fmt.Errorf("placement: audit read: %w", err)
	}
	return nil
}

// NonAssociation reads one of clientID's non-associations with its
// versions. The read is audited for every member.
func (s *Service) NonAssociation(ctx context.Context, clientID, id string) (*NonAssociation, error) {
	n, err := db.Read(ctx, s.DB, func(tx *db.Tx) (*NonAssociation, error) {
		_, n, err := loadFor(ctx, tx, clientID, id)
		if err != nil {
			return nil, err
		}
		n.Versions, err = loadVersions(ctx, tx, id)
		return n, err
	})
	if err != nil {
		return nil, err
	}
	return n, s.recordReads(ctx, "placement.nonassociation.read", []*NonAssociation{n})
}

// NonAssociationsFor lists the client's non-associations, active first,
// then ended, newest decision first within each. Audited.
func (s *Service) NonAssociationsFor(ctx context.Context, clientID string) ([]*NonAssociation, error) {
	list, err := db.Read(ctx, s.DB, func(tx *db.Tx) ([]*NonAssociation, error) {
		rids, err := client.RecordIDs(ctx, tx, clientID)
		if err != nil {
			return nil, err
		}
		var args []any
		rows, err := listNAs(ctx, tx, naForClients(&args, rids), 500, args...)
		if err != nil {
			return nil, err
		}
		return complete(ctx, tx, rows)
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b *NonAssociation) int {
		if (a.Status == Active) != (b.Status == Active) {
			if a.Status == Active {
				return -1
			}
			return 1
		}
		return 0
	})
	return list, s.recordReads(ctx, "placement.nonassociation.list", list)
}

// ListFilter selects non-associations for a staff list.
type ListFilter struct {
	// Due keeps only active decisions past their review date.
	Due bool
}

// listLimit bounds a staff list: the register of a whole country is read
// page-free, so it is capped rather than let grow without bound.
const listLimit = 2000

// NonAssociations lists the active non-associations with at least one
// member in p's caseload, newest decision first (Due: only those past
// their review date, oldest review date first). Audited for every person
// shown.
func (s *Service) NonAssociations(ctx context.Context, p *access.Principal, f ListFilter) ([]*NonAssociation, error) {
	list, err := db.Read(ctx, s.DB, func(tx *db.Tx) ([]*NonAssociation, error) {
		where, args := `n.status = 'active'`, []any{}
		if f.Due {
			args = append(args, dateOf(tx.Now))
			where += ` AND n.review_date < $1`
		}
		rows, err := listNAs(ctx, tx, where, listLimit, args...)
		if err != nil {
			return nil, err
		}
		all, err := complete(ctx, tx, rows)
		if err != nil {
			return nil, err
		}
		// The caseload is checked against where the members are now,
		// which only the client register knows; hence in Go, not SQL.
		return slices.DeleteFunc(all, func(n *NonAssociation) bool {
			for _, m := range n.Members {
				if p.Covers(m.locations...) {
					n.ViaClientID = m.ClientID
					return false
				}
			}
			return true
		}), nil
	})
	if err != nil {
		return nil, err
	}
	if f.Due {
		slices.SortStableFunc(list, func(a, b *NonAssociation) int { return strings.Compare(a.ReviewDate, b.ReviewDate) })
	}
	return list, s.recordReads(ctx, "placement.nonassociation.list", list)
}

// ---------- Sharing assessments ----------

var outcomeText = map[string]string{NotSuitable: "not suitable to share a cell", SuitableAny: "may share a cell", Conditional: "may share a cell only"}

func assessmentSummary(a *Assessment) string {
	s := "Cell-sharing assessment: " + outcomeText[a.Outcome]
	if len(a.Conditions) > 0 {
		var cs []string
		for _, c := range a.Conditions {
			cs = append(cs, strings.ReplaceAll(strings.TrimPrefix(c, "only_"), "_", " "))
		}
		s += " " + strings.Join(cs, ", ")
	}
	return s
}

// Assess records a cell-sharing risk assessment of the client by the
// signed-in member of staff. It replaces none: the newest counts, and
// the older ones stay as the person's history.
func (s *Service) Assess(ctx context.Context, clientID string, n NewAssessment) (*Assessment, error) {
	var out *Assessment
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		if err := n.validate(dateOf(tx.Now)); err != nil {
			return err
		}
		pl, err := client.Whereabouts(ctx, tx, clientID)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		as := &Assessment{ID: db.NewID(), ClientID: pl.ID, Outcome: n.Outcome, Conditions: n.Conditions, Smoker: n.Smoker, Reasons: n.Reasons,
			AssessedByID: a.ID, AssessedByName: a.Name, AssessedAt: tx.Now, ReviewDate: n.ReviewDate}
		if err := insertAssessment(ctx, tx, as); err != nil {
			return err
		}
		if err := client.AddHistory(ctx, tx, pl.ID, "sharing", assessmentSummary(as), "sharing_assessment", as.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "placement.sharing.assess", ClientID: pl.ID, ObjectType: "sharing_assessment", ObjectID: as.ID, Detail: "outcome=" + as.Outcome}); err != nil {
			return err
		}
		out = as
		return events.Emit(ctx, tx, "placement.sharing_assessed", pl.ID, map[string]any{"client_id": pl.ID, "assessment_id": as.ID,
			"outcome": as.Outcome, "conditions": as.Conditions, "review_date": as.ReviewDate})
	})
	return out, err
}

// Assessments lists the client's sharing assessments, newest (the one in
// force) first. Audited.
func (s *Service) Assessments(ctx context.Context, clientID string) ([]Assessment, error) {
	list, err := db.Read(ctx, s.DB, func(tx *db.Tx) ([]Assessment, error) {
		rids, err := client.RecordIDs(ctx, tx, clientID)
		if err != nil {
			return nil, err
		}
		list, err := assessmentsOf(ctx, tx, rids, 200)
		today := dateOf(tx.Now)
		for i := range list {
			list[i].ClientID = clientID
			list[i].ReviewDue = i == 0 && list[i].ReviewDate < today
		}
		return list, err
	})
	if err != nil {
		return nil, err
	}
	if len(list) > 0 {
		if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "placement.sharing.read", ClientID: clientID, ObjectType: "client", ObjectID: clientID,
			Detail: fmt.Sprintf("n=%d %s", len(list), readDetail)}); err != nil {
			return nil, fmt.Errorf("placement: audit read: %w", err)
		}
	}
	return list, nil
}
