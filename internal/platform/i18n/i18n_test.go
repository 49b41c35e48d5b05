// SPDX-License-Identifier: AGPL-3.0-or-later

package i18n

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestCataloguesComplete fails when a key exists in one catalogue but not in
// another, naming each missing translation.
func TestCataloguesComplete(t *testing.T) {
	en := catalogs[English]
	if len(en) < 150 {
		t.Errorf("English catalogue has %d keys, want at least 150", len(en))
	}
	for _, l := range langs {
		if l == English {
			continue
		}
		other := catalogs[l]
		for k := range en {
			if _, ok := other[k]; !ok {
				t.Errorf("%s: missing translation for %q", l, k)
			}
		}
		for k := range other {
			if _, ok := en[k]; !ok {
				t.Errorf("%s: key %q is not in the English catalogue", l, k)
			}
		}
	}
}

func TestNoEmptyMessages(t *testing.T) {
	for _, l := range langs {
		for k, v := range catalogs[l] {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %q is empty", l, k)
			}
		}
	}
}

// verbRE finds fmt verbs, with an optional explicit argument index so that a
// translation may reorder arguments with %[2]s.
var verbRE = regexp.MustCompile(`%(?:\[(\d+)\])?([a-zA-Z%])`)

// verbs returns the fmt verbs of msg as sorted "argN:verb" strings; %% is
// not an argument and is skipped.
func verbs(msg string) []string {
	var out []string
	next := 1
	for _, m := range verbRE.FindAllStringSubmatch(msg, -1) {
		if m[2] == "%" {
			continue
		}
		arg := next
		if m[1] != "" {
			fmt.Sscan(m[1], &arg)
		}
		out = append(out, fmt.Sprintf("%d:%s", arg, m[2]))
		next = arg + 1
	}
	sort.Strings(out)
	return out
}

func TestPlaceholdersMatch(t *testing.T) {
	for k, enMsg := range catalogs[English] {
		want := verbs(enMsg)
		for _, v := range want {
			if !strings.HasSuffix(v, ":s") && !strings.HasSuffix(v, ":d") {
				t.Errorf("en: %q uses %s; only %%s and %%d are allowed", k, v)
			}
		}
		for _, l := range langs[1:] {
			msg, ok := catalogs[l][k]
			if !ok {
				continue // reported by TestCataloguesComplete
			}
			if got := verbs(msg); !slices.Equal(got, want) {
				t.Errorf("%s: %q has placeholders %v, English has %v", l, k, got, want)
			}
		}
	}
}

// TestPlaceholdersFormat formats every message with arguments of the right
// type and checks fmt reports no mismatch ("%!").
func TestPlaceholdersFormat(t *testing.T) {
	for _, l := range langs {
		for k, msg := range catalogs[l] {
			var args []any
			for _, v := range verbs(msg) {
				if strings.HasSuffix(v, ":d") {
					args = append(args, 7)
				} else {
					args = append(args, "x")
				}
			}
			if len(args) == 0 {
				continue
			}
			if got := T(l, k, args...); strings.Contains(got, "%!") {
				t.Errorf("%s: %q formats badly: %q", l, k, got)
			}
		}
	}
}

