// SPDX-License-Identifier: AGPL-3.0-or-later

package plan

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
)

// env is a plan service with one institution and one registered person,
// and two members of staff who edit plans (a and b).
type env struct {
	t      *testing.T
	db     *db.DB
	svc    *Service
	people *client.Service
	a, b   context.Context
	person *client.Client
}

var (
	annaActor = audit.Actor{ID: "staff-anna", Name: "Anna Case", Role: "case_worker", Remote: "127.0.0.1"}
	bengActor = audit.Actor{ID: "staff-bengt", Name: "Bengt Officer", Role: "officer", Remote: "127.0.0.1"}
)

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	al := audit.NewLog(d)
	t.Cleanup(al.Close)
	e := &env{t: t, db: d, svc: &Service{DB: d, Audit: al}, people: &client.Service{DB: d, Audit: al},
		a: audit.WithActor(context.Background(), annaActor), b: audit.WithActor(context.Background(), bengActor)}
	inst, err := (&estate.Service{DB: d}).CreateLocation(e.a, estate.NewLocation{Kind: estate.Institution, Code: "K", Name: "Kumla", Category: "closed", SecurityLevel: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.person = e.register(inst.ID, "Åke")
	return e
}

func (e *env) register(home, given string) *client.Client {
	e.t.Helper()
	c, err := e.people.Register(e.a, client.NewClient{GivenName: given, FamilyName: "Lindqvist", BirthDate: "1985-04-12", Sex: "M", HomeLocation: home})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// sample is a plan with one goal of two measures.
func sample() Document {
	return Document{Title: "Plan 2026", PeriodStart: "2026-01-01", PeriodEnd: "2026-06-30",
		Goals: []Goal{{Text: "Stay drug-free", Measures: []Measure{
			{What: "Weekly urine tests", Responsible: "Unit officer", Start: "2026-01-05", Due: "2026-06-30"},
			{What: "Motivational interviews", Responsible: "the client", Status: InProgress},
		}}},
		ClientView: "I want to finish school.", FollowUp: ""}
}

func (e *env) create() *Plan {
	e.t.Helper()
	p, err := e.svc.Create(e.a, e.person.ID, sample())
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func fieldsOf(err error) []string {
	e, ok := apperr.As(err)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

// clone is a deep copy, so a test's edits do not reach the plan it read.
func clone(d Document) Document {
	b, _ := json.Marshal(d)
	var out Document
	json.Unmarshal(b, &out) //nolint:errcheck
	return out
}
