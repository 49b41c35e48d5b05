// SPDX-License-Identifier: AGPL-3.0-or-later

package natid

import (
	"fmt"
	"strings"
	"time"
)

// parseSE accepts YYMMDD-NNNC, YYMMDD+NNNC, YYMMDDNNNC, YYYYMMDDNNNC and
// YYYYMMDD-NNNC. A 10-digit number without a century is placed in the most
// recent century that makes the person younger than 100 on today; '+'
// means the person turned (or turns) 100 this year or earlier.
func parseSE(s string, today time.Time) (ID, error) {
	if err := checkChars(SE, s, "-+", ", '-' and '+'"); err != nil {
		return ID{}, err
	}
	sepAt := strings.IndexAny(s, "-+")
	var sep byte
	digits := s
	if sepAt >= 0 {
		sep = s[sepAt]
		digits = s[:sepAt] + s[sepAt+1:]
		if strings.ContainsAny(digits, "-+") {
			return ID{}, invalid(SE, ReasonCharacters, "only one separator ('-' or '+') is allowed")
		}
	}
	if len(digits) != 10 && len(digits) != 12 {
		return ID{}, invalid(SE, ReasonLength, "Swedish personnummer must have 10 or 12 digits, got %d", len(digits))
	}
	if sepAt >= 0 && sepAt != len(digits)-4 {
		return ID{}, invalid(SE, ReasonCharacters, "separator must come right before the last four digits")
	}
	if sep == '+' && len(digits) == 12 {
		return ID{}, invalid(SE, ReasonCharacters, "'+' (100 years or older) is only used in the 10-digit form")
	}

	ten := digits[len(digits)-10:]
	yy, mm, dd := num(ten[0:2]), num(ten[2:4]), num(ten[4:6])
	kind := KindPersonnummer
	if dd > 60 {
		kind = KindSamordningsnummer
		dd -= 60
	}

	var year int
	if len(digits) == 12 {
		year = num(digits[0:4])
	} else {
		year = resolveSECentury(yy, mm, dd, sep == '+', today)
	}
	if year < 1800 {
		return ID{}, invalid(SE, ReasonDate, "birth date is not valid: year %d is before 1800", year)
	}
	birth, err := checkDate(SE, year, mm, dd, today)
	if err != nil {
		return ID{}, err
	}
	if luhn(ten[:9]) != int(ten[9]-'0') {
		return ID{}, invalid(SE, ReasonCheckDigit, "check digit does not match")
	}
	return ID{
		Country:   SE,
		Number:    fmt.Sprintf("%04d%s-%s", year, ten[2:6], ten[6:10]),
		BirthDate: birth,
		Sex:       sexFromDigit(ten[8]),
		Kind:      kind,
	}, nil
}

// resolveSECentury returns the full birth year for a 10-digit number.
func resolveSECentury(yy, mm, dd int, plus bool, today time.Time) int {
	// y0 is the latest year not after this year that ends in yy.
	y0 := today.Year() - ((today.Year()-yy)%100+100)%100
	if plus {
		// Turned 100 this calendar year or earlier.
		return y0 - 100
	}
	if validDate(y0, mm, dd) && !time.Date(y0, time.Month(mm), dd, 0, 0, 0, 0, time.UTC).After(today) {
		return y0
	}
	return y0 - 100
}

// luhn returns the Luhn (modulus 10, weights 2,1,2,…) check digit for the
// ASCII digits in s.
func luhn(s string) int {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}
