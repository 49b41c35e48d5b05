// SPDX-License-Identifier: AGPL-3.0-or-later

package people

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/client/natid"
)

var all = []natid.Country{natid.SE, natid.NO, natid.DK}

func generate(seed int64, n int) []Person {
	g := New(seed)
	out := make([]Person, 0, n)
	for i := range n {
		out = append(out, g.Person(all[i%len(all)]))
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a, b := generate(7, 1000), generate(7, 1000)
	if !reflect.DeepEqual(a, b) {
		for i := range a {
			if !reflect.DeepEqual(a[i], b[i]) {
				t.Fatalf("person %d differs between runs:\n%+v\n%+v", i, a[i], b[i])
			}
		}
	}
	c := generate(8, 1000)
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 7 and 8 gave the same people")
	}

	g1, g2 := New(3), New(3)
	for range 200 {
		for _, c := range all {
			f1, l1 := g1.StaffName(c)
			f2, l2 := g2.StaffName(c)
			if f1 != f2 || l1 != l2 {
				t.Fatalf("StaffName not deterministic: %s %s vs %s %s", f1, l1, f2, l2)
			}
		}
	}
}

func TestNationalIDsParse(t *testing.T) {
	kinds := map[string]int{}
	for _, p := range generate(11, 6000) {
		id, err := natid.Parse(p.Country, p.NationalID)
		if err != nil {
			t.Fatalf("%+v: national ID does not parse: %v", p, err)
		}
		if id.Number != p.NationalID || !id.BirthDate.Equal(p.BirthDate) || id.Sex != p.Sex {
			t.Fatalf("%+v: parsed as %+v", p, id)
		}
		if p.Nationality == string(p.Country) && id.Kind != regularKind(p.Country) {
			t.Errorf("%+v: citizen has a %s", p, id.Kind)
		}
		kinds[id.Kind]++
	}
	for _, k := range []string{natid.KindPersonnummer, natid.KindSamordningsnummer, natid.KindFodselsnummer, natid.KindDNummer, natid.KindCPR} {
		if kinds[k] == 0 {
			t.Errorf("no %s generated (got %v)", k, kinds)
		}
	}
}

func regularKind(c natid.Country) string {
	return map[natid.Country]string{natid.SE: natid.KindPersonnummer, natid.NO: natid.KindFodselsnummer, natid.DK: natid.KindCPR}[c]
}

func TestDiacritics(t *testing.T) {
	letters := map[natid.Country]string{natid.SE: "åäöÅÄÖ", natid.NO: "æøåÆØÅ", natid.DK: "æøåÆØÅ"}
	for _, c := range all {
		g := New(5)
		const n = 2000
		with := 0
		seen := map[rune]bool{}
		for range n {
			p := g.Person(c)
			name := p.GivenName + " " + p.FamilyName
			if strings.ContainsAny(name, letters[c]) {
				with++
			}
			for _, r := range strings.ToLower(name) {
				seen[r] = true
			}
		}
		t.Logf("%s: %d of %d names contain %s", c, with, n, letters[c])
		if with < n/5 {
			t.Errorf("%s: only %d of %d names contain %s", c, with, n, letters[c])
		}
		for _, r := range []rune(letters[c])[:3] {
			if !seen[r] {
				t.Errorf("%s: letter %c never appears in names", c, r)
			}
		}
	}
}

var knownLanguages = map[string]bool{
	"sv": true, "nb": true, "da": true, "en": true, "fi": true, "ar": true, "so": true, "pl": true, "fa": true,
	"ti": true, "ro": true, "lt": true, "bs": true, "sr": true, "tr": true, "ur": true,
}

func TestDistribution(t *testing.T) {
	ref := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range all {
		g := New(99)
		const n = 5000
		var male, core, foreign, aliased, multilingual int
		regions := map[string]int{}
		for range n {
			p := g.Person(c)
			age := ageOn(p.BirthDate, ref)
			if age < 18 || age > 75 {
				t.Fatalf("%s: age %d out of range: %+v", c, age, p)
			}
			if age >= 20 && age <= 45 {
				core++
			}
			if p.Sex == natid.Male {
				male++
			} else if p.Sex != natid.Female {
				t.Fatalf("bad sex %q", p.Sex)
			}
			if p.Country != c || p.GivenName == "" || p.FamilyName == "" || p.HomeRegion == "" {
				t.Fatalf("incomplete person %+v", p)
			}
			if len(p.Nationality) != 2 || strings.ToUpper(p.Nationality) != p.Nationality {
				t.Fatalf("nationality %q is not ISO 3166 alpha-2", p.Nationality)
			}
			if p.Nationality != string(c) {
				foreign++
			}
			if len(p.Aliases) > 0 {
				aliased++
				for _, a := range p.Aliases {
					if a == p.GivenName+" "+p.FamilyName || strings.Count(a, " ") < 1 {
						t.Errorf("bad alias %q for %s %s", a, p.GivenName, p.FamilyName)
					}
				}
			}
			if len(p.Languages) == 0 {
				t.Fatalf("no languages: %+v", p)
			}
			if len(p.Languages) > 1 {
				multilingual++
			}
			for _, l := range p.Languages {
				if !knownLanguages[l] {
					t.Fatalf("unexpected language %q", l)
				}
			}
			regions[p.HomeRegion]++
		}
		pct := func(k int) float64 { return 100 * float64(k) / n }
		t.Logf("%s: male %.1f%%, aged 20–45 %.1f%%, foreign %.1f%%, aliases %.1f%%, multilingual %.1f%%, %d regions",
			c, pct(male), pct(core), pct(foreign), pct(aliased), pct(multilingual), len(regions))
		check := func(what string, got, lo, hi float64) {
			if got < lo || got > hi {
				t.Errorf("%s: %s %.1f%% outside %.0f–%.0f%%", c, what, got, lo, hi)
			}
		}
		check("male share", pct(male), 91, 95)
		check("aged 20–45", pct(core), 70, 85)
		check("foreign nationals", pct(foreign), 5, 25)
		check("with aliases", pct(aliased), 4, 15)
		check("multilingual", pct(multilingual), 20, 70)
		if want := len(countries[c].regions); len(regions) != want {
			t.Errorf("%s: %d of %d regions used", c, len(regions), want)
		}
		for r := range regions {
			if !hasRegion(countries[c].regions, r) {
				t.Errorf("%s: unknown region %q", c, r)
			}
		}
	}
}

