// SPDX-License-Identifier: AGPL-3.0-or-later

// Command custodia runs the Custodia offender management system and its
// operator tasks. It holds flags and wiring only; the rules live in the
// internal packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/demo"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h asked for the help, which was printed
		}
		fmt.Fprintln(os.Stderr, "custodia:", err)
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		os.Exit(1)
	}
}

// exitCode lets a command choose its exit status (audit verify).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

type command struct {
	name, usage, help string
	run               func(ctx context.Context, args []string, out, errOut io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "custodia demo [--addr 127.0.0.1:8080] [--data ./custodia-data] [--seed 1]",
			"Start Custodia on an embedded SQLite database and an embedded NATS JetStream server, filled with demo data on first start.", runDemo},
		{"serve", "custodia serve --db postgres://… [--nats nats://…] [--addr :8080]",
			"Run Custodia on PostgreSQL (or a SQLite file) and an external NATS JetStream.", runServe},
		{"migrate", "custodia migrate --db URL", "Bring the database schema up to date and exit.", runMigrate},
		{"users", "custodia users add|reset|list|disable|enable --db URL …", "Create staff accounts, reset passwords, list, disable and enable accounts.", runUsers},
		{"tokens", tokensUsage, tokensHelp, runTokens},
		{"audit", "custodia audit verify --db URL", "Walk the hash-chained audit log; exit 1 naming the first bad record.", runAudit},
		{"bench", "custodia bench register|registrations|placement [flags]", "Measure reads, moves and search (register), durable registrations/s with --writers concurrent writers (registrations), or the placement optimiser against a greedy baseline (placement).", runBench},
		{"export", exportUsage, exportHelp, runExport},
		{"help", "custodia help [command]", "Show this help, or a command's flags.", nil},
	}
}

// Run executes one subcommand.
func Run(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] && c.run != nil {
					// "help bench registrations" is the help of "bench registrations".
					if err := c.run(ctx, append(append([]string{}, args[2:]...), "-h"), out, out); err != nil && !errors.Is(err, flag.ErrHelp) {
						return err
					}
					return nil
				}
			}
			if args[1] != "help" {
				usage(out)
				return fmt.Errorf("unknown command %q", args[1])
			}
		}
		usage(out)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			return c.run(ctx, args[1:], out, errOut)
		}
	}
	usage(errOut)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Custodia — offender management for prison and probation services.")
	fmt.Fprintln(w, "\nUsage:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.usage, c.help)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nRun 'custodia help COMMAND' for a command's flags.")
}

