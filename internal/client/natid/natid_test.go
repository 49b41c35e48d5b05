// SPDX-License-Identifier: AGPL-3.0-or-later

package natid

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// testNow pins "now" so that century resolution and the future check are
// reproducible.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

func TestParseValid(t *testing.T) {
	tests := []struct {
		country Country
		in      string
		number  string
		birth   time.Time
		sex     string
		kind    string
	}{
		// Sweden. 19121212-1212 is Skatteverket's well-known test person.
		{SE, "19121212-1212", "19121212-1212", date(1912, 12, 12), Male, KindPersonnummer},
		{SE, "191212121212", "19121212-1212", date(1912, 12, 12), Male, KindPersonnummer},
		{SE, "121212+1212", "19121212-1212", date(1912, 12, 12), Male, KindPersonnummer},
		{SE, "121212-1212", "20121212-1212", date(2012, 12, 12), Male, KindPersonnummer},
		{SE, "1212121212", "20121212-1212", date(2012, 12, 12), Male, KindPersonnummer},
		{SE, "  640823-3234\n", "19640823-3234", date(1964, 8, 23), Male, KindPersonnummer},
		{SE, "811218-9876", "19811218-9876", date(1981, 12, 18), Male, KindPersonnummer},
		{SE, "000229-1235", "20000229-1235", date(2000, 2, 29), Male, KindPersonnummer},
		{SE, "901201-1236", "19901201-1236", date(1990, 12, 1), Male, KindPersonnummer},
		{SE, "901201+1236", "18901201-1236", date(1890, 12, 1), Male, KindPersonnummer},
		{SE, "20201231-9998", "20201231-9998", date(2020, 12, 31), Male, KindPersonnummer},
		// Born yesterday relative to testNow, and a date later this year
		// which must therefore be a century earlier.
		{SE, "261124-1239", "20261124-1239", date(2026, 11, 24), Male, KindPersonnummer},
		{SE, "261126-1237", "19261126-1237", date(1926, 11, 26), Male, KindPersonnummer},
		{SE, "261231-1239", "19261231-1239", date(1926, 12, 31), Male, KindPersonnummer},
		// Samordningsnummer: day + 60 (Skatteverket's example).
		{SE, "701063-2391", "19701063-2391", date(1970, 10, 3), Male, KindSamordningsnummer},

		// Norway, check digits computed independently.
		{NO, "01019012480", "01019012480", date(1990, 1, 1), Female, KindFodselsnummer},
		{NO, "010190 12480", "01019012480", date(1990, 1, 1), Female, KindFodselsnummer},
		{NO, "15088532187", "15088532187", date(1985, 8, 15), Male, KindFodselsnummer},
		{NO, "31129949980", "31129949980", date(1999, 12, 31), Male, KindFodselsnummer},
		{NO, "29020050169", "29020050169", date(2000, 2, 29), Male, KindFodselsnummer},
		{NO, "12125450006", "12125450006", date(1854, 12, 12), Female, KindFodselsnummer},
		{NO, "17055461708", "17055461708", date(1854, 5, 17), Male, KindFodselsnummer},
		{NO, "01014090017", "01014090017", date(1940, 1, 1), Female, KindFodselsnummer},
		{NO, "24117899973", "24117899973", date(1978, 11, 24), Male, KindFodselsnummer},
		{NO, "41019012474", "41019012474", date(1990, 1, 1), Female, KindDNummer},
		{NO, "45058532391", "45058532391", date(1985, 5, 5), Male, KindDNummer},
		{NO, "01459012423", "01459012423", date(1990, 5, 1), Female, KindHNummer},

		// Denmark. 070761-4285 passes the old modulus-11 control; 010100-1231
		// does not, which has been allowed since 2007.
		{DK, "070761-4285", "070761-4285", date(1961, 7, 7), Male, KindCPR},
		{DK, "0707614285", "070761-4285", date(1961, 7, 7), Male, KindCPR},
		{DK, "111111-1118", "111111-1118", date(1911, 11, 11), Female, KindCPR},
		{DK, "010100-1231", "010100-1231", date(1900, 1, 1), Male, KindCPR},
		{DK, "290200-4321", "290200-4321", date(2000, 2, 29), Male, KindCPR},
		{DK, "010126-9000", "010126-9000", date(2026, 1, 1), Female, KindCPR},
		{DK, "010137-9000", "010137-9000", date(1937, 1, 1), Female, KindCPR},
		{DK, "010158-5000", "010158-5000", date(1858, 1, 1), Female, KindCPR},
		{DK, "010158-4001", "010158-4001", date(1958, 1, 1), Male, KindCPR},
		{DK, "311299-0003", "311299-0003", date(1999, 12, 31), Male, KindCPR},
		{DK, "010120-6000", "010120-6000", date(2020, 1, 1), Female, KindCPR},
	}
	for _, tt := range tests {
		t.Run(string(tt.country)+"/"+tt.in, func(t *testing.T) {
			id, err := ParseAt(tt.country, tt.in, testNow)
			if err != nil {
				t.Fatalf("ParseAt(%s, %q): %v", tt.country, tt.in, err)
			}
			want := ID{Country: tt.country, Number: tt.number, BirthDate: tt.birth, Sex: tt.sex, Kind: tt.kind}
			if !sameID(id, want) {
				t.Errorf("ParseAt(%s, %q) = %+v, want %+v", tt.country, tt.in, id, want)
			}
		})
	}
}

