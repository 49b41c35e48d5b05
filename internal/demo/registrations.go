// SPDX-License-Identifier: AGPL-3.0-or-later

package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/client/natid"
	"github.com/custodia/custodia/internal/demo/people"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/registration"
)

// The registrations of the last months in every institution: most closed,
// some waiting for review (a few of them overdue), statements asked of
// officers (the Kronoberga officer among them, one overdue), a report
// returned for correction, a draft, complaints open and decided, and one
// radicalisation concern that only security sees. Each is made by the
// colleague who was there, through the registration service, at the time
// it happened.

// colleagues are officers without a demo login: the people who wrote and
// witnessed registrations.
const colleaguesPerInstitution = 3

type regStaff struct {
	officers []*access.Principal // the institution's officers, login first when there is one
	manager  *access.Principal
}

func principalOf(s access.Staff) *access.Principal {
	return &access.Principal{ID: s.ID, Username: s.Username, Name: s.DisplayName, Role: s.Role, Caseload: s.Caseload}
}

func as(ctx context.Context, p *access.Principal) context.Context {
	return audit.WithActor(ctx, audit.Actor{ID: p.ID, Name: p.Name, Role: string(p.Role)})
}

func createRegistrations(ctx context.Context, a *app.App, seed int64, now time.Time, ids map[string]string, at func(time.Time)) error {
	r := rand.New(rand.NewPCG(uint64(seed), 0x7e61))
	sg := people.New(seed ^ 0x7e61)
	all, err := a.Access.ListStaff(ctx)
	if err != nil {
		return err
	}
	byUser := map[string]access.Staff{}
	for _, s := range all {
		byUser[s.Username] = s
	}
	security := principalOf(byUser["security"])
	institutions := []struct{ code, login, manager string }{
		{"KRO", "officer.kronoberga", "manager.kronoberga"}, {"NVH", "officer.norrviken", ""}, {"SJB", "", "manager.sjobacka"}, {"LJD", "", ""},
	}
	at(now.AddDate(0, -6, 0))
	for _, inst := range institutions {
		st := regStaff{}
		if inst.login != "" {
			st.officers = append(st.officers, principalOf(byUser[inst.login]))
		}
		for i := range colleaguesPerInstitution {
			given, family := sg.StaffName(natid.SE)
			s, err := a.Access.CreateStaff(ctx, access.NewStaff{Username: fmt.Sprintf("%s.officer%d", strings.ToLower(inst.code), i+1), DisplayName: given + " " + family,
				Role: access.Officer, Caseload: []string{ids[inst.code]}, Password: db.RandomToken(24), Lang: "sv"})
			if err != nil {
				return fmt.Errorf("demo: colleague: %w", err)
			}
			st.officers = append(st.officers, principalOf(s))
		}
		if inst.manager != "" {
			st.manager = principalOf(byUser[inst.manager])
		} else {
			given, family := sg.StaffName(natid.SE)
			s, err := a.Access.CreateStaff(ctx, access.NewStaff{Username: strings.ToLower(inst.code) + ".manager", DisplayName: given + " " + family,
				Role: access.UnitManager, Caseload: []string{ids[inst.code]}, Password: db.RandomToken(24), Lang: "sv"})
			if err != nil {
				return fmt.Errorf("demo: manager: %w", err)
			}
			st.manager = principalOf(s)
		}
		roll, err := a.Client.Occupants(ctx, []string{ids[inst.code]})
		if err != nil {
			return err
		}
		if len(roll) < 10 {
			continue
		}
		if err := institutionRegistrations(ctx, a, r, now, at, st, security, roll, inst.login != ""); err != nil {
			return fmt.Errorf("demo: registrations at %s: %w", inst.code, err)
		}
	}
	return nil
}

// script is one registration's life: made daysAgo, then the steps up to
// where it stands now.
type script struct {
	kind     registration.Kind
	daysAgo  float64
	until    string // draft, submitted, returned, accepted, closed
	login    bool   // the institution's login officer is involved (asked for a statement, or the author of a draft/returned report)
	answered bool   // the statements were given
	informed bool
	complain string // "", "open", "decided"
}

