// SPDX-License-Identifier: AGPL-3.0-or-later

package search

import (
	"context"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// FuzzQuery feeds arbitrary text to the normaliser, the tokeniser and
// Query on SQLite: nothing may panic, and the only error allowed is the
// invalid-query error.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"Ake Lofgren", "Åke Löfgren", "Sørensen", "Aage", "Lindq", "Ekrlund", "19121212-1212",
		"121212 1212", "K-2026-000123", "O'Brien", "´`’", "", " ", "\x00", "\xff\xfe", "a", "ab ",
		"ǅǈǋ ﬁ ﷺ", "İIıi", "'; DROP TABLE client_search; --", "%_\\", "$1 $2", strings.Repeat("x", 200),
		strings.Repeat("ab ", 66), strings.Repeat("qwertyuiopasdfghjklzxcvbnm", 3), "Ωμέγα Ǿrsted", "١٢٣٤٥٦",
	} {
		f.Add(s)
	}
	d := dbtest.SQLite(f)
	ctx := context.Background()
	err := d.Transact(ctx, func(tx *db.Tx) error { return BulkIndex(ctx, tx, people) })
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range nameTokens(s) {
			if tok == "" || utf8.RuneCountInString(tok) > maxTokenLen {
				t.Fatalf("nameTokens(%q): bad token %q", s, tok)
			}
			for _, r := range tok {
				if !unicode.IsLetter(r) || unicode.IsUpper(r) {
					t.Fatalf("nameTokens(%q): token %q has %q", s, tok, r)
				}
			}
			if Distance(tok, tok, 2) != 0 {
				t.Fatalf("Distance(%q, itself) != 0", tok)
			}
			_ = termKeys(tok)
			_ = Variant(tok)
		}
		if f := Fold(s); Fold(f) != f {
			t.Fatalf("Fold is not idempotent on %q: %q → %q", s, f, Fold(f))
		}
		_ = idKeys(s)
		hits, err := Query(ctx, d, s, 5)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("Query(%q): %v", s, err)
			}
			return
		}
		if len(hits) > 5 {
			t.Fatalf("Query(%q): %d hits over the limit", s, len(hits))
		}
		for _, h := range hits {
			if h.Score <= 0 || h.Score > 1 || len(h.Matched) == 0 {
				t.Fatalf("Query(%q): bad hit %+v", s, h)
			}
		}
	})
}
