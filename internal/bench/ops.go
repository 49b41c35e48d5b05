// SPDX-License-Identifier: AGPL-3.0-or-later

package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
)

// ReadPage does what the client page does for a random client: Get (the
// whole record, with one audited read committed through the audit log's
// group commit before it returns) and the first page of the Timeline (a
// second audited read). ctx must carry an actor.
func (f *Fixture) ReadPage(ctx context.Context, r *rand.Rand) error {
	p := f.People[r.IntN(len(f.People))]
	c, err := f.Clients.Get(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("get %s: %w", p.Number, err)
	}
	if c.ID != p.ID {
		return fmt.Errorf("get %s: got %s", p.ID, c.ID)
	}
	if _, err := f.Clients.Timeline(ctx, p.ID, time.Time{}, 50); err != nil {
		return fmt.Errorf("timeline %s: %w", p.Number, err)
	}
	return nil
}

// AuditedReadsPerPage is how many audit records one ReadPage writes.
const AuditedReadsPerPage = 2

// MoveKind says what Move did.
type MoveKind int

// The moves.
const (
	MoveAdmit MoveKind = iota
	MoveTransfer
)

// ErrFull is returned by Move when the database refused a move because
// the cell was full although the harness's books had a bed free: the
// capacity rule at work, which the harness counts separately.
var ErrFull = errors.New("bench: cell full")

// Move performs one movement through client.Service.MoveClient: an
// admission of a client registered with a legal basis (half the time,
// while there are any) or else a transfer of a client in custody to
// another cell with a free bed. Only the MoveClient call is timed: it
// returns the call's duration. The legal bases were recorded when the
// register was loaded, so AddLegalBasis is not part of the timing.
func (f *Fixture) Move(ctx context.Context, r *rand.Rand) (MoveKind, time.Duration, error) {
	admit := r.IntN(2) == 0
	var idx int
	if admit {
		f.poolMu.Lock()
		if len(f.admitPool) == 0 {
			admit = false
		} else {
			k := r.IntN(len(f.admitPool))
			idx = f.admitPool[k]
			f.admitPool[k] = f.admitPool[len(f.admitPool)-1]
			f.admitPool = f.admitPool[:len(f.admitPool)-1]
		}
		f.poolMu.Unlock()
	}
	var p *Person
	if admit {
		p = f.People[idx]
		p.mu.Lock()
	} else {
		for tries := 0; ; tries++ {
			f.poolMu.Lock()
			if len(f.custody) == 0 {
				f.poolMu.Unlock()
				return MoveTransfer, 0, errors.New("bench: no client in custody to transfer")
			}
			idx = f.custody[r.IntN(len(f.custody))]
			f.poolMu.Unlock()
			p = f.People[idx]
			if p.mu.TryLock() {
				break
			}
			if tries > 1000 {
				return MoveTransfer, 0, errors.New("bench: every client in custody is busy; use fewer workers or more clients")
			}
		}
	}
	defer p.mu.Unlock()

	var cell *Cell
	for tries := 0; ; tries++ {
		c := f.Cells[r.IntN(len(f.Cells))]
		if c.ID != p.CellID && c.reserve() {
			cell = c
			break
		}
		if tries > 100000 {
			if admit {
				f.pushPool(&f.admitPool, idx)
			}
			return MoveTransfer, 0, errors.New("bench: no free bed found in the estate")
		}
	}
	m := client.Move{Action: client.Transfer, Version: p.Version, CellID: cell.ID, Reason: "Benchmark transfer"}
	kind := MoveTransfer
	if admit {
		m = client.Move{Action: client.Admit, Version: p.Version, CellID: cell.ID}
		kind = MoveAdmit
	}
	start := time.Now()
	out, err := f.Clients.MoveClient(ctx, p.ID, m)
	took := time.Since(start)
	if err != nil {
		cell.release()
		if admit {
			f.pushPool(&f.admitPool, idx)
		}
		if e, ok := apperr.As(err); ok && e.Code == apperr.Conflict && strings.Contains(e.Message, "full") {
			return kind, took, ErrFull
		}
		return kind, took, fmt.Errorf("%s %s: %w", m.Action, p.Number, err)
	}
	if !admit {
		if old := f.cellByID[p.CellID]; old != nil {
			old.release()
		}
	}
	p.Version, p.Status, p.CellID = out.Client.Version, out.Client.Status, cell.ID
	if admit {
		f.pushPool(&f.custody, idx)
	}
	return kind, took, nil
}

func (f *Fixture) pushPool(pool *[]int, idx int) {
	f.poolMu.Lock()
	*pool = append(*pool, idx)
	f.poolMu.Unlock()
}

// QueryKind is a kind of search staff type.
type QueryKind string

// The query mix (shares in queryMix).
const (
	QFullName   QueryKind = "full name"
	QNoDiacrit  QueryKind = "without diacritics"
	QTypo       QueryKind = "one typo"
	QPrefix     QueryKind = "family-name prefix"
	QNationalID QueryKind = "national ID"
	QClientNo   QueryKind = "client number"
)

// QueryKinds lists the kinds in report order.
var QueryKinds = []QueryKind{QFullName, QNoDiacrit, QTypo, QPrefix, QNationalID, QClientNo}

// queryMix is the share (percent) of each kind.
var queryMix = []struct {
	kind QueryKind
	pct  int
}{{QFullName, 25}, {QNoDiacrit, 15}, {QTypo, 20}, {QPrefix, 15}, {QNationalID, 15}, {QClientNo, 10}}

