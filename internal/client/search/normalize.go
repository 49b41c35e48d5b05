// SPDX-License-Identifier: AGPL-3.0-or-later

package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits that keep the index and every query bounded in size.
const (
	minFuzzy1Len = 4  // tokens this long get distance-1 matching
	minFuzzy2Len = 8  // tokens this long get distance-2 matching
	maxFuzzy2Len = 20 // two-deletion keys only up to this length (C(20,2) = 190 keys)
	maxFuzzy1Len = 32 // one-deletion keys only up to this length
	minPrefixLen = 2  // shortest prefix that expands to terms
	maxPrefixLen = 32 // longest stored prefix key
	maxTokenLen  = 64 // longer words are cut to this many runes
	maxTokens    = 8  // query tokens beyond this are ignored
)

// foldTable spells the letters that Unicode decomposition leaves alone.
var foldTable = map[rune]string{
	'æ': "ae", 'ø': "o", 'ß': "ss", 'œ': "oe", 'þ': "th", 'ð': "d",
	'đ': "d", 'ł': "l", 'ı': "i", 'ŧ': "t", 'ŋ': "ng", 'ĸ': "k",
}

// isApostrophe reports runes that join a word rather than split it
// (O'Brien, D’Angelo).
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', 'ʼ', '`', '´', '‘', 'ʹ':
		return true
	}
	return false
}

// foldRunes calls emit for every rune of s after compatibility
// decomposition, lower-casing, dropping of combining marks and
// apostrophes, and the explicit letter table. Other runes, including
// punctuation and spaces, are passed on for the caller to treat as
// separators.
func foldRunes(s string, emit func(r rune)) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	// Apostrophes go first: NFKD turns some of them (´) into a space.
	if strings.ContainsFunc(s, isApostrophe) {
		s = strings.Map(func(r rune) rune {
			if isApostrophe(r) {
				return -1
			}
			return r
		}, s)
	}
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if m, ok := foldTable[r]; ok {
			for _, x := range m {
				emit(x)
			}
			continue
		}
		emit(r)
	}
}

// Fold returns s lower-cased, with diacritics removed and punctuation
// turned into single spaces: "Åke Löfgren-Sørensen" → "ake lofgren sorensen".
// It is the first folding of the index; name words are its letter runs.
func Fold(s string) string {
	return strings.Join(nameTokens(s), " ")
}

// nameTokens splits a name into folded words of letters only; digits and
// punctuation separate words.
func nameTokens(s string) []string {
	var out []string
	var b strings.Builder
	n := 0
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
			n = 0
		}
	}
	foldRunes(s, func(r rune) {
		if unicode.IsLetter(r) {
			if n < maxTokenLen {
				b.WriteRune(r)
				n++
			}
			return
		}
		flush()
	})
	flush()
	return out
}

// idKey folds an identity number to its letters and digits:
// "19121212-1212" → "191212121212", "K-2026-000123" → "k2026000123".
func idKey(s string) string {
	var b strings.Builder
	n := 0
	foldRunes(s, func(r rune) {
		if (unicode.IsLetter(r) || unicode.IsDigit(r)) && n < maxTokenLen {
			b.WriteRune(r)
			n++
		}
	})
	return b.String()
}

// idKeys is every key an identity number is found by: its folded form
// and, for a twelve-digit Swedish personal identity number, the
// ten-digit form without the century.
func idKeys(s string) []string {
	k := idKey(s)
	if k == "" {
		return nil
	}
	keys := []string{k}
	if len(k) == 12 && isDigits(k) && (k[:2] == "18" || k[:2] == "19" || k[:2] == "20") {
		keys = append(keys, k[2:])
	}
	return keys
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hasDigit(s string) bool {
	found := false
	foldRunes(s, func(r rune) {
		if unicode.IsDigit(r) {
			found = true
		}
	})
	return found
}

// variantRules are the spelling variants of Nordic names that the second
// folding treats as one: Carlsson/Karlsson, Lindqvist/Lindkvist/Lindquist,
// Thomas/Tomas, Michael/Mikael, Søren/Soeren, Müller/Mueller, Oscar/Oskar.
// Doubled letters are collapsed afterwards (Aage/Åge, Johanssen/Johansen,
// Mattias/Matias).
var variantRules = strings.NewReplacer(
	"qu", "kv", "q", "k", "w", "v", "ph", "f", "th", "t", "ch", "k",
	"ck", "k", "c", "k", "x", "ks", "z", "s", "dt", "t",
	"ae", "a", "oe", "o", "ue", "u",
)

// Variant is the second folding of a folded word: Nordic spelling
// variants are rewritten to one form and doubled letters collapsed, so
// that "aage" and "age", or "carlsson" and "karlson", are equal.
func Variant(term string) string {
	v := variantRules.Replace(term)
	var b strings.Builder
	b.Grow(len(v))
	var prev rune = -1
	for _, r := range v {
		if r != prev {
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

// deletes1 returns the distinct strings made by deleting one rune of w.
func deletes1(w []rune) []string {
	seen := make(map[string]bool, len(w))
	out := make([]string, 0, len(w))
	for i := range w {
		s := string(w[:i]) + string(w[i+1:])
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// deletes2 returns the distinct strings made by deleting two runes of w.
func deletes2(w []rune) []string {
	seen := map[string]bool{}
	var out []string
	buf := make([]rune, 0, len(w))
	for i := 0; i < len(w); i++ {
		for j := i + 1; j < len(w); j++ {
			buf = buf[:0]
			buf = append(buf, w[:i]...)
			buf = append(buf, w[i+1:j]...)
			buf = append(buf, w[j+1:]...)
			s := string(buf)
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// maxDistance is how many edits a query word of n runes may be away from
// a name and still match it.
func maxDistance(n int) int {
	switch {
	case n >= minFuzzy2Len:
		return 2
	case n >= minFuzzy1Len:
		return 1
	}
	return 0
}

// Distance is the Damerau–Levenshtein distance (optimal string alignment:
// insertions, deletions, substitutions and transpositions of neighbours)
// between a and b, counted in runes. It stops early and returns max+1 once
// the distance is known to exceed max.
func Distance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > max || -d > max {
		return max + 1
	}
	if len(ra) == 0 {
		return len(rb)
	}
	if len(rb) == 0 {
		return len(ra)
	}
	// Three rows of the dynamic programme.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Key kinds in search_term: how a key leads to a term.
const (
	keyExact   = 0 // the term itself
	keyVariant = 1 // its second folding
	keyDelete1 = 2 // one rune deleted
	keyDelete2 = 3 // two runes deleted
	keyPrefix  = 4 // a proper prefix of the term or of its variant
)

// termKey is one row of the vocabulary.
type termKey struct {
	key  string
	kind int
	term string
}

// termKeys lists every vocabulary row of a folded word.
func termKeys(term string) []termKey {
	rs := []rune(term)
	out := []termKey{{term, keyExact, term}}
	v := Variant(term)
	if v != term && v != "" {
		out = append(out, termKey{v, keyVariant, term})
	}
	if len(rs) >= minFuzzy1Len && len(rs) <= maxFuzzy1Len {
		for _, k := range deletes1(rs) {
			out = append(out, termKey{k, keyDelete1, term})
		}
	}
	if len(rs) >= minFuzzy2Len && len(rs) <= maxFuzzy2Len {
		for _, k := range deletes2(rs) {
			out = append(out, termKey{k, keyDelete2, term})
		}
	}
	seen := map[string]bool{}
	for _, w := range [][]rune{rs, []rune(v)} {
		for n := minPrefixLen; n < len(w) && n <= maxPrefixLen; n++ {
			p := string(w[:n])
			if !seen[p] {
				seen[p] = true
				out = append(out, termKey{p, keyPrefix, term})
			}
		}
	}
	return out
}
