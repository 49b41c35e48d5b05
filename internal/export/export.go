// SPDX-License-Identifier: AGPL-3.0-or-later

// Package export writes the database as one JSON Lines file per table with
// a manifest, in one of three forms chosen by each column's declared
// sensitivity class (see db.Classification):
//
//   - full: every column except those of class security, which are never
//     exported (password and token hashes, lockout state);
//   - pseudonymised, for research and statistics hand-outs: public and
//     internal columns as they are; personal columns replaced by a keyed
//     pseudonym, dates and times among them generalised to year-month;
//     special-category columns withheld unless asked for (then treated
//     like personal ones); security columns withheld;
//   - statistics: public and internal columns only.
//
// A column in the database that the classification does not know is an
// error: nothing unclassified is ever exported. Each table is read in its
// own read-only transaction and streamed to its file row by row; the export
// is audited when it has finished.
package export

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
)

// Mode is the form of an export.
type Mode string

// The export modes.
const (
	Full          Mode = "full"
	Pseudonymised Mode = "pseudonymised"
	Statistics    Mode = "statistics"
)

// Modes lists the modes, for help texts.
var Modes = []Mode{Full, Pseudonymised, Statistics}

// MinKeyBytes is the shortest pseudonymisation key accepted.
const MinKeyBytes = 32

// PseudonymHexLen is the length of a pseudonym: the first 64 bits of the
// HMAC-SHA-256, in hex.
const PseudonymHexLen = 16

// Format names the layout of an export directory.
const Format = "custodia-export/1"

// ManifestName is the manifest's file name in the export directory.
const ManifestName = "manifest.json"

// Options says what to export and how.
type Options struct {
	Mode Mode
	// Classes is the sensitivity class of every column ("table.column"),
	// as db.Classification returns it for the registered modules. The
	// exported tables are the tables it names.
	Classes map[string]db.Column
	// Dir is the directory to write; it is created if missing and must be
	// empty, so that files of two exports are never mixed.
	Dir string
	// Key is the pseudonymisation key (pseudonymised mode only, at least
	// MinKeyBytes). The same key gives the same pseudonyms in every export.
	Key []byte
	// Tables limits the export to these tables; empty exports every table
	// the classification knows.
	Tables []string
	// IncludeSpecial exports special-category columns, pseudonymised like
	// personal ones (pseudonymised mode only).
	IncludeSpecial bool
	// Actor is who the audit log records as having exported.
	Actor audit.Actor

	// afterRow, if set, runs after each row is written (tests).
	afterRow func(table string, rows int64)
}

// Manifest describes an export directory.
type Manifest struct {
	Format         string           `json:"format"`
	ID             string           `json:"id"` // also the audit record's object id
	Mode           Mode             `json:"mode"`
	CreatedAt      string           `json:"created_at"`
	Engine         string           `json:"engine"`
	KeyID          string           `json:"key_id,omitempty"` // identifies the pseudonymisation key without revealing it
	IncludeSpecial bool             `json:"include_special,omitempty"`
	Rules          []string         `json:"rules"`
	Tables         map[string]Table `json:"tables"`
}

// Table is one exported table in the manifest.
type Table struct {
	File     string     `json:"file"`
	Rows     int64      `json:"rows"`
	SHA256   string     `json:"sha256"`
	Columns  []Column   `json:"columns"`            // as they appear in each line, in order
	Withheld []Withheld `json:"withheld,omitempty"` // columns left out, with why
}

// Column is one exported column: its class and what was done to it.
type Column struct {
	Name      string `json:"name"`
	Class     string `json:"class"`
	Treatment string `json:"treatment"` // "as-is" or "pseudonymised"
}

// Withheld is a column left out of the export.
type Withheld struct {
	Name   string `json:"name"`
	Class  string `json:"class"`
	Reason string `json:"reason"`
}

// Treatments of a column.
const (
	AsIs         = "as-is"
	Pseudonymise = "pseudonymised"
)

