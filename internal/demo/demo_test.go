// SPDX-License-Identifier: AGPL-3.0-or-later

package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
)

// testNow is the load time of the tests: a fixed day, so that runs agree.
var testNow = time.Date(2026, 3, 12, 9, 30, 0, 0, time.UTC)

func newApp(t testing.TB) *app.App {
	t.Helper()
	dir := t.TempDir()
	a, err := app.New(context.Background(), app.Config{DB: filepath.Join(dir, "custodia.db"), DataDir: dir, Addr: "127.0.0.1:0",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// fingerprint lists who is where in a plan, in a stable order.
func fingerprint(pl *plan) []string {
	var out []string
	for _, pp := range pl.persons {
		where := ""
		if pp.cell != nil {
			where = pp.cell.unit.code + "/" + pp.cell.label
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s %d", pp.p.GivenName, pp.p.FamilyName, pp.p.NationalID, pp.status, where, len(pp.steps)))
	}
	return out
}

func TestPlanIsAFunctionOfSeed(t *testing.T) {
	a, b, c := newPlan(1, testNow), newPlan(1, testNow), newPlan(2, testNow)
	fa, fb, fc := fingerprint(a), fingerprint(b), fingerprint(c)
	if !slices.Equal(fa, fb) {
		t.Fatal("the same seed gave different plans")
	}
	if slices.Equal(fa, fc) {
		t.Fatal("different seeds gave the same plan")
	}
}

func TestPlanShape(t *testing.T) {
	pl := newPlan(1, testNow)
	count := map[client.Status]int{}
	for _, pp := range pl.persons {
		count[pp.status]++
		prev := time.Time{}
		for _, s := range pp.steps {
			if s.at.Before(prev) {
				t.Fatalf("%s: steps out of order", pp.p.FamilyName)
			}
			if s.at.After(testNow) {
				t.Fatalf("%s: a step in the future: %s", pp.p.FamilyName, s.at)
			}
			prev = s.at
		}
	}
	beds, usable, cells := 0, 0, 0
	for _, u := range pl.estate.units {
		cells += len(u.cells)
		usable += u.usableBeds()
		for _, c := range u.cells {
			beds += c.beds
		}
	}
	t.Logf("units %d, cells %d, beds %d (usable %d), people %d: %v; first event %s", len(pl.estate.units), cells, beds, usable, len(pl.persons), count, pl.start.Format(time.DateOnly))
}

func TestPlanSeedsStayInRange(t *testing.T) {
	for seed := int64(1); seed <= 6; seed++ {
		pl := newPlan(seed, testNow)
		custody, community := 0, 0
		for _, pp := range pl.persons {
			switch pp.status {
			case client.InCustody, client.OnLeave:
				custody++
			case client.InCommunity:
				community++
			}
		}
		if custody < 860 || custody > 940 || community < 280 || community > 320 {
			t.Errorf("seed %d: %d in custody, %d in the community", seed, custody, community)
		}
		t.Logf("seed %d: %d in custody, %d people", seed, custody, len(pl.persons))
	}
}

func count(t *testing.T, a *app.App, q string, args ...any) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestEnsure(t *testing.T) {
	ctx := context.Background()
	a := newApp(t)
	var log strings.Builder
	start := time.Now()
	logins, created, err := Ensure(ctx, a, Options{Seed: 1, Progress: &log, Now: testNow})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("loaded in %s\n%s", time.Since(start).Round(time.Millisecond), log.String())
	if !created {
		t.Fatal("created = false on an empty database")
	}

	for _, cat := range []string{"closed", "remand", "open"} {
		if n := count(t, a, `SELECT count(*) FROM locations WHERE kind = 'institution' AND category = $1`, cat); n < 1 {
			t.Errorf("no %s institution", cat)
		}
	}
	if n := count(t, a, `SELECT count(*) FROM locations WHERE kind = 'institution'`); n < 3 {
		t.Errorf("%d institutions", n)
	}
	if n := count(t, a, `SELECT count(*) FROM locations WHERE kind = 'office'`); n < 1 {
		t.Error("no probation office")
	}
	// Action plans, active, each with a created, an activated and a
	// followed-up version.
	if n, v := count(t, a, `SELECT count(*) FROM plans WHERE status = 'active'`), count(t, a, `SELECT count(*) FROM plan_versions`); n < 5 || v != 3*n {
		t.Errorf("%d active action plans with %d versions", n, v)
	}
	// The placement registers: co-accused on remand kept apart, other
	// conflicts, one past its review date; most people in shared cells
	// assessed, some not.
	if n := count(t, a, `SELECT count(*) FROM placement_nonassociations n WHERE reason_category = 'co_accused'`); n < 1 {
		t.Errorf("%d co-accused non-associations", n)
	}
	if n := count(t, a, `SELECT count(*) FROM placement_nonassociations WHERE reason_category <> 'co_accused'`); n < 3 {
		t.Errorf("%d other non-associations", n)
	}
	if n := count(t, a, `SELECT count(*) FROM placement_nonassociations WHERE status = 'active' AND review_date < $1`, testNow.Format("2006-01-02")); n < 1 {
		t.Error("no non-association past its review date")
	}
	if n := count(t, a, `SELECT count(DISTINCT client_id) FROM placement_sharing_assessments`); n < 300 {
		t.Errorf("%d people with a sharing assessment", n)
	}
	if n := count(t, a, `SELECT count(DISTINCT outcome) FROM placement_sharing_assessments`); n < 2 {
		t.Errorf("%d sharing outcomes", n)
	}
	if n := count(t, a, `SELECT count(*) FROM locations WHERE kind = 'unit'`); n < 35 || n > 45 {
		t.Errorf("%d units, want 35–45", n)
	}
	if n := count(t, a, `SELECT count(*) FROM cells`); n < 550 || n > 650 {
		t.Errorf("%d cells, want 550–650", n)
	}
	custody := count(t, a, `SELECT count(*) FROM clients WHERE status IN ('in_custody', 'on_leave')`)
	if custody < 850 || custody > 950 {
		t.Errorf("%d in custody, want 850–950", custody)
	}
	community := count(t, a, `SELECT count(*) FROM clients WHERE status = 'in_community'`)
	if community < 270 || community > 330 {
		t.Errorf("%d in the community, want 270–330", community)
	}
	for _, st := range []string{"on_leave", "escaped", "released"} {
		if n := count(t, a, `SELECT count(*) FROM clients WHERE status = $1`, st); n < 1 {
			t.Errorf("no one is %s", st)
		}
	}
	// Released and re-admitted: more than one custody stay.
	if n := count(t, a, `SELECT count(*) FROM (SELECT client_id FROM stays WHERE kind = 'custody' GROUP BY client_id HAVING count(*) > 1) x`); n < 10 {
		t.Errorf("%d people with more than one custody stay", n)
	}
	total := count(t, a, `SELECT count(*) FROM clients`)
	alerted := count(t, a, `SELECT count(DISTINCT client_id) FROM alerts`)
	if share := float64(alerted) / float64(total); share < 0.1 || share > 0.25 {
		t.Errorf("%d of %d people have alerts (%.0f %%)", alerted, total, share*100)
	}
	for _, r := range access.Roles {
		if n := count(t, a, `SELECT count(*) FROM staff WHERE role = $1`, string(r)); n < 1 {
			t.Errorf("no %s account", r)
		}
	}
	if n := count(t, a, `SELECT count(*) FROM staff s JOIN staff_caseload c ON c.staff_id = s.id WHERE s.username = 'admin' AND c.location_id = $1`, access.Everywhere); n != 1 {
		t.Error("admin's caseload is not everywhere")
	}
	// Bed counters agree with the people in the cells; no cell over capacity.
	if n := count(t, a, `SELECT count(*) FROM cells WHERE occupied > capacity`); n != 0 {
		t.Errorf("%d cells over capacity", n)
	}
	if n := count(t, a, `SELECT count(*) FROM cells c WHERE c.occupied <> (SELECT count(*) FROM clients k WHERE k.cell_id = c.id AND k.status IN ('in_custody', 'on_leave'))`); n != 0 {
		t.Errorf("%d cells whose counter disagrees with the people in them", n)
	}
	if n := count(t, a, `SELECT count(*) FROM clients WHERE cell_id IS NOT NULL AND status NOT IN ('in_custody', 'on_leave')`); n != 0 {
		t.Errorf("%d people out of custody still hold a cell", n)
	}
	if n := count(t, a, `SELECT count(*) FROM cell_closures`); n < 3 {
		t.Errorf("%d cells out of use", n)
	}
	occupied := count(t, a, `SELECT sum(occupied) FROM cells`)
	usable := count(t, a, `SELECT sum(capacity) FROM cells c WHERE NOT EXISTS (SELECT 1 FROM cell_closures x WHERE x.cell_id = c.id AND (x.until_at IS NULL OR x.until_at > $1))`, testNow.Format(time.RFC3339))
	if occ := float64(occupied) / float64(usable); occ < 0.85 || occ > 0.95 {
		t.Errorf("occupancy %.1f %% of usable beds", occ*100)
	}
	t.Logf("%d people: %d in custody (%d of %d usable beds), %d in the community, %d with alerts", total, custody, occupied, usable, community, alerted)

	res, err := audit.Verify(ctx, a.DB)
	if err != nil || !res.OK() {
		t.Errorf("audit log: %+v %v", res, err)
	}
	if got := a.DB.Now(); time.Since(got) > time.Minute || time.Since(got) < -time.Minute {
		t.Errorf("the database clock was left at %s", got)
	}

	// Registrations in every state a manager meets, of every kind.
	for _, k := range []string{"use_of_force", "transport_restraint", "contraband", "incident", "radicalisation"} {
		if n := count(t, a, `SELECT count(*) FROM registrations WHERE kind = $1`, k); n < 1 {
			t.Errorf("no %s registration", k)
		}
	}
	for _, st := range []string{"draft", "submitted", "returned", "accepted", "closed"} {
		if n := count(t, a, `SELECT count(*) FROM registrations WHERE status = $1`, st); n < 1 {
			t.Errorf("no registration is %s", st)
		}
	}
	if n := count(t, a, `SELECT count(*) FROM registration_statements s JOIN staff f ON f.id = s.staff_id WHERE f.username = 'officer.kronoberga' AND s.status = 'requested'`); n < 1 {
		t.Error("no statement is asked of the Kronoberga officer")
	}
	// What the officer must act on is in the officer's caseload.
	if n := count(t, a, `SELECT count(*) FROM registrations r JOIN staff f ON f.username = 'officer.kronoberga'
		WHERE (r.author_id = f.id OR r.id IN (SELECT registration_id FROM registration_statements WHERE staff_id = f.id))
		AND NOT EXISTS (SELECT 1 FROM staff_caseload c WHERE c.staff_id = f.id AND c.location_id IN (r.unit_id, r.institution_id))`); n != 0 {
		t.Errorf("%d registrations of the Kronoberga officer lie outside the officer's caseload", n)
	}
	if n := count(t, a, `SELECT count(*) FROM registrations r JOIN staff f ON f.id = r.author_id WHERE f.username = 'officer.kronoberga' AND r.status IN ('draft', 'returned')`); n < 2 {
		t.Errorf("the Kronoberga officer has %d drafts and returned reports, want a draft and a returned one", n)
	}
	if n := count(t, a, `SELECT count(*) FROM registration_complaints WHERE status = 'open'`); n < 1 {
		t.Error("no open complaint")
	}
	// The logins can sign in.
	if len(logins) != len(staffDefs) {
		t.Fatalf("%d logins", len(logins))
	}
	if _, _, err := a.Access.Login(ctx, "officer.kronoberga", Password, "127.0.0.1"); err != nil {
		t.Errorf("officer cannot sign in: %v", err)
	}

	// The same seed gives the same people, numbers and places.
	t.Run("SameSeedSameData", func(t *testing.T) {
		if testing.Short() {
			t.Skip("SKIPPED under -short: loads the demo a second time (10–20 s) to compare two databases")
		}
		b := newApp(t)
		if _, _, err := Ensure(ctx, b, Options{Seed: 1, Now: testNow}); err != nil {
			t.Fatal(err)
		}
		want, got := whoIsWhere(t, a), whoIsWhere(t, b)
		if !slices.Equal(want, got) {
			for i := range min(len(want), len(got)) {
				if want[i] != got[i] {
					t.Fatalf("%d people vs %d; first difference:\n%s\n%s", len(want), len(got), want[i], got[i])
				}
			}
			t.Fatalf("%d people vs %d", len(want), len(got))
		}
	})

	// A second start creates nothing.
	before := count(t, a, `SELECT count(*) FROM audit_log`)
	again, created, err := Ensure(ctx, a, Options{Seed: 1})
	if err != nil || created {
		t.Fatalf("second Ensure: created=%v err=%v", created, err)
	}
	if !slices.Equal(again, logins) {
		t.Error("second Ensure returned other logins")
	}
	if n := count(t, a, `SELECT count(*) FROM clients`); n != total {
		t.Errorf("second Ensure changed the number of people: %d → %d", total, n)
	}
	if after := count(t, a, `SELECT count(*) FROM audit_log`); after != before {
		t.Errorf("second Ensure wrote %d audit records", after-before)
	}
}

// whoIsWhere lists who is registered and where they are, by client number.
func whoIsWhere(t *testing.T, a *app.App) []string {
	t.Helper()
	rows, err := a.DB.QueryContext(context.Background(), `SELECT k.number, k.given_name, k.family_name, COALESCE(k.national_id, ''), k.status,
		COALESCE(u.code, ''), COALESCE(c.label, ''), COALESCE(o.code, '') FROM clients k LEFT JOIN cells c ON c.id = k.cell_id
		LEFT JOIN locations u ON u.id = k.unit_id LEFT JOIN locations o ON o.id = k.office_id ORDER BY k.number`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f [8]string
		if err := rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(f[:], " "))
	}
	return out
}
