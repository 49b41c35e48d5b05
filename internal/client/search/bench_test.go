// SPDX-License-Identifier: AGPL-3.0-or-later

package search

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// The benchmark register: a deterministic population with a Nordic name
// distribution — a few very common names (Zipf-like), compound Swedish
// surnames, -sen surnames, and a long tail of rare generated names — so
// that postings are as skewed as in a real register.
var (
	benchGiven = strings.Fields(`Anna Eva Maria Karin Kristina Lena Kerstin Sara Emma Ingrid Marie Malin Ida
		Linnéa Elin Hanna Johanna Åsa Birgitta Inger Ulla Margareta Elisabeth Sofia Julia Frida Camilla Helena
		Annika Susanne Marianne Mette Kirsten Hanne Lone Sigrid Solveig Ragnhild Astrid Liv Kari Randi Tove
		Siv Aino Päivi Sirpa Tuula Britt Gunilla Ebba Agnes Alice Maja Wilma Ella Saga Ronja Nora Fatima
		Lars Mikael Anders Johan Per Erik Karl Peter Jan Thomas Daniel Fredrik Hans Bengt Mats Magnus Stefan
		Andreas Jonas Martin Mattias Niklas Björn Åke Göran Leif Sven Nils Olof Gunnar Kjell Rolf Ulf Jörgen
		Håkan Bo Lennart Oskar William Lucas Hugo Elias Liam Axel Ole Knut Terje Geir Arne Odd Tor Jens
		Søren Mads Rasmus Henrik Morten Jesper Kasper Aage Åge Jukka Mikko Timo Matti Pekka Heikki Ahmed
		Mohammed Ali Hassan Omar Yusuf Ibrahim Amir Reza Dragan Goran Zoran Nikola Marko Piotr Tomasz
		Krzysztof Andrzej Carl Christer Claes Gustaf Gustav Kent Roger Tommy Patrik Joakim Jimmy Robin
		Sebastian Viktor Emil Anton Filip Isak Ludvig Alfred Edvin Theo Noah Adam Leo Oliver Alexander`)
	benchFamily = strings.Fields(`Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson
		Svensson Gustafsson Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson
		Lindström Olofsson Lindqvist Lindgren Axelsson Berg Bergström Lundberg Lind Lundgren Lundqvist
		Mattsson Berglund Fredriksson Sandberg Henriksson Forsberg Sjöberg Wallin Engström Eklund Danielsson
		Lundin Håkansson Björk Bergman Gunnarsson Holm Wikström Samuelsson Isaksson Fransson Bergqvist
		Nyström Holmberg Arvidsson Löfgren Söderberg Nyberg Blomqvist Claesson Nordström Mårtensson
		Lundström Carlsson Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen
		Johnsen Pettersen Eriksen Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen Halvorsen
		Henriksen Lund Sørensen Jakobsen Moen Gundersen Iversen Strand Solberg Svendsen Eide Knutsen
		Martinsen Paulsen Bakken Kristoffersen Mathisen Lie Amundsen Nguyen Rasmussen Ali Lunde Solheim
		Berge Moe Nielsen Christensen Madsen Møller Poulsen Thomsen Mortensen Knudsen Kristensen Olesen
		Schmidt Nieminen Korhonen Virtanen Mäkinen Hämäläinen Laine Heikkinen Koskinen Järvinen Lehtonen
		Mohamed Hussein Abdi Yilmaz Kaya Nowak Kowalski Kovačević Petrović Jovanović Horvat`)
	benchHead = strings.Fields(`Berg Lind Sjö Ek Gran Björk Löv Ström Dahl Holm Sand Nord Sö Väst Ås Häll
		Lund Fors Al Ask Blom Rosen Lilje Hed Hag Fager Eng Sten Kvarn Ny Wall Malm Öst Åker Ekel Hassel`)
	benchTail = strings.Fields(`berg lund gren qvist kvist ström holm dahl sten blad man mark vall bäck by
		hed näs strand stedt ling ander ius sjö lin`)
	benchOnset = strings.Fields(`b d f g h j k l m n p r s t v br dr fr gr kr pr st sk sv tr bj fj hj kj
		sj`)
	benchNucleus = strings.Fields(`a e i o u y å ä ö aa ei au`)
	benchCoda    = strings.Fields(`n r l s t k m nd rk ll nn ss st rg ld ng`)
)

type benchPerson struct {
	given, family, pnr, clientNo string
}

// zipf picks an index in [0, n) with weights 1/(i+1)^0.9.
func zipf(r *rand.Rand, n int) int {
	// Inverse transform of the continuous approximation.
	const s = 0.9
	u := r.Float64()
	hi := math.Pow(float64(n+1), 1-s)
	x := math.Pow(1+u*(hi-1), 1/(1-s)) - 1
	return min(int(x), n-1)
}

