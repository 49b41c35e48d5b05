// SPDX-License-Identifier: AGPL-3.0-or-later

package export

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// A small module whose migration declares a column of every class, so the
// classification under test is parsed from "-- @class" comments like the
// real modules'.
const schema = `-- +goose Up
CREATE TABLE xt_people (
    id          TEXT PRIMARY KEY,   -- @internal
    national_id TEXT,               -- @personal
    given_name  TEXT NOT NULL,      -- @personal
    birth_date  TEXT NOT NULL,      -- @personal
    prison      TEXT NOT NULL,      -- @public
    diagnosis   TEXT,               -- @special-category
    pw_hash     TEXT NOT NULL,      -- @security
    score       INTEGER NOT NULL    -- @internal
);
CREATE TABLE xt_visits (
    id          TEXT PRIMARY KEY,   -- @internal
    person_id   TEXT NOT NULL,      -- @internal
    visitor_nid TEXT NOT NULL,      -- @personal
    at          TEXT NOT NULL,      -- @personal
    note        TEXT,               -- @special-category
    token_hash  TEXT                -- @security
);
CREATE TABLE xt_bulk (
    id      INTEGER PRIMARY KEY,    -- @internal
    payload TEXT NOT NULL           -- @personal
);

-- +goose Down
DROP TABLE xt_bulk;
DROP TABLE xt_visits;
DROP TABLE xt_people;
`

func init() {
	db.Register(db.Module{Name: "exporttest", FS: fstest.MapFS{"00001_exporttest.sql": {Data: []byte(schema)}}})
}

var (
	key      = bytes.Repeat([]byte("k"), 32)
	otherKey = bytes.Repeat([]byte("o"), 32)
	actor    = audit.Actor{ID: "cli:tester", Name: "tester (command line)", Role: "operator"}
)

const (
	secretHash = "$argon2id$v=19$SECRET-HASH"
	tokenHash  = "deadbeefTOKENHASH"
)

func classes(t *testing.T) map[string]db.Column {
	t.Helper()
	c, err := db.Classification()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seed fills the test tables: two people and a visit by the first
// person's national id to the second.
func seed(t *testing.T, d *db.DB) {
	dbtest.Exec(t, d,
		`INSERT INTO xt_people VALUES ('p1', '19850412-1234', 'Astrid', '1985-04-12', 'Kumla', 'diabetes', '`+secretHash+`', 7)`,
		`INSERT INTO xt_people VALUES ('p2', NULL, 'Bo', '1990-11-30', 'Hall', NULL, '`+secretHash+`', 3)`,
		`INSERT INTO xt_visits VALUES ('v1', 'p2', '19850412-1234', '2025-03-01T10:00:00.000Z', 'came drunk', '`+tokenHash+`')`,
		`INSERT INTO xt_bulk VALUES (1, 'Astrid')`,
	)
}

func run(t *testing.T, d *db.DB, o Options) (*Manifest, string) {
	t.Helper()
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "out")
	}
	o.Classes = classes(t)
	o.Actor = actor
	m, err := Run(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	return m, o.Dir
}

// rowsOf reads TABLE.jsonl as maps keyed by the row's id.
func rowsOf(t *testing.T, dir, table string) map[string]map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, table+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]any{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v in %q", table, err, sc.Text())
		}
		out[fmt.Sprint(r["id"])] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// noSecrets fails if any file in dir holds a security value.
func noSecrets(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{secretHash, tokenHash, "argon2id", `"pw_hash":`, `"token_hash":`} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", filepath.Base(f), s)
			}
		}
	}
}

// keys lists a row's columns, sorted.
func keys(r map[string]any) string { return strings.Join(slices.Sorted(maps.Keys(r)), ",") }

func TestFull(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		seed(t, d)
		m, dir := run(t, d, Options{Mode: Full})
		noSecrets(t, dir)
		people := rowsOf(t, dir, "xt_people")
		if got := keys(people["p1"]); got != "birth_date,diagnosis,given_name,id,national_id,prison,score" {
			t.Errorf("full xt_people columns = %s", got)
		}
		p1 := people["p1"]
		if p1["given_name"] != "Astrid" || p1["birth_date"] != "1985-04-12" || p1["diagnosis"] != "diabetes" || p1["score"] != float64(7) {
			t.Errorf("full p1 = %v", p1)
		}
		if v, ok := people["p2"]["national_id"]; !ok || v != nil {
			t.Errorf("NULL national_id exported as %v (present %v)", v, ok)
		}
		pt := m.Tables["xt_people"]
		if len(pt.Withheld) != 1 || pt.Withheld[0].Name != "pw_hash" || pt.Withheld[0].Class != db.ClassSecurity {
			t.Errorf("manifest withheld = %+v", pt.Withheld)
		}
		if pt.Columns[0].Name != "id" || pt.Columns[1].Name != "national_id" || pt.Columns[1].Class != db.ClassPersonal {
			t.Errorf("manifest columns = %+v", pt.Columns)
		}
		// Every classified table is exported, audit_log among them.
		for _, tb := range []string{"xt_people", "xt_visits", "xt_bulk", "audit_log", "audit_head"} {
			if _, ok := m.Tables[tb]; !ok {
				t.Errorf("manifest has no %s", tb)
			}
		}
		checkManifest(t, dir, m)
		checkAudit(t, d, m, "export.full")
	})
}

