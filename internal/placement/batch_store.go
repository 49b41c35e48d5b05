// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func insertProposal(ctx context.Context, tx *db.Tx, p *Proposal) error {
	after := ""
	if p.After != nil {
		after = mustJSON(p.After)
	}
	proven := 0
	if p.Proven {
		proven = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO placement_proposals (id, scope, location_id, scope_name, units, created_by_id, created_by_name, created_at,
		status, fingerprint, snapshot, locks, people, cost_before, cost_after, broken_before, conflicts, proven, elapsed_ms, version)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)`,
		p.ID, p.Scope, p.LocationID, p.ScopeName, mustJSON(p.Units), p.CreatedByID, p.CreatedByName, db.FormatTime(p.CreatedAt),
		p.Status, p.Fingerprint, mustJSON(p.snap), mustJSON(orNone(p.Locks)), p.People, mustJSON(p.Before), after, mustJSON(p.BrokenBefore),
		mustJSON(p.Conflicts), proven, p.ElapsedMS, p.Version); err != nil {
		return fmt.Errorf("placement: insert proposal: %w", err)
	}
	for _, m := range p.Moves {
		if _, err := tx.ExecContext(ctx, `INSERT INTO placement_proposal_moves (proposal_id, seq, client_id, client_name, client_number, from_cell_id, from_place,
			to_cell_id, to_place, reasons, status) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
			p.ID, m.Seq, m.ClientID, m.ClientName, m.ClientNumber, m.FromCellID, m.FromPlace, m.ToCellID, m.ToPlace, mustJSON(m.Reasons), m.Status); err != nil {
			return fmt.Errorf("placement: insert proposal move: %w", err)
		}
	}
	return nil
}

