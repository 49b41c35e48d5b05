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
		if err := deleteAlias(ctx, tx, id); err != nil {
			return err
		}
	}
	for _, n := range names {
		if _, ok := have[n]; ok {
			continue
		}
		have[n] = ""
		if err := insertAlias(ctx, tx, db.NewID(), clientID, n); err != nil {
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

func insertClientRow(ctx context.Context, tx *db.Tx, c *Client) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO clients (id, number, given_name, family_name, birth_date, sex, national_id, national_id_country, nationality,
		languages, status, home_location, version, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,1,$13,$13)`,
		c.ID, c.Number, c.GivenName, c.FamilyName, c.BirthDate, c.Sex, db.NullString(c.NationalID), db.NullString(c.NationalIDCountry), c.Nationality,
		strings.Join(c.Languages, ","), string(c.Status), c.HomeLocation, tx.NowText())
	if err != nil {
		return fmt.Errorf("client: register: %w", err)
	}
	return nil
}

func insertAlias(ctx context.Context, tx *db.Tx, id, clientID, name string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO client_aliases (id, client_id, name, created_at) VALUES ($1,$2,$3,$4)`, id, clientID, name, tx.NowText()); err != nil {
		return fmt.Errorf("client: alias: %w", err)
	}
	return nil
}

// caseloadLocations are the locations whose caseload covers the record id.
func caseloadLocations(ctx context.Context, q querier, id string) ([]string, error) {
	var inst, unit, office, home string
	err := q.QueryRowContext(ctx, `SELECT COALESCE(institution_id, ''), COALESCE(unit_id, ''), COALESCE(office_id, ''), home_location FROM clients WHERE id = $1`, id).
		Scan(&inst, &unit, &office, &home)
	if err != nil {
		return nil, fmt.Errorf("client: locate: %w", err)
	}
	return locationsOf(&Location{InstitutionID: inst, UnitID: unit, OfficeID: office}, home), nil
}

func insertBasis(ctx context.Context, tx *db.Tx, clientID string, b *LegalBasis, by string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO legal_bases (id, client_id, kind, start_date, length_days, end_date, offences, court, case_ref, version, created_at, created_by)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,1,$10,$11)`, b.ID, clientID, b.Kind, b.StartDate, b.LengthDays, db.NullString(b.EndDate), b.Offences, b.Court, b.CaseRef, tx.NowText(), by)
	if err != nil {
		return fmt.Errorf("client: legal basis: %w", err)
	}
	return nil
}

// insertStay starts a stay ("custody" or "community") and returns its id.
func insertStay(ctx context.Context, tx *db.Tx, clientID, kind, basisID, locationID string) (string, error) {
	id := db.NewID()
	if _, err := tx.ExecContext(ctx, `INSERT INTO stays (id, client_id, kind, legal_basis_id, started_at, location_id) VALUES ($1,$2,$3,$4,$5,$6)`,
		id, clientID, kind, basisID, tx.NowText(), locationID); err != nil {
		return "", fmt.Errorf("client: stay: %w", err)
	}
	return id, nil
}

// endBases ends the person's unended legal bases of the given kinds (in
// case caseRef only, when it is not empty) and says how many it ended.
func endBases(ctx context.Context, tx *db.Tx, clientID, caseRef string, kinds ...string) (int64, error) {
	args := []any{tx.NowText(), clientID, caseRef}
	for _, k := range kinds {
		args = append(args, k)
	}
	res, err := tx.ExecContext(ctx, `UPDATE legal_bases SET ended_at = $1, version = version + 1
		WHERE client_id = $2 AND ended_at IS NULL AND ($3 = '' OR case_ref = $3) AND kind IN (`+placeholders(4, len(kinds))+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("client: end legal bases: %w", err)
	}
	return res.RowsAffected()
}

// writePlace sets the person's status, location and current stay at
// version; a newer version is a stale-version conflict.
func writePlace(ctx context.Context, tx *db.Tx, id string, version int, status Status, l Location, stayID string) error {
	res, err := tx.ExecContext(ctx, `UPDATE clients SET status=$1, institution_id=$2, unit_id=$3, cell_id=$4, office_id=$5, stay_id=$6, version = version + 1, updated_at=$7
		WHERE id=$8 AND version=$9`, string(status), db.NullString(l.InstitutionID), db.NullString(l.UnitID), db.NullString(l.CellID),
		db.NullString(l.OfficeID), db.NullString(stayID), tx.NowText(), id, version)
	if err != nil {
		return fmt.Errorf("client: move: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.StaleVersion("client", version)
	}
	return nil
}

// insertMovement records m at the transaction's time.
func insertMovement(ctx context.Context, tx *db.Tx, m *Movement) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO movements (id, client_id, stay_id, kind, at, from_status, to_status, from_cell, to_cell, from_location, to_location, reason, by_staff)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`, m.ID, m.ClientID, db.NullString(m.StayID), string(m.Action), tx.NowText(),
		string(m.FromStatus), string(m.ToStatus), db.NullString(m.FromCell), db.NullString(m.ToCell), db.NullString(m.FromLocation), db.NullString(m.ToLocation), m.Reason, m.By); err != nil {
		return fmt.Errorf("client: movement: %w", err)
	}
	return nil
}

