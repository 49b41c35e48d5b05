// SPDX-License-Identifier: AGPL-3.0-or-later

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// The crash test's shape: 1 000 registrations, 32 clients sharing them,
// three SIGKILLs of the server while they are being written.
const (
	crashRegistrations = 1000
	crashClients       = 32
	crashKills         = 3
	// crashDeadline bounds the whole write phase: a client still retrying
	// by then has given up, which is a failure.
	crashDeadline = 150 * time.Second
)

// TestCrashRegistrations runs the real binary and kills it with SIGKILL
// three times, at random moments, while 32 API clients submit 1 000
// use-of-force registrations, each client retrying with the
// registration's Idempotency-Key until it is acknowledged. Afterwards
// every registration is stored exactly once (with its whole transaction:
// history, statements requested, events, audit record), every
// acknowledged id is the one stored, a retry of every key answers with
// the same registration, and the audit chain verifies.
//
// It runs on SQLite (embedded NATS, as a pilot prison runs it) and, when
// CUSTODIA_TEST_POSTGRES is set, on a private schema of that server.
func TestCrashRegistrations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and repeatedly kills the real binary")
	}
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		crashTest(t, bin, filepath.Join(t.TempDir(), "custodia.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		crashTest(t, bin, dbtest.PostgresURL(t))
	})
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "custodia")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cli runs a command of the binary to completion.
func cli(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CUSTODIA_PASSWORD=crash test password")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("custodia %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// server is the binary running `serve`, restarted on the same database.
type server struct {
	t    *testing.T
	bin  string
	args []string
	log  *os.File
	cmd  *exec.Cmd
	base atomic.Pointer[string]
	// exited is closed when the current process has been reaped.
	exited chan struct{}
}

var runningAt = regexp.MustCompile(`Custodia is running at (http://\S+)`)

// start runs the binary and waits until /healthz answers 200.
func (s *server) start() {
	t := s.t
	t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stderr = s.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := runningAt.FindStringSubmatch(sc.Text()); m != nil {
				url <- m[1]
			}
		}
	}()
	go func() {
		cmd.Wait() //nolint:errcheck // a killed server exits non-zero
		close(s.exited)
	}()
	select {
	case u := <-url:
		s.base.Store(&u)
	case <-s.exited:
		t.Fatalf("the server exited during start-up (after %v); its log:\n%s", time.Since(began), s.logTail())
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not start within 60 s; its log:\n%s", s.logTail())
	}
	for {
		res, err := http.Get(*s.base.Load() + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Since(began) > 60*time.Second {
			t.Fatalf("/healthz did not answer 200 within 60 s (last: %v); the server's log:\n%s", err, s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill() //nolint:errcheck // it may have exited already
	<-s.exited
	s.cmd = nil
}

// stop ends the server the friendly way (SIGTERM), so the last phase
// also sees a clean shutdown.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt) //nolint:errcheck
	select {
	case <-s.exited:
		s.cmd = nil
	case <-time.After(20 * time.Second):
		s.t.Errorf("the server did not stop within 20 s of SIGINT")
		s.kill()
	}
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(s.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// api is a bearer-token client of the running server.
type api struct {
	srv   *server
	token string
	http  *http.Client
}

// do sends one request; a transport error is returned as err.
func (a *api) do(method, path string, body any, header ...string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, *a.srv.base.Load()+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := a.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return res.StatusCode, res.Header, b, nil
}

// must sends a set-up request (the server is not being killed yet) and
// decodes the answer's "id" and "version".
func (a *api) must(t *testing.T, method, path string, body any, want int) (id string, version int) {
	t.Helper()
	code, _, b, err := a.do(method, path, body)
	if err != nil || code != want {
		t.Fatalf("%s %s: %d %v\n%s", method, path, code, err, b)
	}
	var v struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
		Client  *struct {
			ID string `json:"id"`
		} `json:"client"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, b)
	}
	return v.ID, v.Version
}

// outcome is what the clients saw for one registration.
type outcome struct {
	acked    string // id of the acknowledged registration
	attempts int
	replayed bool // acknowledged by a 200 replay: an earlier attempt's answer was lost
	failed   string
}

func crashTest(t *testing.T, bin, dsn string) {
	began := time.Now()
	dir := t.TempDir()
	engine := "sqlite"
	if strings.HasPrefix(dsn, "postgres") {
		engine = "postgres"
	}
	// Two officers who used force (each asked for a statement), and the
	// API client that records the registrations.
	idRe := regexp.MustCompile(`with id (\S+)\.`)
	var staff []string
	for _, u := range []string{"anna.alm", "bo.berg"} {
		out := cli(t, bin, "users", "add", "--db", dsn, "--username", u, "--name", u, "--role", "officer", "--caseload", "*")
		m := idRe.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("users add said %q", out)
		}
		staff = append(staff, m[1])
	}
	out := strings.TrimSpace(cli(t, bin, "tokens", "issue", "--db", dsn, "--name", "crash test", "--role", "unit_manager", "--caseload", "*"))
	token := out[strings.LastIndex(out, "\n")+1:]
	if !strings.HasPrefix(token, "cst_") {
		t.Fatalf("tokens issue said %q", out)
	}

	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	srv := &server{t: t, bin: bin, log: logf, args: []string{"serve", "--db", dsn, "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data")}}
	t.Cleanup(srv.kill)
	srv.start()
	a := &api{srv: srv, token: token, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: crashClients, IdleConnTimeout: 30 * time.Second}}}

	// The estate and the client, through the API.
	inst, _ := a.must(t, "POST", "/api/v1/locations", map[string]any{"kind": "institution", "code": "CRA", "name": "Crash Prison", "category": "closed", "security_level": 2}, 201)
	unit, _ := a.must(t, "POST", "/api/v1/locations", map[string]any{"kind": "unit", "parent_id": inst, "code": "CRA-A", "name": "A", "security_level": 2}, 201)
	cell, _ := a.must(t, "POST", "/api/v1/cells", map[string]any{"unit_id": unit, "label": "101", "capacity": 1, "security_level": 2}, 201)
	client, version := a.must(t, "POST", "/api/v1/clients", map[string]any{"given_name": "Karl", "family_name": "Krasch", "birth_date": "1988-04-02", "sex": "M", "home_location": inst}, 201)
	a.must(t, "POST", "/api/v1/clients/"+client+"/legal-bases", map[string]any{"kind": "remand", "start_date": time.Now().AddDate(0, 0, -10).Format("2006-01-02"), "offences": "Rån"}, 201)
	code, _, b, err := a.do("POST", "/api/v1/clients/"+client+"/movements", map[string]any{"action": "admit", "version": version, "cell_id": cell})
	if err != nil || code != 201 {
		t.Fatalf("admit: %d %v\n%s", code, err, b)
	}

	// The registrations: each its own key and a marker in its narrative.
	run := db.RandomToken(4)
	keys, markers, bodies := make([]string, crashRegistrations), make([]string, crashRegistrations), make([]map[string]any, crashRegistrations)
	occurred := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for i := range crashRegistrations {
		keys[i] = fmt.Sprintf("crash-%s-%04d", run, i)
		markers[i] = fmt.Sprintf("[marker %s-%04d]", run, i)
		bodies[i] = map[string]any{"kind": "use_of_force", "occurred_at": occurred, "place": "Corridor A", "submit": true,
			"details": map[string]any{"narrative": "Refused to return to the cell and struck an officer. " + markers[i],
				"forces": []string{"physical_hold", "takedown"}, "restraints": []string{"handcuffs"}, "reason": "To stop the violence.",
				"duration_minutes": 12, "medical_offered": true},
			"parties": []map[string]any{{"type": "staff", "id": staff[0], "role": "used_force"}, {"type": "staff", "id": staff[1], "role": "used_force"},
				{"type": "other", "name": "Nurse Nilsson", "role": "witness"}}}
	}
	path := "/api/v1/clients/" + client + "/registrations"

	ctx, cancel := context.WithTimeout(context.Background(), crashDeadline)
	defer cancel()
	outcomes := make([]outcome, crashRegistrations)
	var acked atomic.Int64
	jobs := make(chan int)
	go func() {
		defer close(jobs)
		for i := range crashRegistrations {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range crashClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			for i := range jobs {
				o := &outcomes[i]
				backoff := 10 * time.Millisecond
				for {
					o.attempts++
					code, h, b, err := a.do("POST", path, bodies[i], "Idempotency-Key", keys[i])
					if err == nil && (code == 201 || code == 200) {
						var reg struct {
							ID string `json:"id"`
						}
						if err := json.Unmarshal(b, &reg); err != nil || reg.ID == "" {
							o.failed = fmt.Sprintf("acknowledged (%d) without an id: %s", code, b)
							break
						}
						if (code == 200) != (h.Get("Idempotent-Replayed") == "true") {
							o.failed = fmt.Sprintf("status %d with Idempotent-Replayed %q", code, h.Get("Idempotent-Replayed"))
							break
						}
						o.acked, o.replayed = reg.ID, code == 200
						acked.Add(1)
						break
					}
					if err == nil && code != 409 && code != 429 && code < 500 {
						o.failed = fmt.Sprintf("refused with %d: %s", code, b)
						break
					}
					// Transport error (the server is down or died mid-request),
					// 5xx or 409/429: retry the same key after a while.
					if ctx.Err() != nil {
						o.failed = fmt.Sprintf("gave up after %d attempts; last: %d %v %s", o.attempts, code, err, b)
						break
					}
					time.Sleep(backoff/2 + time.Duration(r.Int64N(int64(backoff))))
					backoff = min(2*backoff, 400*time.Millisecond)
				}
			}
		}()
	}

	// The killer: each kill comes at a random point of its third of the
	// run (by acknowledgements), a random few milliseconds after it, so
	// it lands in the middle of requests, commits and fsyncs.
	kr := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 99))
	var downtime time.Duration
	kills := 0
	for k := range crashKills {
		third := crashRegistrations / crashKills
		at := int64(k*third + third/10 + kr.IntN(third*8/10))
		for acked.Load() < at && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(kr.IntN(20_000)) * time.Microsecond)
		n := acked.Load()
		srv.kill()
		kills++
		down := time.Now()
		srv.start()
		downtime += time.Since(down)
		t.Logf("%s: SIGKILL %d after %d acknowledgements; restarted and healthy in %v", engine, k+1, n, time.Since(down).Round(time.Millisecond))
	}
	wg.Wait()
	writeTime := time.Since(began)

	var failed, replays, attempts int
	for i, o := range outcomes {
		attempts += o.attempts
		if o.replayed {
			replays++
		}
		if o.failed != "" || o.acked == "" {
			failed++
			if failed <= 10 {
				t.Errorf("registration %d (key %s): not acknowledged: %s", i, keys[i], o.failed)
			}
		}
	}
	if kills != crashKills {
		t.Errorf("killed the server %d times, want %d", kills, crashKills)
	}
	t.Logf("%s: %d registrations acknowledged of %d, %d attempts, %d acknowledged by a replay after a lost answer; %d kills, %v down in all",
		engine, acked.Load(), crashRegistrations, attempts, replays, kills, downtime.Round(time.Millisecond))

	// A retry of every key, now, answers with the registration the client
	// was given: 200, Idempotent-Replayed, the same id.
	var mu sync.Mutex
	replayErrs := 0
	idx := make(chan int)
	go func() {
		defer close(idx)
		for i := range crashRegistrations {
			idx <- i
		}
	}()
	var rwg sync.WaitGroup
	for range crashClients {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for i := range idx {
				code, h, b, err := a.do("POST", path, bodies[i], "Idempotency-Key", keys[i])
				var reg struct {
					ID string `json:"id"`
				}
				if err == nil {
					json.Unmarshal(b, &reg) //nolint:errcheck // checked through reg.ID
				}
				if err != nil || code != 200 || h.Get("Idempotent-Replayed") != "true" || reg.ID != outcomes[i].acked {
					mu.Lock()
					replayErrs++
					if replayErrs <= 10 {
						t.Errorf("retry of key %s: %d %v replayed=%q id %s, acknowledged %s: %s", keys[i], code, err, h.Get("Idempotent-Replayed"), reg.ID, outcomes[i].acked, b)
					}
					mu.Unlock()
				}
			}
		}()
	}
	rwg.Wait()
	srv.stop()

	// The database, read directly: each marker exactly once, every
	// acknowledged id stored with its marker, and each registration's
	// whole transaction there once.
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows, err := d.Query(`SELECT id, idem_key, details, status FROM registrations`)
	if err != nil {
		t.Fatal(err)
	}
	byMarker := map[string][]string{}
	stored := map[string]string{} // id → marker
	total := 0
	markerRe := regexp.MustCompile(`\[marker [0-9a-f]+-\d{4}\]`)
	for rows.Next() {
		var id, key, details, status string
		if err := rows.Scan(&id, &key, &details, &status); err != nil {
			t.Fatal(err)
		}
		total++
		m := markerRe.FindString(details)
		byMarker[m] = append(byMarker[m], id)
		stored[id] = m
		if status != "submitted" {
			t.Errorf("registration %s is %s, want submitted", id, status)
		}
	}
	rows.Close()
	if total != crashRegistrations {
		t.Errorf("%d registrations stored, want %d", total, crashRegistrations)
	}
	bad := 0
	for i, m := range markers {
		ids := byMarker[m]
		ok := len(ids) == 1 && (outcomes[i].acked == "" || ids[0] == outcomes[i].acked)
		if !ok {
			bad++
			if bad <= 10 {
				t.Errorf("marker %s stored as %v; acknowledged as %q", m, ids, outcomes[i].acked)
			}
		}
	}
	for id, m := range stored {
		if len(byMarker[m]) == 0 || !slices.Contains(markers, m) {
			t.Errorf("registration %s has no marker of this run", id)
		}
	}
	// Per registration: created, submitted and two statements requested
	// in its history; two statements; a submitted event and two
	// statement_requested events; one audit record of its creation.
	checks := []struct{ what, q string }{
		{"history lines", `SELECT COUNT(*) FROM registration_history`},
		{"statements", `SELECT COUNT(*) FROM registration_statements`},
		{"submitted events", `SELECT COUNT(*) FROM outbox WHERE type = 'registration.submitted'`},
		{"statement_requested events", `SELECT COUNT(*) FROM outbox WHERE type = 'registration.statement_requested'`},
		{"creation audit records", `SELECT COUNT(*) FROM audit_log WHERE action = 'registration.create'`},
		{"registrations with other than 4 history lines", `SELECT COUNT(*) FROM registrations r WHERE (SELECT COUNT(*) FROM registration_history h WHERE h.registration_id = r.id) <> 4`},
	}
	want := []int{4 * crashRegistrations, 2 * crashRegistrations, crashRegistrations, 2 * crashRegistrations, crashRegistrations, 0}
	for i, c := range checks {
		var n int
		if err := d.QueryRow(c.q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if n != want[i] {
			t.Errorf("%s: %d, want %d", c.what, n, want[i])
		}
	}
	d.Close()
	if out := cli(t, bin, "audit", "verify", "--db", dsn); !strings.Contains(out, "intact") {
		t.Errorf("audit verify after the crashes: %s", out)
	}
	if t.Failed() {
		t.Logf("the server's log (tail):\n%s", srv.logTail())
	}
	t.Logf("%s: written in %v, checked in %v in all", engine, writeTime.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}