func TestPseudonymised(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		seed(t, d)
		m1, dir1 := run(t, d, Options{Mode: Pseudonymised, Key: key})
		m2, dir2 := run(t, d, Options{Mode: Pseudonymised, Key: key})
		m3, dir3 := run(t, d, Options{Mode: Pseudonymised, Key: otherKey})
		for _, dir := range []string{dir1, dir2, dir3} {
			noSecrets(t, dir)
			b, _ := os.ReadFile(filepath.Join(dir, "xt_people.jsonl"))
			for _, s := range []string{"Astrid", "19850412-1234", "1985-04-12", "diabetes", "diagnosis"} {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("pseudonymised xt_people holds %q:\n%s", s, b)
				}
			}
		}
		p := rowsOf(t, dir1, "xt_people")["p1"]
		v := rowsOf(t, dir1, "xt_visits")["v1"]
		if got := keys(p); got != "birth_date,given_name,id,national_id,prison,score" {
			t.Errorf("pseudonymised xt_people columns = %s (special-category must be withheld)", got)
		}
		if got := keys(v); got != "at,id,person_id,visitor_nid" {
			t.Errorf("pseudonymised xt_visits columns = %s", got)
		}
		// Public and internal as they are; ids still join.
		if p["id"] != "p1" || p["prison"] != "Kumla" || p["score"] != float64(7) || v["person_id"] != "p2" {
			t.Errorf("public/internal changed: %v %v", p, v)
		}
		// Dates generalised to year-month.
		if p["birth_date"] != "1985-04" || v["at"] != "2025-03" {
			t.Errorf("dates: birth_date %v, at %v; want 1985-04, 2025-03", p["birth_date"], v["at"])
		}
		nid, _ := p["national_id"].(string)
		if len(nid) != PseudonymHexLen || nid != Pseudonym(key, "19850412-1234") {
			t.Errorf("national_id pseudonym %q", nid)
		}
		// The same value is the same pseudonym in another table …
		if v["visitor_nid"] != nid {
			t.Errorf("visitor_nid %v, national_id %v: same person, different pseudonyms", v["visitor_nid"], nid)
		}
		if b := rowsOf(t, dir1, "xt_bulk")["1"]; b["payload"] != p["given_name"] {
			t.Errorf("payload %v, given_name %v: same value, different pseudonyms", b["payload"], p["given_name"])
		}
		// … and in another export with the same key, but not another key.
		p2 := rowsOf(t, dir2, "xt_people")["p1"]
		p3 := rowsOf(t, dir3, "xt_people")["p1"]
		if p2["national_id"] != nid || p2["given_name"] != p["given_name"] {
			t.Errorf("same key, different pseudonyms: %v vs %v", p2, p)
		}
		if p3["national_id"] == nid || p3["given_name"] == p["given_name"] {
			t.Errorf("another key, same pseudonyms: %v vs %v", p3, p)
		}
		if m1.KeyID == "" || m1.KeyID != m2.KeyID || m1.KeyID == m3.KeyID {
			t.Errorf("key ids %q %q %q", m1.KeyID, m2.KeyID, m3.KeyID)
		}
		if p["given_name"] == "Astrid" || rowsOf(t, dir1, "xt_people")["p2"]["national_id"] != nil {
			t.Errorf("given_name %v; NULL national_id %v", p["given_name"], rowsOf(t, dir1, "xt_people")["p2"]["national_id"])
		}
		// Special-category withheld, and said so.
		var withheld []string
		for _, w := range m1.Tables["xt_people"].Withheld {
			withheld = append(withheld, w.Name+"="+w.Class)
		}
		if strings.Join(withheld, " ") != "diagnosis=special-category pw_hash=security" {
			t.Errorf("withheld = %v", withheld)
		}
		checkManifest(t, dir1, m1)
		checkAudit(t, d, m1, "export.pseudonymised")

		// Asked for, special-category columns come pseudonymised.
		m4, dir4 := run(t, d, Options{Mode: Pseudonymised, Key: key, IncludeSpecial: true})
		noSecrets(t, dir4)
		p4 := rowsOf(t, dir4, "xt_people")["p1"]
		if p4["diagnosis"] != Pseudonym(key, "diabetes") || rowsOf(t, dir4, "xt_visits")["v1"]["note"] != Pseudonym(key, "came drunk") {
			t.Errorf("included special-category: %v", p4)
		}
		if !m4.IncludeSpecial {
			t.Error("manifest does not say special-category columns are included")
		}
	})
}

