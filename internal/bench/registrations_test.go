// SPDX-License-Identifier: AGPL-3.0-or-later

package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/testenv"
)

// TestRegistrationsSmoke runs `bench registrations` briefly on each
// engine: registrations are stored, none fails, each wrote exactly what a
// submitted use of force writes, the audit chain verifies, and the report
// ends with the line scripts read.
func TestRegistrationsSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for a second")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "bench.db")
			if engine == "postgres" {
				dsn = privateSchema(t, testenv.Postgres(t))
			}
			rep, err := RunRegistrations(context.Background(), RegConfig{DB: dsn, Writers: 8, Duration: time.Second, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			rep.Print(&out)
			t.Log("\n" + out.String())
			p := rep.Phase
			if p.Ops == 0 || p.Errors != 0 || p.P50 <= 0 || p.P99 < p.P50 {
				t.Errorf("ops %d, errors %d (first: %s), p50 %v, p99 %v", p.Ops, p.Errors, p.FirstError, p.P50, p.P99)
			}
			if !rep.Check.OK() || rep.Check.Want != p.Total || rep.Check.Statements != 2*p.Total {
				t.Errorf("inconsistent: %+v after %d registrations", rep.Check, p.Total)
			}
			if rep.Check.TimelineLines <= p.Total {
				t.Errorf("%d timeline lines for %d registrations: no second client was ever named", rep.Check.TimelineLines, p.Total)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			last := lines[len(lines)-1]
			if !regexp.MustCompile(`^\d+ registrations/s p50 \d+\.\d ms p99 \d+\.\d ms$`).MatchString(last) {
				t.Errorf("last line %q", last)
			}
			if want := fmt.Sprintf("%.0f registrations/s", p.Rate()); !strings.HasPrefix(last, want) {
				t.Errorf("last line %q, want it to start %q", last, want)
			}
			d, err := db.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if v, err := audit.Verify(context.Background(), d); err != nil || !v.OK() {
				t.Errorf("audit verify: %+v, %v", v, err)
			}
		})
	}
}

// TestRegistrationShape checks what the writers submit: valid for the
// service, the author among the officers who used force, two other
// officers asked for statements.
func TestRegistrationShape(t *testing.T) {
	f := &RegFixture{Clients: []string{"c1", "c2", "c3"}}
	for i := range regOfficers {
		f.Officers = append(f.Officers, &access.Principal{ID: fmt.Sprintf("s%d", i)})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for w := range 40 {
		author, subject, n := f.Registration(w, r)
		if author != f.Officers[w%regOfficers] || subject == "" || !n.Submit {
			t.Fatalf("writer %d: author %v, subject %q, submit %v", w, author, subject, n.Submit)
		}
		staff := map[string]bool{}
		for _, p := range n.Parties {
			if p.Type == "staff" {
				staff[p.ID] = true
			}
			if p.Type == "client" && p.ID == subject {
				t.Fatalf("the subject is also a party: %+v", n.Parties)
			}
		}
		if len(staff) != 1+regStatements || !staff[author.ID] {
			t.Fatalf("staff parties %v, author %s", staff, author.ID)
		}
	}
}
