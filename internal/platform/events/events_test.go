// SPDX-License-Identifier: AGPL-3.0-or-later

package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
	"github.com/custodia/custodia/internal/platform/testenv"
)

// uniqueOptions names a stream and subject prefix no other test (in this
// process or another, on a shared server) uses.
func uniqueOptions() Options {
	tok := db.RandomToken(5)
	return Options{Stream: "TEST_" + strings.ToUpper(tok), Prefix: "test" + tok}
}

// deleteStreamAtEnd removes a test stream from an external server through
// a connection of its own (the bus may be closed by then).
func deleteStreamAtEnd(t *testing.T, url, stream string) {
	t.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, stream); err != nil {
			t.Logf("cleanup: delete stream %s: %v", stream, err)
		}
	})
}

// buses runs f on an embedded NATS and, when CUSTODIA_TEST_NATS is set,
// on the external one.
func buses(t *testing.T, f func(t *testing.T, b *Bus)) {
	t.Helper()
	t.Run("embedded", func(t *testing.T) {
		b, err := StartEmbedded(t.TempDir(), uniqueOptions())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		f(t, b)
	})
	t.Run("external", func(t *testing.T) {
		url := testenv.NATS(t)
		o := uniqueOptions()
		b, err := Connect(url, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		deleteStreamAtEnd(t, url, o.Stream)
		f(t, b)
	})
}

// freshDB opens a new, migrated database on engine.
func freshDB(t *testing.T, engine string) *db.DB {
	if engine == "postgres" {
		return dbtest.Postgres(t)
	}
	return dbtest.SQLite(t)
}

var engines = []string{"sqlite", "postgres"}

// matrix runs f on every database engine × bus, each with a fresh
// database.
func matrix(t *testing.T, f func(t *testing.T, d *db.DB, b *Bus)) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			buses(t, func(t *testing.T, b *Bus) { f(t, freshDB(t, engine), b) })
		})
	}
}

type payload struct {
	N    int    `json:"n"`
	Name string `json:"name"`
}

