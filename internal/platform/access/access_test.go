// SPDX-License-Identifier: AGPL-3.0-or-later

package access_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

const pw = "correct horse battery staple"

var sys = audit.WithActor(context.Background(), audit.System)

// clock is a settable time for one database; the tests of one engine run
// sequentially, so a plain variable will do.
type clock struct{ now time.Time }

func (c *clock) add(d time.Duration) { c.now = c.now.Add(d) }

func setClock(d *db.DB) *clock {
	c := &clock{now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	d.SetClock(func() time.Time { return c.now })
	return c
}

func newService(t *testing.T, d *db.DB) (*access.Service, *clock) {
	t.Helper()
	return &access.Service{DB: d}, setClock(d)
}

func mkStaff(t *testing.T, s *access.Service, username string, role access.Role, caseload ...string) access.Staff {
	t.Helper()
	st, err := s.CreateStaff(sys, access.NewStaff{Username: username, DisplayName: "Name of " + username, Role: role, Caseload: caseload, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// asStaff is a context acting as st (what the web layer attaches).
func asStaff(st access.Staff) context.Context {
	return audit.WithActor(context.Background(), audit.Actor{ID: st.ID, Name: st.DisplayName, Role: string(st.Role), Remote: "10.0.0.9"})
}

func principal(st access.Staff) *access.Principal {
	return &access.Principal{ID: st.ID, Username: st.Username, Name: st.DisplayName, Role: st.Role, Caseload: st.Caseload}
}

func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// audited counts audit records of an action.
func audited(t *testing.T, d *db.DB, action string) int {
	t.Helper()
	return count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = $1`, action)
}

func wantCode(t *testing.T, err error, code apperr.Code) *apperr.Error {
	t.Helper()
	if got := apperr.CodeOf(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
	e, _ := apperr.As(err)
	return e
}

func fieldsOf(err error) []string {
	e, ok := apperr.As(err)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h1 := access.HashPassword(pw)
	h2 := access.HashPassword(pw)
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for _, h := range []string{h1, h2} {
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("hash %q does not carry its argon2id parameters", h)
		}
		parts := strings.Split(h, "$")
		if len(parts) != 6 || len(parts[4]) != 22 || len(parts[5]) != 43 { // 16-byte salt, 32-byte key, unpadded base64
			t.Fatalf("hash %q: salt or key of the wrong size", h)
		}
		if !access.CheckPassword(h, pw) {
			t.Fatalf("the right password does not verify against %q", h)
		}
		if strings.Contains(h, pw) {
			t.Fatal("the hash holds the password")
		}
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", pw + " "} {
		if access.CheckPassword(h1, wrong) {
			t.Errorf("wrong password %q verifies", wrong)
		}
	}
	// Parameters are read from the hash, so hashes made with other costs
	// keep working after the constants change.
	parts := strings.Split(h1, "$")
	if access.CheckPassword(strings.Join([]string{"", "argon2id", "v=19", "m=19456,t=3,p=1", parts[4], parts[5]}, "$"), pw) {
		t.Error("a hash verifies with a different pass count than it was made with")
	}

	// Malformed or degenerate hashes never verify, and never panic.
	for name, h := range map[string]string{
		"empty":       "",
		"bcrypt":      "$2a$10$abcdefghijklmnopqrstuu5tcBnSu3ZE.ftlTRQoD8XH5bHhWxhSi",
		"argon2i":     strings.Replace(h1, "argon2id", "argon2i", 1),
		"bad params":  strings.Replace(h1, "m=19456,t=2,p=1", "m=x,t=2,p=1", 1),
		"bad salt":    strings.Replace(h1, parts[4], "!!!", 1),
		"bad key":     strings.Replace(h1, parts[5], "!!!", 1),
		"empty key":   strings.TrimSuffix(h1, parts[5]),
		"short key":   strings.TrimSuffix(h1, parts[5]) + parts[5][:6],
		"no salt":     strings.Replace(h1, "$"+parts[4]+"$", "$$", 1),
		"zero passes": strings.Replace(h1, "t=2", "t=0", 1),
		"zero lanes":  strings.Replace(h1, "p=1", "p=0", 1),
		"huge memory": strings.Replace(h1, "m=19456", "m=4294967295", 1),
		"version":     strings.Replace(h1, "v=19", "v=16", 1),
		"extra part":  h1 + "$x",
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if v := recover(); v != nil {
					t.Fatalf("CheckPassword panicked: %v", v)
				}
			}()
			if access.CheckPassword(h, pw) {
				t.Fatalf("%q verifies", h)
			}
		})
	}
}

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	for pw, ok := range map[string]bool{
		"":                        false,
		"elevenchars":             false,
		"twelve chars":            true,
		"åäöåäöåäöåä":             false, // 11 characters, 22 bytes
		"åäöåäöåäöåäö":            true,
		strings.Repeat("a", 256):  true,
		strings.Repeat("a", 257):  false,
		strings.Repeat("ø", 256):  true, // characters, not bytes
		strings.Repeat("ø", 257):  false,
		"correct horse battery 1": true,
	} {
		if got := access.PasswordProblem(pw) == ""; got != ok {
			t.Errorf("PasswordProblem(%d chars, %d bytes) accepted=%t, want %t", len([]rune(pw)), len(pw), got, ok)
		}
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	if access.Role("warden").Valid() || access.Role("").Valid() {
		t.Error("an unknown role is valid")
	}
	for _, r := range access.Roles {
		if !r.Valid() || !r.Allows(access.Authenticated) {
			t.Errorf("role %s is not valid or not authenticated", r)
		}
	}
	if got := access.RolesWith(access.UsersAdmin); len(got) != 1 || got[0] != access.Administrator {
		t.Errorf("RolesWith(users.admin) = %v", got)
	}
	if access.Role("warden").Allows(access.Authenticated) {
		t.Error("an unknown role is authenticated")
	}
	var nobody *access.Principal
	if nobody.Can(access.Authenticated) || nobody.Covers("I1") {
		t.Error("a nil principal may do something")
	}
	p := &access.Principal{Role: access.Officer, Caseload: []string{"U1"}}
	if !p.Covers("U1", "I1") || p.Covers("I1") || p.Covers("") || p.Covers() {
		t.Error("Covers does not follow the caseload")
	}
	if !(&access.Principal{Caseload: []string{access.Everywhere}}).Covers("anything") {
		t.Error("Everywhere does not cover everything")
	}
}

func TestCreateStaff(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		st, err := s.CreateStaff(sys, access.NewStaff{Username: "  Anna.Berg ", DisplayName: " Anna Berg ", Role: access.Officer, Caseload: []string{"I1", "U1", "I1", " "}, Password: pw, Lang: "sv"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Username != "anna.berg" || st.DisplayName != "Anna Berg" || st.Version != 1 || len(st.ID) != 36 || strings.Join(st.Caseload, ",") != "I1,U1" {
			t.Fatalf("created %+v", st)
		}
		var hash string
		if err := d.QueryRow(`SELECT password_hash FROM staff WHERE id = $1`, st.ID).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "$argon2id$") || !access.CheckPassword(hash, pw) {
			t.Fatalf("stored hash %q", hash)
		}
		list, err := s.ListStaff(sys)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || strings.Join(list[0].Caseload, ",") != "I1,U1" || list[0].Lang != "sv" || list[0].Disabled {
			t.Fatalf("listed %+v", list)
		}

		// Invalid input writes nothing.
		for name, tc := range map[string]struct {
			n     access.NewStaff
			field string
		}{
			"username":      {access.NewStaff{Username: "a", DisplayName: "A", Role: access.Officer, Password: pw}, "username"},
			"username html": {access.NewStaff{Username: "a<b>", DisplayName: "A", Role: access.Officer, Password: pw}, "username"},
			"name":          {access.NewStaff{Username: "bb", DisplayName: "  ", Role: access.Officer, Password: pw}, "display_name"},
			"long name":     {access.NewStaff{Username: "bb", DisplayName: strings.Repeat("x", 201), Role: access.Officer, Password: pw}, "display_name"},
			"role":          {access.NewStaff{Username: "bb", DisplayName: "B", Role: "warden", Password: pw}, "role"},
			"password":      {access.NewStaff{Username: "bb", DisplayName: "B", Role: access.Officer, Password: "short"}, "password"},
			"lang":          {access.NewStaff{Username: "bb", DisplayName: "B", Role: access.Officer, Password: pw, Lang: "fr"}, "lang"},
			"caseload":      {access.NewStaff{Username: "bb", DisplayName: "B", Role: access.Officer, Password: pw, Caseload: []string{strings.Repeat("x", 101)}}, "caseload"},
		} {
			_, err := s.CreateStaff(sys, tc.n)
			wantCode(t, err, apperr.Invalid)
			if f := fieldsOf(err); len(f) != 1 || f[0] != tc.field {
				t.Errorf("%s: fields %v, want [%s]", name, f, tc.field)
			}
		}
		_, err = s.CreateStaff(sys, access.NewStaff{})
		if f := fieldsOf(err); len(f) != 4 {
			t.Errorf("an empty account names fields %v, want all four", f)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM staff`); n != 1 {
			t.Fatalf("%d accounts after invalid creates, want 1", n)
		}

		// A taken username — in any case — is a conflict on that field,
		// and nothing (caseload, audit) is left behind.
		_, err = s.CreateStaff(sys, access.NewStaff{Username: "ANNA.BERG", DisplayName: "Other Anna", Role: access.Security, Caseload: []string{"I9"}, Password: pw})
		if e := wantCode(t, err, apperr.Conflict); len(e.Fields) != 1 || e.Fields[0].Field != "username" {
			t.Fatalf("duplicate: %+v", e)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM staff_caseload`); n != 2 {
			t.Fatalf("%d caseload rows, want 2", n)
		}
		if n := audited(t, d, "staff.create"); n != 1 {
			t.Fatalf("%d staff.create records, want 1", n)
		}

		// Creating needs an actor to audit.
		if _, err := s.CreateStaff(context.Background(), access.NewStaff{Username: "anon", DisplayName: "A", Role: access.Officer, Password: pw}); err == nil {
			t.Fatal("an account was created with no actor to audit")
		}
		if n := count(t, d, `SELECT COUNT(*) FROM staff`); n != 1 {
			t.Fatalf("%d accounts, want 1", n)
		}
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		st := mkStaff(t, s, "anna", access.CaseWorker, "I1")
		sess, p, err := s.Login(context.Background(), " ANNA ", pw, "10.1.1.1")
		if err != nil {
			t.Fatal(err)
		}
		if p.ID != st.ID || p.Username != "anna" || p.Role != access.CaseWorker || strings.Join(p.Caseload, ",") != "I1" || p.CSRF != sess.CSRF || p.Remote != "10.1.1.1" || p.IsToken {
			t.Fatalf("principal %+v", p)
		}
		if len(sess.Token) != 64 || len(sess.CSRF) != 48 || sess.Token == sess.CSRF {
			t.Fatalf("session %+v", sess)
		}
		// Only the token's hash is stored.
		if n := count(t, d, `SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, sess.Token); n != 0 {
			t.Fatal("the session token is stored in clear")
		}
		if audited(t, d, "auth.login") != 1 {
			t.Fatal("sign-in not audited")
		}

		// Wrong password and unknown user give the same answer.
		_, _, errWrong := s.Login(context.Background(), "anna", "wrong password!", "10.1.1.1")
		_, _, errUnknown := s.Login(context.Background(), "nobody", pw, "10.1.1.1")
		for _, err := range []error{errWrong, errUnknown} {
			if !errors.Is(err, access.ErrBadCredentials) {
				t.Fatalf("failed sign-in: %v", err)
			}
		}
		if errWrong.Error() != errUnknown.Error() {
			t.Fatal("a wrong password and an unknown user answer differently")
		}
		if n := audited(t, d, "auth.login_failed"); n != 2 {
			t.Fatalf("%d failed sign-ins audited, want 2", n)
		}
		var actor, detail string
		if err := d.QueryRow(`SELECT actor_id, detail FROM audit_log WHERE action = 'auth.login_failed' AND COALESCE(object_id, '') = ''`).Scan(&actor, &detail); err != nil {
			t.Fatal(err)
		}
		if actor != "anonymous" || detail != "unknown user" {
			t.Fatalf("unknown user audited as %q %q", actor, detail)
		}
	})
}

func TestLockout(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s, c := newService(t, d)
		mkStaff(t, s, "anna", access.Officer, "I1")
		login := func(p string) error {
			_, _, err := s.Login(context.Background(), "anna", p, "10.1.1.1")
			return err
		}
		failed := func() int {
			return count(t, d, `SELECT failed_logins FROM staff WHERE username = 'anna'`)
		}

		// A success resets the count.
		for range access.MaxFailedLogins - 1 {
			if err := login("wrong password!"); !errors.Is(err, access.ErrBadCredentials) {
				t.Fatal(err)
			}
		}
		if failed() != access.MaxFailedLogins-1 {
			t.Fatalf("failed_logins = %d", failed())
		}
		if err := login(pw); err != nil {
			t.Fatalf("sign-in after %d failures: %v", access.MaxFailedLogins-1, err)
		}
		if failed() != 0 {
			t.Fatalf("failed_logins = %d after a success", failed())
		}

		// Five failures lock the account for 15 minutes.
		for range access.MaxFailedLogins {
			c.add(time.Second)
			if err := login("wrong password!"); !errors.Is(err, access.ErrBadCredentials) {
				t.Fatal(err)
			}
		}
		lockedAt := c.now
		list, _ := s.ListStaff(sys)
		if want := lockedAt.Add(access.LockoutFor); !list[0].LockedUntil.Equal(want) {
			t.Fatalf("locked until %v, want %v", list[0].LockedUntil, want)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed' AND detail = 'bad password; account locked'`); n != 1 {
			t.Fatalf("%d lock records", n)
		}
		// The right password is refused while locked, with the same answer,
		// and neither it nor more wrong ones extend the lock.
		c.add(access.LockoutFor - time.Second)
		if err := login(pw); !errors.Is(err, access.ErrBadCredentials) {
			t.Fatalf("the right password while locked: %v", err)
		}
		if err := login("wrong password!"); !errors.Is(err, access.ErrBadCredentials) {
			t.Fatal(err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed' AND detail = 'account locked'`); n != 2 {
			t.Fatalf("%d refusals while locked audited, want 2", n)
		}
		list, _ = s.ListStaff(sys)
		if !list[0].LockedUntil.Equal(lockedAt.Add(access.LockoutFor)) {
			t.Fatal("attempts while locked moved the lock")
		}
		// After the lockout the right password works.
		c.now = lockedAt.Add(access.LockoutFor + time.Second)
		if err := login(pw); err != nil {
			t.Fatalf("after the lockout: %v", err)
		}
		list, _ = s.ListStaff(sys)
		if !list[0].LockedUntil.IsZero() || failed() != 0 {
			t.Fatalf("after a success: locked until %v, %d failures", list[0].LockedUntil, failed())
		}

		// An administrator's password reset clears a lock at once.
		for range access.MaxFailedLogins {
			_ = login("wrong password!")
		}
		if err := login(pw); err == nil {
			t.Fatal("not locked again")
		}
		if err := s.ResetPassword(sys, "Anna", "a brand new password"); err != nil {
			t.Fatal(err)
		}
		if err := login("a brand new password"); err != nil {
			t.Fatalf("after a reset: %v", err)
		}
		if audited(t, d, "staff.reset_password") != 1 {
			t.Fatal("reset not audited")
		}
		wantCode(t, s.ResetPassword(sys, "nobody", "a brand new password"), apperr.NotFound)
		wantCode(t, s.ResetPassword(sys, "anna", "short"), apperr.Invalid)
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s, c := newService(t, d)
		st := mkStaff(t, s, "anna", access.Officer, "I1", "U1")
		ctx := context.Background()
		open := func() access.Session {
			t.Helper()
			sess, _, err := s.Login(ctx, "anna", pw, "10.1.1.1")
			if err != nil {
				t.Fatal(err)
			}
			return sess
		}
		valid := func(sess access.Session) *access.Principal {
			t.Helper()
			p, err := s.SessionPrincipal(ctx, sess.Token, "10.2.2.2")
			if err != nil {
				t.Fatal(err)
			}
			return p
		}

		sess := open()
		p := valid(sess)
		if p == nil || p.ID != st.ID || p.Username != "anna" || p.Role != access.Officer || p.CSRF != sess.CSRF || p.Remote != "10.2.2.2" || strings.Join(p.Caseload, ",") != "I1,U1" {
			t.Fatalf("principal %+v", p)
		}
		for _, tok := range []string{"", "nonsense", strings.ToUpper(sess.Token), sess.CSRF} {
			if p, err := s.SessionPrincipal(ctx, tok, ""); p != nil || err != nil {
				t.Fatalf("token %q: %+v %v", tok, p, err)
			}
		}

		// A CSRF token per session.
		other := open()
		if other.CSRF == sess.CSRF || other.Token == sess.Token || valid(other).CSRF != other.CSRF {
			t.Fatal("two sessions share a CSRF token")
		}

		// Idle: 30 minutes without a request ends the session; a request
		// keeps it alive.
		start := c.now
		c.add(access.SessionIdle - time.Minute)
		if valid(sess) == nil {
			t.Fatal("ended before the idle timeout")
		}
		c.add(access.SessionIdle - time.Minute)
		if valid(sess) == nil {
			t.Fatal("a request did not keep the session alive")
		}
		if valid(other) != nil {
			t.Fatal("an idle session still works")
		}
		if n := count(t, d, `SELECT COUNT(*) FROM sessions`); n != 1 {
			t.Fatalf("%d sessions, want the idle one deleted", n)
		}
		c.add(access.SessionIdle + time.Second)
		if valid(sess) != nil {
			t.Fatal("the session outlived the idle timeout")
		}

		// Absolute: 12 hours, however busy.
		c.now = start
		sess = open()
		for c.now.Before(start.Add(access.SessionAbsolute - 20*time.Minute)) {
			c.add(20 * time.Minute)
			if valid(sess) == nil {
				t.Fatalf("ended %v after sign-in", c.now.Sub(start))
			}
		}
		c.now = start.Add(access.SessionAbsolute + time.Second)
		if valid(sess) != nil {
			t.Fatal("the session outlived the absolute timeout")
		}

		// Logout ends it, audited as the person.
		sess = open()
		if err := s.Logout(asStaff(st), sess.Token); err != nil {
			t.Fatal(err)
		}
		if valid(sess) != nil {
			t.Fatal("the session works after logout")
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'auth.logout' AND actor_id = $1`, st.ID); n != 1 {
			t.Fatalf("%d logouts audited", n)
		}

		// A disabled account's sessions stop working, and it cannot sign in.
		sess = open()
		dbtest.Exec(t, d, `UPDATE staff SET disabled = 1 WHERE username = 'anna'`)
		if valid(sess) != nil {
			t.Fatal("a disabled account's session works")
		}
		if _, _, err := s.Login(ctx, "anna", pw, ""); !errors.Is(err, access.ErrBadCredentials) {
			t.Fatalf("a disabled account signs in: %v", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed' AND detail = 'account disabled'`); n != 1 {
			t.Fatalf("%d disabled sign-ins audited", n)
		}
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s, c := newService(t, d)
		adm := mkStaff(t, s, "root", access.Administrator, access.Everywhere)
		ctx := asStaff(adm)

		for name, tc := range map[string]struct {
			name  string
			role  access.Role
			ttl   time.Duration
			field string
		}{
			"no name":  {" ", access.Security, 0, "name"},
			"long":     {strings.Repeat("x", 201), access.Security, 0, "name"},
			"role":     {"court", "judge", 0, "role"},
			"negative": {"court", access.Security, -time.Hour, "ttl_days"},
		} {
			_, err := s.IssueToken(ctx, tc.name, tc.role, nil, tc.ttl)
			wantCode(t, err, apperr.Invalid)
			if f := fieldsOf(err); len(f) != 1 || f[0] != tc.field {
				t.Errorf("%s: fields %v", name, f)
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM api_tokens`); n != 0 {
			t.Fatalf("%d tokens after invalid issues", n)
		}

		tok, err := s.IssueToken(ctx, " court ", access.Security, []string{"I1", "U2"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok.Secret, "cst_") || tok.Name != "court" || tok.CreatedBy != adm.ID || !tok.ExpiresAt.Equal(c.now.Add(time.Hour)) {
			t.Fatalf("issued %+v", tok)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1`, tok.Secret); n != 0 {
			t.Fatal("the secret is stored in clear")
		}
		p, err := s.TokenPrincipal(context.Background(), tok.Secret, "10.3.3.3")
		if err != nil || p == nil {
			t.Fatalf("token principal: %+v %v", p, err)
		}
		if p.ID != tok.ID || p.Role != access.Security || strings.Join(p.Caseload, ",") != "I1,U2" || !p.IsToken || p.Username != "token:court" || p.CSRF != "" || p.Remote != "10.3.3.3" {
			t.Fatalf("principal %+v", p)
		}
		if p, _ := s.TokenPrincipal(context.Background(), "cst_nonsense", ""); p != nil {
			t.Fatal("an unknown secret is a principal")
		}
		list, err := s.ListTokens(ctx)
		if err != nil || len(list) != 1 || list[0].Secret != "" || strings.Join(list[0].Caseload, ",") != "I1,U2" {
			t.Fatalf("list %+v %v", list, err)
		}

		// Expiry.
		c.add(time.Hour - time.Second)
		if p, _ := s.TokenPrincipal(context.Background(), tok.Secret, ""); p == nil {
			t.Fatal("expired early")
		}
		c.add(2 * time.Second)
		if p, _ := s.TokenPrincipal(context.Background(), tok.Secret, ""); p != nil {
			t.Fatal("an expired token works")
		}

		// No expiry, then revoked.
		forever, err := s.IssueToken(ctx, "registry", access.Analyst, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		c.add(10 * 365 * 24 * time.Hour)
		if p, _ := s.TokenPrincipal(context.Background(), forever.Secret, ""); p == nil || p.Role != access.Analyst || len(p.Caseload) != 0 {
			t.Fatalf("a token without expiry: %+v", p)
		}
		if err := s.RevokeToken(ctx, forever.ID); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.TokenPrincipal(context.Background(), forever.Secret, ""); p != nil {
			t.Fatal("a revoked token works")
		}
		wantCode(t, s.RevokeToken(ctx, forever.ID), apperr.NotFound)
		wantCode(t, s.RevokeToken(ctx, "no-such-id"), apperr.NotFound)

		if audited(t, d, "token.issue") != 2 || audited(t, d, "token.revoke") != 1 {
			t.Fatalf("audit: %d issues, %d revokes", audited(t, d, "token.issue"), audited(t, d, "token.revoke"))
		}
	})
}

func TestCheckClientAndBreakGlass(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s, c := newService(t, d)
		ctx := context.Background()
		unitOfficer := mkStaff(t, s, "unit", access.Officer, "U1")
		instOfficer := mkStaff(t, s, "inst", access.Officer, "I1")
		national := mkStaff(t, s, "nat", access.CaseWorker, access.Everywhere)
		analyst := mkStaff(t, s, "ana", access.Analyst, access.Everywhere)
		// A client's locations are its unit and the unit's institution.
		inU1 := []string{"U1", "I1"}
		inU2 := []string{"U2", "I1"}
		elsewhere := []string{"U9", "I9"}

		for _, tc := range []struct {
			who  access.Staff
			locs []string
			ok   bool
		}{
			{unitOfficer, inU1, true},
			{unitOfficer, inU2, false},
			{instOfficer, inU1, true},
			{instOfficer, inU2, true},
			{instOfficer, elsewhere, false},
			{national, elsewhere, true},
			{national, nil, true},
			{instOfficer, nil, false},
		} {
			bg, err := s.CheckClient(ctx, principal(tc.who), access.ClientRead, "c1", tc.locs)
			if bg {
				t.Errorf("%s on %v: break-glass without a grant", tc.who.Username, tc.locs)
			}
			if tc.ok && err != nil {
				t.Errorf("%s on %v: %v", tc.who.Username, tc.locs, err)
			}
			if !tc.ok {
				e := wantCode(t, err, apperr.Forbidden)
				if e.Detail["break_glass"] != true || e.Detail["client_id"] != "c1" {
					t.Errorf("%s on %v: detail %v does not offer break-glass", tc.who.Username, tc.locs, e.Detail)
				}
			}
		}
		// The role decides before the caseload, and offers no break-glass.
		_, err := s.CheckClient(ctx, principal(analyst), access.ClientRead, "c1", inU1)
		if e := wantCode(t, err, apperr.Forbidden); e.Detail != nil {
			t.Fatalf("a role refusal offers break-glass: %v", e.Detail)
		}
		_, err = s.CheckClient(ctx, principal(instOfficer), access.ClientWrite, "c1", inU1)
		wantCode(t, err, apperr.Forbidden)

		// Break-glass: a reason, a role that reads clients.
		p := principal(unitOfficer)
		_, err = s.BreakGlass(asStaff(unitOfficer), p, "c2", " too short ")
		wantCode(t, err, apperr.Invalid)
		_, err = s.BreakGlass(asStaff(unitOfficer), p, "c2", strings.Repeat("x", 2001))
		wantCode(t, err, apperr.Invalid)
		_, err = s.BreakGlass(asStaff(analyst), principal(analyst), "c2", "I need to see this file now")
		wantCode(t, err, apperr.Forbidden)
		if n := count(t, d, `SELECT COUNT(*) FROM break_glass`); n != 0 {
			t.Fatalf("%d grants after refusals", n)
		}

		g, err := s.BreakGlass(asStaff(unitOfficer), p, "c2", "Medical emergency on the landing")
		if err != nil {
			t.Fatal(err)
		}
		if !g.ExpiresAt.Equal(c.now.Add(access.BreakGlassFor)) || g.StaffID != unitOfficer.ID {
			t.Fatalf("grant %+v", g)
		}
		bg, err := s.CheckClient(ctx, p, access.ClientRead, "c2", inU2)
		if err != nil || !bg {
			t.Fatalf("under a grant: %t %v", bg, err)
		}
		if r := s.ActiveReason(ctx, p.ID, "c2"); r != "Medical emergency on the landing" {
			t.Fatalf("reason %q", r)
		}
		// The grant is for one client and one person.
		if _, err := s.CheckClient(ctx, p, access.ClientRead, "c3", inU2); err == nil {
			t.Fatal("a grant opened another client")
		}
		if _, err := s.CheckClient(ctx, principal(instOfficer), access.ClientRead, "c2", elsewhere); err == nil {
			t.Fatal("a grant opened the client for someone else")
		}
		// Inside the caseload no flag is raised even with a grant.
		if bg, err := s.CheckClient(ctx, p, access.ClientRead, "c2", inU1); bg || err != nil {
			t.Fatalf("inside the caseload: %t %v", bg, err)
		}
		var flagged int
		if err := d.QueryRow(`SELECT break_glass FROM audit_log WHERE action = 'breakglass.open'`).Scan(&flagged); err != nil || flagged != 1 {
			t.Fatalf("grant audit flagged=%d %v", flagged, err)
		}

		c.add(access.BreakGlassFor - time.Second)
		if bg, _ := s.CheckClient(ctx, p, access.ClientRead, "c2", inU2); !bg {
			t.Fatal("the grant ended early")
		}
		c.add(2 * time.Second)
		if _, err := s.CheckClient(ctx, p, access.ClientRead, "c2", inU2); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("after the grant expired: %v", err)
		}
		if r := s.ActiveReason(ctx, p.ID, "c2"); r != "" {
			t.Fatalf("an expired grant has a reason: %q", r)
		}
	})
}

