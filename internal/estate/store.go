// SPDX-License-Identifier: AGPL-3.0-or-later

package estate

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	sub, _ := fs.Sub(migrations, "migrations")
	db.Register(db.Module{Name: "estate", FS: sub})
}

const locationCols = `id, kind, COALESCE(parent_id, ''), code, name, category, security_level, gender, region, address, lat, lon, version`

func scanLocation(sc interface{ Scan(...any) error }) (Location, error) {
	var l Location
	var lat, lon sql.NullFloat64
	err := sc.Scan(&l.ID, &l.Kind, &l.ParentID, &l.Code, &l.Name, &l.Category, &l.SecurityLevel, &l.Gender, &l.Region, &l.Address, &lat, &lon, &l.Version)
	if lat.Valid && lon.Valid {
		l.Lat, l.Lon = &lat.Float64, &lon.Float64
	}
	return l, err
}

func insertLocation(ctx context.Context, tx *db.Tx, l *Location) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO locations (id, kind, parent_id, code, name, category, security_level, gender, region, address, lat, lon, version, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,1,$13,$13)`,
		l.ID, string(l.Kind), db.NullString(l.ParentID), l.Code, l.Name, l.Category, l.SecurityLevel, l.Gender, l.Region, l.Address, l.Lat, l.Lon, tx.NowText())
	if err != nil {
		return fmt.Errorf("estate: insert location: %w", err)
	}
	return nil
}

func getLocation(ctx context.Context, tx *db.Tx, id string) (*Location, error) {
	l, err := scanLocation(tx.QueryRowContext(ctx, `SELECT `+locationCols+` FROM locations WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "No such location.")
	}
	if err != nil {
		return nil, fmt.Errorf("estate: location: %w", err)
	}
	return &l, nil
}

const cellCols = `id, unit_id, label, capacity, occupied, security_level, gender, accessible, smoking, note, version`

func scanCell(sc interface{ Scan(...any) error }) (Cell, error) {
	var c Cell
	var acc, smoke int
	err := sc.Scan(&c.ID, &c.UnitID, &c.Label, &c.Capacity, &c.Occupied, &c.SecurityLevel, &c.Gender, &acc, &smoke, &c.Note, &c.Version)
	c.Accessible, c.Smoking = acc != 0, smoke != 0
	return c, err
}

func insertCell(ctx context.Context, tx *db.Tx, c *Cell) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO cells (id, unit_id, label, capacity, occupied, security_level, gender, accessible, smoking, note, version, created_at, updated_at)
		VALUES ($1,$2,$3,$4,0,$5,$6,$7,$8,$9,1,$10,$10)`,
		c.ID, c.UnitID, c.Label, c.Capacity, c.SecurityLevel, c.Gender, db.Bool(c.Accessible), db.Bool(c.Smoking), c.Note, tx.NowText())
	if err != nil {
		return fmt.Errorf("estate: insert cell: %w", err)
	}
	return nil
}

func getCell(ctx context.Context, tx *db.Tx, id string) (*Cell, error) {
	c, err := scanCell(tx.QueryRowContext(ctx, `SELECT `+cellCols+` FROM cells WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "No such cell.")
	}
	if err != nil {
		return nil, fmt.Errorf("estate: cell: %w", err)
	}
	cl, err := closures(ctx, tx, ofCell, id)
	if err != nil {
		return nil, err
	}
	c.attach(cl[id], tx)
	return &c, nil
}

func (c *Cell) attach(cl []Closure, tx *db.Tx) {
	c.Closures = nil
	for i := range cl {
		if cl[i].Until != nil && !cl[i].Until.After(tx.Now) {
			continue // past periods are history, not shown
		}
		c.Closures = append(c.Closures, cl[i])
		if cl[i].Covers(tx.Now) {
			c.OutOfUse = &cl[i]
		}
	}
}

// updateLocation writes n's descriptive fields to location id if it is at
// version; false when it is not.
func updateLocation(ctx context.Context, tx *db.Tx, id string, version int, n NewLocation) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE locations SET name=$1, category=$2, security_level=$3, gender=$4, region=$5, address=$6, lat=$7, lon=$8,
		version = version + 1, updated_at = $9 WHERE id = $10 AND version = $11`,
		n.Name, n.Category, n.SecurityLevel, n.Gender, n.Region, n.Address, n.Lat, n.Lon, tx.NowText(), id, version)
	if err != nil {
		return false, fmt.Errorf("estate: update location: %w", err)
	}
	k, _ := res.RowsAffected()
	return k == 1, nil
}

// updateCell writes n to cell id if it is at version and holds no more
// people than n's capacity; false when not.
func updateCell(ctx context.Context, tx *db.Tx, id string, version int, n NewCell) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE cells SET label=$1, capacity=$2, security_level=$3, gender=$4, accessible=$5, smoking=$6, note=$7,
		version = version + 1, updated_at = $8 WHERE id = $9 AND version = $10 AND occupied <= $2`,
		n.Label, n.Capacity, n.SecurityLevel, n.Gender, db.Bool(n.Accessible), db.Bool(n.Smoking), n.Note, tx.NowText(), id, version)
	if err != nil {
		return false, fmt.Errorf("estate: update cell: %w", err)
	}
	k, _ := res.RowsAffected()
	return k == 1, nil
}

