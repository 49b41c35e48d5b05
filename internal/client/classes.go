// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/custodia/custodia/internal/platform/db"
)

// The audited reads of the register. Each names the columns it shows in
// readColumns; its audit entries carry the sensitivity classes of those
// columns ("classes=personal,special-category"), so that an auditor can
// find every read of special-category data.
const (
	readRecord   = "record"   // Get: the client page and the API record
	readTimeline = "timeline" // TimelinePage
	readMovement = "movement" // Movement
	readBasis    = "basis"    // LegalBasis
	readPhoto    = "photo"    // Photo: the image itself
	readHit      = "hit"      // Search: a hit in the caseload
	readHitOut   = "hit-out"  // Search: a hit outside it (identity only)
	readRoll     = "roll"     // Occupants: a line of the nominal roll
	readMerges   = "merges"   // Merges: the merges into a record
)

// readColumns lists, for each read, the columns it shows as
// "table.column", or "table.*" for all of a table's columns.
var readColumns = map[string][]string{
	readRecord: {"clients.*", "client_aliases.name", "alerts.*", "legal_bases.*", "stays.*",
		"client_photos.id", "client_photos.content_type", "client_photos.byte_size", "client_photos.width", "client_photos.height",
		"client_photos.uploaded_by", "client_photos.uploaded_at"},
	readTimeline: {"client_history.*"},
	readMovement: {"movements.*"},
	readBasis:    {"legal_bases.*"},
	readMerges:   {"client_merges.*"},
	readPhoto:    {"client_photos.*"},
	readHit: {"clients.number", "clients.given_name", "clients.family_name", "clients.birth_date", "clients.status",
		"clients.institution_id", "clients.unit_id", "clients.cell_id", "clients.office_id", "alerts.kind"},
	readHitOut: {"clients.number", "clients.given_name", "clients.family_name", "clients.birth_date"},
	readRoll: {"clients.number", "clients.given_name", "clients.family_name", "clients.status",
		"clients.institution_id", "clients.unit_id", "clients.cell_id", "clients.sex", "clients.languages", "alerts.kind", "stays.started_at",
		"clients.birth_date", "legal_bases.kind"},
}

// classOrder ranks the classes from least to most protected.
var classOrder = []string{db.ClassPublic, db.ClassInternal, db.ClassPersonal, db.ClassSpecialCategory, db.ClassSecurity}

// readDetails holds each read's audit detail; it is filled once, at init,
// from the schema's declarations (see store.go).
var readDetails map[string]string

// readDetail is the audit detail of read ("classes=personal,...").
func readDetail(read string) string {
	d, ok := readDetails[read]
	if !ok {
		panic("client: no classes for read " + read)
	}
	return d
}

// readClasses turns readColumns into audit details using the declared
// class of every column (db.Classification). A column or table that the
// schema does not declare is an error: the list would be wrong. The
// detail names the classes about a person (personal and above); a read
// of nothing but operational columns names those.
func readClasses(schema map[string]db.Column, reads map[string][]string) (map[string]string, error) {
	out := make(map[string]string, len(reads))
	for read, cols := range reads {
		seen := map[string]bool{}
		for _, col := range cols {
			table, column, ok := strings.Cut(col, ".")
			if !ok {
				return nil, fmt.Errorf("client: read %s: %q is not table.column", read, col)
			}
			found := false
			for _, c := range schema {
				if c.Table == table && (column == "*" || c.Column == column) {
					seen[c.Class], found = true, true
				}
			}
			if !found {
				return nil, fmt.Errorf("client: read %s shows %s, which the schema does not classify", read, col)
			}
		}
		var classes []string
		for _, c := range classOrder[2:] {
			if seen[c] {
				classes = append(classes, c)
			}
		}
		if len(classes) == 0 {
			for c := range seen {
				classes = append(classes, c)
			}
			sort.Slice(classes, func(i, j int) bool {
				return slices.Index(classOrder, classes[i]) < slices.Index(classOrder, classes[j])
			})
		}
		out[read] = "classes=" + strings.Join(classes, ",")
	}
	return out, nil
}

// mustReadClasses computes readDetails from the registered schema. Other
// modules' undeclared columns are their tests' failure, not this
// package's: only the register's own columns must be there.
func mustReadClasses() map[string]string {
	schema, _ := db.Classification()
	d, err := readClasses(schema, readColumns)
	if err != nil {
		panic(err)
	}
	return d
}
