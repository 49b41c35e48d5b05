// SPDX-License-Identifier: AGPL-3.0-or-later

// Package access knows who is calling — staff signed in with a session,
// or an API client with a bearer token — what their role allows, and which
// clients their caseload covers. Handlers never decide access themselves:
// every route declares a permission and a scope, and the web layer asks
// this package.
package access

import (
	"slices"
	"sort"
)

// Role is a staff member's or API client's job.
type Role string

// The staff roles.
const (
	Officer          Role = "officer"
	CaseWorker       Role = "case_worker"
	TransportPlanner Role = "transport_planner"
	Finance          Role = "finance"
	UnitManager      Role = "unit_manager"
	Security         Role = "security"
	Analyst          Role = "analyst"
	Administrator    Role = "administrator"
)

// Roles lists every role, in the order the UI offers them.
var Roles = []Role{Officer, CaseWorker, TransportPlanner, Finance, UnitManager, Security, Analyst, Administrator}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Permission is one thing a role may do.
type Permission string

// The permissions routes declare.
const (
	ClientRead       Permission = "client.read"       // see a client's record
	ClientWrite      Permission = "client.write"      // register a person, legal basis, edit details
	ClientMove       Permission = "client.move"       // admit, transfer, leave, escape, release
	ClientAlert      Permission = "client.alert"      // set and end alerts
	ClientMerge      Permission = "client.merge"      // merge duplicate records and undo merges
	EstateRead       Permission = "estate.read"       // see institutions, units, cells
	EstateWrite      Permission = "estate.write"      // change the estate
	Headcount        Permission = "headcount.read"    // the nominal roll (names per cell)
	AuditRead        Permission = "audit.read"        // the auditor view
	BreakGlassReview Permission = "breakglass.review" // review break-glass accesses
	UsersAdmin       Permission = "users.admin"       // staff accounts
	TokensAdmin      Permission = "tokens.admin"      // API tokens
	StatsRead        Permission = "stats.read"        // aggregate figures, no names
	// Registrations: use of force, restraints, contraband, incidents and
	// radicalisation concerns. Who may see a radicalisation concern is
	// narrower still (the security role and its author), decided by the
	// registration service.
	RegistrationRead   Permission = "registration.read"   // read registrations and statements
	RegistrationWrite  Permission = "registration.write"  // write, submit, amend; give a statement
	RegistrationReview Permission = "registration.review" // accept, return and close; overdue lists
	ComplaintHandle    Permission = "complaint.handle"    // record, handle and decide complaints
	PlanRead           Permission = "plan.read"           // read action plans and their history
	PlanWrite          Permission = "plan.write"          // write action plans
	// Placement: the non-association register and cell-sharing
	// assessments the placement rules read, and the cell move screen.
	PlacementRead  Permission = "placement.read"  // see non-associations and sharing assessments
	PlacementWrite Permission = "placement.write" // record, change and end them; assess; propose a batch placement
	// PlacementAccept applies a batch placement's moves: narrower than
	// placement.write, because it moves many people at once.
	PlacementAccept Permission = "placement.accept"
	// Authenticated is held by every signed-in principal (own profile,
	// sign-out, search page shell).
	Authenticated Permission = "authenticated"
)

var grants = map[Role][]Permission{
	Officer:          {ClientRead, ClientMove, ClientAlert, EstateRead, Headcount, RegistrationRead, RegistrationWrite, PlanRead, PlanWrite, PlacementRead},
	CaseWorker:       {ClientRead, ClientWrite, ClientMove, ClientAlert, ClientMerge, EstateRead, Headcount, RegistrationRead, RegistrationWrite, ComplaintHandle, PlanRead, PlanWrite, PlacementRead, PlacementWrite},
	TransportPlanner: {ClientRead, EstateRead, PlacementRead},
	Finance:          {ClientRead},
	UnitManager:      {ClientRead, ClientWrite, ClientMove, ClientAlert, ClientMerge, EstateRead, EstateWrite, Headcount, RegistrationRead, RegistrationWrite, RegistrationReview, ComplaintHandle, PlanRead, PlanWrite, PlacementRead, PlacementWrite, PlacementAccept},
	Security:         {ClientRead, ClientAlert, EstateRead, Headcount, AuditRead, BreakGlassReview, RegistrationRead, RegistrationWrite, RegistrationReview, PlacementRead, PlacementWrite, PlacementAccept},
	Analyst:          {EstateRead, StatsRead},
	Administrator:    {EstateRead, EstateWrite, UsersAdmin, TokensAdmin, AuditRead},
}

// Allows reports whether role r holds permission p.
func (r Role) Allows(p Permission) bool {
	if p == Authenticated {
		return r.Valid()
	}
	return slices.Contains(grants[r], p)
}

// RolesWith lists the roles holding p.
func RolesWith(p Permission) []Role {
	var out []Role
	for _, r := range Roles {
		if r.Allows(p) {
			out = append(out, r)
		}
	}
	return out
}

// Permissions lists every permission, sorted.
func Permissions() []Permission {
	seen := map[Permission]bool{Authenticated: true}
	for _, ps := range grants {
		for _, p := range ps {
			seen[p] = true
		}
	}
	out := make([]Permission, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Everywhere is the caseload entry of a national role.
const Everywhere = "*"

// Principal is the caller of a request.
type Principal struct {
	ID       string // staff id, or API token id
	Username string
	Name     string
	Role     Role
	Caseload []string // institution, unit and office ids, or Everywhere
	Lang     string
	IsToken  bool   // an API client, not a person
	CSRF     string // the session's CSRF token (empty for tokens)
	Remote   string
}

// Can reports whether the principal's role holds p.
func (p *Principal) Can(perm Permission) bool { return p != nil && p.Role.Allows(perm) }

// Covers reports whether any of locations is in the caseload.
func (p *Principal) Covers(locations ...string) bool {
	if p == nil {
		return false
	}
	for _, c := range p.Caseload {
		if c == Everywhere {
			return true
		}
		for _, l := range locations {
			if l != "" && l == c {
				return true
			}
		}
	}
	return false
}
