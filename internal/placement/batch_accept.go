// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/placement/solve"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
)

// Acceptance is one acceptance of all or part of a proposal: who, when,
// the moves chosen, those applied, and those refused with why.
type Acceptance struct {
	ID             string    `json:"id"`
	ProposalID     string    `json:"proposal_id"`
	AcceptedByID   string    `json:"accepted_by_id"`
	AcceptedByName string    `json:"accepted_by_name"`
	AcceptedAt     time.Time `json:"accepted_at"`
	Chosen         []int     `json:"chosen"`
	ApplyRest      bool      `json:"apply_rest"`
	// Status is applying while the moves are being made (an acceptance
	// interrupted there is finished by a repeat with the same key), then
	// done.
	Status  string    `json:"status"`
	Applied []int     `json:"applied"`
	Refused []Refusal `json:"refused"`

	key string
}

// Refusal is a move not applied, and why.
type Refusal struct {
	Seq    int  `json:"seq"`
	Reason Text `json:"reason"`
}

// AcceptRequest chooses the moves to apply by their seq (none: every move
// not yet applied). With ApplyRest, moves that have gone stale since the
// proposal are left out and the rest applied; without it, any stale move
// refuses the whole acceptance so that the user can look again.
type AcceptRequest struct {
	Moves     []int `json:"moves"`
	ApplyRest bool  `json:"apply_rest"`
}

// covers reports whether p's caseload covers every unit of the proposal.
func covers(p *access.Principal, pr *Proposal) bool {
	for _, u := range pr.Units {
		if !p.Covers(u.InstitutionID, u.UnitID) {
			return false
		}
	}
	return true
}

// Proposal reads a proposal with its moves and acceptances. It is
// NotFound unless p's caseload covers every unit it is about. Reading it
// is an audited read of every person in its move list.
func (b *Batch) Proposal(ctx context.Context, p *access.Principal, id string) (*Proposal, error) {
	pr, err := db.Read(ctx, b.DB, func(tx *db.Tx) (*Proposal, error) { return findProposal(ctx, tx, id) })
	if err != nil {
		return nil, err
	}
	if !covers(p, pr) {
		return nil, apperr.New(apperr.NotFound, "There is no such proposal.")
	}
	entries := []audit.Entry{{Action: "placement.proposal.read", ObjectType: "placement_proposal", ObjectID: pr.ID, Detail: readDetail}}
	for _, m := range pr.Moves {
		entries = append(entries, audit.Entry{Action: "placement.proposal.read", ClientID: m.ClientID, ObjectType: "placement_proposal", ObjectID: pr.ID, Detail: readDetail})
	}
	if err := b.Audit.RecordRead(ctx, entries...); err != nil {
		return nil, fmt.Errorf("placement: audit read: %w", err)
	}
	fill(pr)
	return pr, nil
}

// ProposalSummary is a line of the proposal list.
type ProposalSummary struct {
	ID            string    `json:"id"`
	Scope         string    `json:"scope"`
	ScopeName     string    `json:"scope_name"`
	CreatedByName string    `json:"created_by_name"`
	CreatedAt     time.Time `json:"created_at"`
	Status        string    `json:"status"`
	People        int       `json:"people"`
	Moves         int       `json:"moves"`
	Applied       int       `json:"applied"`
	Before        int64     `json:"before"`
	After         *int64    `json:"after,omitempty"`
}

// Proposals lists the newest proposals whose units p's caseload covers.
// It names no person.
func (b *Batch) Proposals(ctx context.Context, p *access.Principal, limit int) ([]ProposalSummary, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return db.Read(ctx, b.DB, func(tx *db.Tx) ([]ProposalSummary, error) {
		list, err := listProposals(ctx, tx, 500)
		if err != nil {
			return nil, err
		}
		var ids []string
		out := []ProposalSummary{}
		for _, pr := range list {
			if !covers(p, pr) || len(out) == limit {
				continue
			}
			s := ProposalSummary{ID: pr.ID, Scope: pr.Scope, ScopeName: pr.ScopeName, CreatedByName: pr.CreatedByName, CreatedAt: pr.CreatedAt,
				Status: pr.Status, People: pr.People, Before: pr.Before.Total}
			if pr.After != nil {
				s.After = &pr.After.Total
			}
			out = append(out, s)
			ids = append(ids, pr.ID)
		}
		counts, err := moveCounts(ctx, tx, ids)
		for i := range out {
			out[i].Moves, out[i].Applied = counts[out[i].ID][0], counts[out[i].ID][1]
		}
		return out, err
	})
}

