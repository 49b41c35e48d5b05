// SPDX-License-Identifier: AGPL-3.0-or-later

package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/custodia/custodia/internal/client"
	actionplan "github.com/custodia/custodia/internal/plan"
)

// planGoals are goals of Swedish action plans (verkställighetsplaner),
// each with its measures: what, who is responsible.
var planGoals = []struct {
	goal     string
	measures [][2]string
}{
	{"Drogfrihet under verkställigheten", [][2]string{{"Delta i behandlingsprogrammet Återfallsprevention", "Programledare"}, {"Regelbundna drogtester", "Kontaktman"}}},
	{"Slutföra grundläggande vuxenutbildning", [][2]string{{"Inskrivning i Komvux via Kriminalvårdens utbildning", "Studie- och yrkesvägledare"}, {"Studera svenska och matematik 20 h/vecka", "Klienten"}}},
	{"Ordnat boende vid frigivning", [][2]string{{"Kontakt med socialtjänsten i hemkommunen", "Handläggare"}, {"Ansökan om lägenhet eller träningsboende", "Klienten"}}},
	{"Minska risken för våld", [][2]string{{"Delta i programmet Predict-Prevent", "Programledare"}, {"Motiverande samtal varannan vecka", "Kontaktman"}}},
	{"Egen försörjning efter frigivning", [][2]string{{"Arbetsträning i verkstaden", "Arbetsledare"}, {"Kontakt med Arbetsförmedlingen inför frigivning", "Handläggare"}}},
	{"Behålla kontakten med barnen", [][2]string{{"Besök i besökslägenheten en gång i månaden", "Klienten"}, {"Samtal med familjeteamet", "Handläggare"}}},
}

var planViews = []string{
	"Jag vill bli drogfri och flytta till min syster när jag kommer ut.",
	"Jag vill plugga klart och få ett jobb. Programmet känns bra.",
	"Det viktigaste för mig är att träffa mina barn.",
	"Jag håller med om planen men vill börja arbetsträningen tidigare.",
}

// createPlans gives every fifth person in custody or serving a community
// sentence an action plan: started as a draft a few weeks ago, activated,
// and brought up to date since, so that each has a history of versions.
func createPlans(ctx context.Context, at func(time.Time), svc *actionplan.Service, persons []*personPlan, now time.Time) (int, error) {
	n := 0
	for i, pp := range persons {
		if pp.id == "" || (pp.status != client.InCustody && pp.status != client.InCommunity) || i%5 != 0 {
			continue
		}
		start := now.AddDate(0, 0, -40+i%20).Truncate(24 * time.Hour)
		var goals []actionplan.Goal
		for j := range 2 {
			g := planGoals[(i+j*3)%len(planGoals)]
			goal := actionplan.Goal{Text: g.goal}
			for k, m := range g.measures {
				goal.Measures = append(goal.Measures, actionplan.Measure{What: m[0], Responsible: m[1],
					Start: start.AddDate(0, 0, 7*k).Format("2006-01-02"), Due: start.AddDate(0, 4, 0).Format("2006-01-02")})
			}
			goals = append(goals, goal)
		}
		d := actionplan.Document{Title: fmt.Sprintf("Verkställighetsplan %d", start.Year()), PeriodStart: start.Format("2006-01-02"),
			PeriodEnd: start.AddDate(0, 6, 0).Format("2006-01-02"), Goals: goals, ClientView: planViews[i%len(planViews)]}
		at(start.Add(10 * time.Hour))
		p, err := svc.Create(ctx, pp.id, d)
		if err != nil {
			return n, fmt.Errorf("demo: plan for %s: %w", pp.number, err)
		}
		at(start.AddDate(0, 0, 2).Add(14 * time.Hour))
		if p, err = svc.SetStatus(ctx, pp.id, p.ID, p.Version, actionplan.Active); err != nil {
			return n, fmt.Errorf("demo: activate plan for %s: %w", pp.number, err)
		}
		at(start.AddDate(0, 0, 21).Add(9 * time.Hour))
		d = p.Document
		d.Goals[0].Measures[0].Status = actionplan.InProgress
		d.FollowUp = "Uppföljning efter tre veckor: insatserna har kommit igång enligt plan."
		if _, err := svc.Save(ctx, pp.id, p.ID, actionplan.SaveInput{Version: p.Version, Document: d}); err != nil {
			return n, fmt.Errorf("demo: follow up plan for %s: %w", pp.number, err)
		}
		n++
	}
	return n, nil
}
