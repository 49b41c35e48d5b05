// SPDX-License-Identifier: AGPL-3.0-or-later

package plan

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
	"github.com/custodia/custodia/internal/platform/i18n"
)

// Service keeps action plans. Its methods trust the web layer's role and
// caseload check for the client named in the route (clientID is the
// canonical id the router resolved); a plan is found only among the
// plans of that person's records, so a plan id of someone else is "not
// found". Every read and write is audited as the actor in ctx.
type Service struct {
	DB    *db.DB
	Audit *audit.Log
}

// readDetail is the audit detail of every read: plans show the person's
// name and special-category content.
const readDetail = "classes=personal,special-category"

func actorOf(ctx context.Context) audit.Actor {
	a, _ := audit.ActorFrom(ctx)
	return a
}

// Create starts a draft plan for the person.
func (s *Service) Create(ctx context.Context, clientID string, d Document) (*Plan, error) {
	if err := d.Normalize(i18n.English); err != nil {
		return nil, err
	}
	var p *Plan
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		if _, err := client.HeadingOf(ctx, tx, clientID); err != nil {
			return err
		}
		a := actorOf(ctx)
		p = &Plan{ID: db.NewID(), ClientID: clientID, Status: Draft, Version: 1, Document: d, CreatedAt: tx.Now, CreatedByName: a.Name,
			UpdatedAt: tx.Now, UpdatedBy: a.ID, UpdatedByName: a.Name}
		if err := insertPlan(ctx, tx, p); err != nil {
			return err
		}
		v := &Version{PlanID: p.ID, Version: 1, Status: Draft, Kind: KindCreated, SavedAt: tx.Now, SavedBy: a.ID, SavedByName: a.Name,
			Changes: Diff(Document{}, d)}
		if err := insertVersion(ctx, tx, v, d); err != nil {
			return err
		}
		if err := client.AddHistory(ctx, tx, clientID, "plan", "Action plan created: "+d.Title, "plan", p.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "plan.create", ClientID: clientID, ObjectType: "plan", ObjectID: p.ID, Detail: "version=1"}); err != nil {
			return err
		}
		return events.Emit(ctx, tx, "plan.created", clientID, map[string]any{"client_id": clientID, "plan_id": p.ID, "version": 1, "status": Draft})
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// SaveInput is a save of a plan's content.
type SaveInput struct {
	// Version is the version the editor started from.
	Version  int
	Document Document
	// Status, when set, moves the plan to it in the same save.
	Status   Status
	Autosave bool
	// Keep stores the document as the editor's open conflict when someone
	// else saved first (the web pages; API clients keep their own copy).
	Keep bool
}

// conflict is the refusal of a save against a version that moved on; it
// carries both versions, so an API client can show them side by side.
func conflict(cur *Plan, yours Document) error {
	return &apperr.Error{Code: apperr.Conflict, Message: "Someone else saved this action plan since you loaded it; nothing was saved. Compare both versions and save again.",
		Detail: map[string]any{"current_version": cur.Version, "current": cur, "yours": yours}}
}

