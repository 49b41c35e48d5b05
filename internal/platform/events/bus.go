// SPDX-License-Identifier: AGPL-3.0-or-later

package events

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/custodia/custodia/internal/platform/db"
)

// Bus is a connection to JetStream with Custodia's stream ensured.
type Bus struct {
	NC     *nats.Conn
	JS     jetstream.JetStream
	Stream string // stream name
	Prefix string // subject prefix, "custodia" in production
	server *server.Server
}

// Options name the stream and subjects; tests use their own to share an
// external server safely.
type Options struct {
	Stream string // default "CUSTODIA"
	Prefix string // default "custodia"
}

func (o *Options) defaults() {
	if o.Stream == "" {
		o.Stream = "CUSTODIA"
	}
	if o.Prefix == "" {
		o.Prefix = "custodia"
	}
}

// StartEmbedded runs a NATS server with JetStream inside this process,
// storing under dir and listening on no port, and connects to it.
func StartEmbedded(dir string, o Options) (*Bus, error) {
	ns, err := server.NewServer(&server.Options{
		ServerName: "custodia-embedded",
		DontListen: true,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("events: embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("events: embedded nats did not start")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.MaxReconnects(-1))
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("events: connect embedded nats: %w", err)
	}
	b, err := newBus(nc, o)
	if err != nil {
		nc.Close()
		ns.Shutdown()
		return nil, err
	}
	b.server = ns
	return b, nil
}

// Connect joins an external NATS (cluster) at url.
func Connect(url string, o Options) (*Bus, error) {
	nc, err := nats.Connect(url, nats.Name("custodia"), nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("events: connect %s: %w", url, err)
	}
	b, err := newBus(nc, o)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

func newBus(nc *nats.Conn, o Options) (*Bus, error) {
	o.defaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("events: jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       o.Stream,
		Subjects:   []string{o.Prefix + ".>"},
		Storage:    jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
		MaxAge:     90 * 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("events: ensure stream %s: %w", o.Stream, err)
	}
	return &Bus{NC: nc, JS: js, Stream: o.Stream, Prefix: o.Prefix}, nil
}

// Healthy reports whether the bus is usable.
func (b *Bus) Healthy(ctx context.Context) error {
	if !b.NC.IsConnected() {
		return errors.New("not connected to NATS")
	}
	_, err := b.JS.AccountInfo(ctx)
	return err
}

// Close drains the connection and stops an embedded server.
func (b *Bus) Close() {
	b.NC.Close()
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
}

// Subject is the NATS subject of an event type.
func (b *Bus) Subject(typ string) string { return b.Prefix + "." + typ }

// Relay publishes committed outbox events to JetStream in order of their
// ids, waiting for the stream's acknowledgement before marking them
// published. Message ids are the event ids, so JetStream drops a duplicate
// publish (two relays, or a crash between ack and mark).
type Relay struct {
	DB  *db.DB
	Bus *Bus
	Log *slog.Logger
	// Poll is how often to look for events committed by other servers.
	Poll time.Duration
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	poll := r.Poll
	if poll == 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	backoff := 100 * time.Millisecond
	for {
		n, err := r.RelayOnce(ctx)
		if err != nil && ctx.Err() == nil {
			if r.Log != nil {
				r.Log.Warn("event relay failed; events stay in the outbox", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if n > 0 {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
			return
		case <-wakeups:
		case <-t.C:
		}
	}
}

// RelayOnce publishes up to one batch of pending events and returns how
// many it published.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	rows, err := r.DB.QueryContext(ctx, `SELECT id, type, subject, time, data FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 256`)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	var evs []Event
	for rows.Next() {
		var e Event
		var at, data string
		if err := rows.Scan(&e.ID, &e.Type, &e.Subject, &at, &data); err != nil {
			rows.Close()
			return 0, err
		}
		e.SpecVersion, e.Source, e.DataContentType = "1.0", Source, "application/json"
		e.Time = db.MustTime(at)
		e.Data = json.RawMessage(data)
		evs = append(evs, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		return 0, nil
	}
	futures := make([]jetstream.PubAckFuture, len(evs))
	for i, e := range evs {
		b, _ := json.Marshal(e)
		msg := &nats.Msg{Subject: r.Bus.Subject(e.Type), Data: b, Header: nats.Header{}}
		msg.Header.Set("Ce-Type", e.Type)
		f, err := r.Bus.JS.PublishMsgAsync(msg, jetstream.WithMsgID(e.ID))
		if err != nil {
			return 0, fmt.Errorf("publish %s: %w", e.ID, err)
		}
		futures[i] = f
	}
	acked := make([]any, 0, len(evs))
	var firstErr error
	for i, f := range futures {
		select {
		case <-f.Ok():
			acked = append(acked, evs[i].ID)
		case err := <-f.Err():
			if firstErr == nil {
				firstErr = fmt.Errorf("publish %s: %w", evs[i].ID, err)
			}
		case <-time.After(10 * time.Second):
			if firstErr == nil {
				firstErr = fmt.Errorf("publish %s: no acknowledgement", evs[i].ID)
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if len(acked) > 0 {
		if err := r.markPublished(ctx, acked); err != nil {
			return 0, err
		}
	}
	return len(acked), firstErr
}

func (r *Relay) markPublished(ctx context.Context, ids []any) error {
	return r.DB.Transact(ctx, func(tx *db.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET published_at = $1, attempts = attempts + 1 WHERE id = $2`, tx.NowText(), id); err != nil {
				return fmt.Errorf("mark published: %w", err)
			}
		}
		return nil
	})
}

// Handler applies one event inside the consumer's transaction.
type Handler func(ctx context.Context, tx *db.Tx, e Event) error

// Consume runs a durable consumer named name on the event types matching
// filter (e.g. "client.>") until ctx ends. Each event's effect and the
// record that it was applied commit together, so redelivery is harmless.
func (b *Bus) Consume(ctx context.Context, d *db.DB, name, filter string, h Handler) error {
	c, err := b.JS.CreateOrUpdateConsumer(ctx, b.Stream, jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: b.Prefix + "." + filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxDeliver:    -1,
		AckWait:       30 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("events: consumer %s: %w", name, err)
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		var e Event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			// A malformed message can never succeed; drop it loudly.
			slog.Error("events: malformed message dropped", "consumer", name, "subject", m.Subject(), "err", err)
			m.Term() //nolint:errcheck
			return
		}
		err := d.Transact(ctx, func(tx *db.Tx) error {
			res, err := tx.ExecContext(ctx, `INSERT INTO consumed_events (consumer, event_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, name, e.ID, tx.NowText())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // applied before
			}
			return h(ctx, tx, e)
		})
		if err != nil {
			m.NakWithDelay(time.Second) //nolint:errcheck
			return
		}
		m.Ack() //nolint:errcheck
	})
	if err != nil {
		return fmt.Errorf("events: consume %s: %w", name, err)
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

// Applied reports whether consumer has applied event id.
func Applied(ctx context.Context, d *db.DB, consumer, id string) (bool, error) {
	var x string
	err := d.QueryRowContext(ctx, `SELECT event_id FROM consumed_events WHERE consumer = $1 AND event_id = $2`, consumer, id).Scan(&x)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