func orNone[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

const proposalCols = `id, scope, location_id, scope_name, units, created_by_id, created_by_name, created_at, status, fingerprint, snapshot, locks, people,
	cost_before, cost_after, broken_before, conflicts, proven, elapsed_ms, version`

type scanner interface{ Scan(...any) error }

func scanProposal(row scanner) (*Proposal, error) {
	var p Proposal
	var units, created, snap, locks, before, after, broken, conflicts string
	var proven int
	if err := row.Scan(&p.ID, &p.Scope, &p.LocationID, &p.ScopeName, &units, &p.CreatedByID, &p.CreatedByName, &created, &p.Status, &p.Fingerprint,
		&snap, &locks, &p.People, &before, &after, &broken, &conflicts, &proven, &p.ElapsedMS, &p.Version); err != nil {
		return nil, err
	}
	p.Proven = proven != 0
	p.CreatedAt = db.MustTime(created)
	for _, f := range []struct {
		s string
		v any
	}{{units, &p.Units}, {snap, &p.snap}, {locks, &p.Locks}, {before, &p.Before}, {broken, &p.BrokenBefore}, {conflicts, &p.Conflicts}} {
		if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
			return nil, fmt.Errorf("placement: proposal %s: %w", p.ID, err)
		}
	}
	if after != "" {
		p.After = &Cost{}
		if err := json.Unmarshal([]byte(after), p.After); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// findProposal reads a proposal with its moves and acceptances.
func findProposal(ctx context.Context, tx *db.Tx, id string) (*Proposal, error) {
	p, err := scanProposal(tx.QueryRowContext(ctx, `SELECT `+proposalCols+` FROM placement_proposals WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "There is no such proposal.")
	}
	if err != nil {
		return nil, fmt.Errorf("placement: read proposal: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, client_id, client_name, client_number, from_cell_id, from_place, to_cell_id, to_place, reasons, status,
		applied_at, applied_by_name, acceptance_id FROM placement_proposal_moves WHERE proposal_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("placement: read proposal moves: %w", err)
	}
	p.Moves = []ProposedMove{}
	for rows.Next() {
		var m ProposedMove
		var reasons, applied string
		if err := rows.Scan(&m.Seq, &m.ClientID, &m.ClientName, &m.ClientNumber, &m.FromCellID, &m.FromPlace, &m.ToCellID, &m.ToPlace, &reasons, &m.Status,
			&applied, &m.AppliedByName, &m.AcceptanceID); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(reasons), &m.Reasons); err != nil {
			rows.Close()
			return nil, err
		}
		if applied != "" {
			m.AppliedAt = db.MustTime(applied)
		}
		p.Moves = append(p.Moves, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	p.Acceptances, err = acceptancesOf(ctx, tx, id)
	return p, err
}

const acceptanceCols = `id, proposal_id, idem_key, accepted_by_id, accepted_by_name, accepted_at, chosen, apply_rest, status, applied, refused`

func scanAcceptance(row scanner) (*Acceptance, error) {
	var a Acceptance
	var at, chosen, applied, refused string
	var rest int
	if err := row.Scan(&a.ID, &a.ProposalID, &a.key, &a.AcceptedByID, &a.AcceptedByName, &at, &chosen, &rest, &a.Status, &applied, &refused); err != nil {
		return nil, err
	}
	a.AcceptedAt, a.ApplyRest = db.MustTime(at), rest != 0
	for _, f := range []struct {
		s string
		v any
	}{{chosen, &a.Chosen}, {applied, &a.Applied}, {refused, &a.Refused}} {
		if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
			return nil, fmt.Errorf("placement: acceptance %s: %w", a.ID, err)
		}
	}
	return &a, nil
}

func acceptancesOf(ctx context.Context, tx *db.Tx, proposalID string) ([]Acceptance, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+acceptanceCols+` FROM placement_proposal_acceptances WHERE proposal_id = $1 ORDER BY accepted_at, id`, proposalID)
	if err != nil {
		return nil, fmt.Errorf("placement: read acceptances: %w", err)
	}
	defer rows.Close()
	out := []Acceptance{}
	for rows.Next() {
		a, err := scanAcceptance(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// acceptanceByKey finds the caller's acceptance of a proposal made with
// an Idempotency-Key, or nil.
func acceptanceByKey(ctx context.Context, tx *db.Tx, proposalID, actorID, key string) (*Acceptance, error) {
	a, err := scanAcceptance(tx.QueryRowContext(ctx, `SELECT `+acceptanceCols+` FROM placement_proposal_acceptances
		WHERE proposal_id = $1 AND accepted_by_id = $2 AND idem_key = $3 AND idem_key <> ''`, proposalID, actorID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return a, err
}

func insertAcceptance(ctx context.Context, tx *db.Tx, a *Acceptance) error {
	rest := 0
	if a.ApplyRest {
		rest = 1
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO placement_proposal_acceptances (`+acceptanceCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
		a.ID, a.ProposalID, a.key, a.AcceptedByID, a.AcceptedByName, db.FormatTime(a.AcceptedAt), mustJSON(orNone(a.Chosen)), rest, a.Status,
		mustJSON(orNone(a.Applied)), mustJSON(orNone(a.Refused)))
	return err
}

func updateAcceptance(ctx context.Context, tx *db.Tx, a *Acceptance) error {
	_, err := tx.ExecContext(ctx, `UPDATE placement_proposal_acceptances SET status = $2, applied = $3, refused = $4 WHERE id = $1`,
		a.ID, a.Status, mustJSON(orNone(a.Applied)), mustJSON(orNone(a.Refused)))
	return err
}

// markApplied records one move as applied; a move applied already (by a
// concurrent or earlier acceptance) is left as it is.
func markApplied(ctx context.Context, tx *db.Tx, proposalID string, seq int, acceptanceID, actorID, actorName string) error {
	_, err := tx.ExecContext(ctx, `UPDATE placement_proposal_moves SET status = $3, applied_at = $4, applied_by_id = $5, applied_by_name = $6, acceptance_id = $7
		WHERE proposal_id = $1 AND seq = $2 AND status = $8`, proposalID, seq, MoveApplied, tx.NowText(), actorID, actorName, acceptanceID, MoveProposed)
	return err
}

// settleProposal sets the proposal's status from its moves.
func settleProposal(ctx context.Context, tx *db.Tx, id string) (string, error) {
	var total, applied int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = $2 THEN 1 ELSE 0 END), 0) FROM placement_proposal_moves WHERE proposal_id = $1`,
		id, MoveApplied).Scan(&total, &applied); err != nil {
		return "", err
	}
	status := StatusProposed
	switch {
	case total > 0 && applied == total:
		status = StatusApplied
	case applied > 0:
		status = StatusPartly
	}
	_, err := tx.ExecContext(ctx, `UPDATE placement_proposals SET status = $2, version = version + 1 WHERE id = $1 AND status <> $3`, id, status, StatusInfeasible)
	return status, err
}

// listProposals reads the newest proposals, without moves.
func listProposals(ctx context.Context, tx *db.Tx, limit int) ([]*Proposal, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+proposalCols+` FROM placement_proposals ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("placement: list proposals: %w", err)
	}
	defer rows.Close()
	var out []*Proposal
	for rows.Next() {
		p, err := scanProposal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func moveCounts(ctx context.Context, tx *db.Tx, ids []string) (map[string][2]int, error) {
	out := map[string][2]int{}
	for _, id := range ids {
		var total, applied int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = $2 THEN 1 ELSE 0 END), 0) FROM placement_proposal_moves WHERE proposal_id = $1`,
			id, MoveApplied).Scan(&total, &applied); err != nil {
			return nil, err
		}
		out[id] = [2]int{total, applied}
	}
	return out, nil
}