func hasRegion(ws []weighted, r string) bool {
	for _, w := range ws {
		if w.key == r {
			return true
		}
	}
	return false
}

func ageOn(birth, ref time.Time) int {
	age := ref.Year() - birth.Year()
	if ref.Month() < birth.Month() || ref.Month() == birth.Month() && ref.Day() < birth.Day() {
		age--
	}
	return age
}

func TestNewAt(t *testing.T) {
	ref := time.Date(2040, 6, 15, 13, 0, 0, 0, time.UTC)
	g := NewAt(1, ref)
	for range 3000 {
		for _, c := range all {
			p := g.Person(c)
			if age := ageOn(p.BirthDate, ref); age < 18 || age > 75 {
				t.Fatalf("age %d on %s out of range", age, ref.Format(time.DateOnly))
			}
			if _, err := natid.ParseAt(c, p.NationalID, ref); err != nil {
				t.Fatalf("%+v: %v", p, err)
			}
		}
	}
	for _, y := range []int{1929, 2058} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewAt(%d) did not panic", y)
				}
			}()
			NewAt(1, time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC))
		}()
	}
}

func TestStaffName(t *testing.T) {
	for _, c := range all {
		g := New(21)
		female, n := 0, 2000
		native := origins[countries[c].origin]
		nativeCount := 0
		for range n {
			given, family := g.StaffName(c)
			if given == "" || family == "" {
				t.Fatal("empty staff name")
			}
			if inAnyFemale(given) && !inAnyMale(given) {
				female++
			}
			if contains(native.family, family) {
				nativeCount++
			}
		}
		if female < n*35/100 || female > n*60/100 {
			t.Errorf("%s: %d of %d staff are women", c, female, n)
		}
		if nativeCount < n*80/100 {
			t.Errorf("%s: only %d of %d staff have native family names", c, nativeCount, n)
		}
	}
}

func inAnyFemale(name string) bool {
	for _, o := range origins {
		if contains(o.female, name) {
			return true
		}
	}
	return false
}

func inAnyMale(name string) bool {
	for _, o := range origins {
		if contains(o.male, name) {
			return true
		}
	}
	return false
}

func TestNameLists(t *testing.T) {
	for _, key := range []string{"SE", "NO", "DK"} {
		o := origins[key]
		if len(o.male) < 60 || len(o.female) < 60 || len(o.family) < 80 {
			t.Errorf("%s: %d male, %d female, %d family names; want at least 60/60/80", key, len(o.male), len(o.female), len(o.family))
		}
	}
	for key, o := range origins {
		for what, list := range map[string][]string{"male": o.male, "female": o.female, "family": o.family} {
			seen := map[string]bool{}
			for _, name := range list {
				if seen[name] {
					t.Errorf("%s %s: duplicate %q", key, what, name)
				}
				seen[name] = true
				if name == "" || strings.TrimSpace(name) != name {
					t.Errorf("%s %s: bad name %q", key, what, name)
				}
			}
		}
	}
}

func TestFeminineSurnames(t *testing.T) {
	tests := []struct {
		f    func(string) string
		in   string
		want string
	}{
		{polishFeminine, "Kowalski", "Kowalska"},
		{polishFeminine, "Zieliński", "Zielińska"},
		{polishFeminine, "Nowak", "Nowak"},
		{lithuanianFeminine, "Kazlauskas", "Kazlauskienė"},
		{lithuanianFeminine, "Butkus", "Butkienė"},
		{lithuanianFeminine, "Stankevičius", "Stankevičienė"},
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("%s → %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := foldDiacritics("Åsa Öberg Ødegård Kjærulff Wiśniewski"); got != "Asa Oberg Odegard Kjaerulff Wisniewski" {
		t.Errorf("foldDiacritics gave %q", got)
	}
}

func TestUnsupportedCountryPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Person(FI) did not panic")
		}
	}()
	New(1).Person("FI")
}