func endStay(ctx context.Context, tx *db.Tx, stayID, reason string) error {
	if stayID == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE stays SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL`, tx.NowText(), reason, stayID)
	return err
}

func insertAlert(ctx context.Context, tx *db.Tx, clientID string, al *Alert) error {
	var endText any
	if !al.EndsAt.IsZero() {
		endText = db.FormatTime(al.EndsAt)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, client_id, kind, note, starts_at, ends_at, set_by, set_by_name, version, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,1,$9)`,
		al.ID, clientID, al.Kind, al.Note, db.FormatTime(al.StartsAt), endText, al.SetBy, al.SetByName, tx.NowText()); err != nil {
		return fmt.Errorf("client: alert: %w", err)
	}
	return nil
}

// findAlertState reads what ending an alert needs: its kind, its end
// ("" for none) and its version.
func findAlertState(ctx context.Context, tx *db.Tx, clientID, alertID string) (kind, ends string, version int, err error) {
	err = tx.QueryRowContext(ctx, `SELECT kind, COALESCE(ends_at, ''), version FROM alerts WHERE id = $1 AND client_id = $2`, alertID, clientID).Scan(&kind, &ends, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", 0, apperr.New(apperr.NotFound, "This client has no such alert.")
	}
	if err != nil {
		return "", "", 0, fmt.Errorf("client: alert: %w", err)
	}
	return kind, ends, version, nil
}

