// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/apperr"
)

// The scopes of a non-association, narrowest first: the people may not
// share a cell, a unit, an institution, or a transport.
const (
	ScopeCell        = "cell"
	ScopeUnit        = "unit"
	ScopeInstitution = "institution"
	ScopeTransport   = "transport"
)

// Scopes lists the scopes in the order the UI offers them.
var Scopes = []string{ScopeCell, ScopeUnit, ScopeInstitution, ScopeTransport}

// ReasonCategories are why people are kept apart.
var ReasonCategories = []string{"co_accused", "gang_conflict", "victim_perpetrator", "threat", "other"}

// The statuses of a non-association.
const (
	Active = "active"
	Ended  = "ended"
)

// MaxMembers bounds a group; larger groups are gang-wide rules that
// belong in a policy, not in one decision about named people.
const MaxMembers = 20

// Member is one person of a non-association, as the register knows them
// now (after merges).
type Member struct {
	ClientID      string `json:"client_id"`
	Number        string `json:"number"`
	Name          string `json:"name"`
	InstitutionID string `json:"institution_id,omitempty"`
	UnitID        string `json:"unit_id,omitempty"`
	// locations are the member's caseload locations, for filtering lists.
	locations []string
}

// NonAssociation is a decision that people must be kept apart.
type NonAssociation struct {
	ID             string    `json:"id"`
	Members        []Member  `json:"members"`
	Scope          string    `json:"scope"`
	ReasonCategory string    `json:"reason_category"`
	Reason         string    `json:"reason"`
	DecidedByID    string    `json:"decided_by_id"`
	DecidedByName  string    `json:"decided_by_name"`
	DecidedAt      time.Time `json:"decided_at"`
	ReviewDate     string    `json:"review_date"` // YYYY-MM-DD
	Status         string    `json:"status"`
	EndedAt        time.Time `json:"ended_at,omitzero"`
	EndedByName    string    `json:"ended_by_name,omitempty"`
	EndReason      string    `json:"end_reason,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
	Version        int       `json:"version"`
	// ReviewDue is set for an active decision whose review date has
	// passed: it still holds (a lapsed review must not free people to
	// meet) but someone must look at it.
	ReviewDue bool `json:"review_due"`
	// Versions, newest first, when one non-association is read in full.
	Versions []Version `json:"versions,omitempty"`
	// ViaClientID is, in a staff list, a member in the caller's caseload:
	// the one whose page the list links to.
	ViaClientID string `json:"-"`
}

// Others are the members other than clientID.
func (n *NonAssociation) Others(clientID string) []Member {
	var out []Member
	for _, m := range n.Members {
		if m.ClientID != clientID {
			out = append(out, m)
		}
	}
	return out
}

// Version is a non-association as it stood after one change.
type Version struct {
	Version        int       `json:"version"`
	At             time.Time `json:"at"`
	ActorName      string    `json:"actor_name"`
	Action         string    `json:"action"` // created, updated, ended
	Members        []string  `json:"members"`
	Scope          string    `json:"scope"`
	ReasonCategory string    `json:"reason_category"`
	Reason         string    `json:"reason"`
	ReviewDate     string    `json:"review_date"`
	EndReason      string    `json:"end_reason,omitempty"`
}

// NewNonAssociation is what recording (or changing) a non-association
// takes. The client in the path is always a member; Members names the
// others by client id.
type NewNonAssociation struct {
	Members        []string `json:"members"`
	Scope          string   `json:"scope"`
	ReasonCategory string   `json:"reason_category"`
	Reason         string   `json:"reason"`
	ReviewDate     string   `json:"review_date"` // YYYY-MM-DD
}

// validate checks everything but the members' existence, which needs the
// transaction. today is the date in the service's zone.
func (n *NewNonAssociation) validate(today string) error {
	var fe apperr.Fields
	n.Reason = strings.TrimSpace(n.Reason)
	n.ReviewDate = strings.TrimSpace(n.ReviewDate)
	if !slices.Contains(Scopes, n.Scope) {
		fe.Add("scope", "Choose from: "+strings.Join(Scopes, ", ")+".")
	}
	if !slices.Contains(ReasonCategories, n.ReasonCategory) {
		fe.Add("reason_category", "Choose from: "+strings.Join(ReasonCategories, ", ")+".")
	}
	switch {
	case n.Reason == "":
		fe.Add("reason", "Required.")
	case len(n.Reason) > 4000:
		fe.Add("reason", "At most 4000 characters.")
	}
	checkReviewDate(&fe, n.ReviewDate, today)
	if len(n.Members) == 0 {
		fe.Add("members", "Name at least one other person.")
	}
	if len(n.Members) >= MaxMembers {
		fe.Add("members", fmt.Sprintf("At most %d people.", MaxMembers))
	}
	return fe.Err()
}

// checkReviewDate requires a date from today up to three years ahead: a
// non-association or an assessment nobody looks at again for longer is
// one nobody looks at again.
func checkReviewDate(fe *apperr.Fields, d, today string) {
	t, err := time.Parse("2006-01-02", d)
	switch {
	case d == "":
		fe.Add("review_date", "Required.")
	case err != nil:
		fe.Add("review_date", "Use a date (YYYY-MM-DD).")
	case d < today:
		fe.Add("review_date", "Cannot be in the past.")
	default:
		now, _ := time.Parse("2006-01-02", today)
		if t.After(now.AddDate(3, 0, 0)) {
			fe.Add("review_date", "At most three years ahead.")
		}
	}
}

// The outcomes of a cell-sharing assessment.
const (
	NotSuitable = "not_suitable"
	SuitableAny = "suitable_any"
	// Conditional: may share only with cellmates meeting every condition.
	Conditional = "conditional"
)

// Outcomes lists the outcomes in the order the UI offers them.
var Outcomes = []string{NotSuitable, SuitableAny, Conditional}

// The conditions of a conditional outcome; they combine.
const (
	OnlyNonSmoker          = "only_non_smoker"
	OnlySameLanguage       = "only_same_language"
	OnlyWithoutViolence    = "only_without_violence_alert"
	violenceAlert          = "violence"
	assessmentReasonsLimit = 4000
)

// Conditions lists the conditions.
var Conditions = []string{OnlyNonSmoker, OnlySameLanguage, OnlyWithoutViolence}

// Assessment is a cell-sharing risk assessment of one person.
type Assessment struct {
	ID         string   `json:"id"`
	ClientID   string   `json:"client_id"`
	Outcome    string   `json:"outcome"`
	Conditions []string `json:"conditions"`
	// Smoker records whether the person smokes, which another person's
	// only_non_smoker condition is checked against.
	Smoker         bool      `json:"smoker"`
	Reasons        string    `json:"reasons"`
	AssessedByID   string    `json:"assessed_by_id"`
	AssessedByName string    `json:"assessed_by_name"`
	AssessedAt     time.Time `json:"assessed_at"`
	ReviewDate     string    `json:"review_date"`
	ReviewDue      bool      `json:"review_due"`
}

// MayShare reports whether the assessment allows a shared cell at all.
func (a *Assessment) MayShare() bool { return a != nil && a.Outcome != NotSuitable }

// NewAssessment is what recording an assessment takes.
type NewAssessment struct {
	Outcome    string   `json:"outcome"`
	Conditions []string `json:"conditions"`
	Smoker     bool     `json:"smoker"`
	Reasons    string   `json:"reasons"`
	ReviewDate string   `json:"review_date"`
}

func (n *NewAssessment) validate(today string) error {
	var fe apperr.Fields
	n.Reasons = strings.TrimSpace(n.Reasons)
	n.ReviewDate = strings.TrimSpace(n.ReviewDate)
	if !slices.Contains(Outcomes, n.Outcome) {
		fe.Add("outcome", "Choose from: "+strings.Join(Outcomes, ", ")+".")
	}
	var conds []string
	for i, c := range n.Conditions {
		if !slices.Contains(Conditions, c) {
			fe.Add(fmt.Sprintf("conditions[%d]", i), "Choose from: "+strings.Join(Conditions, ", ")+".")
			continue
		}
		if !slices.Contains(conds, c) {
			conds = append(conds, c)
		}
	}
	slices.Sort(conds)
	n.Conditions = conds
	switch {
	case n.Outcome == Conditional && len(conds) == 0 && !fe.Has("conditions[0]"):
		fe.Add("conditions", "Choose at least one condition.")
	case n.Outcome != Conditional && n.Outcome != "" && len(n.Conditions) > 0:
		fe.Add("conditions", "Conditions go with a conditional outcome only.")
	}
	switch {
	case n.Reasons == "":
		fe.Add("reasons", "Required.")
	case len(n.Reasons) > assessmentReasonsLimit:
		fe.Add("reasons", fmt.Sprintf("At most %d characters.", assessmentReasonsLimit))
	}
	checkReviewDate(&fe, n.ReviewDate, today)
	if n.Conditions == nil {
		n.Conditions = []string{}
	}
	return fe.Err()
}

// zone is where the service's dates (review dates, "today") are read.
var zone = func() *time.Location {
	if z, err := time.LoadLocation("Europe/Stockholm"); err == nil {
		return z
	}
	return time.UTC
}()

func dateOf(t time.Time) string { return t.In(zone).Format("2006-01-02") }
