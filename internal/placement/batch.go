// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	"github.com/custodia/custodia/internal/platform/i18n"
)

// Batch proposes batch placements — the day's intake, or a re-plan of a
// unit, an institution or the whole caseload — with the optimiser, keeps
// each proposal for review, and applies all or part of its moves through
// the client register's transfer.
//
// Access: the web layer has checked the role (placement.read to see,
// placement.write to propose, placement.accept to accept). A proposal
// covers only units in the caseload of the person who made it, and is
// found only by callers whose caseload covers every one of its units;
// others get NotFound.
type Batch struct {
	DB     *db.DB
	Audit  *audit.Log
	Rules  *Service
	Client *client.Service
	Estate *estate.Service
	// TimeLimit bounds one run of the optimiser (default 5 s).
	TimeLimit time.Duration
	// Seed makes the optimiser's random choices repeatable.
	Seed uint64
}

// The scopes of a proposal.
const (
	ProposeUnit        = "unit"
	ProposeInstitution = "institution"
	ProposeCaseload    = "caseload"
	ProposeIntake      = "intake"
)

// ProposalScopes lists the scopes in the order the UI offers them.
var ProposalScopes = []string{ProposeIntake, ProposeUnit, ProposeInstitution, ProposeCaseload}

// The statuses of a proposal and of its moves.
const (
	StatusProposed   = "proposed"   // nothing applied yet
	StatusInfeasible = "infeasible" // no placement keeps every hard rule
	StatusPartly     = "partly_applied"
	StatusApplied    = "applied" // every move applied
	MoveProposed     = "proposed"
	MoveApplied      = "applied"
)

// maxTimeLimit bounds what a caller may ask the optimiser for: a page
// waits for the answer.
const maxTimeLimit = 30 * time.Second

// Lock pins a person in a proposal: to a given cell, or, with no cell,
// where they are now.
type Lock struct {
	ClientID string `json:"client_id"`
	CellID   string `json:"cell_id,omitempty"`
}

// NewProposal asks for a proposal. LocationID names the unit or the
// institution for those scopes.
type NewProposal struct {
	Scope       string `json:"scope"`
	LocationID  string `json:"location_id,omitempty"`
	Locks       []Lock `json:"locks,omitempty"`
	TimeLimitMS int    `json:"time_limit_ms,omitempty"`
}

// Cost is the objective broken down by term, in points; lower is better.
type Cost struct {
	Risk      int64 `json:"risk"`
	Violence  int64 `json:"violence"`
	Distance  int64 `json:"distance"`
	Language  int64 `json:"language"`
	Programme int64 `json:"programme"`
	Move      int64 `json:"move"`
	Smoking   int64 `json:"smoking"`
	Total     int64 `json:"total"`
}

func costOf(c solve.Cost) Cost {
	return Cost{Risk: c.Risk, Violence: c.Violence, Distance: c.Distance, Language: c.Language, Programme: c.Programme, Move: c.Move, Smoking: c.Smoking, Total: c.Total}
}

// Terms are the cost's terms in display order, named as the i18n keys
// placement.batch.term.<name> do.
func (c Cost) Terms() []Term {
	return []Term{{"risk", c.Risk}, {"violence", c.Violence}, {"move", c.Move}, {"smoking", c.Smoking}, {"distance", c.Distance}, {"language", c.Language}, {"programme", c.Programme}}
}

// Term is one term of a cost.
type Term struct {
	Name   string
	Points int64
}

// Text is a message kept as its catalogue key and arguments, so that it
// is shown in the reader's language; Message is the English text.
type Text struct {
	Key  string   `json:"key"`
	Args []string `json:"args,omitempty"`
	// Inner, when set, is rendered and passed as the last argument.
	Inner   *Text  `json:"inner,omitempty"`
	Message string `json:"message"`
}

func text(key string, args ...string) Text { return Text{Key: key, Args: args} }

// In renders the text in lang.
func (t Text) In(lang i18n.Lang) string {
	args := make([]any, 0, len(t.Args)+1)
	for _, a := range t.Args {
		args = append(args, a)
	}
	if t.Inner != nil {
		args = append(args, t.Inner.In(lang))
	}
	return i18n.T(lang, t.Key, args...)
}