// newFlags is the flag set of a command; its usage message shows the
// command's synopsis and description before the flags.
func newFlags(name string, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("custodia "+name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		w := fs.Output()
		for _, c := range commands() {
			if c.name == strings.Fields(name)[0] {
				fmt.Fprintf(w, "Usage: %s\n\n%s\n\n", c.usage, c.help)
			}
		}
		fmt.Fprintf(w, "Flags of custodia %s:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

func logger(json bool) *slog.Logger {
	if json {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func runDemo(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("demo", errOut)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	data := fs.String("data", "./custodia-data", "directory for the database (DIR/custodia.db) and the event store")
	seed := fs.Int64("seed", 1, "seed of the demo data generator: the same seed gives the same data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o750); err != nil {
		return err
	}
	a, err := app.New(ctx, app.Config{DB: filepath.Join(*data, "custodia.db"), DataDir: *data, Addr: *addr, Log: logger(false)})
	if err != nil {
		return err
	}
	defer a.Close()
	logins, created, err := demo.Ensure(ctx, a, demo.Options{Seed: *seed, Progress: errOut})
	if errors.Is(err, demo.ErrNotEmpty) {
		return fmt.Errorf("%s holds data that is not a complete demo load (an interrupted first start?): remove the directory or choose another --data", *data)
	}
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	if err := a.Start(); err != nil {
		return err
	}
	if created {
		fmt.Fprintln(out, "Demo data created.")
	}
	fmt.Fprintf(out, "\nCustodia is running at %s\n\nDemo logins (password for all: %s):\n", a.URL(), demo.Password)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  username\trole\tcaseload")
	for _, l := range logins {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", l.Username, l.Role, l.Caseload)
	}
	tw.Flush()
	fmt.Fprintln(out, "\nPress Ctrl+C to stop.")
	<-ctx.Done()
	return nil
}

func runServe(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("serve", errOut)
	dbURL := fs.String("db", os.Getenv("CUSTODIA_DB"), "database: postgres://… URL or a SQLite file path (env CUSTODIA_DB)")
	natsURL := fs.String("nats", os.Getenv("CUSTODIA_NATS"), "NATS URL, e.g. nats://127.0.0.1:4222; empty runs an embedded server (env CUSTODIA_NATS)")
	addr := fs.String("addr", ":8080", "address to listen on")
	data := fs.String("data", "./custodia-data", "directory for the embedded event store when --nats is empty")
	secure := fs.Bool("secure-cookies", false, "mark cookies Secure (set when served over TLS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("--db is required")
	}
	log := logger(true)
	a, err := app.New(ctx, app.Config{DB: *dbURL, NATS: *natsURL, DataDir: *data, Addr: *addr, Log: log, SecureCookies: *secure})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Start(); err != nil {
		return err
	}
	log.Info("custodia serving", "url", a.URL())
	fmt.Fprintf(out, "Custodia is running at %s\n", a.URL())
	<-ctx.Done()
	return nil
}

func openDB(ctx context.Context, url string) (*db.DB, error) {
	if url == "" {
		return nil, errors.New("--db is required")
	}
	d, err := db.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func runMigrate(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("migrate", errOut)
	dbURL := fs.String("db", os.Getenv("CUSTODIA_DB"), "database URL or SQLite path (env CUSTODIA_DB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := openDB(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintln(out, "Schema is up to date.")
	return nil
}

// operator is who the audit log records for command-line administration.
func operator() audit.Actor {
	name := os.Getenv("USER")
	if name == "" {
		name = "operator"
	}
	return audit.Actor{ID: "cli:" + name, Name: name + " (command line)", Role: "operator"}
}

func runUsers(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "reset" && args[0] != "list" && args[0] != "disable" && args[0] != "enable") {
		fs, _ := userFlags("add|reset|list|disable|enable", errOut)
		fs.Usage()
		fmt.Fprintln(errOut, "\nSubcommands:")
		fmt.Fprintln(errOut, "  add    create an account: --username, --name, --role, --caseload, --password (or env CUSTODIA_PASSWORD)")
		fmt.Fprintln(errOut, "  reset  set a new password, clear a lockout and end the account's sessions: --username, --password")
		fmt.Fprintln(errOut, "  list   list every account with its role, caseload and state")
		fmt.Fprintln(errOut, "  disable  stop an account signing in and end its sessions: --username")
		fmt.Fprintln(errOut, "  enable   let a disabled account sign in again: --username")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return errors.New("users: say add, reset, list, disable or enable")
	}
	sub := args[0]
	fs, f := userFlags(sub, errOut)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	dbURL, username, name, role, caseload, password := f.db, f.username, f.name, f.role, f.caseload, f.password
	d, err := openDB(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer d.Close()
	svc := &access.Service{DB: d}
	ctx = audit.WithActor(ctx, operator())
	pw := *password
	if pw == "" {
		pw = os.Getenv("CUSTODIA_PASSWORD")
	}
	switch sub {
	case "add":
		var cl []string
		for _, c := range strings.Split(*caseload, ",") {
			if c = strings.TrimSpace(c); c != "" {
				cl = append(cl, c)
			}
		}
		st, err := svc.CreateStaff(ctx, access.NewStaff{Username: *username, DisplayName: *name, Role: access.Role(*role), Caseload: cl, Password: pw})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Created %s (%s) with id %s.\n", st.Username, st.Role, st.ID)
	case "disable", "enable":
		st, err := svc.GetStaff(ctx, *username)
		if err != nil {
			return err
		}
		off := sub == "disable"
		if _, err := svc.UpdateStaff(ctx, st.Username, access.StaffChange{Version: st.Version, Disabled: &off}); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s is %sd.\n", st.Username, sub)
	case "reset":
		if err := svc.ResetPassword(ctx, *username, pw); err != nil {
			return err
		}
		fmt.Fprintf(out, "Password of %s reset; their sessions are ended.\n", *username)
	case "list":
		list, err := svc.ListStaff(ctx)
		if err != nil {
			return err
		}
		var ids []string
		for _, s := range list {
			ids = append(ids, s.Caseload...)
		}
		names, err := (&estate.Service{DB: d}).Names(ctx, ids)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tNAME\tROLE\tCASELOAD\tSTATE")
		for _, s := range list {
			for i, id := range s.Caseload {
				if n := names[id]; n != "" {
					s.Caseload[i] = n
				}
			}
			state := "active"
			if s.Disabled {
				state = "disabled"
			} else if d.Now().Before(s.LockedUntil) {
				state = "locked"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Username, s.DisplayName, s.Role, strings.Join(s.Caseload, ","), state)
		}
		tw.Flush()
	}
	return nil
}

type userFlagValues struct {
	db, username, name, role, caseload, password *string
}

func userFlags(sub string, errOut io.Writer) (*flag.FlagSet, userFlagValues) {
	fs := newFlags("users "+sub, errOut)
	var f userFlagValues
	f.db = fs.String("db", os.Getenv("CUSTODIA_DB"), "database URL or SQLite path (env CUSTODIA_DB)")
	f.username = fs.String("username", "", "login name (add, reset)")
	f.name = fs.String("name", "", "display name (add)")
	f.role = fs.String("role", "", "role (add): "+roleList())
	f.caseload = fs.String("caseload", "", "comma-separated institution, unit or office ids, or * for everywhere (add)")
	f.password = fs.String("password", "", "password, at least 12 characters (add, reset); default: env CUSTODIA_PASSWORD")
	return fs, f
}

func roleList() string {
	var rs []string
	for _, r := range access.Roles {
		rs = append(rs, string(r))
	}
	sort.Strings(rs)
	return strings.Join(rs, ", ")
}

func runAudit(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := newFlags("audit verify", errOut)
	dbURL := fs.String("db", os.Getenv("CUSTODIA_DB"), "database URL or SQLite path (env CUSTODIA_DB)")
	if len(args) == 0 || args[0] != "verify" {
		fs.Usage()
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return flag.ErrHelp
		}
		return errors.New("audit: say verify")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	d, err := openDB(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer d.Close()
	res, err := audit.Verify(ctx, d)
	if err != nil {
		return err
	}
	if !res.OK() {
		fmt.Fprintf(out, "AUDIT LOG BROKEN at record %d: %s (%d records read)\n", res.BadSeq, res.Problem, res.Records)
		return exitCode(1)
	}
	fmt.Fprintf(out, "Audit log intact: %d records verified.\n", res.Records)
	return nil
}
