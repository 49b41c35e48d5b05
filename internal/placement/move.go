// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/placement/solve"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

// Rules is what the placement rules read from the registers about a set
// of people: the sharing assessment in force of each (by client id) and
// the active non-associations with a member among them, and the
// placement profile in force of each.
type Rules struct {
	Assessments     map[string]Assessment
	Profiles        map[string]Profile
	NonAssociations []*NonAssociation
}

// RulesFor reads the rules about the people ids (canonical client ids).
// It is not an audited read on its own: the caller records what it
// shows (the move screen audits the person it ranks beds for, and the
// nominal roll it read audits the cell-mates).
func (s *Service) RulesFor(ctx context.Context, ids []string) (Rules, error) {
	return db.Read(ctx, s.DB, func(tx *db.Tx) (Rules, error) {
		as, err := latestAssessments(ctx, tx, ids)
		if err != nil {
			return Rules{}, err
		}
		today := dateOf(tx.Now)
		for id, a := range as {
			a.ReviewDue = a.ReviewDate < today
			as[id] = a
		}
		ps, err := latestProfiles(ctx, tx, ids)
		if err != nil {
			return Rules{}, err
		}
		rows, err := activeNAsOf(ctx, tx, ids)
		if err != nil {
			return Rules{}, err
		}
		nas, err := complete(ctx, tx, rows)
		return Rules{Assessments: as, Profiles: ps, NonAssociations: nas}, err
	})
}

// sharingOf turns an assessment into the solver's sharing flags. No
// assessment is "never": a shared cell needs an assessment first.
func sharingOf(a *Assessment) solve.Sharing {
	if a == nil || a.Outcome == NotSuitable {
		return solve.ShareNever
	}
	var s solve.Sharing
	for _, c := range a.Conditions {
		switch c {
		case OnlyNonSmoker:
			s |= solve.ShareNonSmoker
		case OnlySameLanguage:
			s |= solve.ShareSameLanguage
		case OnlyWithoutViolence:
			s |= solve.ShareNoViolence
		}
	}
	return s
}

// riskOf is a person's risk towards cell-mates (0–100). Until the service
// keeps a risk assessment of its own it is read from the alerts: a
// violence alert weighs most, an escape alert a little; anyone else has a
// small base risk so that sharing is never free.
func riskOf(alerts []string) int {
	r := 10
	if slices.Contains(alerts, violenceAlert) {
		r += 60
	}
	if slices.Contains(alerts, "escape") {
		r += 10
	}
	return r
}

var scopeOf = map[string]solve.Scope{ScopeCell: solve.ScopeCell, ScopeUnit: solve.ScopeUnit, ScopeInstitution: solve.ScopeInstitution, ScopeTransport: solve.ScopeTransport}

func genderOf(s string) solve.Gender {
	switch strings.ToLower(s) {
	case "f", "female":
		return solve.Female
	case "m", "male":
		return solve.Male
	}
	return solve.GenderAny
}

// world is a solve.Instance with what the screens need to name its
// indexes.
type world struct {
	in      *solve.Instance
	cells   []estate.Cell
	people  []client.Occupant
	where   map[string][2]string // cell id → unit name, institution name
	mover   int
	sharing map[int]bool // people with a sharing assessment
	cellIdx map[string]int
	idx     map[string]int // person id → index into people
	units   []UnitRef
}

// UnitRef names a unit of a placement problem with its institution, for
// the caseload check of a stored proposal.
type UnitRef struct {
	UnitID          string `json:"unit_id"`
	UnitName        string `json:"unit_name"`
	InstitutionID   string `json:"institution_id"`
	InstitutionName string `json:"institution_name"`
}

// build makes the placement problem of the caseload's units for moving
// the person c: every cell of the units p's caseload covers (and the
// person's own unit, as a break-glass caller's caseload may not), everyone
// on their roll, and what the registers say about them.
func (h *Handlers) build(ctx context.Context, p *access.Principal, c *client.Client) (*world, error) {
	w, err := buildWorld(ctx, h.Estate, h.Client, h.Placement, func(inst, u estate.Location) bool {
		return p.Covers(inst.ID, u.ID) || u.ID == c.Location.UnitID
	}, c.ID)
	if err != nil {
		return nil, err
	}
	w.mover = -1
	if i, ok := w.idx[c.ID]; ok {
		w.mover = i
	}
	if w.mover < 0 {
		return nil, apperr.New(apperr.Conflict, "Only a person in custody in a cell of your caseload can be moved to another cell.")
	}
	return w, nil
}