// endAlertRow ends an alert now at version; a newer version is a
// stale-version conflict.
func endAlertRow(ctx context.Context, tx *db.Tx, alertID, by string, version int) error {
	res, err := tx.ExecContext(ctx, `UPDATE alerts SET ends_at = $1, ended_by = $2, version = version + 1 WHERE id = $3 AND version = $4`, tx.NowText(), by, alertID, version)
	if err != nil {
		return fmt.Errorf("client: end alert: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.StaleVersion("alert", version)
	}
	return nil
}

// deleteAlias removes one alias row.
func deleteAlias(ctx context.Context, tx *db.Tx, id string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM client_aliases WHERE id = $1`, id)
	return err
}

// markMerged points the duplicate mergedID at survivorID, at version; a
// newer version is a stale-version conflict.
func markMerged(ctx context.Context, tx *db.Tx, mergedID, survivorID string, version int) error {
	res, err := tx.ExecContext(ctx, `UPDATE clients SET merged_into = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4`,
		survivorID, tx.NowText(), mergedID, version)
	if err != nil {
		return fmt.Errorf("client: merge: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.StaleVersion("duplicate record", version)
	}
	return nil
}

// unmarkMerged makes the record stand on its own again (no merged_into)
// and raises its version.
func unmarkMerged(ctx context.Context, tx *db.Tx, id string) error {
	_, err := tx.ExecContext(ctx, `UPDATE clients SET merged_into = NULL, version = version + 1, updated_at = $1 WHERE id = $2`, tx.NowText(), id)
	return err
}

// idsOf lists the ids of the person's rows in table (one of personTables).
func idsOf(ctx context.Context, tx *db.Tx, table, clientID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM `+table+` WHERE client_id = $1`, clientID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// moveRows gives all of fromID's rows in table (one of personTables) to toID.
func moveRows(ctx context.Context, tx *db.Tx, table, fromID, toID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET client_id = $1 WHERE client_id = $2`, toID, fromID); err != nil {
		return fmt.Errorf("client: merge %s: %w", table, err)
	}
	return nil
}

// returnRow gives one row in table (one of personTables) back to clientID.
func returnRow(ctx context.Context, tx *db.Tx, table, rowID, clientID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET client_id = $1 WHERE id = $2`, clientID, rowID); err != nil {
		return fmt.Errorf("client: undo merge %s: %w", table, err)
	}
	return nil
}

// readNationalID reads the record's ID number and its country ("" for none).
func readNationalID(ctx context.Context, tx *db.Tx, id string) (nationalID, country string, err error) {
	err = tx.QueryRowContext(ctx, `SELECT COALESCE(national_id, ''), COALESCE(national_id_country, '') FROM clients WHERE id = $1`, id).Scan(&nationalID, &country)
	return nationalID, country, err
}

// moveNationalID takes the ID number off fromID first (one number, one
// record) and then puts nationalID and country on toID.
func moveNationalID(ctx context.Context, tx *db.Tx, fromID, toID, nationalID, country string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE clients SET national_id = NULL, national_id_country = NULL WHERE id = $1`, fromID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE clients SET national_id = $1, national_id_country = $2 WHERE id = $3`, db.NullString(nationalID), db.NullString(country), toID)
	return err
}

// insertMerge records the merge rec at the transaction's time; moved is
// what it changed (JSON), kept for UndoMerge.
func insertMerge(ctx context.Context, tx *db.Tx, rec MergeRecord, moved string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO client_merges (id, survivor_id, merged_id, reason, moved, merged_at, merged_by) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		rec.ID, rec.SurvivorID, rec.MergedID, rec.Reason, moved, tx.NowText(), rec.MergedBy); err != nil {
		return fmt.Errorf("client: merge record: %w", err)
	}
	return nil
}

// findMergeToUndo reads what undoing a merge into survivorID needs: the
// merged record's id, what the merge moved (JSON) and when it was undone
// ("" if not).
func findMergeToUndo(ctx context.Context, tx *db.Tx, survivorID, mergeID string) (mergedID, moved, undone string, err error) {
	err = tx.QueryRowContext(ctx, `SELECT merged_id, moved, COALESCE(undone_at, '') FROM client_merges WHERE id = $1 AND survivor_id = $2`, mergeID, survivorID).
		Scan(&mergedID, &moved, &undone)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", apperr.New(apperr.NotFound, "This client has no such merge.")
	}
	return mergedID, moved, undone, err
}

// markMergeUndone records that the merge was undone now, by by.
func markMergeUndone(ctx context.Context, tx *db.Tx, mergeID, by string) error {
	_, err := tx.ExecContext(ctx, `UPDATE client_merges SET undone_at = $1, undone_by = $2 WHERE id = $3`, tx.NowText(), by, mergeID)
	return err
}

