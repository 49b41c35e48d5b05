// SPDX-License-Identifier: AGPL-3.0-or-later

package app

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API description; a test keeps it in step with the
// registered API routes.
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(OpenAPI)
	return err
}
