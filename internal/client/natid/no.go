// SPDX-License-Identifier: AGPL-3.0-or-later

package natid

import (
	"fmt"
	"strings"
	"time"
)

// Weights of the two Norwegian modulus-11 check digits.
var (
	noWeights1 = [...]int{3, 7, 6, 1, 8, 9, 4, 5, 2}
	noWeights2 = [...]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
)

// parseNO accepts an 11-digit DDMMYYIIIKK number, optionally with one space
// after the date as it is often printed. D-numbers (day+40) and H-numbers
// (month+40) are recognised. The new sex-neutral numbers without fixed
// check digits planned for 2032 are not accepted yet.
func parseNO(s string, today time.Time) (ID, error) {
	if err := checkChars(NO, s, " ", " and one space after the date"); err != nil {
		return ID{}, err
	}
	digits := s
	if i := strings.IndexByte(s, ' '); i >= 0 {
		digits = s[:i] + s[i+1:]
		if i != 6 || strings.IndexByte(digits, ' ') >= 0 {
			return ID{}, invalid(NO, ReasonCharacters, "a space is only allowed once, between the birth date and the personal number")
		}
	}
	if len(digits) != 11 {
		return ID{}, invalid(NO, ReasonLength, "Norwegian fødselsnummer must have 11 digits, got %d", len(digits))
	}
	dd, mm, yy, ind := num(digits[0:2]), num(digits[2:4]), num(digits[4:6]), num(digits[6:9])
	kind := KindFodselsnummer
	switch {
	case dd > 40 && mm > 40:
		return ID{}, invalid(NO, ReasonDate, "birth date is not valid: a number cannot be both a D-number (day+40) and an H-number (month+40)")
	case dd > 40:
		kind, dd = KindDNummer, dd-40
	case mm > 40:
		kind, mm = KindHNummer, mm-40
	}
	year, ok := noYear(yy, ind)
	if !ok {
		return ID{}, invalid(NO, ReasonCentury, "individual number is not in a series issued for that birth year, so the century is unknown")
	}
	birth, err := checkDate(NO, year, mm, dd, today)
	if err != nil {
		return ID{}, err
	}
	if k, ok := mod11(digits[:9], noWeights1[:]); !ok || k != int(digits[9]-'0') {
		return ID{}, invalid(NO, ReasonCheckDigit, "check digit does not match (first check digit)")
	}
	if k, ok := mod11(digits[:10], noWeights2[:]); !ok || k != int(digits[10]-'0') {
		return ID{}, invalid(NO, ReasonCheckDigit, "check digit does not match (second check digit)")
	}
	return ID{
		Country:   NO,
		Number:    digits,
		BirthDate: birth,
		Sex:       sexFromDigit(digits[8]),
		Kind:      kind,
	}, nil
}

// noYear returns the full birth year from the two-digit year and the
// individual number, following the series the Norwegian population
// register allocates per century.
func noYear(yy, ind int) (int, bool) {
	switch {
	case ind <= 499:
		return 1900 + yy, true
	case ind <= 749 && yy >= 54:
		return 1800 + yy, true
	case ind >= 500 && yy <= 39:
		return 2000 + yy, true
	case ind >= 900 && yy >= 40:
		return 1900 + yy, true
	}
	return 0, false
}

// noSeries returns the individual-number ranges [lo, hi] that may be used
// for birth year y, the inverse of noYear.
func noSeries(y int) ([][2]int, error) {
	switch {
	case y >= 1854 && y <= 1899:
		return [][2]int{{500, 749}}, nil
	case y >= 1900 && y <= 1939:
		return [][2]int{{0, 499}}, nil
	case y >= 1940 && y <= 1999:
		return [][2]int{{0, 499}, {900, 999}}, nil
	case y >= 2000 && y <= 2039:
		return [][2]int{{500, 999}}, nil
	}
	return nil, fmt.Errorf("natid: no Norwegian individual-number series for birth year %d (supported 1854–2039)", y)
}

// mod11 returns the modulus-11 check digit for the ASCII digits in s with
// weights w, or false when the remainder would give 10 (such numbers are
// never issued).
func mod11(s string, w []int) (int, bool) {
	sum := 0
	for i := 0; i < len(s); i++ {
		sum += int(s[i]-'0') * w[i]
	}
	k := 11 - sum%11
	switch k {
	case 11:
		return 0, true
	case 10:
		return 0, false
	}
	return k, true
}
