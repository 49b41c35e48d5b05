// SPDX-License-Identifier: AGPL-3.0-or-later

package plan

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/custodia/custodia/internal/platform/i18n"
)

// Change is one difference between a version and the one before it.
type Change struct {
	// Op is added, removed or changed.
	Op string `json:"op"`
	// Field is title, period, goal, measure, measure.what,
	// measure.responsible, measure.dates, measure.status, client_view,
	// follow_up or status.
	Field string `json:"field"`
	// Label names the goal or measure (its text, shortened).
	Label string `json:"label,omitempty"`
	// From and To are the old and new value of short fields.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Text is the change in lang.
func (c Change) Text(lang i18n.Lang) string {
	from, to := c.From, c.To
	if c.Field == "measure.status" {
		from, to = i18n.T(lang, "plan.measure_status."+from), i18n.T(lang, "plan.measure_status."+to)
	}
	if c.Field == "status" {
		from, to = i18n.T(lang, "plan.status."+from), i18n.T(lang, "plan.status."+to)
	}
	if from == "" {
		from = "—"
	}
	if to == "" {
		to = "—"
	}
	var args []any
	if strings.HasPrefix(c.Field, "goal") || strings.HasPrefix(c.Field, "measure") {
		args = append(args, c.Label)
	}
	switch c.Field {
	case "title", "period", "status", "measure.responsible", "measure.dates", "measure.status":
		args = append(args, from, to)
	}
	return i18n.T(lang, "plan.change."+c.Field+"."+c.Op, args...)
}

// summarize is the changes in English, for the API and the audit trail.
func summarize(cs []Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Text(i18n.English)
	}
	return strings.Join(parts, "; ")
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= 60 {
		return s
	}
	r := []rune(s)
	return string(r[:57]) + "…"
}

func period(d Document) string {
	if d.PeriodStart == "" && d.PeriodEnd == "" {
		return ""
	}
	return d.PeriodStart + " – " + d.PeriodEnd
}

func dates(m Measure) string {
	if m.Start == "" && m.Due == "" {
		return ""
	}
	return m.Start + " – " + m.Due
}

// Diff lists what changed from a to b, goal by goal and measure by measure
// (matched by id, so a reworded goal is a change, not a removal and an
// addition).
func Diff(a, b Document) []Change {
	out := []Change{}
	if a.Title != b.Title {
		out = append(out, Change{Op: "changed", Field: "title", From: a.Title, To: b.Title})
	}
	if period(a) != period(b) {
		out = append(out, Change{Op: "changed", Field: "period", From: period(a), To: period(b)})
	}
	oldGoals := map[string]Goal{}
	for _, g := range a.Goals {
		oldGoals[g.ID] = g
	}
	newGoals := map[string]bool{}
	for _, g := range b.Goals {
		newGoals[g.ID] = true
		og, ok := oldGoals[g.ID]
		if !ok {
			out = append(out, Change{Op: "added", Field: "goal", Label: short(g.Text)})
			continue
		}
		if og.Text != g.Text {
			out = append(out, Change{Op: "changed", Field: "goal", Label: short(g.Text)})
		}
		out = append(out, diffMeasures(og.Measures, g.Measures)...)
	}
	for _, g := range a.Goals {
		if !newGoals[g.ID] {
			out = append(out, Change{Op: "removed", Field: "goal", Label: short(g.Text)})
		}
	}
	if a.ClientView != b.ClientView {
		out = append(out, Change{Op: "changed", Field: "client_view"})
	}
	if a.FollowUp != b.FollowUp {
		out = append(out, Change{Op: "changed", Field: "follow_up"})
	}
	return out
}

