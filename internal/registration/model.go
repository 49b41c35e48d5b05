// SPDX-License-Identifier: AGPL-3.0-or-later

package registration

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/apperr"
)

// Kind is what a registration records.
type Kind string

// The kinds of registration.
const (
	UseOfForce         Kind = "use_of_force"
	TransportRestraint Kind = "transport_restraint"
	Contraband         Kind = "contraband"
	Incident           Kind = "incident"
	Radicalisation     Kind = "radicalisation"
)

// Kinds lists every kind in the order the UI offers them.
var Kinds = []Kind{UseOfForce, TransportRestraint, Contraband, Incident, Radicalisation}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Complainable kinds are those the client must be told about and may
// complain about: force and restraints used on them.
func (k Kind) Complainable() bool { return k == UseOfForce || k == TransportRestraint }

// Status is where a registration is in its workflow:
// draft → submitted → accepted → closed, with returned (to the author,
// with the reviewer's comments) → submitted again.
type Status string

// The statuses.
const (
	Draft     Status = "draft"
	Submitted Status = "submitted"
	Returned  Status = "returned"
	Accepted  Status = "accepted"
	Closed    Status = "closed"
)

// The choices the forms offer. Stored values are these codes; the UI
// shows them in the user's language.
var (
	Forces      = []string{"physical_hold", "escort_hold", "takedown", "pain_compliance", "shield", "baton", "oc_spray", "other"}
	Restraints  = []string{"handcuffs", "leg_restraints", "body_belt", "restraint_bed", "spit_guard", "isolation"}
	ItemKinds   = []string{"drugs", "phone", "sim_card", "weapon", "alcohol", "tobacco", "money", "other"}
	FoundDuring = []string{"cell_search", "body_search", "visit", "mail", "parcel", "common_area", "other"}
	Incidents   = []string{"violence", "threat", "self_harm", "suicide_attempt", "damage", "escape_attempt", "escape", "fire", "hostage", "disturbance", "refusal", "drugs", "other"}
	Indicators  = []string{"support_for_violent_extremism", "extremist_material", "recruiting", "changed_behaviour", "contact_with_extremists", "threats_against_groups", "other"}
	PartyRoles  = []string{"used_force", "escort", "involved", "victim", "perpetrator", "witness"}
	PartyTypes  = []string{"staff", "client", "other"}
	Outcomes    = []string{"upheld", "partly_upheld", "rejected", "withdrawn"}
)

// Item is one thing found in a search.
type Item struct {
	Kind        string  `json:"kind"`
	Description string  `json:"description"`
	Quantity    float64 `json:"quantity"`
	Unit        string  `json:"unit"` // "g", "ml", "pcs"
}

// Details are the kind's own fields. One struct for every kind keeps the
// API and its description simple; validation says which fields a kind
// needs and refuses the others' fields being set.
type Details struct {
	// What happened, in the author's words (every kind).
	Narrative string `json:"narrative"`
	// Use of force and restraint during transport.
	Forces          []string `json:"forces,omitempty"`
	Restraints      []string `json:"restraints,omitempty"`
	Reason          string   `json:"reason,omitempty"`
	DurationMinutes int      `json:"duration_minutes,omitempty"`
	BodyCameraRef   string   `json:"body_camera_ref,omitempty"`
	ClientAccount   string   `json:"client_account,omitempty"`
	// Injuries and medical care (force, restraint, incident).
	Injuries       string `json:"injuries,omitempty"`
	MedicalOffered bool   `json:"medical_offered,omitempty"`
	MedicalDone    bool   `json:"medical_done,omitempty"`
	// Restraint during transport.
	TransportRef string `json:"transport_ref,omitempty"`
	From         string `json:"from,omitempty"`
	To           string `json:"to,omitempty"`
	// Contraband.
	Items       []Item `json:"items,omitempty"`
	FoundDuring string `json:"found_during,omitempty"`
	StorageRef  string `json:"storage_ref,omitempty"`
	// Contraband and incident.
	PoliceReportRef string `json:"police_report_ref,omitempty"`
	// Incident.
	IncidentTypes []string `json:"incident_types,omitempty"`
	// Radicalisation concern.
	Indicators []string `json:"indicators,omitempty"`
	ReportedTo string   `json:"reported_to,omitempty"`
}