// touchCell bumps the cell's version, which locks its row for the rest of
// the transaction; with empty only if no one is in it (false otherwise).
func touchCell(ctx context.Context, tx *db.Tx, id string, empty bool) (bool, error) {
	q := `UPDATE cells SET version = version + 1, updated_at = $1 WHERE id = $2`
	if empty {
		q += ` AND occupied = 0`
	}
	res, err := tx.ExecContext(ctx, q, tx.NowText(), id)
	if err != nil {
		return false, fmt.Errorf("estate: touch cell: %w", err)
	}
	k, _ := res.RowsAffected()
	return k == 1, nil
}

func insertClosure(ctx context.Context, tx *db.Tx, cl *Closure, by string) error {
	var until any
	if cl.Until != nil {
		until = db.FormatTime(*cl.Until)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cell_closures (id, cell_id, from_at, until_at, reason, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		cl.ID, cl.CellID, db.FormatTime(cl.From), until, cl.Reason, by, tx.NowText()); err != nil {
		return fmt.Errorf("estate: close cell: %w", err)
	}
	return nil
}

// getClosure returns one out-of-use period, ended or not, or NotFound.
func getClosure(ctx context.Context, tx *db.Tx, id string) (Closure, error) {
	cl := Closure{ID: id}
	var from string
	var until sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT cell_id, from_at, until_at, reason FROM cell_closures WHERE id = $1`, id).Scan(&cl.CellID, &from, &until, &cl.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return cl, apperr.New(apperr.NotFound, "No such out-of-use period.")
	}
	if err != nil {
		return cl, fmt.Errorf("estate: closure: %w", err)
	}
	cl.From = db.MustTime(from)
	if until.Valid {
		u := db.MustTime(until.String)
		cl.Until = &u
	}
	return cl, nil
}

// endClosure ends cl now, or deletes it if it has not started.
func endClosure(ctx context.Context, tx *db.Tx, cl Closure) error {
	var err error
	if cl.From.After(tx.Now) {
		_, err = tx.ExecContext(ctx, `DELETE FROM cell_closures WHERE id = $1`, cl.ID)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE cell_closures SET until_at = $1 WHERE id = $2 AND (until_at IS NULL OR until_at > $1)`, tx.NowText(), cl.ID)
	}
	if err != nil {
		return fmt.Errorf("estate: reopen: %w", err)
	}
	return nil
}

// Which cells' closures to read: one cell, or the cells of a unit or of
// every unit of an institution ($2 is the id).
const (
	ofCell     = `AND cell_id = $2`
	ofLocation = `AND cell_id IN (SELECT id FROM cells WHERE unit_id = $2 OR unit_id IN (SELECT id FROM locations WHERE parent_id = $2))`
)

