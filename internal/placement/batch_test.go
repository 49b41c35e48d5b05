// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/placement/solve"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// batchEnv is one institution: unit A with cells 101 and 102 (two beds
// each) and 103, 104, 105 (one bed each); unit B with 201. Åke and Bo,
// kept apart by a cell non-association, share 101; Carl is in 102; Dan
// in 103, Eva in 104; 105 and 201 are empty. Everyone but Dan and Eva may
// share.
type batchEnv struct {
	*env
	batch                   *Batch
	unitA, unitB            string
	cells                   map[string]string
	ake, bo, carl, dan, eva string
}

func newBatchEnv(t *testing.T, d *db.DB) *batchEnv {
	t.Helper()
	al := audit.NewLog(d)
	t.Cleanup(al.Close)
	e := &batchEnv{env: &env{t: t, db: d, svc: &Service{DB: d, Audit: al}, cl: &client.Service{DB: d, Audit: al}}, cells: map[string]string{}}
	e.clock = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	d.SetClock(func() time.Time { return e.clock })
	ctx := audit.WithActor(context.Background(), audit.System)
	est := &estate.Service{DB: d}
	e.batch = &Batch{DB: d, Audit: al, Rules: e.svc, Client: e.cl, Estate: est, TimeLimit: 2 * time.Second, Seed: 1}
	loc := func(n estate.NewLocation) string {
		l, err := est.CreateLocation(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	e.inst = loc(estate.NewLocation{Kind: estate.Institution, Code: "KUM", Name: "Kumla", Category: "closed", SecurityLevel: 1, Gender: "male"})
	e.unitA = loc(estate.NewLocation{Kind: estate.Unit, ParentID: e.inst, Code: "KUM-A", Name: "A", SecurityLevel: 1, Gender: "male"})
	e.unitB = loc(estate.NewLocation{Kind: estate.Unit, ParentID: e.inst, Code: "KUM-B", Name: "B", SecurityLevel: 1, Gender: "male"})
	for _, c := range []struct {
		unit, label string
		beds        int
	}{{e.unitA, "101", 2}, {e.unitA, "102", 2}, {e.unitA, "103", 1}, {e.unitA, "104", 1}, {e.unitA, "105", 1}, {e.unitB, "201", 2}} {
		ce, err := est.CreateCell(ctx, estate.NewCell{UnitID: c.unit, Label: c.label, Capacity: c.beds, SecurityLevel: 1, Gender: "male"})
		if err != nil {
			t.Fatal(err)
		}
		e.cells[c.label] = ce.ID
	}
	admit := func(given, cell string, share bool) string {
		c, err := e.cl.Register(ctx, client.NewClient{GivenName: given, FamilyName: "Berg", BirthDate: "1990-01-01", Sex: "M", HomeLocation: e.inst})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.cl.AddLegalBasis(ctx, c.ID, client.NewLegalBasis{Kind: client.BasisRemand, StartDate: "2026-01-01", Offences: "Rån"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cl.MoveClient(ctx, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: e.cells[cell]}); err != nil {
			t.Fatal(err)
		}
		if share {
			if _, err := e.svc.Assess(ctx, c.ID, NewAssessment{Outcome: SuitableAny, Reasons: "Calm.", ReviewDate: "2026-09-01"}); err != nil {
				t.Fatal(err)
			}
		}
		return c.ID
	}
	e.ake, e.bo, e.carl = admit("Åke", "101", true), admit("Bo", "101", true), admit("Carl", "102", true)
	e.dan, e.eva = admit("Dan", "103", false), admit("Eva", "104", false)
	if _, err := e.svc.CreateNonAssociation(ctx, e.ake, NewNonAssociation{Members: []string{e.bo}, Scope: ScopeCell, ReasonCategory: "threat",
		Reason: "Threats.", ReviewDate: "2026-06-01"}); err != nil {
		t.Fatal(err)
	}
	e.mona = &access.Principal{ID: "staff-mona", Name: "Mona Manager", Role: access.UnitManager, Caseload: []string{e.inst}}
	return e
}

func (e *batchEnv) cellOf(id string) string {
	e.t.Helper()
	var cell string
	if err := e.db.QueryRowContext(context.Background(), `SELECT COALESCE(cell_id, '') FROM clients WHERE id = $1`, id).Scan(&cell); err != nil {
		e.t.Fatal(err)
	}
	return cell
}

// check rebuilds the unit's placement problem as it is now and runs the
// solver's independent Check on the present placement.
func (e *batchEnv) check(units ...string) []solve.Violation {
	e.t.Helper()
	w, err := buildWorld(as(e.mona), e.batch.Estate, e.cl, e.svc, func(_, u estate.Location) bool { return slices.Contains(units, u.ID) }, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return solve.Check(w.in, &solve.Solution{Cell: currentCells(w.in)})
}

func TestBatchProposeAndAccept(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newBatchEnv(t, d)
		ctx := as(e.mona)
		if v := e.check(e.unitA); len(v) != 1 || v[0].Rule != solve.RuleNonAssocCel {
			t.Fatalf("the unit should break exactly the non-association now: %v", v)
		}
		if _, err := e.batch.Propose(ctx, e.mona, NewProposal{Scope: "wing"}); !fields(err)["scope"] {
			t.Fatalf("unknown scope: %v", err)
		}
		if _, err := e.batch.Propose(ctx, e.mona, NewProposal{Scope: ProposeUnit}); !fields(err)["location_id"] {
			t.Fatalf("no unit: %v", err)
		}
		other := &access.Principal{ID: "staff-olle", Name: "Olle", Role: access.UnitManager, Caseload: []string{"elsewhere"}}
		if _, err := e.batch.Propose(as(other), other, NewProposal{Scope: ProposeUnit, LocationID: e.unitA}); !fields(err)["location_id"] {
			t.Fatalf("a unit outside the caseload: %v", err)
		}

		pr, err := e.batch.Propose(ctx, e.mona, NewProposal{Scope: ProposeUnit, LocationID: e.unitA})
		if err != nil {
			t.Fatal(err)
		}
		if pr.Status != StatusProposed || pr.After == nil || len(pr.Moves) == 0 || len(pr.BrokenBefore) != 1 || pr.People != 5 {
			t.Fatalf("proposal %+v", pr)
		}
		if pr.BrokenBefore[0].Message == "" {
			t.Error("the broken rule has no text")
		}
		for _, m := range pr.Moves {
			if m.ClientID != e.ake && m.ClientID != e.bo && m.ClientID != e.carl {
				t.Errorf("a move of someone who need not move: %+v", m)
			}
			if len(m.Reasons) == 0 {
				t.Errorf("a move without a reason: %+v", m)
			}
		}
		// Another manager of the institution reads it; someone else cannot.
		if _, err := e.batch.Proposal(as(other), other, pr.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("read outside the caseload: %v", err)
		}
		got, err := e.batch.Proposal(ctx, e.mona, pr.ID)
		if err != nil || len(got.Moves) != len(pr.Moves) || got.Fingerprint != pr.Fingerprint || got.After.Total != pr.After.Total {
			t.Fatalf("read back %+v %v", got, err)
		}
		if list, err := e.batch.Proposals(ctx, e.mona, 10); err != nil || len(list) != 1 || list[0].Moves != len(pr.Moves) {
			t.Fatalf("list %+v %v", list, err)
		}

		// Accept all, twice with the same key: applied once.
		acc, err := e.batch.Accept(ctx, e.mona, pr.ID, AcceptRequest{}, "key-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(acc.Applied) != len(pr.Moves) || len(acc.Refused) != 0 || acc.AcceptedByName != "Mona Manager" {
			t.Fatalf("acceptance %+v", acc)
		}
		moves := e.count(`SELECT COUNT(*) FROM movements WHERE kind = 'transfer'`)
		again, err := e.batch.Accept(ctx, e.mona, pr.ID, AcceptRequest{}, "key-1")
		if err != nil || again.ID != acc.ID {
			t.Fatalf("a repeat: %+v %v", again, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM movements WHERE kind = 'transfer'`); n != moves {
			t.Fatalf("a repeat moved people again: %d → %d", moves, n)
		}
		if v := e.check(e.unitA); len(v) != 0 {
			t.Fatalf("after accepting, the unit breaks %v", v)
		}
		for _, m := range pr.Moves {
			if e.cellOf(m.ClientID) != m.ToCellID {
				t.Errorf("%s is not in %s", m.ClientName, m.ToPlace)
			}
			if !e.timelineHas(m.ClientID, "Batch placement") {
				t.Errorf("no timeline line for %s", m.ClientName)
			}
		}
		got, _ = e.batch.Proposal(ctx, e.mona, pr.ID)
		if got.Status != StatusApplied || len(got.Acceptances) != 1 || got.Moves[0].AppliedByName != "Mona Manager" {
			t.Fatalf("after acceptance %+v", got)
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE type = 'placement.proposal_accepted'`); n != 1 {
			t.Errorf("%d accepted events", n)
		}
		// Nothing left to accept: another key applies nothing more.
		if _, err := e.batch.Accept(ctx, e.mona, pr.ID, AcceptRequest{}, "key-2"); !fields(err)["moves"] {
			t.Fatalf("accepting an applied proposal: %v", err)
		}
	})
}

func TestBatchLocksAndInfeasible(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newBatchEnv(t, d)
		ctx := as(e.mona)
		// Åke must stay: Bo is the one to move.
		pr, err := e.batch.Propose(ctx, e.mona, NewProposal{Scope: ProposeUnit, LocationID: e.unitA, Locks: []Lock{{ClientID: e.ake}}})
		if err != nil {
			t.Fatal(err)
		}
		if pr.LockOf(e.ake) != "stay" || slices.ContainsFunc(pr.Moves, func(m ProposedMove) bool { return m.ClientID == e.ake }) {
			t.Fatalf("Åke moves though locked: %+v", pr.Moves)
		}
		if !slices.ContainsFunc(pr.Moves, func(m ProposedMove) bool { return m.ClientID == e.bo }) {
			t.Fatalf("Bo does not move: %+v", pr.Moves)
		}
		// Both locked where they are, together: no placement keeps the rules.
		pr, err = e.batch.Propose(ctx, e.mona, NewProposal{Scope: ProposeUnit, LocationID: e.unitA, Locks: []Lock{{ClientID: e.ake}, {ClientID: e.bo}}})
		if err != nil {
			t.Fatal(err)
		}
		if pr.Status != StatusInfeasible || pr.After != nil || len(pr.Moves) != 0 || len(pr.Conflicts) == 0 {
			t.Fatalf("infeasible proposal %+v", pr)
		}
		if c := pr.Conflicts[0]; !slices.Contains(c.People, "Åke Berg") || len(c.Rules) == 0 {
			t.Fatalf("the conflict does not say who and which rules: %+v", c)
		}
		if _, err := e.batch.Accept(ctx, e.mona, pr.ID, AcceptRequest{}, ""); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("accepting an infeasible proposal: %v", err)
		}
		if _, err := e.batch.Propose(ctx, e.mona, NewProposal{Scope: ProposeUnit, LocationID: e.unitA, Locks: []Lock{{ClientID: "nobody"}}}); !fields(err)["locks[0].client_id"] {
			t.Fatalf("a lock on someone not there: %v", err)
		}
	})
}