// buildWorld makes the placement problem of the units include admits:
// their cells from the estate (gender, security, accessibility, smoking,
// out of use), everyone on their roll with a cell (and keep, whoever they
// are), their placement profiles (minimum security, accessibility,
// remand restrictions), and the sharing assessments and non-associations
// between them.
// Reading the roll is an audited read of everyone on it.
func buildWorld(ctx context.Context, est *estate.Service, cl *client.Service, rules *Service, include func(inst, unit estate.Location) bool, keep string) (*world, error) {
	tree, err := est.Tree(ctx)
	if err != nil {
		return nil, err
	}
	w := &world{in: &solve.Instance{Regions: []solve.Region{{ID: "-"}}}, where: map[string][2]string{}, sharing: map[int]bool{},
		cellIdx: map[string]int{}, idx: map[string]int{}, mover: -1}
	// An institution's own weights (placement_weights) replace these
	// there. The register knows neither the staff's languages, the
	// programmes, nor home regions yet: those terms would cost every bed
	// alike, so they are zero everywhere.
	w.in.Weights = DefaultWeightValues().Solve()
	var unitIDs []string
	for _, inst := range tree {
		if inst.Kind != estate.Institution {
			continue
		}
		ii := -1
		for _, u := range inst.Units {
			if !include(inst, u) {
				continue
			}
			if ii < 0 {
				ii = len(w.in.Institutions)
				w.in.Institutions = append(w.in.Institutions, solve.Institution{ID: inst.ID})
			}
			ui := len(w.in.Units)
			w.in.Units = append(w.in.Units, solve.Unit{ID: u.ID, Institution: ii})
			w.units = append(w.units, UnitRef{UnitID: u.ID, UnitName: u.Name, InstitutionID: inst.ID, InstitutionName: inst.Name})
			unitIDs = append(unitIDs, u.ID)
			cells, err := est.Cells(ctx, u.ID)
			if err != nil {
				return nil, err
			}
			for _, ce := range cells {
				g := ce.Gender
				if g == "" || g == "any" {
					g = u.Gender
				}
				w.cellIdx[ce.ID] = len(w.in.Cells)
				w.in.Cells = append(w.in.Cells, solve.Cell{ID: ce.ID, Unit: ui, Capacity: ce.Capacity, Gender: genderOf(g),
					Security: estate.MaxSecurity + 1 - ce.SecurityLevel, Accessible: ce.Accessible, OutOfUse: ce.OutOfUse != nil, Smoking: ce.Smoking,
					Remand: inst.Category == remandCategory, Juvenile: u.Category == estate.Juvenile})
				w.cells = append(w.cells, ce)
				w.where[ce.ID] = [2]string{u.Name, inst.Name}
			}
		}
	}
	instIDs := make([]string, len(w.in.Institutions))
	for i, it := range w.in.Institutions {
		instIDs[i] = it.ID
	}
	own, err := rules.weightsOf(ctx, instIDs)
	if err != nil {
		return nil, err
	}
	for i, it := range w.in.Institutions {
		if v, ok := own[it.ID]; ok {
			sw := v.Solve()
			w.in.Institutions[i].Weights = &sw
		}
	}
	roll, err := cl.Occupants(ctx, unitIDs)
	if err != nil {
		return nil, err
	}
	for _, o := range roll {
		if o.CellID == "" && o.ID != keep {
			continue // escaped: no bed to count
		}
		w.people = append(w.people, o)
	}
	ids := make([]string, len(w.people))
	for i, o := range w.people {
		ids[i] = o.ID
	}
	rs, err := rules.RulesFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	// The remand rule (remand people only in remand cells) applies where
	// the problem has remand cells: a caseload without a remand
	// institution holds its remand people where they are.
	remandRule := slices.ContainsFunc(w.in.Cells, func(c solve.Cell) bool { return c.Remand })
	today := dateOf(rules.DB.Now())
	for i, o := range w.people {
		w.idx[o.ID] = i
		cur := solve.NoCell
		if k, ok := w.cellIdx[o.CellID]; ok {
			cur = k
		}
		var a *Assessment
		if as, ok := rs.Assessments[o.ID]; ok {
			a = &as
			w.sharing[i] = true
		}
		var pf *Profile
		if p, ok := rs.Profiles[o.ID]; ok {
			pf = &p
		}
		lang := ""
		if len(o.Languages) > 0 {
			lang = o.Languages[0]
		}
		g := genderOf(o.Sex)
		if g == solve.GenderAny {
			g = solve.Male
		}
		w.in.Clients = append(w.in.Clients, solve.Client{ID: o.ID, Gender: g, Sharing: sharingOf(a), Smoker: a != nil && a.Smoker, Language: lang,
			Remand: o.Remand && remandRule, Juvenile: juvenile(o.BirthDate, today),
			MinSecurity: minSecurityOf(pf), NeedsAccessible: pf != nil && pf.Accessible, Restricted: pf != nil && pf.Restricted,
			Violence: slices.Contains(o.Alerts, violenceAlert), Risk: riskOf(o.Alerts), Home: -1, Current: cur, Lock: solve.NoCell})
	}
	for _, n := range rs.NonAssociations {
		for i, a := range n.Members {
			for _, b := range n.Members[i+1:] {
				ia, okA := w.idx[a.ClientID]
				ib, okB := w.idx[b.ClientID]
				if okA && okB {
					w.in.NonAssociations = append(w.in.NonAssociations, solve.NonAssociation{A: ia, B: ib, Scope: scopeOf[n.Scope]})
				}
			}
		}
	}
	return w, nil
}

