// SPDX-License-Identifier: AGPL-3.0-or-later

package access

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/i18n"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	sub, _ := fs.Sub(migrations, "migrations")
	db.Register(db.Module{Name: "access", FS: sub})
}

// Policy numbers; variables so tests can shorten them.
var (
	MaxFailedLogins   = 5
	LockoutFor        = 15 * time.Minute
	SessionIdle       = 30 * time.Minute
	SessionAbsolute   = 12 * time.Hour
	BreakGlassFor     = 2 * time.Hour
	touchSessionAfter = time.Minute
)

// Service manages identities, sessions, tokens and break-glass grants.
type Service struct {
	DB *db.DB
}

// Staff is a staff account as administrators see it.
type Staff struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Role        Role      `json:"role"`
	Caseload    []string  `json:"caseload"`
	Lang        string    `json:"lang,omitempty"`
	Disabled    bool      `json:"disabled"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
	Version     int       `json:"version"`
}

var usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// NewStaff is what creating an account takes.
type NewStaff struct {
	Username    string   `json:"username"`
	DisplayName string   `json:"display_name"`
	Role        Role     `json:"role"`
	Caseload    []string `json:"caseload"`
	Password    string   `json:"password"`
	Lang        string   `json:"lang"`
}

// Validate checks a new account's fields.
func (n *NewStaff) Validate() error {
	var fe apperr.Fields
	n.Username = strings.ToLower(strings.TrimSpace(n.Username))
	n.DisplayName = strings.TrimSpace(n.DisplayName)
	if !usernameRe.MatchString(n.Username) {
		fe.Add("username", "Use 2–63 lowercase letters, digits, dots, dashes or underscores.")
	}
	if n.DisplayName == "" || len(n.DisplayName) > 200 {
		fe.Add("display_name", "Enter the person's name (at most 200 characters).")
	}
	if !n.Role.Valid() {
		fe.Add("role", "Choose one of the roles.")
	}
	if p := PasswordProblem(n.Password); p != "" {
		fe.Add("password", p)
	}
	if n.Caseload != nil {
		n.Caseload = cleanCaseload(n.Caseload)
		checkCaseload(&fe, n.Caseload)
	}
	n.Lang = strings.TrimSpace(n.Lang)
	checkLang(&fe, n.Lang)
	return fe.Err()
}

// checkCaseload and checkLang are the rules an account's caseload and
// language follow, on creation and on change.
func checkCaseload(fe *apperr.Fields, cl []string) {
	for _, l := range cl {
		if len(l) > 100 {
			fe.Add("caseload", "A location id has at most 100 characters.")
			return
		}
	}
}

func checkLang(fe *apperr.Fields, l string) {
	if l != "" && !i18n.Lang(l).Valid() {
		fe.Add("lang", "Choose one of the offered languages, or none to follow the browser.")
	}
}

// CreateStaff creates an account; the caller (an administrator, or the
// system for the CLI and demo) is audited.
func (s *Service) CreateStaff(ctx context.Context, n NewStaff) (Staff, error) {
	if err := n.Validate(); err != nil {
		return Staff{}, err
	}
	hash := HashPassword(n.Password)
	st := Staff{ID: db.NewID(), Username: n.Username, DisplayName: n.DisplayName, Role: n.Role, Caseload: n.Caseload, Lang: n.Lang, Version: 1}
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff (id, username, display_name, role, password_hash, lang, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7)`,
			st.ID, st.Username, st.DisplayName, string(st.Role), hash, n.Lang, tx.NowText())
		if db.IsUniqueViolation(err) {
			return &apperr.Error{Code: apperr.Conflict, Message: "This username is taken.", Fields: []apperr.FieldError{{Field: "username", Message: "This username is taken."}}}
		}
		if err != nil {
			return fmt.Errorf("access: create staff: %w", err)
		}
		if err := setCaseload(ctx, tx, "staff_caseload", "staff_id", st.ID, n.Caseload); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Action: "staff.create", ObjectType: "staff", ObjectID: st.ID, Detail: "role=" + string(st.Role)})
	})
	return st, err
}

