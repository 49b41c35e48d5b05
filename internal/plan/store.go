// SPDX-License-Identifier: AGPL-3.0-or-later

package plan

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	sub, _ := fs.Sub(migrations, "migrations")
	db.Register(db.Module{Name: "plan", FS: sub})
}

// querier is what both *db.DB and *db.Tx offer.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func encode(d Document) (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("plan: encode: %w", err)
	}
	return string(b), nil
}

func decode(s string) (Document, error) {
	var d Document
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return d, fmt.Errorf("plan: stored document: %w", err)
	}
	if d.Goals == nil {
		d.Goals = []Goal{}
	}
	return d, nil
}

func in(first int, ids []string) (string, []any) {
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i] = "$" + strconv.Itoa(first+i)
		args[i] = id
	}
	return "(" + strings.Join(ph, ", ") + ")", args
}

const planCols = `id, client_id, status, document, version, created_at, created_by_name, updated_at, updated_by, updated_by_name,
	COALESCE(activated_at, ''), COALESCE(closed_at, '')`

func scanPlan(sc interface{ Scan(...any) error }) (*Plan, error) {
	var p Plan
	var doc, created, updated, activated, closed string
	if err := sc.Scan(&p.ID, &p.ClientID, &p.Status, &doc, &p.Version, &created, &p.CreatedByName, &updated, &p.UpdatedBy, &p.UpdatedByName, &activated, &closed); err != nil {
		return nil, err
	}
	d, err := decode(doc)
	if err != nil {
		return nil, err
	}
	p.Document = d
	p.CreatedAt, p.UpdatedAt, p.ActivatedAt, p.ClosedAt = db.MustTime(created), db.MustTime(updated), db.MustTime(activated), db.MustTime(closed)
	return &p, nil
}

// findPlan loads a plan of one of the person's record ids.
func findPlan(ctx context.Context, q querier, clientIDs []string, id string) (*Plan, error) {
	set, args := in(2, clientIDs)
	p, err := scanPlan(q.QueryRowContext(ctx, `SELECT `+planCols+` FROM plans WHERE id = $1 AND client_id IN `+set, append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "This client has no such action plan.")
	}
	if err != nil {
		return nil, fmt.Errorf("plan: load: %w", err)
	}
	return p, nil
}

func listPlans(ctx context.Context, q querier, clientIDs []string) ([]*Plan, error) {
	set, args := in(1, clientIDs)
	rows, err := q.QueryContext(ctx, `SELECT `+planCols+` FROM plans WHERE client_id IN `+set+` ORDER BY created_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("plan: list: %w", err)
	}
	defer rows.Close()
	var out []*Plan
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// activeOther is the id of an active plan of the person other than id.
func activeOther(ctx context.Context, q querier, clientIDs []string, id string) (string, error) {
	set, args := in(2, clientIDs)
	var other string
	err := q.QueryRowContext(ctx, `SELECT id FROM plans WHERE status = 'active' AND id <> $1 AND client_id IN `+set, append([]any{id}, args...)...).Scan(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return other, err
}

func insertPlan(ctx context.Context, tx *db.Tx, p *Plan) error {
	doc, err := encode(p.Document)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO plans (id, client_id, status, document, version, created_at, created_by, created_by_name, updated_at, updated_by, updated_by_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6, $7, $8)`, p.ID, p.ClientID, p.Status, doc, p.Version, db.FormatTime(p.CreatedAt), p.UpdatedBy, p.CreatedByName)
	if err != nil {
		return fmt.Errorf("plan: insert: %w", err)
	}
	return nil
}