// remandCategory is the estate category of a remand prison: its cells
// are remand cells.
const remandCategory = "remand"

// juvenile reports whether a person born on birth (YYYY-MM-DD) is under
// 18 on today (YYYY-MM-DD). The estate marks no unit as a juvenile unit,
// so a juvenile has no cell that keeps the rule: the move screen greys
// every bed and a proposal explains that no placement exists.
func juvenile(birth, today string) bool {
	b, err := time.Parse(time.DateOnly, birth)
	if err != nil {
		return false
	}
	return b.AddDate(18, 0, 0).Format(time.DateOnly) > today
}

// Bed is a cell with a free bed on the move screen.
type Bed struct {
	CellID      string
	Label       string
	Unit        string
	Institution string
	Free        int
	Capacity    int
	Current     bool // the person's own cell: staying
	Allowed     bool
	Score       int64
	Cellmates   []string
	Reasons     []string
	WhyNot      []string
}

type moveData struct {
	ClientID   string
	ClientName string
	Version    int
	Assessed   bool
	Beds       []Bed
	Allowed    int
}

// rank ranks every free bed for the person, with the reasons in lang.
func (h *Handlers) rank(ctx context.Context, p *access.Principal, lang i18n.Lang, c *client.Client) (*moveData, error) {
	if c.Status != client.InCustody || c.Location == nil || c.Location.CellID == "" {
		return nil, apperr.New(apperr.Conflict, "Only a person in custody in a cell of your caseload can be moved to another cell.")
	}
	w, err := h.build(ctx, p, c)
	if err != nil {
		return nil, err
	}
	opts, err := solve.Rank(w.in, w.mover)
	if err != nil {
		return nil, fmt.Errorf("placement: rank: %w", err)
	}
	d := &moveData{ClientID: c.ID, ClientName: c.Name(), Version: c.Version, Assessed: w.sharing[w.mover]}
	name := func(i int) string { return w.people[i].Name() }
	for _, o := range opts {
		ce := w.cells[o.Cell]
		b := Bed{CellID: ce.ID, Label: ce.Label, Unit: w.where[ce.ID][0], Institution: w.where[ce.ID][1], Capacity: ce.Capacity,
			Current: ce.ID == c.Location.CellID, Allowed: o.Feasible, Score: o.Score}
		b.Free = ce.Capacity - ce.Occupied
		for i, pe := range w.people {
			if pe.CellID == ce.ID && i != w.mover {
				b.Cellmates = append(b.Cellmates, pe.Name())
			}
		}
		for _, r := range o.Reasons {
			b.Reasons = append(b.Reasons, reasonText(lang, w, r, o.Cell, name))
		}
		for _, v := range o.Broken {
			b.WhyNot = append(b.WhyNot, whyNotText(lang, w, v, name))
		}
		if b.Allowed && !b.Current {
			d.Allowed++
		}
		d.Beds = append(d.Beds, b)
	}
	if err := h.Placement.Audit.RecordRead(ctx, audit.Entry{Action: "placement.move.rank", ClientID: c.ID, ObjectType: "client", ObjectID: c.ID,
		Detail: fmt.Sprintf("beds=%d %s", len(d.Beds), readDetail)}); err != nil {
		return nil, fmt.Errorf("placement: audit read: %w", err)
	}
	return d, nil
}

func reasonText(lang i18n.Lang, w *world, r solve.Reason, cell int, name func(int) string) string {
	switch r.Term {
	case "risk":
		return i18n.T(lang, "placement.move.reason.risk", name(r.Client), int(r.Value), int(r.Points))
	case "violence":
		return i18n.T(lang, "placement.move.reason.violence", name(r.Client), int(r.Points))
	case "move":
		cur := w.in.Clients[w.mover].Current
		if cur != solve.NoCell && w.in.Units[w.in.Cells[cur].Unit].Institution != w.in.Units[w.in.Cells[cell].Unit].Institution {
			return i18n.T(lang, "placement.move.reason.transfer", int(r.Points))
		}
		return i18n.T(lang, "placement.move.reason.move", int(r.Points))
	case "smoking":
		return i18n.T(lang, "placement.move.reason.smoking", int(r.Points))
	}
	return fmt.Sprintf("%s (+%d)", r.Message, r.Points)
}