func setCaseload(ctx context.Context, tx *db.Tx, table, col, id string, locs []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+col+` = $1`, id); err != nil {
		return err
	}
	for _, l := range cleanCaseload(locs) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+col+`, location_id) VALUES ($1, $2)`, id, l); err != nil {
			return fmt.Errorf("access: caseload: %w", err)
		}
	}
	return nil
}

func loadCaseload(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, table, col, id string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT location_id FROM `+table+` WHERE `+col+` = $1 ORDER BY location_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// ListStaff returns every account.
func (s *Service) ListStaff(ctx context.Context) ([]Staff, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+staffCols+` FROM staff ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("access: list staff: %w", err)
	}
	var out []Staff
	for rows.Next() {
		st, err := scanStaff(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("access: list staff: %w", err)
	}
	for i := range out {
		if out[i].Caseload, err = loadCaseload(ctx, s.DB, "staff_caseload", "staff_id", out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetStaff returns the account called username, or NotFound.
func (s *Service) GetStaff(ctx context.Context, username string) (Staff, error) {
	return db.Read(ctx, s.DB, func(tx *db.Tx) (Staff, error) {
		return getStaff(ctx, tx, strings.ToLower(strings.TrimSpace(username)))
	})
}

const staffCols = `id, username, display_name, role, lang, disabled, COALESCE(locked_until, ''), version`

func scanStaff(sc interface{ Scan(...any) error }) (Staff, error) {
	var st Staff
	var dis int
	var locked string
	if err := sc.Scan(&st.ID, &st.Username, &st.DisplayName, &st.Role, &st.Lang, &dis, &locked, &st.Version); err != nil {
		return Staff{}, err
	}
	st.Disabled = dis != 0
	st.LockedUntil = db.MustTime(locked)
	return st, nil
}

func getStaff(ctx context.Context, tx *db.Tx, username string) (Staff, error) {
	st, err := scanStaff(tx.QueryRowContext(ctx, `SELECT `+staffCols+` FROM staff WHERE username = $1`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return Staff{}, apperr.New(apperr.NotFound, "No account is called %q.", username)
	}
	if err != nil {
		return Staff{}, fmt.Errorf("access: get staff: %w", err)
	}
	if st.Caseload, err = loadCaseload(ctx, tx, "staff_caseload", "staff_id", st.ID); err != nil {
		return Staff{}, err
	}
	return st, nil
}

// StaffChange is an administrator's change to an account: the version the
// administrator read, and only the fields to change — a nil field keeps
// its value. Disabled true disables the account (ending its sessions),
// false enables it again.
type StaffChange struct {
	Version     int       `json:"version"`
	DisplayName *string   `json:"display_name,omitempty"`
	Role        *Role     `json:"role,omitempty"`
	Caseload    *[]string `json:"caseload,omitempty"`
	Lang        *string   `json:"lang,omitempty"`
	Disabled    *bool     `json:"disabled,omitempty"`
}

// Refusals of changes to one's own account. They keep an administrator
// from locking the service out of administration by mistake (the last
// administrator disabling or demoting themselves leaves no one who can
// manage accounts), and they make such changes need a second person.
var (
	ErrDisableSelf = &apperr.Error{Code: apperr.Forbidden, Message: "You cannot disable your own account: ask another administrator, so that the service is never left without someone who can manage accounts.",
		Fields: []apperr.FieldError{{Field: "disabled", Message: "You cannot disable your own account; ask another administrator."}}}
	ErrDemoteSelf = &apperr.Error{Code: apperr.Forbidden, Message: "You cannot remove your own administrator role: ask another administrator, so that the service is never left without someone who can manage accounts.",
		Fields: []apperr.FieldError{{Field: "role", Message: "You cannot remove your own administrator role; ask another administrator."}}}
	// ErrLastAdministrator refuses a change that would leave no enabled
	// administrator, whoever makes it (an API token included).
	ErrLastAdministrator = &apperr.Error{Code: apperr.Forbidden, Message: "This is the last enabled administrator account; make another administrator first.",
		Fields: []apperr.FieldError{{Field: "role", Message: "The last enabled administrator cannot be demoted or disabled."}}}
)

// Validate checks the fields present in c, normalising them.
func (c *StaffChange) Validate() error {
	var fe apperr.Fields
	if c.Version < 1 {
		fe.Add("version", "Send the version of the account you read.")
	}
	if c.DisplayName != nil {
		n := strings.TrimSpace(*c.DisplayName)
		c.DisplayName = &n
		if n == "" || len(n) > 200 {
			fe.Add("display_name", "Enter the person's name (at most 200 characters).")
		}
	}
	if c.Role != nil && !c.Role.Valid() {
		fe.Add("role", "Choose one of the roles.")
	}
	if c.Caseload != nil {
		cl := cleanCaseload(*c.Caseload)
		c.Caseload = &cl
		checkCaseload(&fe, cl)
	}
	if c.Lang != nil {
		l := strings.TrimSpace(*c.Lang)
		c.Lang = &l
		checkLang(&fe, l)
	}
	return fe.Err()
}

// cleanCaseload trims, drops empties and duplicates, and sorts (the order
// a caseload is read back in).
func cleanCaseload(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, l := range in {
		l = strings.TrimSpace(l)
		if l != "" && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// UpdateStaff changes an account if c.Version is current (a stale version
// is a Conflict naming the current one). The change and its audit records
// commit together; disabling an account also ends its sessions. The actor
// in ctx may not disable their own account or remove their own
// administrator role. A change that changes nothing is not written.
func (s *Service) UpdateStaff(ctx context.Context, username string, c StaffChange) (Staff, error) {
	if err := c.Validate(); err != nil {
		return Staff{}, err
	}
	actor, ok := audit.ActorFrom(ctx)
	if !ok {
		return Staff{}, errors.New("access: update staff: no actor in context")
	}
	var out Staff
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		st, err := getStaff(ctx, tx, strings.ToLower(strings.TrimSpace(username)))
		if err != nil {
			return err
		}
		if c.Version != st.Version {
			return apperr.StaleVersion("account", st.Version)
		}
		next := st
		var fields []string
		if c.DisplayName != nil && *c.DisplayName != st.DisplayName {
			next.DisplayName = *c.DisplayName
			fields = append(fields, "display_name")
		}
		if c.Role != nil && *c.Role != st.Role {
			next.Role = *c.Role
			fields = append(fields, "role")
		}
		if c.Caseload != nil && !slices.Equal(*c.Caseload, cleanCaseload(st.Caseload)) {
			next.Caseload = *c.Caseload
			fields = append(fields, "caseload")
		}
		if c.Lang != nil && *c.Lang != st.Lang {
			next.Lang = *c.Lang
			fields = append(fields, "lang")
		}
		if c.Disabled != nil && *c.Disabled != st.Disabled {
			next.Disabled = *c.Disabled
			fields = append(fields, "disabled")
		}
		if st.ID == actor.ID {
			if next.Disabled && !st.Disabled {
				return ErrDisableSelf
			}
			if st.Role == Administrator && next.Role != Administrator {
				return ErrDemoteSelf
			}
		}
		if len(fields) == 0 {
			out = st
			return nil
		}
		if st.Role == Administrator && !st.Disabled && (next.Role != Administrator || next.Disabled) {
			// Lock the administrators' rows on PostgreSQL so that two
			// administrators demoting each other at once cannot both pass;
			// SQLite has one writer.
			q := `SELECT id FROM staff WHERE role = 'administrator' AND disabled = 0 AND id <> $1`
			if tx.Dialect == db.Postgres {
				q += ` ORDER BY id FOR UPDATE`
			}
			rows, err := tx.QueryContext(ctx, q, st.ID)
			if err != nil {
				return fmt.Errorf("access: count administrators: %w", err)
			}
			others := 0
			for rows.Next() {
				others++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if others == 0 {
				return ErrLastAdministrator
			}
		}
		next.Version = st.Version + 1
		res, err := tx.ExecContext(ctx, `UPDATE staff SET display_name = $1, role = $2, lang = $3, disabled = $4, version = $5, updated_at = $6 WHERE id = $7 AND version = $8`,
			next.DisplayName, string(next.Role), next.Lang, db.Bool(next.Disabled), next.Version, tx.NowText(), st.ID, st.Version)
		if err != nil {
			return fmt.Errorf("access: update staff: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.StaleVersion("account", st.Version)
		}
		if slices.Contains(fields, "caseload") {
			if err := setCaseload(ctx, tx, "staff_caseload", "staff_id", st.ID, next.Caseload); err != nil {
				return err
			}
		}
		entries := []audit.Entry{{Action: "staff.update", ObjectType: "staff", ObjectID: st.ID,
			Detail: fmt.Sprintf("fields=%s role=%s version=%d", strings.Join(fields, ","), next.Role, next.Version)}}
		switch {
		case next.Disabled && !st.Disabled:
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE staff_id = $1`, st.ID); err != nil {
				return fmt.Errorf("access: end sessions: %w", err)
			}
			entries = append(entries, audit.Entry{Action: "staff.disable", ObjectType: "staff", ObjectID: st.ID})
		case !next.Disabled && st.Disabled:
			entries = append(entries, audit.Entry{Action: "staff.enable", ObjectType: "staff", ObjectID: st.ID})
		}
		out = next
		return audit.Write(ctx, tx, entries...)
	})
	return out, err
}