// Save stores a new version of the plan if in.Version is still current.
// When it is not, nothing is applied and the answer is a conflict (with
// in.Keep, the document is first kept as the editor's open conflict). A
// save that changes nothing writes no version; a repeat of a save that
// already landed (its answer was lost) is answered with the plan.
func (s *Service) Save(ctx context.Context, clientID, planID string, in SaveInput) (*Plan, error) {
	if err := in.Document.Normalize(i18n.English); err != nil {
		return nil, err
	}
	if in.Status != "" && !slices.Contains(Statuses, in.Status) {
		return nil, apperr.Field("status", "Use draft, active, completed or cancelled.")
	}
	var p *Plan
	var refused error
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		refused = nil
		ids, err := client.RecordIDs(ctx, tx, clientID)
		if err != nil {
			return err
		}
		cur, err := findPlan(ctx, tx, ids, planID)
		if err != nil {
			return err
		}
		if cur.Version != in.Version {
			if cur.Document.Equal(in.Document) && (in.Status == "" || in.Status == cur.Status) {
				p = cur
				return nil
			}
			refused = conflict(cur, in.Document)
			if !in.Keep {
				return refused
			}
			a := actorOf(ctx)
			if err := keepConflict(ctx, tx, planID, a.ID, in.Version, in.Document); err != nil {
				return err
			}
			return audit.Write(ctx, tx, audit.Entry{Action: "plan.conflict.keep", ClientID: clientID, ObjectType: "plan", ObjectID: planID,
				Detail: "base=" + strconv.Itoa(in.Version) + " current=" + strconv.Itoa(cur.Version)})
		}
		kind := KindSaved
		if in.Autosave {
			kind = KindAutosave
		}
		p, err = apply(ctx, tx, clientID, cur, in.Document, in.Status, kind)
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return p, nil
}

// SetStatus moves the plan to status (draft → active or cancelled,
// active → completed or cancelled) if version is current. A person has
// one active plan at a time.
func (s *Service) SetStatus(ctx context.Context, clientID, planID string, version int, to Status) (*Plan, error) {
	if !slices.Contains(Statuses, to) {
		return nil, apperr.Field("status", "Use draft, active, completed or cancelled.")
	}
	var p *Plan
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		ids, err := client.RecordIDs(ctx, tx, clientID)
		if err != nil {
			return err
		}
		cur, err := findPlan(ctx, tx, ids, planID)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return apperr.StaleVersion("action plan", cur.Version)
		}
		p, err = apply(ctx, tx, clientID, cur, cur.Document, to, KindStatus)
		return err
	})
	return p, err
}

// apply writes d (and status, if set and different) as the plan's next
// version, with the version row, timeline line, audit row and event.
func apply(ctx context.Context, tx *db.Tx, clientID string, cur *Plan, d Document, status Status, kind Kind) (*Plan, error) {
	if !cur.Status.Editable() {
		return nil, apperr.New(apperr.Conflict, "This action plan is %s; it can no longer be changed.", cur.Status)
	}
	if status == "" {
		status = cur.Status
	}
	changes := Diff(cur.Document, d)
	if status != cur.Status {
		if !slices.Contains(cur.Status.Next(), status) {
			return nil, &apperr.Error{Code: apperr.Conflict, Message: fmt.Sprintf("An action plan that is %s cannot become %s.", cur.Status, status),
				Fields: []apperr.FieldError{{Field: "status", Message: fmt.Sprintf("A plan that is %s cannot become %s.", cur.Status, status)}}}
		}
		if status == Active {
			ids, err := client.RecordIDs(ctx, tx, clientID)
			if err != nil {
				return nil, err
			}
			other, err := activeOther(ctx, tx, ids, cur.ID)
			if err != nil {
				return nil, fmt.Errorf("plan: active plan: %w", err)
			}
			if other != "" {
				return nil, &apperr.Error{Code: apperr.Conflict, Message: "This client already has an active action plan; complete or cancel it first.",
					Detail: map[string]any{"active_plan_id": other}}
			}
		}
		changes = append([]Change{{Op: "changed", Field: "status", From: string(cur.Status), To: string(status)}}, changes...)
	}
	if len(changes) == 0 {
		return cur, nil
	}
	a := actorOf(ctx)
	p := *cur
	p.Document, p.Status, p.Version = d, status, cur.Version+1
	p.UpdatedAt, p.UpdatedBy, p.UpdatedByName = tx.Now, a.ID, a.Name
	switch status {
	case Active:
		if cur.Status != Active {
			p.ActivatedAt = tx.Now
		}
	case Completed, Cancelled:
		p.ClosedAt = tx.Now
	}
	if err := writePlan(ctx, tx, &p, cur.Version); err != nil {
		return nil, err
	}
	v := &Version{PlanID: p.ID, Version: p.Version, Status: status, Kind: kind, SavedAt: tx.Now, SavedBy: a.ID, SavedByName: a.Name, Changes: changes}
	if err := insertVersion(ctx, tx, v, d); err != nil {
		return nil, err
	}
	if status != cur.Status {
		line := map[Status]string{Active: "Action plan activated: ", Completed: "Action plan completed: ", Cancelled: "Action plan cancelled: ", Draft: "Action plan back to draft: "}[status]
		if err := client.AddHistory(ctx, tx, clientID, "plan", line+d.Title, "plan", p.ID); err != nil {
			return nil, err
		}
		if err := events.Emit(ctx, tx, "plan."+string(status), clientID, map[string]any{"client_id": clientID, "plan_id": p.ID, "version": p.Version}); err != nil {
			return nil, err
		}
	}
	detail := "version=" + strconv.Itoa(p.Version) + " kind=" + string(kind)
	if err := audit.Write(ctx, tx, audit.Entry{Action: "plan.update", ClientID: clientID, ObjectType: "plan", ObjectID: p.ID, Detail: detail}); err != nil {
		return nil, err
	}
	if err := events.Emit(ctx, tx, "plan.updated", clientID, map[string]any{"client_id": clientID, "plan_id": p.ID, "version": p.Version, "status": status, "kind": kind}); err != nil {
		return nil, err
	}
	return &p, nil
}

