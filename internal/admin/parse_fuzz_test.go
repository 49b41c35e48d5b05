// SPDX-License-Identifier: AGPL-3.0-or-later

package admin

import (
	"strings"
	"testing"
)

// FuzzSplitIDs: a typed caseload becomes distinct, non-empty ids with no
// separators left in them.
func FuzzSplitIDs(f *testing.F) {
	for _, s := range []string{"I1, U1", "I1;I1\nU2", " * ", "", ",,,", "a\tb c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seen := map[string]bool{}
		for _, id := range splitIDs(s) {
			if id == "" || strings.ContainsAny(id, ",; \n\r\t") || seen[id] {
				t.Fatalf("splitIDs(%q) gave %q", s, id)
			}
			seen[id] = true
		}
	})
}

// FuzzParseDay: any text is parsed or refused without panicking, and a
// day's end is after its start.
func FuzzParseDay(f *testing.F) {
	for _, s := range []string{"2024-02-29", "2024-13-01", "2024-03-31T23:00:00Z", "31.12.2024", "", "2024-10-27"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, ok1 := parseDay(s, false)
		end, ok2 := parseDay(s, true)
		if ok1 != ok2 {
			t.Fatalf("%q: start ok %v, end ok %v", s, ok1, ok2)
		}
		if ok1 && start.Location().String() != "UTC" {
			t.Fatalf("%q: not UTC", s)
		}
		if ok1 && len(s) == 10 && !end.After(start) {
			t.Fatalf("%q: end %v not after start %v", s, end, start)
		}
	})
}