func sameID(a, b ID) bool {
	return a.Country == b.Country && a.Number == b.Number && a.BirthDate.Equal(b.BirthDate) &&
		a.Sex == b.Sex && a.Kind == b.Kind
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		country Country
		in      string
		reason  Reason
		msg     string // a fragment the message must contain
	}{
		{"FI", "131052-308T", ReasonCountry, "unsupported country"},
		{"se", "19121212-1212", ReasonCountry, "unsupported country"},

		{SE, "", ReasonLength, "10 or 12 digits, got 0"},
		{SE, "1212121-212", ReasonCharacters, "separator"},
		{SE, "121212-121", ReasonLength, "got 9"},
		{SE, "19121212-12120", ReasonLength, "got 13"},
		{SE, "12121212120", ReasonLength, "got 11"},
		{SE, "121212_1212", ReasonCharacters, "invalid character '_' at position 7"},
		{SE, "1212121212X", ReasonCharacters, "invalid character 'X'"},
		{SE, "121212 1212", ReasonCharacters, "invalid character ' '"},
		{SE, "１２１２１２-１２１２", ReasonCharacters, "invalid character"},
		{SE, "121212--1212", ReasonCharacters, "only one separator"},
		{SE, "19121212+1212", ReasonCharacters, "only used in the 10-digit form"},
		{SE, "1912121-21212", ReasonCharacters, "right before the last four digits"},
		{SE, "19121212-1213", ReasonCheckDigit, "check digit does not match"},
		{SE, "121212-1213", ReasonCheckDigit, "check digit does not match"},
		{SE, "121312-1212", ReasonDate, "month 13"},
		{SE, "120012-1212", ReasonDate, "month 0"},
		{SE, "121232-1212", ReasonDate, "day 32"},
		{SE, "121200-1212", ReasonDate, "day 0"},
		{SE, "121250-1212", ReasonDate, "day 50"},
		{SE, "121292-1212", ReasonDate, "day 32"},
		{SE, "19000229-1235", ReasonDate, "day 29 does not exist in month 2"},
		{SE, "000229+1235", ReasonDate, "day 29 does not exist in month 2"},
		{SE, "17991231-1234", ReasonDate, "before 1800"},
		{SE, "20301231-9996", ReasonFuture, "in the future"},
		{SE, "20261126-1237", ReasonFuture, "in the future"},

		{NO, "", ReasonLength, "11 digits, got 0"},
		{NO, "0101901248", ReasonLength, "got 10"},
		{NO, "010190124800", ReasonLength, "got 12"},
		{NO, "010190-12480", ReasonCharacters, "invalid character '-'"},
		{NO, "0101901 2480", ReasonCharacters, "space"},
		{NO, "010190  12480", ReasonCharacters, "space"},
		{NO, "01019012481", ReasonCheckDigit, "second check digit"},
		{NO, "01019012470", ReasonCheckDigit, "first check digit"},
		{NO, "30029012373", ReasonDate, "day 30 does not exist in month 2"},
		{NO, "15889012312", ReasonDate, "month 48"},
		{NO, "41459012300", ReasonDate, "both a D-number"},
		{NO, "01014089981", ReasonCentury, "century"},
		{NO, "31123999935", ReasonFuture, "in the future"},

		{DK, "", ReasonLength, "10 digits, got 0"},
		{DK, "070761-428", ReasonLength, "got 9"},
		{DK, "07076-14285", ReasonCharacters, "right after the six-digit birth date"},
		{DK, "070761--4285", ReasonCharacters, "only one"},
		{DK, "070761 4285", ReasonCharacters, "invalid character ' '"},
		{DK, "290201-4321", ReasonDate, "day 29 does not exist in month 2"},
		{DK, "320161-4285", ReasonDate, "day 32"},
		{DK, "071361-4285", ReasonDate, "month 13"},
		{DK, "010136-9000", ReasonFuture, "in the future"}, // 2036
		{DK, "010157-8001", ReasonFuture, "in the future"}, // 2057
	}
	for _, tt := range tests {
		t.Run(string(tt.country)+"/"+tt.in, func(t *testing.T) {
			id, err := ParseAt(tt.country, tt.in, testNow)
			if err == nil {
				t.Fatalf("ParseAt(%s, %q) = %+v, want error", tt.country, tt.in, id)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *natid.Error", err)
			}
			if e.Reason != tt.reason {
				t.Errorf("reason = %q, want %q (%v)", e.Reason, tt.reason, err)
			}
			if e.Country != tt.country {
				t.Errorf("error country = %q, want %q", e.Country, tt.country)
			}
			if !strings.HasPrefix(err.Error(), "natid: ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not start with \"natid: \" or lacks %q", err.Error(), tt.msg)
			}
			if id != (ID{}) {
				t.Errorf("rejected input returned non-zero ID %+v", id)
			}
		})
	}
}

