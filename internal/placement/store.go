// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
)

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func tm(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := db.ParseTime(s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// placeholders appends vs to args and returns their "$n, …" list.
func placeholders(args *[]any, vs []string) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		*args = append(*args, v)
		ps[i] = fmt.Sprintf("$%d", len(*args))
	}
	return strings.Join(ps, ", ")
}

const naColumns = `n.id, n.scope, n.reason_category, n.reason, n.decided_by_id, n.decided_by_name, n.decided_at, n.review_date,
	n.status, n.ended_at, n.ended_by_name, n.end_reason, n.updated_at, n.version`

// stored is a non-association row with its members' ids as stored.
type stored struct {
	NonAssociation
	memberIDs []string
}

func scanNA(sc interface{ Scan(...any) error }) (*stored, error) {
	var s stored
	var decided, ended, updated string
	if err := sc.Scan(&s.ID, &s.Scope, &s.ReasonCategory, &s.Reason, &s.DecidedByID, &s.DecidedByName, &decided, &s.ReviewDate,
		&s.Status, &ended, &s.EndedByName, &s.EndReason, &updated, &s.Version); err != nil {
		return nil, err
	}
	s.DecidedAt, s.EndedAt, s.UpdatedAt = tm(decided), tm(ended), tm(updated)
	return &s, nil
}

// listNAs reads the non-associations matching where (over alias n) with
// their member ids, newest decision first.
func listNAs(ctx context.Context, q querier, where string, limit int, args ...any) ([]*stored, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+naColumns+` FROM placement_nonassociations n WHERE `+where+
		fmt.Sprintf(` ORDER BY n.decided_at DESC, n.id LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("placement: non-associations: %w", err)
	}
	var out []*stored
	byID := map[string]*stored{}
	for rows.Next() {
		s, err := scanNA(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, s)
		byID[s.ID] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	// Members in batches: SQLite binds at most about 1 000 parameters.
	for start := 0; start < len(out); start += 500 {
		batch := out[start:min(start+500, len(out))]
		ids := make([]string, len(batch))
		for i, s := range batch {
			ids[i] = s.ID
		}
		var margs []any
		in := placeholders(&margs, ids)
		mrows, err := q.QueryContext(ctx, `SELECT nonassociation_id, client_id FROM placement_nonassociation_members
			WHERE nonassociation_id IN (`+in+`) ORDER BY nonassociation_id, client_id`, margs...)
		if err != nil {
			return nil, fmt.Errorf("placement: members: %w", err)
		}
		for mrows.Next() {
			var id, cid string
			if err := mrows.Scan(&id, &cid); err != nil {
				mrows.Close()
				return nil, err
			}
			byID[id].memberIDs = append(byID[id].memberIDs, cid)
		}
		mrows.Close()
		if err := mrows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// naForClients is where-clause text selecting the non-associations any
// of ids is a member of.
func naForClients(args *[]any, ids []string) string {
	return `n.id IN (SELECT nonassociation_id FROM placement_nonassociation_members WHERE client_id IN (` + placeholders(args, ids) + `))`
}

func findNA(ctx context.Context, q querier, id string) (*stored, error) {
	list, err := listNAs(ctx, q, `n.id = $1`, 1, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, apperr.New(apperr.NotFound, "There is no such non-association.")
	}
	return list[0], nil
}

func insertNA(ctx context.Context, tx *db.Tx, n *NonAssociation, memberIDs []string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO placement_nonassociations (id, scope, reason_category, reason, decided_by_id, decided_by_name,
		decided_at, review_date, status, updated_at, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,1)`,
		n.ID, n.Scope, n.ReasonCategory, n.Reason, n.DecidedByID, n.DecidedByName, tx.NowText(), n.ReviewDate, n.Status, tx.NowText()); err != nil {
		return fmt.Errorf("placement: insert non-association: %w", err)
	}
	return insertMembers(ctx, tx, n.ID, memberIDs)
}

func insertMembers(ctx context.Context, tx *db.Tx, id string, memberIDs []string) error {
	for _, cid := range memberIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO placement_nonassociation_members (nonassociation_id, client_id) VALUES ($1, $2)`, id, cid); err != nil {
			return fmt.Errorf("placement: member: %w", err)
		}
	}
	return nil
}

// oneRow turns an update that matched no row into a stale-version
// conflict: the row exists (it was just read), so its version moved on.
func oneRow(res sql.Result, err error, what string, version int) error {
	if err != nil {
		return fmt.Errorf("placement: update %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.StaleVersion(what, version)
	}
	return nil
}

// updateNA replaces the decision's content and its members at version.
func updateNA(ctx context.Context, tx *db.Tx, n *NonAssociation, memberIDs []string, version int) error {
	res, err := tx.ExecContext(ctx, `UPDATE placement_nonassociations SET scope = $1, reason_category = $2, reason = $3, review_date = $4,
		updated_at = $5, version = version + 1 WHERE id = $6 AND version = $7 AND status = 'active'`,
		n.Scope, n.ReasonCategory, n.Reason, n.ReviewDate, tx.NowText(), n.ID, version)
	if err := oneRow(res, err, "non-association", version); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM placement_nonassociation_members WHERE nonassociation_id = $1`, n.ID); err != nil {
		return fmt.Errorf("placement: members: %w", err)
	}
	return insertMembers(ctx, tx, n.ID, memberIDs)
}