// ProposedMove is one person's change of cell in a proposal.
type ProposedMove struct {
	Seq           int       `json:"seq"`
	ClientID      string    `json:"client_id"`
	ClientName    string    `json:"client_name"`
	ClientNumber  string    `json:"client_number"`
	FromCellID    string    `json:"from_cell_id"`
	FromPlace     string    `json:"from_place"`
	ToCellID      string    `json:"to_cell_id"`
	ToPlace       string    `json:"to_place"`
	Reasons       []Text    `json:"reasons"`
	Status        string    `json:"status"`
	AppliedAt     time.Time `json:"applied_at,omitzero"`
	AppliedByName string    `json:"applied_by_name,omitempty"`
	AcceptanceID  string    `json:"acceptance_id,omitempty"`
}

// Conflict is a set of hard rules that cannot all hold for the people
// named: why there is no feasible placement.
type Conflict struct {
	Rules   []string `json:"rules"`
	People  []string `json:"people"`
	Message string   `json:"message"`
}

// Proposal is a stored batch placement proposal.
type Proposal struct {
	ID            string    `json:"id"`
	Scope         string    `json:"scope"`
	LocationID    string    `json:"location_id,omitempty"`
	ScopeName     string    `json:"scope_name"`
	Units         []UnitRef `json:"units"`
	CreatedByID   string    `json:"created_by_id"`
	CreatedByName string    `json:"created_by_name"`
	CreatedAt     time.Time `json:"created_at"`
	Status        string    `json:"status"`
	// Fingerprint identifies the state it was computed on: every
	// person's cell and every cell's beds and closure.
	Fingerprint string `json:"fingerprint"`
	People      int    `json:"people"`
	Locks       []Lock `json:"locks"`
	Before      Cost   `json:"before"`
	// After is nil when there is no feasible placement.
	After *Cost `json:"after,omitempty"`
	// BrokenBefore lists the hard rules the placement breaks now.
	BrokenBefore []Text `json:"broken_before"`
	// Conflicts explain an infeasible proposal; Proven says a counting
	// argument shows no placement exists (otherwise the search found
	// none in its time).
	Conflicts   []Conflict     `json:"conflicts"`
	Proven      bool           `json:"proven"`
	ElapsedMS   int            `json:"elapsed_ms"`
	Moves       []ProposedMove `json:"moves"`
	Acceptances []Acceptance   `json:"acceptances"`
	Version     int            `json:"version"`

	snap snapshot
}

// Pending is the number of moves not yet applied.
func (p *Proposal) Pending() int {
	n := 0
	for _, m := range p.Moves {
		if m.Status == MoveProposed {
			n++
		}
	}
	return n
}

// LockOf is the lock on a person in this proposal ("" none, "stay", or
// "cell:<id>").
func (p *Proposal) LockOf(clientID string) string {
	for _, l := range p.Locks {
		if l.ClientID == clientID {
			if l.CellID == "" {
				return "stay"
			}
			return "cell:" + l.CellID
		}
	}
	return ""
}

// Moved reports whether the person has a move not yet applied: the
// proposal page offers a lock for them beside the move.
func (p *Proposal) Moved(clientID string) bool {
	return slices.ContainsFunc(p.Moves, func(m ProposedMove) bool { return m.ClientID == clientID && m.Status == MoveProposed })
}

// snapshot is what a proposal was computed on.
type snapshot struct {
	People map[string]string    `json:"people"` // person id → cell id
	Cells  map[string]cellState `json:"cells"`
}

type cellState struct {
	Capacity int  `json:"capacity"`
	OutOfUse bool `json:"out_of_use"`
}

