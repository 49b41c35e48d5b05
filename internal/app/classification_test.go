// SPDX-License-Identifier: AGPL-3.0-or-later

package app_test

import (
	"context"
	"sort"
	"testing"

	_ "github.com/custodia/custodia/internal/app" // registers every module's migrations
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

// TestEveryColumnIsClassified fails when any module's schema has a column
// without a declared sensitivity class, or when the migrated database holds
// a column the declarations do not know (a column added some other way).
func TestEveryColumnIsClassified(t *testing.T) {
	classes, err := db.Classification()
	if err != nil {
		t.Fatal(err)
	}
	if len(classes) < 50 {
		t.Fatalf("only %d classified columns: are the modules registered?", len(classes))
	}
	for _, want := range []string{"clients.national_id", "audit_log.actor_id", "cells.capacity", "staff.password_hash"} {
		if _, ok := classes[want]; !ok {
			t.Errorf("classification has no %s", want)
		}
	}
	if c := classes["clients.national_id"].Class; c != db.ClassPersonal && c != db.ClassSpecialCategory {
		t.Errorf("clients.national_id is %q, want personal or special-category", c)
	}
	if c := classes["legal_bases.offences"].Class; c != db.ClassSpecialCategory {
		t.Errorf("legal_bases.offences is %q, want special-category (criminal offence data)", c)
	}
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		live, err := d.LiveColumns(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var missing []string
		for _, col := range live {
			if _, ok := classes[col]; !ok {
				missing = append(missing, col)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Fatalf("live columns without a class: %v", missing)
		}
		// And the other way: the classification describes the schema as
		// migrated, with no table or column a later migration removed.
		isLive := map[string]bool{}
		for _, col := range live {
			isLive[col] = true
		}
		var gone []string
		for col := range classes {
			if !isLive[col] {
				gone = append(gone, col)
			}
		}
		sort.Strings(gone)
		if len(gone) > 0 {
			t.Fatalf("classified columns that the migrated database does not have: %v", gone)
		}
	})
}
