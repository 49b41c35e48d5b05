// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/web"
)

// ProposalList is the API's list of proposals.
type ProposalList struct {
	Proposals []ProposalSummary `json:"proposals"`
}

func (h *Handlers) batchRoutes() []web.Route {
	const staff = web.ScopeStaff
	read, write, accept := access.PlacementRead, access.PlacementWrite, access.PlacementAccept
	one := "/placement/proposals/{pid}"
	api := "/api/v1/placement/proposals"
	return []web.Route{
		{Method: "GET", Pattern: "/placement/proposals", Perm: read, Scope: staff, Summary: "Batch placement: the proposals of the caller's caseload and the form for a new one", Handle: h.proposalsPage},
		{Method: "POST", Pattern: "/placement/proposals", Perm: write, Scope: staff, Summary: "Propose a batch placement for the day's intake, a unit, an institution or the caseload (with locks)", Handle: h.propose},
		{Method: "GET", Pattern: one, Perm: read, Scope: staff, Summary: "A batch placement proposal: cost before and after by term, the moves with reasons, or why no placement exists", Handle: h.proposalPage},
		{Method: "POST", Pattern: one + "/accept", Perm: accept, Scope: staff, OwnIdempotency: true,
			Summary: "Accept all or the chosen moves of a proposal (re-checked against the present state; a repeat with the same key applies nothing twice)", Handle: h.accept},
		{Method: "GET", Pattern: api, Perm: read, Scope: staff, API: true, Summary: "Batch placement proposals whose units are all in the caller's caseload, newest first", Handle: h.apiProposals, Response: ProposalList{}},
		{Method: "POST", Pattern: api, Perm: write, Scope: staff, API: true,
			Summary: "Propose a batch placement: scope intake, unit, institution (with location_id) or caseload; locks keep people where they are or put them in a cell",
			Handle:  h.apiPropose, Request: NewProposal{}, Response: &Proposal{}},
		{Method: "GET", Pattern: api + "/{pid}", Perm: read, Scope: staff, API: true, Summary: "A batch placement proposal with its moves and acceptances", Handle: h.apiProposal, Response: &Proposal{}},
		{Method: "POST", Pattern: api + "/{pid}/accept", Perm: accept, Scope: staff, API: true, OwnIdempotency: true,
			Summary: "Accept all (moves empty) or the chosen moves of a proposal; stale moves refuse the whole unless apply_rest; a choice that breaks a hard rule on its own is refused with the reasons (409, refused in the problem)",
			Handle:  h.apiAccept, Request: AcceptRequest{}, Response: &Acceptance{}},
	}
}

func (h *Handlers) apiProposals(w http.ResponseWriter, r *http.Request) error {
	list, err := h.Batch.Proposals(r.Context(), web.PrincipalFrom(r.Context()), 50)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, ProposalList{Proposals: list})
}

func (h *Handlers) apiPropose(w http.ResponseWriter, r *http.Request) error {
	var n NewProposal
	if err := web.DecodeJSON(r, &n); err != nil {
		return err
	}
	pr, err := h.Batch.Propose(r.Context(), web.PrincipalFrom(r.Context()), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/placement/proposals/"+pr.ID)
	return web.WriteJSON(w, http.StatusCreated, pr)
}

func (h *Handlers) apiProposal(w http.ResponseWriter, r *http.Request) error {
	pr, err := h.Batch.Proposal(r.Context(), web.PrincipalFrom(r.Context()), r.PathValue("pid"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, pr)
}

func (h *Handlers) apiAccept(w http.ResponseWriter, r *http.Request) error {
	var req AcceptRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	acc, err := h.Batch.Accept(r.Context(), web.PrincipalFrom(r.Context()), r.PathValue("pid"), req, web.IdempotencyKey(r))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, acc)
}

// ---------- Pages ----------

// target is one choice of scope on the new-proposal form.
type target struct{ Value, Label string }

func (h *Handlers) targets(ctx context.Context, p *access.Principal, lang i18n.Lang) ([]target, error) {
	out := []target{{ProposeIntake, i18n.T(lang, "placement.batch.scope.intake")}, {ProposeCaseload, i18n.T(lang, "placement.batch.scope.caseload")}}
	tree, err := h.Estate.Tree(ctx)
	if err != nil {
		return nil, err
	}
	for _, inst := range tree {
		if inst.Kind != estate.Institution {
			continue
		}
		var units []target
		for _, u := range inst.Units {
			if p.Covers(inst.ID, u.ID) {
				units = append(units, target{"unit:" + u.ID, i18n.T(lang, "placement.batch.scope.unit", inst.Name+", "+u.Name)})
			}
		}
		if p.Covers(inst.ID) {
			out = append(out, target{"institution:" + inst.ID, i18n.T(lang, "placement.batch.scope.institution", inst.Name)})
		}
		out = append(out, units...)
	}
	return out, nil
}

type proposalsData struct {
	Targets   []target
	Proposals []ProposalSummary
}

func (h *Handlers) proposalsPage(w http.ResponseWriter, r *http.Request) error {
	return h.renderProposals(w, r, nil)
}

func (h *Handlers) renderProposals(w http.ResponseWriter, r *http.Request, failed error) error {
	ctx, lang := r.Context(), web.LangOf(r)
	p := web.PrincipalFrom(ctx)
	ts, err := h.targets(ctx, p, lang)
	if err != nil {
		return err
	}
	list, err := h.Batch.Proposals(ctx, p, 50)
	if err != nil {
		return err
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "placement.batch.title"))
	pg.Nav = "placement"
	pg.Data = proposalsData{Targets: ts, Proposals: list}
	if failed != nil {
		return h.Web.FormError(w, r, pages, "proposals.html", pg, localizeBatch(lang, failed))
	}
	return h.Web.Render(w, pages, "proposals.html", pg)
}

