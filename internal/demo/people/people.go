// SPDX-License-Identifier: AGPL-3.0-or-later

// Package people generates realistic, entirely fictitious Nordic people for
// demo data and benchmarks.
//
// A demo that only contains "Test Testsson" hides the problems real data
// brings: names with å, ä, ö, æ and ø, people registered under several
// spellings, foreign nationals with coordination numbers, people who need an
// interpreter. The generator produces those in roughly the proportions a
// Nordic prison population has, and does so deterministically: the same
// seed always gives the same people, so demos, screenshots and benchmarks
// are reproducible.
package people

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client/natid"
)

// Person is one generated person.
type Person struct {
	GivenName  string
	FamilyName string
	// Aliases are other names the person is known or has been recorded
	// under, each written "Given Family".
	Aliases     []string
	BirthDate   time.Time // midnight UTC
	Sex         string    // natid.Female or natid.Male
	Country     natid.Country
	NationalID  string   // canonical form, valid for natid.Parse(Country, …)
	Nationality string   // ISO 3166-1 alpha-2
	Languages   []string // BCP 47, most fluent first
	HomeRegion  string   // Swedish län, Norwegian fylke or Danish region
}

// Generator produces people from a seeded random source. It is not safe
// for concurrent use; give each goroutine its own Generator.
type Generator struct {
	r   *rand.Rand
	ref time.Time
}

// defaultReference is the date New computes ages against. It is fixed,
// not today's date, so that a seed gives the same people on every run.
var defaultReference = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// New returns a generator whose people are a pure function of seed. Ages
// are reckoned on 1 January 2026, so a person generated as 18 stays an
// adult whenever the demo is run; use NewAt to reckon from another date.
func New(seed int64) *Generator {
	return NewAt(seed, defaultReference)
}

// NewAt is New with ages reckoned on ref (its calendar date), for callers
// that want people aged 18–75 relative to, say, the demo's start date.
// Determinism then also depends on ref. It panics unless ref falls in
// 1930–2057, the years for which every generated birth date can be encoded
// in all three countries' numbers.
func NewAt(seed int64, ref time.Time) *Generator {
	y, m, d := ref.Date()
	if y < 1930 || y > 2057 {
		panic("people: reference year must be within 1930–2057")
	}
	return &Generator{
		r:   rand.New(rand.NewPCG(uint64(seed), 0x6375_7374_6f64_6961)), // "custodia"
		ref: time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
	}
}

// origin is a naming tradition together with the nationality and mother
// tongue that usually go with it.
type origin struct {
	nationality string
	language    string
	male        []string
	female      []string
	family      []string
	// naturalised is the share of people of this origin in a Nordic
	// country who hold its citizenship.
	naturalised float64
	// feminine turns a family name into its female form where the
	// language inflects surnames (Polish, Lithuanian).
	feminine func(string) string
}

var origins = map[string]*origin{
	"SE": {nationality: "SE", language: "sv", male: seMale, female: seFemale, family: seFamily, naturalised: 0.1},
	"NO": {nationality: "NO", language: "nb", male: noMale, female: noFemale, family: noFamily, naturalised: 0.1},
	"DK": {nationality: "DK", language: "da", male: dkMale, female: dkFemale, family: dkFamily, naturalised: 0.1},
	"FI": {nationality: "FI", language: "fi", male: fiMale, female: fiFemale, family: fiFamily, naturalised: 0.6},
	"IQ": {nationality: "IQ", language: "ar", male: iqMale, female: iqFemale, family: iqFamily, naturalised: 0.6},
	"SY": {nationality: "SY", language: "ar", male: syMale, female: syFemale, family: syFamily, naturalised: 0.45},
	"SO": {nationality: "SO", language: "so", male: soMale, female: soFemale, family: soFamily, naturalised: 0.6},
	"PL": {nationality: "PL", language: "pl", male: plMale, female: plFemale, family: plFamily, naturalised: 0.1, feminine: polishFeminine},
	"IR": {nationality: "IR", language: "fa", male: irMale, female: irFemale, family: irFamily, naturalised: 0.65},
	"AF": {nationality: "AF", language: "fa", male: afMale, female: afFemale, family: afFamily, naturalised: 0.4},
	"ER": {nationality: "ER", language: "ti", male: erMale, female: erFemale, family: erFamily, naturalised: 0.4},
	"RO": {nationality: "RO", language: "ro", male: roMale, female: roFemale, family: roFamily, naturalised: 0.05},
	"LT": {nationality: "LT", language: "lt", male: ltMale, female: ltFemale, family: ltFamily, naturalised: 0.05, feminine: lithuanianFeminine},
	"BA": {nationality: "BA", language: "bs", male: baMale, female: baFemale, family: baFamily, naturalised: 0.75},
	"RS": {nationality: "RS", language: "sr", male: rsMale, female: rsFemale, family: rsFamily, naturalised: 0.5},
	"TR": {nationality: "TR", language: "tr", male: trMale, female: trFemale, family: trFamily, naturalised: 0.6},
	"MA": {nationality: "MA", language: "ar", male: maMale, female: maFemale, family: maFamily, naturalised: 0.5},
	"PK": {nationality: "PK", language: "ur", male: pkMale, female: pkFemale, family: pkFamily, naturalised: 0.7},
}

