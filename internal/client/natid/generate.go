// SPDX-License-Identifier: AGPL-3.0-or-later

package natid

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Generate returns a random, valid number of the country's regular kind
// (personnummer, fødselsnummer or CPR) in canonical form for the given
// birth date (its calendar date in its own location) and sex (Female or
// Male). It exists so demo data and benchmarks can exercise the same
// validation as real input.
//
// The numbers are valid, so some will belong to real people: use them only
// in demo and test data. The same r state gives the same number, which
// keeps seeded demo data reproducible; a nil r uses the global source.
// Generate panics on an unsupported country, a sex other than Female or
// Male, or a birth year the country's scheme cannot encode, because those
// are programming errors; use GenerateKind to get an error instead.
// A birth date in the future gives a number Parse rejects.
func Generate(country Country, birth time.Time, sex string, r *rand.Rand) string {
	n, err := GenerateKind(country, "", birth, sex, r)
	if err != nil {
		panic(err)
	}
	return n
}

// GenerateKind is Generate for a specific kind of number, so demo data can
// also contain samordningsnummer, D-numbers and H-numbers, as real prison
// populations with many foreign nationals do. An empty kind means the
// country's regular kind. It returns an error instead of panicking.
func GenerateKind(country Country, kind string, birth time.Time, sex string, r *rand.Rand) (string, error) {
	intn := rand.IntN
	if r != nil {
		intn = r.IntN
	}
	if !isSex(sex) {
		return "", fmt.Errorf("natid: sex must be %q or %q, got %q", Female, Male, sex)
	}
	male := 0
	if sex == Male {
		male = 1
	}
	y, mo, d := birth.Date()
	m := int(mo)

	switch country {
	case SE:
		switch kind {
		case "", KindPersonnummer:
		case KindSamordningsnummer:
			d += 60
		default:
			return "", fmt.Errorf("natid: kind %q is not a Swedish number", kind)
		}
		if y < 1800 || y > 9999 {
			return "", fmt.Errorf("natid: Swedish birth year %d out of range 1800–9999", y)
		}
		for {
			nnn := intn(100)*10 + 2*intn(5) + male // birth number 000 is never issued
			if nnn == 0 {
				continue
			}
			ten := fmt.Sprintf("%02d%02d%02d%03d", y%100, m, d, nnn)
			return fmt.Sprintf("%04d%02d%02d-%03d%d", y, m, d, nnn, luhn(ten)), nil
		}

	case NO:
		switch kind {
		case "", KindFodselsnummer:
		case KindDNummer:
			d += 40
		case KindHNummer:
			m += 40
		default:
			return "", fmt.Errorf("natid: kind %q is not a Norwegian number", kind)
		}
		series, err := noSeries(y)
		if err != nil {
			return "", err
		}
		for range 1000 {
			rg := series[intn(len(series))]
			// Every series starts on an even number and ends on an odd
			// one, so flipping the low bit stays inside it.
			ind := rg[0] + intn(rg[1]-rg[0]+1)
			ind = ind&^1 | male
			nine := fmt.Sprintf("%02d%02d%02d%03d", d, m, y%100, ind)
			k1, ok := mod11(nine, noWeights1[:])
			if !ok {
				continue
			}
			ten := nine + string(rune('0'+k1))
			k2, ok := mod11(ten, noWeights2[:])
			if !ok {
				continue
			}
			return ten + string(rune('0'+k2)), nil
		}
		return "", fmt.Errorf("natid: could not find a Norwegian number with valid check digits")

	case DK:
		if kind != "" && kind != KindCPR {
			return "", fmt.Errorf("natid: kind %q is not a Danish number", kind)
		}
		c7, err := dkCenturyDigits(y)
		if err != nil {
			return "", err
		}
		if y >= 1900 && y <= 1999 {
			// Almost everyone born in the 1900s has 0–3; 4 and 9 came later.
			c7 = c7[:min(len(c7), 4)]
		}
		date := fmt.Sprintf("%02d%02d%02d", d, m, y%100)
		seven := string(c7[intn(len(c7))])
		for range 100 {
			nine := fmt.Sprintf("%s%s%02d", date, seven, intn(100))
			sum := 0
			for i := 0; i < 9; i++ {
				sum += int(nine[i]-'0') * dkWeights[i]
			}
			last := (11 - sum%11) % 11
			if last <= 9 && last%2 == male {
				return nine[:6] + "-" + nine[6:] + string(rune('0'+last)), nil
			}
		}
		// Fall back to a number without the old control, as issued since 2007.
		nine := fmt.Sprintf("%s%s%02d", date, seven, intn(100))
		return nine[:6] + "-" + nine[6:] + string(rune('0'+2*intn(5)+male)), nil

	default:
		return "", fmt.Errorf("natid: unsupported country %q (want SE, NO or DK)", string(country))
	}
}
