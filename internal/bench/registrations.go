// SPDX-License-Identifier: AGPL-3.0-or-later

package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/registration"
)

// RegConfig says how to measure registrations.
type RegConfig struct {
	// DB is a PostgreSQL URL or a SQLite file path; empty is a fresh
	// SQLite file in a temporary directory, removed afterwards.
	DB string
	// Writers is the number of concurrent officers submitting (default
	// DefaultWorkers()).
	Writers int
	// Duration is how long the run is measured (default 10 s), after a
	// warm-up of a tenth of it (at most 2 s).
	Duration time.Duration
	// Seed decides the random choices.
	Seed int64
	// CPUProfile, when set, is the path of a CPU profile of the run.
	CPUProfile string
	// Progress receives set-up progress (nil: none).
	Progress io.Writer
}

// What a registration in the benchmark writes besides its own row and
// parties: statements asked of the two involved officers who did not
// write it; history lines created, submitted and one per statement; one
// event per statement and the submitted event; one audit record.
const (
	regStatements = 2
	regHistory    = 2 + regStatements
	regEvents     = 1 + regStatements
	regAudit      = 1
)

// Set-up of the registration benchmark: one institution with a few units,
// clients in custody there, and the officers who write and take part.
const (
	regUnits    = 4
	regCells    = 25 // per unit, two beds each
	regClients  = 200
	regOfficers = 16
)

// RegReport is what RunRegistrations measured.
type RegReport struct {
	Engine     db.Dialect
	DB         string
	GOMAXPROCS int
	Duration   time.Duration
	Phase      Phase
	Check      RegCheck
}

// RegCheck is the database after the run, against what the acknowledged
// registrations should have written.
type RegCheck struct {
	Stored, Keys, Want                 int64 // registrations of the run, distinct keys, acknowledged
	Statements, WantStatements         int64
	History, WantHistory               int64
	Events, WantEvents                 int64
	Audit, WantAudit                   int64
	TimelineLines, WantTimeline        int64
	NotSubmitted                       int64
	ClientParties, WantClientPartyRows int64
}

// OK reports whether every acknowledged registration was stored exactly
// once with everything it writes.
func (c RegCheck) OK() bool {
	return c.Stored == c.Want && c.Keys == c.Want && c.Statements == c.WantStatements && c.History == c.WantHistory &&
		c.Events == c.WantEvents && c.Audit == c.WantAudit && c.TimelineLines == c.WantTimeline && c.NotSubmitted == 0
}

// RegFixture is a small prison in which officers write registrations
// through registration.Service, built the way internal/app builds it.
type RegFixture struct {
	DB       *db.DB
	Audit    *audit.Log
	Reg      *registration.Service
	Clients  []string
	Officers []*access.Principal
	// Run names this run's idempotency keys, so a reused database's
	// earlier registrations are not counted.
	Run string
}