func endNA(ctx context.Context, tx *db.Tx, id, byName, reason string, version int) error {
	res, err := tx.ExecContext(ctx, `UPDATE placement_nonassociations SET status = 'ended', ended_at = $1, ended_by_name = $2, end_reason = $3,
		updated_at = $1, version = version + 1 WHERE id = $4 AND version = $5 AND status = 'active'`, tx.NowText(), byName, reason, id, version)
	return oneRow(res, err, "non-association", version)
}

func insertVersion(ctx context.Context, tx *db.Tx, id string, v Version, actorID string) error {
	snap, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO placement_nonassociation_versions (nonassociation_id, version, at, actor_id, actor_name, action, snapshot)
		VALUES ($1,$2,$3,$4,$5,$6,$7)`, id, v.Version, tx.NowText(), actorID, v.ActorName, v.Action, string(snap)); err != nil {
		return fmt.Errorf("placement: version: %w", err)
	}
	return nil
}

func loadVersions(ctx context.Context, q querier, id string) ([]Version, error) {
	rows, err := q.QueryContext(ctx, `SELECT snapshot, at FROM placement_nonassociation_versions WHERE nonassociation_id = $1 ORDER BY version DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("placement: versions: %w", err)
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		var snap, at string
		if err := rows.Scan(&snap, &at); err != nil {
			return nil, err
		}
		var v Version
		if err := json.Unmarshal([]byte(snap), &v); err != nil {
			return nil, fmt.Errorf("placement: version of %s: %w", id, err)
		}
		v.At = tm(at)
		out = append(out, v)
	}
	return out, rows.Err()
}

// ---------- Sharing assessments ----------

const assessmentColumns = `id, client_id, outcome, conditions, smoker, reasons, assessed_by_id, assessed_by_name, assessed_at, review_date`

func scanAssessment(sc interface{ Scan(...any) error }) (Assessment, error) {
	var a Assessment
	var conds, at string
	var smoker int
	if err := sc.Scan(&a.ID, &a.ClientID, &a.Outcome, &conds, &smoker, &a.Reasons, &a.AssessedByID, &a.AssessedByName, &at, &a.ReviewDate); err != nil {
		return a, err
	}
	a.Conditions = []string{}
	if conds != "" {
		a.Conditions = strings.Split(conds, ",")
	}
	a.Smoker, a.AssessedAt = smoker != 0, tm(at)
	return a, nil
}

func insertAssessment(ctx context.Context, tx *db.Tx, a *Assessment) error {
	smoker := 0
	if a.Smoker {
		smoker = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO placement_sharing_assessments (`+assessmentColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
		a.ID, a.ClientID, a.Outcome, strings.Join(a.Conditions, ","), smoker, a.Reasons, a.AssessedByID, a.AssessedByName, tx.NowText(), a.ReviewDate); err != nil {
		return fmt.Errorf("placement: insert assessment: %w", err)
	}
	return nil
}

// assessmentsOf lists the assessments of the records ids, newest first.
func assessmentsOf(ctx context.Context, q querier, ids []string, limit int) ([]Assessment, error) {
	var args []any
	in := placeholders(&args, ids)
	rows, err := q.QueryContext(ctx, `SELECT `+assessmentColumns+` FROM placement_sharing_assessments WHERE client_id IN (`+in+`)
		ORDER BY assessed_at DESC, id DESC LIMIT `+fmt.Sprint(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("placement: assessments: %w", err)
	}
	defer rows.Close()
	out := []Assessment{}
	for rows.Next() {
		a, err := scanAssessment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// latestAssessments is the newest assessment of each of ids (as stored;
// the caller maps merged records).
func latestAssessments(ctx context.Context, q querier, ids []string) (map[string]Assessment, error) {
	out := map[string]Assessment{}
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		var args []any
		in := placeholders(&args, batch)
		rows, err := q.QueryContext(ctx, `SELECT `+assessmentColumns+` FROM placement_sharing_assessments WHERE client_id IN (`+in+`)
			ORDER BY client_id, assessed_at DESC, id DESC`, args...)
		if err != nil {
			return nil, fmt.Errorf("placement: latest assessments: %w", err)
		}
		for rows.Next() {
			a, err := scanAssessment(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			if _, seen := out[a.ClientID]; !seen {
				out[a.ClientID] = a
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// activeNAsOf lists the active non-associations any of ids is a member
// of, in batches (SQLite binds at most about 1 000 parameters).
func activeNAsOf(ctx context.Context, q querier, ids []string) ([]*stored, error) {
	var out []*stored
	seen := map[string]bool{}
	for start := 0; start < len(ids); start += 500 {
		var args []any
		where := `n.status = 'active' AND ` + naForClients(&args, ids[start:min(start+500, len(ids))])
		list, err := listNAs(ctx, q, where, listLimit, args...)
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			if !seen[s.ID] {
				seen[s.ID] = true
				out = append(out, s)
			}
		}
	}
	return out, nil
}
