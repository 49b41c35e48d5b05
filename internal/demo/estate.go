// SPDX-License-Identifier: AGPL-3.0-or-later

package demo

import (
	"fmt"
)

// The demo estate is fixed: the same institutions, units and cells on
// every start, whatever the seed. It is a fictional but plausible Swedish
// region: a closed high-security prison, a remand prison, a closed prison
// with women's units, an open prison, and three probation offices.

// group is a run of cells of one size in a unit.
type group struct {
	n, beds int
}

// unitSpec describes one unit.
type unitSpec struct {
	code   string // suffix after the institution code: KRO-A1
	name   string
	prefix string // cell label prefix: A1-07
	kind   string // reception, wing, security, segregation, support, women, juvenile, restricted, treatment, house, prerelease
	gender string // any, male, female
	// security overrides the institution's level (0: the same).
	security int
	groups   []group
	// fill is the occupancy range of the unit's usable beds today.
	fill [2]float64
	// accessible cells: every n-th cell (0: none).
	accessibleEvery int
}

// instSpec describes one institution.
type instSpec struct {
	code, name, category string
	security             int
	gender               string
	region, address      string
	lat, lon             float64
	units                []unitSpec
	// sentence lengths in months served here (0 = life), and how often.
	sentences []weighted[int]
}

// officeSpec describes one probation office.
type officeSpec struct {
	code, name, region, address string
	lat, lon                    float64
	share                       int // of community sentences
}

// closureSpec takes a cell out of use.
type closureSpec struct {
	unit   string // full unit code
	cell   int    // index within the unit
	reason string
	// from days ago until days ahead (0: open-ended).
	fromDaysAgo, untilDaysAhead int
}

// weighted is one choice with an integer weight (see pick).
type weighted[T any] struct {
	v T
	w int
}

func wing(code string, singles, doubles int) unitSpec {
	return unitSpec{code: code, name: "Avdelning " + code, prefix: code, kind: "wing", gender: "male",
		groups: []group{{singles, 1}, {doubles, 2}}, fill: [2]float64{0.92, 1.0}, accessibleEvery: 17}
}