// ResetPassword sets a new password, clears a lockout and ends the
// account's sessions.
func (s *Service) ResetPassword(ctx context.Context, username, pw string) error {
	if p := PasswordProblem(pw); p != "" {
		return apperr.Field("password", p)
	}
	hash := HashPassword(pw)
	return s.DB.Transact(ctx, func(tx *db.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `UPDATE staff SET password_hash = $1, failed_logins = 0, locked_until = NULL, version = version + 1, updated_at = $2 WHERE username = $3 RETURNING id`,
			hash, tx.NowText(), strings.ToLower(username)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "No account is called %q.", username)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE staff_id = $1`, id); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Action: "staff.reset_password", ObjectType: "staff", ObjectID: id})
	})
}

// ErrBadCredentials is the one answer to every failed sign-in, so that it
// does not tell which usernames exist.
var ErrBadCredentials = &apperr.Error{Code: apperr.Unauthorized, Message: "The username or password is wrong, or the account is locked. After 5 failed attempts an account is locked for 15 minutes."}

// Session is a signed-in browser.
type Session struct {
	Token     string // the cookie value; only its hash is stored
	CSRF      string
	ExpiresAt time.Time
}

// Login checks a password and opens a session. Repeated failures lock the
// account for LockoutFor. Every attempt is audited.
func (s *Service) Login(ctx context.Context, username, password, remote string) (Session, *Principal, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	var id, name, role, hash, lang, locked string
	var failed, disabled int
	err := s.DB.QueryRowContext(ctx, `SELECT id, display_name, role, password_hash, lang, failed_logins, COALESCE(locked_until, ''), disabled FROM staff WHERE username = $1`, username).
		Scan(&id, &name, &role, &hash, &lang, &failed, &locked, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same time as a real check so timing reveals nothing.
		CheckPassword(dummyHash, password)
		_ = s.DB.Transact(ctx, func(tx *db.Tx) error {
			return audit.WriteAs(ctx, tx, audit.Actor{ID: "anonymous", Name: username, Role: "none", Remote: remote}, audit.Entry{Action: "auth.login_failed", Detail: "unknown user"})
		})
		return Session{}, nil, ErrBadCredentials
	}
	if err != nil {
		return Session{}, nil, fmt.Errorf("access: login: %w", err)
	}
	actor := audit.Actor{ID: id, Name: name, Role: role, Remote: remote}
	now := s.DB.Now()
	lockedUntil := db.MustTime(locked)
	ok := CheckPassword(hash, password)
	if disabled != 0 || now.Before(lockedUntil) || !ok {
		detail := "bad password"
		switch {
		case disabled != 0:
			detail = "account disabled"
		case now.Before(lockedUntil):
			detail = "account locked"
		}
		err := s.DB.Transact(ctx, func(tx *db.Tx) error {
			if !ok && !now.Before(lockedUntil) {
				var n int
				if err := tx.QueryRowContext(ctx, `UPDATE staff SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins`, id).Scan(&n); err != nil {
					return err
				}
				if n >= MaxFailedLogins {
					if _, err := tx.ExecContext(ctx, `UPDATE staff SET failed_logins = 0, locked_until = $1 WHERE id = $2`, db.FormatTime(tx.Now.Add(LockoutFor)), id); err != nil {
						return err
					}
					detail = "bad password; account locked"
				}
			}
			return audit.WriteAs(ctx, tx, actor, audit.Entry{Action: "auth.login_failed", ObjectType: "staff", ObjectID: id, Detail: detail})
		})
		if err != nil {
			return Session{}, nil, fmt.Errorf("access: record failed login: %w", err)
		}
		return Session{}, nil, ErrBadCredentials
	}
	sess := Session{Token: db.RandomToken(32), CSRF: db.RandomToken(24)}
	err = s.DB.Transact(ctx, func(tx *db.Tx) error {
		sess.ExpiresAt = tx.Now.Add(SessionAbsolute)
		if _, err := tx.ExecContext(ctx, `UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, staff_id, csrf, remote, created_at, last_seen, expires_at) VALUES ($1,$2,$3,$4,$5,$5,$6)`,
			hashToken(sess.Token), id, sess.CSRF, remote, tx.NowText(), db.FormatTime(sess.ExpiresAt)); err != nil {
			return err
		}
		return audit.WriteAs(ctx, tx, actor, audit.Entry{Action: "auth.login", ObjectType: "staff", ObjectID: id})
	})
	if err != nil {
		return Session{}, nil, fmt.Errorf("access: open session: %w", err)
	}
	cl, err := loadCaseload(ctx, s.DB, "staff_caseload", "staff_id", id)
	if err != nil {
		return Session{}, nil, err
	}
	return sess, &Principal{ID: id, Username: username, Name: name, Role: Role(role), Caseload: cl, Lang: lang, CSRF: sess.CSRF, Remote: remote}, nil
}

var dummyHash = HashPassword("not a real password, only for timing")

// SessionPrincipal resolves a session cookie to its principal, ending the
// session when it is idle or too old.
func (s *Service) SessionPrincipal(ctx context.Context, token, remote string) (*Principal, error) {
	if token == "" {
		return nil, nil
	}
	var p Principal
	var lastSeen, expires string
	var disabled int
	err := s.DB.QueryRowContext(ctx, `SELECT s.staff_id, st.username, st.display_name, st.role, st.lang, s.csrf, s.last_seen, s.expires_at, st.disabled
		FROM sessions s JOIN staff st ON st.id = s.staff_id WHERE s.token_hash = $1`, hashToken(token)).
		Scan(&p.ID, &p.Username, &p.Name, &p.Role, &p.Lang, &p.CSRF, &lastSeen, &expires, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("access: session: %w", err)
	}
	now := s.DB.Now()
	seen := db.MustTime(lastSeen)
	if disabled != 0 || now.After(db.MustTime(expires)) || now.Sub(seen) > SessionIdle {
		_, _ = s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token))
		return nil, nil
	}
	if now.Sub(seen) > touchSessionAfter {
		// Touching on every request would make every read a write.
		if _, err := s.DB.ExecContext(ctx, `UPDATE sessions SET last_seen = $1 WHERE token_hash = $2`, db.FormatTime(now), hashToken(token)); err != nil {
			return nil, fmt.Errorf("access: touch session: %w", err)
		}
	}
	if p.Caseload, err = loadCaseload(ctx, s.DB, "staff_caseload", "staff_id", p.ID); err != nil {
		return nil, err
	}
	p.Remote = remote
	return &p, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.DB.Transact(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token)); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Action: "auth.logout"})
	})
}

// Token is an API client's credential as administrators see it.
type Token struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Caseload  []string  `json:"caseload"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// Secret is shown once, at issue.
	Secret string `json:"secret,omitempty"`
}

