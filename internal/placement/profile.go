// SPDX-License-Identifier: AGPL-3.0-or-later

package placement

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client"
	"github.com/custodia/custodia/internal/estate"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
)

// Profile is a person's placement profile: the hard rules about the
// cell itself. It is appended like a sharing assessment: the newest
// counts, the older ones are the person's history.
type Profile struct {
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	// SecurityLevel is the lowest cell security the person may be held
	// in, on the estate's scale: 1 (highest) to estate.MaxSecurity
	// (lowest). A cell of that level or a higher one (a smaller number)
	// keeps the rule.
	SecurityLevel int `json:"security_level"`
	// Accessible: the person needs an accessible cell.
	Accessible bool `json:"accessible"`
	// Restricted: remand with restrictions decided by the prosecutor; the
	// person must be alone in the cell.
	Restricted    bool      `json:"restricted"`
	Reasons       string    `json:"reasons"`
	DecidedByID   string    `json:"decided_by_id"`
	DecidedByName string    `json:"decided_by_name"`
	DecidedAt     time.Time `json:"decided_at"`
}

// NewProfile is what recording a placement profile takes.
type NewProfile struct {
	SecurityLevel int    `json:"security_level"`
	Accessible    bool   `json:"accessible"`
	Restricted    bool   `json:"restricted"`
	Reasons       string `json:"reasons"`
}

const profileReasonsLimit = 4000

func (n *NewProfile) validate() error {
	var fe apperr.Fields
	n.Reasons = strings.TrimSpace(n.Reasons)
	if n.SecurityLevel < estate.MinSecurity || n.SecurityLevel > estate.MaxSecurity {
		fe.Add("security_level", fmt.Sprintf("Use a security level from %d (highest) to %d (lowest).", estate.MinSecurity, estate.MaxSecurity))
	}
	switch {
	case n.Reasons == "":
		fe.Add("reasons", "Required.")
	case len(n.Reasons) > profileReasonsLimit:
		fe.Add("reasons", fmt.Sprintf("At most %d characters.", profileReasonsLimit))
	}
	return fe.Err()
}

// minSecurityOf is the solver's minimum security for a profile, mapped
// as buildWorld maps a cell's level (estate.MaxSecurity + 1 - level), so
// a cell keeps the rule exactly when its level is the profile's or a
// higher one. No profile: any cell.
func minSecurityOf(p *Profile) int {
	if p == nil || p.SecurityLevel == 0 {
		return 0
	}
	return estate.MaxSecurity + 1 - p.SecurityLevel
}

func profileSummary(p *Profile) string {
	s := fmt.Sprintf("Placement profile: security level %d", p.SecurityLevel)
	if p.Accessible {
		s += ", needs an accessible cell"
	}
	if p.Restricted {
		s += ", remand restrictions (alone in the cell)"
	}
	return s
}

// SetProfile records a placement profile of the client, decided by the
// signed-in member of staff. It replaces none: the newest counts, and
// the older ones stay as the person's history.
func (s *Service) SetProfile(ctx context.Context, clientID string, n NewProfile) (*Profile, error) {
	if err := n.validate(); err != nil {
		return nil, err
	}
	var out *Profile
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		pl, err := client.Whereabouts(ctx, tx, clientID)
		if err != nil {
			return err
		}
		a := actorOf(ctx)
		p := &Profile{ID: db.NewID(), ClientID: pl.ID, SecurityLevel: n.SecurityLevel, Accessible: n.Accessible, Restricted: n.Restricted,
			Reasons: n.Reasons, DecidedByID: a.ID, DecidedByName: a.Name, DecidedAt: tx.Now}
		if err := insertProfile(ctx, tx, p); err != nil {
			return err
		}
		if err := client.AddHistory(ctx, tx, pl.ID, "placement_profile", profileSummary(p), "placement_profile", p.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "placement.profile.set", ClientID: pl.ID, ObjectType: "placement_profile", ObjectID: p.ID,
			Detail: fmt.Sprintf("security_level=%d accessible=%t restricted=%t", p.SecurityLevel, p.Accessible, p.Restricted)}); err != nil {
			return err
		}
		out = p
		// No free text: the reasons are special-category.
		return events.Emit(ctx, tx, "placement.profile_set", pl.ID, map[string]any{"client_id": pl.ID, "profile_id": p.ID,
			"security_level": p.SecurityLevel, "accessible": p.Accessible, "restricted": p.Restricted})
	})
	return out, err
}

