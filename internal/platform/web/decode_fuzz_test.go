// SPDX-License-Identifier: AGPL-3.0-or-later

package web_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/web"
)

// FuzzDecodeJSON feeds arbitrary bodies to the strict decoder: it must
// never panic, must answer either a value or an apperr naming a field, and
// must accept a body only if encoding/json agrees it is one valid object.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"name":"Åsa","count":2,"tags":["a"]}`, `{"name":1}`, `{"nope":true}`, `{"name":"x"} {}`,
		`[`, ``, `null`, `{"count":1e400}`, `{"tags":"x"}`, "{\"name\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	type in struct {
		Name  string   `json:"name"`
		Count int      `json:"count"`
		Tags  []string `json:"tags"`
		Inner *struct {
			At string `json:"at"`
		} `json:"inner"`
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var v in
		err := web.DecodeJSON(r, &v)
		if err == nil {
			if !json.Valid(body) {
				t.Fatalf("accepted invalid JSON %q", body)
			}
			return
		}
		e, ok := apperr.As(err)
		if !ok {
			t.Fatalf("%q: error is not an apperr: %v", body, err)
		}
		if e.Code == apperr.Invalid && len(e.Fields) == 0 {
			t.Fatalf("%q: invalid without a field: %v", body, e)
		}
	})
}
