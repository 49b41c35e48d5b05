// SPDX-License-Identifier: AGPL-3.0-or-later

// Package search is the person search index of the client register: find
// a person by any of their names or identity numbers, tolerant of
// diacritics ("Ake Lofgren" finds "Åke Löfgren"), of Nordic spelling
// variants ("Aage" finds "Åge", "Karlson" finds "Carlsson") and of typing
// errors ("Lindqvst" finds "Lindqvist"), and by prefix as the user types.
//
// The index lives entirely in the database, so every app server sees the
// same index and none keeps state in memory. It is a SymSpell-style
// deletion index in two tables:
//
//   - search_term, the vocabulary: each distinct folded name word, reached
//     from its exact form, its second folding (Variant), every string made
//     by deleting one rune (words of 4–32 runes) or two runes (8–20 runes),
//     and its prefixes. A query word looks up its own form and deletions;
//     where keys meet, the word is within Damerau–Levenshtein distance 1
//     (2 for long words) of a name, which Distance then confirms.
//   - client_search, the postings: which client carries which word or
//     identity number, with the client's sort name, indexed by word and
//     by client.
//
// Query first turns the query words into vocabulary terms with a match
// quality each (exact > variant > prefix > distance 1 > distance 2), then
// ranks clients in one SQL statement over the postings of those terms, so
// that only the best hits leave the database. A hit must match every
// query word while any client does, so that statement takes as
// candidates the clients of the rarest query word (counting each word's
// postings up to a cap) and scores only those, looking up their own
// postings, rather than aggregating every posting of a common name. A
// one-word query tries its exact and prefix terms first; the fuzzy terms,
// whose postings are larger, only when the exact ones cannot fill the
// page with hits that no fuzzy hit could beat.
package search

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	sub, _ := fs.Sub(migrations, "migrations")
	db.Register(db.Module{Name: "search", FS: sub})
}

// Limits of a query.
const (
	MaxQueryLen  = 200 // runes; longer queries are invalid
	DefaultLimit = 20  // hits returned when the caller asks for none
	MaxLimit     = 200 // hits returned at most
)

// Match qualities of one query word against one name word; a hit's score
// sums the best quality of each query word.
const (
	wExact   = 100 // the same folded word
	wVariant = 90  // the same after the second folding (Aage/Åge)
	wPrefix  = 75  // the query word begins the name (last word only)
	wDist1   = 60  // one edit away
	wDist2   = 40  // two edits away (words of 8 runes or more)
)

// maxPrefixTerms bounds how many vocabulary words a short prefix expands to.
const maxPrefixTerms = 2000

// Posting kinds in client_search.
const (
	kindGiven  = 0
	kindFamily = 1
	kindAlias  = 2
	kindID     = 3
)

// Doc is what a client is found by.
type Doc struct {
	// Names holds the given names (Names[0]), then the family name
	// (Names[1]), then any aliases and former names. Each entry may hold
	// several words ("Anna Maria", "Lindqvist-Berg").
	Names []string
	// IDs holds national identity numbers and the client number, with or
	// without separators ("19121212-1212", "K-2026-000123").
	IDs []string
}

// Hit is one client found by Query.
type Hit struct {
	ClientID string
	// Score is the summed match quality of the query words, scaled so
	// that 1 means every word matched a name or number exactly.
	Score float64
	// Matched lists the folded query words that matched (an identity
	// number as its letters and digits).
	Matched []string
}

// Querier runs a query; *db.DB and *db.Tx both are one, and Query takes
// no other (it needs the dialect).
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Index replaces what clientID is found by with d. It is called in the
// client package's transaction whenever a person is created, renamed or
// merged, so that the index commits with the change. A Doc without names
// or numbers removes the client from the index.
func Index(ctx context.Context, tx *db.Tx, clientID string, d Doc) error {
	if clientID == "" {
		return apperr.Field("client_id", "A client id is required.")
	}
	return BulkIndex(ctx, tx, map[string]Doc{clientID: d})
}

