// SPDX-License-Identifier: AGPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/export"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
)

// TestExport exports a migrated SQLite file holding a staff account and a
// registered client, pseudonymised and in full.
func TestExport(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	path := filepath.Join(tmp, "custodia.db")
	run := func(args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := Run(ctx, args, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	mustRun("migrate", "--db", path)
	mustRun("users", "add", "--db", path, "--username", "anna.berg", "--name", "Anna Berg", "--role", "security", "--caseload", "*", "--password", "correct horse battery")

	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	actx := audit.WithActor(ctx, audit.System)
	kumla, err := (&estate.Service{DB: d}).CreateLocation(actx, estate.NewLocation{Kind: estate.Institution, Code: "KUM", Name: "Anstalten Kumla", Category: "closed", SecurityLevel: 1})
	if err != nil {
		t.Fatal(err)
	}
	al := audit.NewLog(d)
	c, err := (&client.Service{DB: d, Audit: al}).Register(actx, client.NewClient{GivenName: "Astrid", FamilyName: "Lindqvist", BirthDate: "1985-04-12", Sex: "F", HomeLocation: kumla.ID})
	if err != nil {
		t.Fatal(err)
	}
	al.Close()
	var pwHash string
	if err := d.QueryRow(`SELECT password_hash FROM staff`).Scan(&pwHash); err != nil {
		t.Fatal(err)
	}
	d.Close()

	kf := filepath.Join(tmp, "key")
	if err := os.WriteFile(kf, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run("export", "--db", path, "--out", filepath.Join(tmp, "nokey"), "--mode", "pseudonymised"); err == nil {
		t.Errorf("a pseudonymised export without a key ran: %s", out)
	}

	dir := filepath.Join(tmp, "pseudo")
	out := mustRun("export", "--db", path, "--out", dir, "--mode", "pseudonymised", "--key-file", kf)
	if !strings.Contains(out, "Exported") {
		t.Errorf("export said %q", out)
	}
	m, err := export.Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Mode != export.Pseudonymised || m.Tables["clients"].Rows != 1 || m.Tables["staff"].Rows != 1 {
		t.Fatalf("manifest: mode %s, tables %v", m.Mode, m.Tables)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		low := bytes.ToLower(b)
		for _, s := range []string{"astrid", "lindqvist", "1985-04-12", "anna berg", pwHash, "password_hash\":"} {
			if bytes.Contains(low, bytes.ToLower([]byte(s))) {
				t.Errorf("%s holds %q", filepath.Base(f), s)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "clients.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var row map[string]any
	if err := json.Unmarshal(b, &row); err != nil {
		t.Fatal(err)
	}
	key := []byte(strings.Repeat("ab", 32))
	if row["id"] != c.ID || row["birth_date"] != "1985-04" || row["given_name"] != export.Pseudonym(key, "Astrid") || row["home_location"] != kumla.ID {
		t.Errorf("clients row: %v", row)
	}

	full := filepath.Join(tmp, "full")
	mustRun("export", "--db", path, "--out", full, "--tables", "clients,staff")
	b, _ = os.ReadFile(filepath.Join(full, "clients.jsonl"))
	if !bytes.Contains(b, []byte(`"given_name":"Astrid"`)) {
		t.Errorf("full export of clients: %s", b)
	}
	b, _ = os.ReadFile(filepath.Join(full, "staff.jsonl"))
	if bytes.Contains(b, []byte(pwHash)) || bytes.Contains(b, []byte("password_hash")) || !bytes.Contains(b, []byte("anna.berg")) {
		t.Errorf("full export of staff: %s", b)
	}
	if out, err := run("export", "--db", path, "--out", full); err == nil {
		t.Errorf("an export into a used directory ran: %s", out)
	}

	if out := mustRun("audit", "verify", "--db", path); !strings.Contains(out, "intact") {
		t.Errorf("audit verify after exports: %s", out)
	}
	d, err = db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action IN ('export.pseudonymised', 'export.full') AND actor_id LIKE 'cli:%' AND detail LIKE '%clients:1%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d audit records of the two exports", n)
	}
}
