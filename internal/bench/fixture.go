// SPDX-License-Identifier: AGPL-3.0-or-later

package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/client/natid"
	"github.com/custodia/custodia/internal/client/search"
	"github.com/custodia/custodia/internal/demo/people"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
)

// Fixture is a database holding a benchmark register, the services under
// test built on it exactly as internal/app builds them (without the event
// bus: events stay in the outbox table, which is where the service writes
// them anyway), and what the harness knows about every client.
type Fixture struct {
	DB      *db.DB
	Audit   *audit.Log
	Clients *client.Service
	Estate  *estate.Service

	// People are the clients the workers read, move and search for,
	// in client-number order.
	People []*Person
	// Cells are all cells of the estate, with the harness's view of their
	// free beds (see reserve).
	Cells []*Cell
	// Reused is set when the register was found already loaded.
	Reused bool
	// LoadTime is how long loading took (0 when reused).
	LoadTime time.Duration

	cellByID  map[string]*Cell
	poolMu    sync.Mutex
	admitPool []int // indexes into People: registered with an active basis
	custody   []int // indexes into People: in custody
}

// Person is the harness's copy of one client's state. mu is held by the
// worker moving the person, so two workers never race on one version.
type Person struct {
	mu         sync.Mutex
	ID         string
	Number     string
	GivenName  string
	FamilyName string
	NationalID string
	Status     client.Status
	CellID     string
	Version    int
	HasBasis   bool // an unended remand or sentence is recorded
}

// Cell is one cell and the free beds the harness believes it has.
type Cell struct {
	ID       string
	Capacity int
	mu       sync.Mutex
	free     int
}

// reserve takes a bed in the harness's books before a move tries to take
// it in the database, as a user picks a cell the UI shows as free. The
// database's conditional update stays the authority: a move refused as
// full is counted, never hidden.
func (c *Cell) reserve() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.free <= 0 {
		return false
	}
	c.free--
	return true
}

func (c *Cell) release() {
	c.mu.Lock()
	c.free++
	c.mu.Unlock()
}

// Open opens (creating if needed) and migrates the database at dsn and
// builds the services on it.
func Open(ctx context.Context, dsn string) (*Fixture, error) {
	d, err := db.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	log := audit.NewLog(d)
	return &Fixture{DB: d, Audit: log, Clients: &client.Service{DB: d, Audit: log}, Estate: &estate.Service{DB: d}}, nil
}

// Close flushes the audit writer and closes the database.
func (f *Fixture) Close() {
	f.Audit.Close()
	f.DB.Close()
}