// step is one transfer in the order of application; temp marks a bed
// taken on the way, to free a cell for a swap.
type step struct {
	seq      int
	client   int
	from, to int
	temp     bool
}

// Accept applies the chosen moves of a proposal through the client
// register's transfer (bed counters, movement, audit, timeline, events),
// in an order that never puts more people in a cell than it has beds: a
// swap or a ring of moves between full cells passes one person through a
// free bed that breaks no rule. Before anything moves, the proposal is
// checked against the present state: a move whose person has moved or
// left, or whose cell has closed, is stale (refused with why; the others
// are applied only with ApplyRest), and the chosen moves applied on their
// own to the beds as they are now must not break a hard rule the
// placement does not break already (half a swap over-fills a cell) —
// such a choice is refused whole, with the reasons, for the user to
// adjust. A move applied already is skipped, and a repeat with the same
// key returns the first acceptance.
func (b *Batch) Accept(ctx context.Context, p *access.Principal, id string, req AcceptRequest, key string) (*Acceptance, error) {
	a := actorOf(ctx)
	pr, err := db.Read(ctx, b.DB, func(tx *db.Tx) (*Proposal, error) { return findProposal(ctx, tx, id) })
	if err != nil {
		return nil, err
	}
	if !covers(p, pr) {
		return nil, apperr.New(apperr.NotFound, "There is no such proposal.")
	}
	var acc *Acceptance
	if key != "" {
		acc, err = db.Read(ctx, b.DB, func(tx *db.Tx) (*Acceptance, error) { return acceptanceByKey(ctx, tx, id, a.ID, key) })
		if err != nil {
			return nil, err
		}
		if acc != nil && acc.Status == "done" {
			fillAcceptance(acc)
			return acc, nil
		}
	}
	if pr.Status == StatusInfeasible {
		return nil, apperr.New(apperr.Conflict, "This proposal has no moves to accept: no placement keeps every rule.")
	}
	bySeq := map[int]*ProposedMove{}
	for i := range pr.Moves {
		bySeq[pr.Moves[i].Seq] = &pr.Moves[i]
	}
	chosen := slices.Clone(req.Moves)
	if acc != nil {
		chosen = acc.Chosen
	}
	if len(chosen) == 0 {
		for _, m := range pr.Moves {
			if m.Status == MoveProposed {
				chosen = append(chosen, m.Seq)
			}
		}
	}
	slices.Sort(chosen)
	chosen = slices.Compact(chosen)
	for i, s := range chosen {
		if bySeq[s] == nil {
			return nil, apperr.Field(fmt.Sprintf("moves[%d]", i), "There is no such move in this proposal.")
		}
	}
	if len(chosen) == 0 {
		return nil, apperr.Field("moves", "Choose at least one move.")
	}

	// The present state of the proposal's units.
	units := map[string]bool{}
	for _, u := range pr.Units {
		units[u.UnitID] = true
	}
	w, err := buildWorld(ctx, b.Estate, b.Client, b.Rules, func(inst, u estate.Location) bool { return units[u.ID] && p.Covers(inst.ID, u.ID) }, "")
	if err != nil {
		return nil, err
	}
	in := withoutLocks(w.in)
	now := currentCells(in)

	var refused []Refusal
	var done []int
	var todo []step
	for _, s := range chosen {
		m := bySeq[s]
		if m.Status == MoveApplied {
			done = append(done, s)
			continue
		}
		c, ok := w.idx[m.ClientID]
		if !ok {
			refused = append(refused, Refusal{s, text("placement.batch.stale.gone", m.ClientName)})
			continue
		}
		k, ok := w.cellIdx[m.ToCellID]
		switch {
		case w.people[c].CellID == m.ToCellID:
			// Moved there already: by an acceptance cut short before
			// it recorded the move, or by hand.
			todo = append(todo, step{seq: s, client: c, from: k, to: k})
		case w.people[c].CellID != m.FromCellID:
			refused = append(refused, Refusal{s, text("placement.batch.stale.moved", m.ClientName, placeName(w, in.Clients[c].Current))})
		case !ok:
			refused = append(refused, Refusal{s, text("placement.batch.stale.cell_gone", m.ClientName, m.ToPlace)})
		case in.Cells[k].OutOfUse:
			refused = append(refused, Refusal{s, text("placement.batch.stale.closed", m.ClientName, m.ToPlace)})
		default:
			todo = append(todo, step{seq: s, client: c, from: in.Clients[c].Current, to: k})
		}
	}
	if len(refused) > 0 && !req.ApplyRest {
		return nil, refusal("Some of the chosen moves are stale: the placement has changed since the proposal.", refused)
	}
	// The chosen moves on their own, on the beds as they are now.
	next := slices.Clone(now)
	for _, st := range todo {
		next[st.client] = st.to
	}
	if bad := newViolations(in, now, next); len(bad) > 0 {
		var rs []Refusal
		for _, v := range bad {
			seq := 0
			for _, st := range todo {
				if slices.Contains(v.Clients, st.client) {
					seq = st.seq
					break
				}
			}
			rs = append(rs, Refusal{seq, violationText(w, v, -1)})
		}
		return nil, refusal("The chosen moves break a placement rule when applied without the others.", rs)
	}
	steps, stuck := order(w, in, now, todo)
	if len(stuck) > 0 {
		var rs []Refusal
		for _, st := range stuck {
			rs = append(rs, Refusal{st.seq, text("placement.batch.refuse.swap", w.people[st.client].Name())})
		}
		return nil, refusal("These moves need a free bed to pass through, and there is none that keeps every rule.", rs)
	}

	if acc == nil {
		acc = &Acceptance{ID: db.NewID(), ProposalID: id, AcceptedByID: a.ID, AcceptedByName: a.Name, Chosen: chosen, ApplyRest: req.ApplyRest, Status: "applying", key: key}
		err = b.DB.Transact(ctx, func(tx *db.Tx) error {
			acc.AcceptedAt = tx.Now
			if err := insertAcceptance(ctx, tx, acc); err != nil {
				return err
			}
			return audit.Write(ctx, tx, audit.Entry{Action: "placement.proposal.accept", ObjectType: "placement_proposal", ObjectID: id,
				Detail: fmt.Sprintf("acceptance=%s chosen=%d stale=%d", acc.ID, len(chosen), len(refused))})
		})
		if db.IsUniqueViolation(err) {
			// The same key, sent twice at once: the other request applies.
			return nil, apperr.New(apperr.Conflict, "This acceptance is being applied; reload the proposal.")
		}
		if err != nil {
			return nil, err
		}
	}
	acc.Refused, acc.Applied = refused, done

	short := id[max(0, len(id)-6):]
	for i, st := range steps {
		m := bySeq[st.seq]
		reason := fmt.Sprintf("Batch placement %s: %s → %s", short, m.FromPlace, m.ToPlace)
		if st.temp {
			reason = fmt.Sprintf("Batch placement %s: a bed on the way to %s, to free a cell for a swap", short, m.ToPlace)
		}
		err := b.transfer(ctx, m.ClientID, w.cells[st.from].ID, w.cells[st.to].ID, reason)
		if err != nil {
			if _, ok := apperr.As(err); !ok {
				return nil, err
			}
			// Someone moved a person or took a bed meanwhile: stop here,
			// with what was done recorded.
			for _, rest := range steps[i:] {
				if !rest.temp && !slices.ContainsFunc(acc.Refused, func(r Refusal) bool { return r.Seq == rest.seq }) {
					acc.Refused = append(acc.Refused, Refusal{rest.seq, text("placement.batch.refuse.failed", bySeq[rest.seq].ClientName, err.Error())})
				}
			}
			break
		}
		if st.temp {
			continue
		}
		acc.Applied = append(acc.Applied, st.seq)
		err = b.DB.Transact(ctx, func(tx *db.Tx) error {
			if err := markApplied(ctx, tx, id, st.seq, acc.ID, a.ID, a.Name); err != nil {
				return err
			}
			return audit.Write(ctx, tx, audit.Entry{Action: "placement.proposal.move_applied", ClientID: m.ClientID, ObjectType: "placement_proposal", ObjectID: id,
				Detail: fmt.Sprintf("acceptance=%s seq=%d", acc.ID, st.seq)})
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(acc.Applied)
	acc.Status = "done"
	err = b.DB.Transact(ctx, func(tx *db.Tx) error {
		if err := updateAcceptance(ctx, tx, acc); err != nil {
			return err
		}
		status, err := settleProposal(ctx, tx, id)
		if err != nil {
			return err
		}
		return events.Emit(ctx, tx, "placement.proposal_accepted", id, map[string]any{"proposal_id": id, "acceptance_id": acc.ID,
			"applied": len(acc.Applied), "refused": len(acc.Refused), "status": status})
	})
	if err != nil {
		return nil, err
	}
	fillAcceptance(acc)
	return acc, nil
}

// transfer moves a person from one cell to another through the client
// register; one already in the target cell is left there, so repeating
// an interrupted acceptance moves nobody twice.
func (b *Batch) transfer(ctx context.Context, clientID, from, to, reason string) error {
	c, err := b.Client.Get(ctx, clientID)
	if err != nil {
		return err
	}
	if c.Location != nil && c.Location.CellID == to {
		return nil
	}
	if c.Location == nil || c.Location.CellID != from {
		return apperr.New(apperr.Conflict, "%s has been moved meanwhile.", c.Name())
	}
	_, err = b.Client.MoveClient(ctx, clientID, client.Move{Action: client.Transfer, Version: c.Version, CellID: to, Reason: reason})
	return err
}

func refusal(msg string, rs []Refusal) error {
	for i := range rs {
		rs[i].Reason.Message = rs[i].Reason.In("en")
	}
	lines := make([]string, len(rs))
	for i, r := range rs {
		lines[i] = r.Reason.Message
	}
	return &apperr.Error{Code: apperr.Conflict, Message: msg + " " + strings.Join(lines, "; ") + ".", Detail: map[string]any{"refused": rs}}
}

// Refusals are the refused moves an Accept error carries, or nil.
func Refusals(err error) []Refusal {
	e, ok := apperr.As(err)
	if !ok {
		return nil
	}
	rs, _ := e.Detail["refused"].([]Refusal)
	return rs
}

func fillAcceptance(a *Acceptance) {
	for i := range a.Refused {
		a.Refused[i].Reason.Message = a.Refused[i].Reason.In("en")
	}
}

func violationKey(v solve.Violation) string {
	cs := slices.Clone(v.Clients)
	slices.Sort(cs)
	ks := slices.Clone(v.Cells)
	slices.Sort(ks)
	return fmt.Sprint(v.Rule, cs, ks)
}

// newViolations lists the hard rules the placement next breaks that base
// does not.
func newViolations(in *solve.Instance, base, next []int) []solve.Violation {
	had := map[string]bool{}
	for _, v := range solve.Check(in, &solve.Solution{Cell: base}) {
		had[violationKey(v)] = true
	}
	var out []solve.Violation
	for _, v := range solve.Check(in, &solve.Solution{Cell: next}) {
		if !had[violationKey(v)] {
			out = append(out, v)
		}
	}
	return out
}

// order puts the transfers in an order in which every target cell has a
// free bed when its turn comes (the beds as the estate counts them). When
// the moves left form rings between full cells, one person of a ring goes
// to a free bed first — one where they break no rule that was not broken
// before — and on from there. Moves it cannot order are returned as stuck.
func order(w *world, in *solve.Instance, now []int, todo []step) (steps, stuck []step) {
	occ := make([]int, len(in.Cells))
	for k, ce := range w.cells {
		occ[k] = ce.Occupied
	}
	state := slices.Clone(now)
	pending := slices.Clone(todo)
	place := func(st step) {
		if st.from != st.to {
			occ[st.to]++
			if st.from != solve.NoCell {
				occ[st.from]--
			}
		}
		state[st.client] = st.to
		steps = append(steps, st)
	}
	for len(pending) > 0 {
		progress := false
		for i := 0; i < len(pending); i++ {
			st := pending[i]
			if st.from == st.to || occ[st.to] < in.Cells[st.to].Capacity {
				place(st)
				pending = slices.Delete(pending, i, i+1)
				i--
				progress = true
			}
		}
		if progress {
			continue
		}
		// A ring: pass one of its people through a free bed.
		moved := false
		for i, st := range pending {
			for k := range in.Cells {
				if k == st.from || k == st.to || in.Cells[k].OutOfUse || occ[k] >= in.Cells[k].Capacity {
					continue
				}
				trial := slices.Clone(state)
				trial[st.client] = k
				if len(newViolations(in, state, trial)) > 0 {
					continue
				}
				place(step{seq: st.seq, client: st.client, from: st.from, to: k, temp: true})
				pending[i].from = k
				moved = true
				break
			}
			if moved {
				break
			}
		}
		if !moved {
			return steps, pending
		}
	}
	return steps, nil
}
