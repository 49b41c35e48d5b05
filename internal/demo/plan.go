// SPDX-License-Identifier: AGPL-3.0-or-later

package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/client/natid"
	"github.com/custodia/custodia/internal/demo/people"
)

// The plan is the whole demo population as a pure function of the seed
// and the reference time: who is where today, and the stays, transfers,
// releases and alerts that brought them there. The loader then replays it
// through the services in time order with the database clock set to each
// event's time, so every timeline, audit record and bed counter is what
// the services themselves wrote.

// interval is a stay in a cell; a zero to is open-ended.
type interval struct {
	from, to time.Time
}

func (iv interval) covers(t time.Time) bool {
	return !t.Before(iv.from) && (iv.to.IsZero() || t.Before(iv.to))
}

// occupiedAt counts the planned stays in c at t.
func (c *cellPlan) occupiedAt(t time.Time) int {
	n := 0
	for _, s := range c.stays {
		if s.covers(t) {
			n++
		}
	}
	return n
}

// free reports whether c has a bed for the whole of [from, to) on top of
// the stays already planned.
func (c *cellPlan) free(from, to time.Time) bool {
	if c.closed != nil {
		return false
	}
	if c.occupiedAt(from) >= c.beds {
		return false
	}
	for _, s := range c.stays {
		if s.from.After(from) && (to.IsZero() || s.from.Before(to)) && c.occupiedAt(s.from) >= c.beds {
			return false
		}
	}
	return true
}

type stepKind int

const (
	stRegister stepKind = iota
	stBasis
	stMove
	stAlert
)

// step is one service call.
type step struct {
	at     time.Time
	kind   stepKind
	basis  client.NewLegalBasis
	action client.Action
	cell   *cellPlan
	office *officeSpec
	reason string
	alert  alertPlan
}

type alertPlan struct {
	kind, note string
	partner    *personPlan // co-accused: note names the partner's number
	ends       time.Time
}

// personPlan is one person and what happens to them.
type personPlan struct {
	p     people.Person
	home  string // code of the registering institution or office
	steps []step
	// the outcome today, for tests and counts
	status client.Status
	cell   *cellPlan
	// set by the loader
	id, number string
	version    int
}

// leg is a planned stay in one of choices from from; a leg with a fixed
// cell is already reserved open-ended.
type leg struct {
	choices []*cellPlan
	fixed   *cellPlan
	from    time.Time
	reason  string
}

// plan is the generated population.
type plan struct {
	estate  *estatePlan
	persons []*personPlan
	ref     time.Time // latest event time: yesterday 18:00 UTC
	start   time.Time // earliest event time
	r       *rand.Rand
	pool    *pool
}

// pool hands out generated people matching a need, keeping the ones that
// did not match for later needs, so the draw stays deterministic.
type pool struct {
	g     *people.Generator
	r     *rand.Rand
	spare []people.Person
	seen  map[string]bool
}

func (pl *pool) next() people.Person {
	for {
		c := natid.SE
		switch n := pl.r.IntN(100); {
		case n < 3:
			c = natid.NO
		case n < 5:
			c = natid.DK
		}
		p := pl.g.Person(c)
		key := string(p.Country) + p.NationalID
		if pl.seen[key] {
			continue
		}
		pl.seen[key] = true
		return p
	}
}

func (pl *pool) take(ok func(people.Person) bool) people.Person {
	for i, p := range pl.spare {
		if ok(p) {
			pl.spare = slices.Delete(pl.spare, i, i+1)
			return p
		}
	}
	for {
		p := pl.next()
		if ok(p) {
			return p
		}
		pl.spare = append(pl.spare, p)
	}
}

// Sizes of the population outside today's cells.
const (
	communityCount = 300
	releasedCount  = 70
	readmitShare   = 0.05 // of people serving a sentence
	alertShare     = 0.06
)