func whyNotText(lang i18n.Lang, w *world, v solve.Violation, name func(int) string) string {
	other := -1
	for _, c := range v.Clients {
		if c != w.mover {
			other = c
		}
	}
	switch v.Rule {
	case solve.RuleSharing:
		switch {
		case !w.sharing[w.mover]:
			return i18n.T(lang, "placement.move.why.unassessed")
		case other >= 0 && !w.sharing[other]:
			return i18n.T(lang, "placement.move.why.other_unassessed", name(other))
		case other >= 0:
			return i18n.T(lang, "placement.move.why.sharing", name(other))
		}
	case solve.RuleGender, solve.RuleRestricted:
		if other >= 0 {
			return i18n.T(lang, "placement.move.why.mate_"+string(v.Rule), name(other))
		}
	case solve.RuleNonAssocCel, solve.RuleNonAssocUni, solve.RuleNonAssocIns:
		if other >= 0 {
			return i18n.T(lang, "placement.move.why."+strings.ReplaceAll(string(v.Rule), "-", "_"), name(other))
		}
	}
	return i18n.T(lang, "placement.move.why."+strings.ReplaceAll(string(v.Rule), "-", "_"))
}

func (h *Handlers) movePage(w http.ResponseWriter, r *http.Request) error {
	return h.renderMove(w, r, nil)
}

func (h *Handlers) renderMove(w http.ResponseWriter, r *http.Request, failed error) error {
	ctx, lang := r.Context(), web.LangOf(r)
	c, err := h.Client.Get(ctx, clientOf(r))
	if err != nil {
		return err
	}
	d, err := h.rank(ctx, web.PrincipalFrom(ctx), lang, c)
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "placement.move.title", c.Name()))
	pg.Nav = "placement"
	pg.Data = d
	if failed != nil {
		return h.Web.FormError(w, r, pages, "move.html", pg, localizeMove(lang, failed))
	}
	return h.Web.Render(w, pages, "move.html", pg)
}

// localizeMove shows the client register's refusals (a stale version,
// a bed taken meanwhile) in the user's language where there is a text.
func localizeMove(lang i18n.Lang, err error) error {
	e, ok := apperr.As(err)
	if !ok {
		return err
	}
	out := *e
	switch {
	case e.Code == apperr.Conflict && strings.Contains(e.Message, "changed"):
		out.Message = i18n.T(lang, "placement.move.err.stale")
	case e.Code == apperr.Conflict && e.Message == errNotAllowed:
		out.Message = i18n.T(lang, "placement.move.err.not_allowed")
	case e.Code == apperr.Invalid || e.Code == apperr.Conflict:
		out.Message = i18n.T(lang, "placement.move.err.failed", e.Message)
	}
	out.Fields = nil
	return &out
}

const errNotAllowed = "This bed breaks a placement rule."

// move moves the person to the chosen bed in one click, through the
// client register's transfer (bed counters, movement record, audit,
// timeline, events). The ranking is computed again first, so a bed that
// a move since the page was drawn made break a rule is refused, not
// taken.
func (h *Handlers) move(w http.ResponseWriter, r *http.Request) error {
	ctx, lang := r.Context(), web.LangOf(r)
	id := clientOf(r)
	cellID := r.PostForm.Get("cell_id")
	version, _ := strconv.Atoi(r.PostForm.Get("version"))
	c, err := h.Client.Get(ctx, id)
	if err != nil {
		return err
	}
	d, err := h.rank(ctx, web.PrincipalFrom(ctx), lang, c)
	if err != nil {
		return err
	}
	at := slices.IndexFunc(d.Beds, func(b Bed) bool { return b.CellID == cellID && !b.Current })
	switch {
	case at < 0:
		return h.renderMove(w, r, apperr.New(apperr.Conflict, "There is no free bed in this cell any more."))
	case !d.Beds[at].Allowed:
		return h.renderMove(w, r, apperr.New(apperr.Conflict, errNotAllowed))
	}
	b := d.Beds[at]
	rank := 1 + slices.IndexFunc(d.Beds, func(x Bed) bool { return x.CellID == cellID })
	reason := fmt.Sprintf("Cell move to %s, %s %s: ranked %d of %d free beds, score %d", b.Institution, b.Unit, b.Label, rank, len(d.Beds), b.Score)
	if _, err := h.Client.MoveClient(ctx, id, client.Move{Action: client.Transfer, Version: version, CellID: cellID, Reason: reason}); err != nil {
		if e, ok := apperr.As(err); ok && (e.Code == apperr.Conflict || e.Code == apperr.Invalid) {
			return h.renderMove(w, r, err)
		}
		return err
	}
	return web.Redirect(w, r, "/clients/"+id, i18n.T(lang, "placement.move.done", b.Institution+", "+b.Unit+" "+b.Label), "")
}
