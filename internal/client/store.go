// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	sub, _ := fs.Sub(migrations, "migrations")
	db.Register(db.Module{Name: "client", FS: sub})
	// After Register: the classes come from the register's own schema.
	readDetails = mustReadClasses()
}

// querier is what both *db.DB and *db.Tx offer.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

const clientCols = `id, number, given_name, family_name, birth_date, sex, COALESCE(national_id, ''), COALESCE(national_id_country, ''),
	nationality, languages, status, COALESCE(institution_id, ''), COALESCE(unit_id, ''), COALESCE(cell_id, ''), COALESCE(office_id, ''),
	home_location, COALESCE(stay_id, ''), COALESCE(merged_into, ''), version, created_at, updated_at`

func scanClient(sc interface{ Scan(...any) error }) (*Client, error) {
	var c Client
	var langs, inst, unit, cell, office, created, updated string
	err := sc.Scan(&c.ID, &c.Number, &c.GivenName, &c.FamilyName, &c.BirthDate, &c.Sex, &c.NationalID, &c.NationalIDCountry,
		&c.Nationality, &langs, &c.Status, &inst, &unit, &cell, &office, &c.HomeLocation, &c.StayID, &c.MergedInto, &c.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	c.Languages = splitList(langs)
	if inst != "" || unit != "" || cell != "" || office != "" {
		c.Location = &Location{InstitutionID: inst, UnitID: unit, CellID: cell, OfficeID: office}
	}
	c.CreatedAt, c.UpdatedAt = db.MustTime(created), db.MustTime(updated)
	return &c, nil
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// findClient loads a client row by id (not following merges).
func findClient(ctx context.Context, q querier, id string) (*Client, error) {
	c, err := scanClient(q.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "There is no client with this id.")
	}
	if err != nil {
		return nil, fmt.Errorf("client: load: %w", err)
	}
	return c, nil
}

// canonicalID follows merges to the record that holds the person now.
func canonicalID(ctx context.Context, q querier, id string) (string, error) {
	for range 16 {
		var into string
		err := q.QueryRowContext(ctx, `SELECT COALESCE(merged_into, '') FROM clients WHERE id = $1`, id).Scan(&into)
		if errors.Is(err, sql.ErrNoRows) {
			return "", apperr.New(apperr.NotFound, "There is no client with this id.")
		}
		if err != nil {
			return "", fmt.Errorf("client: resolve: %w", err)
		}
		if into == "" {
			return id, nil
		}
		id = into
	}
	return "", fmt.Errorf("client: merge chain too long at %s", id)
}

func loadAliases(ctx context.Context, q querier, id string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM client_aliases WHERE client_id = $1 ORDER BY created_at, name`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func loadAlerts(ctx context.Context, q querier, id, now string) ([]Alert, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, kind, note, starts_at, COALESCE(ends_at, ''), set_by, set_by_name, version FROM alerts WHERE client_id = $1 ORDER BY starts_at DESC`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var a Alert
		var s, e string
		if err := rows.Scan(&a.ID, &a.Kind, &a.Note, &s, &e, &a.SetBy, &a.SetByName, &a.Version); err != nil {
			return nil, err
		}
		a.StartsAt, a.EndsAt = db.MustTime(s), db.MustTime(e)
		a.Active = s <= now && (e == "" || e > now)
		out = append(out, a)
	}
	return out, rows.Err()
}

func loadBases(ctx context.Context, q querier, id string) ([]LegalBasis, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, kind, start_date, length_days, COALESCE(end_date, ''), offences, court, case_ref, COALESCE(ended_at, ''), version, created_at
		FROM legal_bases WHERE client_id = $1 ORDER BY start_date DESC, created_at DESC`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LegalBasis{}
	for rows.Next() {
		var b LegalBasis
		var ended, created string
		if err := rows.Scan(&b.ID, &b.Kind, &b.StartDate, &b.LengthDays, &b.EndDate, &b.Offences, &b.Court, &b.CaseRef, &ended, &b.Version, &created); err != nil {
			return nil, err
		}
		b.Ended, b.CreatedAt = ended != "", db.MustTime(created)
		out = append(out, b)
	}
	return out, rows.Err()
}

func loadStays(ctx context.Context, q querier, id string) ([]Stay, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, kind, COALESCE(legal_basis_id, ''), started_at, COALESCE(ended_at, ''), COALESCE(end_reason, ''), location_id
		FROM stays WHERE client_id = $1 ORDER BY started_at DESC`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Stay{}
	for rows.Next() {
		var st Stay
		var s, e string
		if err := rows.Scan(&st.ID, &st.Kind, &st.LegalBasisID, &s, &e, &st.EndReason, &st.LocationID); err != nil {
			return nil, err
		}
		st.StartedAt, st.EndedAt = db.MustTime(s), db.MustTime(e)
		out = append(out, st)
	}
	return out, rows.Err()
}