// Query is one search and the client it is meant to find.
type Query struct {
	Kind   QueryKind
	Text   string
	Target string // client id
}

// Queries makes n queries, deterministically from seed, about random
// clients of the register:
//   - full name: "Given Family" as registered;
//   - without diacritics: the same folded to ASCII (Åsa Sjöström → Asa
//     Sjostrom), drawn from people whose names have diacritics;
//   - one typo: the given name and the family name with one edit
//     (substitution, deletion, insertion or transposition);
//   - family-name prefix: the given name and the first 3–5 letters of
//     the family name, as typed into the search box (a third of them the
//     prefix alone);
//   - national ID: the number as registered, a third typed without the
//     separator;
//   - client number: as printed ("K-0001234").
func (f *Fixture) Queries(n int, seed int64) []Query {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5ea4c4))
	out := make([]Query, 0, n)
	for len(out) < n {
		x := r.IntN(100)
		var kind QueryKind
		for _, m := range queryMix {
			if x < m.pct {
				kind = m.kind
				break
			}
			x -= m.pct
		}
		p := f.People[r.IntN(len(f.People))]
		given := strings.Fields(p.GivenName)[0]
		q := Query{Kind: kind, Target: p.ID}
		switch kind {
		case QFullName:
			q.Text = p.GivenName + " " + p.FamilyName
		case QNoDiacrit:
			for tries := 0; tries < 50 && asciiFold(p.GivenName+p.FamilyName) == p.GivenName+p.FamilyName; tries++ {
				p = f.People[r.IntN(len(f.People))]
			}
			q.Target = p.ID
			q.Text = asciiFold(p.GivenName + " " + p.FamilyName)
		case QTypo:
			q.Text = given + " " + typo(r, p.FamilyName)
		case QPrefix:
			rs := []rune(strings.Fields(p.FamilyName)[0])
			pre := string(rs[:min(len(rs), 3+r.IntN(3))])
			q.Text = given + " " + pre
			if r.IntN(3) == 0 {
				q.Text = pre
			}
		case QNationalID:
			q.Text = p.NationalID
			if r.IntN(3) == 0 {
				q.Text = strings.NewReplacer("-", "", "+", "").Replace(p.NationalID)
			}
		case QClientNo:
			q.Text = p.Number
		}
		out = append(out, q)
	}
	return out
}

// asciiFold writes a name as someone without Nordic letters on their
// keyboard would: å→a, ä/æ→a, ö/ø→o, é→e and so on, keeping case.
func asciiFold(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case 'å', 'ä', 'æ', 'á', 'à', 'â', 'ã':
			b.WriteRune('a')
		case 'Å', 'Ä', 'Æ', 'Á', 'À':
			b.WriteRune('A')
		case 'ö', 'ø', 'ó', 'ò', 'ô', 'õ':
			b.WriteRune('o')
		case 'Ö', 'Ø', 'Ó':
			b.WriteRune('O')
		case 'é', 'è', 'ê', 'ë', 'ę', 'ė':
			b.WriteRune('e')
		case 'É':
			b.WriteRune('E')
		case 'ü', 'ú', 'ù', 'ū', 'ų':
			b.WriteRune('u')
		case 'í', 'ì', 'ï', 'į':
			b.WriteRune('i')
		case 'ç', 'č', 'ć':
			b.WriteRune('c')
		case 'Č', 'Ć':
			b.WriteRune('C')
		case 'š', 'ś', 'ş':
			b.WriteRune('s')
		case 'Š', 'Ś', 'Ş':
			b.WriteRune('S')
		case 'ž', 'ź', 'ż':
			b.WriteRune('z')
		case 'Ž', 'Ż':
			b.WriteRune('Z')
		case 'ł':
			b.WriteRune('l')
		case 'Ł':
			b.WriteRune('L')
		case 'ń':
			b.WriteRune('n')
		case 'ğ':
			b.WriteRune('g')
		case 'ı':
			b.WriteRune('i')
		case 'İ':
			b.WriteRune('I')
		case 'đ':
			b.WriteRune('d')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// typo makes one random edit inside a word of at least five runes (the
// first and last letters stay, as in most real typing errors).
func typo(r *rand.Rand, w string) string {
	rs := []rune(w)
	if len(rs) < 5 {
		return w
	}
	i := 1 + r.IntN(len(rs)-2)
	switch r.IntN(4) {
	case 0: // substitution
		c := rune('a' + r.IntN(26))
		if c == rs[i] {
			c = 'x'
		}
		rs[i] = c
	case 1: // deletion
		rs = append(rs[:i], rs[i+1:]...)
	case 2: // insertion
		rs = append(rs[:i], append([]rune{rune('a' + r.IntN(26))}, rs[i:]...)...)
	default: // transposition
		if i+1 < len(rs)-1 && rs[i] != rs[i+1] {
			rs[i], rs[i+1] = rs[i+1], rs[i]
		} else {
			rs[i] = 'x'
		}
	}
	return string(rs)
}

// Searcher is the principal searches run as: a national role whose
// caseload is everywhere, so every hit comes with its details.
var Searcher = &access.Principal{ID: "bench", Username: "bench", Name: "Benchmark", Role: access.Analyst, Caseload: []string{access.Everywhere}}

// SearchLimit is how many hits a search asks for (the search page's).
const SearchLimit = 25

// Search runs q through client.Service.Search (index query, summaries,
// one audited read per hit shown, location names) and reports whether
// the intended client is among the hits.
func (f *Fixture) Search(ctx context.Context, q Query) (bool, error) {
	found, _, err := f.search(ctx, q)
	return found, err
}