// Profiles lists the client's placement profiles, newest (the one in
// force) first. Audited.
func (s *Service) Profiles(ctx context.Context, clientID string) ([]Profile, error) {
	list, err := db.Read(ctx, s.DB, func(tx *db.Tx) ([]Profile, error) {
		rids, err := client.RecordIDs(ctx, tx, clientID)
		if err != nil {
			return nil, err
		}
		list, err := profilesOf(ctx, tx, rids, 200)
		for i := range list {
			list[i].ClientID = clientID
		}
		return list, err
	})
	if err != nil {
		return nil, err
	}
	if len(list) > 0 {
		if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "placement.profile.read", ClientID: clientID, ObjectType: "client", ObjectID: clientID,
			Detail: fmt.Sprintf("n=%d classes=personal,security,special-category", len(list))}); err != nil {
			return nil, fmt.Errorf("placement: audit read: %w", err)
		}
	}
	return list, nil
}

// ---------- Storage ----------

const profileColumns = `id, client_id, security_level, accessible, restricted, reasons, decided_by_id, decided_by_name, decided_at`

func scanProfile(sc interface{ Scan(...any) error }) (Profile, error) {
	var p Profile
	var acc, res int
	var at string
	if err := sc.Scan(&p.ID, &p.ClientID, &p.SecurityLevel, &acc, &res, &p.Reasons, &p.DecidedByID, &p.DecidedByName, &at); err != nil {
		return p, err
	}
	p.Accessible, p.Restricted, p.DecidedAt = acc != 0, res != 0, tm(at)
	return p, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func insertProfile(ctx context.Context, tx *db.Tx, p *Profile) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO placement_profiles (`+profileColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		p.ID, p.ClientID, p.SecurityLevel, boolInt(p.Accessible), boolInt(p.Restricted), p.Reasons, p.DecidedByID, p.DecidedByName, tx.NowText()); err != nil {
		return fmt.Errorf("placement: insert profile: %w", err)
	}
	return nil
}

// profilesOf lists the profiles of the records ids, newest first.
func profilesOf(ctx context.Context, q querier, ids []string, limit int) ([]Profile, error) {
	var args []any
	in := placeholders(&args, ids)
	rows, err := q.QueryContext(ctx, `SELECT `+profileColumns+` FROM placement_profiles WHERE client_id IN (`+in+`)
		ORDER BY decided_at DESC, id DESC LIMIT `+fmt.Sprint(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("placement: profiles: %w", err)
	}
	defer rows.Close()
	out := []Profile{}
	for rows.Next() {
		p, err := scanProfile(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// latestProfiles is the newest profile of each of ids (as stored; the
// caller maps merged records).
func latestProfiles(ctx context.Context, q querier, ids []string) (map[string]Profile, error) {
	out := map[string]Profile{}
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		var args []any
		in := placeholders(&args, batch)
		rows, err := q.QueryContext(ctx, `SELECT `+profileColumns+` FROM placement_profiles WHERE client_id IN (`+in+`)
			ORDER BY client_id, decided_at DESC, id DESC`, args...)
		if err != nil {
			return nil, fmt.Errorf("placement: latest profiles: %w", err)
		}
		for rows.Next() {
			p, err := scanProfile(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			if _, seen := out[p.ClientID]; !seen {
				out[p.ClientID] = p
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