// IssueToken creates a bearer token bound to a role and caseload.
func (s *Service) IssueToken(ctx context.Context, name string, role Role, caseload []string, ttl time.Duration) (Token, error) {
	var fe apperr.Fields
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		fe.Add("name", "Name the API client (at most 200 characters).")
	}
	if !role.Valid() {
		fe.Add("role", "Choose one of the roles.")
	}
	if ttl < 0 {
		fe.Add("ttl_days", "Must not be negative.")
	}
	if err := fe.Err(); err != nil {
		return Token{}, err
	}
	a, _ := audit.ActorFrom(ctx)
	t := Token{ID: db.NewID(), Name: name, Role: role, Caseload: caseload, CreatedBy: a.ID, Secret: "cst_" + db.RandomToken(32)}
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		t.CreatedAt = tx.Now
		var exp sql.NullString
		if ttl > 0 {
			t.ExpiresAt = tx.Now.Add(ttl)
			exp = db.NullString(db.FormatTime(t.ExpiresAt))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, name, token_hash, role, created_by, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			t.ID, t.Name, hashToken(t.Secret), string(role), t.CreatedBy, tx.NowText(), exp); err != nil {
			return fmt.Errorf("access: issue token: %w", err)
		}
		if err := setCaseload(ctx, tx, "api_token_caseload", "token_id", t.ID, caseload); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Action: "token.issue", ObjectType: "api_token", ObjectID: t.ID, Detail: "role=" + string(role)})
	})
	return t, err
}

