// SPDX-License-Identifier: AGPL-3.0-or-later

package search

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// people is the small register the tests search.
var people = map[string]Doc{
	"c-lofgren":    {Names: []string{"Åke", "Löfgren"}},
	"c-sorensen":   {Names: []string{"Per", "Sorensen"}},
	"c-sørensen":   {Names: []string{"Mette", "Sørensen"}},
	"c-age":        {Names: []string{"Åge", "Hansen"}},
	"c-johanssen":  {Names: []string{"Lars", "Johanssen"}},
	"c-johansson":  {Names: []string{"Anna Maria", "Johansson"}},
	"c-lindqvist":  {Names: []string{"Karin", "Lindqvist"}},
	"c-erklund":    {Names: []string{"Nils", "Erklund"}},
	"c-tolvan":     {Names: []string{"Tolvan", "Tolvansson"}, IDs: []string{"19121212-1212", "K-2026-000077"}},
	"c-berg":       {Names: []string{"Eva", "Berg"}, IDs: []string{"K-2026-000123"}},
	"c-yilmaz":     {Names: []string{"Mohammed", "Yilmaz"}},
	"c-carlsson":   {Names: []string{"Oscar", "Carlsson"}},
	"c-obrien":     {Names: []string{"Seán", "O'Brien", "Sean Bryan"}},
	"c-andersson":  {Names: []string{"Berg", "Andersson"}},
	"c-ylva-berg":  {Names: []string{"Ylva", "Berg"}},
	"c-noreg":      {Names: []string{"Kari", "Nordmann"}, IDs: []string{"010190 12345"}},
	"c-no-names":   {IDs: []string{"X-1"}},
	"c-hyphenated": {Names: []string{"Anna-Lena", "Lindqvist-Berg"}},
}

func seed(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	err := d.Transact(ctx, func(tx *db.Tx) error {
		// Half one by one, half in bulk: both paths write the same index.
		bulk := map[string]Doc{}
		for id, doc := range people {
			if len(id)%2 == 0 {
				if err := Index(ctx, tx, id, doc); err != nil {
					return err
				}
			} else {
				bulk[id] = doc
			}
		}
		return BulkIndex(ctx, tx, bulk)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ids(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ClientID
	}
	return out
}

func TestQuery(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		seed(t, d)
		ctx := context.Background()
		cases := []struct {
			q     string
			first string   // must be the first hit ("" = no check)
			want  []string // must all be among the hits
			not   []string // must not be among the hits
			none  bool     // no hits at all
		}{
			{q: "Ake Lofgren", first: "c-lofgren"},
			{q: "åke löfgren", first: "c-lofgren"},
			{q: "AKE", first: "c-lofgren"},
			{q: "Sørensen", want: []string{"c-sorensen", "c-sørensen"}},
			{q: "Sorensen", want: []string{"c-sorensen", "c-sørensen"}},
			{q: "Soerensen", want: []string{"c-sorensen", "c-sørensen"}},
			{q: "Mette Sorensen", first: "c-sørensen", not: []string{"c-sorensen"}},
			{q: "Aage", first: "c-age"},
			{q: "Aage Hansen", first: "c-age"},
			{q: "Johansen", want: []string{"c-johanssen"}},
			{q: "Lars Johansen", first: "c-johanssen", not: []string{"c-johansson"}},
			{q: "Lindqvst", want: []string{"c-lindqvist", "c-hyphenated"}, not: []string{"c-yilmaz"}},
			{q: "Lindkvist", want: []string{"c-lindqvist", "c-hyphenated"}},
			{q: "Karin Lindqvst", first: "c-lindqvist", not: []string{"c-hyphenated"}},
			{q: "Ekrlund", first: "c-erklund"},
			{q: "Nils Ekrlund", first: "c-erklund"},
			{q: "Lindq", want: []string{"c-lindqvist", "c-hyphenated"}},
			{q: "Karin Lindq", first: "c-lindqvist", not: []string{"c-hyphenated"}},
			{q: "Karl", want: []string{"c-carlsson"}},
			{q: "Oskar Karlsson", first: "c-carlsson"},
			{q: "Johansson", first: "c-johansson"},
			{q: "Anna Maria Johansson", first: "c-johansson"},
			{q: "Anna Lena", first: "c-hyphenated"},
			{q: "OBrien", first: "c-obrien"},
			{q: "O’Brien Sean", first: "c-obrien"},
			{q: "Bryan", first: "c-obrien"},
			{q: "191212121212", first: "c-tolvan"},
			{q: "121212-1212", first: "c-tolvan"},
			{q: "19121212-1212", first: "c-tolvan"},
			{q: "1212121212", first: "c-tolvan"},
			{q: "19121212 1212", first: "c-tolvan"},
			{q: "K-2026-000123", first: "c-berg", not: []string{"c-tolvan"}},
			{q: "k2026000123", first: "c-berg"},
			{q: "01019012345", first: "c-noreg"},
			{q: "X-1", first: "c-no-names"},
			{q: "Tolvan 19121212-1212", first: "c-tolvan"},
			{q: "191212121213", none: true},
			{q: "Zyxwvu", none: true},
			{q: "Lindqvst", not: []string{"c-berg", "c-lofgren", "c-yilmaz"}},
			{q: "!!! ???", none: true},
		}
		for _, c := range cases {
			hits, err := Query(ctx, d, c.q, 10)
			if err != nil {
				t.Fatalf("%q: %v", c.q, err)
			}
			got := ids(hits)
			if c.none && len(got) > 0 {
				t.Errorf("%q: want no hits, got %v", c.q, got)
			}
			if c.first != "" && (len(got) == 0 || got[0] != c.first) {
				t.Errorf("%q: want %s first, got %v", c.q, c.first, got)
			}
			for _, w := range c.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q: want %s among %v", c.q, w, got)
				}
			}
			for _, w := range c.not {
				if slices.Contains(got, w) {
					t.Errorf("%q: do not want %s among %v", c.q, w, got)
				}
			}
		}
	})
}