// loadHistory reads the timeline newest first. Entries come before the
// cursor (before, beforeID): strictly older, or as old with a smaller id,
// so that entries written in one transaction (one timestamp) are neither
// skipped nor repeated across pages. An empty beforeID with a time takes
// everything strictly older than that time.
func loadHistory(ctx context.Context, q querier, id, before, beforeID string, limit int) ([]HistoryEntry, error) {
	if before == "" {
		before, beforeID = "9999", ""
	}
	rows, err := q.QueryContext(ctx, `SELECT id, at, kind, summary, actor_name, ref_type, ref_id FROM client_history
		WHERE client_id = $1 AND (at < $2 OR (at = $2 AND id < $3)) ORDER BY at DESC, id DESC LIMIT $4`, id, before, beforeID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []HistoryEntry{}
	for rows.Next() {
		var h HistoryEntry
		var at string
		if err := rows.Scan(&h.ID, &at, &h.Kind, &h.Summary, &h.ActorName, &h.RefType, &h.RefID); err != nil {
			return nil, err
		}
		h.At = db.MustTime(at)
		out = append(out, h)
	}
	return out, rows.Err()
}

func insertHistory(ctx context.Context, tx *db.Tx, clientID, kind, summary, actorID, actorName, refType, refID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO client_history (id, client_id, at, kind, summary, actor_id, actor_name, ref_type, ref_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		db.NewID(), clientID, tx.NowText(), kind, summary, actorID, actorName, refType, refID)
	if err != nil {
		return fmt.Errorf("client: history: %w", err)
	}
	return nil
}

func nextNumber(ctx context.Context, tx *db.Tx) (string, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'client_number' RETURNING value`).Scan(&n); err != nil {
		return "", fmt.Errorf("client: number: %w", err)
	}
	return fmt.Sprintf("K-%07d", n), nil
}

// placeholders is "$first,$first+1,…", n parameters for an IN list.
func placeholders(first, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", first+i)
	}
	return strings.Join(ph, ",")
}

// summaries loads list rows for ids (any order), with active alert kinds.
func summaries(ctx context.Context, q querier, ids []string, now string) (map[string]*Summary, error) {
	out := map[string]*Summary{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := placeholders(1, len(ids))
	rows, err := q.QueryContext(ctx, `SELECT id, number, given_name, family_name, birth_date, status, COALESCE(institution_id, ''), COALESCE(unit_id, ''),
		COALESCE(cell_id, ''), COALESCE(office_id, ''), home_location FROM clients WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("client: summaries: %w", err)
	}
	for rows.Next() {
		var s Summary
		var home string
		if err := rows.Scan(&s.ID, &s.Number, &s.GivenName, &s.FamilyName, &s.BirthDate, &s.Status, &s.Location.InstitutionID, &s.Location.UnitID,
			&s.Location.CellID, &s.Location.OfficeID, &home); err != nil {
			rows.Close()
			return nil, err
		}
		if s.Location.InstitutionID == "" && s.Location.OfficeID == "" {
			s.Location.InstitutionID = home // for the caseload check only
		}
		out[s.ID] = &s
	}
	rows.Close()
	args = append(args, now, now)
	rows, err = q.QueryContext(ctx, fmt.Sprintf(`SELECT client_id, kind FROM alerts WHERE client_id IN (%s) AND starts_at <= $%d AND (ends_at IS NULL OR ends_at > $%d) ORDER BY kind`,
		in, len(ids)+1, len(ids)+2), args...)
	if err != nil {
		return nil, fmt.Errorf("client: alert summaries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, kind string
		if err := rows.Scan(&id, &kind); err != nil {
			return nil, err
		}
		if s := out[id]; s != nil {
			s.Alerts = append(s.Alerts, kind)
		}
	}
	return out, rows.Err()
}

// lockRegister takes the register's write lock (the client-number counter
// row) until the transaction ends; checks for duplicate ID numbers run
// under it so that concurrent writers cannot both pass them.
func lockRegister(ctx context.Context, tx *db.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE counters SET value = value WHERE name = 'client_number'`); err != nil {
		return fmt.Errorf("client: lock register: %w", err)
	}
	return nil
}

// duplicateID refuses an ID number already on another current record; the
// conflict names that record (number and id) so the user can go to it.
func duplicateID(ctx context.Context, tx *db.Tx, nationalID, country, except string) error {
	if nationalID == "" {
		return nil
	}
	var otherID, other string
	err := tx.QueryRowContext(ctx, `SELECT id, number FROM clients WHERE national_id = $1 AND national_id_country = $2 AND id <> $3 AND merged_into IS NULL`,
		nationalID, country, except).Scan(&otherID, &other)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("client: duplicate check: %w", err)
	}
	return &apperr.Error{Code: apperr.Conflict, Message: "A person with this ID number is already registered as " + other + ".",
		Fields: []apperr.FieldError{{Field: "national_id", Message: "Already registered as " + other + "."}},
		Detail: map[string]any{"existing_client_id": otherID, "existing_client_number": other}}
}

// replaceAliases makes the person's aliases exactly names, keeping the
// rows (and ids) of names that stay, so that a merge recorded earlier can
// still be undone row by row.
func replaceAliases(ctx context.Context, tx *db.Tx, clientID string, names []string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM client_aliases WHERE client_id = $1`, clientID)
	if err != nil {
		return err
	}
	have := map[string]string{}
	var drop []string
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		if _, dup := have[name]; dup || !slices.Contains(names, name) {
			drop = append(drop, id)
			continue
		}
		have[name] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range drop {
		if _, err := tx.ExecContext(ctx, `DELETE FROM client_aliases WHERE id = $1`, id); err != nil {
			return err
		}
	}
	for _, n := range names {
		if _, ok := have[n]; ok {
			continue
		}
		have[n] = ""
		if _, err := tx.ExecContext(ctx, `INSERT INTO client_aliases (id, client_id, name, created_at) VALUES ($1,$2,$3,$4)`, db.NewID(), clientID, n, tx.NowText()); err != nil {
			return err
		}
	}
	return nil
}