// Ensure makes sure the register holds at least n clients: an empty
// database is loaded with n generated clients (seed decides who), a
// database already holding n or more is reused as it is, so repeated runs
// against one --db skip the load. Then it reads the state of the first n
// clients (by client number) into f.People.
func (f *Fixture) Ensure(ctx context.Context, n int, seed int64, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	var have int
	if err := f.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM clients WHERE merged_into IS NULL`).Scan(&have); err != nil {
		return fmt.Errorf("bench: count clients: %w", err)
	}
	switch {
	case have == 0:
		start := time.Now()
		if err := f.load(ctx, n, seed, progress); err != nil {
			return err
		}
		f.LoadTime = time.Since(start)
	case have < n:
		return fmt.Errorf("bench: the database holds %d clients, fewer than the %d asked for; use a fresh database (or ask for %d)", have, n, have)
	default:
		f.Reused = true
		fmt.Fprintf(progress, "reusing the %d clients already in the database\n", have)
	}
	return f.readState(ctx, n)
}

// readState loads what the workers need to know about the first n clients
// and all cells.
func (f *Fixture) readState(ctx context.Context, n int) error {
	rows, err := f.DB.QueryContext(ctx, `SELECT id, number, given_name, family_name, COALESCE(national_id, ''), status, COALESCE(cell_id, ''), version
		FROM clients WHERE merged_into IS NULL ORDER BY number LIMIT $1`, n)
	if err != nil {
		return fmt.Errorf("bench: read clients: %w", err)
	}
	f.People = f.People[:0]
	byID := make(map[string]*Person, n)
	for rows.Next() {
		p := &Person{}
		if err := rows.Scan(&p.ID, &p.Number, &p.GivenName, &p.FamilyName, &p.NationalID, &p.Status, &p.CellID, &p.Version); err != nil {
			rows.Close()
			return err
		}
		f.People = append(f.People, p)
		byID[p.ID] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = f.DB.QueryContext(ctx, `SELECT DISTINCT client_id FROM legal_bases WHERE ended_at IS NULL AND kind IN ('remand', 'sentence')`)
	if err != nil {
		return fmt.Errorf("bench: read legal bases: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		if p := byID[id]; p != nil {
			p.HasBasis = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = f.DB.QueryContext(ctx, `SELECT id, capacity, occupied FROM cells ORDER BY id`)
	if err != nil {
		return fmt.Errorf("bench: read cells: %w", err)
	}
	f.Cells = f.Cells[:0]
	f.cellByID = map[string]*Cell{}
	for rows.Next() {
		cell := &Cell{}
		var occ int
		if err := rows.Scan(&cell.ID, &cell.Capacity, &occ); err != nil {
			rows.Close()
			return err
		}
		cell.free = cell.Capacity - occ
		f.Cells = append(f.Cells, cell)
		f.cellByID[cell.ID] = cell
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	f.admitPool, f.custody = f.admitPool[:0], f.custody[:0]
	for i, p := range f.People {
		switch {
		case p.Status == client.InCustody && p.CellID != "":
			f.custody = append(f.custody, i)
		case p.HasBasis && (p.Status == client.Registered || p.Status == client.Released || p.Status == client.InCommunity):
			f.admitPool = append(f.admitPool, i)
		}
	}
	return nil
}

// Estate shape: each institution has unitsPerInst units of cellsPerUnit
// cells; cell capacities follow capacityPattern (mostly single cells, some
// doubles, a few four-bed rooms — 1.6 beds per cell on average).
const (
	unitsPerInst = 12
	cellsPerUnit = 60
	loadBatch    = 5000 // clients per loading transaction
)

var capacityPattern = []int{1, 1, 1, 1, 1, 1, 2, 2, 2, 4}

// Shares of the loaded register (percent): in custody, registered with a
// legal basis but not yet admitted (the admission candidates), and the
// rest registered only.
const (
	pctCustody   = 50
	pctCandidate = 30
)

// load fills an empty database with an estate of at least n beds and n
// clients.
//
// It is a benchmark fixture, not an application path. Institutions and
// units are created through estate.Service (a few hundred audited
// transactions). Cells and clients are written with plain multi-row SQL
// inserts in one transaction per loadBatch clients, because registering
// 100 000 people through client.Service.Register — one fsync'd transaction
// each — would take many minutes, and the client package (owned
// elsewhere) has no batch API. The inserts follow the schemas in
// internal/client/migrations/00001_client.sql and
// internal/estate/migrations/00001_estate.sql: clients, aliases, legal
// bases, stays, admission movements and timeline lines as Register,
// AddLegalBasis and MoveClient would leave them, client numbers taken from
// the same counter in the same K-%07d form, and the search index written
// through search.BulkIndex with the documents the client package indexes
// (names, aliases, client number, national ID). What the loader does NOT
// write: audit records and outbox events of the loading itself, so the
// audit chain starts with the benchmark's own reads and writes.
func (f *Fixture) load(ctx context.Context, n int, seed int64, progress io.Writer) error {
	ctx = audit.WithActor(ctx, audit.System)
	r := rand.New(rand.NewPCG(uint64(seed), 0xbe4c))
	beds := 0
	for _, c := range capacityPattern {
		beds += c
	}
	bedsPerInst := beds * cellsPerUnit * unitsPerInst / len(capacityPattern)
	nInst := max(1, (n+bedsPerInst-1)/bedsPerInst)
	fmt.Fprintf(progress, "creating the estate: %d institutions × %d units × %d cells\n", nInst, unitsPerInst, cellsPerUnit)

	type unit struct{ inst, id, name, instName string }
	var units []unit
	var insts []string
	for i := range nInst {
		country := []string{"SE", "NO", "DK"}[i%3]
		inst, err := f.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Institution, Code: fmt.Sprintf("B%s%03d", country, i+1),
			Name: fmt.Sprintf("Anstalt %s %d", country, i+1), Category: estate.Categories[i%len(estate.Categories)], SecurityLevel: 1 + i%3, Region: country})
		if err != nil {
			return fmt.Errorf("bench: institution: %w", err)
		}
		insts = append(insts, inst.ID)
		for u := range unitsPerInst {
			un, err := f.Estate.CreateLocation(ctx, estate.NewLocation{Kind: estate.Unit, ParentID: inst.ID, Code: fmt.Sprintf("B%s%03d-%02d", country, i+1, u+1),
				Name: fmt.Sprintf("Avdelning %c", 'A'+u), SecurityLevel: 1 + i%3})
			if err != nil {
				return fmt.Errorf("bench: unit: %w", err)
			}
			units = append(units, unit{inst.ID, un.ID, un.Name, inst.Name})
		}
	}

	// Cells, and one bed slot per bed for the initial placements.
	type slot struct {
		cell, label, unit, inst, unitName, instName string
	}
	var slots []slot
	cellRows := make([][]any, 0, len(units)*cellsPerUnit)
	err := f.DB.Transact(ctx, func(tx *db.Tx) error {
		cellRows = cellRows[:0]
		slots = slots[:0]
		for ui, u := range units {
			for c := range cellsPerUnit {
				id := db.NewID()
				capacity := capacityPattern[c%len(capacityPattern)]
				label := strconv.Itoa(100*(1+c/20) + c%20 + 1)
				cellRows = append(cellRows, []any{id, u.id, label, capacity, 1 + ui%3, tx.NowText(), tx.NowText()})
				for range capacity {
					slots = append(slots, slot{id, label, u.id, u.inst, u.name, u.instName})
				}
			}
		}
		return insertRows(ctx, tx, "cells", []string{"id", "unit_id", "label", "capacity", "security_level", "created_at", "updated_at"}, cellRows)
	})
	if err != nil {
		return fmt.Errorf("bench: cells: %w", err)
	}
	r.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
	fmt.Fprintf(progress, "estate: %d cells, %d beds\n", len(cellRows), len(slots))

	gen := people.New(seed)
	seenID := map[string]bool{}
	nextSlot := 0
	start := time.Now()
	for lo := 0; lo < n; lo += loadBatch {
		hi := min(lo+loadBatch, n)
		err := f.DB.Transact(ctx, func(tx *db.Tx) error {
			var first int64
			if err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + $1 WHERE name = 'client_number' RETURNING value`, hi-lo).Scan(&first); err != nil {
				return fmt.Errorf("client numbers: %w", err)
			}
			first -= int64(hi - lo)
			now := tx.NowText()
			var clients, aliases, bases, stays, moves, history [][]any
			docs := make(map[string]search.Doc, hi-lo)
			batchOcc := map[string]int{}
			for i := lo; i < hi; i++ {
				country := natid.SE
				switch x := r.IntN(100); {
				case x >= 75:
					country = natid.DK
				case x >= 50:
					country = natid.NO
				}
				var p people.Person
				var nid natid.ID
				for {
					p = gen.Person(country)
					var err error
					if nid, err = natid.Parse(country, p.NationalID); err != nil {
						return fmt.Errorf("generated national ID %s: %w", p.NationalID, err)
					}
					if !seenID[string(country)+nid.Number] {
						seenID[string(country)+nid.Number] = true
						break
					}
				}
				id := db.NewID()
				number := fmt.Sprintf("K-%07d", first+int64(i-lo)+1) // the client package's nextNumber format
				home := insts[i%len(insts)]
				status := client.Registered
				var inst, unitID, cell, stay any
				history = append(history, []any{db.NewID(), id, now, "registered", "Registered as " + number, audit.System.ID, audit.System.Name, "", ""})
				x := r.IntN(100)
				if x < pctCustody+pctCandidate {
					b := client.LegalBasis{ID: db.NewID(), Kind: client.BasisSentence, StartDate: "2025-" + fmt.Sprintf("%02d-%02d", 1+r.IntN(12), 1+r.IntN(28)),
						LengthDays: 30 * (1 + r.IntN(48)), Offences: []string{"Grov stöld", "Narkotikabrott", "Misshandel", "Rån", "Bedrägeri", "Olaga hot"}[r.IntN(6)]}
					summary := fmt.Sprintf("Sentenced to %d days from %s (%s)", b.LengthDays, b.StartDate, b.Offences)
					if r.IntN(10) < 3 {
						b.Kind, b.LengthDays = client.BasisRemand, 0
						summary = "Remanded in custody from " + b.StartDate + " (" + b.Offences + ")"
					}
					var end any
					if b.LengthDays > 0 {
						t, _ := time.Parse("2006-01-02", b.StartDate)
						end = t.AddDate(0, 0, b.LengthDays).Format("2006-01-02")
					}
					bases = append(bases, []any{b.ID, id, b.Kind, b.StartDate, b.LengthDays, end, b.Offences, "Tingsrätten", "B " + strconv.Itoa(1000+r.IntN(9000)) + "-25", now, audit.System.ID})
					history = append(history, []any{db.NewID(), id, now, "legal_basis", summary, audit.System.ID, audit.System.Name, "legal_basis", b.ID})
					if x < pctCustody && nextSlot < len(slots) {
						s := slots[nextSlot]
						nextSlot++
						status, inst, unitID, cell = client.InCustody, s.inst, s.unit, s.cell
						stayID, mv := db.NewID(), db.NewID()
						stay = stayID
						batchOcc[s.cell]++
						stays = append(stays, []any{stayID, id, "custody", b.ID, now, s.inst})
						moves = append(moves, []any{mv, id, stayID, string(client.Admit), now, string(client.Registered), string(client.InCustody), s.cell, s.unit, "", audit.System.ID})
						history = append(history, []any{db.NewID(), id, now, string(client.Admit), "Admitted to " + s.instName + ", " + s.unitName + ", cell " + s.label,
							audit.System.ID, audit.System.Name, "movement", mv})
					}
				}
				clients = append(clients, []any{id, number, p.GivenName, p.FamilyName, nid.BirthDate.Format("2006-01-02"), p.Sex, nid.Number, string(country),
					p.Nationality, strings.Join(p.Languages, ","), string(status), inst, unitID, cell, home, stay, now, now})
				for _, a := range p.Aliases {
					aliases = append(aliases, []any{db.NewID(), id, a, now})
				}
				docs[id] = search.Doc{Names: append([]string{p.GivenName, p.FamilyName}, p.Aliases...), IDs: []string{number, nid.Number}}
			}
			for _, t := range []struct {
				table string
				cols  []string
				rows  [][]any
			}{
				{"clients", []string{"id", "number", "given_name", "family_name", "birth_date", "sex", "national_id", "national_id_country", "nationality",
					"languages", "status", "institution_id", "unit_id", "cell_id", "home_location", "stay_id", "created_at", "updated_at"}, clients},
				{"client_aliases", []string{"id", "client_id", "name", "created_at"}, aliases},
				{"legal_bases", []string{"id", "client_id", "kind", "start_date", "length_days", "end_date", "offences", "court", "case_ref", "created_at", "created_by"}, bases},
				{"stays", []string{"id", "client_id", "kind", "legal_basis_id", "started_at", "location_id"}, stays},
				{"movements", []string{"id", "client_id", "stay_id", "kind", "at", "from_status", "to_status", "to_cell", "to_location", "reason", "by_staff"}, moves},
				{"client_history", []string{"id", "client_id", "at", "kind", "summary", "actor_id", "actor_name", "ref_type", "ref_id"}, history},
			} {
				if err := insertRows(ctx, tx, t.table, t.cols, t.rows); err != nil {
					return err
				}
			}
			for cell, k := range batchOcc {
				if _, err := tx.ExecContext(ctx, `UPDATE cells SET occupied = occupied + $1 WHERE id = $2`, k, cell); err != nil {
					return fmt.Errorf("occupy: %w", err)
				}
			}
			return search.BulkIndex(ctx, tx, docs)
		})
		if err != nil {
			return fmt.Errorf("bench: load clients %d–%d: %w", lo+1, hi, err)
		}
		fmt.Fprintf(progress, "\rloaded %d/%d clients (%v)", hi, n, time.Since(start).Round(time.Second))
	}
	fmt.Fprintln(progress)
	// Fresh statistics, as an operator would have after a bulk import.
	if _, err := f.DB.ExecContext(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("bench: analyze: %w", err)
	}
	return nil
}