// proposalFromForm reads the scope ("intake", "caseload", "unit:<id>",
// "institution:<id>") and the locks (lock_<client id> = "stay" or
// "cell:<id>").
func proposalFromForm(r *http.Request) NewProposal {
	f := r.PostForm
	var n NewProposal
	kind, id, _ := strings.Cut(f.Get("target"), ":")
	n.Scope, n.LocationID = kind, id
	var ids []string
	for k := range f {
		if strings.HasPrefix(k, "lock_") {
			ids = append(ids, k)
		}
	}
	slices.Sort(ids)
	for _, k := range ids {
		v := f.Get(k)
		switch {
		case v == "stay":
			n.Locks = append(n.Locks, Lock{ClientID: strings.TrimPrefix(k, "lock_")})
		case strings.HasPrefix(v, "cell:"):
			n.Locks = append(n.Locks, Lock{ClientID: strings.TrimPrefix(k, "lock_"), CellID: strings.TrimPrefix(v, "cell:")})
		}
	}
	return n
}

func (h *Handlers) propose(w http.ResponseWriter, r *http.Request) error {
	ctx, lang := r.Context(), web.LangOf(r)
	n := proposalFromForm(r)
	if n.Scope == "" {
		return h.renderProposals(w, r, apperr.Field("target", "Choose what to plan."))
	}
	pr, err := h.Batch.Propose(ctx, web.PrincipalFrom(ctx), n)
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Code == apperr.Invalid {
			e2 := *e
			for i := range e2.Fields {
				if e2.Fields[i].Field == "scope" || e2.Fields[i].Field == "location_id" {
					e2.Fields[i].Field = "target"
				}
			}
			return h.renderProposals(w, r, &e2)
		}
		return err
	}
	return web.Redirect(w, r, "/placement/proposals/"+pr.ID, i18n.T(lang, "placement.batch.proposed", strconv.Itoa(len(pr.Moves))), "")
}

type termRow struct {
	Name          string
	Before, After int64
}

type moveView struct {
	ProposedMove
	Why  []string
	Lock string
}

type acceptanceView struct {
	Acceptance
	Why []string
}

type proposalData struct {
	P           *Proposal
	Terms       []termRow
	Moves       []moveView
	Broken      []string
	Acceptances []acceptanceView
	Refused     map[int]string // seq → why, after a refused acceptance
	Key         string         // the accept form's Idempotency-Key
	Target      string
	CanAccept   bool
	CanPropose  bool
}

func (h *Handlers) proposalPage(w http.ResponseWriter, r *http.Request) error {
	return h.renderProposal(w, r, nil)
}