func syllableName(r *rand.Rand, syllables int) string {
	var b strings.Builder
	for i := 0; i < syllables; i++ {
		b.WriteString(benchOnset[r.IntN(len(benchOnset))])
		b.WriteString(benchNucleus[r.IntN(len(benchNucleus))])
		if r.IntN(2) == 0 || i == syllables-1 {
			b.WriteString(benchCoda[r.IntN(len(benchCoda))])
		}
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

// benchPeople generates n persons deterministically.
func benchPeople(n int) []benchPerson {
	r := rand.New(rand.NewPCG(2026, 100000))
	out := make([]benchPerson, n)
	for i := range out {
		given := benchGiven[zipf(r, len(benchGiven))]
		if r.IntN(10) < 4 {
			given += " " + benchGiven[zipf(r, len(benchGiven))]
		}
		var family string
		switch x := r.IntN(100); {
		case x < 55:
			family = benchFamily[zipf(r, len(benchFamily))]
		case x < 80:
			family = benchHead[r.IntN(len(benchHead))] + benchTail[r.IntN(len(benchTail))]
		case x < 95:
			family = syllableName(r, 2+r.IntN(2))
		default:
			family = syllableName(r, 1+r.IntN(2)) + "-" + benchFamily[zipf(r, len(benchFamily))]
		}
		yy, mm, dd := 40+i%60, 1+(i/60)%12, 1+(i/720)%28
		out[i] = benchPerson{
			given:    given,
			family:   family,
			pnr:      fmt.Sprintf("19%02d%02d%02d-%04d", yy, mm, dd, i/20160*1000+r.IntN(1000)),
			clientNo: fmt.Sprintf("K-2026-%06d", i),
		}
	}
	return out
}

func benchClientID(i int) string { return fmt.Sprintf("bench-%06d", i) }

// typo makes one random edit of a word of at least five runes.
func typo(r *rand.Rand, w string) string {
	rs := []rune(w)
	if len(rs) < 5 {
		return w
	}
	i := 1 + r.IntN(len(rs)-2)
	switch r.IntN(4) {
	case 0: // substitution
		rs[i] = rune('a' + r.IntN(26))
	case 1: // deletion
		rs = append(rs[:i], rs[i+1:]...)
	case 2: // insertion
		rs = append(rs[:i], append([]rune{rune('a' + r.IntN(26))}, rs[i:]...)...)
	default: // transposition
		rs[i], rs[i+1] = rs[i+1], rs[i]
	}
	return string(rs)
}

// benchQueries is a realistic mix of what staff type.
func benchQueries(ps []benchPerson, n int) []string {
	r := rand.New(rand.NewPCG(7, 7))
	out := make([]string, n)
	for i := range out {
		p := ps[r.IntN(len(ps))]
		first := strings.Fields(p.given)[0]
		fam := strings.Split(p.family, "-")[0]
		switch x := r.IntN(100); {
		case x < 20: // full name
			out[i] = first + " " + p.family
		case x < 30: // family name only
			out[i] = p.family
		case x < 40: // without diacritics
			out[i] = Fold(first + " " + p.family)
		case x < 55: // a typo in the family name
			out[i] = first + " " + typo(r, fam)
		case x < 62: // a typo, family name only
			out[i] = typo(r, fam)
		case x < 75: // typing the family name
			out[i] = first + " " + string([]rune(fam)[:min(len([]rune(fam)), 3+r.IntN(3))])
		case x < 80: // typing, family name only
			out[i] = string([]rune(fam)[:min(len([]rune(fam)), 4+r.IntN(3))])
		case x < 88: // personal identity number, several spellings
			switch r.IntN(3) {
			case 0:
				out[i] = p.pnr
			case 1:
				out[i] = strings.ReplaceAll(p.pnr, "-", "")
			default:
				out[i] = p.pnr[2:]
			}
		default: // client number
			out[i] = p.clientNo
		}
	}
	return out
}

// percentile returns the p-th percentile (0–100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// seedBench indexes n generated persons in one transaction.
func seedBench(b *testing.B, d *db.DB, ps []benchPerson) {
	b.Helper()
	docs := make(map[string]Doc, len(ps))
	for i, p := range ps {
		docs[benchClientID(i)] = Doc{Names: []string{p.given, p.family}, IDs: []string{p.pnr, p.clientNo}}
	}
	start := time.Now()
	err := d.Transact(context.Background(), func(tx *db.Tx) error { return BulkIndex(context.Background(), tx, docs) })
	if err != nil {
		b.Fatal(err)
	}
	if d.Dialect == db.Postgres {
		if _, err := d.Exec(`ANALYZE search_term; ANALYZE client_search; ANALYZE client_search_doc`); err != nil {
			b.Fatal(err)
		}
	} else if _, err := d.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	var terms, keys, postings int
	if err := d.QueryRow(`SELECT COUNT(DISTINCT term), COUNT(*) FROM search_term`).Scan(&terms, &keys); err != nil {
		b.Fatal(err)
	}
	if err := d.QueryRow(`SELECT COUNT(*) FROM client_search`).Scan(&postings); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: indexed %d persons in %v: %d words, %d vocabulary keys, %d postings",
		d.Dialect, len(ps), time.Since(start).Round(time.Millisecond), terms, keys, postings)
}

// BenchmarkQuery100k indexes 100 000 generated persons once per engine
// and runs a realistic mix of queries (full names, family names, typos,
// prefixes, identity and client numbers), reporting the latency
// percentiles. PostgreSQL runs when CUSTODIA_TEST_POSTGRES is set.
func BenchmarkQuery100k(b *testing.B) {
	ps := benchPeople(100000)
	qs := benchQueries(ps, 5000)
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var d *db.DB
			if engine == "sqlite" {
				d = dbtest.SQLite(b)
			} else {
				d = dbtest.Postgres(b)
			}
			seedBench(b, d, ps)
			ctx := context.Background()
			// Warm the caches with one pass over a slice of the mix.
			for _, q := range qs[:200] {
				if _, err := Query(ctx, d, q, DefaultLimit); err != nil {
					b.Fatal(err)
				}
			}
			var lat []time.Duration
			empty := 0
			i := 0
			for b.Loop() {
				q := qs[i%len(qs)]
				i++
				start := time.Now()
				hits, err := Query(ctx, d, q, DefaultLimit)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if len(hits) == 0 {
					empty++
				}
			}
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			b.ReportMetric(float64(empty)/float64(len(lat)), "empty-frac")
		})
	}
}
