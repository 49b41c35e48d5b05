// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/client/natid"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func fieldOf(err error) string {
	if e, ok := apperr.As(err); ok && len(e.Fields) > 0 {
		return e.Fields[0].Field
	}
	return ""
}

func TestRegisterNationalIDs(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		flip := func(s string) string { // change the check digit
			b := []byte(s)
			last := len(b) - 1
			b[last] = '0' + (b[last]-'0'+1)%10
			return string(b)
		}
		se, no, dk := e.natID(natid.SE), e.natID(natid.NO), e.natID(natid.DK)
		for _, tc := range []struct {
			name, id, country, field string
		}{
			{"valid SE", se, "SE", ""},
			{"valid NO", no, "NO", ""},
			{"valid DK", dk, "DK", ""},
			{"SE bad check digit", flip(e.natID(natid.SE)), "SE", "national_id"},
			{"NO bad check digit", flip(e.natID(natid.NO)), "NO", "national_id"},
			{"DK garbage", "31139X-1234", "DK", "national_id"},
			{"SE number said to be Norwegian", e.natID(natid.SE), "NO", "national_id"},
			{"unsupported country", "123", "FI", "national_id_country"},
			{"no country", e.natID(natid.SE), "", "national_id_country"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				auditBefore, eventsBefore := e.rows()
				clientsBefore := e.count(`SELECT COUNT(*) FROM clients`)
				c, err := e.svc.Register(e.ctx, NewClient{GivenName: "Sven", FamilyName: "Svensson", NationalID: tc.id, NationalIDCountry: tc.country, HomeLocation: e.inst.ID})
				if tc.field == "" {
					if err != nil {
						t.Fatal(err)
					}
					if c.BirthDate == "" || c.Sex == "" || !strings.HasPrefix(c.Number, "K-") || c.Status != Registered {
						t.Fatalf("birth date and sex should come from the ID: %+v", c)
					}
					if a, ev := e.rows(); a != auditBefore+1 || ev != eventsBefore+1 {
						t.Fatalf("register wrote %d audit rows and %d events, want 1 and 1", a-auditBefore, ev-eventsBefore)
					}
					return
				}
				if apperr.CodeOf(err) != apperr.Invalid || fieldOf(err) != tc.field {
					t.Fatalf("want invalid %s, got %v", tc.field, err)
				}
				a, ev := e.rows()
				if n := e.count(`SELECT COUNT(*) FROM clients`); n != clientsBefore || a != auditBefore || ev != eventsBefore {
					t.Fatal("an invalid registration wrote something")
				}
			})
		}
	})
}