// newPlan builds the population for seed, with today's date taken from
// now (events happen up to yesterday 18:00 UTC).
func newPlan(seed int64, now time.Time) *plan {
	day := now.UTC().Truncate(24 * time.Hour)
	pl := &plan{
		estate: buildEstate(),
		ref:    day.Add(-6 * time.Hour),
		r:      rand.New(rand.NewPCG(uint64(seed), 0x64656d6f)), // "demo"
	}
	pl.pool = &pool{g: people.New(seed), r: rand.New(rand.NewPCG(uint64(seed), 0x706f6f6c)), seen: map[string]bool{}}
	pl.build()
	return pl
}

// when is a working-hours time daysAgo days before the reference day.
func (pl *plan) when(daysAgo int) time.Time {
	d := pl.ref.Truncate(24*time.Hour).AddDate(0, 0, -daysAgo)
	t := d.Add(time.Duration(6+pl.r.IntN(11))*time.Hour + time.Duration(pl.r.IntN(60))*time.Minute)
	if t.After(pl.ref) {
		t = pl.ref
	}
	return t
}

func (pl *plan) daysAgo(t time.Time) int { return int(pl.ref.Sub(t).Hours() / 24) }

func (pl *plan) chance(p float64) bool { return pl.r.Float64() < p }

// expo draws an exponential number of days with the given mean.
func (pl *plan) expo(mean float64) int { return int(-mean * math.Log(1-pl.r.Float64())) }

func (pl *plan) between(lo, hi int) int { return lo + pl.r.IntN(hi-lo+1) }

// pickIndex returns an index in [0, n) with probability proportional to
// weight(i), drawing one number from r.
func pickIndex(r *rand.Rand, n int, weight func(i int) int) int {
	total := 0
	for i := range n {
		total += weight(i)
	}
	x := r.IntN(total)
	for i := range n {
		if x < weight(i) {
			return i
		}
		x -= weight(i)
	}
	return 0
}

// pick returns one of the values of ws with probability proportional to
// its weight.
func pick[T any](r *rand.Rand, ws []weighted[T]) T {
	return ws[pickIndex(r, len(ws), func(i int) int { return ws[i].w })].v
}