var institutions = []instSpec{
	{
		code: "KRO", name: "Anstalten Kronoberga", category: "closed", security: 1, gender: "male",
		region: "Örebro län", address: "Anstaltsvägen 1, 692 92 Kronoberga", lat: 59.1312, lon: 15.1184,
		units: []unitSpec{
			{code: "MOT", name: "Mottagningsavdelning", prefix: "M", kind: "reception", gender: "male", groups: []group{{16, 1}, {4, 2}}, fill: [2]float64{0.6, 0.85}, accessibleEvery: 10},
			wing("A1", 7, 11), wing("A2", 7, 11), wing("A3", 7, 11), wing("A4", 7, 11),
			wing("B1", 7, 11), wing("B2", 7, 11), wing("B3", 7, 11), wing("B4", 7, 11),
			{code: "SAK", name: "Säkerhetsavdelning", prefix: "S", kind: "security", gender: "male", groups: []group{{12, 1}}, fill: [2]float64{0.75, 0.92}},
			{code: "AVS", name: "Avskildhetsavdelning", prefix: "X", kind: "segregation", gender: "male", groups: []group{{8, 1}}, fill: [2]float64{0.4, 0.6}},
			{code: "STO", name: "Stödavdelning", prefix: "ST", kind: "support", gender: "male", groups: []group{{10, 1}, {2, 2}}, fill: [2]float64{0.8, 0.95}, accessibleEvery: 6},
		},
		sentences: []weighted[int]{{10, 4}, {12, 6}, {18, 8}, {24, 10}, {30, 8}, {36, 9}, {48, 9}, {60, 7}, {72, 6}, {96, 5}, {120, 4}, {168, 3}, {216, 2}, {0, 2}},
	},
	{
		code: "NVH", name: "Häktet Norrviken", category: "remand", security: 1, gender: "any",
		region: "Stockholms län", address: "Häktesgatan 4, 191 47 Norrviken", lat: 59.4584, lon: 17.9247,
		units: []unitSpec{
			{code: "INT", name: "Intagningsenhet", prefix: "I", kind: "reception", gender: "male", groups: []group{{10, 1}}, fill: [2]float64{0.5, 0.7}, accessibleEvery: 5},
			{code: "H1", name: "Häktesavdelning 1", prefix: "H1", kind: "wing", gender: "male", groups: []group{{6, 1}, {12, 2}}, fill: [2]float64{0.92, 1.0}, accessibleEvery: 18},
			{code: "H2", name: "Häktesavdelning 2", prefix: "H2", kind: "wing", gender: "male", groups: []group{{6, 1}, {12, 2}}, fill: [2]float64{0.92, 1.0}},
			{code: "H3", name: "Häktesavdelning 3", prefix: "H3", kind: "wing", gender: "male", groups: []group{{6, 1}, {12, 2}}, fill: [2]float64{0.92, 1.0}},
			{code: "H4", name: "Häktesavdelning 4", prefix: "H4", kind: "wing", gender: "male", groups: []group{{6, 1}, {12, 2}}, fill: [2]float64{0.92, 1.0}},
			{code: "H5", name: "Häktesavdelning 5", prefix: "H5", kind: "wing", gender: "male", groups: []group{{6, 1}, {12, 2}}, fill: [2]float64{0.92, 1.0}},
			{code: "KVI", name: "Kvinnoavdelning", prefix: "K", kind: "women", gender: "female", groups: []group{{12, 1}, {2, 2}}, fill: [2]float64{0.7, 0.9}, accessibleEvery: 7},
			{code: "UNG", name: "Ungdomsavdelning (18–20 år)", prefix: "U", kind: "juvenile", gender: "male", groups: []group{{10, 1}}, fill: [2]float64{0.6, 0.8}},
			{code: "RES", name: "Restriktionsavdelning", prefix: "R", kind: "restricted", gender: "male", groups: []group{{14, 1}}, fill: [2]float64{0.8, 0.95}},
			{code: "AVS", name: "Avskildhet", prefix: "X", kind: "segregation", gender: "male", groups: []group{{6, 1}}, fill: [2]float64{0.3, 0.55}},
		},
	},
	{
		code: "SJB", name: "Anstalten Sjöbacka", category: "closed", security: 2, gender: "any",
		region: "Västra Götalands län", address: "Sjöbackavägen 20, 451 97 Sjöbacka", lat: 58.0522, lon: 12.3174,
		units: []unitSpec{
			{code: "MOT", name: "Mottagningsavdelning", prefix: "M", kind: "reception", gender: "male", groups: []group{{12, 1}}, fill: [2]float64{0.6, 0.85}, accessibleEvery: 6},
			wing("C1", 5, 15), wing("C2", 5, 15), wing("C3", 5, 15), wing("C4", 5, 15), wing("C5", 5, 15), wing("C6", 5, 15),
			{code: "K1", name: "Kvinnoavdelning K1", prefix: "K1", kind: "women", gender: "female", groups: []group{{12, 1}, {4, 2}}, fill: [2]float64{0.8, 0.95}, accessibleEvery: 8},
			{code: "K2", name: "Kvinnoavdelning K2", prefix: "K2", kind: "women", gender: "female", groups: []group{{12, 1}, {4, 2}}, fill: [2]float64{0.8, 0.95}},
			{code: "AVS", name: "Avskildhet", prefix: "X", kind: "segregation", gender: "male", groups: []group{{6, 1}}, fill: [2]float64{0.3, 0.6}},
			{code: "BEH", name: "Behandlingsavdelning (missbruk)", prefix: "BE", kind: "treatment", gender: "male", groups: []group{{14, 1}, {2, 2}}, fill: [2]float64{0.85, 0.97}},
		},
		sentences: []weighted[int]{{4, 6}, {6, 9}, {8, 8}, {10, 8}, {12, 9}, {14, 5}, {18, 7}, {24, 7}, {30, 4}, {36, 4}, {48, 3}, {60, 2}},
	},
	{
		code: "LJD", name: "Anstalten Ljungdala", category: "open", security: 3, gender: "male",
		region: "Kronobergs län", address: "Ljungdala gård, 341 91 Ljungdala", lat: 56.8318, lon: 14.4529,
		units: []unitSpec{
			{code: "MOT", name: "Mottagning", prefix: "M", kind: "reception", gender: "male", groups: []group{{8, 1}, {2, 2}}, fill: [2]float64{0.5, 0.75}, accessibleEvery: 5},
			house("P1"), house("P2"), house("P3"), house("P4"), house("P5"), house("P6"),
			{code: "UTS", name: "Utslussningsavdelning", prefix: "UT", kind: "prerelease", gender: "male", groups: []group{{12, 1}}, fill: [2]float64{0.8, 0.95}},
		},
		sentences: []weighted[int]{{1, 8}, {2, 10}, {3, 10}, {4, 9}, {5, 6}, {6, 8}, {8, 6}, {10, 5}, {12, 5}, {18, 3}, {24, 2}},
	},
}