// weighted is one choice with an integer weight.
type weighted struct {
	key    string
	weight int
}

// country holds what differs between the three registers.
type country struct {
	origin  string     // the native naming tradition
	mix     []weighted // origins of the prison population, native included
	staff   []weighted // origins of staff, native included
	regions []weighted // home regions weighted by population (thousands)
	// foreignKind is the number a foreign national without residence
	// usually has, and how often (percent) they have it rather than a
	// regular one.
	foreignKind    string
	foreignKindPct int
}

// The mixes are rough, rounded shares: about a quarter to a third of
// Nordic prisoners are foreign-born, from these countries above all.
var countries = map[natid.Country]*country{
	natid.SE: {
		origin: "SE",
		mix: []weighted{
			{"SE", 690}, {"FI", 30}, {"IQ", 45}, {"SY", 30}, {"SO", 40}, {"PL", 20}, {"IR", 20},
			{"AF", 30}, {"ER", 20}, {"RO", 20}, {"LT", 10}, {"BA", 20}, {"RS", 10}, {"TR", 10}, {"MA", 5},
		},
		staff: []weighted{{"SE", 880}, {"FI", 30}, {"IQ", 20}, {"IR", 20}, {"BA", 20}, {"SO", 10}, {"TR", 10}, {"SY", 10}},
		regions: []weighted{
			{"Stockholms län", 2450}, {"Uppsala län", 400}, {"Södermanlands län", 300}, {"Östergötlands län", 470},
			{"Jönköpings län", 370}, {"Kronobergs län", 205}, {"Kalmar län", 245}, {"Gotlands län", 61},
			{"Blekinge län", 157}, {"Skåne län", 1400}, {"Hallands län", 340}, {"Västra Götalands län", 1740},
			{"Värmlands län", 283}, {"Örebro län", 306}, {"Västmanlands län", 280}, {"Dalarnas län", 288},
			{"Gävleborgs län", 287}, {"Västernorrlands län", 243}, {"Jämtlands län", 132}, {"Västerbottens län", 275},
			{"Norrbottens län", 250},
		},
		foreignKind:    natid.KindSamordningsnummer,
		foreignKindPct: 40,
	},
	natid.NO: {
		origin: "NO",
		mix: []weighted{
			{"NO", 730}, {"SE", 30}, {"PL", 50}, {"LT", 40}, {"RO", 30}, {"SO", 25}, {"PK", 20},
			{"IQ", 20}, {"SY", 15}, {"ER", 15}, {"AF", 10}, {"IR", 10}, {"RS", 5},
		},
		staff: []weighted{{"NO", 880}, {"SE", 40}, {"PL", 20}, {"PK", 20}, {"SO", 10}, {"IR", 10}, {"BA", 10}, {"IQ", 10}},
		regions: []weighted{
			{"Oslo", 717}, {"Rogaland", 500}, {"Møre og Romsdal", 270}, {"Nordland", 241}, {"Østfold", 300},
			{"Akershus", 720}, {"Buskerud", 270}, {"Innlandet", 375}, {"Vestfold", 255}, {"Telemark", 177},
			{"Agder", 316}, {"Vestland", 650}, {"Trøndelag", 478}, {"Troms", 169}, {"Finnmark", 75},
		},
		foreignKind:    natid.KindDNummer,
		foreignKindPct: 50,
	},
	natid.DK: {
		origin: "DK",
		mix: []weighted{
			{"DK", 730}, {"SE", 10}, {"NO", 10}, {"PL", 30}, {"RO", 30}, {"LT", 20}, {"TR", 35}, {"IQ", 25},
			{"SY", 25}, {"SO", 25}, {"MA", 15}, {"PK", 15}, {"AF", 10}, {"IR", 10}, {"BA", 10},
		},
		staff: []weighted{{"DK", 890}, {"SE", 20}, {"NO", 10}, {"TR", 20}, {"PK", 15}, {"IQ", 15}, {"BA", 15}, {"IR", 15}},
		regions: []weighted{
			{"Region Hovedstaden", 1880}, {"Region Sjælland", 850}, {"Region Syddanmark", 1230},
			{"Region Midtjylland", 1350}, {"Region Nordjylland", 595},
		},
	},
}