func TestRegisterDuplicateID(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		first := e.register("Anna", "Andersson")
		_, err := e.svc.Register(e.ctx, NewClient{GivenName: "Anna", FamilyName: "Anderson", NationalID: first.NationalID, NationalIDCountry: "SE", HomeLocation: e.inst.ID})
		ae, _ := apperr.As(err)
		if ae == nil || ae.Code != apperr.Conflict || !strings.Contains(ae.Message, first.Number) || ae.Detail["existing_client_id"] != first.ID {
			t.Fatalf("duplicate ID: want a conflict naming %s, got %#v", first.Number, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM clients`); n != 1 {
			t.Fatalf("%d clients", n)
		}
		// The same new number registered concurrently: exactly one record.
		id := e.natID(natid.NO)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, conflicts := 0, 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.Register(e.ctx, NewClient{GivenName: "Ola", FamilyName: fmt.Sprint("Nordmann", i), NationalID: id, NationalIDCountry: "NO", HomeLocation: e.inst.ID})
				mu.Lock()
				defer mu.Unlock()
				switch apperr.CodeOf(err) {
				case "":
					ok++
				case apperr.Conflict:
					conflicts++
				default:
					t.Errorf("concurrent register: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 || conflicts != 7 {
			t.Fatalf("concurrent registrations of one ID: %d succeeded, %d conflicts", ok, conflicts)
		}
	})
}

func TestAdmitAndTransfer(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.register("Karl", "Karlsson")
		if _, err := e.move(c.ID, Move{Action: Admit, CellID: e.cells["A1"].ID}); apperr.CodeOf(err) != apperr.Conflict || fieldOf(err) != "legal_basis_id" {
			t.Fatalf("admission without a legal basis: %v", err)
		}
		if e.occupied("A1") != 0 {
			t.Fatal("a refused admission took a bed")
		}
		e.basis(c, BasisRemand)
		got := e.mustMove(c.ID, Move{Action: Admit, CellID: e.cells["A1"].ID})
		if got.Status != InCustody || got.Location == nil || got.Location.CellID != e.cells["A1"].ID || got.Location.UnitID != e.unitA.ID ||
			got.Location.InstitutionName != "Kumla" || got.StayID == "" {
			t.Fatalf("after admission: %+v %+v", got, got.Location)
		}
		if e.occupied("A1") != 1 {
			t.Fatal("admission did not take a bed")
		}
		if _, err := e.move(c.ID, Move{Action: Transfer, CellID: e.cells["C1"].ID}); fieldOf(err) != "reason" {
			t.Fatalf("a transfer needs a reason: %v", err)
		}
		got = e.mustMove(c.ID, Move{Action: Transfer, CellID: e.cells["C1"].ID, Reason: "Säkerhetsplacering"})
		if got.Location.InstitutionID != e.inst2.ID || got.Location.CellID != e.cells["C1"].ID || got.Status != InCustody {
			t.Fatalf("after transfer: %+v", got.Location)
		}
		if e.occupied("A1") != 0 || e.occupied("C1") != 1 {
			t.Fatalf("beds after transfer: A1=%d C1=%d", e.occupied("A1"), e.occupied("C1"))
		}
		if n := e.count(`SELECT COUNT(*) FROM movements WHERE client_id = $1`, c.ID); n != 2 {
			t.Fatalf("%d movements recorded", n)
		}
	})
}

func TestCapacity(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.admitted("Erik", "Eriksson", "A1")
		c := e.register("Lars", "Larsson")
		e.basis(c, BasisRemand)
		auditBefore, eventsBefore := e.rows()
		_, err := e.move(c.ID, Move{Action: Admit, CellID: e.cells["A1"].ID})
		if apperr.CodeOf(err) != apperr.Conflict || fieldOf(err) != "cell_id" || !strings.Contains(err.Error(), "full") {
			t.Fatalf("full cell: %v", err)
		}
		if a, ev := e.rows(); a != auditBefore || ev != eventsBefore {
			t.Fatal("a refused admission left audit rows or events")
		}
		got, _ := findClient(e.ctx, e.db, c.ID)
		if got.Status != Registered || e.occupied("A1") != 1 {
			t.Fatalf("refused admission changed state: %s, A1=%d", got.Status, e.occupied("A1"))
		}

		// Eight people, one free bed (B1): exactly one is admitted.
		var ids []string
		for i := range 8 {
			p := e.register("Person", fmt.Sprint("Nummer", i))
			e.basis(p, BasisRemand)
			ids = append(ids, p.ID)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, full := 0, 0
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.svc.MoveClient(e.ctx, id, Move{Action: Admit, CellID: e.cells["B1"].ID, Version: 1})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case apperr.CodeOf(err) == apperr.Conflict:
					full++
				default:
					t.Errorf("concurrent admission: %v", err)
				}
			}()
		}
		wg.Wait()
		if won != 1 || full != 7 || e.occupied("B1") != 1 {
			t.Fatalf("last bed: %d admitted, %d refused, B1 occupied %d", won, full, e.occupied("B1"))
		}
		if n := e.count(`SELECT COUNT(*) FROM clients WHERE cell_id = $1`, e.cells["B1"].ID); n != 1 {
			t.Fatalf("%d people recorded in B1", n)
		}
	})
}

func TestMovementRules(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.admitted("Nils", "Nilsson", "A2")

		// Leave keeps the bed.
		got := e.mustMove(c.ID, Move{Action: LeaveOut})
		if got.Status != OnLeave || got.Location.CellID != e.cells["A2"].ID || e.occupied("A2") != 1 {
			t.Fatalf("on leave: %s cell=%q A2=%d", got.Status, got.Location.CellID, e.occupied("A2"))
		}
		got = e.mustMove(c.ID, Move{Action: LeaveReturn})
		if got.Status != InCustody || got.Location.CellID != e.cells["A2"].ID || e.occupied("A2") != 1 {
			t.Fatalf("back from leave: %s A2=%d", got.Status, e.occupied("A2"))
		}
		// Escape frees it.
		got = e.mustMove(c.ID, Move{Action: Escape, Reason: "Rymde under promenad"})
		if got.Status != Escaped || got.Location.CellID != "" || e.occupied("A2") != 0 {
			t.Fatalf("escaped: %s cell=%q A2=%d", got.Status, got.Location.CellID, e.occupied("A2"))
		}
		if got.Location.InstitutionID != e.inst.ID {
			t.Fatal("an escaped person must stay in the institution's caseload")
		}
		got = e.mustMove(c.ID, Move{Action: EscapeReturn, CellID: e.cells["B1"].ID})
		if got.Status != InCustody || e.occupied("B1") != 1 {
			t.Fatalf("returned: %s B1=%d", got.Status, e.occupied("B1"))
		}
		// Release frees the bed and ends the stay and the sentence.
		got = e.mustMove(c.ID, Move{Action: Release})
		if got.Status != Released || e.occupied("B1") != 0 || got.StayID != "" {
			t.Fatalf("released: %s B1=%d stay=%q", got.Status, e.occupied("B1"), got.StayID)
		}
		if n := e.count(`SELECT COUNT(*) FROM stays WHERE client_id = $1 AND ended_at IS NULL`, c.ID); n != 0 {
			t.Fatalf("%d open stays after release", n)
		}
		// A released person cannot be transferred, with a message saying why.
		_, err := e.move(c.ID, Move{Action: Transfer, CellID: e.cells["A1"].ID, Reason: "x"})
		if apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(err.Error(), "cannot transfer a client who is released") || e.occupied("A1") != 0 {
			t.Fatalf("transfer of a released client: %v", err)
		}
		if _, err := e.move(c.ID, Move{Action: "teleport"}); fieldOf(err) != "action" {
			t.Fatalf("unknown action: %v", err)
		}
		// Community sentence at an office, then its end.
		e.basis(&Client{ID: c.ID}, BasisCommunity)
		got = e.mustMove(c.ID, Move{Action: StartCommunity, OfficeID: e.office.ID})
		if got.Status != InCommunity || got.Location.OfficeID != e.office.ID || got.Location.OfficeName == "" {
			t.Fatalf("community: %+v", got.Location)
		}
		got = e.mustMove(c.ID, Move{Action: EndCommunity})
		if got.Status != Released {
			t.Fatalf("community ended: %s", got.Status)
		}
	})
}

func TestReadmissionKeepsRecord(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.admitted("Olof", "Olsson", "A1")
		al, err := e.svc.AddAlert(e.ctx, c.ID, NewAlert{Kind: "violence", Note: "Hot mot personal"})
		if err != nil {
			t.Fatal(err)
		}
		e.mustMove(c.ID, Move{Action: Release})
		e.basis(c, BasisRemand)
		got := e.mustMove(c.ID, Move{Action: Admit, CellID: e.cells["A2"].ID})
		if got.ID != c.ID || got.Number != c.Number {
			t.Fatal("re-admission must use the same record")
		}
		full, err := e.svc.Get(e.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Alerts) != 1 || full.Alerts[0].ID != al.ID || !full.Alerts[0].Active {
			t.Fatalf("the alert should survive re-admission: %+v", full.Alerts)
		}
		if len(full.Stays) != 2 || !full.Stays[1].EndedAt.After(time.Time{}) || !full.Stays[0].EndedAt.IsZero() {
			t.Fatalf("stays: %+v", full.Stays)
		}
		h, err := e.svc.Timeline(e.ctx, c.ID, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, x := range h {
			kinds = append(kinds, x.Kind)
		}
		want := "admit legal_basis release alert admit legal_basis registered"
		if strings.Join(kinds, " ") != want {
			t.Fatalf("timeline %v, want %s", kinds, want)
		}
	})
}

func TestStaleVersion(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.register("Per", "Persson")
		d1 := PersonDetails{GivenName: "Pär", FamilyName: "Persson", BirthDate: c.BirthDate, Sex: "M", NationalID: c.NationalID, NationalIDCountry: "SE", Aliases: []string{"Pelle"}}
		upd, err := e.svc.UpdateDetails(e.ctx, c.ID, c.Version, d1)
		if err != nil {
			t.Fatal(err)
		}
		if upd.Version != c.Version+1 || upd.GivenName != "Pär" {
			t.Fatalf("update: %+v", upd)
		}
		auditBefore, eventsBefore := e.rows()
		d2 := d1
		d2.GivenName = "Peter"
		_, err = e.svc.UpdateDetails(e.ctx, c.ID, c.Version, d2)
		ae, _ := apperr.As(err)
		if ae == nil || ae.Code != apperr.Conflict || ae.Detail["current_version"] != upd.Version {
			t.Fatalf("stale update: %#v", err)
		}
		now, _ := findClient(e.ctx, e.db, c.ID)
		if now.GivenName != "Pär" || now.Version != upd.Version {
			t.Fatalf("a stale update overwrote: %+v", now)
		}
		if _, err := e.svc.MoveClient(e.ctx, c.ID, Move{Action: Admit, CellID: e.cells["A1"].ID, Version: c.Version}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale movement: %v", err)
		}
		peter := "Peter"
		if _, err := e.svc.PatchDetails(e.ctx, c.ID, c.Version, DetailsPatch{GivenName: &peter}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale patch: %v", err)
		}
		if a, ev := e.rows(); a != auditBefore || ev != eventsBefore || e.occupied("A1") != 0 {
			t.Fatal("stale writes left traces")
		}
		// Changing the ID number to another person's is refused too.
		other := e.register("Olle", "Annan")
		d3 := d1
		d3.NationalID, d3.BirthDate, d3.Sex = other.NationalID, "", ""
		if _, err := e.svc.UpdateDetails(e.ctx, c.ID, upd.Version, d3); apperr.CodeOf(err) != apperr.Conflict || fieldOf(err) != "national_id" {
			t.Fatalf("taking another person's ID number: %v", err)
		}
		// A current patch changes what it names and keeps the rest.
		patched, err := e.svc.PatchDetails(e.ctx, c.ID, upd.Version, DetailsPatch{GivenName: &peter})
		if err != nil {
			t.Fatal(err)
		}
		if patched.GivenName != "Peter" || patched.FamilyName != "Persson" || patched.NationalID != c.NationalID || strings.Join(patched.Aliases, ",") != "Pelle" || patched.Version != upd.Version+1 {
			t.Fatalf("patch: %+v", patched)
		}
		bad := "1999-13-40"
		if _, err := e.svc.PatchDetails(e.ctx, c.ID, patched.Version, DetailsPatch{BirthDate: &bad}); apperr.CodeOf(err) != apperr.Invalid || fieldOf(err) != "birth_date" {
			t.Fatalf("invalid patch: %v", err)
		}
	})
}

func TestTimelinePaging(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		// Pin the clock: every line then has the same time, the hardest
		// case for paging.
		at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
		d.SetClock(func() time.Time { return at })
		c := e.register("Tid", "Linje")
		for i := range 6 {
			if _, err := e.svc.AddAlert(e.ctx, c.ID, NewAlert{Kind: "other", Note: fmt.Sprint("note ", i)}); err != nil {
				t.Fatal(err)
			}
		}
		d.SetClock(func() time.Time { return at.Add(time.Hour) })
		if _, err := e.svc.AddAlert(e.ctx, c.ID, NewAlert{Kind: "medical"}); err != nil {
			t.Fatal(err)
		}
		var all []HistoryEntry
		cursor := ""
		for range 10 {
			page, next, err := e.svc.TimelinePage(e.ctx, c.ID, cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(all) != 8 {
			t.Fatalf("paging returned %d lines, want 8", len(all))
		}
		seen := map[string]bool{}
		for i, h := range all {
			if seen[h.ID] {
				t.Fatal("a line was repeated")
			}
			seen[h.ID] = true
			if i > 0 && (h.At.After(all[i-1].At) || (h.At.Equal(all[i-1].At) && h.ID > all[i-1].ID)) {
				t.Fatal("not newest first")
			}
		}
		if all[0].Summary != "Alert set: medical" || all[7].Kind != "registered" {
			t.Fatalf("first %q last %q", all[0].Summary, all[7].Kind)
		}
		// An RFC 3339 time takes what is strictly older.
		older, _, err := e.svc.TimelinePage(e.ctx, c.ID, at.Add(time.Minute).Format(time.RFC3339), 50)
		if err != nil || len(older) != 7 {
			t.Fatalf("before a time: %d %v", len(older), err)
		}
		if _, _, err := e.svc.TimelinePage(e.ctx, c.ID, "yesterday", 5); fieldOf(err) != "before" {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestMergeAndUndo(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		survivor := e.register("Johan", "Johansson")
		dup, err := e.svc.Register(e.ctx, NewClient{GivenName: "Jon", FamilyName: "Johanson", BirthDate: survivor.BirthDate, Sex: "M", Aliases: []string{"Jonte"}, HomeLocation: e.inst.ID})
		if err != nil {
			t.Fatal(err)
		}
		b := e.basis(dup, BasisSentence)
		al, _ := e.svc.AddAlert(e.ctx, dup.ID, NewAlert{Kind: "escape"})
		dupNow, _ := findClient(e.ctx, e.db, dup.ID)
		survNow, _ := findClient(e.ctx, e.db, survivor.ID)
		if _, err := e.svc.Merge(e.ctx, survivor.ID, dup.ID, survNow.Version, dupNow.Version, "x"); fieldOf(err) != "reason" {
			t.Fatalf("merge without a reason: %v", err)
		}
		if _, err := e.svc.Merge(e.ctx, survivor.ID, dup.ID, survNow.Version-1, dupNow.Version, "Same fingerprints"); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale merge: %v", err)
		}
		auditBefore, eventsBefore := e.rows()
		rec, err := e.svc.Merge(e.ctx, survivor.ID, dup.ID, survNow.Version, dupNow.Version, "Same fingerprints")
		if err != nil {
			t.Fatal(err)
		}
		if a, ev := e.rows(); a != auditBefore+2 || ev != eventsBefore+1 {
			t.Fatalf("merge wrote %d audit rows and %d events", a-auditBefore, ev-eventsBefore)
		}
		canon, _, err := e.svc.Locate(e.ctx, dup.ID)
		if err != nil || canon != survivor.ID {
			t.Fatalf("the duplicate's id should resolve to the survivor: %s %v", canon, err)
		}
		full, _ := e.svc.Get(e.ctx, survivor.ID)
		if len(full.LegalBases) != 1 || full.LegalBases[0].ID != b.ID || len(full.Alerts) != 1 || full.Alerts[0].ID != al.ID {
			t.Fatalf("not re-pointed: %+v %+v", full.LegalBases, full.Alerts)
		}
		if !strings.Contains(strings.Join(full.Aliases, ","), "Jon Johanson") || !strings.Contains(strings.Join(full.Aliases, ","), "Jonte") {
			t.Fatalf("aliases after merge: %v", full.Aliases)
		}
		// Editing the survivor's details in between must not break the undo.
		if _, err := e.svc.UpdateDetails(e.ctx, survivor.ID, full.Version, PersonDetails{GivenName: "Johan", FamilyName: "Johansson", BirthDate: full.BirthDate,
			Sex: "M", NationalID: full.NationalID, NationalIDCountry: "SE", Aliases: append(full.Aliases, "Jocke")}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.UndoMerge(e.ctx, survivor.ID, rec.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.UndoMerge(e.ctx, survivor.ID, rec.ID); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("second undo: %v", err)
		}
		canon, _, _ = e.svc.Locate(e.ctx, dup.ID)
		s2, _ := e.svc.Get(e.ctx, survivor.ID)
		d2, _ := e.svc.Get(e.ctx, dup.ID)
		if canon != dup.ID || len(s2.LegalBases) != 0 || len(s2.Alerts) != 0 || len(d2.LegalBases) != 1 || len(d2.Alerts) != 1 {
			t.Fatalf("undo did not restore: canon=%s survivor %d/%d dup %d/%d", canon, len(s2.LegalBases), len(s2.Alerts), len(d2.LegalBases), len(d2.Alerts))
		}
		if strings.Join(s2.Aliases, ",") != "Jocke" || strings.Join(d2.Aliases, ",") != "Jonte" {
			t.Fatalf("aliases after undo: survivor %v, duplicate %v", s2.Aliases, d2.Aliases)
		}
		readsBefore := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'client.merges.read' AND client_id = $1`, survivor.ID)
		ms, _ := e.svc.Merges(e.ctx, survivor.ID)
		if len(ms) != 1 || ms[0].UndoneAt.IsZero() {
			t.Fatalf("merges: %+v", ms)
		}
		// The merges' reasons are about the person: listing them is a read.
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'client.merges.read' AND client_id = $1`, survivor.ID); n != readsBefore+1 {
			t.Fatalf("listing merges added %d audit rows, want 1", n-readsBefore)
		}
	})
}

// TestWritesAreAudited checks that every write commits exactly its audit
// row and outbox event with it, and every read of a record is audited.
func TestWritesAreAudited(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var c *Client
		var alert Alert
		var other *Client
		for _, tc := range []struct {
			action, event string
			do            func() (string, error)
		}{
			{"client.register", "client.registered", func() (string, error) {
				var err error
				c, err = e.svc.Register(e.ctx, NewClient{GivenName: "Audit", FamilyName: "Person", BirthDate: "1980-02-03", Sex: "F", HomeLocation: e.inst.ID})
				if c != nil {
					return c.ID, err
				}
				return "", err
			}},
			{"client.update", "client.updated", func() (string, error) {
				_, err := e.svc.UpdateDetails(e.ctx, c.ID, 1, PersonDetails{GivenName: "Audit", FamilyName: "Persson", BirthDate: "1980-02-03", Sex: "F"})
				return c.ID, err
			}},
			{"client.legal_basis.add", "client.legal_basis_added", func() (string, error) {
				_, err := e.svc.AddLegalBasis(e.ctx, c.ID, NewLegalBasis{Kind: BasisRemand, StartDate: "2025-01-01", Offences: "Misshandel"})
				return c.ID, err
			}},
			{"client.admit", "client.admitted", func() (string, error) {
				_, err := e.move(c.ID, Move{Action: Admit, CellID: e.cells["A2"].ID})
				return c.ID, err
			}},
			{"client.alert.add", "client.alert_set", func() (string, error) {
				var err error
				alert, err = e.svc.AddAlert(e.ctx, c.ID, NewAlert{Kind: "medical", Note: "Diabetes"})
				return c.ID, err
			}},
			{"client.alert.end", "client.alert_ended", func() (string, error) {
				return c.ID, e.svc.EndAlert(e.ctx, c.ID, alert.ID, alert.Version)
			}},
			{"client.release", "client.released", func() (string, error) {
				_, err := e.move(c.ID, Move{Action: Release})
				return c.ID, err
			}},
			{"client.merge", "client.merged", func() (string, error) {
				other = e.register("Audit", "Dubblett")
				cur, _ := findClient(e.ctx, e.db, c.ID)
				_, err := e.svc.Merge(e.ctx, c.ID, other.ID, cur.Version, other.Version, "Same person, typo in name")
				return c.ID, err
			}},
		} {
			t.Run(tc.action, func(t *testing.T) {
				eventsBefore := e.count(`SELECT COUNT(*) FROM outbox WHERE type = $1`, tc.event)
				auditBefore := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, tc.action)
				id, err := tc.do()
				if err != nil {
					t.Fatal(err)
				}
				if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND client_id = $2 AND actor_id = $3`, tc.action, id, officerActor.ID); n < 1 || e.count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, tc.action) <= auditBefore {
					t.Fatalf("no audit row %s", tc.action)
				}
				if e.count(`SELECT COUNT(*) FROM outbox WHERE type = $1 AND subject = $2`, tc.event, id) < 1 || e.count(`SELECT COUNT(*) FROM outbox WHERE type = $1`, tc.event) != eventsBefore+1 {
					t.Fatalf("no outbox event %s", tc.event)
				}
				// Same transaction: the audit row and the event carry the
				// transaction's one time.
				var auditAt, eventAt string
				if err := e.db.QueryRow(`SELECT MAX(at) FROM audit_log WHERE action = $1`, tc.action).Scan(&auditAt); err != nil {
					t.Fatal(err)
				}
				if err := e.db.QueryRow(`SELECT MAX(time) FROM outbox WHERE type = $1`, tc.event).Scan(&eventAt); err != nil {
					t.Fatal(err)
				}
				if auditAt != eventAt {
					t.Fatalf("audit at %s, event at %s: not one transaction", auditAt, eventAt)
				}
			})
		}
		// Reads are audited.
		for _, read := range []struct {
			action string
			do     func() error
		}{
			{"client.read", func() error { _, err := e.svc.Get(e.ctx, c.ID); return err }},
			{"client.timeline.read", func() error { _, err := e.svc.Timeline(e.ctx, c.ID, time.Time{}, 10); return err }},
		} {
			before := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND client_id = $2`, read.action, c.ID)
			if err := read.do(); err != nil {
				t.Fatal(err)
			}
			if after := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND client_id = $2`, read.action, c.ID); after != before+1 {
				t.Fatalf("%s: %d audit rows added, want 1", read.action, after-before)
			}
		}
		// A read without an actor is refused: nothing personal anonymously.
		if _, err := e.svc.Get(t.Context(), c.ID); err == nil {
			t.Fatal("an anonymous read succeeded")
		}
		if _, err := e.svc.Get(e.ctx, "no-such-id"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("missing client: %v", err)
		}
	})
}