func TestParseUsesClock(t *testing.T) {
	// Parse must resolve against the real clock: a 10-digit number for a
	// date 30 years ago must land in the right century whenever tests run.
	now := time.Now()
	y := now.Year() - 30
	n := Generate(SE, date(y, 1, 15), Male, rand.New(rand.NewPCG(1, 2)))
	id, err := Parse(SE, n[2:])
	if err != nil {
		t.Fatal(err)
	}
	if id.Number != n || id.BirthDate.Year() != y {
		t.Errorf("Parse(%q) = %+v, want %s born %d", n[2:], id, n, y)
	}
}

func TestCenturyTables(t *testing.T) {
	// Every year a scheme can encode must round-trip through its inverse.
	for y := 1854; y <= 2039; y++ {
		series, err := noSeries(y)
		if err != nil {
			t.Fatalf("noSeries(%d): %v", y, err)
		}
		for _, rg := range series {
			for _, ind := range []int{rg[0], rg[1]} {
				if got, ok := noYear(y%100, ind); !ok || got != y {
					t.Errorf("noYear(%02d, %03d) = %d, %v; want %d", y%100, ind, got, ok, y)
				}
			}
		}
	}
	for _, y := range []int{1853, 2040} {
		if _, err := noSeries(y); err == nil {
			t.Errorf("noSeries(%d) should fail", y)
		}
	}
	for y := 1858; y <= 2057; y++ {
		ds, err := dkCenturyDigits(y)
		if err != nil {
			t.Fatalf("dkCenturyDigits(%d): %v", y, err)
		}
		for _, d := range ds {
			if got := dkYear(y%100, d); got != y {
				t.Errorf("dkYear(%02d, %c) = %d, want %d", y%100, d, got, y)
			}
		}
	}
	for _, y := range []int{1857, 2058} {
		if _, err := dkCenturyDigits(y); err == nil {
			t.Errorf("dkCenturyDigits(%d) should fail", y)
		}
	}
}

// yearRange is the span of birth years each generator supports and Parse
// accepts at testNow.
var yearRange = map[Country][2]int{
	SE: {1800, 2026},
	NO: {1854, 2026},
	DK: {1858, 2026},
}

var kinds = map[Country][]string{
	SE: {KindPersonnummer, KindSamordningsnummer},
	NO: {KindFodselsnummer, KindDNummer, KindHNummer},
	DK: {KindCPR},
}

func TestGenerateRoundTrip(t *testing.T) {
	dkMod11Passes, dkTotal := 0, 0
	for seed := range uint64(2000) {
		r := rand.New(rand.NewPCG(seed, 0xC0FFEE))
		for _, c := range []Country{SE, NO, DK} {
			yr := yearRange[c]
			birth := date(yr[0], 1, 1).AddDate(0, 0, r.IntN(int(testNow.Sub(date(yr[0], 1, 1)).Hours()/24)))
			sex := []string{Female, Male}[r.IntN(2)]
			for _, kind := range kinds[c] {
				n, err := GenerateKind(c, kind, birth, sex, r)
				if err != nil {
					t.Fatalf("GenerateKind(%s, %s, %s, %s): %v", c, kind, birth.Format(time.DateOnly), sex, err)
				}
				id, err := ParseAt(c, n, testNow)
				if err != nil {
					t.Fatalf("generated %s %s %q does not parse: %v", c, kind, n, err)
				}
				want := ID{Country: c, Number: n, BirthDate: birth, Sex: sex, Kind: kind}
				if !sameID(id, want) {
					t.Fatalf("ParseAt(%q) = %+v, want %+v", n, id, want)
				}
				if c == DK {
					dkTotal++
					if dkMod11(strings.ReplaceAll(n, "-", "")) {
						dkMod11Passes++
					}
				}
			}
			if n := Generate(c, birth, sex, r); mustParse(t, c, n).Kind != kinds[c][0] {
				t.Fatalf("Generate(%s) gave kind of %q, want %s", c, n, kinds[c][0])
			}
		}
	}
	if dkMod11Passes*100 < dkTotal*99 {
		t.Errorf("only %d of %d generated CPR numbers pass the old modulus-11 control", dkMod11Passes, dkTotal)
	}
}