func (g *Generator) config(c natid.Country) *country {
	cfg, ok := countries[c]
	if !ok {
		panic("people: unsupported country " + string(c))
	}
	return cfg
}

// Person returns the next person registered in country (natid.SE, NO or
// DK). About 93 % are men and most are 20–45, as in a prison population.
// It panics on any other country, which is a programming error.
func (g *Generator) Person(c natid.Country) Person {
	cfg := g.config(c)
	native := origins[cfg.origin]
	o := origins[g.pick(cfg.mix)]

	sex := natid.Male
	if g.r.IntN(100) < 7 {
		sex = natid.Female
	}
	given, family := g.name(o, sex)
	birth := g.birthDate()

	p := Person{
		GivenName:   given,
		FamilyName:  family,
		BirthDate:   birth,
		Sex:         sex,
		Country:     c,
		Nationality: native.nationality,
		HomeRegion:  g.pick(cfg.regions),
	}

	kind := ""
	switch {
	case o == native:
		p.Languages = []string{native.language}
		if g.chance(0.4) {
			p.Languages = append(p.Languages, "en")
		}
	case g.chance(o.naturalised):
		// Citizens of immigrant background usually speak the local
		// language best, and the family language too.
		p.Languages = []string{native.language, o.language}
		if g.chance(0.3) {
			p.Languages = append(p.Languages, "en")
		}
	default:
		p.Nationality = o.nationality
		p.Languages = []string{o.language}
		if g.chance(0.3) {
			p.Languages = append(p.Languages, native.language)
		}
		if g.chance(0.4) {
			p.Languages = append(p.Languages, "en")
		}
		if cfg.foreignKind != "" && g.r.IntN(100) < cfg.foreignKindPct {
			kind = cfg.foreignKind
		}
	}

	id, err := natid.GenerateKind(c, kind, birth, sex, g.r)
	if err != nil {
		panic("people: " + err.Error()) // NewAt keeps every birth year encodable
	}
	p.NationalID = id

	aliasPct := 6
	if o != native {
		aliasPct = 20
	}
	if g.r.IntN(100) < aliasPct {
		p.Aliases = g.aliases(o, sex, given, family)
	}
	return p
}

// StaffName returns a name for a member of staff in country: an even mix
// of women and men, mostly of the country's own naming tradition with some
// of immigrant background. It panics on an unsupported country.
func (g *Generator) StaffName(c natid.Country) (given, family string) {
	cfg := g.config(c)
	o := origins[g.pick(cfg.staff)]
	sex := natid.Male
	if g.chance(0.5) {
		sex = natid.Female
	}
	return g.name(o, sex)
}

// name picks a given and family name of origin o for sex.
func (g *Generator) name(o *origin, sex string) (given, family string) {
	if sex == natid.Female {
		given = g.one(o.female)
	} else {
		given = g.one(o.male)
	}
	return given, g.family(o, sex)
}

func (g *Generator) family(o *origin, sex string) string {
	f := g.one(o.family)
	if sex == natid.Female && o.feminine != nil {
		f = o.feminine(f)
	}
	return f
}