func institutionRegistrations(ctx context.Context, a *app.App, r *rand.Rand, now time.Time, at func(time.Time), st regStaff, security *access.Principal, roll []client.Occupant, hasLogin bool) error {
	scripts := []script{
		{kind: registration.UseOfForce, daysAgo: 140, until: "closed", answered: true, informed: true, complain: "decided"},
		{kind: registration.Contraband, daysAgo: 120, until: "closed"},
		{kind: registration.Incident, daysAgo: 100, until: "closed", answered: true},
		{kind: registration.TransportRestraint, daysAgo: 80, until: "closed", answered: true, informed: true},
		{kind: registration.Contraband, daysAgo: 60, until: "closed"},
		{kind: registration.UseOfForce, daysAgo: 45, until: "accepted", answered: true, informed: true, complain: "open"},
		{kind: registration.Contraband, daysAgo: 30, until: "closed"},
		{kind: registration.Incident, daysAgo: 20, until: "accepted", answered: true},
		{kind: registration.Contraband, daysAgo: 9, until: "accepted"},
		{kind: registration.UseOfForce, daysAgo: 4.2, until: "submitted", login: true, informed: true},
		{kind: registration.Contraband, daysAgo: 2.5, until: "submitted"},
		{kind: registration.Incident, daysAgo: 1.6, until: "returned", login: true},
		{kind: registration.UseOfForce, daysAgo: 0.3, until: "submitted", login: true},
		{kind: registration.Contraband, daysAgo: 0.1, until: "draft", login: true},
		{kind: registration.Radicalisation, daysAgo: 12, until: "submitted"},
	}
	order := r.Perm(len(roll))
	// What involves the login officer happens where that officer works,
	// so the officer's work page leads to records the officer may open.
	var near []int
	if hasLogin {
		for _, k := range order {
			if slices.Contains(st.officers[0].Caseload, roll[k].UnitID) || slices.Contains(st.officers[0].Caseload, roll[k].InstitutionID) {
				near = append(near, k)
			}
		}
	}
	for i, sc := range scripts {
		subject := roll[order[i%len(order)]]
		if sc.login && len(near) > 0 {
			subject = roll[near[i%len(near)]]
		}
		other := roll[order[(i+7)%len(order)]]
		if err := play(ctx, a, r, now, at, st, security, subject, other, sc, hasLogin); err != nil {
			return err
		}
	}
	return nil
}