// insertSwap stores a proposal that swaps Dan (103) and Eva (104), both
// in one-bed cells, the way Propose would.
func (e *batchEnv) insertSwap() *Proposal {
	e.t.Helper()
	ctx := as(e.mona)
	w, err := buildWorld(ctx, e.batch.Estate, e.cl, e.svc, func(_, u estate.Location) bool { return u.ID == e.unitA }, "")
	if err != nil {
		e.t.Fatal(err)
	}
	snap, fp := snapshotOf(w)
	pr := &Proposal{ID: db.NewID(), Scope: ProposeUnit, LocationID: e.unitA, ScopeName: "Kumla, A", Units: w.units, CreatedByID: e.mona.ID, CreatedByName: e.mona.Name,
		Status: StatusProposed, Fingerprint: fp, snap: snap, People: len(w.people), After: &Cost{}, Version: 1, BrokenBefore: []Text{}, Conflicts: []Conflict{},
		Moves: []ProposedMove{
			{Seq: 1, ClientID: e.dan, ClientName: "Dan Berg", FromCellID: e.cells["103"], FromPlace: "103", ToCellID: e.cells["104"], ToPlace: "104", Status: MoveProposed, Reasons: []Text{}},
			{Seq: 2, ClientID: e.eva, ClientName: "Eva Berg", FromCellID: e.cells["104"], FromPlace: "104", ToCellID: e.cells["103"], ToPlace: "103", Status: MoveProposed, Reasons: []Text{}},
		}}
	if err := e.db.Transact(ctx, func(tx *db.Tx) error { pr.CreatedAt = tx.Now; return insertProposal(ctx, tx, pr) }); err != nil {
		e.t.Fatal(err)
	}
	return pr
}