// OpenRegFixture opens and migrates dsn and creates the prison, its
// clients (registered, remanded and admitted through client.Service) and
// its officers (through access.Service).
func OpenRegFixture(ctx context.Context, dsn string, seed int64, progress io.Writer) (*RegFixture, error) {
	if progress == nil {
		progress = io.Discard
	}
	d, err := db.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	al := audit.NewLog(d)
	acc := &access.Service{DB: d}
	f := &RegFixture{DB: d, Audit: al, Reg: &registration.Service{DB: d, Audit: al, Access: acc}, Run: db.RandomToken(4)}
	if err := f.setUp(audit.WithActor(ctx, audit.System), acc, seed, progress); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Close flushes the audit writer and closes the database.
func (f *RegFixture) Close() {
	f.Audit.Close()
	f.DB.Close()
}

func (f *RegFixture) setUp(ctx context.Context, acc *access.Service, seed int64, progress io.Writer) error {
	fmt.Fprintf(progress, "creating a prison with %d clients in custody and %d officers\n", regClients, regOfficers)
	est := &estate.Service{DB: f.DB}
	cls := &client.Service{DB: f.DB, Audit: f.Audit}
	inst, err := est.CreateLocation(ctx, estate.NewLocation{Kind: estate.Institution, Code: "R" + f.Run, Name: "Registreringsanstalten " + f.Run,
		Category: estate.Categories[0], SecurityLevel: 2, Region: "SE"})
	if err != nil {
		return fmt.Errorf("bench: institution: %w", err)
	}
	var cells []string
	for u := range regUnits {
		un, err := est.CreateLocation(ctx, estate.NewLocation{Kind: estate.Unit, ParentID: inst.ID, Code: fmt.Sprintf("R%s-%d", f.Run, u+1),
			Name: fmt.Sprintf("Avdelning %c", 'A'+u), SecurityLevel: 2})
		if err != nil {
			return fmt.Errorf("bench: unit: %w", err)
		}
		for c := range regCells {
			cell, err := est.CreateCell(ctx, estate.NewCell{UnitID: un.ID, Label: fmt.Sprintf("%d%02d", u+1, c+1), Capacity: 2, SecurityLevel: 2})
			if err != nil {
				return fmt.Errorf("bench: cell: %w", err)
			}
			cells = append(cells, cell.ID)
		}
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x4e6))
	given := []string{"Anders", "Bo", "Carl", "Dan", "Erik", "Fredrik", "Gustav", "Hans", "Ivar", "Jonas", "Kjell", "Lars", "Mats", "Nils", "Olle", "Per"}
	family := []string{"Andersson", "Berg", "Dahl", "Ek", "Holm", "Lund", "Nilsson", "Nyberg", "Sjöberg", "Ström", "Wik", "Åberg"}
	type person struct{ given, family, birth string }
	people := make([]person, regClients)
	for i := range people {
		people[i] = person{given[r.IntN(len(given))], family[r.IntN(len(family))], fmt.Sprintf("19%02d-%02d-%02d", 60+r.IntN(40), 1+r.IntN(12), 1+r.IntN(28))}
	}
	// Admissions run concurrently: the set-up is not measured, and one
	// fsync'd transaction after another would take long on PostgreSQL.
	f.Clients = make([]string, regClients)
	errs := make(chan error, regClients)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, p := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := cls.Register(ctx, client.NewClient{GivenName: p.given, FamilyName: p.family, BirthDate: p.birth, Sex: "M", HomeLocation: inst.ID})
			if err == nil {
				_, err = cls.AddLegalBasis(ctx, c.ID, client.NewLegalBasis{Kind: client.BasisRemand, StartDate: time.Now().AddDate(0, 0, -30).Format("2006-01-02"), Offences: "Grov misshandel"})
			}
			if err == nil {
				_, err = cls.MoveClient(ctx, c.ID, client.Move{Action: client.Admit, Version: c.Version, CellID: cells[i/2]})
			}
			if err != nil {
				errs <- fmt.Errorf("bench: client %d: %w", i, err)
				return
			}
			f.Clients[i] = c.ID
		}()
	}
	f.Officers = make([]*access.Principal, regOfficers)
	for i := range regOfficers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("%s %s", given[i%len(given)], family[(i*5)%len(family)])
			user := fmt.Sprintf("reg.%s.%02d", f.Run, i+1)
			st, err := acc.CreateStaff(ctx, access.NewStaff{Username: user, DisplayName: name, Role: access.Officer, Caseload: []string{inst.ID}, Password: "benchmark password " + f.Run})
			if err != nil {
				errs <- fmt.Errorf("bench: officer: %w", err)
				return
			}
			f.Officers[i] = &access.Principal{ID: st.ID, Username: user, Name: name, Role: access.Officer, Caseload: []string{inst.ID}}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// Registration builds the w-th writer's n-th registration: a use of force