func TestStatistics(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		seed(t, d)
		m, dir := run(t, d, Options{Mode: Statistics})
		noSecrets(t, dir)
		if got := keys(rowsOf(t, dir, "xt_people")["p1"]); got != "id,prison,score" {
			t.Errorf("statistics xt_people columns = %s", got)
		}
		if got := keys(rowsOf(t, dir, "xt_visits")["v1"]); got != "id,person_id" {
			t.Errorf("statistics xt_visits columns = %s", got)
		}
		for name, tb := range m.Tables {
			for _, c := range tb.Columns {
				if c.Class != db.ClassPublic && c.Class != db.ClassInternal {
					t.Errorf("statistics exported %s.%s of class %s", name, c.Name, c.Class)
				}
			}
		}
		checkManifest(t, dir, m)
		checkAudit(t, d, m, "export.statistics")
	})
}

func TestTablesOption(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		seed(t, d)
		m, dir := run(t, d, Options{Mode: Full, Tables: []string{"xt_visits", " xt_people"}})
		if len(m.Tables) != 2 || m.Tables["xt_people"].Rows != 2 || m.Tables["xt_visits"].Rows != 1 {
			t.Errorf("tables = %+v", m.Tables)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) != 3 {
			t.Errorf("files %v, want two tables and the manifest", files)
		}
		o := Options{Mode: Full, Dir: filepath.Join(t.TempDir(), "x"), Tables: []string{"nope"}, Classes: classes(t), Actor: actor}
		if _, err := Run(context.Background(), d, o); err == nil || !strings.Contains(err.Error(), "nope") {
			t.Errorf("unknown table: %v", err)
		}
	})
}

func TestUnclassifiedColumnIsAnError(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		seed(t, d)
		dbtest.Exec(t, d, `ALTER TABLE xt_visits ADD COLUMN sneaky TEXT`, `UPDATE xt_visits SET sneaky = 'leaked'`)
		for _, o := range []Options{{Mode: Full}, {Mode: Statistics, Tables: []string{"xt_visits"}}} {
			o.Dir = filepath.Join(t.TempDir(), "out")
			o.Classes = classes(t)
			o.Actor = actor
			_, err := Run(context.Background(), d, o)
			if err == nil || !strings.Contains(err.Error(), "xt_visits.sneaky") {
				t.Errorf("%s export with an unclassified column: %v", o.Mode, err)
			}
			if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
				t.Errorf("a refused export left %s behind", o.Dir)
			}
		}
		// Other tables can still be exported.
		run(t, d, Options{Mode: Full, Tables: []string{"xt_people"}})
		// A table the classification does not know at all is unclassified too.
		dbtest.Exec(t, d, `ALTER TABLE xt_visits DROP COLUMN sneaky`, `CREATE TABLE xt_stray (x TEXT)`)
		o := Options{Mode: Statistics, Dir: filepath.Join(t.TempDir(), "out"), Classes: classes(t), Actor: actor}
		if _, err := Run(context.Background(), d, o); err == nil || !strings.Contains(err.Error(), "xt_stray.x") {
			t.Errorf("export with an unclassified table: %v", err)
		}
	})
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	d := dbtest.SQLite(t)
	c := classes(t)
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "old.jsonl"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"no key":               {Mode: Pseudonymised},
		"short key":            {Mode: Pseudonymised, Key: []byte("short")},
		"key outside pseudo":   {Mode: Full, Key: key},
		"special in stats":     {Mode: Statistics, IncludeSpecial: true},
		"unknown mode":         {Mode: "everything"},
		"non-empty directory":  {Mode: Full, Dir: full},
		"no classification":    {Mode: Full, Classes: map[string]db.Column{}},
		"no actor for the log": {Mode: Full, Actor: audit.Actor{}},
	} {
		if o.Dir == "" {
			o.Dir = filepath.Join(t.TempDir(), "out")
		}
		if o.Classes == nil {
			o.Classes = c
		}
		if name != "no actor for the log" {
			o.Actor = actor
		}
		if _, err := Run(context.Background(), d, o); err == nil {
			t.Errorf("%s: export ran", name)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(full, "old.jsonl")); string(b) != "{}\n" {
		t.Error("a refused export touched an existing directory")
	}
}

