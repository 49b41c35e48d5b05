// SPDX-License-Identifier: AGPL-3.0-or-later

package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/placement"
	"github.com/custodia/custodia/internal/platform/access"
)

// The registers the placement rules read: a non-association for every
// pair of co-accused on remand (on different units, as the plan puts
// them), a few gang conflicts, threats and a victim with the perpetrator
// in the prisons (one long past its review date), and cell-sharing
// assessments for most people in shared cells — the rest are left for the
// move screen to show what an unassessed person cannot do.

var sharingReasons = []string{
	"Inga incidenter under tidigare placeringar; önskar dela cell.",
	"Lugn, fungerar väl i grupp. Inga varningar.",
	"Har delat cell utan problem på häktet.",
}

var conditionalReasons = map[string]string{
	placement.OnlyNonSmoker:       "Astma; ska inte dela med rökare.",
	placement.OnlySameLanguage:    "Talar bara arabiska; isolering om cellkamraten saknar gemensamt språk.",
	placement.OnlyWithoutViolence: "Utsatt för våld av medintagen 2025; placeras inte med någon med våldsvarning.",
}

var conflictTexts = []struct{ category, scope, reason string }{
	{"gang_conflict", placement.ScopeUnit, "Tillhör rivaliserande nätverk enligt underrättelserapport UR-2026-114. Ska inte vistas på samma avdelning."},
	{"threat", placement.ScopeCell, "Hot om våld uttalat i samband med promenad. Ska inte placeras i samma cell."},
	{"victim_perpetrator", placement.ScopeInstitution, "Brottsoffer och gärningsperson i samma mål (misshandel). Ska inte vistas på samma anstalt."},
	{"gang_conflict", placement.ScopeUnit, "Konflikt mellan grupperingar i Västra Götaland; polisens bedömning 2026-01."},
}

func createPlacementRegisters(ctx context.Context, a *app.App, at func(time.Time), persons []*personPlan, now time.Time) (nas, assessed int, err error) {
	staff, err := a.Access.ListStaff(ctx)
	if err != nil {
		return 0, 0, err
	}
	var security *access.Principal
	for _, s := range staff {
		if s.Username == "security" {
			security = principalOf(s)
		}
	}
	if security == nil {
		return 0, 0, fmt.Errorf("demo: no security account")
	}
	sctx := as(ctx, security)
	day := func(daysAgo int) time.Time {
		return now.AddDate(0, 0, -daysAgo).Truncate(24 * time.Hour).Add(9 * time.Hour)
	}
	review := func(t time.Time, months int) string { return t.AddDate(0, months, 0).Format("2006-01-02") }

	// Co-accused on remand, recorded the day the second was remanded.
	done := map[string]bool{}
	for _, pp := range persons {
		for _, s := range pp.steps {
			o := s.alert.partner
			if s.kind != stAlert || s.alert.kind != "co_accused" || o == nil || pp.id == "" || o.id == "" || done[pp.id] || done[o.id] {
				continue
			}
			if pp.status != client.InCustody || o.status != client.InCustody {
				continue
			}
			done[pp.id], done[o.id] = true, true
			when := s.at.Add(2 * time.Hour)
			if when.After(now) {
				when = now.Add(-time.Hour)
			}
			at(when)
			if _, err := a.Place.CreateNonAssociation(sctx, pp.id, placement.NewNonAssociation{Members: []string{o.id}, Scope: placement.ScopeUnit,
				ReasonCategory: "co_accused", Reason: strings.ReplaceAll(s.alert.note, "%s", o.number) + " Åklagaren begär att de hålls åtskilda under häktningstiden.",
				ReviewDate: review(when, 2)}); err != nil {
				return nas, 0, fmt.Errorf("demo: co-accused %s: %w", pp.number, err)
			}
			nas++
		}
	}

	// Conflicts among people in custody in the prisons: two people of
	// the same institution, far apart in the list. The first was decided
	// five months ago with a review three months ago: it is overdue.
	byInst := map[string][]*personPlan{}
	var order []string
	for _, pp := range persons {
		if pp.id == "" || pp.status != client.InCustody || pp.cell == nil || done[pp.id] {
			continue
		}
		inst := pp.cell.unit.inst.code
		if inst == "NVH" {
			continue
		}
		if _, ok := byInst[inst]; !ok {
			order = append(order, inst)
		}
		byInst[inst] = append(byInst[inst], pp)
	}
	k := 0
	for _, inst := range order {
		ps := byInst[inst]
		for j := 0; j+1 < len(ps) && k < len(conflictTexts) && j < 2; j++ {
			x, y := ps[j*7%len(ps)], ps[(j*7+len(ps)/2)%len(ps)]
			if x == y || done[x.id] || done[y.id] {
				continue
			}
			c := conflictTexts[k]
			when, months := day(20+k*15), 4
			if k == 0 {
				when, months = day(150), 2
			}
			at(when)
			if _, err := a.Place.CreateNonAssociation(sctx, x.id, placement.NewNonAssociation{Members: []string{y.id}, Scope: c.scope,
				ReasonCategory: c.category, Reason: c.reason, ReviewDate: review(when, months)}); err != nil {
				return nas, 0, fmt.Errorf("demo: %s %s–%s: %w", c.category, x.number, y.number, err)
			}
			done[x.id], done[y.id] = true, true
			nas++
			k++
		}
	}

	// Sharing assessments for most people in shared cells, made soon
	// after they arrived; every ninth is left unassessed.
	for i, pp := range persons {
		if pp.id == "" || pp.status != client.InCustody || pp.cell == nil || pp.cell.beds < 2 || i%9 == 4 {
			continue
		}
		when := day(10 + i%40)
		at(when)
		n := placement.NewAssessment{Outcome: placement.SuitableAny, Conditions: []string{}, Smoker: i%5 < 2, Reasons: sharingReasons[i%len(sharingReasons)], ReviewDate: review(when, 6)}
		switch i % 11 {
		case 1:
			n.Outcome, n.Conditions, n.Smoker = placement.Conditional, []string{placement.OnlyNonSmoker}, false
		case 3:
			n.Outcome, n.Conditions = placement.Conditional, []string{placement.OnlySameLanguage}
		case 6:
			n.Outcome, n.Conditions = placement.Conditional, []string{placement.OnlyWithoutViolence, placement.OnlyNonSmoker}
			n.Smoker = false
		}
		if n.Outcome == placement.Conditional {
			n.Reasons = conditionalReasons[n.Conditions[0]]
		}
		if _, err := a.Place.Assess(sctx, pp.id, n); err != nil {
			return nas, assessed, fmt.Errorf("demo: assessment of %s: %w", pp.number, err)
		}
		assessed++
	}
	return nas, assessed, nil
}
