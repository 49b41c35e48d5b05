// SPDX-License-Identifier: AGPL-3.0-or-later

// Package natid validates and normalises Nordic national identity numbers:
// the Swedish personnummer and samordningsnummer, the Norwegian
// fødselsnummer, D-number and H-number, and the Danish CPR number.
//
// The client register keys people on these numbers, and officers type them
// by hand, so every number is checked here once (format, date, century and
// check digits) and stored in a single canonical form. That way the same
// person typed as "121212-1212" and "191212121212" is found as one record.
//
// Error messages are written for people and never repeat the number itself,
// because errors end up in logs and logs must not hold personal data.
package natid

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Country is the issuing country of a national identity number, as an
// ISO 3166-1 alpha-2 code. Each country has its own format and rules, so
// the caller must always say which one it expects.
type Country string

// The supported countries.
const (
	SE Country = "SE" // Sweden: personnummer and samordningsnummer.
	NO Country = "NO" // Norway: fødselsnummer, D-number and H-number.
	DK Country = "DK" // Denmark: CPR number.
)

// Kinds of number, as reported in ID.Kind. They matter because a
// samordningsnummer or D-number means the person is not (or not yet)
// registered as resident, which changes what other agencies know of them.
const (
	KindPersonnummer      = "personnummer"      // Swedish resident.
	KindSamordningsnummer = "samordningsnummer" // Swedish coordination number (day+60).
	KindFodselsnummer     = "fodselsnummer"     // Norwegian resident.
	KindDNummer           = "d-nummer"          // Norwegian D-number (day+40).
	KindHNummer           = "h-nummer"          // Norwegian H-number used by health services (month+40).
	KindCPR               = "cpr"               // Danish CPR number.
)

// Sex values as encoded in the numbers. The numbers encode legal sex at
// registration only; they are not a statement about gender identity.
const (
	Female = "F"
	Male   = "M"
)

// ID is a parsed, validated national identity number. Two IDs for the same
// person compare equal field by field whichever way the number was typed.
type ID struct {
	Country   Country
	Number    string    // canonical form: SE YYYYMMDD-NNNC, NO DDMMYYIIIKK, DK DDMMYY-SSSS
	BirthDate time.Time // midnight UTC on the birth date encoded in the number
	Sex       string    // Female or Male
	Kind      string    // one of the Kind constants
}

// ErrInvalid is wrapped by every error this package returns for a number
// that cannot be accepted, so callers can map all of them to one "invalid
// input" response with errors.Is and still show the specific message.
var ErrInvalid = errors.New("natid: invalid national identity number")

// Reason names what is wrong with a rejected number, so a form can point
// at the right problem (or translate it) without parsing the message.
type Reason string

// The reasons a number can be rejected.
const (
	ReasonCountry    Reason = "country"     // the country is not supported
	ReasonLength     Reason = "length"      // wrong number of digits
	ReasonCharacters Reason = "characters"  // a character or separator is not allowed where it is
	ReasonDate       Reason = "date"        // the encoded birth date does not exist
	ReasonCentury    Reason = "century"     // the century cannot be determined from the number
	ReasonFuture     Reason = "future"      // the encoded birth date lies in the future
	ReasonCheckDigit Reason = "check digit" // a check digit does not match
)

// Error is the typed error returned for a rejected number. It wraps
// ErrInvalid. Its message never contains the number itself.
type Error struct {
	Country Country
	Reason  Reason
	msg     string
}

// Error returns a human-readable English message starting with "natid: ".
func (e *Error) Error() string { return "natid: " + e.msg }

// Unwrap returns ErrInvalid so that errors.Is(err, ErrInvalid) holds.
func (e *Error) Unwrap() error { return ErrInvalid }

func invalid(c Country, r Reason, format string, args ...any) error {
	return &Error{Country: c, Reason: r, msg: fmt.Sprintf(format, args...)}
}

// Parse validates s as a national identity number of the given country and
// returns it in canonical form. Ambiguous Swedish 10-digit numbers are
// resolved against the current date; use ParseAt when "now" must be fixed
// (for example inside a transaction or a test).
func Parse(country Country, s string) (ID, error) {
	return ParseAt(country, s, time.Now())
}

// ParseAt is Parse with an explicit "now". Now decides the century of a
// Swedish 10-digit number (the person is taken to be under 100 unless the
// separator is '+') and which birth dates count as being in the future.
// Surrounding white space in s is ignored.
func ParseAt(country Country, s string, now time.Time) (ID, error) {
	s = strings.TrimSpace(s)
	today := dateOf(now)
	switch country {
	case SE:
		return parseSE(s, today)
	case NO:
		return parseNO(s, today)
	case DK:
		return parseDK(s, today)
	default:
		return ID{}, invalid(country, ReasonCountry, "unsupported country %q (want SE, NO or DK)", string(country))
	}
}

// dateOf returns midnight UTC of t's calendar date in t's own location, so
// that "today" is the date the caller sees on the wall.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysIn returns the number of days in month m of year y.
func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// validDate reports whether y-m-d is a real calendar date.
func validDate(y, m, d int) bool {
	return m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// checkDate returns a ReasonDate error if y-m-d does not exist and a
// ReasonFuture error if it is after today.
func checkDate(c Country, y, m, d int, today time.Time) (time.Time, error) {
	if m < 1 || m > 12 {
		return time.Time{}, invalid(c, ReasonDate, "birth date is not valid: month %d does not exist", m)
	}
	if d < 1 || d > daysIn(y, m) {
		return time.Time{}, invalid(c, ReasonDate, "birth date is not valid: day %d does not exist in month %d of that year", d, m)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.After(today) {
		return time.Time{}, invalid(c, ReasonFuture, "birth date is in the future")
	}
	return t, nil
}

// checkChars rejects any rune that is not an ASCII digit or one of the
// allowed separators, naming the first offender and its 1-based position.
func checkChars(c Country, s, seps, allowed string) error {
	pos := 0
	for _, r := range s {
		pos++
		if r >= '0' && r <= '9' || strings.ContainsRune(seps, r) {
			continue
		}
		return invalid(c, ReasonCharacters, "invalid character %q at position %d (only digits%s are allowed)", r, pos, allowed)
	}
	return nil
}

// num converts a run of ASCII digits to an int.
func num(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// sexFromDigit returns Male for an odd digit and Female for an even one,
// the rule all three countries use.
func sexFromDigit(b byte) string {
	if (b-'0')%2 == 1 {
		return Male
	}
	return Female
}

// isSex reports whether sex is one of the two values the numbers encode.
func isSex(sex string) bool { return sex == Female || sex == Male }