func diffMeasures(a, b []Measure) []Change {
	var out []Change
	old := map[string]Measure{}
	for _, m := range a {
		old[m.ID] = m
	}
	kept := map[string]bool{}
	for _, m := range b {
		kept[m.ID] = true
		om, ok := old[m.ID]
		if !ok {
			out = append(out, Change{Op: "added", Field: "measure", Label: short(m.What)})
			continue
		}
		l := short(m.What)
		if om.What != m.What {
			out = append(out, Change{Op: "changed", Field: "measure.what", Label: l})
		}
		if om.Responsible != m.Responsible {
			out = append(out, Change{Op: "changed", Field: "measure.responsible", Label: l, From: om.Responsible, To: m.Responsible})
		}
		if dates(om) != dates(m) {
			out = append(out, Change{Op: "changed", Field: "measure.dates", Label: l, From: dates(om), To: dates(m)})
		}
		if om.Status != m.Status {
			out = append(out, Change{Op: "changed", Field: "measure.status", Label: l, From: string(om.Status), To: string(m.Status)})
		}
	}
	for _, m := range a {
		if !kept[m.ID] {
			out = append(out, Change{Op: "removed", Field: "measure", Label: short(m.What)})
		}
	}
	return out
}

// ---------- Conflicts ----------

// Side is whose text a conflict entry keeps.
type Side string

// The sides of a conflict.
const (
	Mine   Side = "mine"
	Theirs Side = "theirs"
	Edited Side = "edit"
)

// Entry is one place where the editor's text ("mine") and the stored
// version ("theirs") differ: a field, or a goal or measure that only one
// of them has (Presence).
type Entry struct {
	Key string
	// Field names what the entry is (title, period_start, goal, measure,
	// what, responsible, start, due, status, client_view, follow_up).
	Field string
	// Goal is the text of the goal a measure entry belongs to.
	Goal string
	// Presence entries are a goal or measure only one side has; the
	// choice keeps or drops it whole.
	Presence           bool
	Mine, Theirs       string
	InMine, InTheirs   bool
	MineSeg, TheirsSeg []Seg
	// Auto is the side chosen without asking, when only one side changed
	// the entry since the version the editor started from.
	Auto Side
	// Long entries are multi-line text.
	Long bool
}

// Editable reports whether the entry may be merged by typing.
func (e Entry) Editable() bool {
	return !e.Presence && e.Field != "status" && e.Field != "start" && e.Field != "due" && e.Field != "period_start" && e.Field != "period_end"
}

// flat is a document as keyed values, in document order.
type flat struct {
	keys []string
	vals map[string]string
	// field and goal say what a key is and which goal it belongs to.
	field map[string]string
	goal  map[string]string
}

func (f *flat) add(key, field, goal, v string) {
	f.keys = append(f.keys, key)
	f.vals[key], f.field[key], f.goal[key] = v, field, goal
}

func goalSummary(g Goal) string {
	var b strings.Builder
	b.WriteString(g.Text)
	for _, m := range g.Measures {
		b.WriteString("\n• " + measureSummary(m))
	}
	return b.String()
}

func measureSummary(m Measure) string {
	s := m.What
	if m.Responsible != "" {
		s += " — " + m.Responsible
	}
	if d := dates(m); d != "" {
		s += " (" + d + ")"
	}
	return s + " [" + string(m.Status) + "]"
}

// flatten keys every value of d. Presence keys ("goal/<id>",
// "goal/<id>/measure/<id>") stand for a whole goal or measure.
func flatten(d Document) *flat {
	f := &flat{vals: map[string]string{}, field: map[string]string{}, goal: map[string]string{}}
	f.add("title", "title", "", d.Title)
	f.add("period_start", "period_start", "", d.PeriodStart)
	f.add("period_end", "period_end", "", d.PeriodEnd)
	for _, g := range d.Goals {
		gk := "goal/" + g.ID
		f.add(gk, "goal", "", goalSummary(g))
		f.add(gk+"/text", "goal", "", g.Text)
		for _, m := range g.Measures {
			mk := gk + "/measure/" + m.ID
			f.add(mk, "measure", g.Text, measureSummary(m))
			f.add(mk+"/what", "what", g.Text, m.What)
			f.add(mk+"/responsible", "responsible", g.Text, m.Responsible)
			f.add(mk+"/start", "start", g.Text, m.Start)
			f.add(mk+"/due", "due", g.Text, m.Due)
			f.add(mk+"/status", "status", g.Text, string(m.Status))
		}
	}
	f.add("client_view", "client_view", "", d.ClientView)
	f.add("follow_up", "follow_up", "", d.FollowUp)
	return f
}

// isPresence reports whether key stands for a whole goal or measure.
func isPresence(key string) bool {
	p := strings.Split(key, "/")
	return len(p) == 2 || len(p) == 4
}