// emit writes events in one committed transaction and returns their ids.
func emit(t *testing.T, d *db.DB, types ...string) []string {
	t.Helper()
	var ids []string
	err := d.Transact(context.Background(), func(tx *db.Tx) error {
		ids = ids[:0]
		for i, typ := range types {
			if err := Emit(context.Background(), tx, typ, fmt.Sprintf("client-%d", i), payload{N: i, Name: "Åsa Öberg"}); err != nil {
				return err
			}
		}
		rows, err := tx.Query(`SELECT id FROM outbox WHERE time = $1 ORDER BY id DESC LIMIT $2`, tx.NowText(), len(types))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			rows.Scan(&id) //nolint:errcheck
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ids)
	return ids
}

func pending(t *testing.T, d *db.DB) int {
	t.Helper()
	n, err := Pending(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// streamMsgs returns the stream's messages in order.
func streamMsgs(t *testing.T, b *Bus) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := b.JS.Stream(ctx, b.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func msgIDs(msgs []*jetstream.RawStreamMsg) []string {
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	return ids
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestEmit(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		at := time.Date(2025, 2, 3, 4, 5, 6, 789_000_000, time.UTC)
		d.SetClock(func() time.Time { return at })
		var woke bool
		err := d.Transact(ctx, func(tx *db.Tx) error {
			if err := Emit(ctx, tx, "client.admitted", "c1", payload{N: 1, Name: "Åsa"}); err != nil {
				return err
			}
			tx.AfterCommit(func() { woke = true })
			// Written in tx, invisible outside it until commit.
			if d.Dialect == db.Postgres && pending(t, d) != 0 {
				t.Error("uncommitted event visible outside its transaction")
			}
			return nil
		})
		if err != nil || !woke {
			t.Fatal(err)
		}
		var typ, subject, tm, data string
		var published *string
		var attempts int
		err = d.QueryRow(`SELECT type, subject, time, data, published_at, attempts FROM outbox`).Scan(&typ, &subject, &tm, &data, &published, &attempts)
		if err != nil {
			t.Fatal(err)
		}
		if typ != "client.admitted" || subject != "c1" || tm != "2025-02-03T04:05:06.789Z" || data != `{"n":1,"name":"Åsa"}` || published != nil || attempts != 0 {
			t.Fatalf("outbox row: %q %q %q %q %v %d", typ, subject, tm, data, published, attempts)
		}

		boom := errors.New("boom")
		err = d.Transact(ctx, func(tx *db.Tx) error {
			if err := Emit(ctx, tx, "client.released", "c1", nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		err = d.Transact(ctx, func(tx *db.Tx) error {
			return Emit(ctx, tx, "client.bad", "c1", map[string]any{"ch": make(chan int)})
		})
		if err == nil {
			t.Fatal("Emit of unencodable data succeeded")
		}
		if n := pending(t, d); n != 1 {
			t.Fatalf("%d pending events, want only the committed one", n)
		}
	})
}

func TestRelayPublishes(t *testing.T) {
	t.Parallel()
	matrix(t, func(t *testing.T, d *db.DB, b *Bus) {
		ctx := context.Background()
		ids := emit(t, d, "client.admitted", "placement.moved", "client.alert.raised")
		ids = append(ids, emit(t, d, "client.released")...)
		r := &Relay{DB: d, Bus: b}
		n, err := r.RelayOnce(ctx)
		if err != nil || n != 4 {
			t.Fatalf("RelayOnce = %d, %v; want 4", n, err)
		}
		if p := pending(t, d); p != 0 {
			t.Fatalf("%d events still pending after relay", p)
		}
		var unmarked, attempts int
		if err := d.QueryRow(`SELECT COUNT(*) FROM outbox WHERE published_at IS NULL OR published_at = ''`).Scan(&unmarked); err != nil || unmarked != 0 {
			t.Fatalf("%d rows not marked published (%v)", unmarked, err)
		}
		if err := d.QueryRow(`SELECT SUM(attempts) FROM outbox`).Scan(&attempts); err != nil || attempts != 4 {
			t.Fatalf("attempts = %d (%v)", attempts, err)
		}
		msgs := streamMsgs(t, b)
		if got := msgIDs(msgs); !slices.Equal(got, ids) {
			t.Fatalf("stream holds %v, want %v in emit order", got, ids)
		}
		types := []string{"client.admitted", "placement.moved", "client.alert.raised", "client.released"}
		for i, m := range msgs {
			if want := b.Prefix + "." + types[i]; m.Subject != want || b.Subject(types[i]) != want {
				t.Errorf("message %d on %q, want %q", i, m.Subject, want)
			}
			if m.Header.Get("Ce-Type") != types[i] {
				t.Errorf("message %d Ce-Type %q", i, m.Header.Get("Ce-Type"))
			}
			var e Event
			if err := json.Unmarshal(m.Data, &e); err != nil {
				t.Fatal(err)
			}
			var p payload
			json.Unmarshal(e.Data, &p) //nolint:errcheck
			if e.SpecVersion != "1.0" || e.Source != Source || e.ID != ids[i] || e.Type != types[i] || e.DataContentType != "application/json" ||
				e.Subject != fmt.Sprintf("client-%d", i%3) || e.Time.IsZero() || p.Name != "Åsa Öberg" {
				t.Errorf("message %d: %+v / %s", i, e, e.Data)
			}
		}
		if n, err := r.RelayOnce(ctx); err != nil || n != 0 {
			t.Fatalf("second RelayOnce = %d, %v; want nothing to do", n, err)
		}
	})
}

// TestRelayDuplicatePublish: the same outbox row published twice (a crash
// between the stream's ack and the mark, or two relays) is one message.
func TestRelayDuplicatePublish(t *testing.T) {
	t.Parallel()
	matrix(t, func(t *testing.T, d *db.DB, b *Bus) {
		ctx := context.Background()
		ids := emit(t, d, "client.admitted", "client.moved")
		r := &Relay{DB: d, Bus: b}
		if n, err := r.RelayOnce(ctx); err != nil || n != 2 {
			t.Fatalf("RelayOnce = %d, %v", n, err)
		}
		dbtest.Exec(t, d, `UPDATE outbox SET published_at = NULL`) // "the mark was lost"
		if n, err := r.RelayOnce(ctx); err != nil || n != 2 {
			t.Fatalf("re-relay = %d, %v", n, err)
		}
		// Two relays (two app servers) racing over the same outbox.
		more := emit(t, d, "client.released", "client.transferred", "client.died")
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				r := &Relay{DB: d, Bus: b}
				if _, err := r.RelayOnce(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got, want := msgIDs(streamMsgs(t, b)), append(ids, more...); !slices.Equal(got, want) {
			t.Fatalf("stream holds %v, want each event once: %v", got, want)
		}
		if p := pending(t, d); p != 0 {
			t.Fatalf("%d pending", p)
		}
	})
}

// TestConsumeIdempotent: a redelivered event is applied once; a failed
// application is retried and leaves no trace of its first attempt.
func TestConsumeIdempotent(t *testing.T) {
	t.Parallel()
	matrix(t, func(t *testing.T, d *db.DB, b *Bus) {
		dbtest.Exec(t, d, `CREATE TABLE applied (event_id TEXT NOT NULL, type TEXT NOT NULL)`)
		ids := emit(t, d, "client.admitted", "client.moved", "visit.booked")
		if _, err := (&Relay{DB: d, Bus: b}).RelayOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Redeliver the first event as a second message (JetStream would
		// drop a same-id publish, so give it another message id).
		first := streamMsgs(t, b)[0]
		if _, err := b.JS.Publish(context.Background(), first.Subject, first.Data, jetstream.WithMsgID("again-"+ids[0])); err != nil {
			t.Fatal(err)
		}
		// And a message that can never be applied.
		if _, err := b.JS.Publish(context.Background(), b.Subject("client.garbage"), []byte("{not json")); err != nil {
			t.Fatal(err)
		}

		var mu sync.Mutex
		calls := map[string]int{}
		handler := func(ctx context.Context, tx *db.Tx, e Event) error {
			mu.Lock()
			calls[e.ID]++
			n := calls[e.ID]
			mu.Unlock()
			if _, err := tx.ExecContext(ctx, `INSERT INTO applied (event_id, type) VALUES ($1, $2)`, e.ID, e.Type); err != nil {
				return err
			}
			if e.ID == ids[1] && n == 1 {
				return errors.New("transient failure") // rolls back the insert above
			}
			return nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Consume(ctx, d, "test-consumer", "client.>", handler) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()

		waitFor(t, "both client events to be applied", 15*time.Second, func() bool {
			a0, _ := Applied(context.Background(), d, "test-consumer", ids[0])
			a1, _ := Applied(context.Background(), d, "test-consumer", ids[1])
			return a0 && a1
		})
		// Wait until the consumer has nothing left to deliver or ack.
		waitFor(t, "the consumer to drain", 10*time.Second, func() bool {
			c, err := b.JS.Consumer(context.Background(), b.Stream, "test-consumer")
			if err != nil {
				return false
			}
			info, err := c.Info(context.Background())
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream >= 5
		})
		mu.Lock()
		defer mu.Unlock()
		if calls[ids[0]] != 1 {
			t.Errorf("redelivered event handled %d times, want 1", calls[ids[0]])
		}
		if calls[ids[1]] != 2 {
			t.Errorf("failed event handled %d times, want 2 (fail, then retry)", calls[ids[1]])
		}
		if calls[ids[2]] != 0 {
			t.Errorf("event outside the filter was handled")
		}
		rows, err := d.Query(`SELECT event_id FROM applied ORDER BY event_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var applied []string
		for rows.Next() {
			var id string
			rows.Scan(&id) //nolint:errcheck
			applied = append(applied, id)
		}
		if want := ids[:2]; !slices.Equal(applied, want) {
			t.Fatalf("effects %v, want exactly one per event %v", applied, want)
		}
		if ok, err := Applied(context.Background(), d, "test-consumer", ids[2]); ok || err != nil {
			t.Fatalf("Applied(filtered-out event) = %v, %v", ok, err)
		}
		if ok, err := Applied(context.Background(), d, "other-consumer", ids[0]); ok || err != nil {
			t.Fatalf("Applied(other consumer) = %v, %v", ok, err)
		}
	})
}

func TestHealthy(t *testing.T) {
	t.Parallel()
	buses(t, func(t *testing.T, b *Bus) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Healthy(ctx); err != nil {
			t.Fatalf("fresh bus unhealthy: %v", err)
		}
		b.Close()
		if err := b.Healthy(ctx); err == nil {
			t.Fatal("closed bus reported healthy")
		}
	})
}

// TestEmbeddedRestartLosesNothing: events emitted while the embedded
// server is down wait in the outbox and are relayed after it restarts on
// the same store; what was published before survives the restart.
func TestEmbeddedRestartLosesNothing(t *testing.T) {
	t.Parallel()
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		dir, o := t.TempDir(), uniqueOptions()
		b1, err := StartEmbedded(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		ids := emit(t, d, "client.admitted")
		if n, err := (&Relay{DB: d, Bus: b1}).RelayOnce(ctx); err != nil || n != 1 {
			t.Fatalf("RelayOnce = %d, %v", n, err)
		}
		b1.Close()
		if b1.Healthy(ctx) == nil {
			t.Fatal("stopped bus reported healthy")
		}
		ids = append(ids, emit(t, d, "client.moved", "client.released")...)
		if n, err := (&Relay{DB: d, Bus: b1}).RelayOnce(ctx); err == nil || n != 0 {
			t.Fatalf("RelayOnce with the server down = %d, %v; want an error", n, err)
		}
		if p := pending(t, d); p != 2 {
			t.Fatalf("%d pending with the server down, want 2", p)
		}
		b2, err := StartEmbedded(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		defer b2.Close()
		if err := b2.Healthy(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := (&Relay{DB: d, Bus: b2}).RelayOnce(ctx); err != nil || n != 2 {
			t.Fatalf("RelayOnce after restart = %d, %v", n, err)
		}
		if got := msgIDs(streamMsgs(t, b2)); !slices.Equal(got, ids) {
			t.Fatalf("stream holds %v, want %v", got, ids)
		}
	})
}

// proxy is a TCP relay to a NATS server that a test can cut and restore,
// to lose the connection the way a network does.
type proxy struct {
	t        *testing.T
	upstream string
	addr     string
	mu       sync.Mutex
	ln       net.Listener
	conns    []net.Conn
}

func newProxy(t *testing.T, upstream string) *proxy {
	p := &proxy{t: t, upstream: upstream}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }() //nolint:errcheck
			go func() { io.Copy(c, u); c.Close() }() //nolint:errcheck
		}
	}()
}

// cut closes the listener and every connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore() {
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

// TestConnectionLossLosesNothing: with the relay running, the connection
// to NATS drops; events emitted meanwhile are delivered, each once, after
// the client reconnects by itself.
func TestConnectionLossLosesNothing(t *testing.T) {
	t.Parallel()
	upstreams := map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string {
			ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
			if err != nil {
				t.Fatal(err)
			}
			ns.Start()
			if !ns.ReadyForConnections(10 * time.Second) {
				t.Fatal("nats server did not start")
			}
			t.Cleanup(ns.Shutdown)
			return ns.Addr().String()
		},
		"external": func(t *testing.T) string {
			u := testenv.NATS(t)
			return strings.TrimPrefix(u, "nats://")
		},
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			for _, name := range []string{"embedded", "external"} {
				t.Run(name, func(t *testing.T) {
					upstream := upstreams[name](t)
					d := freshDB(t, engine)
					if strings.Contains(upstream, ",") || strings.Contains(upstream, "@") {
						t.Skip("proxy test needs a single host:port NATS URL")
					}
					p := newProxy(t, upstream)
					o := uniqueOptions()
					b, err := Connect("nats://"+p.addr, o)
					if err != nil {
						t.Fatal(err)
					}
					defer b.Close()
					deleteStreamAtEnd(t, "nats://"+upstream, o.Stream)

					ctx, cancel := context.WithCancel(context.Background())
					relayDone := make(chan struct{})
					go func() {
						defer close(relayDone)
						(&Relay{DB: d, Bus: b, Poll: 20 * time.Millisecond}).Run(ctx)
					}()
					defer func() { cancel(); <-relayDone }()

					ids := emit(t, d, "client.admitted")
					waitFor(t, "the first event to be relayed", 10*time.Second, func() bool { return pending(t, d) == 0 })

					p.cut()
					waitFor(t, "the client to notice", 5*time.Second, func() bool { return !b.NC.IsConnected() })
					if b.Healthy(context.Background()) == nil {
						t.Error("disconnected bus reported healthy")
					}
					for range 5 {
						ids = append(ids, emit(t, d, "client.moved", "client.alert.raised")...)
						time.Sleep(30 * time.Millisecond)
					}
					time.Sleep(200 * time.Millisecond) // let the relay try and fail
					if pending(t, d) == 0 {
						t.Fatal("events marked published while NATS was unreachable")
					}
					p.restore()
					waitFor(t, "the outbox to drain after reconnecting", 20*time.Second, func() bool { return pending(t, d) == 0 })
					if err := b.Healthy(context.Background()); err != nil {
						t.Fatal(err)
					}
					if got := msgIDs(streamMsgs(t, b)); !slices.Equal(got, ids) {
						t.Fatalf("stream holds %d messages %v,\nwant each of %d events once, in order %v", len(got), got, len(ids), ids)
					}
				})
			}
		})
	}
}

// TestCommitWakesRelay: a relay that would otherwise poll hourly
// publishes an event as soon as its transaction commits. Not parallel:
// the wake-up is per process and another test's relay could take it.
func TestCommitWakesRelay(t *testing.T) {
	d := dbtest.SQLite(t)
	b, err := StartEmbedded(t.TempDir(), uniqueOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		(&Relay{DB: d, Bus: b, Poll: time.Hour}).Run(ctx)
	}()
	defer func() { cancel(); <-relayDone }()
	time.Sleep(50 * time.Millisecond) // the relay finds nothing and waits
	emit(t, d, "client.admitted")
	waitFor(t, "the relay to be woken by the commit", 5*time.Second, func() bool { return pending(t, d) == 0 })
}