// Rows is the total number of rows exported.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// rules explains the manifest's treatments to its reader.
func rules(o *Options) []string {
	r := []string{
		"Columns of class security (password and token hashes, lockout state, session secrets) are never exported.",
		"Each table was read in its own read-only transaction; tables are not one consistent snapshot. Row order is the database's.",
		"Each line of TABLE.jsonl is one row: a JSON object whose keys are the exported columns; SQL NULL is null.",
	}
	switch o.Mode {
	case Full:
		r = append(r, "Full export: every other column as stored, including personal and special-category data.")
	case Pseudonymised:
		r = append(r,
			"Public and internal columns are as stored; internal ids carry no identity by themselves and stay unchanged, so rows still join.",
			fmt.Sprintf("Personal values are replaced by a pseudonym: the first %d hex digits of HMAC-SHA-256 under the key named by key_id, of the value as text. "+
				"The same value gives the same pseudonym in every table and in every export with the same key.", PseudonymHexLen),
			"Personal values that are dates or times (YYYY-MM-DD, or RFC 3339) are generalised to year and month (YYYY-MM) instead; empty strings and null stay as they are.")
		if o.IncludeSpecial {
			r = append(r, "Special-category columns were asked for (--include-special) and are pseudonymised like personal ones.")
		} else {
			r = append(r, "Special-category columns (health, offences, security alerts, free text about a person) are withheld.")
		}
	case Statistics:
		r = append(r, "Statistics export: only public and internal columns; personal and special-category columns are withheld.")
	}
	return r
}

// treatment decides what happens to a column of class c: exported as is,
// pseudonymised, or withheld for the returned reason.
func treatment(o *Options, class string) (string, string) {
	switch class {
	case db.ClassSecurity:
		return "", "security columns are never exported"
	case db.ClassPublic, db.ClassInternal:
		return AsIs, ""
	}
	switch o.Mode {
	case Full:
		return AsIs, ""
	case Pseudonymised:
		if class == db.ClassSpecialCategory && !o.IncludeSpecial {
			return "", "special-category columns are withheld from pseudonymised exports unless --include-special is given"
		}
		return Pseudonymise, ""
	default:
		return "", class + " columns are withheld from statistics exports"
	}
}

// Run exports the database to o.Dir and records the export in the audit
// log. On any error the files it wrote are removed again.
func Run(ctx context.Context, d *db.DB, o Options) (*Manifest, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	plan, err := planTables(ctx, d, &o)
	if err != nil {
		return nil, err
	}
	created, err := prepareDir(o.Dir)
	if err != nil {
		return nil, err
	}
	ok := false
	var written []string
	defer func() {
		if ok {
			return
		}
		for _, f := range written {
			os.Remove(f)
		}
		if created {
			os.Remove(o.Dir)
		}
	}()

	m := &Manifest{Format: Format, ID: db.NewID(), Mode: o.Mode, CreatedAt: db.FormatTime(d.Now()), Engine: string(d.Dialect),
		IncludeSpecial: o.IncludeSpecial, Rules: rules(&o), Tables: map[string]Table{}}
	var ps *pseudonymiser
	if o.Mode == Pseudonymised {
		ps = &pseudonymiser{key: o.Key}
		m.KeyID = keyID(o.Key)
	}
	for _, tp := range plan {
		path := filepath.Join(o.Dir, tp.name+".jsonl")
		written = append(written, path)
		t, err := exportTable(ctx, d, &o, ps, tp, path)
		if err != nil {
			return nil, err
		}
		m.Tables[tp.name] = t
	}
	mpath := filepath.Join(o.Dir, ManifestName)
	written = append(written, mpath)
	if err := writeManifest(mpath, m); err != nil {
		return nil, err
	}
	// No export without its audit record: if the record cannot be
	// written, the files go.
	err = d.Transact(ctx, func(tx *db.Tx) error {
		return audit.WriteAs(ctx, tx, o.Actor, audit.Entry{Action: "export." + string(o.Mode), ObjectType: "export", ObjectID: m.ID, Detail: detail(&o, m, plan)})
	})
	if err != nil {
		return nil, fmt.Errorf("export: audit: %w", err)
	}
	ok = true
	return m, nil
}

func (o *Options) check() error {
	if !slices.Contains(Modes, o.Mode) {
		return fmt.Errorf("export: unknown mode %q (say full, pseudonymised or statistics)", o.Mode)
	}
	if o.Dir == "" {
		return errors.New("export: no output directory")
	}
	if len(o.Classes) == 0 {
		return errors.New("export: no column classification (are the modules registered?)")
	}
	if o.Actor.ID == "" {
		return errors.New("export: no actor to record in the audit log")
	}
	if o.Mode == Pseudonymised {
		if len(o.Key) < MinKeyBytes {
			return fmt.Errorf("export: a pseudonymised export needs a key of at least %d bytes (got %d)", MinKeyBytes, len(o.Key))
		}
	} else if len(o.Key) > 0 {
		return fmt.Errorf("export: a key is only used by pseudonymised exports, not %s", o.Mode)
	}
	if o.IncludeSpecial && o.Mode != Pseudonymised {
		return fmt.Errorf("export: including special-category columns applies to pseudonymised exports only (a full export has them, a statistics export never)")
	}
	return nil
}

