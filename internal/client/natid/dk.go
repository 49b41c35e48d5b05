// SPDX-License-Identifier: AGPL-3.0-or-later

package natid

import (
	"fmt"
	"strings"
	"time"
)

// dkWeights are the weights of the old CPR modulus-11 control. It is not
// required (numbers issued since 2007 may fail it) but Generate prefers
// numbers that pass, as most people alive today have one.
var dkWeights = [...]int{4, 3, 2, 7, 6, 5, 4, 3, 2, 1}

// parseDK accepts DDMMYY-SSSS or DDMMYYSSSS. The modulus-11 control is
// deliberately not enforced; the date and century digit are.
func parseDK(s string, today time.Time) (ID, error) {
	if err := checkChars(DK, s, "-", " and '-'"); err != nil {
		return ID{}, err
	}
	digits := s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		digits = s[:i] + s[i+1:]
		if strings.IndexByte(digits, '-') >= 0 {
			return ID{}, invalid(DK, ReasonCharacters, "only one '-' is allowed")
		}
		if len(digits) == 10 && i != 6 {
			return ID{}, invalid(DK, ReasonCharacters, "'-' must come right after the six-digit birth date")
		}
	}
	if len(digits) != 10 {
		return ID{}, invalid(DK, ReasonLength, "Danish CPR number must have 10 digits, got %d", len(digits))
	}
	dd, mm, yy := num(digits[0:2]), num(digits[2:4]), num(digits[4:6])
	birth, err := checkDate(DK, dkYear(yy, digits[6]), mm, dd, today)
	if err != nil {
		return ID{}, err
	}
	return ID{
		Country:   DK,
		Number:    digits[:6] + "-" + digits[6:],
		BirthDate: birth,
		Sex:       sexFromDigit(digits[9]),
		Kind:      KindCPR,
	}, nil
}

// dkYear returns the full birth year from the two-digit year and the 7th
// digit of a CPR number. Every combination maps to some year, so there is
// no error case.
func dkYear(yy int, d7 byte) int {
	switch d7 {
	case '0', '1', '2', '3':
		return 1900 + yy
	case '4', '9':
		if yy <= 36 {
			return 2000 + yy
		}
		return 1900 + yy
	default: // '5' to '8'
		if yy <= 57 {
			return 2000 + yy
		}
		return 1800 + yy
	}
}

// dkCenturyDigits returns the 7th digits that can encode birth year y.
func dkCenturyDigits(y int) ([]byte, error) {
	var out []byte
	for d := byte('0'); d <= '9'; d++ {
		if y >= 1800 && dkYear(y%100, d) == y {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("natid: no Danish CPR century digit for birth year %d (supported 1858–2057)", y)
	}
	return out, nil
}

// dkMod11 reports whether the ten CPR digits pass the old modulus-11 control.
func dkMod11(digits string) bool {
	sum := 0
	for i := 0; i < len(digits); i++ {
		sum += int(digits[i]-'0') * dkWeights[i]
	}
	return sum%11 == 0
}