func play(ctx context.Context, a *app.App, r *rand.Rand, now time.Time, at func(time.Time), st regStaff, security *access.Principal, subject, other client.Occupant, sc script, hasLogin bool) error {
	when := now.Add(-time.Duration(sc.daysAgo * float64(24*time.Hour))).Truncate(time.Minute)
	// The author is a colleague; with the login officer involved, the
	// login officer is asked for a statement — or, for a draft or a
	// returned report, is the author.
	colleagues := st.officers
	if hasLogin {
		colleagues = st.officers[1:]
	}
	author := colleagues[r.IntN(len(colleagues))]
	second := colleagues[(slices.Index(colleagues, author)+1)%len(colleagues)]
	if sc.login && hasLogin {
		if sc.until == "draft" || sc.until == "returned" {
			author, second = st.officers[0], author
		} else {
			second = st.officers[0]
		}
	}
	n := demoRegistration(r, sc.kind, when, author, second, other)
	n.Submit = sc.until != "draft"
	writeAt := when.Add(time.Duration(20+r.IntN(90)) * time.Minute)
	at(writeAt)
	reg, err := a.Reg.Create(as(ctx, author), author, subject.ID, "", n)
	if err != nil {
		return err
	}
	if sc.until == "draft" || sc.until == "submitted" && !sc.answered && !sc.informed {
		return nil
	}
	step := writeAt
	next := func(d time.Duration) { step = step.Add(d); at(step) }
	if sc.informed {
		next(3 * time.Hour)
		if reg, err = a.Reg.InformClient(as(ctx, second), second, subject.ID, reg.ID, reg.Version); err != nil {
			return err
		}
	}
	if sc.answered || sc.until == "closed" {
		next(5 * time.Hour)
		if _, err := a.Reg.GiveStatement(as(ctx, second), second, subject.ID, reg.ID, statementText(sc.kind)); err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return err
		}
	}
	if sc.until == "submitted" {
		return nil
	}
	reviewer := st.manager
	if sc.kind == registration.Radicalisation {
		reviewer = security
	}
	next(6 * time.Hour)
	cur, err := a.Reg.Get(as(ctx, reviewer), reviewer, subject.ID, reg.ID)
	if err != nil {
		return err
	}
	if sc.until == "returned" {
		_, err := a.Reg.Review(as(ctx, reviewer), reviewer, subject.ID, reg.ID, cur.Version, false, "Ange hur länge och var den inblandade klienten hölls kvar, och vem som tillkallade sjukvården.")
		return err
	}
	if reg, err = a.Reg.Review(as(ctx, reviewer), reviewer, subject.ID, reg.ID, cur.Version, true, ""); err != nil {
		return err
	}
	if sc.complain != "" {
		next(4 * 24 * time.Hour)
		c, err := a.Reg.AddComplaint(as(ctx, reviewer), reviewer, subject.ID, reg.ID, registration.NewComplaint{Text: "Klienten anser att handfängslen satt för hårt och för länge, och begär att händelsen utreds."})
		if err != nil {
			return err
		}
		if sc.complain == "decided" {
			next(10 * 24 * time.Hour)
			if _, err := a.Reg.DecideComplaint(as(ctx, reviewer), reviewer, subject.ID, reg.ID, c.ID, registration.Decision{Version: c.Version, Outcome: "rejected",
				Decision: "Åtgärden var nödvändig och proportionerlig. Handfängslen kontrollerades var femte minut enligt rutin och togs av när klienten lugnat sig."}); err != nil {
				return err
			}
		}
	}
	if sc.until == "closed" {
		next(2 * 24 * time.Hour)
		cur, err := a.Reg.Get(as(ctx, reviewer), reviewer, subject.ID, reg.ID)
		if err != nil {
			return err
		}
		if _, err := a.Reg.Close(as(ctx, reviewer), reviewer, subject.ID, reg.ID, cur.Version); err != nil {
			return err
		}
	}
	return nil
}