// findIDByNumber resolves a client number (K-0000001) to the record's id.
func findIDByNumber(ctx context.Context, q querier, number string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM clients WHERE number = $1`, number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apperr.New(apperr.NotFound, "There is no client with this number.")
	}
	if err != nil {
		return "", fmt.Errorf("client: find number: %w", err)
	}
	return id, nil
}

func loadMovement(ctx context.Context, q querier, clientID, id string) (Movement, error) {
	var m Movement
	var at string
	err := q.QueryRowContext(ctx, `SELECT id, client_id, COALESCE(stay_id, ''), kind, at, from_status, to_status, COALESCE(from_cell, ''), COALESCE(to_cell, ''),
		COALESCE(from_location, ''), COALESCE(to_location, ''), reason, by_staff FROM movements WHERE id = $1 AND client_id = $2`, id, clientID).
		Scan(&m.ID, &m.ClientID, &m.StayID, &m.Action, &at, &m.FromStatus, &m.ToStatus, &m.FromCell, &m.ToCell, &m.FromLocation, &m.ToLocation, &m.Reason, &m.By)
	if errors.Is(err, sql.ErrNoRows) {
		return m, apperr.New(apperr.NotFound, "This client has no such movement.")
	}
	if err != nil {
		return m, fmt.Errorf("client: movement: %w", err)
	}
	m.At = db.MustTime(at)
	return m, nil
}

// loadMerges reads the merges into survivorID, newest first.
func loadMerges(ctx context.Context, q querier, survivorID string) ([]MergeRecord, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, survivor_id, merged_id, reason, merged_at, merged_by, COALESCE(undone_at, '') FROM client_merges WHERE survivor_id = $1 ORDER BY merged_at DESC`, survivorID)
	if err != nil {
		return nil, fmt.Errorf("client: merges: %w", err)
	}
	defer rows.Close()
	var out []MergeRecord
	for rows.Next() {
		var m MergeRecord
		var at, undone string
		if err := rows.Scan(&m.ID, &m.SurvivorID, &m.MergedID, &m.Reason, &at, &m.MergedBy, &undone); err != nil {
			return nil, err
		}
		m.MergedAt, m.UndoneAt = db.MustTime(at), db.MustTime(undone)
		out = append(out, m)
	}
	return out, rows.Err()
}

// writeDetails updates a person's details at version; a newer version is
// a stale-version conflict.
func writeDetails(ctx context.Context, tx *db.Tx, id string, version int, d PersonDetails) error {
	res, err := tx.ExecContext(ctx, `UPDATE clients SET given_name=$1, family_name=$2, birth_date=$3, sex=$4, national_id=$5, national_id_country=$6,
		nationality=$7, languages=$8, version = version + 1, updated_at=$9 WHERE id=$10 AND version=$11`,
		d.GivenName, d.FamilyName, d.BirthDate, d.Sex, db.NullString(d.NationalID), db.NullString(d.NationalIDCountry), d.Nationality,
		strings.Join(d.Languages, ","), tx.NowText(), id, version)
	if err != nil {
		return fmt.Errorf("client: update: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.StaleVersion("client", version)
	}
	return nil
}
