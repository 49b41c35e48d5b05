// SPDX-License-Identifier: AGPL-3.0-or-later

// Package app wires Custodia together: the database, the event bus, the
// services of every capability and their routes. cmd/custodia and the
// end-to-end tests both start the system through it, so what is tested is
// what runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/placement"
	"github.com/custodia/custodia/internal/plan"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
	"github.com/custodia/custodia/internal/platform/web"
	"github.com/custodia/custodia/internal/registration"
)

// Config says where the system keeps its state and how it is reached.
type Config struct {
	// DB is a PostgreSQL URL or a SQLite file path.
	DB string
	// NATS is an external NATS URL; empty runs an embedded server storing
	// under DataDir/nats.
	NATS    string
	DataDir string
	Addr    string
	// Stream and Prefix override the JetStream stream and subject prefix
	// (tests sharing one NATS).
	Stream, Prefix string
	Log            *slog.Logger
	SecureCookies  bool
}

// App is a running Custodia.
type App struct {
	Cfg    Config
	DB     *db.DB
	Bus    *events.Bus
	Audit  *audit.Log
	Access *access.Service
	Estate *estate.Service
	Client *client.Service
	Reg    *registration.Service
	Plan   *plan.Service
	Place  *placement.Service
	Batch  *placement.Batch
	Web    *web.Server

	srv    *http.Server
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New opens the database (migrating it), connects the bus and registers
// every route. It does not listen yet.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	d, err := db.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	opts := events.Options{Stream: cfg.Stream, Prefix: cfg.Prefix}
	var bus *events.Bus
	if cfg.NATS == "" {
		dir := filepath.Join(cfg.DataDir, "nats")
		if cfg.DataDir == "" {
			dir, err = os.MkdirTemp("", "custodia-nats-")
			if err != nil {
				d.Close()
				return nil, err
			}
		}
		bus, err = events.StartEmbedded(dir, opts)
	} else {
		bus, err = events.Connect(cfg.NATS, opts)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	a := &App{Cfg: cfg, DB: d, Bus: bus}
	a.Audit = audit.NewLog(d)
	a.Access = &access.Service{DB: d}
	a.Estate = &estate.Service{DB: d}
	a.Client = &client.Service{DB: d, Audit: a.Audit}
	a.Reg = &registration.Service{DB: d, Audit: a.Audit, Access: a.Access}
	a.Plan = &plan.Service{DB: d, Audit: a.Audit}
	a.Place = &placement.Service{DB: d, Audit: a.Audit}
	a.Batch = &placement.Batch{DB: d, Audit: a.Audit, Rules: a.Place, Client: a.Client, Estate: a.Estate}
	a.Web = web.NewServer(d, a.Access, a.Audit, cfg.Log)
	a.Web.Secure = cfg.SecureCookies
	a.Web.Locate = a.Client.Locate
	a.Web.Lineage = a.Estate.Lineage
	a.Web.Health = bus.Healthy
	routes(a)
	return a, nil
}

// Start listens on cfg.Addr (":0" picks a port) and runs the event relay.
func (a *App) Start() error {
	ln, err := net.Listen("tcp", a.Cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.Cfg.Addr, err)
	}
	a.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	relay := &events.Relay{DB: a.DB, Bus: a.Bus, Log: a.Cfg.Log}
	a.wg.Add(3)
	go func() { defer a.wg.Done(); relay.Run(ctx) }()
	go func() {
		defer a.wg.Done()
		a.Reg.Run(ctx, time.Minute, func(err error) { a.Cfg.Log.Error("registration reminders", "err", err) })
	}()
	a.srv = &http.Server{Handler: a.Web, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		defer a.wg.Done()
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Cfg.Log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// URL is the base URL the app listens on.
func (a *App) URL() string {
	if a.ln == nil {
		return ""
	}
	return "http://" + a.ln.Addr().String()
}

// Close stops serving (letting requests finish), flushes the audit
// writer, and closes the bus and the database.
func (a *App) Close() {
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		a.srv.Shutdown(ctx) //nolint:errcheck
		cancel()
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	a.Audit.Close()
	a.Bus.Close()
	a.DB.Close()
}