// ---------- Reads ----------

// Listing is a person's plans with who they are.
type Listing struct {
	Client client.Heading `json:"client"`
	Plans  []Summary      `json:"plans"`
}

func (s *Service) recordRead(ctx context.Context, action, clientID, planID string) error {
	e := audit.Entry{Action: action, ClientID: clientID, ObjectType: "plan", ObjectID: planID, Detail: readDetail}
	if planID == "" {
		e.ObjectType, e.ObjectID = "client", clientID
	}
	if err := s.Audit.RecordRead(ctx, e); err != nil {
		return fmt.Errorf("plan: audit read: %w", err)
	}
	return nil
}

// List returns the person's plans, newest first (audited).
func (s *Service) List(ctx context.Context, clientID string) (*Listing, error) {
	out, err := db.Read(ctx, s.DB, func(tx *db.Tx) (*Listing, error) {
		h, err := client.HeadingOf(ctx, tx, clientID)
		if err != nil {
			return nil, err
		}
		ids, err := client.RecordIDs(ctx, tx, clientID)
		if err != nil {
			return nil, err
		}
		plans, err := listPlans(ctx, tx, ids)
		if err != nil {
			return nil, err
		}
		l := &Listing{Client: h, Plans: []Summary{}}
		for _, p := range plans {
			g, m, done := p.Document.Counts()
			l.Plans = append(l.Plans, Summary{ID: p.ID, Title: p.Document.Title, Status: p.Status, PeriodStart: p.Document.PeriodStart,
				PeriodEnd: p.Document.PeriodEnd, Goals: g, Measures: m, MeasuresDone: done, Version: p.Version, UpdatedAt: p.UpdatedAt, UpdatedByName: p.UpdatedByName})
		}
		return l, nil
	})
	if err != nil {
		return nil, err
	}
	return out, s.recordRead(ctx, "plan.list.read", clientID, "")
}

// Read is a plan with who it is about and whether the reader has an open
// conflict on it.
type Read struct {
	Client   client.Heading `json:"client"`
	Plan     *Plan          `json:"plan"`
	Conflict bool           `json:"open_conflict"`
}

