// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/client/natid"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
)

// env is a register with a small estate: institution I with units A
// (cells A1 with 1 bed, A2 with 2) and B (cell B1 with 1 bed), a second
// institution J with unit C (cell C1), and a probation office O.
type env struct {
	t      *testing.T
	db     *db.DB
	al     *audit.Log
	svc    *Service
	est    *estate.Service
	ctx    context.Context
	inst   *estate.Location
	unitA  *estate.Location
	unitB  *estate.Location
	inst2  *estate.Location
	unitC  *estate.Location
	office *estate.Location
	cells  map[string]*estate.Cell
	rng    *rand.Rand
}

var officerActor = audit.Actor{ID: "staff-officer", Name: "Olle Officer", Role: "case_worker", Remote: "127.0.0.1"}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	al := audit.NewLog(d)
	t.Cleanup(al.Close)
	e := &env{t: t, db: d, al: al, svc: &Service{DB: d, Audit: al}, est: &estate.Service{DB: d},
		ctx: audit.WithActor(context.Background(), officerActor), cells: map[string]*estate.Cell{}, rng: rand.New(rand.NewPCG(1, 2))}
	e.inst = e.location(estate.NewLocation{Kind: estate.Institution, Code: "I", Name: "Kumla", Category: "closed", SecurityLevel: 1})
	e.unitA = e.location(estate.NewLocation{Kind: estate.Unit, ParentID: e.inst.ID, Code: "A", Name: "Avdelning A", SecurityLevel: 1})
	e.unitB = e.location(estate.NewLocation{Kind: estate.Unit, ParentID: e.inst.ID, Code: "B", Name: "Avdelning B", SecurityLevel: 1})
	e.inst2 = e.location(estate.NewLocation{Kind: estate.Institution, Code: "J", Name: "Hall", Category: "closed", SecurityLevel: 2})
	e.unitC = e.location(estate.NewLocation{Kind: estate.Unit, ParentID: e.inst2.ID, Code: "C", Name: "Avdelning C", SecurityLevel: 2})
	e.office = e.location(estate.NewLocation{Kind: estate.Office, Code: "O", Name: "Frivården Örebro"})
	e.cell(e.unitA, "A1", 1)
	e.cell(e.unitA, "A2", 2)
	e.cell(e.unitB, "B1", 1)
	e.cell(e.unitC, "C1", 1)
	return e
}

func (e *env) location(n estate.NewLocation) *estate.Location {
	e.t.Helper()
	l, err := e.est.CreateLocation(e.ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) cell(unit *estate.Location, label string, capacity int) *estate.Cell {
	e.t.Helper()
	c, err := e.est.CreateCell(e.ctx, estate.NewCell{UnitID: unit.ID, Label: label, Capacity: capacity, SecurityLevel: unit.SecurityLevel})
	if err != nil {
		e.t.Fatal(err)
	}
	e.cells[label] = c
	return c
}

// occupied is a cell's bed count as the estate has it.
func (e *env) occupied(label string) int {
	e.t.Helper()
	c, err := e.est.Cell(e.ctx, e.cells[label].ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Occupied
}

func (e *env) natID(country natid.Country) string {
	birth := time.Date(1970+e.rng.IntN(40), time.Month(1+e.rng.IntN(12)), 1+e.rng.IntN(28), 0, 0, 0, 0, time.UTC)
	return natid.Generate(country, birth, natid.Male, e.rng)
}

// register registers a person with a Swedish ID number, homed at I.
func (e *env) register(given, family string) *Client {
	e.t.Helper()
	c, err := e.svc.Register(e.ctx, NewClient{GivenName: given, FamilyName: family, Sex: "M", NationalID: e.natID(natid.SE), NationalIDCountry: "SE",
		Languages: []string{"sv"}, HomeLocation: e.inst.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) basis(c *Client, kind string) LegalBasis {
	e.t.Helper()
	b, err := e.svc.AddLegalBasis(e.ctx, c.ID, NewLegalBasis{Kind: kind, StartDate: "2025-01-10", LengthDays: 365, Offences: "Rån"})
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// move performs a movement at the client's current version.
func (e *env) move(id string, m Move) (Moved, error) {
	e.t.Helper()
	c, err := findClient(e.ctx, e.db, id)
	if err != nil {
		e.t.Fatal(err)
	}
	m.Version = c.Version
	return e.svc.MoveClient(e.ctx, id, m)
}

func (e *env) mustMove(id string, m Move) *Client {
	e.t.Helper()
	out, err := e.move(id, m)
	if err != nil {
		e.t.Fatalf("%s: %v", m.Action, err)
	}
	return out.Client
}

// admitted registers a person with a sentence and admits them to cell.
func (e *env) admitted(given, family, cell string) *Client {
	e.t.Helper()
	c := e.register(given, family)
	e.basis(c, BasisSentence)
	return e.mustMove(c.ID, Move{Action: Admit, CellID: e.cells[cell].ID})
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRowContext(e.ctx, q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// rows counts the audit rows and outbox events (all of them).
func (e *env) rows() (auditRows, events int) {
	return e.count(`SELECT COUNT(*) FROM audit_log`), e.count(`SELECT COUNT(*) FROM outbox`)
}
