// SPDX-License-Identifier: AGPL-3.0-or-later

// Package client is the person register: one record per person for life,
// with their identities, legal bases, stays (custody or community), the
// movements between cells, units and institutions, alerts, and one
// timeline of everything that happened to them. State changes go through
// an explicit transition table, so an impossible move is refused with a
// clear message. Every read and write is audited.
package client

import (
	"fmt"
	"slices"
	"time"
)

// Status is where a person stands with the service.
type Status string

// The statuses.
const (
	Registered  Status = "registered"   // known, no active stay
	InCustody   Status = "in_custody"   // admitted, in a cell
	OnLeave     Status = "on_leave"     // temporary leave; the bed is kept
	Escaped     Status = "escaped"      // unlawfully at large; the bed is freed
	Released    Status = "released"     // custody ended
	InCommunity Status = "in_community" // serving a community sentence
)

// Statuses lists every status.
var Statuses = []Status{Registered, InCustody, OnLeave, Escaped, Released, InCommunity}

// Action is a movement a user performs.
type Action string

// The movements.
const (
	Admit          Action = "admit"
	Transfer       Action = "transfer"
	LeaveOut       Action = "leave_out"
	LeaveReturn    Action = "leave_return"
	Escape         Action = "escape"
	EscapeReturn   Action = "escape_return"
	Release        Action = "release"
	StartCommunity Action = "start_community"
	EndCommunity   Action = "end_community"
)

// transition is one row of the table: from which statuses an action may
// start, and where it leads.
type transition struct {
	from []Status
	to   Status
	// needsCell: the action places the person in a cell.
	needsCell bool
}

// transitions is the state machine of a person's custody and community
// periods. Anything not listed is refused.
var transitions = map[Action]transition{
	Admit:          {from: []Status{Registered, Released, InCommunity}, to: InCustody, needsCell: true},
	Transfer:       {from: []Status{InCustody}, to: InCustody, needsCell: true},
	LeaveOut:       {from: []Status{InCustody}, to: OnLeave},
	LeaveReturn:    {from: []Status{OnLeave}, to: InCustody},
	Escape:         {from: []Status{InCustody, OnLeave}, to: Escaped},
	EscapeReturn:   {from: []Status{Escaped}, to: InCustody, needsCell: true},
	Release:        {from: []Status{InCustody, OnLeave}, to: Released},
	StartCommunity: {from: []Status{Registered, Released}, to: InCommunity},
	EndCommunity:   {from: []Status{InCommunity}, to: Released},
}

// Actions lists the actions in the order the UI offers them.
var Actions = []Action{Admit, Transfer, LeaveOut, LeaveReturn, Escape, EscapeReturn, Release, StartCommunity, EndCommunity}

var statusText = map[Status]string{
	Registered: "registered", InCustody: "in custody", OnLeave: "on leave", Escaped: "escaped",
	Released: "released", InCommunity: "serving a community sentence",
}

var actionText = map[Action]string{
	Admit: "admit", Transfer: "transfer", LeaveOut: "send on leave", LeaveReturn: "return from leave",
	Escape: "register as escaped", EscapeReturn: "return after escape", Release: "release",
	StartCommunity: "start a community sentence for", EndCommunity: "end the community sentence of",
}

// Next returns the status that action leads to from s, or a refusal that
// says why.
func Next(s Status, a Action) (Status, error) {
	t, ok := transitions[a]
	if !ok {
		return "", fmt.Errorf("unknown action %q", a)
	}
	if !slices.Contains(t.from, s) {
		return "", fmt.Errorf("cannot %s a client who is %s", actionText[a], statusText[s])
	}
	return t.to, nil
}

// Allowed lists the actions possible from s.
func Allowed(s Status) []Action {
	var out []Action
	for _, a := range Actions {
		if slices.Contains(transitions[a].from, s) {
			out = append(out, a)
		}
	}
	return out
}

// NeedsCell reports whether action a places the person in a cell.
func NeedsCell(a Action) bool { return transitions[a].needsCell }

// Basis kinds.
const (
	BasisRemand    = "remand"
	BasisSentence  = "sentence"
	BasisCommunity = "community"
)

// Alert kinds.
var AlertKinds = []string{"violence", "self_harm", "suicide_watch", "escape", "medical", "co_accused", "other"}

