// SPDX-License-Identifier: AGPL-3.0-or-later

package registration

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
)

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

const regColumns = `r.id, r.kind, r.client_id, r.institution_id, r.unit_id, r.occurred_at, r.place, r.details, r.status,
	r.author_id, r.author_name, r.created_at, r.updated_at, r.submitted_at, r.reviewed_at, r.reviewer_name, r.review_comment,
	r.closed_at, r.client_informed_at, r.client_informed_by, r.version`

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

func txt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return db.FormatTime(t)
}

func scanReg(sc interface{ Scan(...any) error }) (*Registration, error) {
	var r Registration
	var occurred, details, created, updated, submitted, reviewed, closed, informed string
	err := sc.Scan(&r.ID, &r.Kind, &r.ClientID, &r.InstitutionID, &r.UnitID, &occurred, &r.Place, &details, &r.Status,
		&r.AuthorID, &r.AuthorName, &created, &updated, &submitted, &reviewed, &r.ReviewerName, &r.ReviewComment,
		&closed, &informed, &r.ClientInformedBy, &r.Version)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(details), &r.Details); err != nil {
		return nil, fmt.Errorf("registration %s: details: %w", r.ID, err)
	}
	r.OccurredAt, r.CreatedAt, r.UpdatedAt, r.SubmittedAt = tm(occurred), tm(created), tm(updated), tm(submitted)
	r.ReviewedAt, r.ClosedAt, r.ClientInformedAt = tm(reviewed), tm(closed), tm(informed)
	return &r, nil
}

