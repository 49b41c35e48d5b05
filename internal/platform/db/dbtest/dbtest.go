// SPDX-License-Identifier: AGPL-3.0-or-later

// Package dbtest gives tests a fresh, fully migrated database on each
// engine: a SQLite file in a temporary directory always, and a private
// schema on the PostgreSQL named by CUSTODIA_TEST_POSTGRES when it is set.
package dbtest

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/testenv"
)

// SQLite opens a migrated SQLite database in t.TempDir().
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "custodia.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// PostgresURL creates a new, empty schema on the test server, dropped when
// the test ends, and returns a URL whose connections use it; it skips
// (loudly) when no server is set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := testenv.Postgres(t)
	schema := "t_" + strings.ToLower(db.RandomToken(6))
	admin, err := db.Open(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE") //nolint:errcheck
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a migrated database in a new schema of the test server,
// dropped when the test ends; it skips (loudly) when no server is set.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// Engines runs f once per engine as subtests "sqlite" and "postgres".
func Engines(t *testing.T, f func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, e := range []string{"sqlite", "postgres"} {
		t.Run(e, func(t *testing.T) {
			var d *db.DB
			if e == "sqlite" {
				d = SQLite(t)
			} else {
				d = Postgres(t)
			}
			f(t, d)
		})
	}
}

// Exec runs statements or fails the test.
func Exec(t testing.TB, d *db.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := d.Exec(s); err != nil {
			t.Fatal(fmt.Errorf("%s: %w", s, err))
		}
	}
}