// about a random client, submitted at once, written by the writer's
// officer with two other officers who used force or escorted (each asked
// for a statement), a nurse as witness and, one time in three, a second
// client involved (a second timeline line). It returns the author and
// the client the registration is about.
func (f *RegFixture) Registration(w int, r *rand.Rand) (*access.Principal, string, registration.NewRegistration) {
	nOff := len(f.Officers)
	author := f.Officers[w%nOff]
	o1 := f.Officers[(w+1+r.IntN(nOff-1))%nOff]
	o2 := o1
	for o2 == o1 || o2 == author {
		o2 = f.Officers[r.IntN(nOff)]
	}
	subject := f.Clients[r.IntN(len(f.Clients))]
	parties := []registration.Party{
		{Type: "staff", ID: author.ID, Role: "used_force"},
		{Type: "staff", ID: o1.ID, Role: "used_force"},
		{Type: "staff", ID: o2.ID, Role: "escort"},
		{Type: "other", Name: "Sjuksköterska Nilsson", Role: "witness"},
	}
	if r.IntN(3) == 0 {
		other := subject
		for other == subject {
			other = f.Clients[r.IntN(len(f.Clients))]
		}
		parties = append(parties, registration.Party{Type: "client", ID: other, Role: "involved"})
	}
	n := registration.NewRegistration{Kind: registration.UseOfForce, Submit: true,
		OccurredAt: time.Now().Add(-time.Duration(10+r.IntN(600)) * time.Minute).UTC().Format(time.RFC3339),
		Place:      []string{"Korridor A", "Cell 104", "Matsalen", "Rastgården", "Besöksavdelningen"}[r.IntN(5)],
		Details: registration.Details{
			Narrative: "The client refused to return to the cell after the evening meal, shouted threats at the staff and struck an officer in the face. " +
				"He was held and taken down to the floor, handcuffed, and escorted to the cell. He calmed down after ten minutes.",
			Forces:          []string{"physical_hold", "takedown", "escort_hold"}[:1+r.IntN(3)],
			Restraints:      []string{"handcuffs"},
			Reason:          "To stop the violence against the officer and prevent further injury.",
			DurationMinutes: 2 + r.IntN(30),
			BodyCameraRef:   fmt.Sprintf("BWC-%05d", r.IntN(100000)),
			Injuries:        "Redness on the left wrist.",
			MedicalOffered:  true,
			ClientAccount:   "The client says he was provoked.",
		},
		Parties: parties}
	return author, subject, n
}