// closures returns the current and planned closures, by cell: of the cells
// which (ofCell or ofLocation) picks with id, or of every cell when which
// is "".
func closures(ctx context.Context, tx *db.Tx, which, id string) (map[string][]Closure, error) {
	q := `SELECT id, cell_id, from_at, until_at, reason FROM cell_closures WHERE (until_at IS NULL OR until_at > $1) ` + which
	args := []any{tx.NowText()}
	if which != "" {
		args = append(args, id)
	}
	rows, err := tx.QueryContext(ctx, q+` ORDER BY from_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("estate: closures: %w", err)
	}
	defer rows.Close()
	out := map[string][]Closure{}
	for rows.Next() {
		var c Closure
		var from string
		var until sql.NullString
		if err := rows.Scan(&c.ID, &c.CellID, &from, &until, &c.Reason); err != nil {
			return nil, err
		}
		c.From = db.MustTime(from)
		if until.Valid {
			u := db.MustTime(until.String)
			c.Until = &u
		}
		out[c.CellID] = append(out[c.CellID], c)
	}
	return out, rows.Err()
}

func params(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "$%d", first+i)
	}
	return b.String()
}

// listCells returns the cells of a unit, or of all units of an institution.
func listCells(ctx context.Context, tx *db.Tx, locationID string) ([]Cell, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+cellCols+` FROM cells WHERE unit_id = $1 OR unit_id IN (SELECT id FROM locations WHERE parent_id = $1)`, locationID)
	if err != nil {
		return nil, fmt.Errorf("estate: cells: %w", err)
	}
	var out []Cell
	for rows.Next() {
		c, err := scanCell(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	cl, err := closures(ctx, tx, ofLocation, locationID)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].attach(cl[out[i].ID], tx)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].UnitID != out[j].UnitID {
			return out[i].UnitID < out[j].UnitID
		}
		return naturalLess(out[i].Label, out[j].Label)
	})
	return out, nil
}

// naturalLess orders "2" before "10" and "A2" before "A10".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db_ := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db_ != "" {
			if len(strings.TrimLeft(da, "0")) != len(strings.TrimLeft(db_, "0")) {
				return len(strings.TrimLeft(da, "0")) < len(strings.TrimLeft(db_, "0"))
			}
			if da != db_ {
				return strings.TrimLeft(da, "0") < strings.TrimLeft(db_, "0")
			}
			a, b = a[len(da):], b[len(db_):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// tree builds the institution → unit tree with bed counts: of the whole
// estate when root is "", else only as much as root's own counts need (an
// institution or office with its units; a unit, under its institution
// whose counts then cover that unit alone).
func tree(ctx context.Context, tx *db.Tx, root string) ([]Location, error) {
	locQ, cellQ, which := `SELECT `+locationCols+` FROM locations`, `SELECT id, unit_id, capacity, occupied FROM cells`, ""
	var args []any
	if root != "" {
		locQ += ` WHERE id = $1 OR parent_id = $1 OR id IN (SELECT parent_id FROM locations WHERE id = $1)`
		cellQ += ` WHERE unit_id = $1 OR unit_id IN (SELECT id FROM locations WHERE parent_id = $1)`
		which, args = ofLocation, []any{root}
	}
	rows, err := tx.QueryContext(ctx, locQ+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("estate: locations: %w", err)
	}
	var all []Location
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	type count struct{ cells, capacity, occupied, closed int }
	counts := map[string]*count{}
	crows, err := tx.QueryContext(ctx, cellQ, args...)
	if err != nil {
		return nil, fmt.Errorf("estate: cell counts: %w", err)
	}
	type cellRow struct {
		id, unit     string
		cap, occupan int
	}
	var cells []cellRow
	for crows.Next() {
		var c cellRow
		if err := crows.Scan(&c.id, &c.unit, &c.cap, &c.occupan); err != nil {
			crows.Close()
			return nil, err
		}
		cells = append(cells, c)
	}
	crows.Close()
	if err := crows.Err(); err != nil {
		return nil, err
	}
	cl, err := closures(ctx, tx, which, root)
	if err != nil {
		return nil, err
	}
	for _, c := range cells {
		k := counts[c.unit]
		if k == nil {
			k = &count{}
			counts[c.unit] = k
		}
		k.cells++
		k.capacity += c.cap
		k.occupied += c.occupan
		for _, x := range cl[c.id] {
			if x.Covers(tx.Now) {
				k.closed += c.cap - c.occupan
				break
			}
		}
	}
	units := map[string][]Location{}
	var top []Location
	for _, l := range all {
		if l.Kind == Unit {
			if k := counts[l.ID]; k != nil {
				l.Cells, l.Capacity, l.Occupied, l.OutOfUse = k.cells, k.capacity, k.occupied, k.closed
			}
			l.Available = l.Capacity - l.Occupied - l.OutOfUse
			units[l.ParentID] = append(units[l.ParentID], l)
		} else {
			top = append(top, l)
		}
	}
	for i := range top {
		us := units[top[i].ID]
		sort.Slice(us, func(a, b int) bool { return naturalLess(us[a].Code, us[b].Code) })
		top[i].Units = us
		for _, u := range us {
			top[i].Cells += u.Cells
			top[i].Capacity += u.Capacity
			top[i].Occupied += u.Occupied
			top[i].OutOfUse += u.OutOfUse
			top[i].Available += u.Available
		}
	}
	sort.SliceStable(top, func(a, b int) bool {
		if (top[a].Kind == Office) != (top[b].Kind == Office) {
			return top[b].Kind == Office
		}
		return top[a].Name < top[b].Name
	})
	return top, nil
}

func lineage(ctx context.Context, tx *db.Tx, id string) ([]string, error) {
	var unit string
	if err := tx.QueryRowContext(ctx, `SELECT unit_id FROM cells WHERE id = $1`, id).Scan(&unit); err == nil {
		rest, err := lineage(ctx, tx, unit)
		return append([]string{id}, rest...), err
	}
	var out []string
	for cur := id; cur != "" && len(out) < 4; {
		var parent sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT parent_id FROM locations WHERE id = $1`, cur).Scan(&parent)
		if errors.Is(err, sql.ErrNoRows) {
			if len(out) == 0 {
				return nil, apperr.New(apperr.NotFound, "No such location.")
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("estate: lineage: %w", err)
		}
		out = append(out, cur)
		cur = parent.String
	}
	return out, nil
}