// Remove takes clientID out of the index.
func Remove(ctx context.Context, tx *db.Tx, clientID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM client_search WHERE client_id = $1`, clientID); err != nil {
		return fmt.Errorf("search: remove postings: %w", err)
	}
	return nil
}

// BulkIndex replaces the index entries of many clients at once (client id
// → Doc) with chunked multi-row statements; demo and benchmark seeding of
// 100 000 persons goes through it.
func BulkIndex(ctx context.Context, tx *db.Tx, docs map[string]Doc) error {
	if len(docs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(docs))
	for id := range docs {
		if id == "" {
			return apperr.Field("client_id", "A client id is required.")
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)

	var (
		postings []posting
		terms    = map[string]bool{}
	)
	for _, id := range ids {
		for _, p := range postingsOf(id, docs[id]) {
			if p.kind != kindID {
				terms[p.key] = true
			}
			postings = append(postings, p)
		}
	}
	var vocab []termKey
	for t := range terms {
		vocab = append(vocab, termKeys(t)...)
	}
	// One order for every writer, so that concurrent writers of shared
	// words lock them in the same order and cannot deadlock each other.
	slices.SortFunc(vocab, func(a, b termKey) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if a.kind != b.kind {
			return a.kind - b.kind
		}
		return strings.Compare(a.term, b.term)
	})
	vocab = slices.Compact(vocab)

	if err := deleteClients(ctx, tx, ids); err != nil {
		return err
	}
	// The vocabulary first: Prune locks it, so a writer that got past this
	// point is waited for, and one that did not waits.
	if err := insertVocab(ctx, tx, vocab); err != nil {
		return err
	}
	return insertPostings(ctx, tx, postings)
}

// posting is one row of client_search.
type posting struct {
	key, clientID string
	kind          int
	sortName      string // the client's folded "family given" name
}

// postingsOf lists the distinct postings of one client.
func postingsOf(id string, d Doc) []posting {
	var given, family string
	if len(d.Names) > 0 {
		given = Fold(d.Names[0])
	}
	if len(d.Names) > 1 {
		family = Fold(d.Names[1])
	}
	sortName := strings.TrimSpace(family + " " + given)
	seen := map[posting]bool{}
	var out []posting
	add := func(p posting) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for i, name := range d.Names {
		kind := kindAlias
		switch i {
		case 0:
			kind = kindGiven
		case 1:
			kind = kindFamily
		}
		for _, t := range nameTokens(name) {
			add(posting{t, id, kind, sortName})
		}
	}
	for _, n := range d.IDs {
		for _, k := range idKeys(n) {
			add(posting{k, id, kindID, sortName})
		}
	}
	return out
}

// sqliteParams bounds the bound parameters of one SQLite statement: SQLite
// looks up numbered parameters by linear search when preparing and
// binding, so a statement's cost grows with the square of their number.
const sqliteParams = 1000

// chunk calls f for consecutive ranges of n items, at most per items each.
func chunk(n, per int, f func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += per {
		if err := f(lo, min(lo+per, n)); err != nil {
			return err
		}
	}
	return nil
}

// placeholders writes "($k,$k+1,…),(…)" for rows×cols parameters
// starting at $1.
func placeholders(b *strings.Builder, rows, cols int) {
	n := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			n++
		}
		b.WriteByte(')')
	}
}

func deleteClients(ctx context.Context, tx *db.Tx, ids []string) error {
	if tx.Dialect == db.Postgres {
		if _, err := tx.ExecContext(ctx, `DELETE FROM client_search WHERE client_id = ANY($1::text[])`, ids); err != nil {
			return fmt.Errorf("search: clear postings: %w", err)
		}
		return nil
	}
	err := chunk(len(ids), sqliteParams, func(lo, hi int) error {
		var b strings.Builder
		b.WriteString(`DELETE FROM client_search WHERE client_id IN (`)
		args := make([]any, 0, hi-lo)
		for i, id := range ids[lo:hi] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("$" + strconv.Itoa(i+1))
			args = append(args, id)
		}
		b.WriteByte(')')
		_, err := tx.ExecContext(ctx, b.String(), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("search: clear postings: %w", err)
	}
	return nil
}

// pgBatch is how many rows one PostgreSQL array insert carries.
const pgBatch = 50000

func insertVocab(ctx context.Context, tx *db.Tx, vocab []termKey) error {
	if tx.Dialect == db.Postgres {
		return chunk(len(vocab), pgBatch, func(lo, hi int) error {
			keys, kinds, terms := make([]string, 0, hi-lo), make([]int32, 0, hi-lo), make([]string, 0, hi-lo)
			for _, v := range vocab[lo:hi] {
				keys, kinds, terms = append(keys, v.key), append(kinds, int32(v.kind)), append(terms, v.term)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO search_term (key, kind, term)
				SELECT * FROM unnest($1::text[], $2::int[], $3::text[]) ON CONFLICT DO NOTHING`, keys, kinds, terms)
			if err != nil {
				return fmt.Errorf("search: insert vocabulary: %w", err)
			}
			return nil
		})
	}
	return chunk(len(vocab), sqliteParams/3, func(lo, hi int) error {
		var b strings.Builder
		b.WriteString(`INSERT INTO search_term (key, kind, term) VALUES `)
		placeholders(&b, hi-lo, 3)
		b.WriteString(` ON CONFLICT DO NOTHING`)
		args := make([]any, 0, 3*(hi-lo))
		for _, v := range vocab[lo:hi] {
			args = append(args, v.key, v.kind, v.term)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("search: insert vocabulary: %w", err)
		}
		return nil
	})
}