// parent is the presence key of the goal or measure key belongs to.
func parent(key string) string {
	p := strings.Split(key, "/")
	switch len(p) {
	case 3, 4:
		return strings.Join(p[:2], "/")
	case 5:
		return strings.Join(p[:4], "/")
	}
	return ""
}

// Compare lists where mine and theirs differ, in the order of theirs with
// what only mine has after it. base is the version the editor started
// from: where only one side changed something, that side is chosen
// (Auto); where both did, the editor must choose.
func Compare(base, mine, theirs Document) []Entry {
	b, m, t := flatten(base), flatten(mine), flatten(theirs)
	order := append([]string(nil), t.keys...)
	for _, k := range m.keys {
		if _, ok := t.vals[k]; !ok {
			order = append(order, k)
		}
	}
	var out []Entry
	skip := map[string]bool{}
	for _, k := range order {
		if p := parent(k); p != "" && skip[p] {
			skip[k] = true
			continue
		}
		mv, inM := m.vals[k]
		tv, inT := t.vals[k]
		presence := isPresence(k)
		if presence && inM && inT {
			continue // both have it: its fields are compared one by one
		}
		if presence {
			skip[k] = true // one side only: chosen whole
		}
		if inM == inT && mv == tv {
			continue
		}
		bv, inB := b.vals[k]
		field, goal := t.field[k], t.goal[k]
		if !inT {
			field, goal = m.field[k], m.goal[k]
		}
		e := Entry{Key: k, Field: field, Goal: goal, Presence: presence, Mine: mv, Theirs: tv, InMine: inM, InTheirs: inT,
			Long: field == "client_view" || field == "follow_up" || field == "goal" || field == "what"}
		switch {
		case inB == inM && bv == mv:
			e.Auto = Theirs
		case inB == inT && bv == tv:
			e.Auto = Mine
		}
		e.MineSeg, e.TheirsSeg = WordDiff(mv, tv)
		out = append(out, e)
	}
	return out
}

// Choice is what the editor chose for an entry: a side, or their own
// text (Side Edited).
type Choice struct {
	Side Side
	Text string
}

// Resolve builds the document the editor chose: for every entry of
// Compare(…, mine, theirs) the side in choices (or the entry's Auto
// side), and where mine and theirs agree, that. An entry without a choice
// or Auto side is an error naming its key.
func Resolve(entries []Entry, mine, theirs Document, choices map[string]Choice) (Document, []string) {
	pick := map[string]Choice{}
	var missing []string
	for _, e := range entries {
		c, ok := choices[e.Key]
		if !ok || (c.Side != Mine && c.Side != Theirs && !(c.Side == Edited && e.Editable())) {
			if e.Auto == "" {
				missing = append(missing, e.Key)
				continue
			}
			c = Choice{Side: e.Auto}
		}
		pick[e.Key] = c
	}
	text := func(key, mv, tv string) string {
		c, ok := pick[key]
		if !ok {
			return tv // not an entry: both sides agree
		}
		switch c.Side {
		case Mine:
			return mv
		case Edited:
			return clean(c.Text)
		}
		return tv
	}
	// keep says whether a goal or measure only one side has stays.
	keep := func(key string, inMine bool) bool {
		c, ok := pick[key]
		if !ok {
			return true
		}
		return (c.Side == Mine) == inMine
	}
	out := Document{
		Title:       text("title", mine.Title, theirs.Title),
		PeriodStart: text("period_start", mine.PeriodStart, theirs.PeriodStart),
		PeriodEnd:   text("period_end", mine.PeriodEnd, theirs.PeriodEnd),
		ClientView:  text("client_view", mine.ClientView, theirs.ClientView),
		FollowUp:    text("follow_up", mine.FollowUp, theirs.FollowUp),
		Goals:       []Goal{},
	}
	mineGoals := map[string]Goal{}
	for _, g := range mine.Goals {
		mineGoals[g.ID] = g
	}
	theirGoals := map[string]Goal{}
	for _, g := range theirs.Goals {
		theirGoals[g.ID] = g
	}
	for _, id := range unionIDs(goalIDs(theirs.Goals), goalIDs(mine.Goals)) {
		mg, inM := mineGoals[id]
		tg, inT := theirGoals[id]
		gk := "goal/" + id
		switch {
		case inM && !inT:
			if keep(gk, true) {
				out.Goals = append(out.Goals, mg)
			}
			continue
		case inT && !inM:
			if keep(gk, false) {
				out.Goals = append(out.Goals, tg)
			}
			continue
		}
		g := Goal{ID: id, Text: text(gk+"/text", mg.Text, tg.Text), Measures: []Measure{}}
		mm, tm := map[string]Measure{}, map[string]Measure{}
		for _, m := range mg.Measures {
			mm[m.ID] = m
		}
		for _, m := range tg.Measures {
			tm[m.ID] = m
		}
		for _, mid := range unionIDs(measureIDs(tg.Measures), measureIDs(mg.Measures)) {
			a, inA := mm[mid]
			b, inB := tm[mid]
			mk := gk + "/measure/" + mid
			switch {
			case inA && !inB:
				if keep(mk, true) {
					g.Measures = append(g.Measures, a)
				}
				continue
			case inB && !inA:
				if keep(mk, false) {
					g.Measures = append(g.Measures, b)
				}
				continue
			}
			g.Measures = append(g.Measures, Measure{ID: mid,
				What:        text(mk+"/what", a.What, b.What),
				Responsible: text(mk+"/responsible", a.Responsible, b.Responsible),
				Start:       text(mk+"/start", a.Start, b.Start),
				Due:         text(mk+"/due", a.Due, b.Due),
				Status:      MeasureStatus(text(mk+"/status", string(a.Status), string(b.Status))),
			})
		}
		out.Goals = append(out.Goals, g)
	}
	return out, missing
}