// RunRegistrations sets up the prison and measures registrations: each of
// cfg.Writers officers submits use-of-force registrations one after the
// other through registration.Service.Create with a fresh Idempotency-Key,
// as the API does. A registration is counted when Create returned, which
// is after its transaction committed (SQLite synchronous=FULL, or
// PostgreSQL's fsync'd commit).
func RunRegistrations(ctx context.Context, cfg RegConfig) (*RegReport, error) {
	if cfg.Writers <= 0 {
		cfg.Writers = DefaultWorkers()
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	dsn, shown := cfg.DB, cfg.DB
	if dsn == "" {
		dir, err := os.MkdirTemp("", "custodia-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		dsn = filepath.Join(dir, "bench.db")
		shown = dsn + " (temporary, removed afterwards)"
	} else if u, err := url.Parse(dsn); err == nil && u.User != nil {
		shown = u.Redacted()
	}
	f, err := OpenRegFixture(ctx, dsn, cfg.Seed, cfg.Progress)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep := &RegReport{Engine: f.DB.Dialect, DB: shown, GOMAXPROCS: runtime.GOMAXPROCS(0), Duration: cfg.Duration}
	auditBefore, err := audit.Count(ctx, f.DB)
	if err != nil {
		return nil, err
	}
	if cfg.CPUProfile != "" {
		pf, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(cfg.Progress, "measuring registrations (%d writers, %v)\n", cfg.Writers, cfg.Duration)
	warm := min(cfg.Duration/10, 2*time.Second)
	rep.Phase, _ = runPhase(ctx, "registration", cfg.Writers, warm, cfg.Duration, cfg.Seed, nil, func(int, *workerResult) op {
		seq := 0
		return func(ctx context.Context, w int, r *rand.Rand) (time.Duration, error) {
			author, subject, n := f.Registration(w, r)
			seq++
			key := fmt.Sprintf("bench-%s-%d-%d", f.Run, w, seq)
			actx := audit.WithActor(ctx, audit.Actor{ID: author.ID, Name: author.Name, Role: string(author.Role)})
			t0 := time.Now()
			reg, err := f.Reg.Create(actx, author, subject, key, n)
			took := time.Since(t0)
			if err == nil && (reg.Replayed || reg.Status != registration.Submitted) {
				err = fmt.Errorf("registration %s: replayed %v, status %s", key, reg.Replayed, reg.Status)
			}
			return took, err
		}
	})
	if cfg.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	auditAfter, err := audit.Count(ctx, f.DB)
	if err != nil {
		return nil, err
	}
	if err := f.check(ctx, rep, auditAfter-auditBefore); err != nil {
		return rep, err
	}
	return rep, ctx.Err()
}

// check reads back what the run wrote.
func (f *RegFixture) check(ctx context.Context, rep *RegReport, auditAdded int64) error {
	c := &rep.Check
	total := rep.Phase.Total
	like := "bench-" + f.Run + "-%"
	count := func(q string, dest *int64) error {
		if err := f.DB.QueryRowContext(ctx, q, like).Scan(dest); err != nil {
			return fmt.Errorf("bench: check: %w", err)
		}
		return nil
	}
	mine := `SELECT id FROM registrations WHERE idem_key LIKE $1`
	for _, q := range []struct {
		sql  string
		dest *int64
	}{
		{`SELECT COUNT(*) FROM registrations WHERE idem_key LIKE $1`, &c.Stored},
		{`SELECT COUNT(DISTINCT idem_key) FROM registrations WHERE idem_key LIKE $1`, &c.Keys},
		{`SELECT COUNT(*) FROM registrations WHERE idem_key LIKE $1 AND status <> 'submitted'`, &c.NotSubmitted},
		{`SELECT COUNT(*) FROM registration_statements WHERE registration_id IN (` + mine + `)`, &c.Statements},
		{`SELECT COUNT(*) FROM registration_history WHERE registration_id IN (` + mine + `)`, &c.History},
		{`SELECT COUNT(*) FROM outbox WHERE subject IN (` + mine + `)`, &c.Events},
		{`SELECT COUNT(*) FROM client_history WHERE ref_id IN (` + mine + `)`, &c.TimelineLines},
		{`SELECT COUNT(*) FROM registration_parties WHERE party_type = 'client' AND registration_id IN (` + mine + `)`, &c.ClientParties},
	} {
		if err := count(q.sql, q.dest); err != nil {
			return err
		}
	}
	c.Want, c.WantStatements, c.WantHistory, c.WantEvents = total, regStatements*total, regHistory*total, regEvents*total
	c.Audit, c.WantAudit = auditAdded, regAudit*total
	c.WantTimeline = total + c.ClientParties
	return nil
}

// Print writes the report; its last line is
// "<N> registrations/s p50 <ms> ms p99 <ms> ms".
func (r *RegReport) Print(w io.Writer) {
	p := r.Phase
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	fmt.Fprintf(w, "custodia bench registrations — %s, %s\n", r.Engine, r.DB)
	fmt.Fprintf(w, "%d writers, GOMAXPROCS %d, %v measured after a warm-up of %v\n", p.Workers, r.GOMAXPROCS, r.Duration, min(r.Duration/10, 2*time.Second))
	fmt.Fprintf(w, "Each: registration.Service.Create of a submitted use of force (4 parties, a second client in a third of them) with an Idempotency-Key;\n")
	fmt.Fprintf(w, "one transaction: registration, parties, %d statements requested, %d history lines, timeline line(s), %d events, %d audit record; counted once committed (fsync).\n",
		regStatements, regHistory, regEvents, regAudit)
	fmt.Fprintf(w, "registrations %d, errors %d, max %.1f ms, target ≥ %.0f/s with p99 < %v: %s\n", p.Ops, p.Errors, ms(p.Max), TargetRegistrations, TargetRegistrations99,
		map[bool]string{true: "met", false: "MISSED"}[p.Rate() >= TargetRegistrations && p.P99 < TargetRegistrations99])
	if p.CPU.Known {
		fmt.Fprintf(w, "CPU: %.0f %% of the machine busy, %.0f %% by this process, %.0f %% by others (the database server, or anything else running).\n",
			100*p.CPU.Host, 100*p.CPU.Self, 100*max(0, p.CPU.Host-p.CPU.Self))
	}
	c := r.Check
	fmt.Fprintf(w, "Consistency: stored %d (distinct keys %d, want %d), statements %d (want %d), history %d (want %d), events %d (want %d), audit %d (want %d), timeline %d (want %d): %s\n",
		c.Stored, c.Keys, c.Want, c.Statements, c.WantStatements, c.History, c.WantHistory, c.Events, c.WantEvents, c.Audit, c.WantAudit, c.TimelineLines, c.WantTimeline,
		map[bool]string{true: "OK", false: "INCONSISTENT"}[c.OK()])
	if p.FirstError != "" {
		fmt.Fprintf(w, "First error: %s\n", strings.TrimSpace(p.FirstError))
	}
	fmt.Fprintf(w, "%.0f registrations/s p50 %.1f ms p99 %.1f ms\n", p.Rate(), ms(p.P50), ms(p.P99))
}

// The registration target for a 2-core server.
const (
	TargetRegistrations   = 2000.0
	TargetRegistrations99 = 20 * time.Millisecond
)