// Get reads a plan (audited).
func (s *Service) Get(ctx context.Context, clientID, planID string) (*Read, error) {
	out, err := db.Read(ctx, s.DB, func(tx *db.Tx) (*Read, error) {
		h, ids, err := heading(ctx, tx, clientID)
		if err != nil {
			return nil, err
		}
		p, err := findPlan(ctx, tx, ids, planID)
		if err != nil {
			return nil, err
		}
		_, _, _, open, err := findConflict(ctx, tx, planID, actorOf(ctx).ID)
		return &Read{Client: h, Plan: p, Conflict: open}, err
	})
	if err != nil {
		return nil, err
	}
	return out, s.recordRead(ctx, "plan.read", clientID, planID)
}

func heading(ctx context.Context, tx *db.Tx, clientID string) (client.Heading, []string, error) {
	h, err := client.HeadingOf(ctx, tx, clientID)
	if err != nil {
		return h, nil, err
	}
	ids, err := client.RecordIDs(ctx, tx, clientID)
	return h, ids, err
}

// History is a plan with its versions, newest first.
type History struct {
	Client   client.Heading `json:"client"`
	Plan     *Plan          `json:"plan"`
	Versions []Version      `json:"versions"`
}

// Versions lists a plan's versions without their documents (audited: the
// summaries name goals and measures).
func (s *Service) Versions(ctx context.Context, clientID, planID string) (*History, error) {
	out, err := db.Read(ctx, s.DB, func(tx *db.Tx) (*History, error) {
		h, ids, err := heading(ctx, tx, clientID)
		if err != nil {
			return nil, err
		}
		p, err := findPlan(ctx, tx, ids, planID)
		if err != nil {
			return nil, err
		}
		vs, err := loadVersions(ctx, tx, planID)
		return &History{Client: h, Plan: p, Versions: vs}, err
	})
	if err != nil {
		return nil, err
	}
	return out, s.recordRead(ctx, "plan.versions.read", clientID, planID)
}

// VersionRead is one version of a plan in full.
type VersionRead struct {
	Client  client.Heading `json:"client"`
	Plan    *Plan          `json:"plan"`
	Version *Version       `json:"version"`
}

// Version reads version n of a plan in full (audited).
func (s *Service) Version(ctx context.Context, clientID, planID string, n int) (*VersionRead, error) {
	out, err := db.Read(ctx, s.DB, func(tx *db.Tx) (*VersionRead, error) {
		h, ids, err := heading(ctx, tx, clientID)
		if err != nil {
			return nil, err
		}
		p, err := findPlan(ctx, tx, ids, planID)
		if err != nil {
			return nil, err
		}
		v, err := loadVersion(ctx, tx, planID, n)
		return &VersionRead{Client: h, Plan: p, Version: v}, err
	})
	if err != nil {
		return nil, err
	}
	return out, s.recordRead(ctx, "plan.version.read", clientID, planID)
}

// Conflict is the caller's refused save of a plan beside the stored plan.
type Conflict struct {
	Client client.Heading
	// Plan is the plan as stored now ("theirs").
	Plan *Plan
	// Mine is what the caller tried to save, starting from BaseVersion.
	Mine        Document
	BaseVersion int
	KeptAt      string
	// Entries are the differences, with the side chosen where only one
	// side changed since BaseVersion.
	Entries []Entry
	// TheirNames are who saved the versions after BaseVersion.
	TheirNames []string
}

// OpenConflict reads the caller's open conflict on a plan, or nil when
// there is none (audited when there is one).
func (s *Service) OpenConflict(ctx context.Context, clientID, planID string) (*Conflict, error) {
	out, err := db.Read(ctx, s.DB, func(tx *db.Tx) (*Conflict, error) {
		h, ids, err := heading(ctx, tx, clientID)
		if err != nil {
			return nil, err
		}
		p, err := findPlan(ctx, tx, ids, planID)
		if err != nil {
			return nil, err
		}
		return loadOpenConflict(ctx, tx, h, p, actorOf(ctx).ID)
	})
	if err != nil || out == nil {
		return nil, err
	}
	return out, s.recordRead(ctx, "plan.conflict.read", clientID, planID)
}

