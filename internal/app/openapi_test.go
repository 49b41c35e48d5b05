// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/app/apptest"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the registered routes")

// TestOpenAPIInSync fails when an API route is added, removed or changed
// without the served description following it.
func TestOpenAPIInSync(t *testing.T) {
	a := apptest.Start(t)
	got, err := app.GenerateOpenAPI(a.Web)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, app.OpenAPI) {
		t.Fatal("openapi.json is out of date with the registered API routes; run: go test ./internal/app -run TestOpenAPIInSync -update")
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(app.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	n := 0
	for _, rt := range a.Web.Routes() {
		if !rt.API || !strings.HasPrefix(rt.Pattern, "/api/") {
			continue
		}
		n++
		p := strings.TrimSuffix(rt.Pattern, "{$}")
		if _, ok := doc.Paths[p][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is not described", rt.Method, p)
		}
		if rt.Summary == "" {
			t.Errorf("%s %s has no summary", rt.Method, p)
		}
	}
	if n == 0 {
		t.Fatal("no API routes registered")
	}
	// The served document is the committed one.
	resp, err := http.Get(a.URL() + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body, app.OpenAPI) {
		t.Fatalf("GET /api/openapi.json: %d, %d bytes", resp.StatusCode, len(body))
	}
}