// RevokeToken stops a token from working.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	return s.DB.Transact(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, tx.NowText(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "No active token has this id.")
		}
		return audit.Write(ctx, tx, audit.Entry{Action: "token.revoke", ObjectType: "api_token", ObjectID: id})
	})
}

// ListTokens lists API tokens (never their secrets).
func (s *Service) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, name, role, created_by, created_at, COALESCE(expires_at, ''), COALESCE(revoked_at, '') FROM api_tokens ORDER BY created_at DESC`)
	if err != nil {
		return nil, err
	}
	var out []Token
	for rows.Next() {
		var t Token
		var c, e, r string
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedBy, &c, &e, &r); err != nil {
			rows.Close()
			return nil, err
		}
		t.CreatedAt, t.ExpiresAt, t.RevokedAt = db.MustTime(c), db.MustTime(e), db.MustTime(r)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("access: list tokens: %w", err)
	}
	for i := range out {
		if out[i].Caseload, err = loadCaseload(ctx, s.DB, "api_token_caseload", "token_id", out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TokenPrincipal resolves a bearer token; nil when it is unknown, expired
// or revoked.
func (s *Service) TokenPrincipal(ctx context.Context, secret, remote string) (*Principal, error) {
	var p Principal
	var exp, rev string
	err := s.DB.QueryRowContext(ctx, `SELECT id, name, role, COALESCE(expires_at, ''), COALESCE(revoked_at, '') FROM api_tokens WHERE token_hash = $1`, hashToken(secret)).
		Scan(&p.ID, &p.Name, &p.Role, &exp, &rev)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("access: token: %w", err)
	}
	if rev != "" || (exp != "" && s.DB.Now().After(db.MustTime(exp))) {
		return nil, nil
	}
	if p.Caseload, err = loadCaseload(ctx, s.DB, "api_token_caseload", "token_id", p.ID); err != nil {
		return nil, err
	}
	p.Username, p.IsToken, p.Remote = "token:"+p.Name, true, remote
	return &p, nil
}

// CheckClient decides whether p may use perm on a client whose current
// locations are locs. Inside the caseload it is allowed; outside it is
// allowed only under an active break-glass grant, and breakGlass tells the
// caller to flag the audit record.
func (s *Service) CheckClient(ctx context.Context, p *Principal, perm Permission, clientID string, locs []string) (breakGlass bool, err error) {
	if !p.Can(perm) {
		return false, apperr.New(apperr.Forbidden, "Your role (%s) does not allow this.", p.Role)
	}
	if p.Covers(locs...) {
		return false, nil
	}
	ok, err := s.activeGrant(ctx, p.ID, clientID)
	if err != nil {
		return false, err
	}
	if ok {
		return true, nil
	}
	return false, &apperr.Error{Code: apperr.Forbidden, Message: "This client is outside your caseload. Use break-glass with a written reason if you need access.",
		Detail: map[string]any{"break_glass": true, "client_id": clientID}}
}

func (s *Service) activeGrant(ctx context.Context, staffID, clientID string) (bool, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM break_glass WHERE staff_id = $1 AND client_id = $2 AND expires_at > $3`,
		staffID, clientID, db.FormatTime(s.DB.Now())).Scan(&n)
	return n > 0, err
}