func insertPostings(ctx context.Context, tx *db.Tx, ps []posting) error {
	if tx.Dialect == db.Postgres {
		return chunk(len(ps), pgBatch, func(lo, hi int) error {
			keys, ids, kinds, names := make([]string, 0, hi-lo), make([]string, 0, hi-lo), make([]int32, 0, hi-lo), make([]string, 0, hi-lo)
			for _, p := range ps[lo:hi] {
				keys, ids, kinds, names = append(keys, p.key), append(ids, p.clientID), append(kinds, int32(p.kind)), append(names, p.sortName)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO client_search (key, client_id, kind, sort_name)
				SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) ON CONFLICT DO NOTHING`, keys, ids, kinds, names)
			if err != nil {
				return fmt.Errorf("search: insert postings: %w", err)
			}
			return nil
		})
	}
	return chunk(len(ps), sqliteParams/4, func(lo, hi int) error {
		var b strings.Builder
		b.WriteString(`INSERT INTO client_search (key, client_id, kind, sort_name) VALUES `)
		placeholders(&b, hi-lo, 4)
		b.WriteString(` ON CONFLICT DO NOTHING`)
		args := make([]any, 0, 4*(hi-lo))
		for _, p := range ps[lo:hi] {
			args = append(args, p.key, p.clientID, p.kind, p.sortName)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("search: insert postings: %w", err)
		}
		return nil
	})
}

// Prune deletes vocabulary words that no client carries any more (after
// renames, merges and erasures), so that the index keeps no name of a
// person who has left the register. Run it in a transaction of its own,
// e.g. nightly; on PostgreSQL it briefly blocks concurrent indexing.
func Prune(ctx context.Context, tx *db.Tx) (int64, error) {
	if tx.Dialect == db.Postgres {
		// Writers insert into search_term before they insert postings;
		// this lock waits for those in flight and holds off new ones, so
		// no word is deleted that a concurrent writer is about to use.
		if _, err := tx.ExecContext(ctx, `LOCK TABLE search_term IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return 0, fmt.Errorf("search: lock vocabulary: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM search_term WHERE term IN (
		SELECT t.term FROM search_term t WHERE t.kind = 0
		AND NOT EXISTS (SELECT 1 FROM client_search p WHERE p.key = t.term))`)
	if err != nil {
		return 0, fmt.Errorf("search: prune vocabulary: %w", err)
	}
	return res.RowsAffected()
}

// qtoken is one word of a query.
type qtoken struct {
	text   string // folded word, or an identity number's letters and digits
	id     bool
	g      string // second folding
	n      int    // runes
	prefix bool   // may match as a prefix (the word being typed)
}

// parseQuery splits a query into distinct tokens, at most maxTokens.
func parseQuery(text string) []qtoken {
	words := strings.FieldsFunc(text, unicode.IsSpace)
	var toks []qtoken
	seen := map[string]bool{}
	add := func(t qtoken) {
		k := t.text
		if t.id {
			k = "#" + k
		}
		if t.text == "" || seen[k] || len(toks) >= maxTokens {
			return
		}
		seen[k] = true
		toks = append(toks, t)
	}
	allIDs := len(words) > 1
	for _, w := range words {
		if !hasDigit(w) {
			allIDs = false
		}
	}
	if allIDs {
		// "19121212 1212": one number typed with a space.
		if k := idKey(strings.Join(words, "")); utf8.RuneCountInString(k) <= 14 {
			add(qtoken{text: k, id: true})
			return toks
		}
	}
	for _, w := range words {
		if hasDigit(w) {
			add(qtoken{text: idKey(w), id: true})
			continue
		}
		for _, t := range nameTokens(w) {
			add(qtoken{text: t, g: Variant(t), n: utf8.RuneCountInString(t)})
		}
	}
	// The last word is being typed unless the query ends in a separator.
	if len(toks) > 0 {
		last, _ := utf8.DecodeLastRuneInString(text)
		t := &toks[len(toks)-1]
		if !t.id && t.n >= minPrefixLen && (unicode.IsLetter(last) || unicode.Is(unicode.Mn, last)) {
			t.prefix = true
		}
	}
	return toks
}

// lookupKeys lists the vocabulary keys of the name tokens: their own
// forms and deletions, and the prefix keys of the word being typed.
func lookupKeys(toks []qtoken) (keys, prefixKeys []string) {
	seen := map[string]bool{}
	add := func(k string) {
		if k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, t := range toks {
		if t.id {
			continue
		}
		add(t.text)
		add(t.g)
		rs := []rune(t.text)
		if t.n >= minFuzzy1Len && t.n <= maxFuzzy1Len {
			for _, k := range deletes1(rs) {
				add(k)
			}
		}
		if t.n >= minFuzzy2Len && t.n <= maxFuzzy2Len {
			for _, k := range deletes2(rs) {
				add(k)
			}
		}
		if t.prefix {
			prefixKeys = append(prefixKeys, t.text)
			if t.g != t.text && t.g != "" {
				prefixKeys = append(prefixKeys, t.g)
			}
		}
	}
	return keys, prefixKeys
}

// quality is how well query token t matches vocabulary term (with second
// folding tv), or 0.
func quality(t qtoken, term, tv string) int {
	switch {
	case term == t.text:
		return wExact
	case tv == t.g:
		return wVariant
	case t.prefix && (strings.HasPrefix(term, t.text) || strings.HasPrefix(tv, t.g)):
		return wPrefix
	}
	md := maxDistance(t.n)
	if md == 0 {
		return 0
	}
	d := min(Distance(t.text, term, md), Distance(t.g, tv, md))
	switch {
	case d == 1:
		return wDist1
	case d == 2 && md >= 2:
		return wDist2
	}
	return 0
}

// match is one (query token, term) pair with its quality.
type match struct {
	tok  int
	term string
	w    int
}

// Query finds the clients best matching text, at most limit of them
// (DefaultLimit when limit ≤ 0, never more than MaxLimit), best first.
// Every query word must match a name word or an identity number of a
// hit; only when no client matches them all are partial matches
// returned. Ties go to an exact family-name match, then by name. An empty
// or over-long text is an apperr.Invalid error on field "q". The caller
// checks access and audits what it shows.
func Query(ctx context.Context, q Querier, text string, limit int) ([]Hit, error) {
	if strings.TrimSpace(text) == "" {
		return nil, apperr.Field("q", "Type a name or an identity number to search for.")
	}
	if utf8.RuneCountInString(text) > MaxQueryLen {
		return nil, apperr.Field("q", fmt.Sprintf("The search text is too long (at most %d characters).", MaxQueryLen))
	}
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	var dialect db.Dialect
	switch x := q.(type) {
	case *db.DB:
		dialect = x.Dialect
	case *db.Tx:
		dialect = x.Dialect
	default:
		return nil, fmt.Errorf("search: query through a %T, want a *db.DB or *db.Tx", q)
	}
	toks := parseQuery(text)
	if len(toks) == 0 {
		return []Hit{}, nil
	}

	matches, err := expand(ctx, q, toks)
	if err != nil {
		return nil, err
	}
	if len(matches) == 0 {
		return []Hit{}, nil
	}
	n := len(toks)
	full := int64(1)<<n - 1
	var strong []match
	var covered int64
	for _, m := range matches {
		covered |= 1 << m.tok
		if m.w >= wPrefix {
			strong = append(strong, m)
		}
	}
	// While a client may match every word, rank only such clients (see
	// rank). A one-word query first tries its exact, variant and prefix
	// matches: a common word's fuzzy neighbours carry many postings, and
	// the page is often full without them. With more words, clients that
	// match them all exactly are few, so that first try would rarely
	// fill the page and would only add a statement.
	if covered == full {
		if n == 1 && len(strong) > 0 && len(strong) < len(matches) {
			hits, err := rank(ctx, q, dialect, toks, strong, limit, false)
			if err != nil {
				return nil, err
			}
			// A hit that needs a fuzzy word scores at most this much.
			if bound := int64(wDist1); len(hits) == limit && hits[limit-1].score > bound {
				return finish(hits, toks), nil
			}
		}
		hits, err := rank(ctx, q, dialect, toks, matches, limit, n > 1)
		if err != nil {
			return nil, err
		}
		if len(hits) > 0 {
			return finish(hits, toks), nil
		}
	}
	// No client matches every word: the best partial matches.
	hits, err := rank(ctx, q, dialect, toks, matches, limit, false)
	if err != nil {
		return nil, err
	}
	return finish(hits, toks), nil
}

// expand turns the query tokens into (token, term, quality) matches: name
// tokens through the vocabulary, identity numbers as they are.
func expand(ctx context.Context, q Querier, toks []qtoken) ([]match, error) {
	var out []match
	for i, t := range toks {
		if t.id {
			out = append(out, match{i, t.text, wExact})
		}
	}
	keys, prefixKeys := lookupKeys(toks)
	if len(keys) == 0 {
		return out, nil
	}
	var b strings.Builder
	args := make([]any, 0, len(keys)+len(prefixKeys))
	b.WriteString(`SELECT term FROM search_term WHERE key IN (`)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		args = append(args, k)
		b.WriteString("$" + strconv.Itoa(len(args)))
	}
	b.WriteString(`) AND kind < 4`)
	if len(prefixKeys) > 0 {
		b.WriteString(` UNION ALL SELECT term FROM (SELECT term FROM search_term WHERE kind = 4 AND key IN (`)
		for i, k := range prefixKeys {
			if i > 0 {
				b.WriteByte(',')
			}
			args = append(args, k)
			b.WriteString("$" + strconv.Itoa(len(args)))
		}
		b.WriteString(`) LIMIT ` + strconv.Itoa(maxPrefixTerms) + `) x`)
	}
	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("search: look up words: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var term string
		if err := rows.Scan(&term); err != nil {
			return nil, fmt.Errorf("search: look up words: %w", err)
		}
		if seen[term] {
			continue
		}
		seen[term] = true
		tv := Variant(term)
		for i, t := range toks {
			if t.id {
				continue
			}
			if w := quality(t, term, tv); w > 0 {
				out = append(out, match{i, term, w})
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: look up words: %w", err)
	}
	return out, nil
}

// ranked is one row of the ranking statement.
type ranked struct {
	clientID string
	score    int64
	mask     int64
}

// driverCap bounds how many postings of each query word are counted to
// find the rarest one (a variable so that tests can make every word
// "common").
var driverCap = 2000

// rank scores the clients carrying the matched terms in the database and
// returns the best limit: most query words matched, then highest summed
// quality, then an exact family-name match, then by name.
//
// With all set, only clients matching every query word are ranked. They
// all carry the rarest word, so the statement counts each word's postings
// (up to driverCap), takes the clients of the rarest word as candidates
// and scores only those: SQLite looks up their own postings by
// client_search_client, PostgreSQL does that or hash-joins them with the
// other words' postings, as its planner finds cheaper. Either way the
// page needs no join and no sort over every client of a common name.
//
// The matches travel as arrays (PostgreSQL) or one JSON array (SQLite), so
// the statement text is the same for every query and stays prepared.
func rank(ctx context.Context, q Querier, dialect db.Dialect, toks []qtoken, ms []match, limit int, all bool) ([]ranked, error) {
	var (
		b    strings.Builder
		args []any
	)
	b.WriteString(`WITH m AS MATERIALIZED (`)
	if dialect == db.Postgres {
		tok, term, w, ex := make([]int32, len(ms)), make([]string, len(ms)), make([]int32, len(ms)), make([]int32, len(ms))
		for i, m := range ms {
			tok[i], term[i], w[i], ex[i] = int32(m.tok), m.term, int32(m.w), int32(exact(toks, m))
		}
		args = append(args, tok, term, w, ex)
		b.WriteString(`SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::int[]) AS u (tok, term, w, ex)`)
	} else {
		rows := make([][4]any, len(ms))
		for i, m := range ms {
			rows[i] = [4]any{m.tok, m.term, m.w, exact(toks, m)}
		}
		j, err := json.Marshal(rows)
		if err != nil {
			return nil, fmt.Errorf("search: rank: %w", err)
		}
		args = append(args, string(j))
		// TEXT affinity on term lets SQLite index m by term for the join.
		b.WriteString(`SELECT CAST(value ->> 0 AS INTEGER) AS tok, CAST(value ->> 1 AS TEXT) AS term, CAST(value ->> 2 AS INTEGER) AS w, CAST(value ->> 3 AS INTEGER) AS ex FROM json_each($1)`)
	}
	b.WriteString(`)`)
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// h holds each query word's best match per client. CROSS JOIN keeps
	// SQLite from reordering the joins.
	if all {
		b.WriteString(`,
t AS (SELECT DISTINCT tok FROM m),
df AS (SELECT t.tok AS tok, (SELECT COUNT(*) FROM (
    SELECT 1 FROM m m2 CROSS JOIN client_search p WHERE m2.tok = t.tok AND p.key = m2.term
    LIMIT ` + strconv.Itoa(driverCap) + `) x) AS n FROM t),
c AS (SELECT DISTINCT p.client_id AS cid FROM m CROSS JOIN client_search p
    WHERE m.tok = (SELECT tok FROM df ORDER BY n, tok LIMIT 1) AND p.key = m.term),
h AS (SELECT p.client_id AS cid, m.tok AS tok, MAX(m.w) AS w,
           MAX(CASE WHEN p.kind = 1 THEN m.ex ELSE 0 END) AS fam, MAX(p.sort_name) AS sn
    FROM c CROSS JOIN client_search p CROSS JOIN m
    WHERE p.client_id = c.cid AND p.key = m.term
    GROUP BY p.client_id, m.tok)
SELECT cid, SUM(w) AS score, SUM(1 << tok) AS mask FROM h
GROUP BY cid HAVING COUNT(*) = ` + param(len(toks)) + `
ORDER BY score DESC, MAX(fam) DESC, MAX(sn), cid
LIMIT ` + param(limit))
	} else {
		b.WriteString(`,
h AS (SELECT p.client_id AS cid, m.tok AS tok, MAX(m.w) AS w,
           MAX(CASE WHEN p.kind = 1 THEN m.ex ELSE 0 END) AS fam, MAX(p.sort_name) AS sn
    FROM m CROSS JOIN client_search p
    WHERE p.key = m.term
    GROUP BY p.client_id, m.tok)
SELECT cid, SUM(w) AS score, SUM(1 << tok) AS mask FROM h
GROUP BY cid
ORDER BY COUNT(*) DESC, score DESC, MAX(fam) DESC, MAX(sn), cid
LIMIT ` + param(limit))
	}
	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("search: rank: %w", err)
	}
	defer rows.Close()
	var out []ranked
	for rows.Next() {
		var r ranked
		if err := rows.Scan(&r.clientID, &r.score, &r.mask); err != nil {
			return nil, fmt.Errorf("search: rank: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: rank: %w", err)
	}
	return out, nil
}

// exact is 1 when m is an exact or variant match of a name word: such a
// match of a family name ranks first among equals.
func exact(toks []qtoken, m match) int {
	if !toks[m.tok].id && m.w >= wVariant {
		return 1
	}
	return 0
}

// finish keeps only the hits that matched every word when there are any,
// and turns rows into Hits.
func finish(rs []ranked, toks []qtoken) []Hit {
	full := int64(1)<<len(toks) - 1
	anyFull := len(rs) > 0 && rs[0].mask == full
	out := make([]Hit, 0, len(rs))
	for _, r := range rs {
		if anyFull && r.mask != full {
			continue
		}
		h := Hit{ClientID: r.clientID, Score: float64(r.score) / float64(len(toks)*wExact)}
		for i, t := range toks {
			if r.mask&(1<<i) != 0 {
				h.Matched = append(h.Matched, t.text)
			}
		}
		out = append(out, h)
	}
	return out
}