// birthDate draws an age from 18 to 75 (4 % 18–19, 76 % 20–45 peaking in
// the early thirties, 15 % 46–60, 5 % 61–75) and a birth date giving
// exactly that age on the reference date.
func (g *Generator) birthDate() time.Time {
	var age int
	switch n := g.r.IntN(100); {
	case n < 4:
		age = 18 + g.r.IntN(2)
	case n < 80:
		age = 20 + (g.r.IntN(26)+g.r.IntN(26)+1)/2
	case n < 95:
		age = 46 + g.r.IntN(15)
	default:
		age = 61 + g.r.IntN(15)
	}
	latest := g.ref.AddDate(-age, 0, 0)
	earliest := g.ref.AddDate(-age-1, 0, 0)
	span := int(latest.Sub(earliest).Hours() / 24)
	return latest.AddDate(0, 0, -g.r.IntN(span))
}

// aliases returns one to three other names for the person, of the kinds
// that turn up in real registers: another transliteration of the given
// name, the name without diacritics, the name in reverse order, or a
// previous family name.
func (g *Generator) aliases(o *origin, sex, given, family string) []string {
	full := given + " " + family
	n := 1
	if g.chance(0.3) {
		n++
		if g.chance(0.3) {
			n++
		}
	}
	var out []string
	for tries := 0; len(out) < n && tries < 10; tries++ {
		var a string
		switch g.r.IntN(4) {
		case 0:
			if v, ok := variants[given]; ok {
				a = g.one(v) + " " + family
			} else {
				a = g.one(genderNames(o, sex)) + " " + family
			}
		case 1:
			a = foldDiacritics(full)
		case 2:
			a = family + " " + given
		case 3:
			a = given + " " + g.family(o, sex)
		}
		if a == full || contains(out, a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

func genderNames(o *origin, sex string) []string {
	if sex == natid.Female {
		return o.female
	}
	return o.male
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (g *Generator) one(list []string) string { return list[g.r.IntN(len(list))] }

func (g *Generator) chance(p float64) bool { return g.r.Float64() < p }

// pick returns a key with probability proportional to its weight. It walks
// a slice, never a map, so the draw is deterministic.
func (g *Generator) pick(ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.weight
	}
	n := g.r.IntN(total)
	for _, w := range ws {
		if n < w.weight {
			return w.key
		}
		n -= w.weight
	}
	return ws[len(ws)-1].key
}

// fold maps letters with diacritics to the ASCII spelling used when a
// name is typed on a foreign keyboard or read from a passport's MRZ.
var fold = strings.NewReplacer(
	"å", "a", "ä", "a", "ö", "o", "é", "e", "ø", "o", "æ", "ae", "ü", "u",
	"Å", "A", "Ä", "A", "Ö", "O", "É", "E", "Ø", "O", "Æ", "AE", "Ü", "U",
	"ł", "l", "Ł", "L", "ś", "s", "Ś", "S", "ź", "z", "ż", "z", "Ż", "Z", "ą", "a", "ę", "e", "ć", "c", "ń", "n", "ó", "o",
	"ț", "t", "Ț", "T", "ș", "s", "Ș", "S", "ă", "a", "â", "a", "î", "i",
	"ū", "u", "ė", "e", "č", "c", "Č", "C", "š", "s", "Š", "S", "ž", "z", "Ž", "Z",
	"đ", "dj", "Đ", "Dj",
	"ı", "i", "İ", "I", "ş", "s", "Ş", "S", "ğ", "g", "ç", "c", "Ç", "C",
)

func foldDiacritics(s string) string { return fold.Replace(s) }

// polishFeminine gives the female form of Polish adjectival surnames
// (Kowalski → Kowalska); other surnames do not change.
func polishFeminine(f string) string {
	for _, suffix := range []string{"ski", "cki", "dzki"} {
		if strings.HasSuffix(f, suffix) {
			return strings.TrimSuffix(f, "i") + "a"
		}
	}
	return f
}

// lithuanianFeminine gives the married female form of a Lithuanian
// surname (Kazlauskas → Kazlauskienė, Butkus → Butkienė).
func lithuanianFeminine(f string) string {
	for _, suffix := range []string{"ius", "as", "is", "ys", "us"} {
		if strings.HasSuffix(f, suffix) {
			return strings.TrimSuffix(f, suffix) + "ienė"
		}
	}
	return f
}
