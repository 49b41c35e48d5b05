// SPDX-License-Identifier: AGPL-3.0-or-later

// Package plan is the action plan (handlingsplan, handleplan): what a
// person in custody or under supervision is to work on during a period,
// as goals with measures (what, who is responsible, from when, by when,
// how far it got), the person's own view of the plan and follow-up notes.
//
// The editable content is one Document, saved whole and versioned: every
// save is kept as a version, with who saved it and what changed, and a
// save carries the version its editor started from. When someone else
// saved in between, the save is not applied: the editor's text is kept
// (server-side, in plan_conflicts) and they choose, field by field, between
// their text and the stored one. Nothing typed is overwritten unseen.
package plan

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/i18n"
)

// Status is where a plan stands.
type Status string

// The plan statuses. A person has at most one active plan.
const (
	Draft     Status = "draft"
	Active    Status = "active"
	Completed Status = "completed"
	Cancelled Status = "cancelled"
)

// Statuses lists the plan statuses in their usual order.
var Statuses = []Status{Draft, Active, Completed, Cancelled}

// transitions says which status a plan may move to from each status.
// Completed and cancelled plans are kept as they were: history, not work.
var transitions = map[Status][]Status{
	Draft:  {Active, Cancelled},
	Active: {Completed, Cancelled},
}

// Next lists the statuses a plan in s may move to.
func (s Status) Next() []Status { return transitions[s] }

// Editable reports whether a plan in s may still be changed.
func (s Status) Editable() bool { return s == Draft || s == Active }

// MeasureStatus is how far a measure got.
type MeasureStatus string

// The measure statuses.
const (
	Planned    MeasureStatus = "planned"
	InProgress MeasureStatus = "in_progress"
	Done       MeasureStatus = "done"
	Dropped    MeasureStatus = "cancelled"
)

// MeasureStatuses lists the measure statuses in their usual order.
var MeasureStatuses = []MeasureStatus{Planned, InProgress, Done, Dropped}

// Document is the editable content of a plan, saved and versioned whole.
type Document struct {
	Title       string `json:"title"`
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
	Goals       []Goal `json:"goals"`
	// ClientView is the person's own comments on the plan, in their words
	// as recorded by staff.
	ClientView string `json:"client_view"`
	FollowUp   string `json:"follow_up"`
}

// Goal is something the person is to achieve, with the measures that lead
// there. ID is stable across versions (the server assigns one when it is
// empty), so versions can be compared goal by goal.
type Goal struct {
	ID       string    `json:"id"`
	Text     string    `json:"text"`
	Measures []Measure `json:"measures"`
}

// Measure is one step towards a goal.
type Measure struct {
	ID          string        `json:"id"`
	What        string        `json:"what"`
	Responsible string        `json:"responsible"`
	Start       string        `json:"start"`
	Due         string        `json:"due"`
	Status      MeasureStatus `json:"status"`
}

// Plan is a plan as it stands now.
type Plan struct {
	ID            string    `json:"id"`
	ClientID      string    `json:"client_id"`
	Status        Status    `json:"status"`
	Version       int       `json:"version"`
	Document      Document  `json:"document"`
	CreatedAt     time.Time `json:"created_at"`
	CreatedByName string    `json:"created_by_name"`
	UpdatedAt     time.Time `json:"updated_at"`
	UpdatedBy     string    `json:"updated_by"`
	UpdatedByName string    `json:"updated_by_name"`
	ActivatedAt   time.Time `json:"activated_at,omitzero"`
	ClosedAt      time.Time `json:"closed_at,omitzero"`
}

// Summary is a plan in a list.
type Summary struct {
	ID            string    `json:"id"`
	Title         string    `json:"title"`
	Status        Status    `json:"status"`
	PeriodStart   string    `json:"period_start"`
	PeriodEnd     string    `json:"period_end"`
	Goals         int       `json:"goals"`
	Measures      int       `json:"measures"`
	MeasuresDone  int       `json:"measures_done"`
	Version       int       `json:"version"`
	UpdatedAt     time.Time `json:"updated_at"`
	UpdatedByName string    `json:"updated_by_name"`
}

// Kind says how a version came about.
type Kind string

// The version kinds.
const (
	KindCreated  Kind = "created"
	KindSaved    Kind = "saved"
	KindAutosave Kind = "autosave"
	KindStatus   Kind = "status"
	KindResolved Kind = "resolved" // a conflict chosen through
)

// Version is one saved version of a plan.
type Version struct {
	PlanID      string    `json:"plan_id"`
	Version     int       `json:"version"`
	Status      Status    `json:"status"`
	Kind        Kind      `json:"kind"`
	SavedAt     time.Time `json:"saved_at"`
	SavedBy     string    `json:"saved_by"`
	SavedByName string    `json:"saved_by_name"`
	Changes     []Change  `json:"changes"`
	// Summary is Changes in English, for API clients.
	Summary  string    `json:"summary"`
	Document *Document `json:"document,omitempty"`
}

