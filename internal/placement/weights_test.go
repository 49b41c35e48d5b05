// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"slices"
	"testing"

	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/placement/solve"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func TestInstitutionWeights(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := as(e.mona)

		// None set: the defaults, at version 0.
		cur, err := e.svc.Weights(ctx, e.inst)
		if err != nil {
			t.Fatal(err)
		}
		if !cur.Default || cur.Version != 0 || cur.WeightValues != DefaultWeightValues() {
			t.Fatalf("an institution without weights: %+v, want the defaults at version 0", cur)
		}

		// Refused: every weight out of range is named, nothing is stored.
		bad := DefaultWeightValues()
		bad.Risk, bad.Smoking = -1, MaxWeight+1
		_, err = e.svc.SetWeights(ctx, e.inst, 0, bad)
		if got := fields(err); !got["risk"] || !got["smoking"] || got["violence"] {
			t.Errorf("the refusal names %v, want risk and smoking: %v", got, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM placement_weights`); n != 0 {
			t.Fatalf("%d rows stored after a refusal", n)
		}

		// Set, then changed at the version read; a stale version is refused.
		set := WeightValues{Risk: 50, Violence: 1000, Move: 5, Transfer: 500, Smoking: 0}
		got, err := e.svc.SetWeights(ctx, e.inst, 0, set)
		if err != nil {
			t.Fatal(err)
		}
		if got.Default || got.Version != 1 || got.WeightValues != set || got.UpdatedByName != "Mona Manager" || got.UpdatedAt.IsZero() {
			t.Fatalf("after setting: %+v", got)
		}
		if _, err := e.svc.SetWeights(ctx, e.inst, 0, set); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("setting again at version 0: %v, want a conflict", err)
		}
		set.Move = 7
		if got, err = e.svc.SetWeights(ctx, e.inst, 1, set); err != nil || got.Version != 2 || got.Move != 7 {
			t.Fatalf("changing at version 1: %+v, %v", got, err)
		}
		if _, err := e.svc.SetWeights(ctx, e.inst, 1, set); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("changing at a stale version: %v, want a conflict", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'placement.weights.set' AND object_id = $1`, e.inst); n != 2 {
			t.Errorf("%d audit rows, want 2", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE type = 'placement.weights_set'`); n != 2 {
			t.Errorf("%d events, want 2", n)
		}

		// The placement problem uses them in that institution only; the
		// other keeps the defaults, and the terms the register cannot
		// feed stay zero.
		est := &estate.Service{DB: d}
		w, err := buildWorld(ctx, est, e.cl, e.svc, func(estate.Location, estate.Location) bool { return true }, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range w.in.Institutions {
			switch it.ID {
			case e.inst:
				if it.Weights == nil || *it.Weights != set.Solve() {
					t.Errorf("Kumla's weights in the problem: %+v, want %+v", it.Weights, set.Solve())
				}
			case e.inst2:
				if it.Weights != nil {
					t.Errorf("Hall set no weights but has %+v", *it.Weights)
				}
			}
		}
		if def := w.in.Weights; def != DefaultWeightValues().Solve() || def.Language != 0 || def.Programme != 0 || def.Distance != 0 {
			t.Errorf("default weights of the problem: %+v", def)
		}
		// A shared cell costs what its institution's weights say.
		k := slices.IndexFunc(w.in.Cells, func(c solve.Cell) bool { return c.ID == e.cell })
		a, b := w.idx[e.anna], w.idx[e.bert]
		ca, cb := w.in.Clients[a], w.in.Clients[b]
		if want := set.Risk * int64(ca.Risk) * int64(cb.Risk) / 100; pairPoints(w.in, k, a, b) != want {
			t.Errorf("pair points in Kumla: %d, want %d", pairPoints(w.in, k, a, b), want)
		}
	})
}
