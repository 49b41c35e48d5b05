// SPDX-License-Identifier: AGPL-3.0-or-later

// Package assets holds the static files of the staff web UI: the stylesheet,
// Custodia's own script and the vendored htmx. They are embedded in the
// binary so that a deployment is one file and no page loads anything from a
// CDN.
package assets

import "embed"

// FS holds custodia.css, custodia.js, custodia-outbox.js, sw.js (the service
// worker, served at /sw.js with its version filled in) and htmx.min.js at
// its root.
//
//go:embed custodia.css custodia.js custodia-outbox.js sw.js htmx.min.js
var FS embed.FS
