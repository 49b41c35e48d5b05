// SPDX-License-Identifier: AGPL-3.0-or-later

// Package i18n holds Custodia's message catalogues (English, Swedish,
// Norwegian Bokmål and Danish) and picks a language for a request.
//
// Catalogues are flat JSON maps from a dotted key ("nav.clients",
// "error.required") to a message, embedded from catalog/<lang>.json.
// Messages that take arguments use fmt verbs (%s, %d) and are formatted with
// fmt.Sprintf; a message looked up without arguments is returned verbatim.
//
// Every key must exist in every catalogue: the package tests fail when a
// translation is missing or when its placeholders differ from English.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"golang.org/x/text/language"
)

// Lang is a supported UI language, identified by its BCP 47 base code.
type Lang string

// The supported languages. English is the fallback for everything.
const (
	English         Lang = "en"
	Swedish         Lang = "sv"
	NorwegianBokmal Lang = "nb"
	Danish          Lang = "da"

	// Default is used when nothing better matches.
	Default = English
)

// langs is the order shown in a language picker and the order the matcher
// prefers on a tie; English first because it is the fallback.
var langs = []Lang{English, Swedish, NorwegianBokmal, Danish}

// names are endonyms: a picker must be readable by someone who does not
// read the current UI language.
var names = map[Lang]string{
	English:         "English",
	Swedish:         "Svenska",
	NorwegianBokmal: "Norsk bokmål",
	Danish:          "Dansk",
}

//go:embed catalog/*.json
var catalogFS embed.FS

// catalogs is filled once at start-up from the embedded files and is never
// written afterwards, so concurrent reads need no locking.
var catalogs = mustLoad()

func mustLoad() map[Lang]map[string]string {
	out := make(map[Lang]map[string]string, len(langs))
	files, err := catalogFS.ReadDir("catalog")
	if err != nil {
		panic(fmt.Sprintf("i18n: read catalog: %v", err))
	}
	for _, l := range langs {
		m := map[string]string{}
		// catalog/<lang>.json holds the shared texts; each capability may
		// keep its own texts in catalog/<area>.<lang>.json, so teams do not
		// edit one file at once.
		for _, f := range files {
			n := f.Name()
			if n != string(l)+".json" && !strings.HasSuffix(n, "."+string(l)+".json") {
				continue
			}
			name := path.Join("catalog", n)
			b, err := catalogFS.ReadFile(name)
			if err != nil {
				panic(fmt.Sprintf("i18n: read %s: %v", name, err))
			}
			part := map[string]string{}
			if err := json.Unmarshal(b, &part); err != nil {
				panic(fmt.Sprintf("i18n: parse %s: %v", name, err))
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					panic(fmt.Sprintf("i18n: key %q defined twice for %s (in %s)", k, l, name))
				}
				m[k] = v
			}
		}
		if len(m) == 0 {
			panic(fmt.Sprintf("i18n: no catalogue for %s", l))
		}
		out[l] = m
	}
	return out
}

// Langs returns the supported languages, English first. The slice is a copy.
func Langs() []Lang {
	return append([]Lang(nil), langs...)
}

// Name returns the language's own name for itself ("Svenska", "Dansk"), for
// a language picker. An unsupported language returns its code.
func Name(lang Lang) string {
	if n, ok := names[lang]; ok {
		return n
	}
	return string(lang)
}

// String returns the language code, e.g. "nb"; it is suitable for the HTML
// lang attribute.
func (l Lang) String() string { return string(l) }

// Valid reports whether l is one of the supported languages.
func (l Lang) Valid() bool {
	_, ok := names[l]
	return ok
}

// T returns the message for key in lang, formatted with args when there are
// any. A key missing from lang falls back to English, and a key missing from
// English is returned as is, so a gap shows up on screen rather than as an
// empty label.
func T(lang Lang, key string, args ...any) string {
	msg, ok := catalogs[lang][key]
	if !ok {
		msg, ok = catalogs[Default][key]
	}
	if !ok {
		msg = key
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// matcher ranks the supported languages for an Accept-Language header. Its
// index order follows langs.
var matcher = language.NewMatcher(func() []language.Tag {
	tags := make([]language.Tag, len(langs))
	for i, l := range langs {
		tags[i] = language.MustParse(string(l))
	}
	return tags
}())

// Match picks the UI language. A supported userSetting (the language stored
// on the user's profile, e.g. "sv" or "sv-SE") always wins; otherwise the
// best match for the acceptLanguage header is used, and English when nothing
// matches. "no", "nn" and "nb" all map to Norwegian Bokmål, since Custodia
// has no separate Nynorsk catalogue and a Nynorsk reader is better served by
// Bokmål than by English.
func Match(acceptLanguage string, userSetting string) Lang {
	if l, ok := parseOne(userSetting); ok {
		return l
	}
	tags := parseAccept(acceptLanguage)
	if len(tags) == 0 {
		return Default
	}
	_, idx, conf := matcher.Match(tags...)
	if conf == language.No || idx < 0 || idx >= len(langs) {
		return Default
	}
	return langs[idx]
}

// parseOne maps a single language tag to a supported Lang by its base
// language.
func parseOne(s string) (Lang, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", false
	}
	base, _ := tag.Base()
	l := Lang(norwegian(base.String()))
	return l, l.Valid()
}

// parseAccept parses an Accept-Language header, ordered by preference.
// A malformed header from an odd client should not cost its user the
// languages that did parse, so on error it falls back to parsing each
// entry on its own and skipping the bad ones.
func parseAccept(h string) []language.Tag {
	// Bound the work an attacker-supplied header can cause.
	const maxLen, maxEntries = 1024, 32
	if len(h) > maxLen {
		h = h[:maxLen]
	}
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil {
		tags = tags[:0]
		for i, part := range strings.Split(h, ",") {
			if i >= maxEntries {
				break
			}
			t, _, err := language.ParseAcceptLanguage(part)
			if err != nil {
				continue
			}
			// q-values are lost between entries here; keeping the
			// header's order is a fair approximation for a broken header.
			tags = append(tags, t...)
		}
	}
	out := make([]language.Tag, 0, len(tags))
	for _, t := range tags {
		base, _ := t.Base()
		if n := norwegian(base.String()); n != base.String() {
			t = language.MustParse(n)
		}
		out = append(out, t)
	}
	return out
}

// norwegian folds the Norwegian codes onto Bokmål and passes others through.
func norwegian(base string) string {
	switch base {
	case "no", "nn", "nb":
		return string(NorwegianBokmal)
	}
	return base
}
