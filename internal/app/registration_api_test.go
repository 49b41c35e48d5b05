// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/app/apptest"
	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/audit"
)

// apiCaller calls the API with a bearer token of a role and caseload.
type apiCaller struct {
	t     *testing.T
	a     *app.App
	token string
}

func tokenFor(t *testing.T, a *app.App, name string, role access.Role, caseload ...string) *apiCaller {
	t.Helper()
	tok, err := a.Access.IssueToken(audit.WithActor(context.Background(), audit.System), name, role, caseload, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &apiCaller{t: t, a: a, token: tok.Secret}
}

// call sends body (JSON) and decodes the answer into a map.
func (c *apiCaller) call(method, path, key string, body any) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.a.URL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, out, res.Header
}

func problemFields(p map[string]any) []string {
	var out []string
	for _, e := range asList(p["errors"]) {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m["field"].(string))
		}
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestRegistrationAPI is the API as a partner system or a wing tablet
// uses it: a bad registration is a problem document naming the fields and
// stores nothing; a good one is stored once however often it is sent; a
// stale version is a conflict; a radicalisation concern does not exist
// for a unit manager, nor in another client's path, but does for
// security.
func TestRegistrationAPI(t *testing.T) {
	a := apptest.Start(t)
	w := buildWorld(t, a)
	officer := tokenFor(t, a, "wing tablet", access.Officer, w.instIn)
	manager := tokenFor(t, a, "manager", access.UnitManager, w.instIn)
	security := tokenFor(t, a, "security", access.Security, access.Everywhere)
	base := "/api/v1/clients/" + w.clientIn + "/registrations"
	count := func() int { return countRows(t, a, `SELECT COUNT(*) FROM registrations`) }

	status, p, h := officer.call("POST", base, "k-bad", map[string]any{"kind": "use_of_force", "submit": true, "details": map[string]any{"forces": []string{"kicking"}}})
	if status != 422 || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("bad registration: %d %s %v", status, h.Get("Content-Type"), p)
	}
	fields := strings.Join(problemFields(p), " ")
	for _, f := range []string{"occurred_at", "place", "details.narrative", "details.forces", "details.reason", "parties"} {
		if !strings.Contains(fields, f) {
			t.Errorf("the problem does not name %s: %v", f, p)
		}
	}
	if count() != 0 {
		t.Fatal("a refused registration was stored")
	}

	good := map[string]any{"kind": "contraband", "occurred_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "place": "Cell 101", "submit": true,
		"details": map[string]any{"narrative": "Phone in the mattress.", "found_during": "cell_search", "items": []map[string]any{{"kind": "phone", "quantity": 1}}}}
	status, first, h := officer.call("POST", base, "k-1", good)
	if status != 201 || h.Get("Location") == "" {
		t.Fatalf("create: %d %v", status, first)
	}
	for range 3 {
		status, again, h := officer.call("POST", base, "k-1", good)
		if status != 200 || again["id"] != first["id"] || h.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d %v %v", status, again["id"], h)
		}
	}
	if count() != 1 {
		t.Fatalf("%d registrations after retries", count())
	}
	one := base + "/" + first["id"].(string)

	// A photo of the find, as the raw image; read back, never cached.
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 80, 60))); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", a.URL()+one+"/photos?caption=As+found", bytes.NewReader(img.Bytes()))
	req.Header.Set("Authorization", "Bearer "+officer.token)
	req.Header.Set("Content-Type", "image/png")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 || res.Header.Get("Location") == "" {
		t.Fatalf("photo upload: %d", res.StatusCode)
	}
	req, _ = http.NewRequest("GET", a.URL()+res.Header.Get("Location"), nil)
	req.Header.Set("Authorization", "Bearer "+manager.token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(back, img.Bytes()) || res.Header.Get("Content-Type") != "image/png" || !strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("photo read back: %d %s %s, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), len(back))
	}
	_, first, _ = officer.call("GET", one, "", nil)
	if status, p, _ := manager.call("POST", one+"/review", "", map[string]any{"version": 99, "decision": "accept"}); status != 409 {
		t.Errorf("stale review: %d %v", status, p)
	}
	if status, p, _ := manager.call("POST", one+"/review", "", map[string]any{"version": first["version"], "decision": "accept"}); status != 200 || p["status"] != "accepted" {
		t.Errorf("review: %d %v", status, p)
	}
	if status, _, _ := officer.call("POST", one+"/review", "", map[string]any{"version": 2, "decision": "accept"}); status != 403 {
		t.Errorf("an officer reviews: %d", status)
	}

	rad := map[string]any{"kind": "radicalisation", "occurred_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "place": "Library", "submit": true,
		"details": map[string]any{"narrative": "Hands out propaganda.", "indicators": []string{"recruiting"}, "reported_to": "Security department"}}
	status, concern, _ := officer.call("POST", base, "k-2", rad)
	if status != 201 {
		t.Fatalf("radicalisation concern: %d %v", status, concern)
	}
	concernURL := base + "/" + concern["id"].(string)
	if status, _, _ := manager.call("GET", concernURL, "", nil); status != 404 {
		t.Errorf("a unit manager reads the concern: %d", status)
	}
	if status, _, _ := security.call("GET", concernURL, "", nil); status != 200 {
		t.Errorf("security cannot read the concern: %d", status)
	}
	if status, _, _ := officer.call("GET", concernURL, "", nil); status != 200 {
		t.Errorf("its author cannot read the concern: %d", status)
	}
	_, list, _ := manager.call("GET", base, "", nil)
	if n := len(asList(list["registrations"])); n != 1 {
		t.Errorf("the manager's list holds %d registrations, want the contraband only", n)
	}
	_, list, _ = security.call("GET", "/api/v1/registrations?kind=radicalisation", "", nil)
	if n := len(asList(list["registrations"])); n != 1 {
		t.Errorf("security's work list holds %d concerns", n)
	}
	// Another client's path never shows this client's registration, and
	// outside the caseload the client does not exist for the caller.
	if status, _, _ := security.call("GET", "/api/v1/clients/"+w.clientOut+"/registrations/"+first["id"].(string), "", nil); status != 404 {
		t.Errorf("a registration read through another client's path: %d", status)
	}
	if status, _, _ := manager.call("GET", "/api/v1/clients/"+w.clientOut+"/registrations", "", nil); status != 403 {
		t.Errorf("a client outside the caseload: %d", status)
	}
	// The person moves to another institution: the registration stays with
	// the unit where it happened, whose manager still reviews it, while
	// the person's own page is now for the new institution's staff.
	c, err := a.Client.Get(audit.WithActor(context.Background(), audit.System), w.clientIn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.MoveClient(audit.WithActor(context.Background(), audit.System), w.clientIn, client.Move{Action: client.Transfer, Version: c.Version, CellID: w.cellOut, Reason: "Security transfer"}); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := manager.call("GET", one, "", nil); status != 200 {
		t.Errorf("after the transfer the manager where it happened cannot read the registration: %d", status)
	}
	if status, _, _ := manager.call("GET", base, "", nil); status != 403 {
		t.Errorf("after the transfer the old manager still lists the person's registrations: %d", status)
	}
	if status, _, _ := manager.call("GET", concernURL, "", nil); status != 404 {
		t.Errorf("after the transfer the manager reads the concern: %d", status)
	}
	newManager := tokenFor(t, a, "new manager", access.UnitManager, w.instOut)
	if status, _, _ := newManager.call("GET", one, "", nil); status != 200 {
		t.Errorf("the new institution's manager cannot read the person's registration: %d", status)
	}
	other := tokenFor(t, a, "elsewhere", access.UnitManager, w.unitOut+"-none")
	if status, _, _ := other.call("GET", one, "", nil); status != 403 {
		t.Errorf("a manager of neither place reads it: %d", status)
	}

	// Every read was audited.
	if n := countRows(t, a, `SELECT COUNT(*) FROM audit_log WHERE action = 'registration.read' AND object_id = $1`, concern["id"]); n != 2 {
		t.Errorf("%d audited reads of the concern, want 2 (security and its author)", n)
	}
}
