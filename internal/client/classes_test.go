// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func TestReadClassesFromSchema(t *testing.T) {
	schema := map[string]db.Column{}
	for _, c := range []db.Column{
		{Table: "people", Column: "id", Class: db.ClassInternal},
		{Table: "people", Column: "name", Class: db.ClassPersonal},
		{Table: "people", Column: "diagnosis", Class: db.ClassSpecialCategory},
		{Table: "keys", Column: "secret", Class: db.ClassSecurity},
		{Table: "keys", Column: "id", Class: db.ClassInternal},
		{Table: "places", Column: "code", Class: db.ClassPublic},
		{Table: "places", Column: "id", Class: db.ClassInternal},
	} {
		schema[c.Table+"."+c.Column] = c
	}
	got, err := readClasses(schema, map[string][]string{
		"all":      {"people.*", "keys.*"},
		"name":     {"people.id", "people.name"},
		"special":  {"people.diagnosis"},
		"internal": {"places.*"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for read, want := range map[string]string{
		"all":      "classes=personal,special-category,security",
		"name":     "classes=personal",
		"special":  "classes=special-category",
		"internal": "classes=public,internal",
	} {
		if got[read] != want {
			t.Errorf("%s: %q, want %q", read, got[read], want)
		}
	}
	for _, bad := range [][]string{{"people.shoe_size"}, {"nosuch.*"}, {"people"}} {
		if _, err := readClasses(schema, map[string][]string{"x": bad}); err == nil {
			t.Errorf("%v: no error for a column the schema does not classify", bad)
		}
	}
}

// TestReadDetails: the classes each read names come from the register's
// own declarations (00001_client.sql, 00002_photos.sql).
func TestReadDetails(t *testing.T) {
	schema, _ := db.Classification()
	if c := schema["client_photos.image"].Class; c != db.ClassSpecialCategory {
		t.Fatalf("client_photos.image is %q", c)
	}
	for read, want := range map[string]string{
		readRecord:   "classes=personal,special-category", // alerts, legal bases
		readTimeline: "classes=personal,special-category", // summaries name offences
		readMovement: "classes=personal",
		readBasis:    "classes=special-category",
		readPhoto:    "classes=special-category",
		readHit:      "classes=personal,special-category", // alert kinds
		readHitOut:   "classes=personal",
		readRoll:     "classes=personal,special-category",
	} {
		if got := readDetail(read); got != want {
			t.Errorf("%s: %q, want %q", read, got, want)
		}
	}
}

// TestReadsNameClasses: each audited read carries its classes, so that an
// auditor can pick out the reads of special-category data.
func TestReadsNameClasses(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.admitted("Klas", "Klassad", "A1")
		b := e.basis(c, BasisRemand)
		cur, _ := findClient(e.ctx, d, c.ID)
		if _, err := e.svc.SetPhoto(e.ctx, c.ID, cur.Version, pngBytes(t, 64, 64), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Get(e.ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.TimelinePage(e.ctx, c.ID, "", 10); err != nil {
			t.Fatal(err)
		}
		var mv string
		if err := d.QueryRowContext(e.ctx, `SELECT id FROM movements WHERE client_id = $1`, c.ID).Scan(&mv); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Movement(e.ctx, c.ID, mv); err != nil {
			t.Fatal(err)
		}
		if got, err := e.svc.LegalBasis(e.ctx, c.ID, b.ID); err != nil || got.ID != b.ID {
			t.Fatalf("legal basis: %v", err)
		}
		if _, _, err := e.svc.Photo(e.ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		detail := func(action string) string {
			t.Helper()
			var s string
			if err := d.QueryRowContext(e.ctx, `SELECT COALESCE(detail, '') FROM audit_log WHERE action = $1 AND client_id = $2`, action, c.ID).Scan(&s); err != nil {
				t.Fatalf("%s: %v", action, err)
			}
			return s
		}
		for action, want := range map[string]string{
			"client.read":             "classes=personal,special-category",
			"client.timeline.read":    "classes=personal,special-category",
			"client.movement.read":    "classes=personal",
			"client.legal_basis.read": "classes=special-category",
			"client.photo.read":       "classes=special-category",
		} {
			if got := detail(action); got != want {
				t.Errorf("%s: detail %q, want %q", action, got, want)
			}
		}
		// The auditor's question: who read special-category data about
		// this person, and through what?
		rows, err := d.QueryContext(e.ctx, `SELECT action FROM audit_log WHERE client_id = $1 AND detail LIKE '%classes=%special-category%' ORDER BY action`, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var a string
			rows.Scan(&a) //nolint:errcheck
			got = append(got, a)
		}
		rows.Close()
		if strings.Join(got, " ") != "client.legal_basis.read client.photo.read client.read client.timeline.read" {
			t.Fatalf("special-category reads: %v", got)
		}
		// Search hits name what the list showed: alert kinds in the
		// caseload, identity only outside it.
		for _, tc := range []struct {
			p    *access.Principal
			want string
		}{
			{&access.Principal{ID: "s1", Caseload: []string{e.inst.ID}}, "listed in search results classes=personal,special-category"},
			{&access.Principal{ID: "s2", Caseload: []string{e.inst2.ID}}, "listed in search results classes=personal"},
		} {
			// Counted, not deleted first: the audit log is append-only.
			all := `SELECT COUNT(*) FROM audit_log WHERE action = 'client.search_hit' AND client_id = $1`
			named := all + ` AND detail = $2`
			allBefore, namedBefore := e.count(all, c.ID), e.count(named, c.ID, tc.want)
			if hits, err := e.svc.Search(e.ctx, tc.p, "Klas Klassad", 5); err != nil || len(hits) != 1 {
				t.Fatalf("search: %v %v", hits, err)
			}
			if e.count(all, c.ID) != allBefore+1 || e.count(named, c.ID, tc.want) != namedBefore+1 {
				t.Errorf("search hit: no one new audit row with detail %q", tc.want)
			}
		}
	})
}