func loadOpenConflict(ctx context.Context, tx *db.Tx, h client.Heading, p *Plan, staffID string) (*Conflict, error) {
	base, mine, at, ok, err := findConflict(ctx, tx, p.ID, staffID)
	if err != nil || !ok {
		return nil, err
	}
	c := &Conflict{Client: h, Plan: p, Mine: mine, BaseVersion: base, KeptAt: at}
	bv, err := loadVersion(ctx, tx, p.ID, base)
	if err != nil {
		// The base is always kept; without it every difference is asked.
		bv = &Version{Document: &mine}
	}
	c.Entries = Compare(*bv.Document, mine, p.Document)
	vs, err := loadVersions(ctx, tx, p.ID)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.Version > base && !slices.Contains(c.TheirNames, v.SavedByName) {
			c.TheirNames = append(c.TheirNames, v.SavedByName)
		}
	}
	return c, nil
}

// Resolution is what the editor chose in a conflict: per entry key, or
// for everything at once (All is Mine or Theirs).
type Resolution struct {
	// Version is the stored version the choices were made against.
	Version int
	All     Side
	Choices map[string]Choice
}

// Resolve applies the caller's choices to their open conflict and saves
// the result as a new version (none when it equals the stored plan), and
// closes the conflict. An entry with neither a choice nor an automatic
// side is an invalid field "choice:<key>". If the plan moved on again
// since the choices were shown, the chosen result becomes the open
// conflict against the newer version and the answer is a conflict.
func (s *Service) Resolve(ctx context.Context, clientID, planID string, r Resolution) (*Plan, error) {
	var p *Plan
	var refused error
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		refused = nil
		h, ids, err := heading(ctx, tx, clientID)
		if err != nil {
			return err
		}
		cur, err := findPlan(ctx, tx, ids, planID)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		c, err := loadOpenConflict(ctx, tx, h, cur, a.ID)
		if err != nil {
			return err
		}
		if c == nil {
			return apperr.New(apperr.NotFound, "There is no open conflict on this action plan.")
		}
		theirs := cur
		if r.Version != cur.Version {
			v, err := loadVersion(ctx, tx, planID, r.Version)
			if err != nil {
				return apperr.Field("version", "Not a version of this action plan.")
			}
			theirs = &Plan{Document: *v.Document, Version: r.Version}
			bv, err := loadVersion(ctx, tx, planID, c.BaseVersion)
			if err != nil {
				return err
			}
			c.Entries = Compare(*bv.Document, c.Mine, theirs.Document)
		}
		choices := r.Choices
		if r.All == Mine || r.All == Theirs {
			choices = map[string]Choice{}
			for _, e := range c.Entries {
				choices[e.Key] = Choice{Side: r.All}
			}
		}
		merged, missing := Resolve(c.Entries, c.Mine, theirs.Document, choices)
		if len(missing) > 0 {
			var fe apperr.Fields
			for _, k := range missing {
				fe.Add("choice:"+k, "Choose which text to keep.")
			}
			return fe.Err()
		}
		if err := merged.Normalize(i18n.English); err != nil {
			return err
		}
		if r.Version != cur.Version {
			// Someone saved again while the choice was made: what was
			// chosen is the editor's text now, against the newer version.
			if err := keepConflict(ctx, tx, planID, a.ID, r.Version, merged); err != nil {
				return err
			}
			refused = conflict(cur, merged)
			return nil
		}
		if err := dropConflict(ctx, tx, planID, a.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "plan.conflict.resolve", ClientID: clientID, ObjectType: "plan", ObjectID: planID,
			Detail: "base=" + strconv.Itoa(c.BaseVersion) + " against=" + strconv.Itoa(cur.Version)}); err != nil {
			return err
		}
		p, err = apply(ctx, tx, clientID, cur, merged, "", KindResolved)
		return err
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return p, nil
}