// tablePlan is one table to export: the columns to read, each with its
// treatment, and those withheld.
type tablePlan struct {
	name     string
	columns  []Column
	withheld []Withheld
}

// planTables checks the database against the classification and decides
// every column's fate. Any live column without a class is an error, as is
// a requested table that the classification or the database lacks.
func planTables(ctx context.Context, d *db.DB, o *Options) ([]tablePlan, error) {
	known := map[string]bool{}
	for _, c := range o.Classes {
		known[c.Table] = true
	}
	want := map[string]bool{}
	for _, t := range o.Tables {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if !known[t] {
			return nil, fmt.Errorf("export: no classified table %q", t)
		}
		want[t] = true
	}
	if len(want) == 0 {
		want = known
	}
	live, err := d.LiveColumns(ctx)
	if err != nil {
		return nil, fmt.Errorf("export: list columns: %w", err)
	}
	var unclassified []string
	byTable := map[string][]string{}
	for _, lc := range live {
		table, _, _ := strings.Cut(lc, ".")
		if len(o.Tables) > 0 && !want[table] {
			continue // only the requested tables need to be classified
		}
		if _, ok := o.Classes[lc]; !ok {
			unclassified = append(unclassified, lc)
			continue
		}
		byTable[table] = append(byTable[table], lc)
	}
	if len(unclassified) > 0 {
		sort.Strings(unclassified)
		return nil, fmt.Errorf("export: the database has columns without a sensitivity class, refusing to export: %s", strings.Join(unclassified, ", "))
	}
	names := make([]string, 0, len(want))
	for t := range want {
		names = append(names, t)
	}
	sort.Strings(names)
	var plan []tablePlan
	for _, t := range names {
		cols := byTable[t]
		if len(cols) == 0 {
			return nil, fmt.Errorf("export: table %s is classified but not in the database (is it migrated?)", t)
		}
		tp := tablePlan{name: t}
		for _, lc := range cols {
			c := o.Classes[lc]
			name := lc[len(t)+1:]
			tr, why := treatment(o, c.Class)
			if tr == "" {
				tp.withheld = append(tp.withheld, Withheld{Name: name, Class: c.Class, Reason: why})
				continue
			}
			tp.columns = append(tp.columns, Column{Name: name, Class: c.Class, Treatment: tr})
		}
		plan = append(plan, tp)
	}
	return plan, nil
}

// prepareDir makes sure dir exists and is empty; it reports whether it
// created it.
func prepareDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("export: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("export: %w", err)
	case len(entries) > 0:
		return false, fmt.Errorf("export: %s is not empty; export into a new or empty directory so that no two exports mix", dir)
	}
	return false, nil
}

// exportTable streams one table to path in a read-only transaction.
func exportTable(ctx context.Context, d *db.DB, o *Options, ps *pseudonymiser, tp tablePlan, path string) (Table, error) {
	t := Table{File: filepath.Base(path), Columns: tp.columns, Withheld: tp.withheld}
	if t.Columns == nil {
		t.Columns = []Column{}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return t, fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 64<<10)
	err = d.ReadOnly(ctx, func(tx *db.Tx) error {
		t.Rows = 0
		return streamRows(ctx, tx, o, ps, tp, w, &t.Rows)
	})
	if err != nil {
		return t, fmt.Errorf("export: table %s: %w", tp.name, err)
	}
	if err := w.Flush(); err != nil {
		return t, fmt.Errorf("export: %w", err)
	}
	if err := f.Sync(); err != nil {
		return t, fmt.Errorf("export: %w", err)
	}
	if err := f.Close(); err != nil {
		return t, fmt.Errorf("export: %w", err)
	}
	t.SHA256 = hex.EncodeToString(h.Sum(nil))
	return t, nil
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

func streamRows(ctx context.Context, tx *db.Tx, o *Options, ps *pseudonymiser, tp tablePlan, w *bufio.Writer, n *int64) error {
	// Keys are encoded once; a table with no exportable column still
	// gives one empty object per row, so its row count is kept.
	keys := make([][]byte, len(tp.columns))
	sel := "1"
	if len(tp.columns) > 0 {
		names := make([]string, len(tp.columns))
		for i, c := range tp.columns {
			names[i] = quote(c.Name)
			k, _ := json.Marshal(c.Name)
			keys[i] = k
		}
		sel = strings.Join(names, ", ")
	}
	// Only the exported columns are read: withheld ones never leave the
	// database. The plain *sql.Tx keeps these one-off queries out of the
	// statement cache.
	rows, err := tx.Tx.QueryContext(ctx, "SELECT "+sel+" FROM "+quote(tp.name))
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, max(len(tp.columns), 1))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var line []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		line = append(line[:0], '{')
		for i, c := range tp.columns {
			if i > 0 {
				line = append(line, ',')
			}
			line = append(line, keys[i]...)
			line = append(line, ':')
			v := plain(vals[i])
			if c.Treatment == Pseudonymise {
				v = ps.value(v)
			}
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.Name, err)
			}
			line = append(line, b...)
		}
		line = append(line, '}', '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
		*n++
		if o.afterRow != nil {
			o.afterRow(tp.name, *n)
		}
	}
	return rows.Err()
}