// sqliteParams bounds the parameters of one multi-row INSERT on SQLite.
// SQLite treats $N as a named parameter and finds each one by a linear
// search of those seen so far (sqlite3VListNameToNum when preparing,
// sqlite3VListNumToName when modernc binds by name), so a statement with
// n of them costs O(n²): at 30 000 parameters the parser and binder, not
// the insert, take nearly all the time. PostgreSQL has no such cost and
// allows 65 535.
const (
	sqliteParams   = 400
	postgresParams = 30000
)

// insertRows writes rows with multi-row INSERT statements of at most
// sqliteParams or postgresParams parameters.
func insertRows(ctx context.Context, tx *db.Tx, table string, cols []string, rows [][]any) error {
	limit := sqliteParams
	if tx.Dialect == db.Postgres {
		limit = postgresParams
	}
	per := max(1, limit/len(cols))
	for lo := 0; lo < len(rows); lo += per {
		hi := min(lo+per, len(rows))
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, (hi-lo)*len(cols))
		for i, row := range rows[lo:hi] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for j, v := range row {
				if j > 0 {
					b.WriteByte(',')
				}
				args = append(args, v)
				b.WriteString("$" + strconv.Itoa(len(args)))
			}
			b.WriteByte(')')
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert %s: %w", table, err)
		}
	}
	return nil
}
