// SPDX-License-Identifier: AGPL-3.0-or-later

package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custodia/custodia/internal/platform/db"
)

// Log records reads and answers the auditor's questions.
type Log struct {
	db      *db.DB
	mu      sync.Mutex
	pending []pendingRead
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

type pendingRead struct {
	actor   Actor
	entries []Entry
	result  chan error
}

// maxBatch bounds how many read records one commit carries (their
// INSERTs are chunked by appendGroups).
const maxBatch = 400

// NewLog starts the group-commit writer for reads. Close stops it.
func NewLog(d *db.DB) *Log {
	l := &Log{db: d, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// Close flushes pending reads and stops the writer.
func (l *Log) Close() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

// RecordRead durably records that the actor in ctx read personal data, and
// returns only once the record is committed: a caller shows the data only
// after this returns nil. Concurrent reads share one commit, which is what
// makes audited reads cheap.
func (l *Log) RecordRead(ctx context.Context, entries ...Entry) error {
	a, ok := ActorFrom(ctx)
	if !ok {
		return fmt.Errorf("audit: no actor in context")
	}
	flag(ctx, entries)
	p := pendingRead{actor: a, entries: entries, result: make(chan error, 1)}
	l.mu.Lock()
	l.pending = append(l.pending, p)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-p.result:
		return err
	case <-ctx.Done():
		// The record may still be written; the caller shows nothing.
		return ctx.Err()
	case <-l.done:
		// The writer has stopped; its last flush answered everything it
		// took before it did.
		select {
		case err := <-p.result:
			return err
		default:
			return errors.New("audit: log closed; read not recorded")
		}
	}
}

func (l *Log) run() {
	defer close(l.done)
	for {
		select {
		case <-l.wake:
		case <-l.stop:
			l.flush()
			return
		}
		l.flush()
	}
}

func (l *Log) flush() {
	for {
		l.mu.Lock()
		batch := l.pending
		n, count := 0, 0
		for n < len(batch) && count < maxBatch {
			count += len(batch[n].entries)
			n++
		}
		l.pending = append([]pendingRead(nil), batch[n:]...)
		batch = batch[:n]
		l.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		groups := make([]pendingGroup, 0, len(batch))
		for _, p := range batch {
			groups = append(groups, pendingGroup{a: p.actor, entries: p.entries})
		}
		// One transaction, one stripe: the whole batch shares a commit.
		err := l.db.Transact(context.Background(), func(tx *db.Tx) error {
			return appendGroups(context.Background(), tx, tx.Now, groups)
		})
		for _, p := range batch {
			p.result <- err
		}
	}
}

// Filter selects audit records for the auditor view. Zero fields match
// everything.
type Filter struct {
	ClientID       string
	ActorID        string
	Action         string // prefix, e.g. "client."
	From, To       time.Time
	BreakGlassOnly bool
	// BeforeSeq pages backwards: only records older than record BeforeSeq
	// (exclusive) in the newest-first order, by (at, seq). Give the seq
	// of the last record of a page to get the next. A seq that names no
	// record stands just after the record with the highest seq below it,
	// which that page then starts with. 0 = from the newest.
	BeforeSeq int64
	Limit     int
}

const recordCols = `seq, id, at, actor_id, actor_name, role, action, COALESCE(client_id, ''), COALESCE(object_type, ''), COALESCE(object_id, ''), COALESCE(reason, ''), break_glass, COALESCE(remote, ''), COALESCE(detail, ''), prev_hash, hash`

func scanRecord(sc interface{ Scan(...any) error }) (Record, error) {
	var r Record
	var at string
	var bg int
	err := sc.Scan(&r.Seq, &r.ID, &at, &r.ActorID, &r.ActorName, &r.Role, &r.Action, &r.ClientID, &r.ObjectType, &r.ObjectID, &r.Reason, &bg, &r.Remote, &r.Detail, &r.PrevHash, &r.Hash)
	if err != nil {
		return r, err
	}
	r.BreakGlass = bg != 0
	r.At, err = db.ParseTime(at)
	return r, err
}

// Search returns records matching f, newest first: by time (at, when
// the writing transaction began), then seq.
func (l *Log) Search(ctx context.Context, f Filter) ([]Record, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.ClientID != "" {
		add("client_id = ?", f.ClientID)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		add("action LIKE ?", f.Action+"%")
	}
	if !f.From.IsZero() {
		add("at >= ?", db.FormatTime(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", db.FormatTime(f.To))
	}
	if f.BreakGlassOnly {
		add("break_glass = ?", 1)
	}
	if f.BeforeSeq > 0 {
		// Keyset paging on (at, seq), the order of the results: seq alone
		// is not time order across stripes.
		var seq int64
		var at string
		err := l.db.QueryRowContext(ctx, `SELECT seq, at FROM audit_log WHERE seq <= $1 ORDER BY seq DESC LIMIT 1`, f.BeforeSeq).Scan(&seq, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil // nothing is older
		}
		if err != nil {
			return nil, fmt.Errorf("audit: search: %w", err)
		}
		cmp := "<"
		if seq != f.BeforeSeq {
			cmp = "<="
		}
		args = append(args, at, seq)
		where = append(where, fmt.Sprintf("(at, seq) %s ($%d, $%d)", cmp, len(args)-1, len(args)))
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := "SELECT " + recordCols + " FROM audit_log"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// Newest first. Within one transaction (one at) seq is the order the
	// entries were written in.
	q += " ORDER BY at DESC, seq DESC LIMIT " + strconv.Itoa(f.Limit)
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Access is one line of a data subject's "who has looked at my file"
// report: one staff member's accesses to the client's record.
type Access struct {
	ActorID    string    `json:"actor_id"`
	ActorName  string    `json:"actor_name"`
	Role       string    `json:"role"`
	Reads      int       `json:"reads"`
	Writes     int       `json:"writes"`
	BreakGlass int       `json:"break_glass"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
}

// WhoAccessed summarises, per staff member, every access to clientID's
// record (for data-subject access requests).
func (l *Log) WhoAccessed(ctx context.Context, clientID string) ([]Access, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT actor_id, MAX(actor_name), MAX(role),
		SUM(CASE WHEN action LIKE '%.read' OR action LIKE '%.view' THEN 1 ELSE 0 END),
		SUM(CASE WHEN action LIKE '%.read' OR action LIKE '%.view' THEN 0 ELSE 1 END),
		SUM(break_glass), MIN(at), MAX(at)
		FROM audit_log WHERE client_id = $1 GROUP BY actor_id ORDER BY MAX(at) DESC, actor_id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("audit: who accessed: %w", err)
	}
	defer rows.Close()
	var out []Access
	for rows.Next() {
		var a Access
		var first, last string
		if err := rows.Scan(&a.ActorID, &a.ActorName, &a.Role, &a.Reads, &a.Writes, &a.BreakGlass, &first, &last); err != nil {
			return nil, err
		}
		a.First, a.Last = db.MustTime(first), db.MustTime(last)
		out = append(out, a)
	}
	return out, rows.Err()
}

// VerifyResult is what Verify found.
type VerifyResult struct {
	Records int64
	// BadSeq is the first record that does not verify (0 when all do);
	// Problem says why.
	BadSeq  int64
	Problem string
}

// OK reports whether the chain verified.
func (v VerifyResult) OK() bool { return v.Problem == "" }

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// heads are the origin (row 0) and the stripes' head rows (1..Stripes).
type heads struct {
	seq  [Stripes + 1]int64
	hash [Stripes + 1]string
}

// readHeads reads every head row; problem is non-empty when one is
// missing or one too many.
func readHeads(ctx context.Context, d querier) (h heads, problem string, err error) {
	rows, err := d.QueryContext(ctx, `SELECT id, seq, hash FROM audit_head ORDER BY id`)
	if err != nil {
		return h, "", fmt.Errorf("audit: read heads: %w", err)
	}
	defer rows.Close()
	var seen [Stripes + 1]bool
	for rows.Next() {
		var id, seq int64
		var hash string
		if err := rows.Scan(&id, &seq, &hash); err != nil {
			return h, "", err
		}
		if id < 0 || id > Stripes {
			problem = fmt.Sprintf("there is a head row %d that no chain has", id)
			continue
		}
		seen[id], h.seq[id], h.hash[id] = true, seq, hash
	}
	if err := rows.Err(); err != nil {
		return h, "", err
	}
	for id, ok := range seen {
		if !ok {
			if id == 0 {
				return h, "the chain's origin (head row 0) is missing", nil
			}
			return h, fmt.Sprintf("the head of stripe %d is missing", id), nil
		}
	}
	return h, problem, nil
}

// Count is the number of records in the log, read from the heads (cheap).
func Count(ctx context.Context, d *db.DB) (int64, error) {
	h, problem, err := readHeads(ctx, d)
	if err != nil {
		return 0, err
	}
	if problem != "" {
		return 0, errors.New("audit: " + problem)
	}
	n := h.seq[0]
	for c := int64(1); c <= Stripes; c++ {
		n += (h.seq[c] - firstSeq(h.seq[0], c) + Stripes) / Stripes
	}
	return n, nil
}

// chain is where a walk has got to in one chain.
type chain struct {
	seq     int64  // the last record's seq (or where the chain starts)
	hash    string // the last record's hash
	broken  bool   // a problem was found; the rest of the chain is not checked
	bad     int64
	problem string
}

func (ch *chain) fail(bad int64, problem string) {
	ch.broken, ch.bad, ch.problem = true, bad, problem
}

// Verify walks every chain from its first record: the single chain from
// before striping (seq 1 up to the origin's seq, from a zero hash) and each
// stripe (from the origin's hash). Each record's hash must match its
// contents, its prev_hash its predecessor's hash, its seq follow its
// predecessor's (by 1 before striping, by Stripes in a stripe), and each
// head must point at its chain's last record. An altered, removed or
// inserted row breaks one of these; BadSeq is the lowest seq at which a
// chain breaks. It reads one snapshot, so records appended meanwhile are
// neither seen nor missed.
func Verify(ctx context.Context, d *db.DB) (VerifyResult, error) {
	var res VerifyResult
	opts := &sql.TxOptions{ReadOnly: true} // SQLite: a read transaction is a snapshot
	if d.Dialect == db.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := d.BeginTx(ctx, opts)
	if err != nil {
		return res, fmt.Errorf("audit: verify: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	h, problem, err := readHeads(ctx, tx)
	if err != nil {
		return res, err
	}
	if problem != "" {
		return VerifyResult{Problem: problem}, nil
	}
	origin := h.seq[0]
	legacy := chain{seq: 0, hash: strings.Repeat("0", 64)}
	var stripes [Stripes + 1]chain
	for c := int64(1); c <= Stripes; c++ {
		stripes[c] = chain{seq: firstSeq(origin, c) - Stripes, hash: h.hash[0]}
	}
	// Page through by seq so a long log needs no long-lived cursor. The
	// cursor starts below any seq, so a row slipped in before record 1 is
	// read (and fails) too.
	cursor := int64(math.MinInt64)
	for {
		rows, err := tx.QueryContext(ctx, "SELECT "+recordCols+" FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000", cursor)
		if err != nil {
			return res, fmt.Errorf("audit: verify: %w", err)
		}
		n := 0
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return res, err
			}
			n++
			res.Records++
			cursor = r.Seq
			ch, step, name := &legacy, int64(1), ""
			if r.Seq > origin {
				c := stripeOf(r.Seq)
				ch, step, name = &stripes[c], Stripes, fmt.Sprintf(" in stripe %d", c)
			}
			switch {
			case ch.broken:
			case r.Seq != ch.seq+step:
				ch.fail(r.Seq, fmt.Sprintf("expected record %d next%s but found %d: records were removed or inserted", ch.seq+step, name, r.Seq))
			case r.PrevHash != ch.hash:
				ch.fail(r.Seq, "its link to the previous record does not match: a record before it was removed, inserted or altered")
			case hashOf(&r) != r.Hash:
				ch.fail(r.Seq, "its contents do not match its hash: the record was altered")
			default:
				ch.seq, ch.hash = r.Seq, r.Hash
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, err
		}
		if n == 0 {
			break
		}
	}
	// Every chain must end where its head says.
	if !legacy.broken && (legacy.seq != origin || legacy.hash != h.hash[0]) {
		legacy.fail(legacy.seq+1, fmt.Sprintf("the chain's origin says %d records before striping but that chain ends at %d: records at its end were removed or the origin was altered", origin, legacy.seq))
	}
	for c := int64(1); c <= Stripes; c++ {
		ch := &stripes[c]
		if ch.broken || (h.seq[c] == ch.seq && h.hash[c] == ch.hash) {
			continue
		}
		bad := ch.seq + Stripes
		if first := firstSeq(origin, c); h.seq[c] < ch.seq {
			// Records past the head were appended behind its back: the
			// first of them is bad.
			bad = max(first, firstSeq(h.seq[c], c))
		}
		ch.fail(bad, fmt.Sprintf("the head of stripe %d says its last record is %d but the stripe ends at %d: records at its end were removed or added, or the head was altered", c, h.seq[c], ch.seq))
	}
	for _, ch := range append(stripes[1:], legacy) {
		if ch.broken && (res.Problem == "" || ch.bad < res.BadSeq) {
			res.BadSeq, res.Problem = ch.bad, ch.problem
		}
	}
	return res, nil
}