// plain turns a scanned value into one JSON can carry as it is.
func plain(v any) any {
	switch x := v.(type) {
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return x // base64
	case time.Time:
		return db.FormatTime(x)
	}
	return v
}

// pseudonymiser replaces personal values.
type pseudonymiser struct {
	key []byte
}

// dateRe matches a date, optionally with a time (RFC 3339 or SQL style).
var dateRe = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$`)

// value pseudonymises one value: null and "" stay, dates and times become
// their year-month, anything else its keyed pseudonym as text.
func (p *pseudonymiser) value(v any) any {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	case []byte:
		s = string(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	if s == "" {
		return ""
	}
	if ym, ok := yearMonth(s); ok {
		return ym
	}
	return p.pseudonym(s)
}

// yearMonth generalises a date or time to "YYYY-MM".
func yearMonth(s string) (string, bool) {
	m := dateRe.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	if _, err := time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[3]); err != nil {
		return "", false
	}
	return m[1] + "-" + m[2], true
}

// Pseudonym is the pseudonym of s under key, as exports write it.
func Pseudonym(key []byte, s string) string { return (&pseudonymiser{key: key}).pseudonym(s) }

func (p *pseudonymiser) pseudonym(s string) string {
	mac := hmac.New(sha256.New, p.key)
	io.WriteString(mac, s)
	return hex.EncodeToString(mac.Sum(nil))[:PseudonymHexLen]
}

// keyID names a key without revealing it: two exports with the same key id
// have linkable pseudonyms.
func keyID(key []byte) string {
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, "custodia export key id")
	return hex.EncodeToString(mac.Sum(nil))[:PseudonymHexLen]
}

func writeManifest(path string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("export: manifest: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("export: manifest: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("export: manifest: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("export: manifest: %w", err)
	}
	return f.Close()
}

// detail is the audit record's summary: mode, where, and rows per table.
func detail(o *Options, m *Manifest, plan []tablePlan) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "mode=%s", o.Mode)
	if m.KeyID != "" {
		fmt.Fprintf(&sb, " key_id=%s", m.KeyID)
	}
	if o.IncludeSpecial {
		sb.WriteString(" include_special=1")
	}
	if abs, err := filepath.Abs(o.Dir); err == nil {
		fmt.Fprintf(&sb, " out=%s", abs)
	}
	sb.WriteString(" tables=")
	for i, tp := range plan {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, "%s:%d", tp.name, m.Tables[tp.name].Rows)
	}
	return sb.String()
}

// Verify checks an export directory against its manifest: every file's
// SHA-256 and line count. It returns the manifest.
func Verify(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("export: manifest: %w", err)
	}
	for name, t := range m.Tables {
		f, err := os.Open(filepath.Join(dir, t.File))
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		lines := int64(0)
		r := bufio.NewReader(io.TeeReader(f, h))
		for {
			_, err := r.ReadSlice('\n')
			if err == nil {
				lines++
				continue
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				break
			}
			f.Close()
			return nil, err
		}
		f.Close()
		if got := hex.EncodeToString(h.Sum(nil)); got != t.SHA256 {
			return nil, fmt.Errorf("export: %s: SHA-256 %s, manifest says %s", t.File, got, t.SHA256)
		}
		if lines != t.Rows {
			return nil, fmt.Errorf("export: %s (%s): %d lines, manifest says %d rows", t.File, name, lines, t.Rows)
		}
	}
	return &m, nil
}
