// SPDX-License-Identifier: AGPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/db"
)

func TestHelpListsEveryCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !strings.Contains(out.String(), "custodia "+c.name) || !strings.Contains(out.String(), c.help) {
			t.Errorf("help does not list %s:\n%s", c.name, out.String())
		}
	}
}

// TestEveryFlagHasHelp asks each command for its help and checks that
// every flag it prints has a description.
func TestEveryFlagHasHelp(t *testing.T) {
	for _, c := range commands() {
		if c.run == nil {
			continue
		}
		var out bytes.Buffer
		err := Run(context.Background(), []string{"help", c.name}, &out, &out)
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			t.Errorf("help %s: %v", c.name, err)
			continue
		}
		lines := strings.Split(out.String(), "\n")
		flags := 0
		for i, l := range lines {
			if strings.HasPrefix(l, "  -") {
				flags++
				if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) == "" {
					t.Errorf("%s: flag %s has no help line", c.name, strings.TrimSpace(l))
				}
			}
		}
		if flags == 0 {
			t.Errorf("help %s shows no flags:\n%s", c.name, out.String())
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"frobnicate"}, &out, &errOut); err == nil {
		t.Fatal("an unknown command succeeded")
	}
	if !strings.Contains(errOut.String(), "Usage:") {
		t.Errorf("no usage after an unknown command:\n%s", errOut.String())
	}
}

func TestMigrateAndUsers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "custodia.db")
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := Run(ctx, args, &out, &errOut); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	if out := run("migrate", "--db", path); !strings.Contains(out, "up to date") {
		t.Errorf("migrate said %q", out)
	}
	if out := run("users", "list", "--db", path); !strings.Contains(out, "USERNAME") {
		t.Errorf("users list on an empty database said %q", out)
	}
	run("users", "add", "--db", path, "--username", "anna.berg", "--name", "Anna Berg", "--role", "security", "--caseload", "*", "--password", "correct horse battery")
	out := run("users", "list", "--db", path)
	if !strings.Contains(out, "anna.berg") || !strings.Contains(out, "security") || !strings.Contains(out, "active") {
		t.Errorf("users list after add:\n%s", out)
	}
	run("users", "reset", "--db", path, "--username", "anna.berg", "--password", "another long password")
	run("users", "disable", "--db", path, "--username", "anna.berg")
	if out := run("users", "list", "--db", path); !strings.Contains(out, "disabled") {
		t.Errorf("users list after disable:\n%s", out)
	}
	run("users", "enable", "--db", path, "--username", "anna.berg")
	if out := run("users", "list", "--db", path); !strings.Contains(out, "active") {
		t.Errorf("users list after enable:\n%s", out)
	}
	if out := run("audit", "verify", "--db", path); !strings.Contains(out, "intact") {
		t.Errorf("audit verify said %q", out)
	}
	var o, e bytes.Buffer
	if err := Run(ctx, []string{"users", "add", "--db", path, "--username", "x", "--name", "X", "--role", "officer", "--password", "short"}, &o, &e); err == nil {
		t.Error("a bad account was created")
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "custodia.db")
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := Run(ctx, args, &out, &errOut); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	out := strings.TrimSpace(run("tokens", "issue", "--db", path, "--name", "wing tablets", "--role", "officer", "--caseload", "I1,U2", "--ttl-days", "30"))
	secret := out[strings.LastIndex(out, "\n")+1:]
	if !strings.HasPrefix(secret, "cst_") {
		t.Fatalf("issue said %q; want the secret alone on the last line", out)
	}
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, err := (&access.Service{DB: d}).TokenPrincipal(ctx, secret, "")
	if err != nil || p == nil || p.Role != access.Officer || strings.Join(p.Caseload, ",") != "I1,U2" {
		t.Fatalf("the issued secret resolves to %+v, %v", p, err)
	}
	list := run("tokens", "list", "--db", path)
	if !strings.Contains(list, p.ID) || !strings.Contains(list, "wing tablets") || !strings.Contains(list, "active") || strings.Contains(list, secret) {
		t.Errorf("tokens list:\n%s", list)
	}
	run("tokens", "revoke", "--db", path, "--id", p.ID)
	if list := run("tokens", "list", "--db", path); !strings.Contains(list, "revoked") {
		t.Errorf("tokens list after revoke:\n%s", list)
	}
	if p, err := (&access.Service{DB: d}).TokenPrincipal(ctx, secret, ""); p != nil || err != nil {
		t.Errorf("a revoked token still resolves: %+v, %v", p, err)
	}
	var o, e bytes.Buffer
	if err := Run(ctx, []string{"tokens", "issue", "--db", path, "--name", "x", "--role", "king"}, &o, &e); err == nil {
		t.Error("a token with an unknown role was issued")
	}
	if out := run("audit", "verify", "--db", path); !strings.Contains(out, "intact") {
		t.Errorf("audit verify said %q", out)
	}
}
