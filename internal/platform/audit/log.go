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

// maxBatch keeps one group commit's statement well under SQLite's bound
// on parameters.
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
		err := l.db.Transact(context.Background(), func(tx *db.Tx) error {
			for _, p := range batch {
				if err := appendRecords(context.Background(), tx, p.actor, tx.Now, p.entries); err != nil {
					return err
				}
			}
			return nil
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
	BeforeSeq      int64 // page backwards from here (exclusive); 0 = newest
	Limit          int
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

// Search returns records matching f, newest first.
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
		add("seq < ?", f.BeforeSeq)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := "SELECT " + recordCols + " FROM audit_log"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT " + strconv.Itoa(f.Limit)
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
		FROM audit_log WHERE client_id = $1 GROUP BY actor_id ORDER BY MAX(at) DESC`, clientID)
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

// Verify walks the whole chain from the first record: each record's hash
// must match its contents, its prev_hash its predecessor's hash, its seq
// follow its predecessor's, and the head must point at the last record. An
// altered, removed or inserted row breaks one of these.
func Verify(ctx context.Context, d *db.DB) (VerifyResult, error) {
	var res VerifyResult
	var headSeq int64
	var headHash string
	if err := d.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return VerifyResult{Problem: "the chain head is missing"}, nil
		}
		return res, fmt.Errorf("audit: read head: %w", err)
	}
	prevHash := strings.Repeat("0", 64)
	var prevSeq int64
	// Page through by seq so a long log needs no long-lived cursor. The
	// cursor starts below any seq, so a row slipped in before record 1 is
	// read (and fails) too.
	cursor := int64(math.MinInt64)
	for {
		rows, err := d.QueryContext(ctx, "SELECT "+recordCols+" FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000", cursor)
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
			switch {
			case r.Seq != prevSeq+1:
				res.BadSeq, res.Problem = r.Seq, fmt.Sprintf("expected record %d next but found %d: records were removed or inserted", prevSeq+1, r.Seq)
			case r.PrevHash != prevHash:
				res.BadSeq, res.Problem = r.Seq, "its link to the previous record does not match: a record before it was removed, inserted or altered"
			case hashOf(&r) != r.Hash:
				res.BadSeq, res.Problem = r.Seq, "its contents do not match its hash: the record was altered"
			}
			if res.Problem != "" {
				rows.Close()
				return res, nil
			}
			prevSeq, prevHash, cursor = r.Seq, r.Hash, r.Seq
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return res, err
		}
		if n == 0 {
			break
		}
	}
	if headSeq != prevSeq || headHash != prevHash {
		res.BadSeq = prevSeq + 1
		if headSeq < prevSeq {
			// Records past the head were appended behind its back.
			res.BadSeq = headSeq + 1
		}
		res.Problem = fmt.Sprintf("the chain head says %d records but the log ends at %d: records at the end were removed or the head was altered", headSeq, prevSeq)
	}
	return res, nil
}