func mustParse(t *testing.T, c Country, n string) ID {
	t.Helper()
	id, err := ParseAt(c, n, testNow)
	if err != nil {
		t.Fatalf("ParseAt(%s, %q): %v", c, n, err)
	}
	return id
}

func TestGenerateDeterministic(t *testing.T) {
	gen := func() []string {
		r := rand.New(rand.NewPCG(42, 42))
		var out []string
		for i := range 50 {
			b := date(1950+i, 1+i%12, 1+i%28)
			for _, c := range []Country{SE, NO, DK} {
				out = append(out, Generate(c, b, Male, r))
			}
		}
		return out
	}
	a, b := gen(), gen()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("run 1 gave %q, run 2 gave %q at %d", a[i], b[i], i)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	b := date(1990, 1, 1)
	tests := []struct {
		country Country
		kind    string
		birth   time.Time
		sex     string
	}{
		{"FI", "", b, Male},
		{SE, "", b, "X"},
		{SE, "", b, "m"},
		{SE, KindDNummer, b, Male},
		{NO, KindSamordningsnummer, b, Male},
		{DK, KindPersonnummer, b, Male},
		{SE, "", date(1799, 12, 31), Male},
		{NO, "", date(1853, 12, 31), Male},
		{NO, "", date(2040, 1, 1), Male},
		{DK, "", date(1857, 12, 31), Male},
		{DK, "", date(2058, 1, 1), Male},
	}
	for _, tt := range tests {
		if n, err := GenerateKind(tt.country, tt.kind, tt.birth, tt.sex, nil); err == nil {
			t.Errorf("GenerateKind(%s, %q, %s, %q) = %q, want error", tt.country, tt.kind, tt.birth.Format(time.DateOnly), tt.sex, n)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Generate with an invalid sex did not panic")
		}
	}()
	Generate(SE, b, "?", nil)
}

// checkFuzz is the property all three fuzz targets share: no panic, every
// rejection is a *Error wrapping ErrInvalid whose message does not echo the
// number, and every accepted input re-parses from its canonical form to the
// same ID.
func checkFuzz(t *testing.T, c Country, s string) {
	id, err := ParseAt(c, s, testNow)
	if err != nil {
		var e *Error
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || e.Reason == "" {
			t.Fatalf("ParseAt(%s, %q): untyped error %v", c, s, err)
		}
		if !strings.HasPrefix(err.Error(), "natid: ") {
			t.Fatalf("message %q lacks the natid: prefix", err.Error())
		}
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
		if len(digits) >= 6 && strings.Contains(err.Error(), digits) {
			t.Fatalf("message %q repeats the number", err.Error())
		}
		return
	}
	if id.Country != c || id.Sex != Female && id.Sex != Male || id.Kind == "" || id.BirthDate.After(testNow) {
		t.Fatalf("ParseAt(%s, %q) = %+v: inconsistent fields", c, s, id)
	}
	again, err := ParseAt(c, id.Number, testNow)
	if err != nil {
		t.Fatalf("canonical form %q of %q does not parse: %v", id.Number, s, err)
	}
	if !sameID(id, again) {
		t.Fatalf("ParseAt(%q) = %+v, but its canonical form gives %+v", s, id, again)
	}
}

func fuzzSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
}

func FuzzParseSE(f *testing.F) {
	fuzzSeeds(f, "19121212-1212", "121212+1212", "1212121212", "701063-2391", "000229-1235",
		"19000229-1235", "121212-1213", "", "+", "-", "20261126-1237", "261126-1237", "17991231-1234")
	f.Fuzz(func(t *testing.T, s string) { checkFuzz(t, SE, s) })
}

func FuzzParseNO(f *testing.F) {
	fuzzSeeds(f, "01019012480", "010190 12480", "41019012474", "01459012423", "12125450006",
		"01014089981", "31123999935", "30029012373", "", " ")
	f.Fuzz(func(t *testing.T, s string) { checkFuzz(t, NO, s) })
}

func FuzzParseDK(f *testing.F) {
	fuzzSeeds(f, "070761-4285", "0707614285", "290200-4321", "290201-4321", "010158-5000",
		"010136-9000", "", "-")
	f.Fuzz(func(t *testing.T, s string) { checkFuzz(t, DK, s) })
}