func TestReviewGrants(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s, c := newService(t, d)
		officer := mkStaff(t, s, "olle", access.Officer, "I1")
		sec := mkStaff(t, s, "sara", access.Security, access.Everywhere)
		sec2 := mkStaff(t, s, "sven", access.Security, access.Everywhere)

		g1, err := s.BreakGlass(asStaff(officer), principal(officer), "c1", "Escort needs the alert list")
		if err != nil {
			t.Fatal(err)
		}
		c.add(time.Minute)
		g2, err := s.BreakGlass(asStaff(sec), principal(sec), "c2", "Checking a visitor complaint")
		if err != nil {
			t.Fatal(err)
		}

		list, err := s.ListGrants(context.Background(), true, 0)
		if err != nil || len(list) != 2 || list[0].ID != g2.ID {
			t.Fatalf("unreviewed, newest first: %+v %v", list, err)
		}
		if list[1].StaffName != "Name of olle" || list[1].StaffRole != access.Officer || list[1].ReviewOK != nil {
			t.Fatalf("listed %+v", list[1])
		}

		// Only security, never one's own, once.
		wantCode(t, s.ReviewGrant(asStaff(officer), principal(officer), g1.ID, true, ""), apperr.Forbidden)
		wantCode(t, s.ReviewGrant(asStaff(sec), principal(sec), g2.ID, true, "fine"), apperr.Forbidden)
		wantCode(t, s.ReviewGrant(asStaff(sec), principal(sec), "missing", true, ""), apperr.NotFound)
		wantCode(t, s.ReviewGrant(asStaff(sec), principal(sec), g1.ID, true, strings.Repeat("x", 2001)), apperr.Invalid)
		if n := count(t, d, `SELECT COUNT(*) FROM break_glass WHERE reviewed_at IS NOT NULL`); n != 0 {
			t.Fatalf("%d grants reviewed by refused reviews", n)
		}
		if err := s.ReviewGrant(asStaff(sec), principal(sec), g1.ID, false, "Not needed for an escort"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.ReviewGrant(asStaff(sec2), principal(sec2), g1.ID, true, ""), apperr.Conflict)
		if err := s.ReviewGrant(asStaff(sec2), principal(sec2), g2.ID, true, ""); err != nil {
			t.Fatal(err)
		}

		list, _ = s.ListGrants(context.Background(), true, 0)
		if len(list) != 0 {
			t.Fatalf("%d unreviewed after reviews", len(list))
		}
		list, _ = s.ListGrants(context.Background(), false, 1)
		if len(list) != 1 {
			t.Fatalf("limit 1 listed %d", len(list))
		}
		list, _ = s.ListGrants(context.Background(), false, 0)
		var seen int
		for _, g := range list {
			if g.ID == g1.ID {
				seen++
				if g.ReviewOK == nil || *g.ReviewOK || g.ReviewedBy != sec.ID || g.ReviewNote != "Not needed for an escort" || g.ReviewedAt.IsZero() {
					t.Fatalf("reviewed grant %+v", g)
				}
			}
		}
		if seen != 1 {
			t.Fatal("the reviewed grant is not listed")
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_log WHERE action = 'breakglass.review' AND actor_id IN ($1, $2)`, sec.ID, sec2.ID); n != 2 {
			t.Fatalf("%d reviews audited, want 2", n)
		}

		names, err := s.StaffNames(context.Background(), []string{sec.ID, officer.ID, "ghost"})
		if err != nil || len(names) != 2 || names[sec.ID] != "Name of sara" {
			t.Fatalf("names %v %v", names, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestUpdateStaff(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		s, _ := newService(t, d)
		root := mkStaff(t, s, "root", access.Administrator, access.Everywhere)
		anna := mkStaff(t, s, "anna", access.Officer, "I1")
		ctx := asStaff(root)

		// Invalid fields write nothing.
		_, err := s.UpdateStaff(ctx, "anna", access.StaffChange{DisplayName: ptr(" "), Role: ptr(access.Role("warden")), Lang: ptr("fr"), Caseload: &[]string{strings.Repeat("x", 101)}})
		wantCode(t, err, apperr.Invalid)
		if f := strings.Join(fieldsOf(err), ","); f != "version,display_name,role,caseload,lang" {
			t.Fatalf("fields %s", f)
		}
		_, err = s.UpdateStaff(ctx, "nobody", access.StaffChange{Version: 1, Role: ptr(access.Security)})
		wantCode(t, err, apperr.NotFound)

		// A change bumps the version; absent fields keep their values.
		st, err := s.UpdateStaff(ctx, " ANNA ", access.StaffChange{Version: 1, DisplayName: ptr(" Anna Berg "), Role: ptr(access.CaseWorker), Caseload: &[]string{"U2", "I1", "U2", ""}, Lang: ptr("nb")})
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != 2 || st.DisplayName != "Anna Berg" || st.Role != access.CaseWorker || strings.Join(st.Caseload, ",") != "I1,U2" || st.Lang != "nb" || st.Disabled {
			t.Fatalf("updated %+v", st)
		}
		got, err := s.GetStaff(sys, "anna")
		if err != nil || got.Version != 2 || got.DisplayName != "Anna Berg" || got.Role != access.CaseWorker || strings.Join(got.Caseload, ",") != "I1,U2" || got.Lang != "nb" {
			t.Fatalf("stored %+v %v", got, err)
		}
		var detail string
		if err := d.QueryRow(`SELECT detail FROM audit_log WHERE action = 'staff.update' AND object_id = $1 AND actor_id = $2`, anna.ID, root.ID).Scan(&detail); err != nil {
			t.Fatal(err)
		}
		if detail != "fields=display_name,role,caseload,lang role=case_worker version=2" {
			t.Fatalf("audit detail %q", detail)
		}
		// Someone else's edit of version 1 is stale, and changes nothing.
		_, err = s.UpdateStaff(ctx, "anna", access.StaffChange{Version: 1, DisplayName: ptr("Lost update")})
		if e := wantCode(t, err, apperr.Conflict); e.Detail["current_version"] != 2 {
			t.Fatalf("stale: %+v", e)
		}
		// Nothing to change is no write.
		if st, err := s.UpdateStaff(ctx, "anna", access.StaffChange{Version: 2, Role: ptr(access.CaseWorker), Caseload: &[]string{"U2", "I1"}}); err != nil || st.Version != 2 {
			t.Fatalf("no-op: %+v %v", st, err)
		}
		if n := audited(t, d, "staff.update"); n != 1 {
			t.Fatalf("%d updates audited, want 1", n)
		}
		// Caseload can be emptied.
		if st, err := s.UpdateStaff(ctx, "anna", access.StaffChange{Version: 2, Caseload: &[]string{}}); err != nil || len(st.Caseload) != 0 || st.Version != 3 {
			t.Fatalf("empty caseload: %+v %v", st, err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM staff_caseload WHERE staff_id = $1`, anna.ID); n != 0 {
			t.Fatalf("%d caseload rows", n)
		}

		// Disabling ends every session at once and stops sign-in; enabling
		// lets the person sign in again.
		sess1, _, err := s.Login(context.Background(), "anna", pw, "")
		if err != nil {
			t.Fatal(err)
		}
		sess2, _, _ := s.Login(context.Background(), "anna", pw, "")
		st, err = s.UpdateStaff(ctx, "anna", access.StaffChange{Version: 3, Disabled: ptr(true)})
		if err != nil || !st.Disabled || st.Version != 4 {
			t.Fatalf("disable: %+v %v", st, err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM sessions WHERE staff_id = $1`, anna.ID); n != 0 {
			t.Fatalf("%d sessions left after disabling", n)
		}
		for _, sess := range []access.Session{sess1, sess2} {
			if p, _ := s.SessionPrincipal(context.Background(), sess.Token, ""); p != nil {
				t.Fatal("a disabled account's session works")
			}
		}
		if _, _, err := s.Login(context.Background(), "anna", pw, ""); !errors.Is(err, access.ErrBadCredentials) {
			t.Fatalf("a disabled account signs in: %v", err)
		}
		if list, _ := s.ListStaff(sys); !list[0].Disabled && !list[1].Disabled {
			t.Fatal("ListStaff does not show the account disabled")
		}
		st, err = s.UpdateStaff(ctx, "anna", access.StaffChange{Version: 4, Disabled: ptr(false)})
		if err != nil || st.Disabled {
			t.Fatalf("enable: %+v %v", st, err)
		}
		if _, _, err := s.Login(context.Background(), "anna", pw, ""); err != nil {
			t.Fatalf("after enabling: %v", err)
		}
		if audited(t, d, "staff.disable") != 1 || audited(t, d, "staff.enable") != 1 {
			t.Fatal("disable/enable not audited")
		}

		// An administrator cannot disable themselves or drop their own
		// administrator role; another administrator can.
		_, err = s.UpdateStaff(ctx, "root", access.StaffChange{Version: 1, Disabled: ptr(true)})
		if e := wantCode(t, err, apperr.Forbidden); !errors.Is(err, access.ErrDisableSelf) || !strings.Contains(e.Message, "another administrator") {
			t.Fatalf("self-disable: %v", err)
		}
		_, err = s.UpdateStaff(ctx, "root", access.StaffChange{Version: 1, Role: ptr(access.Security)})
		if !errors.Is(err, access.ErrDemoteSelf) {
			t.Fatalf("self-demotion: %v", err)
		}
		if st, err := s.UpdateStaff(ctx, "root", access.StaffChange{Version: 1, DisplayName: ptr("Root Admin"), Role: ptr(access.Administrator), Disabled: ptr(false)}); err != nil || st.DisplayName != "Root Admin" {
			t.Fatalf("own name: %+v %v", st, err)
		}
		root2 := mkStaff(t, s, "root2", access.Administrator, access.Everywhere)
		if _, err := s.UpdateStaff(asStaff(root2), "root", access.StaffChange{Version: 2, Role: ptr(access.Security), Disabled: ptr(true)}); err != nil {
			t.Fatalf("another administrator: %v", err)
		}
		// The last enabled administrator cannot be demoted or disabled by
		// anyone (an API token's actor is not the account itself).
		tokenActor := audit.WithActor(context.Background(), audit.Actor{ID: "token-1", Name: "ops token", Role: string(access.Administrator)})
		for _, c := range []access.StaffChange{{Version: 1, Disabled: ptr(true)}, {Version: 1, Role: ptr(access.Security)}} {
			if _, err := s.UpdateStaff(tokenActor, "root2", c); !errors.Is(err, access.ErrLastAdministrator) {
				t.Fatalf("last administrator: %v", err)
			}
		}
		if got, _ := s.GetStaff(sys, "root2"); got.Role != access.Administrator || got.Disabled {
			t.Fatalf("the last administrator changed: %+v", got)
		}
		// An update needs an actor to audit.
		if _, err := s.UpdateStaff(context.Background(), "anna", access.StaffChange{Version: 5, Lang: ptr("")}); err == nil {
			t.Fatal("updated with no actor")
		}
		got, _ = s.GetStaff(sys, "anna")
		if got.Lang != "nb" {
			t.Fatal("an update without an actor was written")
		}
	})
}
