// SPDX-License-Identifier: AGPL-3.0-or-later

// Package events is Custodia's transactional outbox: every change writes a
// CloudEvents-shaped event in its own transaction, a relay publishes
// committed events to NATS JetStream on subjects "custodia.<type>", and
// consumers apply each event exactly once by recording its id in the same
// transaction as their effect. Losing the bus loses nothing: unpublished
// events wait in the outbox.
package events

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/db"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() {
	sub, _ := fs.Sub(migrations, "migrations")
	db.Register(db.Module{Name: "events", FS: sub})
}

// Event is a CloudEvents 1.0 envelope in its JSON form.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// Source is the CloudEvents source of every event Custodia emits.
const Source = "/custodia"

// Emit writes an event of type typ (e.g. "client.admitted") about subject
// (usually a client id) in tx. It is published only if tx commits.
func Emit(ctx context.Context, tx *db.Tx, typ, subject string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("events: encode %s: %w", typ, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (id, type, subject, time, data) VALUES ($1, $2, $3, $4, $5)`,
		db.NewID(), typ, subject, tx.NowText(), string(b))
	if err != nil {
		return fmt.Errorf("events: write outbox: %w", err)
	}
	tx.AfterCommit(notify)
	return nil
}

// Outgoing is an event to be written by EmitAll.
type Outgoing struct {
	Type, Subject string
	Data          any
}

// EmitAll writes events in tx like Emit, in one statement: a write that
// sets off several events (a registration asks statements of every
// officer involved) pays one round trip, or on SQLite one statement under
// the single writer, instead of one per event. Their ids, and so their
// publishing order, follow the order given.
func EmitAll(ctx context.Context, tx *db.Tx, evs ...Outgoing) error {
	if len(evs) == 0 {
		return nil
	}
	const cols = 5
	args := make([]any, 0, cols*len(evs))
	var q strings.Builder
	q.WriteString(`INSERT INTO outbox (id, type, subject, time, data) VALUES `)
	for i, e := range evs {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("events: encode %s: %w", e.Type, err)
		}
		if i > 0 {
			q.WriteByte(',')
		}
		fmt.Fprintf(&q, "($%d,$%d,$%d,$%d,$%d)", cols*i+1, cols*i+2, cols*i+3, cols*i+4, cols*i+5)
		args = append(args, db.NewID(), e.Type, e.Subject, tx.NowText(), string(b))
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("events: write outbox: %w", err)
	}
	tx.AfterCommit(notify)
	return nil
}

// wakeups lets a commit wake the relays in this process at once instead of
// at their next poll.
var wakeups = make(chan struct{}, 1)

func notify() {
	select {
	case wakeups <- struct{}{}:
	default:
	}
}

// Pending counts events not yet published (for /healthz and tests).
func Pending(ctx context.Context, d *db.DB) (int, error) {
	var n int
	err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE published_at IS NULL`).Scan(&n)
	return n, err
}