func TestRanking(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		seed(t, d)
		ctx := context.Background()

		// Exact beats one typo beats two typos.
		hits, err := Query(ctx, d, "Johansson", 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(hits); len(got) < 2 || got[0] != "c-johansson" || got[1] != "c-johanssen" {
			t.Fatalf("Johansson: got %v", got)
		}
		if hits[0].Score != 1 || hits[1].Score >= 1 {
			t.Errorf("scores %v, %v", hits[0].Score, hits[1].Score)
		}
		if !slices.Equal(hits[0].Matched, []string{"johansson"}) {
			t.Errorf("matched %v", hits[0].Matched)
		}

		// Equal scores: an exact family-name match first, although
		// "andersson berg" sorts before "berg ylva".
		hits, err = Query(ctx, d, "Berg", 10)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(hits)
		if len(got) < 3 || got[0] != "c-berg" || got[1] != "c-ylva-berg" {
			t.Fatalf("Berg: got %v", got)
		}
		if i := slices.Index(got, "c-andersson"); i < 2 {
			t.Errorf("Berg: given name Berg at %d in %v", i, got)
		}

		// AND semantics, with a fallback to the best partial matches.
		hits, err = Query(ctx, d, "Åke Zzyzzx", 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(hits); len(got) != 1 || got[0] != "c-lofgren" || !slices.Equal(hits[0].Matched, []string{"ake"}) || hits[0].Score != 0.5 {
			t.Fatalf("partial: got %v %+v", got, hits)
		}
		hits, err = Query(ctx, d, "Karin Lindqvist", 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(hits); !slices.Equal(got, []string{"c-lindqvist"}) {
			t.Fatalf("AND: got %v", got)
		}

		// The limit holds and Query works inside a transaction.
		err = d.ReadOnly(ctx, func(tx *db.Tx) error {
			hits, err := Query(ctx, tx, "Berg", 1)
			if err != nil {
				return err
			}
			if len(hits) != 1 {
				t.Errorf("limit 1: got %d hits", len(hits))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestReindexAndRemove(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		seed(t, d)
		ctx := context.Background()
		find := func(q string) []string {
			t.Helper()
			hits, err := Query(ctx, d, q, 10)
			if err != nil {
				t.Fatal(err)
			}
			return ids(hits)
		}
		err := d.Transact(ctx, func(tx *db.Tx) error {
			return Index(ctx, tx, "c-lindqvist", Doc{Names: []string{"Karin", "Berglund", "Karin Lindqvist"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := find("Berglund"); len(got) == 0 || got[0] != "c-lindqvist" {
			t.Errorf("new name: got %v", got)
		}
		if got := find("Lindqvist"); !slices.Contains(got, "c-lindqvist") {
			t.Errorf("alias: got %v", got)
		}
		err = d.Transact(ctx, func(tx *db.Tx) error {
			return Index(ctx, tx, "c-lindqvist", Doc{Names: []string{"Karin", "Berglund"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := find("Lindqvist"); slices.Contains(got, "c-lindqvist") {
			t.Errorf("old name still finds the renamed person: %v", got)
		}

		// Prune drops words nobody carries; words still carried stay.
		err = d.Transact(ctx, func(tx *db.Tx) error {
			if err := Remove(ctx, tx, "c-erklund"); err != nil {
				return err
			}
			n, err := Prune(ctx, tx)
			if err != nil {
				return err
			}
			if n == 0 {
				t.Errorf("prune deleted nothing")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRow(`SELECT COUNT(*) FROM search_term WHERE term = 'erklund'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d vocabulary rows of unused words left", n)
		}
		if got := find("Ekrlund"); len(got) != 0 {
			t.Errorf("removed person found: %v", got)
		}
		if got := find("Lindqvist-Berg"); len(got) == 0 || got[0] != "c-hyphenated" {
			t.Errorf("after prune: got %v", got)
		}
		if got := find("Berglund"); len(got) == 0 || got[0] != "c-lindqvist" {
			t.Errorf("after prune: got %v", got)
		}

		// An empty Doc removes the client.
		err = d.Transact(ctx, func(tx *db.Tx) error { return Index(ctx, tx, "c-berg", Doc{}) })
		if err != nil {
			t.Fatal(err)
		}
		if got := find("K-2026-000123"); len(got) != 0 {
			t.Errorf("emptied client found: %v", got)
		}
	})
}

func TestQueryInvalid(t *testing.T) {
	d := dbtest.SQLite(t)
	for _, q := range []string{"", "   \t\n", strings.Repeat("a", MaxQueryLen+1), strings.Repeat("å", MaxQueryLen+1)} {
		_, err := Query(context.Background(), d, q, 10)
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "q" {
			t.Errorf("%q: got %v, want an invalid-field error on q", q, err)
		}
	}
	if _, err := Query(context.Background(), d, strings.Repeat("å", MaxQueryLen), 10); err != nil {
		t.Errorf("a query of exactly %d runes: %v", MaxQueryLen, err)
	}
	err := d.Transact(context.Background(), func(tx *db.Tx) error { return Index(context.Background(), tx, "", Doc{Names: []string{"A"}}) })
	if apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("empty client id: %v", err)
	}
}

func TestClassification(t *testing.T) {
	cols, err := db.Classification()
	if err != nil {
		t.Fatal(err)
	}
	d := dbtest.SQLite(t)
	live, err := d.LiveColumns(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range live {
		if strings.HasPrefix(c, "search_term.") || strings.HasPrefix(c, "client_search") {
			n++
			if _, ok := cols[c]; !ok {
				t.Errorf("column %s has no sensitivity class", c)
			}
		}
	}
	if n != 7 {
		t.Errorf("found %d search columns, want 7", n)
	}
}

func TestDistance(t *testing.T) {
	cases := []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "ab", 2},
		{"lindqvist", "lindqvst", 1}, {"erklund", "ekrlund", 1},
		{"johanssen", "johansen", 1}, {"johansson", "johansen", 2},
		{"åke", "ake", 1}, {"abc", "ca", 3}, {"kitten", "sitting", 3},
	}
	for _, c := range cases {
		if got := Distance(c.a, c.b, 5); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
		if got := Distance(c.b, c.a, 5); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.b, c.a, got, c.d)
		}
		if c.d > 1 {
			if got := Distance(c.a, c.b, 1); got != 2 {
				t.Errorf("Distance(%q, %q, 1) = %d, want 2 (capped)", c.a, c.b, got)
			}
		}
	}
}

func TestFold(t *testing.T) {
	cases := map[string]string{
		"Åke Löfgren":           "ake lofgren",
		"Sørensen":              "sorensen",
		"Ærø Æble":              "aero aeble",
		"Weiß":                  "weiss",
		"Müller-Lüdenscheidt":   "muller ludenscheidt",
		"O'Brien":               "obrien",
		"  Jean-Luc   Picard, ": "jean luc picard",
		"ÉMILE Zola":            "emile zola",
		"Łukasz Żółć":           "lukasz zolc",
		"Þór Sigurðsson":        "thor sigurdsson",
		"ﬁnn":                   "finn",
		"Agent 007":             "agent",
	}
	for in, want := range cases {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	variants := [][2]string{
		{"aage", "age"}, {"carlsson", "karlson"}, {"lindqvist", "lindkvist"}, {"lindquist", "lindkvist"},
		{"thomas", "tomas"}, {"michael", "mikael"}, {"soeren", "soren"}, {"johanssen", "johansen"},
		{"oscar", "oskar"}, {"mattias", "matias"},
	}
	for _, v := range variants {
		if Variant(v[0]) != Variant(v[1]) {
			t.Errorf("Variant(%q) = %q, Variant(%q) = %q; want equal", v[0], Variant(v[0]), v[1], Variant(v[1]))
		}
	}
	for in, want := range map[string][]string{
		"19121212-1212": {"191212121212", "1212121212"},
		"121212-1212":   {"1212121212"},
		"K-2026-000123": {"k2026000123"},
		"---":           nil,
	} {
		if got := idKeys(in); !slices.Equal(got, want) {
			t.Errorf("idKeys(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestRankingCommonAndRare pins the ranking when one query word is carried
// by many clients and the other by few: the clients carrying both come
// first, in quality order, and nobody carrying only one of them is listed.
// It runs once with the rarest word found by counting and once with every
// word over the counting cap, so that the result does not depend on which
// word drives the candidates.
func TestRankingCommonAndRare(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		docs := map[string]Doc{
			"c-erik-lindholm":  {Names: []string{"Erik", "Lindholm"}, IDs: []string{"K-2026-900001"}},
			"c-eric-lindholm":  {Names: []string{"Eric", "Lindholm"}},  // variant of the given name
			"c-erik-lindholt":  {Names: []string{"Erik", "Lindholt"}},  // one edit in the family name
			"c-erika-lindholm": {Names: []string{"Erika", "Lindholm"}}, // one edit in the given name
			"c-anna-lindholm":  {Names: []string{"Anna", "Lindholm"}},
			"c-lindholm-erik":  {Names: []string{"Lindholm", "Eriksson"}},
			"c-zlatko":         {Names: []string{"Zlatko", "Andersson"}},
		}
		families := []string{"Andersson", "Johansson", "Karlsson", "Nilsson", "Larsson", "Olsson", "Persson", "Svensson"}
		for i := 0; i < 240; i++ {
			// Many an Erik, and many an Andersson, none a Lindholm.
			docs["c-common-"+strconv.Itoa(i)] = Doc{Names: []string{"Erik", families[i%len(families)]}}
			docs["c-andersson-"+strconv.Itoa(i)] = Doc{Names: []string{"Anna", "Andersson"}}
		}
		err := d.Transact(ctx, func(tx *db.Tx) error { return BulkIndex(ctx, tx, docs) })
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			q    string
			want []string // the hits, in this order
		}{
			{"Erik Lindholm", []string{"c-erik-lindholm", "c-eric-lindholm", "c-erika-lindholm", "c-erik-lindholt"}},
			// "erik" is being typed: Lindholm Eriksson matches it as a
			// prefix, which beats a typo in the family name.
			{"Lindholm Erik", []string{"c-erik-lindholm", "c-eric-lindholm", "c-erika-lindholm", "c-lindholm-erik", "c-erik-lindholt"}},
			{"Lindholm Erik ", []string{"c-erik-lindholm", "c-eric-lindholm", "c-erika-lindholm", "c-erik-lindholt"}},
			{"erik lindholm K-2026-900001", []string{"c-erik-lindholm"}},
			{"Zlatko Andersson", []string{"c-zlatko"}},
			{"Andersson Zlatko", []string{"c-zlatko"}},
		}
		for _, cap := range []int{driverCap, 10} {
			saved := driverCap
			driverCap = cap
			for _, c := range cases {
				hits, err := Query(ctx, d, c.q, 10)
				if err != nil {
					t.Fatalf("%q: %v", c.q, err)
				}
				if got := ids(hits); !slices.Equal(got, c.want) {
					t.Errorf("cap %d, %q: got %v, want %v", cap, c.q, got, c.want)
				}
			}
			hits, err := Query(ctx, d, "Erik Lindholm", 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(hits); !slices.Equal(got, []string{"c-erik-lindholm"}) || hits[0].Score != 1 {
				t.Errorf("cap %d, limit 1: got %v %+v", cap, got, hits)
			}
			// The prefix being typed.
			hits, err = Query(ctx, d, "Erik Lindh", 10)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(hits); len(got) < 2 || got[0] != "c-erik-lindholm" || got[1] != "c-erik-lindholt" {
				t.Errorf("cap %d, Erik Lindh: got %v", cap, got)
			}
			driverCap = saved
		}
	})
}