// bumpVersion raises the record's version (a change to it without other
// columns) and returns the new one.
func bumpVersion(ctx context.Context, tx *db.Tx, c *Client) (int, error) {
	res, err := tx.ExecContext(ctx, `UPDATE clients SET version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3`, tx.NowText(), c.ID, c.Version)
	if err != nil {
		return 0, fmt.Errorf("client: version: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, apperr.StaleVersion("client", c.Version)
	}
	return c.Version + 1, nil
}

// loadPhotoInfo reads what is known about the person's photo, without the
// bytes; nil when there is none.
func loadPhotoInfo(ctx context.Context, q querier, clientID string) (*PhotoInfo, error) {
	var p PhotoInfo
	var at string
	err := q.QueryRowContext(ctx, `SELECT id, content_type, byte_size, width, height, uploaded_by, uploaded_at FROM client_photos WHERE client_id = $1`, clientID).
		Scan(&p.ID, &p.ContentType, &p.Size, &p.Width, &p.Height, &p.UploadedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("client: photo info: %w", err)
	}
	p.UploadedAt = db.MustTime(at)
	return &p, nil
}

// loadPhoto reads the person's photo with its bytes; none is NotFound.
func loadPhoto(ctx context.Context, q querier, clientID string) (PhotoInfo, []byte, error) {
	var p PhotoInfo
	var data []byte
	var at string
	err := q.QueryRowContext(ctx, `SELECT id, content_type, image, byte_size, width, height, uploaded_by, uploaded_at FROM client_photos WHERE client_id = $1`, clientID).
		Scan(&p.ID, &p.ContentType, &data, &p.Size, &p.Width, &p.Height, &p.UploadedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil, apperr.New(apperr.NotFound, msgNoPhoto)
	}
	if err != nil {
		return p, nil, fmt.Errorf("client: photo: %w", err)
	}
	p.UploadedAt = db.MustTime(at)
	return p, data, nil
}

// insertPhoto stores data as the person's photo p, uploaded now.
func insertPhoto(ctx context.Context, tx *db.Tx, clientID string, p *PhotoInfo, data []byte) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO client_photos (id, client_id, content_type, image, byte_size, width, height, uploaded_by, uploaded_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, p.ID, clientID, p.ContentType, data, p.Size, p.Width, p.Height, p.UploadedBy, tx.NowText()); err != nil {
		return fmt.Errorf("client: photo: %w", err)
	}
	return nil
}

// deletePhoto deletes a photo, bytes and all.
func deletePhoto(ctx context.Context, tx *db.Tx, id string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM client_photos WHERE id = $1`, id)
	return err
}

// loadRoll reads the people on the roll of the locations (ids, already
// deduplicated; a person counts when their institution or unit is one of
// them), each with their active alert kinds (unsorted, possibly repeated),
// in no particular order.
func loadRoll(ctx context.Context, tx *db.Tx, locationIDs []any) ([]Occupant, error) {
	out := []Occupant{}
	// $1..$3 are the statuses, $4.. the locations (used twice).
	args := []any{string(rollStatuses[0]), string(rollStatuses[1]), string(rollStatuses[2])}
	args = append(args, locationIDs...)
	in := placeholders(4, len(locationIDs))
	where := `c.merged_into IS NULL AND c.status IN ($1, $2, $3) AND (c.institution_id IN (` + in + `) OR c.unit_id IN (` + in + `))`
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.number, c.given_name, c.family_name, c.status, COALESCE(c.institution_id, ''),
		COALESCE(c.unit_id, ''), COALESCE(c.cell_id, ''), c.sex, c.languages,
		COALESCE((SELECT s.started_at FROM stays s WHERE s.id = c.stay_id), ''), c.birth_date,
		CASE WHEN EXISTS (SELECT 1 FROM legal_bases b WHERE b.client_id = c.id AND b.kind = '`+BasisRemand+`' AND b.ended_at IS NULL)
			AND NOT EXISTS (SELECT 1 FROM legal_bases b WHERE b.client_id = c.id AND b.kind = '`+BasisSentence+`' AND b.ended_at IS NULL)
			THEN 1 ELSE 0 END
		FROM clients c WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("client: occupants: %w", err)
	}
	byID := map[string]int{}
	for rows.Next() {
		var o Occupant
		var langs, admitted string
		var remand int
		if err := rows.Scan(&o.ID, &o.Number, &o.GivenName, &o.FamilyName, &o.Status, &o.InstitutionID, &o.UnitID, &o.CellID, &o.Sex, &langs, &admitted,
			&o.BirthDate, &remand); err != nil {
			rows.Close()
			return nil, err
		}
		if t, err := db.ParseTime(admitted); err == nil {
			o.AdmittedAt = t
		}
		o.Alerts, o.Languages, o.Remand = []string{}, splitList(langs), remand == 1
		byID[o.ID] = len(out)
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	now := len(args) + 1
	args = append(args, tx.NowText())
	arows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT a.client_id, a.kind FROM alerts a JOIN clients c ON c.id = a.client_id
		WHERE %s AND a.starts_at <= $%d AND (a.ends_at IS NULL OR a.ends_at > $%d)`, where, now, now), args...)
	if err != nil {
		return nil, fmt.Errorf("client: occupant alerts: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var id, kind string
		if err := arows.Scan(&id, &kind); err != nil {
			return nil, err
		}
		if i, ok := byID[id]; ok {
			out[i].Alerts = append(out[i].Alerts, kind)
		}
	}
	return out, arows.Err()
}