func snapshotOf(w *world) (snapshot, string) {
	s := snapshot{People: map[string]string{}, Cells: map[string]cellState{}}
	var lines []string
	for _, o := range w.people {
		s.People[o.ID] = o.CellID
		lines = append(lines, "p "+o.ID+" "+o.CellID)
	}
	for _, c := range w.cells {
		s.Cells[c.ID] = cellState{Capacity: c.Capacity, OutOfUse: c.OutOfUse != nil}
		lines = append(lines, fmt.Sprintf("c %s %d %t", c.ID, c.Capacity, c.OutOfUse != nil))
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return s, hex.EncodeToString(sum[:12])
}

// scopeFilter decides which units of the estate a proposal covers: those
// of the scope that p's caseload covers.
func (b *Batch) scopeFilter(ctx context.Context, p *access.Principal, n *NewProposal) (func(inst, u estate.Location) bool, string, error) {
	covered := func(inst, u estate.Location) bool { return p.Covers(inst.ID, u.ID) }
	switch n.Scope {
	case ProposeCaseload, ProposeIntake:
		n.LocationID = ""
		return covered, "", nil
	case ProposeUnit, ProposeInstitution:
	default:
		return nil, "", apperr.Field("scope", "Choose from: "+strings.Join(ProposalScopes, ", ")+".")
	}
	if n.LocationID == "" {
		return nil, "", apperr.Field("location_id", "Choose a unit or an institution of your caseload.")
	}
	tree, err := b.Estate.Tree(ctx)
	if err != nil {
		return nil, "", err
	}
	for _, inst := range tree {
		if n.Scope == ProposeInstitution && inst.ID == n.LocationID {
			return func(i, u estate.Location) bool { return i.ID == inst.ID && covered(i, u) }, inst.Name, nil
		}
		for _, u := range inst.Units {
			if n.Scope == ProposeUnit && u.ID == n.LocationID {
				return func(i, x estate.Location) bool { return x.ID == u.ID && covered(i, x) }, inst.Name + ", " + u.Name, nil
			}
		}
	}
	return nil, "", apperr.Field("location_id", "Choose a unit or an institution of your caseload.")
}

// withoutLocks is the instance with every lock taken off: what "breaks a
// rule now" is measured on (a lock is the user's wish, not a rule the
// present placement breaks).
func withoutLocks(in *solve.Instance) *solve.Instance {
	out := *in
	out.Clients = slices.Clone(in.Clients)
	for i := range out.Clients {
		out.Clients[i].Lock = solve.NoCell
	}
	return &out
}

func currentCells(in *solve.Instance) []int {
	cur := make([]int, len(in.Clients))
	for i, c := range in.Clients {
		cur[i] = c.Current
	}
	return cur
}

// Propose runs the optimiser on the scope's units and stores the answer:
// the moves with their reasons, the cost before and after by term, or,
// when no placement keeps every hard rule, which rules conflict for whom
// (never a partial placement). A proposal never breaks a hard rule: the
// solution is checked again before it is stored.
func (b *Batch) Propose(ctx context.Context, p *access.Principal, n NewProposal) (*Proposal, error) {
	if n.TimeLimitMS < 0 || time.Duration(n.TimeLimitMS)*time.Millisecond > maxTimeLimit {
		return nil, apperr.Field("time_limit_ms", fmt.Sprintf("At most %d.", maxTimeLimit.Milliseconds()))
	}
	if len(n.Locks) > 1000 {
		return nil, apperr.Field("locks", "At most 1000.")
	}
	include, name, err := b.scopeFilter(ctx, p, &n)
	if err != nil {
		return nil, err
	}
	w, err := buildWorld(ctx, b.Estate, b.Client, b.Rules, include, "")
	if err != nil {
		return nil, err
	}
	if len(w.units) == 0 {
		return nil, apperr.Field("location_id", "Choose a unit or an institution of your caseload.")
	}
	if name == "" {
		name = w.units[0].InstitutionName
		if len(w.units) > 1 {
			name = fmt.Sprintf("%d units", len(w.units))
		}
	}
	in := w.in
	now := b.DB.Now()
	if n.Scope == ProposeIntake {
		// Only today's admissions move; everyone else holds their bed.
		for i, o := range w.people {
			if dateOf(o.AdmittedAt) != dateOf(now) && in.Clients[i].Current != solve.NoCell {
				in.Clients[i].Lock = in.Clients[i].Current
			}
		}
	}
	var fe apperr.Fields
	var locks []Lock
	for i, l := range n.Locks {
		c, ok := w.idx[strings.TrimSpace(l.ClientID)]
		if !ok {
			fe.Add(fmt.Sprintf("locks[%d].client_id", i), "This person is not on the roll of the chosen units.")
			continue
		}
		k := in.Clients[c].Current
		if l.CellID != "" {
			var ok bool
			if k, ok = w.cellIdx[l.CellID]; !ok {
				fe.Add(fmt.Sprintf("locks[%d].cell_id", i), "This cell is not in the chosen units.")
				continue
			}
		}
		if k == solve.NoCell {
			continue
		}
		in.Clients[c].Lock = k
		locks = append(locks, Lock{ClientID: w.people[c].ID, CellID: l.CellID})
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	limit := cmp.Or(time.Duration(n.TimeLimitMS)*time.Millisecond, b.TimeLimit, 5*time.Second)

	free := withoutLocks(in)
	cur := currentCells(in)
	snap, fp := snapshotOf(w)
	a := actorOf(ctx)
	pr := &Proposal{ID: db.NewID(), Scope: n.Scope, LocationID: n.LocationID, ScopeName: name, Units: w.units, CreatedByID: a.ID, CreatedByName: a.Name,
		Fingerprint: fp, People: len(w.people), Locks: locks, Before: costOf(solve.Evaluate(in, cur)), Version: 1, snap: snap,
		BrokenBefore: []Text{}, Conflicts: []Conflict{}, Moves: []ProposedMove{}, Acceptances: []Acceptance{}}
	broken := solve.Check(free, &solve.Solution{Cell: cur})
	for _, v := range broken {
		pr.BrokenBefore = append(pr.BrokenBefore, violationText(w, v, -1))
	}

	start := time.Now()
	sol, err := solve.Solve(ctx, in, solve.Options{TimeLimit: limit, Seed: b.Seed})
	pr.ElapsedMS = int(time.Since(start).Milliseconds())
	var inf *solve.Infeasible
	switch {
	case errors.As(err, &inf):
		pr.Status, pr.Proven = StatusInfeasible, inf.Proven
		for _, c := range inf.Conflicts {
			pr.Conflicts = append(pr.Conflicts, conflictOf(w, c))
		}
	case err != nil:
		return nil, fmt.Errorf("placement: solve: %w", err)
	default:
		// Staying put is a placement too: when it keeps every rule and
		// costs no more, there is nothing to propose.
		if stay := (&solve.Solution{Cell: cur}); len(solve.Check(in, stay)) == 0 && solve.Evaluate(in, cur).Total <= sol.Cost.Total {
			sol = solve.NewSolution(in, cur)
		}
		if v := solve.Check(in, sol); len(v) > 0 {
			return nil, fmt.Errorf("placement: the optimiser's answer breaks a hard rule: %s", v[0].Message)
		}
		after := costOf(sol.Cost)
		pr.After, pr.Status = &after, StatusProposed
		pr.Moves = movesOf(w, sol, broken)
	}

	err = b.DB.Transact(ctx, func(tx *db.Tx) error {
		pr.CreatedAt = tx.Now
		if err := insertProposal(ctx, tx, pr); err != nil {
			return err
		}
		entries := []audit.Entry{{Action: "placement.proposal.create", ObjectType: "placement_proposal", ObjectID: pr.ID,
			Detail: fmt.Sprintf("scope=%s people=%d moves=%d status=%s", pr.Scope, pr.People, len(pr.Moves), pr.Status)}}
		for _, m := range pr.Moves {
			entries = append(entries, audit.Entry{Action: "placement.proposal.create", ClientID: m.ClientID, ObjectType: "placement_proposal", ObjectID: pr.ID, Detail: "proposed move"})
		}
		if err := audit.Write(ctx, tx, entries...); err != nil {
			return err
		}
		// No names: events travel to other systems.
		return events.Emit(ctx, tx, "placement.proposal_created", pr.ID, map[string]any{"proposal_id": pr.ID, "scope": pr.Scope,
			"location_id": pr.LocationID, "moves": len(pr.Moves), "status": pr.Status})
	})
	if err != nil {
		return nil, err
	}
	fill(pr)
	return pr, nil
}

func placeName(w *world, k int) string {
	if k < 0 || k >= len(w.cells) {
		return ""
	}
	ce := w.cells[k]
	return w.where[ce.ID][1] + ", " + w.where[ce.ID][0] + " " + ce.Label
}

// movesOf lists the solution's moves with why each is proposed: the
// rules the person's present cell breaks, a lock, and the cell-mate
// points before and after.
func movesOf(w *world, sol *solve.Solution, broken []solve.Violation) []ProposedMove {
	in := w.in
	mates := func(cells []int, c int) int64 {
		k := cells[c]
		var pts int64
		for o, ko := range cells {
			if o != c && ko == k && k != solve.NoCell {
				pts += pairPoints(in, k, c, o)
			}
		}
		return pts
	}
	cur := currentCells(in)
	out := []ProposedMove{}
	for _, mv := range sol.Moves {
		c := mv.Client
		o := w.people[c]
		m := ProposedMove{Seq: len(out) + 1, ClientID: o.ID, ClientName: o.Name(), ClientNumber: o.Number, Status: MoveProposed,
			ToCellID: w.cells[mv.To].ID, ToPlace: placeName(w, mv.To), Reasons: []Text{}}
		if mv.From != solve.NoCell {
			m.FromCellID, m.FromPlace = w.cells[mv.From].ID, placeName(w, mv.From)
		}
		for _, v := range broken {
			if slices.Contains(v.Clients, c) {
				r := ruleText(w, v, c)
				m.Reasons = append(m.Reasons, Text{Key: "placement.batch.reason.now", Inner: &r})
			}
		}
		if in.Clients[c].Lock == mv.To {
			m.Reasons = append(m.Reasons, text("placement.batch.reason.locked"))
		}
		before, after := mates(cur, c), mates(sol.Cell, c)
		if before != after {
			m.Reasons = append(m.Reasons, text("placement.batch.reason.mates", fmt.Sprint(before), fmt.Sprint(after)))
		}
		if len(m.Reasons) == 0 {
			m.Reasons = append(m.Reasons, text("placement.batch.reason.makes_room"))
		}
		out = append(out, m)
	}
	return out
}

// pairPoints is what a and b cost by sharing cell k, by the weights of
// its institution (as solve.Evaluate counts them).
func pairPoints(in *solve.Instance, k, a, b int) int64 {
	w := weightsAt(in, k)
	ca, cb := in.Clients[a], in.Clients[b]
	t := w.Risk * int64(ca.Risk) * int64(cb.Risk) / 100
	if ca.Violence {
		t += w.Violence
	}
	if cb.Violence {
		t += w.Violence
	}
	return t
}

// violationText says what rule v breaks for whom: "<person>: <rule>",
// from the point of view of client subject (-1: the first named).
func violationText(w *world, v solve.Violation, subject int) Text {
	if subject < 0 && len(v.Clients) > 0 {
		subject = v.Clients[0]
	}
	t := ruleText(w, v, subject)
	if v.Rule == solve.RuleCapacity || subject < 0 {
		return t
	}
	return Text{Key: "placement.batch.who", Args: []string{w.people[subject].Name()}, Inner: &t}
}

// ruleText says what rule v breaks for client subject, naming the other
// person where there is one.
func ruleText(w *world, v solve.Violation, subject int) Text {
	other := -1
	for _, c := range v.Clients {
		if c != subject {
			other = c
			break
		}
	}
	name := func(i int) string { return w.people[i].Name() }
	key := "placement.move.why." + strings.ReplaceAll(string(v.Rule), "-", "_")
	switch v.Rule {
	case solve.RuleCapacity:
		cell := -1
		if len(v.Cells) > 0 {
			cell = v.Cells[0]
		}
		return text("placement.batch.capacity", placeName(w, cell), fmt.Sprint(len(v.Clients)), fmt.Sprint(w.in.Cells[max(cell, 0)].Capacity))
	case solve.RuleSharing:
		switch {
		case subject >= 0 && !w.sharing[subject]:
			return text("placement.move.why.unassessed")
		case other >= 0 && !w.sharing[other]:
			return text("placement.move.why.other_unassessed", name(other))
		case other >= 0:
			return text("placement.move.why.sharing", name(other))
		}
	case solve.RuleGender, solve.RuleRestricted:
		if other >= 0 {
			return text("placement.move.why.mate_"+string(v.Rule), name(other))
		}
	case solve.RuleNonAssocCel, solve.RuleNonAssocUni, solve.RuleNonAssocIns:
		if other >= 0 {
			return text(key, name(other))
		}
	}
	return text(key)
}

func conflictOf(w *world, c solve.Conflict) Conflict {
	out := Conflict{Message: c.Message}
	for _, r := range c.Rules {
		out.Rules = append(out.Rules, string(r))
	}
	for _, i := range c.Clients {
		if i >= 0 && i < len(w.people) {
			out.People = append(out.People, w.people[i].Name())
			out.Message = strings.ReplaceAll(out.Message, w.people[i].ID, w.people[i].Name())
		}
	}
	for _, ce := range w.cells {
		out.Message = strings.ReplaceAll(out.Message, ce.ID, w.where[ce.ID][0]+" "+ce.Label)
	}
	for _, u := range w.units {
		out.Message = strings.ReplaceAll(out.Message, u.UnitID, u.UnitName)
		out.Message = strings.ReplaceAll(out.Message, u.InstitutionID, u.InstitutionName)
	}
	return out
}

// fill sets the English text of every message, for the API.
func fill(p *Proposal) {
	for i := range p.BrokenBefore {
		p.BrokenBefore[i].Message = p.BrokenBefore[i].In(i18n.English)
	}
	for i := range p.Moves {
		for j := range p.Moves[i].Reasons {
			p.Moves[i].Reasons[j].Message = p.Moves[i].Reasons[j].In(i18n.English)
		}
	}
	for i := range p.Acceptances {
		for j := range p.Acceptances[i].Refused {
			r := &p.Acceptances[i].Refused[j].Reason
			r.Message = r.In(i18n.English)
		}
	}
}