// Client is a person's record as staff see it.
type Client struct {
	ID                string    `json:"id"`
	Number            string    `json:"number"`
	GivenName         string    `json:"given_name"`
	FamilyName        string    `json:"family_name"`
	Aliases           []string  `json:"aliases"`
	BirthDate         string    `json:"birth_date"`
	Sex               string    `json:"sex"`
	NationalID        string    `json:"national_id,omitempty"`
	NationalIDCountry string    `json:"national_id_country,omitempty"`
	Nationality       string    `json:"nationality,omitempty"`
	Languages         []string  `json:"languages"`
	Status            Status    `json:"status"`
	Location          *Location `json:"location,omitempty"`
	HomeLocation      string    `json:"home_location"`
	StayID            string    `json:"stay_id,omitempty"`
	MergedInto        string    `json:"merged_into,omitempty"`
	Version           int       `json:"version"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	// Filled by the page read.
	Alerts      []Alert      `json:"alerts,omitempty"`
	LegalBases  []LegalBasis `json:"legal_bases,omitempty"`
	Stays       []Stay       `json:"stays,omitempty"`
	Photo       *PhotoInfo   `json:"photo,omitempty"`
	AllowedNext []Action     `json:"allowed_actions,omitempty"`
}

// Name is the person's full name.
func (c *Client) Name() string { return c.GivenName + " " + c.FamilyName }

// Location is where a person is (or was last) placed.
type Location struct {
	InstitutionID   string `json:"institution_id,omitempty"`
	InstitutionName string `json:"institution_name,omitempty"`
	UnitID          string `json:"unit_id,omitempty"`
	UnitName        string `json:"unit_name,omitempty"`
	CellID          string `json:"cell_id,omitempty"`
	CellLabel       string `json:"cell_label,omitempty"`
	OfficeID        string `json:"office_id,omitempty"`
	OfficeName      string `json:"office_name,omitempty"`
}

// LegalBasis is a remand order, a prison sentence or a community sentence.
type LegalBasis struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	StartDate  string    `json:"start_date"`
	LengthDays int       `json:"length_days,omitempty"`
	EndDate    string    `json:"end_date,omitempty"`
	Offences   string    `json:"offences"`
	Court      string    `json:"court,omitempty"`
	CaseRef    string    `json:"case_ref,omitempty"`
	Ended      bool      `json:"ended"`
	Version    int       `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
}

// Stay is one custody or community period.
type Stay struct {
	ID           string    `json:"id"`
	Kind         string    `json:"kind"` // "custody" or "community"
	LegalBasisID string    `json:"legal_basis_id,omitempty"`
	StartedAt    time.Time `json:"started_at"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
	EndReason    string    `json:"end_reason,omitempty"`
	LocationID   string    `json:"location_id"`
}

// Movement is one recorded movement.
type Movement struct {
	ID           string    `json:"id"`
	ClientID     string    `json:"client_id"`
	StayID       string    `json:"stay_id,omitempty"`
	Action       Action    `json:"action"`
	At           time.Time `json:"at"`
	FromStatus   Status    `json:"from_status"`
	ToStatus     Status    `json:"to_status"`
	FromCell     string    `json:"from_cell,omitempty"`
	ToCell       string    `json:"to_cell,omitempty"`
	FromLocation string    `json:"from_location,omitempty"`
	ToLocation   string    `json:"to_location,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	By           string    `json:"by_staff"`
}

// Alert warns staff about a risk or need.
type Alert struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Note      string    `json:"note,omitempty"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at,omitzero"`
	SetBy     string    `json:"set_by"`
	SetByName string    `json:"set_by_name"`
	Active    bool      `json:"active"`
	Version   int       `json:"version"`
}

// HistoryEntry is one line of the timeline.
type HistoryEntry struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Summary   string    `json:"summary"`
	ActorName string    `json:"actor_name"`
	RefType   string    `json:"ref_type,omitempty"`
	RefID     string    `json:"ref_id,omitempty"`
}

// Summary is a client in a list (search results, the nominal roll).
type Summary struct {
	ID         string   `json:"id"`
	Number     string   `json:"number"`
	GivenName  string   `json:"given_name"`
	FamilyName string   `json:"family_name"`
	BirthDate  string   `json:"birth_date"`
	Status     Status   `json:"status"`
	Location   Location `json:"location"`
	Alerts     []string `json:"alerts,omitempty"`
	// InCaseload is false for a search hit outside the caller's caseload:
	// only name, number and birth date are shown, with break-glass.
	InCaseload bool    `json:"in_caseload"`
	Score      float64 `json:"score,omitempty"`
}

func locationsOf(l *Location, home string) []string {
	var out []string
	if l != nil {
		for _, s := range []string{l.InstitutionID, l.UnitID, l.OfficeID} {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 && home != "" {
		out = append(out, home)
	}
	return out
}
