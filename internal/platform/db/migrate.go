// SPDX-License-Identifier: AGPL-3.0-or-later

package db

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// Module is one capability's schema: its name (which names its goose
// version table) and its embedded migrations directory.
type Module struct {
	Name string
	FS   fs.FS // the directory holding NNNNN_name.sql files
}

var (
	modulesMu sync.Mutex
	modules   []Module
)

// Register adds a capability's migrations; capabilities call it from an
// init function so that every binary and test sees the full schema.
// Modules migrate in registration order, which follows the import graph
// (a package's dependencies register first).
func Register(m Module) {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	for _, x := range modules {
		if x.Name == m.Name {
			return
		}
	}
	modules = append(modules, m)
}

// Modules lists the registered schema modules in migration order.
func Modules() []Module {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	return append([]Module(nil), modules...)
}

// Migrate brings every registered module up to date. Each module keeps its
// own version table, so capabilities evolve independently.
func (db *DB) Migrate(ctx context.Context) error {
	for _, m := range Modules() {
		if err := db.migrateModule(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) migrateModule(ctx context.Context, m Module) error {
	d := database.DialectSQLite3
	if db.Dialect == Postgres {
		d = database.DialectPostgres
	}
	store, err := database.NewStore(d, "schema_"+m.Name)
	if err != nil {
		return fmt.Errorf("db: migration store %s: %w", m.Name, err)
	}
	p, err := goose.NewProvider(goose.DialectCustom, db.DB, m.FS, goose.WithStore(store))
	if err != nil {
		return fmt.Errorf("db: migrations %s: %w", m.Name, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("db: migrate %s: %w", m.Name, err)
	}
	return nil
}

// Sensitivity classes, from least to most protected. Audit, exports and
// pseudonymisation decide what to do with a column by its class.
const (
	ClassPublic          = "public"           // no personal data (reference data, ids of places)
	ClassInternal        = "internal"         // operational data, no person can be identified
	ClassPersonal        = "personal"         // identifies or describes a person
	ClassSpecialCategory = "special-category" // health, religion, ethnicity, criminal offences (GDPR art. 9/10)
	ClassSecurity        = "security"         // secrets and security intelligence
)

var validClass = map[string]bool{ClassPublic: true, ClassInternal: true, ClassPersonal: true, ClassSpecialCategory: true, ClassSecurity: true}

var (
	createRe   = regexp.MustCompile(`(?i)^\s*CREATE TABLE\s+(IF NOT EXISTS\s+)?([a-z_][a-z0-9_]*)\s*\(`)
	alterAddRe = regexp.MustCompile(`(?i)^\s*ALTER TABLE\s+([a-z_][a-z0-9_]*)\s+ADD COLUMN\s+([a-z_][a-z0-9_]*)`)
	columnRe   = regexp.MustCompile(`(?i)^\s*([a-z_][a-z0-9_]*)\s+[a-z]`)
	classRe    = regexp.MustCompile(`--\s*@([a-z-]+)`)
	dropRe     = regexp.MustCompile(`(?i)^\s*DROP TABLE\s+(IF EXISTS\s+)?([a-z_][a-z0-9_]*)`)
	renameRe   = regexp.MustCompile(`(?i)^\s*ALTER TABLE\s+([a-z_][a-z0-9_]*)\s+RENAME TO\s+([a-z_][a-z0-9_]*)`)
	dropColRe  = regexp.MustCompile(`(?i)^\s*ALTER TABLE\s+([a-z_][a-z0-9_]*)\s+DROP COLUMN\s+([a-z_][a-z0-9_]*)`)
	constraint = map[string]bool{"primary": true, "unique": true, "foreign": true, "check": true, "constraint": true}
)

// Column is one column of the schema with its declared sensitivity.
type Column struct {
	Table, Column, Class string
	Where                string // file:line of the declaration
}

// Classification reads every registered module's migrations and returns the
// declared class of each column ("table.column" → class). Every column line
// in a CREATE TABLE or ALTER TABLE … ADD COLUMN must end with a comment
// "-- @class"; a missing or unknown class is an error naming the place.
func Classification() (map[string]Column, error) {
	out := map[string]Column{}
	var problems []string
	for _, m := range Modules() {
		names, err := fs.Glob(m.FS, "*.sql")
		if err != nil {
			return nil, err
		}
		sort.Strings(names)
		for _, name := range names {
			f, err := m.FS.Open(name)
			if err != nil {
				return nil, err
			}
			sc := bufio.NewScanner(f)
			table := ""
			down := false
			for line := 1; sc.Scan(); line++ {
				text := sc.Text()
				where := fmt.Sprintf("%s/%s:%d", m.Name, name, line)
				if strings.Contains(text, "+goose Down") {
					down = true
				}
				if strings.Contains(text, "+goose Up") {
					down = false
				}
				if down {
					continue
				}
				// Later migrations reshape tables: follow drops and renames
				// so that the result is the schema as migrated.
				if mm := dropRe.FindStringSubmatch(text); mm != nil {
					forget(out, strings.ToLower(mm[2]))
					continue
				}
				if mm := renameRe.FindStringSubmatch(text); mm != nil {
					from, to := strings.ToLower(mm[1]), strings.ToLower(mm[2])
					for k, c := range out {
						if c.Table == from {
							delete(out, k)
							c.Table = to
							out[to+"."+c.Column] = c
						}
					}
					continue
				}
				if mm := dropColRe.FindStringSubmatch(text); mm != nil {
					delete(out, strings.ToLower(mm[1]+"."+mm[2]))
					continue
				}
				if mm := createRe.FindStringSubmatch(text); mm != nil {
					table = strings.ToLower(mm[2])
					forget(out, table)
					continue
				}
				if mm := alterAddRe.FindStringSubmatch(text); mm != nil {
					cls := classRe.FindStringSubmatch(text)
					if cls == nil || !validClass[cls[1]] {
						problems = append(problems, where+": column "+mm[1]+"."+mm[2]+" has no valid -- @class")
						continue
					}
					out[strings.ToLower(mm[1]+"."+mm[2])] = Column{Table: strings.ToLower(mm[1]), Column: strings.ToLower(mm[2]), Class: cls[1], Where: where}
					continue
				}
				if table == "" {
					continue
				}
				trimmed := strings.TrimSpace(text)
				if strings.HasPrefix(trimmed, ")") {
					table = ""
					continue
				}
				mm := columnRe.FindStringSubmatch(text)
				if mm == nil || constraint[strings.ToLower(mm[1])] {
					continue
				}
				cls := classRe.FindStringSubmatch(text)
				if cls == nil || !validClass[cls[1]] {
					problems = append(problems, where+": column "+table+"."+mm[1]+" has no valid -- @class")
					continue
				}
				out[table+"."+strings.ToLower(mm[1])] = Column{Table: table, Column: strings.ToLower(mm[1]), Class: cls[1], Where: where}
			}
			f.Close()
		}
	}
	if len(problems) > 0 {
		return out, fmt.Errorf("db: columns without a sensitivity class:\n%s", strings.Join(problems, "\n"))
	}
	return out, nil
}

func forget(cols map[string]Column, table string) {
	for k, c := range cols {
		if c.Table == table {
			delete(cols, k)
		}
	}
}

// LiveColumns lists the columns that exist in the migrated database, as
// "table.column", tables in name order and each table's columns in
// declaration order, excluding the migration bookkeeping tables.
func (db *DB) LiveColumns(ctx context.Context) ([]string, error) {
	var q string
	if db.Dialect == Postgres {
		q = `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`
	} else {
		q = `SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if strings.HasPrefix(s, "schema_") {
			continue
		}
		out = append(out, strings.ToLower(s))
	}
	return out, rows.Err()
}