// findByKey finds the registration authorID stored with key. The index on
// (author_id, idem_key) is partial (WHERE idem_key <> ”), and neither
// engine can tell from a bound parameter that the key is not empty: the
// query repeats the index's condition, or it scans the whole table, on
// SQLite under the write lock, on every keyed POST.
func findByKey(ctx context.Context, q querier, authorID, key string) (*Registration, error) {
	r, err := scanReg(q.QueryRowContext(ctx, `SELECT `+regColumns+` FROM registrations r WHERE r.author_id = $1 AND r.idem_key = $2 AND r.idem_key <> ''`, authorID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, err
}

func findReg(ctx context.Context, q querier, id string) (*Registration, error) {
	r, err := scanReg(q.QueryRowContext(ctx, `SELECT `+regColumns+` FROM registrations r WHERE r.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "There is no such registration.")
	}
	if err != nil {
		return nil, fmt.Errorf("registration: read: %w", err)
	}
	return r, loadParties(ctx, q, []*Registration{r})
}

func insertReg(ctx context.Context, tx *db.Tx, r *Registration, key string) error {
	details, err := json.Marshal(r.Details)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO registrations (id, kind, client_id, institution_id, unit_id, occurred_at, place, details, status,
		author_id, author_name, idem_key, created_at, updated_at, submitted_at, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,1)`,
		r.ID, r.Kind, r.ClientID, r.InstitutionID, r.UnitID, txt(r.OccurredAt), r.Place, string(details), r.Status,
		r.AuthorID, r.AuthorName, key, tx.NowText(), tx.NowText(), txt(r.SubmittedAt)); err != nil {
		return fmt.Errorf("registration: insert: %w", err)
	}
	return insertParties(ctx, tx, r.ID, r.Parties)
}

// insertParties writes the parties in one statement (at most 100, so at
// most 600 parameters): one statement per party was a fifth of the time a
// registration held SQLite's writer.
func insertParties(ctx context.Context, tx *db.Tx, id string, ps []Party) error {
	if len(ps) == 0 {
		return nil
	}
	const cols = 6
	args := make([]any, 0, cols*len(ps))
	for i, p := range ps {
		args = append(args, id, i, p.Type, p.ID, p.Name, p.Role)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO registration_parties (registration_id, seq, party_type, party_id, name, role) VALUES `+valueRows(len(ps), cols), args...); err != nil {
		return fmt.Errorf("registration: party: %w", err)
	}
	return nil
}

// valueRows is the VALUES list of a multi-row insert: rows groups of cols
// numbered parameters.
func valueRows(rows, cols int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		b.WriteString(placeholders(r*cols+1, cols))
		b.WriteByte(')')
	}
	return b.String()
}

// updateDraft replaces a draft's content; the version guards against a
// second device's save being overwritten.
func updateDraft(ctx context.Context, tx *db.Tx, r *Registration, version int) error {
	details, err := json.Marshal(r.Details)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE registrations SET occurred_at = $1, place = $2, details = $3, updated_at = $4, version = version + 1
		WHERE id = $5 AND version = $6 AND status = 'draft'`, txt(r.OccurredAt), r.Place, string(details), tx.NowText(), r.ID, version)
	if err := oneRow(res, err, version); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM registration_parties WHERE registration_id = $1`, r.ID); err != nil {
		return err
	}
	return insertParties(ctx, tx, r.ID, r.Parties)
}

func oneRow(res sql.Result, err error, version int) error {
	if err != nil {
		return fmt.Errorf("registration: update: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return apperr.New(apperr.Conflict, "The registration was changed by someone else since version %d; reload it.", version)
	}
	return nil
}

// setStatus moves a registration on, checking its version and its status.
func setStatus(ctx context.Context, tx *db.Tx, id string, version int, from []Status, to Status, sets string, args ...any) error {
	in := make([]string, len(from))
	for i, f := range from {
		in[i] = "'" + string(f) + "'"
	}
	q := `UPDATE registrations SET status = $1, updated_at = $2, version = version + 1` + sets +
		fmt.Sprintf(` WHERE id = $3 AND version = $4 AND status IN (%s)`, strings.Join(in, ","))
	res, err := tx.ExecContext(ctx, q, append([]any{to, tx.NowText(), id, version}, args...)...)
	return oneRow(res, err, version)
}

// bump marks a registration changed (an amendment, a statement) without
// a version check: those append, and never overwrite anything.
func bump(ctx context.Context, tx *db.Tx, id string) error {
	_, err := tx.ExecContext(ctx, `UPDATE registrations SET updated_at = $1, version = version + 1 WHERE id = $2`, tx.NowText(), id)
	return err
}

func setInformed(ctx context.Context, tx *db.Tx, id string, version int, by string) error {
	res, err := tx.ExecContext(ctx, `UPDATE registrations SET client_informed_at = $1, client_informed_by = $2, updated_at = $1, version = version + 1
		WHERE id = $3 AND version = $4`, tx.NowText(), by, id, version)
	return oneRow(res, err, version)
}

func addHistory(ctx context.Context, tx *db.Tx, regID, actorID, actorName, action, comment string) error {
	return addHistoryLines(ctx, tx, regID, actorID, actorName, historyLine{action, comment})
}

// historyLine is an action with its comment.
type historyLine struct{ action, comment string }

// addHistoryLines writes lines of one actor in one statement, in order
// (their ids are time-ordered, and the history reads by time, then id).
func addHistoryLines(ctx context.Context, tx *db.Tx, regID, actorID, actorName string, lines ...historyLine) error {
	if len(lines) == 0 {
		return nil
	}
	const cols = 7
	args := make([]any, 0, cols*len(lines))
	for _, l := range lines {
		args = append(args, db.NewID(), regID, tx.NowText(), actorID, actorName, l.action, l.comment)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO registration_history (id, registration_id, at, actor_id, actor_name, action, comment) VALUES `+valueRows(len(lines), cols), args...)
	if err != nil {
		return fmt.Errorf("registration: history: %w", err)
	}
	return nil
}

func loadParties(ctx context.Context, q querier, regs []*Registration) error {
	if len(regs) == 0 {
		return nil
	}
	byID := map[string]*Registration{}
	ids := make([]any, len(regs))
	for i, r := range regs {
		byID[r.ID] = r
		r.Parties = []Party{}
		ids[i] = r.ID
	}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := q.QueryContext(ctx, `SELECT registration_id, party_type, party_id, name, role FROM registration_parties WHERE registration_id IN (`+placeholders(1, len(chunk))+`) ORDER BY registration_id, seq`, chunk...)
		if err != nil {
			return fmt.Errorf("registration: parties: %w", err)
		}
		for rows.Next() {
			var id string
			var p Party
			if err := rows.Scan(&id, &p.Type, &p.ID, &p.Name, &p.Role); err != nil {
				rows.Close()
				return err
			}
			byID[id].Parties = append(byID[id].Parties, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// loadFull reads what a registration's own page shows besides its row.
func loadFull(ctx context.Context, q querier, r *Registration, now time.Time) error {
	var err error
	if r.Statements, err = statements(ctx, q, r.ID, now); err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT id, statement_id, field, old_value, new_value, reason, author_name, at FROM registration_amendments WHERE registration_id = $1 ORDER BY at, id`, r.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var a Amendment
		var at string
		if err := rows.Scan(&a.ID, &a.StatementID, &a.Field, &a.OldValue, &a.NewValue, &a.Reason, &a.AuthorName, &at); err != nil {
			rows.Close()
			return err
		}
		a.At = tm(at)
		r.Amendments = append(r.Amendments, a)
	}
	rows.Close()
	rows, err = q.QueryContext(ctx, `SELECT at, actor_name, action, comment FROM registration_history WHERE registration_id = $1 ORDER BY at, id`, r.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var e Event
		var at string
		if err := rows.Scan(&at, &e.ActorName, &e.Action, &e.Comment); err != nil {
			rows.Close()
			return err
		}
		e.At = tm(at)
		r.History = append(r.History, e)
	}
	rows.Close()
	if r.Complaints, err = complaints(ctx, q, `WHERE registration_id = $1 ORDER BY received_at`, now, r.ID); err != nil {
		return err
	}
	r.Photos, err = photos(ctx, q, r.ID)
	return err
}

const statementColumns = `id, staff_id, staff_name, status, text, requested_at, submitted_at, reminded_at, version`

func scanStatement(sc interface{ Scan(...any) error }, now time.Time) (Statement, error) {
	var s Statement
	var requested, submitted, reminded string
	if err := sc.Scan(&s.ID, &s.StaffID, &s.StaffName, &s.Status, &s.Text, &requested, &submitted, &reminded, &s.Version); err != nil {
		return s, err
	}
	s.RequestedAt, s.SubmittedAt = tm(requested), tm(submitted)
	s.Reminded = reminded != ""
	s.Overdue = s.Status == "requested" && now.Sub(s.RequestedAt) > StatementOverdue
	return s, nil
}

func statements(ctx context.Context, q querier, regID string, now time.Time) ([]Statement, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+statementColumns+` FROM registration_statements WHERE registration_id = $1 ORDER BY requested_at, staff_name`, regID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Statement
	for rows.Next() {
		s, err := scanStatement(rows, now)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// requestStatements asks each of staff (distinct) for a statement, in one
// statement, and returns those who were not already asked.
func requestStatements(ctx context.Context, tx *db.Tx, regID string, staff []Party) (map[string]bool, error) {
	asked := map[string]bool{}
	if len(staff) == 0 {
		return asked, nil
	}
	const cols = 6
	args := make([]any, 0, cols*len(staff))
	for _, p := range staff {
		args = append(args, db.NewID(), regID, p.ID, p.Name, "requested", tx.NowText())
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO registration_statements (id, registration_id, staff_id, staff_name, status, requested_at) VALUES `)
	q.WriteString(valueRows(len(staff), cols))
	q.WriteString(` ON CONFLICT DO NOTHING RETURNING staff_id`)
	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("registration: request statements: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		asked[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registration: request statements: %w", err)
	}
	return asked, nil
}

func findStatement(ctx context.Context, q querier, regID, staffID, id string, now time.Time) (Statement, error) {
	where, arg := `staff_id = $2`, staffID
	if id != "" {
		where, arg = `id = $2`, id
	}
	s, err := scanStatement(q.QueryRowContext(ctx, `SELECT `+statementColumns+` FROM registration_statements WHERE registration_id = $1 AND `+where, regID, arg), now)
	if errors.Is(err, sql.ErrNoRows) {
		return s, apperr.New(apperr.NotFound, "No statement was asked of you for this registration.")
	}
	return s, err
}

func submitStatement(ctx context.Context, tx *db.Tx, id, text string) error {
	res, err := tx.ExecContext(ctx, `UPDATE registration_statements SET status = 'submitted', text = $1, submitted_at = $2, version = version + 1 WHERE id = $3 AND status = 'requested'`,
		text, tx.NowText(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.New(apperr.Conflict, "This statement was already given; correct it with an amendment.")
	}
	return nil
}

func openStatements(ctx context.Context, q querier, regID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM registration_statements WHERE registration_id = $1 AND status = 'requested'`, regID).Scan(&n)
	return n, err
}

func insertAmendment(ctx context.Context, tx *db.Tx, regID string, a *Amendment, authorID string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO registration_amendments (id, registration_id, statement_id, field, old_value, new_value, reason, author_id, author_name, at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, a.ID, regID, a.StatementID, a.Field, a.OldValue, a.NewValue, a.Reason, authorID, a.AuthorName, db.FormatTime(a.At))
	if err != nil {
		return fmt.Errorf("registration: amendment: %w", err)
	}
	return nil
}

const complaintColumns = `id, received_at, text, deadline, handler_id, handler_name, status, outcome, decision, decided_at, decided_by_name, version`

func complaints(ctx context.Context, q querier, where string, now time.Time, args ...any) ([]Complaint, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+complaintColumns+` FROM registration_complaints `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("registration: complaints: %w", err)
	}
	defer rows.Close()
	var out []Complaint
	today := now.In(zone).Format("2006-01-02")
	for rows.Next() {
		var c Complaint
		var received, decided string
		if err := rows.Scan(&c.ID, &received, &c.Text, &c.Deadline, &c.HandlerID, &c.HandlerName, &c.Status, &c.Outcome, &c.Decision, &decided, &c.DecidedByName, &c.Version); err != nil {
			return nil, err
		}
		c.ReceivedAt, c.DecidedAt = tm(received), tm(decided)
		c.Overdue = c.Status == "open" && c.Deadline < today
		out = append(out, c)
	}
	return out, rows.Err()
}

func insertComplaint(ctx context.Context, tx *db.Tx, regID, clientID string, c *Complaint) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO registration_complaints (id, registration_id, client_id, received_at, text, deadline, handler_id, handler_name, status)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'open')`, c.ID, regID, clientID, db.FormatTime(c.ReceivedAt), c.Text, c.Deadline, c.HandlerID, c.HandlerName)
	if err != nil {
		return fmt.Errorf("registration: complaint: %w", err)
	}
	return nil
}

func decideComplaint(ctx context.Context, tx *db.Tx, regID, id string, version int, outcome, decision, by string) error {
	res, err := tx.ExecContext(ctx, `UPDATE registration_complaints SET status = 'decided', outcome = $1, decision = $2, decided_at = $3, decided_by_name = $4, version = version + 1
		WHERE id = $5 AND registration_id = $6 AND version = $7 AND status = 'open'`, outcome, decision, tx.NowText(), by, id, regID, version)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.New(apperr.Conflict, "The complaint was already decided or changed since version %d; reload it.", version)
	}
	return nil
}

func openComplaints(ctx context.Context, q querier, regID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM registration_complaints WHERE registration_id = $1 AND status = 'open'`, regID).Scan(&n)
	return n, err
}

// visibility is the SQL condition (on alias r) limiting rows to what p
// may see: its caseload, and radicalisation concerns only for the
// security role and their authors. It appends its arguments to args.
func visibility(p *access.Principal, args *[]any) string {
	var conds []string
	if !coversAll(p) {
		var ids []string
		for _, c := range p.Caseload {
			*args = append(*args, c)
			ids = append(ids, fmt.Sprintf("$%d", len(*args)))
		}
		if len(ids) == 0 {
			return "1 = 0"
		}
		in := strings.Join(ids, ",")
		conds = append(conds, fmt.Sprintf("(r.institution_id IN (%s) OR r.unit_id IN (%s))", in, in))
	}
	if p.Role != access.Security {
		*args = append(*args, p.ID)
		conds = append(conds, fmt.Sprintf("(r.kind <> 'radicalisation' OR r.author_id = $%d)", len(*args)))
	}
	if len(conds) == 0 {
		return "1 = 1"
	}
	return strings.Join(conds, " AND ")
}

func coversAll(p *access.Principal) bool {
	for _, c := range p.Caseload {
		if c == access.Everywhere {
			return true
		}
	}
	return false
}

// listRegs reads registrations matching where (on alias r) with their
// parties and the subject's name.
func listRegs(ctx context.Context, q querier, where, order string, limit int, args ...any) ([]*Registration, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+regColumns+`, c.given_name || ' ' || c.family_name FROM registrations r JOIN clients c ON c.id = r.client_id WHERE `+where+` ORDER BY `+order+fmt.Sprintf(` LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("registration: list: %w", err)
	}
	var out []*Registration
	for rows.Next() {
		var name string
		r, err := scanReg(scanPlus{rows, &name})
		if err != nil {
			rows.Close()
			return nil, err
		}
		r.ClientName = name
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, loadParties(ctx, q, out)
}

// scanPlus scans a row of regColumns followed by extra columns.
type scanPlus struct {
	sc    interface{ Scan(...any) error }
	extra *string
}

func (s scanPlus) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.extra)...) }