// Grant is one break-glass access.
type Grant struct {
	ID         string    `json:"id"`
	StaffID    string    `json:"staff_id"`
	StaffName  string    `json:"staff_name"`
	StaffRole  Role      `json:"staff_role"`
	ClientID   string    `json:"client_id"`
	Reason     string    `json:"reason"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	ReviewedBy string    `json:"reviewed_by,omitempty"`
	ReviewedAt time.Time `json:"reviewed_at,omitzero"`
	ReviewNote string    `json:"review_note,omitempty"`
	ReviewOK   *bool     `json:"review_ok,omitempty"`
}

// BreakGlass grants p access to a client outside the caseload for
// BreakGlassFor, with a written reason. It is allowed (the point of
// break-glass), audited, and queued for security's review. Only roles that
// may read clients can break the glass.
func (s *Service) BreakGlass(ctx context.Context, p *Principal, clientID, reason string) (Grant, error) {
	reason = strings.TrimSpace(reason)
	if !p.Can(ClientRead) {
		return Grant{}, apperr.New(apperr.Forbidden, "Your role (%s) does not allow access to client records.", p.Role)
	}
	if len([]rune(reason)) < 10 {
		return Grant{}, apperr.Field("reason", "Write why you need access (at least 10 characters).")
	}
	if len(reason) > 2000 {
		return Grant{}, apperr.Field("reason", "Keep the reason under 2000 characters.")
	}
	g := Grant{ID: db.NewID(), StaffID: p.ID, StaffName: p.Name, StaffRole: p.Role, ClientID: clientID, Reason: reason}
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		g.CreatedAt, g.ExpiresAt = tx.Now, tx.Now.Add(BreakGlassFor)
		if _, err := tx.ExecContext(ctx, `INSERT INTO break_glass (id, staff_id, client_id, reason, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6)`,
			g.ID, g.StaffID, clientID, reason, tx.NowText(), db.FormatTime(g.ExpiresAt)); err != nil {
			return fmt.Errorf("access: break glass: %w", err)
		}
		return audit.Write(ctx, tx, audit.Entry{Action: "breakglass.open", ClientID: clientID, ObjectType: "break_glass", ObjectID: g.ID, Reason: reason, BreakGlass: true})
	})
	return g, err
}

// ActiveReason returns the reason of p's active grant for the client, for
// the audit record of each access under it.
func (s *Service) ActiveReason(ctx context.Context, staffID, clientID string) string {
	var r string
	_ = s.DB.QueryRowContext(ctx, `SELECT reason FROM break_glass WHERE staff_id = $1 AND client_id = $2 AND expires_at > $3 ORDER BY created_at DESC LIMIT 1`,
		staffID, clientID, db.FormatTime(s.DB.Now())).Scan(&r)
	return r
}

// ListGrants lists break-glass grants for review, unreviewed first.
func (s *Service) ListGrants(ctx context.Context, onlyUnreviewed bool, limit int) ([]Grant, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q := `SELECT b.id, b.staff_id, COALESCE(st.display_name, b.staff_id), COALESCE(st.role, ''), b.client_id, b.reason, b.created_at, b.expires_at,
		COALESCE(b.reviewed_by, ''), COALESCE(b.reviewed_at, ''), COALESCE(b.review_note, ''), b.review_ok
		FROM break_glass b LEFT JOIN staff st ON st.id = b.staff_id`
	if onlyUnreviewed {
		q += ` WHERE b.reviewed_at IS NULL`
	}
	q += fmt.Sprintf(` ORDER BY (CASE WHEN b.reviewed_at IS NULL THEN 0 ELSE 1 END), b.created_at DESC LIMIT %d`, limit)
	rows, err := s.DB.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("access: list grants: %w", err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		var c, e, ra string
		var ok sql.NullInt64
		if err := rows.Scan(&g.ID, &g.StaffID, &g.StaffName, &g.StaffRole, &g.ClientID, &g.Reason, &c, &e, &g.ReviewedBy, &ra, &g.ReviewNote, &ok); err != nil {
			return nil, err
		}
		g.CreatedAt, g.ExpiresAt, g.ReviewedAt = db.MustTime(c), db.MustTime(e), db.MustTime(ra)
		if ok.Valid {
			b := ok.Int64 != 0
			g.ReviewOK = &b
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// ReviewGrant records security's verdict on a break-glass access.
func (s *Service) ReviewGrant(ctx context.Context, p *Principal, id string, justified bool, note string) error {
	if !p.Can(BreakGlassReview) {
		return apperr.New(apperr.Forbidden, "Only security may review break-glass accesses.")
	}
	if len(note) > 2000 {
		return apperr.Field("note", "Keep the note under 2000 characters.")
	}
	return s.DB.Transact(ctx, func(tx *db.Tx) error {
		var clientID, staffID string
		err := tx.QueryRowContext(ctx, `UPDATE break_glass SET reviewed_by = $1, reviewed_at = $2, review_note = $3, review_ok = $4 WHERE id = $5 AND reviewed_at IS NULL RETURNING client_id, staff_id`,
			p.ID, tx.NowText(), note, db.Bool(justified), id).Scan(&clientID, &staffID)
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM break_glass WHERE id = $1`, id).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return apperr.New(apperr.NotFound, "No such break-glass access.")
			}
			return apperr.New(apperr.Conflict, "This access has already been reviewed.")
		}
		if err != nil {
			return err
		}
		if staffID == p.ID {
			return apperr.New(apperr.Forbidden, "You cannot review your own break-glass access.")
		}
		return audit.Write(ctx, tx, audit.Entry{Action: "breakglass.review", ClientID: clientID, ObjectType: "break_glass", ObjectID: id, Detail: fmt.Sprintf("justified=%t", justified)})
	})
}

// StaffNames maps staff ids to display names (for showing who did what).
func (s *Service) StaffNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	sort.Strings(ids)
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i] = fmt.Sprintf("$%d", i+1)
		args[i] = id
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, display_name FROM staff WHERE id IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, n string
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