func TestBatchAcceptSubsetAndSwap(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newBatchEnv(t, d)
		ctx := as(e.mona)
		pr := e.insertSwap()
		// Half a swap over-fills a cell: refused, with the reason, nothing moved.
		_, err := e.batch.Accept(ctx, e.mona, pr.ID, AcceptRequest{Moves: []int{1}}, "")
		if apperr.CodeOf(err) != apperr.Conflict || len(Refusals(err)) == 0 || Refusals(err)[0].Reason.Key != "placement.batch.capacity" {
			t.Fatalf("half a swap: %v %+v", err, Refusals(err))
		}
		if e.cellOf(e.dan) != e.cells["103"] {
			t.Fatal("Dan moved though refused")
		}
		// The whole swap passes through the free bed in 105.
		acc, err := e.batch.Accept(ctx, e.mona, pr.ID, AcceptRequest{Moves: []int{1, 2}}, "swap")
		if err != nil {
			t.Fatal(err)
		}
		if len(acc.Applied) != 2 || e.cellOf(e.dan) != e.cells["104"] || e.cellOf(e.eva) != e.cells["103"] {
			t.Fatalf("swap: %+v, Dan in %s, Eva in %s", acc, e.cellOf(e.dan), e.cellOf(e.eva))
		}
		if n := e.count(`SELECT COUNT(*) FROM movements WHERE kind = 'transfer'`); n != 3 {
			t.Errorf("%d transfers, want 3 (one through the free bed)", n)
		}

		// Without a free bed to pass through, the swap is refused whole.
		pr = e.insertSwap() // and back again
		_, _ = e.db.ExecContext(context.Background(), `UPDATE placement_proposal_moves SET from_cell_id = CASE seq WHEN 1 THEN $2 ELSE $3 END,
			to_cell_id = CASE seq WHEN 1 THEN $3 ELSE $2 END WHERE proposal_id = $1`, pr.ID, e.cells["104"], e.cells["103"])
		// Åke takes 105: the free beds left are beside Bo and Carl, and
		// Dan and Eva may not share.
		c, _ := e.cl.Get(ctx, e.ake)
		if _, err := e.cl.MoveClient(ctx, e.ake, client.Move{Action: client.Transfer, Version: c.Version, CellID: e.cells["105"], Reason: "Own wish."}); err != nil {
			t.Fatal(err)
		}
		_, err = e.batch.Accept(ctx, e.mona, pr.ID, AcceptRequest{}, "")
		if apperr.CodeOf(err) != apperr.Conflict || len(Refusals(err)) != 2 || Refusals(err)[0].Reason.Key != "placement.batch.refuse.swap" {
			t.Fatalf("a swap with no free bed: %v %+v", err, Refusals(err))
		}
	})
}

