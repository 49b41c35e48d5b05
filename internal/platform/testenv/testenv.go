// SPDX-License-Identifier: AGPL-3.0-or-later

// Package testenv tells tests which real services they may use, and makes a
// missing service a loud skip — or a failure when CUSTODIA_REQUIRE_ALL=1, as
// in CI, so that nothing is silently left untested there.
package testenv

import (
	"os"
	"testing"
)

// RequireAll reports whether every suite must run (CI).
func RequireAll() bool { return os.Getenv("CUSTODIA_REQUIRE_ALL") == "1" }

// Skip skips t with a clear reason, or fails it when everything is required.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("CUSTODIA_REQUIRE_ALL=1 but %s", reason)
	}
	t.Skipf("SKIPPED: %s", reason)
}

// Postgres returns the PostgreSQL URL for tests, or skips.
func Postgres(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CUSTODIA_TEST_POSTGRES")
	if u == "" {
		Skip(t, "CUSTODIA_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable); PostgreSQL tests did not run")
	}
	return u
}

// NATS returns the external NATS URL for tests, or skips.
func NATS(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CUSTODIA_TEST_NATS")
	if u == "" {
		Skip(t, "CUSTODIA_TEST_NATS is not set (e.g. nats://127.0.0.1:4222); tests against an external NATS did not run")
	}
	return u
}

// Chromium returns the path of a Chromium binary for browser tests, or skips.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CUSTODIA_TEST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Skip(t, "no Chromium found (set CUSTODIA_TEST_CHROMIUM or apt-get install chromium); browser tests did not run")
	return ""
}