// demoRegistration writes what the author would have written.
func demoRegistration(r *rand.Rand, k registration.Kind, when time.Time, author, second *access.Principal, other client.Occupant) registration.NewRegistration {
	n := registration.NewRegistration{Kind: k, OccurredAt: when.UTC().Format(time.RFC3339)}
	places := []string{"Korridoren utanför cell 104", "Rastgården", "Dagrummet", "Cell 112", "Besöksavdelningen", "Verkstaden", "Matsalen"}
	n.Place = places[r.IntN(len(places))]
	d := &n.Details
	switch k {
	case registration.UseOfForce:
		d.Narrative = "Klienten vägrade återgå till cellen efter kvällsmålet och slog en tjänsteman i ansiktet. Två tjänstemän förde ned klienten till golvet och belade handfängsel. Klienten lugnade sig efter ett par minuter och fördes till cellen."
		d.Forces = []string{"physical_hold", "takedown"}
		d.Restraints = []string{"handcuffs"}
		d.Reason = "Klienten angrep personal och fortsatte att slåss."
		d.DurationMinutes = 8 + r.IntN(20)
		d.Injuries = "Skrubbsår på klientens vänstra armbåge. Tjänstemannen fick ett blåmärke på kinden."
		d.MedicalOffered, d.MedicalDone = true, r.IntN(2) == 0
		d.BodyCameraRef = fmt.Sprintf("BWC-%04d", 1000+r.IntN(9000))
		d.ClientAccount = "Klienten säger att han blev provocerad och att handfängslen satt för hårt."
		n.Parties = []registration.Party{{Type: "staff", ID: author.ID, Role: "used_force"}, {Type: "staff", ID: second.ID, Role: "used_force"}}
	case registration.TransportRestraint:
		d.Narrative = "Handfängsel under transport till tingsrätten enligt beslut om transportsäkerhet. Fängslet kontrollerades vid varje stopp."
		d.Restraints = []string{"handcuffs", "body_belt"}
		d.Reason = "Bedömd rymningsrisk enligt säkerhetsbedömningen."
		d.DurationMinutes = 60 + r.IntN(120)
		d.From, d.To = "Anstalten", "Tingsrätten"
		d.TransportRef = fmt.Sprintf("T-%05d", r.IntN(100000))
		n.Parties = []registration.Party{{Type: "staff", ID: author.ID, Role: "escort"}, {Type: "staff", ID: second.ID, Role: "escort"}}
	case registration.Contraband:
		finds := []registration.Item{{Kind: "phone", Description: "Mobiltelefon utan SIM-kort", Quantity: 1, Unit: "pcs"}, {Kind: "drugs", Description: "Vitt pulver i plastpåse", Quantity: 2.5, Unit: "g"},
			{Kind: "sim_card", Description: "SIM-kort", Quantity: 2, Unit: "pcs"}, {Kind: "alcohol", Description: "Hembränt i PET-flaska", Quantity: 330, Unit: "ml"}, {Kind: "weapon", Description: "Vässad tandborste", Quantity: 1, Unit: "pcs"}}
		it := finds[r.IntN(len(finds))]
		d.Items = []registration.Item{it}
		d.FoundDuring = []string{"cell_search", "body_search", "visit", "parcel"}[r.IntN(4)]
		d.Narrative = "Vid rutinmässig visitation hittades " + lowerFirst(it.Description) + ". Föremålet togs i beslag och förseglades."
		d.StorageRef = fmt.Sprintf("Beslagsskåp 2, plomb %06d", r.IntN(1000000))
		if it.Kind == "drugs" || it.Kind == "weapon" {
			d.PoliceReportRef = fmt.Sprintf("5000-K%06d-26", r.IntN(1000000))
		}
		n.Parties = []registration.Party{{Type: "staff", ID: second.ID, Role: "witness"}}
	case registration.Incident:
		d.Narrative = "Bråk uppstod mellan två klienter i samband med fördelning av kvällsmat. Personal larmade och skilde dem åt."
		d.IncidentTypes = []string{"violence", "threat"}
		d.Injuries = "Mindre rodnad på kinden, ingen behandling behövdes."
		d.MedicalOffered = true
		n.Parties = []registration.Party{{Type: "client", ID: other.ID, Role: "perpetrator"}, {Type: "staff", ID: second.ID, Role: "witness"}}
	case registration.Radicalisation:
		d.Narrative = "Klienten har under flera veckor delat material som förhärligar våld mot meningsmotståndare och försökt få yngre klienter att delta i gemensamma böner under hans ledning."
		d.Indicators = []string{"extremist_material", "recruiting"}
		d.ReportedTo = "Säkerhetsavdelningen, regional säkerhetssamordnare"
	}
	return n
}

// lowerFirst lowers the first letter of a description, but not of an
// abbreviation ("SIM-kort").
func lowerFirst(s string) string {
	rs := []rune(s)
	if len(rs) > 1 && unicode.IsUpper(rs[1]) {
		return s
	}
	if len(rs) > 0 {
		rs[0] = unicode.ToLower(rs[0])
	}
	return string(rs)
}

func statementText(k registration.Kind) string {
	if k == registration.TransportRestraint {
		return "Jag var eskort under transporten. Fängslet kontrollerades vid avfärd och vid ankomst; klienten klagade inte."
	}
	return "Jag kom till platsen efter larmet och höll klientens högra arm tills han lugnat sig. Jag såg inga slag efter att handfängslet belagts."
}