// Party is someone involved, in a role.
type Party struct {
	Type string `json:"type"` // staff, client or other
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	Role string `json:"role"`
}

// NewRegistration is what writing a registration takes (new, or a draft's update).
type NewRegistration struct {
	Kind       Kind    `json:"kind"`
	OccurredAt string  `json:"occurred_at"` // RFC 3339 or "YYYY-MM-DDTHH:MM" local time
	Place      string  `json:"place"`
	Details    Details `json:"details"`
	Parties    []Party `json:"parties"`
	// Submit sends the registration for review at once; otherwise it is
	// kept as a draft, which its author can continue on any device.
	Submit bool `json:"submit"`
}

// Registration is a stored registration with everything recorded about it.
type Registration struct {
	ID               string    `json:"id"`
	Kind             Kind      `json:"kind"`
	ClientID         string    `json:"client_id"`
	ClientName       string    `json:"client_name,omitempty"`
	InstitutionID    string    `json:"institution_id,omitempty"`
	UnitID           string    `json:"unit_id,omitempty"`
	OccurredAt       time.Time `json:"occurred_at"`
	Place            string    `json:"place"`
	Details          Details   `json:"details"`
	Parties          []Party   `json:"parties"`
	Status           Status    `json:"status"`
	AuthorID         string    `json:"author_id"`
	AuthorName       string    `json:"author_name"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	SubmittedAt      time.Time `json:"submitted_at,omitzero"`
	ReviewedAt       time.Time `json:"reviewed_at,omitzero"`
	ReviewerName     string    `json:"reviewer_name,omitempty"`
	ReviewComment    string    `json:"review_comment,omitempty"`
	ClosedAt         time.Time `json:"closed_at,omitzero"`
	ClientInformedAt time.Time `json:"client_informed_at,omitzero"`
	ClientInformedBy string    `json:"client_informed_by,omitempty"`
	Version          int       `json:"version"`
	// Filled when one registration is read in full.
	Statements []Statement `json:"statements,omitempty"`
	Amendments []Amendment `json:"amendments,omitempty"`
	History    []Event     `json:"history,omitempty"`
	Complaints []Complaint `json:"complaints,omitempty"`
	Photos     []Photo     `json:"photos,omitempty"`
	// Replayed is set when a retry found the registration its first
	// attempt stored.
	Replayed bool `json:"-"`
}

// Statement is an involved officer's own account.
type Statement struct {
	ID          string    `json:"id"`
	StaffID     string    `json:"staff_id"`
	StaffName   string    `json:"staff_name"`
	Status      string    `json:"status"` // requested or submitted
	Text        string    `json:"text,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	Reminded    bool      `json:"reminded"`
	Overdue     bool      `json:"overdue"`
	Version     int       `json:"version"`
}

// Amendment is a correction appended to a submitted registration or
// statement.
type Amendment struct {
	ID          string    `json:"id"`
	StatementID string    `json:"statement_id,omitempty"`
	Field       string    `json:"field"`
	OldValue    string    `json:"old_value"`
	NewValue    string    `json:"new_value"`
	Reason      string    `json:"reason"`
	AuthorName  string    `json:"author_name"`
	At          time.Time `json:"at"`
}

// Event is a line of a registration's workflow history.
type Event struct {
	At        time.Time `json:"at"`
	ActorName string    `json:"actor_name"`
	Action    string    `json:"action"`
	Comment   string    `json:"comment,omitempty"`
}

