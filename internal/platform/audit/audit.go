// SPDX-License-Identifier: AGPL-3.0-or-later

// Package audit is the append-only, hash-chained log of every read and
// write of personal data (who, role, what, which client, when, why, from
// where). Writes are audited inside the business transaction, so the
// change and its audit row commit together or not at all; reads are
// audited through a group-committing writer before the data is shown.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/custodia/custodia/internal/platform/db"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	sub, _ := fs.Sub(migrations, "migrations")
	db.Register(db.Module{Name: "audit", FS: sub})
}

// Actor is who did something, taken from the request's principal.
type Actor struct {
	ID     string // staff or API client id
	Name   string // display name at the time (names change)
	Role   string
	Remote string // client address
}

type actorKey struct{}

// WithActor attaches the acting principal to ctx; every audited service
// call takes its actor from here, so callers cannot forget to pass it.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor attached to ctx.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok && a.ID != ""
}

// System is the actor for work the system does by itself (demo data,
// migrations of data, scheduled jobs).
var System = Actor{ID: "system", Name: "Custodia", Role: "system"}

// Entry is what happened.
type Entry struct {
	Action     string // e.g. "client.read", "client.admit", "auth.login"
	ClientID   string // the person concerned, if any
	ObjectType string
	ObjectID   string
	Reason     string // break-glass or other stated reason
	BreakGlass bool
	Detail     string // short, structured ("fields=name,dob")
}