// Count is the number of registrations of a kind in a unit in a month.
type Count struct {
	InstitutionID string `json:"institution_id"`
	UnitID        string `json:"unit_id"`
	Kind          Kind   `json:"kind"`
	Month         string `json:"month"` // YYYY-MM
	Count         int    `json:"count"`
}

func counts(ctx context.Context, q querier, where string, args ...any) ([]Count, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.institution_id, r.unit_id, r.kind, SUBSTR(r.occurred_at, 1, 7), COUNT(*) FROM registrations r WHERE `+where+
		` GROUP BY r.institution_id, r.unit_id, r.kind, SUBSTR(r.occurred_at, 1, 7) ORDER BY 4 DESC, 1, 2, 3`, args...)
	if err != nil {
		return nil, fmt.Errorf("registration: counts: %w", err)
	}
	defer rows.Close()
	out := []Count{}
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.InstitutionID, &c.UnitID, &c.Kind, &c.Month, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// dueStatements are requested statements older than cutoff whose mark
// column (reminded_at or overdue_at) is still empty.
func dueStatements(ctx context.Context, q querier, mark string, cutoff time.Time) ([]dueStatement, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.id, s.registration_id, s.staff_id, r.client_id FROM registration_statements s JOIN registrations r ON r.id = s.registration_id
		WHERE s.status = 'requested' AND s.requested_at < $1 AND s.`+mark+` = '' ORDER BY s.requested_at LIMIT 500`, db.FormatTime(cutoff))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dueStatement
	for rows.Next() {
		var d dueStatement
		if err := rows.Scan(&d.ID, &d.RegistrationID, &d.StaffID, &d.ClientID); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

type dueStatement struct{ ID, RegistrationID, StaffID, ClientID string }

func markStatement(ctx context.Context, tx *db.Tx, id, mark string) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE registration_statements SET `+mark+` = $1 WHERE id = $2 AND `+mark+` = '' AND status = 'requested'`, tx.NowText(), id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// myStatements are the statements asked of a staff member, open first.
func myStatements(ctx context.Context, q querier, staffID string, now time.Time) ([]MyStatement, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.`+strings.ReplaceAll(statementColumns, ", ", ", s.")+`, r.id, r.client_id, r.kind, r.occurred_at, c.given_name || ' ' || c.family_name
		FROM registration_statements s JOIN registrations r ON r.id = s.registration_id JOIN clients c ON c.id = r.client_id
		WHERE s.staff_id = $1 ORDER BY CASE s.status WHEN 'requested' THEN 0 ELSE 1 END, s.requested_at DESC LIMIT 200`, staffID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MyStatement
	for rows.Next() {
		var m MyStatement
		var requested, submitted, reminded, occurred string
		if err := rows.Scan(&m.ID, &m.StaffID, &m.StaffName, &m.Status, &m.Text, &requested, &submitted, &reminded, &m.Version,
			&m.RegistrationID, &m.ClientID, &m.Kind, &occurred, &m.ClientName); err != nil {
			return nil, err
		}
		m.RequestedAt, m.SubmittedAt, m.OccurredAt = tm(requested), tm(submitted), tm(occurred)
		m.Reminded = reminded != ""
		m.Overdue = m.Status == "requested" && now.Sub(m.RequestedAt) > StatementOverdue
		m.Text = ""
		out = append(out, m)
	}
	return out, rows.Err()
}