func (h *Handlers) renderProposal(w http.ResponseWriter, r *http.Request, failed error) error {
	ctx, lang := r.Context(), web.LangOf(r)
	p := web.PrincipalFrom(ctx)
	pr, err := h.Batch.Proposal(ctx, p, r.PathValue("pid"))
	if err != nil {
		return err
	}
	d := proposalData{P: pr, Key: db.NewID(), CanAccept: p.Can(access.PlacementAccept), CanPropose: p.Can(access.PlacementWrite), Refused: map[int]string{}}
	d.Target = pr.Scope
	if pr.LocationID != "" {
		d.Target += ":" + pr.LocationID
	}
	if pr.After != nil {
		after := pr.After.Terms()
		for i, t := range pr.Before.Terms() {
			if t.Points != 0 || after[i].Points != 0 {
				d.Terms = append(d.Terms, termRow{t.Name, t.Points, after[i].Points})
			}
		}
		d.Terms = append(d.Terms, termRow{"total", pr.Before.Total, pr.After.Total})
	}
	for _, m := range pr.Moves {
		v := moveView{ProposedMove: m, Lock: pr.LockOf(m.ClientID)}
		for _, t := range m.Reasons {
			v.Why = append(v.Why, t.In(lang))
		}
		d.Moves = append(d.Moves, v)
	}
	for _, t := range pr.BrokenBefore {
		d.Broken = append(d.Broken, t.In(lang))
	}
	for _, a := range pr.Acceptances {
		v := acceptanceView{Acceptance: a}
		for _, rf := range a.Refused {
			v.Why = append(v.Why, rf.Reason.In(lang))
		}
		d.Acceptances = append(d.Acceptances, v)
	}
	for _, rf := range Refusals(failed) {
		d.Refused[rf.Seq] = rf.Reason.In(lang)
	}
	pg := h.Web.NewPage(w, r, i18n.T(lang, "placement.batch.proposal_title", pr.ScopeName))
	pg.Nav = "placement"
	pg.Data = d
	if failed != nil {
		return h.Web.FormError(w, r, pages, "proposal.html", pg, localizeBatch(lang, failed))
	}
	return h.Web.Render(w, pages, "proposal.html", pg)
}

func (h *Handlers) accept(w http.ResponseWriter, r *http.Request) error {
	ctx, lang := r.Context(), web.LangOf(r)
	id := r.PathValue("pid")
	var req AcceptRequest
	for _, s := range r.PostForm["move"] {
		n, err := strconv.Atoi(s)
		if err != nil {
			return apperr.Field("move", "Choose moves from the list.")
		}
		req.Moves = append(req.Moves, n)
	}
	req.ApplyRest = r.PostForm.Get("apply_rest") == "on"
	if len(req.Moves) == 0 {
		// An empty choice on the page is a mistake, not "everything".
		if _, err := h.Batch.Proposal(ctx, web.PrincipalFrom(ctx), id); err != nil {
			return err
		}
		return h.renderProposal(w, r, apperr.Field("move", "Choose at least one move."))
	}
	acc, err := h.Batch.Accept(ctx, web.PrincipalFrom(ctx), id, req, web.IdempotencyKey(r))
	if err != nil {
		if e, ok := apperr.As(err); ok && (e.Code == apperr.Conflict || e.Code == apperr.Invalid) {
			return h.renderProposal(w, r, err)
		}
		return err
	}
	return web.Redirect(w, r, "/placement/proposals/"+id, i18n.T(lang, "placement.batch.accepted", strconv.Itoa(len(acc.Applied)), strconv.Itoa(len(acc.Refused))), "")
}

// localizeBatch shows the batch service's refusals in the user's
// language; the reasons per move are listed beside the moves.
func localizeBatch(lang i18n.Lang, err error) error {
	e, ok := apperr.As(err)
	if !ok || e.Code == apperr.Internal {
		return err
	}
	out := *e
	switch {
	case len(Refusals(err)) > 0 && strings.HasPrefix(e.Message, "Some of the chosen moves are stale"):
		out.Message = i18n.T(lang, "placement.batch.err.stale")
	case len(Refusals(err)) > 0 && strings.HasPrefix(e.Message, "The chosen moves break"):
		out.Message = i18n.T(lang, "placement.batch.err.rules")
	case len(Refusals(err)) > 0:
		out.Message = i18n.T(lang, "placement.batch.err.swap")
	case e.Code == apperr.Invalid:
		out.Message = i18n.T(lang, "placement.err.invalid")
		out.Fields = nil
		for _, f := range e.Fields {
			out.Fields = append(out.Fields, apperr.FieldError{Field: f.Field, Message: batchFieldText(lang, f.Message)})
		}
	default:
		out.Message = tr(lang, e.Message)
	}
	return &out
}

func batchFieldText(lang i18n.Lang, msg string) string {
	switch msg {
	case "Choose what to plan.", "Choose a unit or an institution of your caseload.":
		return i18n.T(lang, "placement.batch.err.target")
	case "Choose at least one move.":
		return i18n.T(lang, "placement.batch.err.none")
	}
	return fmt.Sprint(tr(lang, msg))
}