// Record is a stored entry.
type Record struct {
	Seq        int64     `json:"seq"`
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	ActorID    string    `json:"actor_id"`
	ActorName  string    `json:"actor_name"`
	Role       string    `json:"role"`
	Action     string    `json:"action"`
	ClientID   string    `json:"client_id,omitempty"`
	ObjectType string    `json:"object_type,omitempty"`
	ObjectID   string    `json:"object_id,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	BreakGlass bool      `json:"break_glass"`
	Remote     string    `json:"remote,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

// hashOf chains r to its predecessor. Every field that matters is in the
// hash, with lengths so that no two different records serialise alike.
func hashOf(r *Record) string {
	h := sha256.New()
	for _, s := range []string{
		r.PrevHash, strconv.FormatInt(r.Seq, 10), r.ID, db.FormatTime(r.At), r.ActorID, r.ActorName, r.Role,
		r.Action, r.ClientID, r.ObjectType, r.ObjectID, r.Reason, strconv.FormatBool(r.BreakGlass), r.Remote, r.Detail,
	} {
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Write appends entries in tx, as the actor in ctx. It fails when ctx has
// no actor: nothing personal is written anonymously.
func Write(ctx context.Context, tx *db.Tx, entries ...Entry) error {
	a, ok := ActorFrom(ctx)
	if !ok {
		return fmt.Errorf("audit: no actor in context")
	}
	flag(ctx, entries)
	queue(ctx, tx, a, entries)
	return nil
}

// WriteAs appends entries for an explicit actor (sign-in, before a
// session exists).
func WriteAs(ctx context.Context, tx *db.Tx, a Actor, entries ...Entry) error {
	queue(ctx, tx, a, entries)
	return nil
}

type pendingKey struct{}

type pendingGroup struct {
	a       Actor
	entries []Entry
}

// queue holds the entries on the transaction and appends them to the
// chain as its last work before COMMIT. They still commit with the change
// or not at all; but the stripe's head row is locked only for the moment
// of the commit instead of for the whole transaction.
func queue(ctx context.Context, tx *db.Tx, a Actor, entries []Entry) {
	if len(entries) == 0 {
		return
	}
	p, _ := tx.Local(pendingKey{}).(*[]pendingGroup)
	if p == nil {
		p = &[]pendingGroup{}
		tx.SetLocal(pendingKey{}, p)
		tx.BeforeCommit(func() error { return appendGroups(ctx, tx, tx.Now, *p) })
	}
	if n := len(*p); n > 0 && (*p)[n-1].a == a {
		(*p)[n-1].entries = append((*p)[n-1].entries, entries...)
		return
	}
	*p = append(*p, pendingGroup{a: a, entries: append([]Entry(nil), entries...)})
}

// Stripes is the number of independent hash chains the log is striped
// over. Each has its own head row (audit_head ids 1..Stripes); an append
// locks one of them, so up to Stripes transactions can commit at once.
// Records of stripe c have seq ≡ c (mod Stripes), consecutive within the
// stripe. Row 0 of audit_head is the origin: the last seq and hash of the
// single chain written before striping (0 and zeros in a new database).
// Records with seq up to the origin's form that chain; every stripe's
// first record links to the origin's hash. Changing Stripes needs a
// migration of the head rows.
const Stripes = 16

// mod is x mod m in [0, m).
func mod(x, m int64) int64 { return ((x % m) + m) % m }

// stripeOf is the stripe (1..Stripes) a seq above the origin belongs to.
func stripeOf(seq int64) int64 { return mod(seq-1, Stripes) + 1 }

// firstSeq is the seq of stripe c's first record: the smallest seq above
// the origin's that is ≡ c (mod Stripes).
func firstSeq(origin, c int64) int64 { return origin + 1 + mod(c-origin-1, Stripes) }

// fallbackStripe spreads appends over the stripes when all are busy.
var fallbackStripe atomic.Uint64

// Appending locks the head of the stripe whose next seq is lowest (so
// that seq stays close to commit order: on SQLite, with its single
// writer, successive transactions get increasing seqs) among those no
// other transaction holds (PostgreSQL's SKIP LOCKED; SQLite has one writer
// anyway). The head is read with FOR UPDATE and written once, at the end:
// every update leaves a dead row version behind on PostgreSQL, and the
// heads are the hottest rows in the database. The ids are listed so that
// PostgreSQL looks them up by key instead of scanning the table's dead
// versions.
var pickStripe = func() string {
	ids := make([]string, Stripes)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 1)
	}
	return `SELECT id, seq, hash FROM audit_head WHERE id IN (` + strings.Join(ids, ", ") + `) ORDER BY seq LIMIT 1`
}()

const (
	lockStripe   = `SELECT id, seq, hash FROM audit_head WHERE id = $1`
	forUpdate    = ` FOR UPDATE`
	forUpdateAny = ` FOR UPDATE SKIP LOCKED`
)

// insertChunk is how many records one INSERT carries.
const insertChunk = 50

// appendGroups appends the groups' entries, in order, to one stripe.
func appendGroups(ctx context.Context, tx *db.Tx, at time.Time, groups []pendingGroup) error {
	n := 0
	for _, g := range groups {
		n += len(g.entries)
	}
	if n == 0 {
		return nil
	}
	// Locking a head row serialises the appends to its stripe
	// (PostgreSQL row lock; SQLite's single writer).
	var stripe, seq int64
	var prev string
	pick, lock := pickStripe, lockStripe
	if tx.Dialect == db.Postgres {
		pick, lock = pick+forUpdateAny, lock+forUpdate
	}
	err := tx.QueryRowContext(ctx, pick).Scan(&stripe, &seq, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		// Every stripe is locked: wait for one.
		c := int64(fallbackStripe.Add(1)%Stripes) + 1
		err = tx.QueryRowContext(ctx, lock, c).Scan(&stripe, &seq, &prev)
	}
	if err != nil {
		return fmt.Errorf("audit: lock head: %w", err)
	}
	for _, g := range groups {
		entries := g.entries
		// Insert in small chunks: a statement's parameters are bounded
		// (SQLite 32766, PostgreSQL 65535), and SQLite resolves $N
		// parameters by name, in time quadratic in their number.
		for len(entries) > 0 {
			chunk := entries[:min(len(entries), insertChunk)]
			entries = entries[len(chunk):]
			var err error
			if seq, prev, err = insertRecords(ctx, tx, g.a, at, seq, prev, chunk); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = $1, hash = $2 WHERE id = $3`, seq, prev, stripe); err != nil {
		return fmt.Errorf("audit: move head: %w", err)
	}
	return nil
}

// insertRecords writes entries as the records of a stripe after seq,
// chained to prev, and returns the last record's seq and hash.
func insertRecords(ctx context.Context, tx *db.Tx, a Actor, at time.Time, seq int64, prev string, entries []Entry) (int64, string, error) {
	const cols = 16 // the columns listed below
	var sb strings.Builder
	sb.WriteString(`INSERT INTO audit_log (seq, id, at, actor_id, actor_name, role, action, client_id, object_type, object_id, reason, break_glass, remote, detail, prev_hash, hash) VALUES `)
	args := make([]any, 0, len(entries)*cols)
	for i, e := range entries {
		seq += Stripes
		r := Record{Seq: seq, ID: db.NewID(), At: at, ActorID: a.ID, ActorName: a.Name, Role: a.Role, Action: e.Action,
			ClientID: e.ClientID, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Reason: e.Reason, BreakGlass: e.BreakGlass,
			Remote: a.Remote, Detail: e.Detail, PrevHash: prev}
		r.Hash = hashOf(&r)
		prev = r.Hash
		if i > 0 {
			sb.WriteString(", ")
		}
		n := len(args)
		sb.WriteString("(")
		for j := 1; j <= cols; j++ {
			if j > 1 {
				sb.WriteString(", ")
			}
			sb.WriteString("$" + strconv.Itoa(n+j))
		}
		sb.WriteString(")")
		args = append(args, r.Seq, r.ID, db.FormatTime(r.At), r.ActorID, r.ActorName, r.Role, r.Action, db.NullString(r.ClientID),
			db.NullString(r.ObjectType), db.NullString(r.ObjectID), db.NullString(r.Reason), db.Bool(r.BreakGlass), db.NullString(r.Remote),
			db.NullString(r.Detail), r.PrevHash, r.Hash)
	}
	if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
		return 0, "", fmt.Errorf("audit: append: %w", err)
	}
	return seq, prev, nil
}