// MyStatement is a statement asked of the caller, with what it is about.
type MyStatement struct {
	Statement
	RegistrationID string    `json:"registration_id"`
	ClientID       string    `json:"client_id"`
	ClientName     string    `json:"client_name"`
	Kind           Kind      `json:"kind"`
	OccurredAt     time.Time `json:"occurred_at"`
}

// current is a field's value after the amendments so far (the last
// amendment's new value, else the original).
func current(ctx context.Context, tx *db.Tx, regID, original, field, statementID string) string {
	var v string
	err := tx.QueryRowContext(ctx, `SELECT new_value FROM registration_amendments WHERE registration_id = $1 AND field = $2 AND statement_id = $3 ORDER BY at DESC, id DESC LIMIT 1`,
		regID, field, statementID).Scan(&v)
	if err != nil {
		return original
	}
	return v
}

func countPhotos(ctx context.Context, q querier, regID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM registration_photos WHERE registration_id = $1`, regID).Scan(&n)
	return n, err
}

func insertPhoto(ctx context.Context, tx *db.Tx, regID string, p *Photo, byID string, data []byte) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO registration_photos (id, registration_id, content_type, image, byte_size, width, height, caption, uploaded_by_id, uploaded_by, uploaded_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`, p.ID, regID, p.ContentType, data, p.Size, p.Width, p.Height, p.Caption, byID, p.UploadedBy, db.FormatTime(p.UploadedAt))
	if err != nil {
		return fmt.Errorf("registration: photo: %w", err)
	}
	return nil
}

func photos(ctx context.Context, q querier, regID string) ([]Photo, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, content_type, byte_size, width, height, caption, uploaded_by, uploaded_at FROM registration_photos WHERE registration_id = $1 ORDER BY uploaded_at, id`, regID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Photo
	for rows.Next() {
		var p Photo
		var at string
		if err := rows.Scan(&p.ID, &p.ContentType, &p.Size, &p.Width, &p.Height, &p.Caption, &p.UploadedBy, &at); err != nil {
			return nil, err
		}
		p.UploadedAt = tm(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

func findPhoto(ctx context.Context, q querier, regID, id string) (Photo, []byte, error) {
	var p Photo
	var at string
	var data []byte
	err := q.QueryRowContext(ctx, `SELECT id, content_type, image, byte_size, width, height, caption, uploaded_by, uploaded_at FROM registration_photos WHERE registration_id = $1 AND id = $2`, regID, id).
		Scan(&p.ID, &p.ContentType, &data, &p.Size, &p.Width, &p.Height, &p.Caption, &p.UploadedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil, apperr.New(apperr.NotFound, "This registration has no such photo.")
	}
	p.UploadedAt = tm(at)
	return p, data, err
}