// writePlan stores p as its new version if the stored one is still
// version from; a row that moved on is a conflict, never overwritten.
func writePlan(ctx context.Context, tx *db.Tx, p *Plan, from int) error {
	doc, err := encode(p.Document)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE plans SET status = $1, document = $2, version = $3, updated_at = $4, updated_by = $5, updated_by_name = $6,
		activated_at = $7, closed_at = $8 WHERE id = $9 AND version = $10`,
		p.Status, doc, p.Version, db.FormatTime(p.UpdatedAt), p.UpdatedBy, p.UpdatedByName,
		db.NullString(timeText(p.ActivatedAt)), db.NullString(timeText(p.ClosedAt)), p.ID, from)
	if err != nil {
		if db.IsUniqueViolation(err) {
			return apperr.New(apperr.Conflict, "This client already has an active action plan; complete or cancel it first.")
		}
		return fmt.Errorf("plan: update: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.StaleVersion("action plan", from+1)
	}
	return nil
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return db.FormatTime(t)
}

func insertVersion(ctx context.Context, tx *db.Tx, v *Version, d Document) error {
	doc, err := encode(d)
	if err != nil {
		return err
	}
	ch, err := json.Marshal(v.Changes)
	if err != nil {
		return fmt.Errorf("plan: encode changes: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO plan_versions (plan_id, version, status, document, changes, kind, saved_at, saved_by, saved_by_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, v.PlanID, v.Version, v.Status, doc, string(ch), v.Kind, db.FormatTime(v.SavedAt), v.SavedBy, v.SavedByName)
	if err != nil {
		return fmt.Errorf("plan: insert version: %w", err)
	}
	return nil
}

func scanVersion(sc interface{ Scan(...any) error }, withDoc bool) (*Version, error) {
	var v Version
	var doc, changes, at string
	if err := sc.Scan(&v.PlanID, &v.Version, &v.Status, &doc, &changes, &v.Kind, &at, &v.SavedBy, &v.SavedByName); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(changes), &v.Changes); err != nil {
		return nil, fmt.Errorf("plan: stored changes: %w", err)
	}
	v.Summary = summarize(v.Changes)
	v.SavedAt = db.MustTime(at)
	if withDoc {
		d, err := decode(doc)
		if err != nil {
			return nil, err
		}
		v.Document = &d
	}
	return &v, nil
}

const versionCols = `plan_id, version, status, document, changes, kind, saved_at, saved_by, saved_by_name`

// loadVersions lists a plan's versions, newest first, without their
// documents.
func loadVersions(ctx context.Context, q querier, planID string) ([]Version, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+versionCols+` FROM plan_versions WHERE plan_id = $1 ORDER BY version DESC`, planID)
	if err != nil {
		return nil, fmt.Errorf("plan: versions: %w", err)
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		v, err := scanVersion(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

func loadVersion(ctx context.Context, q querier, planID string, n int) (*Version, error) {
	v, err := scanVersion(q.QueryRowContext(ctx, `SELECT `+versionCols+` FROM plan_versions WHERE plan_id = $1 AND version = $2`, planID, n), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "This action plan has no such version.")
	}
	if err != nil {
		return nil, fmt.Errorf("plan: version: %w", err)
	}
	return v, nil
}

// keepConflict stores (or replaces) the refused save of staffID.
func keepConflict(ctx context.Context, tx *db.Tx, planID, staffID string, base int, d Document) error {
	doc, err := encode(d)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO plan_conflicts (plan_id, staff_id, base_version, document, saved_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (plan_id, staff_id) DO UPDATE SET base_version = excluded.base_version, document = excluded.document, saved_at = excluded.saved_at`,
		planID, staffID, base, doc, tx.NowText())
	if err != nil {
		return fmt.Errorf("plan: keep conflict: %w", err)
	}
	return nil
}

// findConflict loads staffID's refused save of a plan; ok is false when
// there is none.
func findConflict(ctx context.Context, q querier, planID, staffID string) (base int, d Document, at string, ok bool, err error) {
	var doc string
	err = q.QueryRowContext(ctx, `SELECT base_version, document, saved_at FROM plan_conflicts WHERE plan_id = $1 AND staff_id = $2`, planID, staffID).Scan(&base, &doc, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, d, "", false, nil
	}
	if err != nil {
		return 0, d, "", false, fmt.Errorf("plan: conflict: %w", err)
	}
	d, err = decode(doc)
	return base, d, at, err == nil, err
}

func dropConflict(ctx context.Context, tx *db.Tx, planID, staffID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM plan_conflicts WHERE plan_id = $1 AND staff_id = $2`, planID, staffID); err != nil {
		return fmt.Errorf("plan: drop conflict: %w", err)
	}
	return nil
}