// Whereabouts resolves id through merges and reads the person's name and
// current place, in another capability's transaction or on q alone (a
// *db.DB) before one. It is not an audited read: the caller records what
// it does with the person.
func Whereabouts(ctx context.Context, q db.Querier, id string) (Placed, error) {
	// One read in the common case (a record not merged away); a merged
	// record is followed to the one that holds the person now.
	for range 16 {
		pl := Placed{ID: id}
		var given, family, into string
		err := q.QueryRowContext(ctx, `SELECT COALESCE(merged_into, ''), number, given_name, family_name, COALESCE(institution_id, ''), COALESCE(unit_id, ''), COALESCE(office_id, ''), home_location FROM clients WHERE id = $1`, id).
			Scan(&into, &pl.Number, &given, &family, &pl.InstitutionID, &pl.UnitID, &pl.OfficeID, &pl.HomeLocation)
		if errors.Is(err, sql.ErrNoRows) {
			return Placed{}, apperr.New(apperr.NotFound, "There is no client with this id.")
		}
		if err != nil {
			return Placed{}, fmt.Errorf("client: whereabouts: %w", err)
		}
		if into != "" {
			id = into
			continue
		}
		pl.Name = given + " " + family
		return pl, nil
	}
	return Placed{}, fmt.Errorf("client: merge chain too long at %s", id)
}

// recordIDs is id and every id merged into it, directly or through other
// merges (an undone merge clears merged_into, so it drops out).
func recordIDs(ctx context.Context, q querier, id string) ([]string, error) {
	out, next := []string{id}, []string{id}
	for depth := 0; len(next) > 0; depth++ {
		if depth > 16 {
			return nil, fmt.Errorf("client: merge chain too long at %s", id)
		}
		var found []string
		for _, cur := range next {
			rows, err := q.QueryContext(ctx, `SELECT id FROM clients WHERE merged_into = $1`, cur)
			if err != nil {
				return nil, fmt.Errorf("client: merged ids: %w", err)
			}
			for rows.Next() {
				var m string
				if err := rows.Scan(&m); err != nil {
					rows.Close()
					return nil, err
				}
				found = append(found, m)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
		out = append(out, found...)
		next = found
	}
	return out, nil
}

// loadHeading reads the name and number of a record.
func loadHeading(ctx context.Context, q querier, id string) (Heading, error) {
	h := Heading{ID: id}
	err := q.QueryRowContext(ctx, `SELECT number, given_name, family_name FROM clients WHERE id = $1`, id).Scan(&h.Number, &h.GivenName, &h.FamilyName)
	if errors.Is(err, sql.ErrNoRows) {
		return h, apperr.New(apperr.NotFound, "There is no client with this id.")
	}
	if err != nil {
		return h, fmt.Errorf("client: heading: %w", err)
	}
	return h, nil
}