// TestSearchCaseloadFirst: people outside the caseload are listed (and
// audited as read) only when nobody inside it matches.
func TestSearchCaseloadFirst(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		in := e.admitted("Greta", "Sandvik", "A1")
		out := e.admitted("Gunnar", "Sandvik", "C1")
		p := &access.Principal{ID: "s1", Role: access.Officer, Caseload: []string{e.inst.ID}}
		hitsOf := func(id string) int {
			return e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'client.search_hit' AND client_id = $1`, id)
		}
		res, err := e.svc.Search(e.ctx, p, "Sandvik", 25)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0].ID != in.ID || !res[0].InCaseload {
			t.Fatalf("results %+v, want only the person in the caseload", res)
		}
		if hitsOf(out.ID) != 0 || hitsOf(in.ID) != 1 {
			t.Fatalf("audited hits: outside %d, inside %d", hitsOf(out.ID), hitsOf(in.ID))
		}
		res, err = e.svc.Search(e.ctx, p, "Gunnar Sandvik", 25)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || res[0].ID != out.ID || res[0].InCaseload || res[0].Status != "" || res[0].Location.InstitutionID != "" {
			t.Fatalf("results %+v, want the outside person with identity only", res)
		}
		if hitsOf(out.ID) != 1 {
			t.Fatalf("the listed outside person was not audited")
		}
	})
}

// TestSentenceEndsRemandOfSameCase: sentencing in a case ends that case's
// remand order and no other.
func TestSentenceEndsRemandOfSameCase(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.register("Rune", "Holm")
		add := func(kind, ref string) LegalBasis {
			b, err := e.svc.AddLegalBasis(e.ctx, c.ID, NewLegalBasis{Kind: kind, StartDate: "2026-10-01", LengthDays: 400, Offences: "Grovt rån", CaseRef: ref})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		r1 := add(BasisRemand, "B 1234-26")
		r2 := add(BasisRemand, "B 999-26")
		ended := func(id string) bool {
			return e.count(`SELECT COUNT(*) FROM legal_bases WHERE id = $1 AND ended_at IS NOT NULL`, id) == 1
		}
		add(BasisSentence, "B 1234-26")
		if !ended(r1.ID) || ended(r2.ID) {
			t.Fatalf("remand of the sentenced case ended: %v, of the other case: %v", ended(r1.ID), ended(r2.ID))
		}
		if e.count(`SELECT COUNT(*) FROM client_history WHERE client_id = $1 AND summary LIKE 'Remand in case B 1234-26 ended%'`, c.ID) != 1 {
			t.Fatal("the end of the remand is not on the timeline")
		}
		add(BasisSentence, "")
		if ended(r2.ID) {
			t.Fatal("a sentence without a case reference ended a remand")
		}
	})
}