// ---------- Validation ----------

const (
	maxTitle    = 200
	maxGoals    = 50
	maxMeasures = 50
	maxGoal     = 2000
	maxWhat     = 1000
	maxWho      = 200
	maxLong     = 20000
)

var idRe = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

func clean(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }

func validDate(fe *apperr.Fields, lang i18n.Lang, field, v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		fe.Add(field, i18n.T(lang, "plan.err.date"))
		return t, false
	}
	return t, true
}

func maxLen(fe *apperr.Fields, lang i18n.Lang, field, v string, n int) {
	if utf8.RuneCountInString(v) > n {
		fe.Add(field, i18n.T(lang, "plan.err.max_chars", n))
	}
}

// Normalize trims d, gives new goals and measures their ids, and checks it;
// messages are in lang and name the field at fault the way the API names
// it ("goals[0].measures[1].due"), which is also the form field's name.
func (d *Document) Normalize(lang i18n.Lang) error {
	var fe apperr.Fields
	d.Title = strings.Join(strings.Fields(d.Title), " ")
	d.PeriodStart, d.PeriodEnd = strings.TrimSpace(d.PeriodStart), strings.TrimSpace(d.PeriodEnd)
	d.ClientView, d.FollowUp = clean(d.ClientView), clean(d.FollowUp)
	if d.Title == "" {
		fe.Add("title", i18n.T(lang, "plan.err.title"))
	}
	maxLen(&fe, lang, "title", d.Title, maxTitle)
	from, okFrom := validDate(&fe, lang, "period_start", d.PeriodStart)
	to, okTo := validDate(&fe, lang, "period_end", d.PeriodEnd)
	if okFrom && okTo && to.Before(from) {
		fe.Add("period_end", i18n.T(lang, "plan.err.end_before_start"))
	}
	maxLen(&fe, lang, "client_view", d.ClientView, maxLong)
	maxLen(&fe, lang, "follow_up", d.FollowUp, maxLong)
	if d.Goals == nil {
		d.Goals = []Goal{}
	}
	if len(d.Goals) > maxGoals {
		fe.Add("goals", i18n.T(lang, "plan.err.max_goals", maxGoals))
	}
	seen := map[string]bool{}
	id := func(field string, v *string) {
		*v = strings.TrimSpace(*v)
		if *v == "" {
			*v = db.NewID()
		} else if !idRe.MatchString(*v) {
			fe.Add(field, i18n.T(lang, "plan.err.id"))
		} else if seen[*v] {
			fe.Add(field, i18n.T(lang, "plan.err.id_twice"))
		}
		seen[*v] = true
	}
	for i := range d.Goals {
		g := &d.Goals[i]
		pre := fmt.Sprintf("goals[%d].", i)
		id(pre+"id", &g.ID)
		g.Text = clean(g.Text)
		if g.Text == "" {
			fe.Add(pre+"text", i18n.T(lang, "plan.err.goal"))
		}
		maxLen(&fe, lang, pre+"text", g.Text, maxGoal)
		if g.Measures == nil {
			g.Measures = []Measure{}
		}
		if len(g.Measures) > maxMeasures {
			fe.Add(pre+"measures", i18n.T(lang, "plan.err.max_measures", maxMeasures))
		}
		for j := range g.Measures {
			m := &g.Measures[j]
			mp := fmt.Sprintf("%smeasures[%d].", pre, j)
			id(mp+"id", &m.ID)
			m.What, m.Responsible = clean(m.What), strings.Join(strings.Fields(m.Responsible), " ")
			m.Start, m.Due = strings.TrimSpace(m.Start), strings.TrimSpace(m.Due)
			if m.What == "" {
				fe.Add(mp+"what", i18n.T(lang, "plan.err.what"))
			}
			maxLen(&fe, lang, mp+"what", m.What, maxWhat)
			maxLen(&fe, lang, mp+"responsible", m.Responsible, maxWho)
			s, okS := validDate(&fe, lang, mp+"start", m.Start)
			e, okE := validDate(&fe, lang, mp+"due", m.Due)
			if okS && okE && e.Before(s) {
				fe.Add(mp+"due", i18n.T(lang, "plan.err.due_before_start"))
			}
			if m.Status == "" {
				m.Status = Planned
			}
			if !slices.Contains(MeasureStatuses, m.Status) {
				fe.Add(mp+"status", i18n.T(lang, "plan.err.measure_status"))
			}
		}
	}
	return fe.Err()
}

// Equal reports whether two normalized documents say the same.
func (d Document) Equal(o Document) bool {
	a, _ := json.Marshal(d)
	b, _ := json.Marshal(o)
	return string(a) == string(b)
}

// Counts are the number of goals, measures and measures done.
func (d Document) Counts() (goals, measures, done int) {
	for _, g := range d.Goals {
		measures += len(g.Measures)
		for _, m := range g.Measures {
			if m.Status == Done {
				done++
			}
		}
	}
	return len(d.Goals), measures, done
}