// TestNoDuplicateKeys guards against a JSON object that repeats a key, which
// encoding/json would silently resolve by keeping the last value.
func TestNoDuplicateKeys(t *testing.T) {
	for _, l := range langs {
		name := path.Join("catalog", string(l)+".json")
		b, err := catalogFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		if _, err := dec.Token(); err != nil { // {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			k := tok.(string)
			if seen[k] {
				t.Errorf("%s: duplicate key %q", name, k)
			}
			seen[k] = true
			if _, err := dec.Token(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
}

func TestT(t *testing.T) {
	tests := []struct {
		lang Lang
		key  string
		args []any
		want string
	}{
		{English, "nav.clients", nil, "Clients"},
		{Swedish, "nav.clients", nil, "Klienter"},
		{NorwegianBokmal, "movement.escape", nil, "Rømning"},
		{Danish, "movement.release", nil, "Løsladelse"},
		{Swedish, "estate.occupancy_of", []any{3, 12}, "3 av 12"},
		{English, "client.count", []any{12}, "12 clients"},
		{Lang("de"), "nav.clients", nil, "Clients"},                     // unknown language → English
		{Lang(""), "common.save", nil, "Save"},                          // empty language → English
		{Swedish, "no.such.key", nil, "no.such.key"},                    // unknown key → key
		{Danish, "no.such.key", []any{1}, "no.such.key%!(EXTRA int=1)"}, // still formatted
	}
	for _, tt := range tests {
		if got := T(tt.lang, tt.key, tt.args...); got != tt.want {
			t.Errorf("T(%q, %q, %v) = %q, want %q", tt.lang, tt.key, tt.args, got, tt.want)
		}
	}
}

func TestTFallsBackToEnglish(t *testing.T) {
	// Simulate a key that only English has.
	catalogs[English]["test.only_en"] = "Only English"
	defer delete(catalogs[English], "test.only_en")
	if got := T(Swedish, "test.only_en"); got != "Only English" {
		t.Errorf("got %q, want English fallback", got)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		accept, setting string
		want            Lang
	}{
		{"nb-NO,nb;q=0.9", "", NorwegianBokmal},
		{"no", "", NorwegianBokmal},
		{"nn-NO", "", NorwegianBokmal},
		{"nn-NO,nn;q=0.9,en;q=0.5", "", NorwegianBokmal},
		{"da", "", Danish},
		{"da-DK,da;q=0.9,en-US;q=0.8,en;q=0.7", "", Danish},
		{"sv-SE", "", Swedish},
		{"sv-FI,fi;q=0.8", "", Swedish},
		{"de", "", English},
		{"de-DE,fr;q=0.8", "", English},
		{"en-GB,en;q=0.9", "", English},
		{"de,da;q=0.5", "", Danish},
		{"en;q=0.2,sv;q=0.9", "", Swedish},
		{"sv;q=0,da", "", Danish},
		{"", "", English},
		{"*", "", English},
		{"garbage!!,da", "", Danish},
		{"nb-NO,nb;q=0.9", "sv", Swedish},
		{"da", "sv-SE", Swedish},
		{"sv", "no", NorwegianBokmal},
		{"sv", "nn", NorwegianBokmal},
		{"da", "de", Danish},   // unsupported setting is ignored
		{"da", "bad!", Danish}, // malformed setting is ignored
		{"", "DA", Danish},
	}
	for _, tt := range tests {
		if got := Match(tt.accept, tt.setting); got != tt.want {
			t.Errorf("Match(%q, %q) = %q, want %q", tt.accept, tt.setting, got, tt.want)
		}
	}
}

func TestLangsAndNames(t *testing.T) {
	got := Langs()
	want := []Lang{English, Swedish, NorwegianBokmal, Danish}
	if !slices.Equal(got, want) {
		t.Fatalf("Langs() = %v, want %v", got, want)
	}
	got[0] = "xx"
	if Langs()[0] != English {
		t.Error("Langs() returned shared slice")
	}
	for l, n := range map[Lang]string{English: "English", Swedish: "Svenska", NorwegianBokmal: "Norsk bokmål", Danish: "Dansk", "de": "de"} {
		if got := Name(l); got != n {
			t.Errorf("Name(%q) = %q, want %q", l, got, n)
		}
	}
	for _, l := range want {
		if !l.Valid() {
			t.Errorf("%q not valid", l)
		}
	}
}

// FuzzMatch checks that any header or setting yields a supported language
// without panicking: both come from outside.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"", "nb-NO,nb;q=0.9", "da", "*", "x-klingon;q=1.5", strings.Repeat("sv,", 500)} {
		f.Add(s, "")
	}
	f.Add("da", "sv")
	f.Fuzz(func(t *testing.T, accept, setting string) {
		if l := Match(accept, setting); !l.Valid() {
			t.Fatalf("Match(%q, %q) = %q, not supported", accept, setting, l)
		}
	})
}