func TestBatchStale(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newBatchEnv(t, d)
		ctx := as(e.mona)
		pr := e.insertSwap()
		// A third move: Carl from 102 to 105.
		if _, err := e.db.ExecContext(context.Background(), `INSERT INTO placement_proposal_moves (proposal_id, seq, client_id, client_name, client_number,
			from_cell_id, from_place, to_cell_id, to_place, reasons, status) VALUES ($1, 3, $2, 'Carl Berg', '', $3, '102', $4, '105', '[]', 'proposed')`,
			pr.ID, e.carl, e.cells["102"], e.cells["105"]); err != nil {
			t.Fatal(err)
		}
		// Eva is moved by hand to unit B after the proposal.
		c, _ := e.cl.Get(ctx, e.eva)
		if _, err := e.cl.MoveClient(ctx, e.eva, client.Move{Action: client.Transfer, Version: c.Version, CellID: e.cells["201"], Reason: "Own wish."}); err != nil {
			t.Fatal(err)
		}
		_, err := e.batch.Accept(ctx, e.mona, pr.ID, AcceptRequest{Moves: []int{2, 3}}, "")
		rs := Refusals(err)
		if apperr.CodeOf(err) != apperr.Conflict || len(rs) != 1 || rs[0].Seq != 2 || rs[0].Reason.Key != "placement.batch.stale.gone" {
			t.Fatalf("stale: %v %+v", err, rs)
		}
		if e.cellOf(e.carl) != e.cells["102"] {
			t.Fatal("Carl moved though the acceptance was refused")
		}
		acc, err := e.batch.Accept(ctx, e.mona, pr.ID, AcceptRequest{Moves: []int{2, 3}, ApplyRest: true}, "rest")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(acc.Applied, []int{3}) || len(acc.Refused) != 1 || acc.Refused[0].Seq != 2 || e.cellOf(e.carl) != e.cells["105"] {
			t.Fatalf("apply the rest: %+v", acc)
		}
		got, _ := e.batch.Proposal(ctx, e.mona, pr.ID)
		if got.Status != StatusPartly {
			t.Errorf("status %s", got.Status)
		}
	})
}