// checkManifest compares the manifest with the files: hashes, row counts,
// and the manifest's own copy on disk.
func checkManifest(t *testing.T, dir string, m *Manifest) {
	t.Helper()
	for name, tb := range m.Tables {
		b, err := os.ReadFile(filepath.Join(dir, tb.File))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != tb.SHA256 {
			t.Errorf("%s: manifest SHA-256 %s does not match the file", name, tb.SHA256)
		}
		if n := int64(bytes.Count(b, []byte("\n"))); n != tb.Rows {
			t.Errorf("%s: %d lines, manifest says %d", name, n, tb.Rows)
		}
		if tb.File != name+".jsonl" {
			t.Errorf("%s: file %s", name, tb.File)
		}
	}
	onDisk, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.ID != m.ID || onDisk.Mode != m.Mode || len(onDisk.Tables) != len(m.Tables) || len(onDisk.Rules) == 0 {
		t.Errorf("manifest on disk %+v differs from %+v", onDisk, m)
	}
	// Tampering is caught.
	f := filepath.Join(dir, "xt_people.jsonl")
	b, _ := os.ReadFile(f)
	if err := os.WriteFile(f, append(b, "{}\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(dir); err == nil {
		t.Error("Verify accepted a changed file")
	}
	os.WriteFile(f, b, 0o600) //nolint:errcheck
}

// checkAudit finds the export's audit record and checks the chain.
func checkAudit(t *testing.T, d *db.DB, m *Manifest, action string) {
	t.Helper()
	var actorID, detail, got string
	err := d.QueryRow(`SELECT actor_id, action, detail FROM audit_log WHERE object_type = 'export' AND object_id = $1`, m.ID).Scan(&actorID, &got, &detail)
	if err != nil {
		t.Fatalf("no audit record for export %s: %v", m.ID, err)
	}
	if actorID != actor.ID || got != action || !strings.Contains(detail, "mode="+string(m.Mode)) ||
		!strings.Contains(detail, fmt.Sprintf("xt_people:%d", m.Tables["xt_people"].Rows)) {
		t.Errorf("audit record: %s %s %q", actorID, got, detail)
	}
	res, err := audit.Verify(context.Background(), d)
	if err != nil || !res.OK() {
		t.Errorf("audit chain after export: %+v %v", res, err)
	}
}

// TestStreaming exports 20 000 rows of 2 KB each (40 MB) and checks, at
// the last row, that the file on disk already holds nearly all of them and
// that the heap holds far less than the table.
func TestStreaming(t *testing.T) {
	// Not parallel: it measures the heap.
	const n, size = 20_000, 2048
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		payload := strings.Repeat("x", size-6)
		err := d.Transact(context.Background(), func(tx *db.Tx) error {
			for i := 0; i < n; i += 100 {
				var sb strings.Builder
				args := []any{}
				sb.WriteString("INSERT INTO xt_bulk (id, payload) VALUES ")
				for j := i; j < i+100; j++ {
					if j > i {
						sb.WriteString(",")
					}
					fmt.Fprintf(&sb, "($%d, $%d)", len(args)+1, len(args)+2)
					args = append(args, j, fmt.Sprintf("%06d", j)+payload)
				}
				if _, err := tx.Tx.ExecContext(context.Background(), sb.String(), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "out")
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		var peak uint64
		var onDisk int64
		o := Options{Mode: Full, Tables: []string{"xt_bulk"}, Dir: dir, Classes: classes(t), Actor: actor}
		o.afterRow = func(table string, rows int64) {
			if rows%5000 != 0 {
				return
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			if rows == n {
				if fi, err := os.Stat(filepath.Join(dir, "xt_bulk.jsonl")); err == nil {
					onDisk = fi.Size()
				}
			}
		}
		m, err := Run(context.Background(), d, o)
		if err != nil {
			t.Fatal(err)
		}
		if m.Tables["xt_bulk"].Rows != n {
			t.Fatalf("rows = %d", m.Tables["xt_bulk"].Rows)
		}
		total := int64(n * size)
		if onDisk < total*9/10 {
			t.Errorf("at the last row %d bytes were on disk of %d: rows are not written as they are read", onDisk, total)
		}
		if grew := int64(peak) - int64(base); grew > total/4 {
			t.Errorf("heap grew by %d bytes while exporting %d: rows are held in memory", grew, total)
		}
		t.Logf("%s: heap grew %d KB exporting %d KB", d.Dialect, (int64(peak)-int64(base))/1024, total/1024)
		if _, err := Verify(dir); err != nil {
			t.Fatal(err)
		}
	})
}