func goalIDs(gs []Goal) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

func measureIDs(ms []Measure) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// unionIDs is first's ids in order, each id only second has placed after
// the id that precedes it in second.
func unionIDs(first, second []string) []string {
	out := append([]string(nil), first...)
	has := map[string]bool{}
	for _, id := range first {
		has[id] = true
	}
	for i, id := range second {
		if has[id] {
			continue
		}
		at := 0
		if i > 0 {
			for j, x := range out {
				if x == second[i-1] {
					at = j + 1
				}
			}
		}
		out = append(out[:at], append([]string{id}, out[at:]...)...)
		has[id] = true
	}
	return out
}

// ---------- Word differences ----------

// Seg is a run of text, marked when the other side does not have it.
type Seg struct {
	Text    string
	Changed bool
}

var wordRe = regexp.MustCompile(`\s+|[^\s]+`)

// maxDiffCells bounds the word-by-word comparison (its table is words ×
// words); longer texts are marked whole.
const maxDiffCells = 1 << 20

// WordDiff splits a and b into runs, marking the words each has that the
// other does not (a longest common subsequence of words).
func WordDiff(a, b string) (as, bs []Seg) {
	x, y := wordRe.FindAllString(a, -1), wordRe.FindAllString(b, -1)
	if len(x)*len(y) > maxDiffCells {
		return []Seg{{Text: a, Changed: a != b}}, []Seg{{Text: b, Changed: a != b}}
	}
	n, m := len(x), len(y)
	l := make([][]int32, n+1)
	for i := range l {
		l[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	push := func(s []Seg, t string, changed bool) []Seg {
		// Spaces join the run before them, so a run of changed words is
		// marked as one.
		if k := len(s); k > 0 && (s[k-1].Changed == changed || strings.TrimSpace(t) == "") {
			s[k-1].Text += t
			return s
		}
		return append(s, Seg{Text: t, Changed: changed})
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			as, bs = push(as, x[i], false), push(bs, y[j], false)
			i, j = i+1, j+1
		case j < m && (i == n || l[i][j+1] >= l[i+1][j]):
			bs = push(bs, y[j], strings.TrimSpace(y[j]) != "")
			j++
		default:
			as = push(as, x[i], strings.TrimSpace(x[i]) != "")
			i++
		}
	}
	return as, bs
}

// String is for test failures.
func (e Entry) String() string {
	return fmt.Sprintf("%s: mine %q (%v), theirs %q (%v), auto %q", e.Key, e.Mine, e.InMine, e.Theirs, e.InTheirs, e.Auto)
}