// house is a pavilion of the open prison: rooms, shared rooms and small
// dormitories.
func house(code string) unitSpec {
	return unitSpec{code: code, name: "Paviljong " + code[1:], prefix: code, kind: "house", gender: "male",
		groups: []group{{4, 1}, {2, 2}, {4, 4}, {1, 6}}, fill: [2]float64{0.88, 0.98}, accessibleEvery: 11}
}

var offices = []officeSpec{
	{code: "FRV-NVK", name: "Frivården Norrviken", region: "Stockholms län", address: "Stationsgatan 12, 191 40 Norrviken", lat: 59.4563, lon: 17.9231, share: 45},
	{code: "FRV-KRB", name: "Frivården Kronoberga", region: "Örebro län", address: "Storgatan 33, 692 30 Kronoberga", lat: 59.1281, lon: 15.1440, share: 30},
	{code: "FRV-LJS", name: "Frivården Ljungsund", region: "Kronobergs län", address: "Järnvägsgatan 5, 341 30 Ljungsund", lat: 56.8331, lon: 13.9408, share: 25},
}

var closures = []closureSpec{
	{unit: "KRO-A3", cell: 4, reason: "Vattenskada från dusch — väntar på rörmokare", fromDaysAgo: 6, untilDaysAhead: 10},
	{unit: "KRO-B2", cell: 11, reason: "Brandskadad efter anlagd brand; sanering och ny el", fromDaysAgo: 40},
	{unit: "KRO-AVS", cell: 7, reason: "Sanering efter nedsmetning", fromDaysAgo: 1, untilDaysAhead: 2},
	{unit: "NVH-H4", cell: 2, reason: "Trasigt fönster — nytt säkerhetsglas beställt", fromDaysAgo: 12, untilDaysAhead: 9},
	{unit: "NVH-H1", cell: 15, reason: "Ombyggnad till anpassad cell (rullstol)", fromDaysAgo: 30, untilDaysAhead: 60},
	{unit: "SJB-C2", cell: 9, reason: "Mögelsanering", fromDaysAgo: 20},
	{unit: "SJB-C5", cell: 17, reason: "Ventilationsbyte", fromDaysAgo: 3, untilDaysAhead: 25},
	{unit: "LJD-P4", cell: 10, reason: "Fuktskada i golvet", fromDaysAgo: 15, untilDaysAhead: 45},
	{unit: "LJD-P2", cell: 0, reason: "Lås byts efter inbrott i paviljongen", fromDaysAgo: 2, untilDaysAhead: 5},
}

// cellPlan is one cell of the demo estate, with the stays planned in it.
type cellPlan struct {
	unit       *unitPlan
	label      string
	beds       int
	accessible bool
	smoking    bool
	note       string
	closed     *closureSpec
	stays      []interval
	id         string
}

// unitPlan is one unit of the demo estate.
type unitPlan struct {
	inst  *instSpec
	spec  *unitSpec
	code  string
	cells []*cellPlan
	id    string
}

func (u *unitPlan) security() int {
	if u.spec.security != 0 {
		return u.spec.security
	}
	return u.inst.security
}

// estatePlan is the whole estate.
type estatePlan struct {
	units  []*unitPlan
	byCode map[string]*unitPlan
}

func buildEstate() *estatePlan {
	e := &estatePlan{byCode: map[string]*unitPlan{}}
	for i := range institutions {
		in := &institutions[i]
		for j := range in.units {
			us := &in.units[j]
			u := &unitPlan{inst: in, spec: us, code: in.code + "-" + us.code}
			n := 0
			for _, g := range us.groups {
				for k := 0; k < g.n; k++ {
					n++
					c := &cellPlan{unit: u, label: fmt.Sprintf("%s-%02d", us.prefix, n), beds: g.beds}
					if us.accessibleEvery > 0 && n%us.accessibleEvery == 1 {
						c.accessible = true
						c.note = "Rullstolsanpassad, larmknapp vid säng"
					}
					if g.beds >= 4 {
						c.note = fmt.Sprintf("Sovsal, %d bäddar", g.beds)
					}
					u.cells = append(u.cells, c)
				}
			}
			e.units = append(e.units, u)
			e.byCode[u.code] = u
		}
	}
	for i := range closures {
		cs := &closures[i]
		e.byCode[cs.unit].cells[cs.cell].closed = cs
	}
	return e
}

// usableBeds is the number of beds in cells that are not out of use.
func (u *unitPlan) usableBeds() int {
	n := 0
	for _, c := range u.cells {
		if c.closed == nil {
			n += c.beds
		}
	}
	return n
}
