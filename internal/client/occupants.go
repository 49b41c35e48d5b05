// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
)

// Occupant is one person on the nominal roll of an institution or unit:
// in custody (in a cell), on leave (the bed is kept, so the cell is still
// set) or escaped (the bed is freed, no cell).
type Occupant struct {
	ID            string   `json:"id"`
	Number        string   `json:"number"`
	GivenName     string   `json:"given_name"`
	FamilyName    string   `json:"family_name"`
	Status        Status   `json:"status"`
	InstitutionID string   `json:"institution_id"`
	UnitID        string   `json:"unit_id,omitempty"`
	CellID        string   `json:"cell_id,omitempty"`
	Alerts        []string `json:"alerts"` // active alert kinds, sorted
	// Sex and Languages are what placing people together needs (cell-mates
	// share a sex; a sharing condition may ask for a common language).
	Sex       string   `json:"sex"`
	Languages []string `json:"languages"`
	// AdmittedAt is when the present stay began: a day's intake is the
	// people admitted that day.
	AdmittedAt time.Time `json:"admitted_at,omitzero"`
	// BirthDate (YYYY-MM-DD) and Remand are what the placement rules read
	// about juveniles and remand. Remand: an active remand basis and no
	// active sentence.
	BirthDate string `json:"birth_date"`
	Remand    bool   `json:"remand"`
}

// Name is the person's full name.
func (o Occupant) Name() string { return o.GivenName + " " + o.FamilyName }

// rollStatuses are the statuses that keep a person on an institution's
// roll.
var rollStatuses = []Status{InCustody, OnLeave, Escaped}

// Occupants lists the people on the roll of the given institutions and
// units (a person counts when their institution or unit is one of them):
// in custody, on leave or escaped, with their active alert kinds, ordered
// by family and given name. It trusts the caller's caseload check on the
// locations. Listing is a read of personal data: every person listed is
// recorded in the audit log (one RecordRead), durably, before the list is
// returned.
func (s *Service) Occupants(ctx context.Context, locationIDs []string) ([]Occupant, error) {
	var ids []any
	seen := map[string]bool{}
	for _, id := range locationIDs {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return []Occupant{}, nil
	}
	var out []Occupant
	err := s.DB.ReadOnly(ctx, func(tx *db.Tx) error {
		roll, err := loadRoll(ctx, tx, ids)
		if err != nil {
			return err
		}
		out = roll
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		slices.Sort(out[i].Alerts)
		out[i].Alerts = slices.Compact(out[i].Alerts)
	}
	slices.SortFunc(out, func(a, b Occupant) int {
		return cmp.Or(cmp.Compare(a.FamilyName, b.FamilyName), cmp.Compare(a.GivenName, b.GivenName), cmp.Compare(a.Number, b.Number))
	})
	if len(out) == 0 {
		return out, nil
	}
	// One read, however long the roll: the audit log splits it into
	// statements itself, and it is durable as a whole or not at all.
	entries := make([]audit.Entry, len(out))
	for i, o := range out {
		entries[i] = audit.Entry{Action: "client.roll.read", ClientID: o.ID, ObjectType: "client", ObjectID: o.ID, Detail: "listed on the nominal roll " + readDetail(readRoll)}
	}
	if err := s.Audit.RecordRead(ctx, entries...); err != nil {
		return nil, fmt.Errorf("client: audit roll read: %w", err)
	}
	return out, nil
}