// Complaint is a client's complaint about a registration.
type Complaint struct {
	ID            string    `json:"id"`
	ReceivedAt    time.Time `json:"received_at"`
	Text          string    `json:"text"`
	Deadline      string    `json:"deadline"` // date the decision is due
	HandlerID     string    `json:"handler_id"`
	HandlerName   string    `json:"handler_name"`
	Status        string    `json:"status"` // open or decided
	Outcome       string    `json:"outcome,omitempty"`
	Decision      string    `json:"decision,omitempty"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
	DecidedByName string    `json:"decided_by_name,omitempty"`
	Overdue       bool      `json:"overdue"`
	Version       int       `json:"version"`
}

// Time limits of the workflow.
const (
	ReviewWithin        = 24 * time.Hour   // a submitted report not reviewed by then is overdue
	StatementReminder   = 24 * time.Hour   // an officer who has not given a statement is reminded
	StatementOverdue    = 72 * time.Hour   // and after this the statement is overdue
	ComplaintDecideDays = 28               // days the handler has to decide a complaint
	DraftWithin         = 24 * time.Hour   // a draft older than this is listed for its author's manager
	maxText             = 20000            // characters in a narrative or statement
	maxShort            = 300              // characters in a reference or name
	maxDuration         = 14 * 24 * 60     // minutes: two weeks
	futureSlack         = 10 * time.Minute // clocks differ a little
	pastLimit           = 5 * 365 * 24 * time.Hour
)

// amendable lists the fields an amendment may correct, with how to read
// and set each on a registration. Lists and numbers are corrected as text
// the author states; the original stays as submitted.
var amendable = []string{"narrative", "place", "occurred_at", "reason", "duration_minutes", "injuries", "client_account", "body_camera_ref", "police_report_ref", "storage_ref", "reported_to", "transport_ref", "other"}

func textField(fe *apperr.Fields, field, v string, required bool, max int) string {
	v = strings.TrimSpace(v)
	if required && v == "" {
		fe.Add(field, "Required.")
	}
	if len([]rune(v)) > max {
		fe.Add(field, fmt.Sprintf("At most %d characters.", max))
	}
	return v
}

func choices(fe *apperr.Fields, field string, vs []string, allowed []string, required bool) []string {
	out := []string{}
	for _, v := range vs {
		v = strings.TrimSpace(v)
		if v == "" || slices.Contains(out, v) {
			continue
		}
		if !slices.Contains(allowed, v) {
			fe.Add(field, "Choose from: "+strings.Join(allowed, ", ")+".")
			return out
		}
		out = append(out, v)
	}
	if required && len(out) == 0 {
		fe.Add(field, "Choose at least one.")
	}
	return out
}

// forbid reports fields set that the kind does not have, so a client of
// the API learns it sent the wrong shape rather than losing data silently.
func forbid(fe *apperr.Fields, k Kind, set map[string]bool) {
	for f, on := range set {
		if on {
			fe.Add("details."+f, fmt.Sprintf("A %s registration has no %s.", k, f))
		}
	}
}

// normalise validates n for its kind and cleans it; draft relaxes the
// fields needed only for submission (a draft may be incomplete, never
// malformed).
func (n *NewRegistration) normalise(now time.Time, draft bool) (time.Time, error) {
	var fe apperr.Fields
	if !n.Kind.Valid() {
		fe.Add("kind", "Choose one of: "+strings.Join(kindStrings(), ", ")+".")
		return time.Time{}, fe.Err()
	}
	need := !draft
	when, err := parseWhen(n.OccurredAt)
	switch {
	case err != nil:
		fe.Add("occurred_at", "Use a date and time, e.g. 2026-11-25T14:30.")
	case when.IsZero() && need:
		fe.Add("occurred_at", "Required.")
	case !when.IsZero() && when.After(now.Add(futureSlack)):
		fe.Add("occurred_at", "Cannot be in the future.")
	case !when.IsZero() && when.Before(now.Add(-pastLimit)):
		fe.Add("occurred_at", "More than five years ago; check the date.")
	}
	n.Place = textField(&fe, "place", n.Place, need, maxShort)
	d := &n.Details
	d.Narrative = textField(&fe, "details.narrative", d.Narrative, need, maxText)
	d.Reason = textField(&fe, "details.reason", d.Reason, false, maxText)
	d.Injuries = textField(&fe, "details.injuries", d.Injuries, false, maxText)
	d.ClientAccount = textField(&fe, "details.client_account", d.ClientAccount, false, maxText)
	d.BodyCameraRef = textField(&fe, "details.body_camera_ref", d.BodyCameraRef, false, maxShort)
	d.TransportRef = textField(&fe, "details.transport_ref", d.TransportRef, false, maxShort)
	d.From = textField(&fe, "details.from", d.From, false, maxShort)
	d.To = textField(&fe, "details.to", d.To, false, maxShort)
	d.StorageRef = textField(&fe, "details.storage_ref", d.StorageRef, false, maxShort)
	d.PoliceReportRef = textField(&fe, "details.police_report_ref", d.PoliceReportRef, false, maxShort)
	d.ReportedTo = textField(&fe, "details.reported_to", d.ReportedTo, false, maxShort)
	if d.DurationMinutes < 0 || d.DurationMinutes > maxDuration {
		fe.Add("details.duration_minutes", fmt.Sprintf("From 0 to %d minutes.", maxDuration))
	}
	if d.MedicalDone && !d.MedicalOffered {
		d.MedicalOffered = true // an examination done was offered
	}
	force := n.Kind == UseOfForce || n.Kind == TransportRestraint
	switch n.Kind {
	case UseOfForce:
		d.Forces = choices(&fe, "details.forces", d.Forces, Forces, false)
		d.Restraints = choices(&fe, "details.restraints", d.Restraints, Restraints, false)
		if need && len(d.Forces) == 0 && len(d.Restraints) == 0 {
			fe.Add("details.forces", "Say which force or restraints were used.")
		}
	case TransportRestraint:
		d.Restraints = choices(&fe, "details.restraints", d.Restraints, Restraints, need)
		if need && d.From == "" {
			fe.Add("details.from", "Required.")
		}
		if need && d.To == "" {
			fe.Add("details.to", "Required.")
		}
	case Contraband:
		d.FoundDuring = strings.TrimSpace(d.FoundDuring)
		if d.FoundDuring != "" && !slices.Contains(FoundDuring, d.FoundDuring) {
			fe.Add("details.found_during", "Choose from: "+strings.Join(FoundDuring, ", ")+".")
		} else if need && d.FoundDuring == "" {
			fe.Add("details.found_during", "Required.")
		}
		items := d.Items[:0:0]
		for i, it := range d.Items {
			it.Kind, it.Description, it.Unit = strings.TrimSpace(it.Kind), strings.TrimSpace(it.Description), strings.TrimSpace(it.Unit)
			if it.Kind == "" && it.Description == "" && it.Quantity == 0 {
				continue // an empty row of the form
			}
			f := fmt.Sprintf("details.items[%d]", i)
			if !slices.Contains(ItemKinds, it.Kind) {
				fe.Add(f+".kind", "Choose from: "+strings.Join(ItemKinds, ", ")+".")
			}
			if len([]rune(it.Description)) > maxShort {
				fe.Add(f+".description", fmt.Sprintf("At most %d characters.", maxShort))
			}
			if it.Quantity < 0 || it.Quantity > 1e6 {
				fe.Add(f+".quantity", "From 0 to 1 000 000.")
			}
			if it.Unit == "" {
				it.Unit = "pcs"
			}
			if !slices.Contains([]string{"pcs", "g", "ml"}, it.Unit) {
				fe.Add(f+".unit", "Choose pcs, g or ml.")
			}
			items = append(items, it)
		}
		d.Items = items
		if need && len(d.Items) == 0 {
			fe.Add("details.items", "Record at least one item.")
		}
	case Incident:
		d.IncidentTypes = choices(&fe, "details.incident_types", d.IncidentTypes, Incidents, need)
	case Radicalisation:
		d.Indicators = choices(&fe, "details.indicators", d.Indicators, Indicators, need)
		if need && d.ReportedTo == "" {
			fe.Add("details.reported_to", "Say to whom the concern was reported.")
		}
	}
	forbid(&fe, n.Kind, map[string]bool{
		"forces":            n.Kind != UseOfForce && len(d.Forces) > 0,
		"restraints":        !force && len(d.Restraints) > 0,
		"duration_minutes":  !force && d.DurationMinutes != 0,
		"body_camera_ref":   !force && d.BodyCameraRef != "",
		"client_account":    !force && n.Kind != Incident && d.ClientAccount != "",
		"transport_ref":     n.Kind != TransportRestraint && d.TransportRef != "",
		"from":              n.Kind != TransportRestraint && d.From != "",
		"to":                n.Kind != TransportRestraint && d.To != "",
		"items":             n.Kind != Contraband && len(d.Items) > 0,
		"found_during":      n.Kind != Contraband && d.FoundDuring != "",
		"storage_ref":       n.Kind != Contraband && d.StorageRef != "",
		"police_report_ref": n.Kind != Contraband && n.Kind != Incident && d.PoliceReportRef != "",
		"incident_types":    n.Kind != Incident && len(d.IncidentTypes) > 0,
		"indicators":        n.Kind != Radicalisation && len(d.Indicators) > 0,
		"reported_to":       n.Kind != Radicalisation && d.ReportedTo != "",
		"injuries":          !force && n.Kind != Incident && d.Injuries != "",
		"medical_offered":   !force && n.Kind != Incident && (d.MedicalOffered || d.MedicalDone),
	})
	if force && need && d.Reason == "" {
		fe.Add("details.reason", "Say why force or restraints were needed.")
	}
	if force && need && d.DurationMinutes == 0 {
		fe.Add("details.duration_minutes", "How long, in minutes (at least 1).")
	}
	parties := []Party{}
	for i, p := range n.Parties {
		p.Type, p.ID, p.Name, p.Role = strings.TrimSpace(p.Type), strings.TrimSpace(p.ID), strings.TrimSpace(p.Name), strings.TrimSpace(p.Role)
		if p.Type == "" && p.ID == "" && p.Name == "" && p.Role == "" {
			continue
		}
		f := fmt.Sprintf("parties[%d]", i)
		if !slices.Contains(PartyTypes, p.Type) {
			fe.Add(f+".type", "Choose staff, client or other.")
		}
		if !slices.Contains(PartyRoles, p.Role) {
			fe.Add(f+".role", "Choose from: "+strings.Join(PartyRoles, ", ")+".")
		}
		if p.Type != "other" && p.ID == "" {
			fe.Add(f+".id", "Choose the person.")
		}
		if p.Type == "other" && p.Name == "" {
			fe.Add(f+".name", "Give the person's name.")
		}
		if len([]rune(p.Name)) > maxShort {
			fe.Add(f+".name", fmt.Sprintf("At most %d characters.", maxShort))
		}
		dup := slices.ContainsFunc(parties, func(q Party) bool { return q.ID != "" && q.ID == p.ID && q.Role == p.Role })
		if !dup {
			parties = append(parties, p)
		}
	}
	if len(parties) > 100 {
		fe.Add("parties", "At most 100 people.")
	}
	n.Parties = parties
	if need && n.Kind == UseOfForce && !slices.ContainsFunc(parties, func(p Party) bool { return p.Type == "staff" && p.Role == "used_force" }) {
		fe.Add("parties", "Name every officer who used force (role used_force).")
	}
	return when, fe.Err()
}

func kindStrings() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = string(k)
	}
	return out
}

// zone is where local times without an offset are read. The registrations
// are made where the service runs; forms send local wall-clock times.
var zone = func() *time.Location {
	if z, err := time.LoadLocation("Europe/Stockholm"); err == nil {
		return z
	}
	return time.UTC
}()

// parseWhen reads an RFC 3339 time, or a local "YYYY-MM-DDTHH:MM" (the
// HTML datetime-local format); empty gives the zero time.
func parseWhen(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("registration: bad time %q", s)
}