// Occupy takes one bed in the cell within the caller's transaction. It
// refuses a cell that is full or out of use with a message the user can
// act on. The capacity check is a conditional update, so two concurrent
// admissions to the last bed cannot both succeed on either engine.
func Occupy(ctx context.Context, tx *db.Tx, cellID string) (Cell, error) {
	if cellID == "" {
		return Cell{}, apperr.New(apperr.Invalid, "Choose a cell.")
	}
	res, err := tx.ExecContext(ctx, `UPDATE cells SET occupied = occupied + 1, updated_at = $1 WHERE id = $2 AND occupied < capacity`, tx.NowText(), cellID)
	if err != nil {
		return Cell{}, fmt.Errorf("estate: occupy: %w", err)
	}
	n, _ := res.RowsAffected()
	c, err := getCell(ctx, tx, cellID)
	if err != nil {
		return Cell{}, err
	}
	if n != 1 {
		return Cell{}, apperr.New(apperr.Conflict, "Cell %s is full (%d of %d beds taken).", c.Label, c.Occupied, c.Capacity)
	}
	if c.OutOfUse != nil {
		return Cell{}, apperr.New(apperr.Conflict, "Cell %s is out of use: %s.", c.Label, c.OutOfUse.Reason)
	}
	return *c, nil
}

// Vacate frees one bed in the cell within the caller's transaction.
func Vacate(ctx context.Context, tx *db.Tx, cellID string) error {
	res, err := tx.ExecContext(ctx, `UPDATE cells SET occupied = occupied - 1, updated_at = $1 WHERE id = $2 AND occupied > 0`, tx.NowText(), cellID)
	if err != nil {
		return fmt.Errorf("estate: vacate: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("estate: vacate %s: no one is recorded in the cell", cellID)
	}
	return nil
}

// CellPlace says where a cell is.
func CellPlace(ctx context.Context, tx *db.Tx, cellID string) (Place, error) {
	var p Place
	err := tx.QueryRowContext(ctx, `SELECT c.id, c.label, u.id, u.name, i.id, i.name FROM cells c
		JOIN locations u ON u.id = c.unit_id JOIN locations i ON i.id = u.parent_id WHERE c.id = $1`, cellID).
		Scan(&p.CellID, &p.CellLabel, &p.UnitID, &p.UnitName, &p.InstitutionID, &p.InstitutionName)
	if errors.Is(err, sql.ErrNoRows) {
		return p, apperr.New(apperr.NotFound, "No such cell.")
	}
	if err != nil {
		return p, fmt.Errorf("estate: place: %w", err)
	}
	return p, nil
}

// LocationExists returns the kind of the location ("institution", "unit"
// or "office"), or a NotFound error.
func LocationExists(ctx context.Context, tx *db.Tx, id string) (string, error) {
	var kind string
	err := tx.QueryRowContext(ctx, `SELECT kind FROM locations WHERE id = $1`, id).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apperr.New(apperr.NotFound, "No such location.")
	}
	if err != nil {
		return "", fmt.Errorf("estate: location: %w", err)
	}
	return kind, nil
}

// LocationNames maps location and cell ids to display names (cells by
// their label). Empty and unknown ids are left out.
func LocationNames(ctx context.Context, tx *db.Tx, ids []string) (map[string]string, error) {
	seen := map[string]bool{}
	var want []any
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			want = append(want, id)
		}
	}
	out := make(map[string]string, len(want))
	for lo := 0; lo < len(want); lo += 500 {
		hi := min(lo+500, len(want))
		chunk := want[lo:hi]
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM locations WHERE id IN (`+params(1, len(chunk))+`)
			UNION ALL SELECT id, label FROM cells WHERE id IN (`+params(1, len(chunk))+`)`, chunk...)
		if err != nil {
			return nil, fmt.Errorf("estate: names: %w", err)
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