// offences draws one to three different offences, the first from main.
func (pl *plan) offences(main, extra []weighted[string]) string {
	out := []string{pick(pl.r, main)}
	for n := pl.r.IntN(3); n > 0; n-- {
		o := pick(pl.r, extra)
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return strings.Join(out, "; ")
}

func (pl *plan) caseRef(t time.Time) string {
	return fmt.Sprintf("B %d-%02d", 1000+pl.r.IntN(14000), t.Year()%100)
}

func adult(p people.Person) time.Time { return p.BirthDate.AddDate(18, 0, 0) }

func age(p people.Person, at time.Time) int {
	a := at.Year() - p.BirthDate.Year()
	if at.YearDay() < p.BirthDate.YearDay() {
		a--
	}
	return a
}

func isMale(p people.Person) bool   { return p.Sex == natid.Male }
func isFemale(p people.Person) bool { return p.Sex == natid.Female }

// cellsOf lists the usable cells of units, shuffled.
func (pl *plan) cellsOf(codes ...string) []*cellPlan {
	var out []*cellPlan
	for _, code := range codes {
		for _, c := range pl.estate.byCode[code].cells {
			if c.closed == nil {
				out = append(out, c)
			}
		}
	}
	pl.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func (pl *plan) unitsOf(inst, kind string) []string {
	var out []string
	for _, u := range pl.estate.units {
		if u.inst.code == inst && u.spec.kind == kind {
			out = append(out, u.code)
		}
	}
	return out
}

// remandCells are where a person of p's sex and age waits for trial.
func (pl *plan) remandCells(p people.Person, at time.Time) []*cellPlan {
	switch {
	case isFemale(p):
		return pl.cellsOf("NVH-KVI")
	case age(p, at) <= 20:
		return pl.cellsOf(append([]string{"NVH-UNG"}, pl.unitsOf("NVH", "wing")...)...)
	}
	return pl.cellsOf(pl.unitsOf("NVH", "wing")...)
}

// prisonCells are ordinary places for a sentenced person of p's sex.
func (pl *plan) prisonCells(p people.Person) []*cellPlan {
	if isFemale(p) {
		return pl.cellsOf("SJB-K1", "SJB-K2")
	}
	var codes []string
	for _, inst := range []string{"KRO", "SJB"} {
		codes = append(codes, pl.unitsOf(inst, "wing")...)
	}
	codes = append(codes, pl.unitsOf("LJD", "house")...)
	return pl.cellsOf(codes...)
}

func (pl *plan) pickReason(kind string) string {
	rs := transferReasons[kind]
	return rs[pl.r.IntN(len(rs))]
}

// current is a person in a cell today.
type current struct {
	pp   *personPlan
	unit *unitPlan
	cell *cellPlan
	legs []leg
	// bases, in time order
	bases []timedBasis
	// remand start, for pairing co-accused
	remandDays int
	caseRef    string
	offences   string
}

type timedBasis struct {
	at time.Time
	b  client.NewLegalBasis
	// remand bases go only if the remand stay was placed
	remand bool
}

func (pl *plan) build() {
	// Today's population, unit by unit.
	var cur []*current
	for _, u := range pl.estate.units {
		usable := u.usableBeds()
		f := u.spec.fill[0] + pl.r.Float64()*(u.spec.fill[1]-u.spec.fill[0])
		target := int(math.Round(float64(usable) * f))
		var beds []*cellPlan
		for _, c := range u.cells {
			if c.closed != nil {
				continue
			}
			for b := 0; b < c.beds; b++ {
				beds = append(beds, c)
			}
		}
		pl.r.Shuffle(len(beds), func(i, j int) { beds[i], beds[j] = beds[j], beds[i] })
		for _, c := range beds[:target] {
			var p people.Person
			switch {
			case u.spec.gender == "female":
				p = pl.pool.take(isFemale)
			case u.spec.kind == "juvenile":
				p = pl.pool.take(func(p people.Person) bool { return isMale(p) && age(p, pl.ref) <= 20 })
			default:
				p = pl.pool.take(isMale)
			}
			pp := &personPlan{p: p, status: client.InCustody, cell: c}
			pl.persons = append(pl.persons, pp)
			cur = append(cur, &current{pp: pp, unit: u, cell: c})
		}
	}

	// Co-accused on remand: pairs on different remand units share a case.
	var remand []*current
	for _, c := range cur {
		if c.unit.inst.category == "remand" && (c.unit.spec.kind == "wing" || c.unit.spec.kind == "restricted") {
			remand = append(remand, c)
		}
	}
	type pair struct{ a, b *current }
	var pairs []pair
	for i := 0; i+1 < len(remand) && len(pairs) < 8; i += 7 {
		a, b := remand[i], remand[i+1]
		for k := i + 2; b.unit == a.unit && k < len(remand); k++ {
			b = remand[k]
		}
		if b.unit != a.unit {
			pairs = append(pairs, pair{a, b})
		}
	}
	partner := map[*current]*current{}
	for _, p := range pairs {
		partner[p.a], partner[p.b] = p.b, p.a
	}

	// Pass 1: each person's story and final arrival; the final bed is
	// reserved open-ended. Final stays never conflict with each other, so
	// the intermediate stays of pass 2 fit around them.
	for _, c := range cur {
		if c.unit.inst.category == "remand" {
			pl.remandStory(c, partner[c])
		} else {
			pl.prisonStory(c)
		}
		final := c.legs[len(c.legs)-1]
		c.cell.stays = append(c.cell.stays, interval{from: final.from})
	}

	// Pass 2: the escaped (before others take their beds), intermediate
	// stays, earlier history, and the steps.
	pl.escaped()
	for _, c := range cur {
		pl.finishCurrent(c)
	}
	for _, c := range cur {
		if partner[c] != nil {
			pl.coAccused(c, partner[c])
		}
	}
	pl.leave()
	pl.community()
	pl.released()
	for _, pp := range pl.persons {
		pl.alerts(pp)
		slices.SortStableFunc(pp.steps, func(a, b step) int { return a.at.Compare(b.at) })
		pl.register(pp)
		if pl.start.IsZero() || pp.steps[0].at.Before(pl.start) {
			pl.start = pp.steps[0].at
		}
	}
}

// remandStory: remanded some days ago, usually through the intake unit.
func (pl *plan) remandStory(c *current, other *current) {
	p := c.pp.p
	kind := c.unit.spec.kind
	var d int
	switch {
	case other != nil && other.remandDays > 0:
		d = other.remandDays
	case kind == "reception":
		d = pl.r.IntN(2)
	case kind == "segregation":
		d = 5 + pl.expo(40)
	case kind == "restricted":
		d = 3 + pl.expo(30)
	default:
		d = 2 + pl.expo(45)
	}
	d = min(d, 330)
	rs := pl.when(d)
	if rs.Before(adult(p)) {
		rs = adult(p).Add(10 * time.Hour)
		d = pl.daysAgo(rs)
	}
	c.remandDays = d
	c.caseRef = pl.caseRef(rs)
	c.offences = pl.offences(append(seriousOffences, commonOffences...), commonOffences)
	if other != nil && other.caseRef != "" {
		c.caseRef, c.offences = other.caseRef, other.offences
	}
	c.bases = append(c.bases, timedBasis{at: rs, b: client.NewLegalBasis{Kind: client.BasisRemand, StartDate: rs.Format("2006-01-02"),
		Offences: c.offences, Court: districtCourts[pl.r.IntN(len(districtCourts))], CaseRef: c.caseRef}})
	t := rs
	if kind != "reception" && d >= 2 && pl.chance(0.85) {
		c.legs = append(c.legs, leg{choices: pl.cellsOf("NVH-INT"), from: t})
		t = t.Add(time.Duration(18+pl.r.IntN(8)) * time.Hour)
	}
	if kind == "segregation" && d >= 3 {
		c.legs = append(c.legs, leg{choices: pl.remandCells(p, t), from: t, reason: pl.pickReason("placement")})
		t = pl.when(pl.between(0, min(d-2, 10)))
		c.legs = append(c.legs, leg{fixed: c.cell, from: t, reason: pl.pickReason("segregation")})
		return
	}
	reason := pl.pickReason("placement")
	if kind == "restricted" {
		reason = pl.pickReason("restricted")
	}
	c.legs = append(c.legs, leg{fixed: c.cell, from: t, reason: reason})
}

// sentenceDays is the length of a sentence of months from start (0 months
// is life imprisonment).
func sentenceDays(start time.Time, months int) int {
	if months == 0 {
		return 36500
	}
	return int(start.AddDate(0, months, 0).Sub(start).Hours() / 24)
}

// prisonStory: sentenced, often after remand, through the reception unit
// to today's unit.
func (pl *plan) prisonStory(c *current) {
	p := c.pp.p
	u := c.unit
	kind := u.spec.kind
	months := pick(pl.r, u.inst.sentences)
	if isFemale(p) && months > 60 {
		months = 36
	}
	approx := sentenceDays(pl.ref, months)
	var e int
	if kind == "reception" {
		e = pl.r.IntN(10)
	} else {
		frac := 0.05 + 0.8*pl.r.Float64()
		e = max(20, int(frac*float64(min(approx, 365*14))))
		e = min(e, 365*10, approx-5)
	}
	if lim := pl.daysAgo(adult(p)) - 2; e > lim {
		e = max(lim, 0)
	}
	st := pl.when(e)
	length := sentenceDays(st, months)
	switch {
	case months == 0 || months >= 72:
		c.offences = pl.offences(gravestOffences, seriousOffences)
	case u.inst.category == "open" || months <= 12 || (u.inst.code == "SJB" && pl.chance(0.5)):
		c.offences = pl.offences(commonOffences, commonOffences)
	default:
		c.offences = pl.offences(seriousOffences, commonOffences)
	}
	court := districtCourts[pl.r.IntN(len(districtCourts))]
	if pl.chance(0.25) {
		court = appealCourts[pl.r.IntN(len(appealCourts))]
	}
	ref := pl.caseRef(st)
	arr := st
	if e > 30 && u.inst.category != "open" && pl.chance(0.45) {
		r := 14 + pl.expo(60)
		rs := st.AddDate(0, 0, -min(r, 240))
		if rs.After(adult(p)) {
			arr = st.Add(time.Duration(pl.between(5, 20)) * 24 * time.Hour)
			if pl.daysAgo(arr) < 15 {
				arr = st
			} else {
				c.bases = append(c.bases, timedBasis{at: rs, remand: true, b: client.NewLegalBasis{Kind: client.BasisRemand, StartDate: rs.Format("2006-01-02"),
					Offences: c.offences, Court: districtCourts[pl.r.IntN(len(districtCourts))], CaseRef: ref}})
				c.legs = append(c.legs, leg{choices: pl.remandCells(p, rs), from: rs})
			}
		}
	}
	c.bases = append(c.bases, timedBasis{at: st, b: client.NewLegalBasis{Kind: client.BasisSentence, StartDate: st.Format("2006-01-02"),
		LengthDays: length, Offences: c.offences, Court: court, CaseRef: ref}})
	t := arr
	reason := pl.pickReason("sentenced")
	if u.inst.category == "open" && pl.daysAgo(t) > 90 && pl.chance(0.5) {
		// Progression: first in a closed prison.
		c.legs = append(c.legs, leg{choices: pl.cellsOf(append(pl.unitsOf("KRO", "wing"), pl.unitsOf("SJB", "wing")...)...), from: t, reason: reason})
		t = t.Add(time.Duration(float64(pl.ref.Sub(t)) * (0.3 + 0.4*pl.r.Float64()))).Truncate(time.Hour)
		reason = pl.pickReason("progression")
	}
	if kind != "reception" && !isFemale(p) && pl.daysAgo(t) > 16 {
		c.legs = append(c.legs, leg{choices: pl.cellsOf(u.inst.code + "-MOT"), from: t, reason: reason})
		t = t.Add(time.Duration(pl.between(3, 14)) * 24 * time.Hour)
		reason = pl.pickReason("placement")
	}
	if (kind == "segregation" || kind == "security") && pl.daysAgo(t) > 3 {
		var wings []string
		if isFemale(p) {
			wings = []string{"SJB-K1", "SJB-K2"}
		} else {
			wings = pl.unitsOf(u.inst.code, "wing")
		}
		c.legs = append(c.legs, leg{choices: pl.cellsOf(wings...), from: t, reason: reason})
		t = pl.when(pl.between(0, min(pl.daysAgo(t)-1, 20)))
		reason = pl.pickReason("segregation")
		if kind == "security" {
			reason = "Placerad på säkerhetsavdelning efter beslut om särskild säkerhet"
		}
	}
	c.legs = append(c.legs, leg{fixed: c.cell, from: t, reason: reason})
}

// resolve places the legs of a stay that ends at end (zero: the last leg
// is fixed and open-ended), from the last to the first: a leg whose cell
// cannot be found is dropped and the leg before it lasts longer. It
// returns the placed legs with their cells.
func (pl *plan) resolve(legs []leg, end time.Time) []leg {
	var out []leg
	next := end
	for k := len(legs) - 1; k >= 0; k-- {
		lg := legs[k]
		if !next.IsZero() && !lg.from.Before(next) {
			continue
		}
		if lg.fixed == nil {
			for _, c := range lg.choices {
				if c.free(lg.from, next) {
					lg.fixed = c
					break
				}
			}
			if lg.fixed == nil {
				continue
			}
			lg.fixed.stays = append(lg.fixed.stays, interval{from: lg.from, to: next})
		}
		out = append(out, lg)
		next = lg.from
	}
	slices.Reverse(out)
	return out
}

// moves turns placed legs into an admission and transfers.
func moves(legs []leg) []step {
	var out []step
	for i, lg := range legs {
		if i == 0 {
			out = append(out, step{at: lg.from, kind: stMove, action: client.Admit, cell: lg.fixed})
			continue
		}
		out = append(out, step{at: lg.from, kind: stMove, action: client.Transfer, cell: lg.fixed, reason: lg.reason})
	}
	return out
}

func (pl *plan) finishCurrent(c *current) {
	legs := pl.resolve(c.legs, time.Time{})
	pp := c.pp
	first := legs[0].from
	for _, b := range c.bases {
		if b.remand && b.at.Before(first) {
			continue // the remand stay could not be placed
		}
		at := b.at
		if at.After(first) && b.b.Kind == client.BasisRemand {
			at = first
		}
		pp.steps = append(pp.steps, step{at: at, kind: stBasis, basis: b.b})
	}
	pp.steps = append(pp.steps, moves(legs)...)
	// Some people serving a sentence have been here before.
	if c.unit.inst.category != "remand" && pl.chance(readmitShare*2) {
		pl.priorStay(pp, first.AddDate(0, 0, -pl.between(90, 900)))
	}
}

// coAccused sets the alert on both people of a remand case, once both are
// registered.
func (pl *plan) coAccused(c, other *current) {
	at := firstAt(c.pp)
	if o := firstAt(other.pp); o.After(at) {
		at = o
	}
	at = at.Add(3 * time.Hour)
	c.pp.steps = append(c.pp.steps, step{at: at, kind: stAlert, alert: alertPlan{kind: "co_accused",
		note: strings.ReplaceAll(alertTexts["co_accused"][0], "%c", c.caseRef), partner: other.pp}})
}

func firstAt(pp *personPlan) time.Time {
	var t time.Time
	for _, s := range pp.steps {
		if t.IsZero() || s.at.Before(t) {
			t = s.at
		}
	}
	return t
}

func lastAt(pp *personPlan) time.Time {
	var t time.Time
	for _, s := range pp.steps {
		if s.at.After(t) {
			t = s.at
		}
	}
	return t
}

// priorStay gives pp an earlier sentence served in a prison until
// release rel.
func (pl *plan) priorStay(pp *personPlan, rel time.Time) bool {
	p := pp.p
	adm := rel.AddDate(0, 0, -pl.between(60, 540))
	if adm.Before(adult(p)) {
		return false
	}
	adm = adm.Truncate(24 * time.Hour).Add(time.Duration(7+pl.r.IntN(9)) * time.Hour)
	if !rel.Before(pl.ref) {
		rel = rel.Truncate(24 * time.Hour).Add(time.Duration(8+pl.r.IntN(3)) * time.Hour)
	}
	legs := pl.resolve([]leg{{choices: pl.prisonCells(p), from: adm}}, rel)
	if len(legs) == 0 {
		return false
	}
	months := int(rel.Sub(adm).Hours()/24/30*1.5) + 1
	off := pl.offences(commonOffences, commonOffences)
	pp.steps = append(pp.steps,
		step{at: adm, kind: stBasis, basis: client.NewLegalBasis{Kind: client.BasisSentence, StartDate: adm.Format("2006-01-02"),
			LengthDays: sentenceDays(adm, months), Offences: off, Court: districtCourts[pl.r.IntN(len(districtCourts))], CaseRef: pl.caseRef(adm)}})
	pp.steps = append(pp.steps, moves(legs)...)
	pp.steps = append(pp.steps, step{at: rel, kind: stMove, action: client.Release, reason: "Villkorlig frigivning"})
	if pl.chance(0.4) {
		kind := []string{"violence", "escape", "violence", "self_harm", "medical"}[pl.r.IntN(5)]
		pp.steps = append(pp.steps, step{at: adm.Add(time.Duration(pl.between(2, 30)) * 24 * time.Hour), kind: stAlert,
			alert: alertPlan{kind: kind, note: pl.alertNote(kind)}})
	}
	return true
}

// leave sends some people of the open prison and of Kronoberga on leave
// yesterday.
func (pl *plan) leave() {
	n := map[string]int{"LJD": 8, "KRO": 2}
	for _, pp := range pl.persons {
		if pp.cell == nil || pp.status != client.InCustody || n[pp.cell.unit.inst.code] == 0 {
			continue
		}
		u := pp.cell.unit
		if u.spec.kind != "house" && u.spec.kind != "prerelease" && u.spec.kind != "wing" {
			continue
		}
		last := lastAt(pp)
		at := pl.when(0)
		if pl.daysAgo(last) < 20 || !pl.chance(0.1) {
			continue
		}
		reason := "Korttidspermission"
		if u.inst.code == "KRO" {
			reason = "Bevakad permission — begravning"
		}
		pp.steps = append(pp.steps, step{at: at, kind: stMove, action: client.LeaveOut, reason: reason})
		pp.status = client.OnLeave
		n[u.inst.code]--
	}
}

// escaped adds two people at large: one who walked away from the open
// prison and one who escaped from a hospital visit.
func (pl *plan) escaped() {
	for i, e := range []struct {
		units  []string
		days   int
		reason string
	}{
		{pl.unitsOf("LJD", "house"), 3, "Avvek från anstalten under kvällen; polisen underrättad"},
		{pl.unitsOf("KRO", "wing"), 9, "Rymde under bevakad transport till sjukhus i Örebro"},
	} {
		p := pl.pool.take(isMale)
		pp := &personPlan{p: p, status: client.Escaped}
		esc := pl.when(e.days)
		var legs []leg
		var arr time.Time
		for try := 0; try < 20 && len(legs) == 0; try++ {
			arr = pl.when(e.days + 10 + pl.r.IntN(200/(try+1)))
			legs = pl.resolve([]leg{{choices: pl.cellsOf(e.units...), from: arr}}, esc)
		}
		if len(legs) == 0 {
			continue
		}
		inst := legs[0].fixed.unit.inst
		months := pick(pl.r, inst.sentences)
		if months == 0 {
			months = 120
		}
		off := pl.offences(commonOffences, commonOffences)
		if i == 1 {
			off = pl.offences(seriousOffences, commonOffences)
		}
		pp.steps = append(pp.steps, step{at: arr, kind: stBasis, basis: client.NewLegalBasis{Kind: client.BasisSentence, StartDate: arr.Format("2006-01-02"),
			LengthDays: sentenceDays(arr, months), Offences: off, Court: districtCourts[pl.r.IntN(len(districtCourts))], CaseRef: pl.caseRef(arr)}})
		pp.steps = append(pp.steps, moves(legs)...)
		pp.steps = append(pp.steps, step{at: esc, kind: stMove, action: client.Escape, reason: e.reason})
		pp.steps = append(pp.steps, step{at: esc.Add(2 * time.Hour), kind: stAlert, alert: alertPlan{kind: "escape",
			note: "Efterlyst sedan " + esc.Format("2006-01-02") + ". Fängsel och förstärkt bevakning vid återtagande."}})
		pl.persons = append(pl.persons, pp)
	}
}

// community puts people under supervision of the probation offices; a
// quarter came out of prison on parole.
func (pl *plan) community() {
	for i := 0; i < communityCount; i++ {
		p := pl.pool.take(func(people.Person) bool { return true })
		pp := &personPlan{p: p, status: client.InCommunity}
		off := &offices[pickIndex(pl.r, len(offices), func(k int) int { return offices[k].share })]
		parole := pl.chance(0.25)
		var name string
		var length int
		if parole {
			name, length = "Övervakning efter villkorlig frigivning", 365
		} else {
			k := communityKinds[pickIndex(pl.r, len(communityKinds), func(i int) int { return communityKinds[i].w })]
			name, length = k.name, k.days[pl.r.IntN(len(k.days))]
		}
		e := pl.r.IntN(length - 1)
		if lim := pl.daysAgo(adult(p)) - 1; e > lim {
			e = max(lim, 0)
		}
		cs := pl.when(e)
		offs := pl.offences(minorOffences, minorOffences)
		if parole && pl.priorStay(pp, cs.Add(-time.Hour)) {
			for k := range pp.steps {
				if pp.steps[k].kind == stMove && pp.steps[k].action == client.Release {
					pp.steps[k].reason = "Villkorlig frigivning med övervakning"
				}
			}
		}
		pp.steps = append(pp.steps, step{at: cs, kind: stBasis, basis: client.NewLegalBasis{Kind: client.BasisCommunity, StartDate: cs.Format("2006-01-02"),
			LengthDays: length, Offences: offs + " (" + strings.ToLower(name[:1]) + name[1:] + ")",
			Court: districtCourts[pl.r.IntN(len(districtCourts))], CaseRef: pl.caseRef(cs)}})
		pp.steps = append(pp.steps, step{at: cs.Add(time.Hour), kind: stMove, action: client.StartCommunity, office: off})
		pl.persons = append(pl.persons, pp)
	}
}

// released adds people who have been in custody and are out now.
func (pl *plan) released() {
	for i := 0; i < releasedCount; i++ {
		p := pl.pool.take(func(people.Person) bool { return true })
		pp := &personPlan{p: p, status: client.Released}
		rel := pl.when(pl.between(20, 1000))
		if pl.chance(0.3) {
			d := 7 + pl.expo(40)
			adm := rel.AddDate(0, 0, -d)
			if adm.Before(adult(p)) {
				continue
			}
			legs := pl.resolve([]leg{{choices: pl.remandCells(p, adm), from: adm}}, rel)
			if len(legs) == 0 {
				continue
			}
			pp.steps = append(pp.steps, step{at: adm, kind: stBasis, basis: client.NewLegalBasis{Kind: client.BasisRemand, StartDate: adm.Format("2006-01-02"),
				Offences: pl.offences(commonOffences, commonOffences), Court: districtCourts[pl.r.IntN(len(districtCourts))], CaseRef: pl.caseRef(adm)}})
			pp.steps = append(pp.steps, moves(legs)...)
			pp.steps = append(pp.steps, step{at: rel, kind: stMove, action: client.Release, reason: pick(pl.r, remandReleaseReasons)})
		} else {
			if !pl.priorStay(pp, rel) {
				continue
			}
			for k := range pp.steps {
				if pp.steps[k].action == client.Release {
					pp.steps[k].reason = pick(pl.r, releaseReasons)
				}
			}
		}
		pl.persons = append(pl.persons, pp)
	}
}

func (pl *plan) alertNote(kind string) string {
	notes := alertTexts[kind]
	return notes[pl.r.IntN(len(notes))]
}

// alerts sets an alert on alertShare (6 %) of the people, and an
// interpreter alert on some who speak no Nordic language.
func (pl *plan) alerts(pp *personPlan) {
	var first, last time.Time
	for _, s := range pp.steps {
		if s.kind == stMove && (s.action == client.Admit || s.action == client.StartCommunity) {
			first = s.at
		}
		last = s.at
	}
	if first.IsZero() {
		return
	}
	at := func() time.Time {
		t := first.Add(time.Duration(1+pl.r.IntN(10*24)) * time.Hour)
		if t.After(pl.ref) {
			t = pl.ref
		}
		if t.Before(last) && pp.status != client.InCustody {
			t = last.Add(time.Hour)
		}
		return t
	}
	if pl.chance(alertShare) {
		kind := pick(pl.r, alertKinds)
		a := alertPlan{kind: kind, note: pl.alertNote(kind)}
		t := at()
		if kind == "suicide_watch" {
			if end := t.AddDate(0, 0, pl.between(5, 14)); end.Before(pl.ref) {
				a.ends = end
			}
		}
		pp.steps = append(pp.steps, step{at: t, kind: stAlert, alert: a})
	}
	lang := pp.p.Languages[0]
	if name, ok := languageNames[lang]; ok && !slices.Contains(pp.p.Languages, "sv") && pl.chance(0.25) {
		pp.steps = append(pp.steps, step{at: at(), kind: stAlert, alert: alertPlan{kind: "other", note: "Behöver tolk (" + name + ") vid samtal och möten."}})
	}
}

// register puts the registration first, at the first event, by the
// institution or office of the first stay.
func (pl *plan) register(pp *personPlan) {
	first := pp.steps[0].at
	for _, s := range pp.steps {
		if s.kind == stMove && s.cell != nil {
			pp.home = s.cell.unit.inst.code
			break
		}
		if s.kind == stMove && s.office != nil {
			pp.home = s.office.code
			break
		}
	}
	pp.steps = slices.Insert(pp.steps, 0, step{at: first, kind: stRegister})
}
