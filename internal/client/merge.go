// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/client/search"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
)

// personTables are the tables whose rows belong to a person and move with
// a merge. Other capabilities keep their client ids and resolve them
// through merges (Locate), or react to the client.merged event.
var personTables = []string{"client_aliases", "legal_bases", "stays", "movements", "alerts", "client_history"}

// MergeRecord is a merge as the UI shows it.
type MergeRecord struct {
	ID         string    `json:"id"`
	SurvivorID string    `json:"survivor_id"`
	MergedID   string    `json:"merged_id"`
	Reason     string    `json:"reason"`
	MergedAt   time.Time `json:"merged_at"`
	MergedBy   string    `json:"merged_by"`
	UndoneAt   time.Time `json:"undone_at,omitzero"`
}

// moved is what a merge changed, kept so that it can be undone exactly.
type moved struct {
	Rows             map[string][]string `json:"rows"`
	AddedAlias       string              `json:"added_alias,omitempty"`
	CopiedNationalID bool                `json:"copied_national_id,omitempty"`
	MergedStatus     Status              `json:"merged_status"`
}

func active(s Status) bool { return s == InCustody || s == OnLeave || s == Escaped || s == InCommunity }

// Merge folds the duplicate record mergedID into survivorID: its aliases,
// legal bases, stays, movements, alerts and history move to the survivor,
// its name becomes an alias, and its id keeps resolving to the survivor.
// Both versions must be current. It can be undone with UndoMerge.
func (s *Service) Merge(ctx context.Context, survivorID, mergedID string, survivorVersion, mergedVersion int, reason string) (MergeRecord, error) {
	reason = strings.TrimSpace(reason)
	var fe apperr.Fields
	if mergedID == "" {
		fe.Add("merged_id", "Choose the duplicate record.")
	} else if mergedID == survivorID {
		fe.Add("merged_id", "A record cannot be merged into itself.")
	}
	if len([]rune(reason)) < 5 {
		fe.Add("reason", "Say why these are the same person.")
	}
	if err := fe.Err(); err != nil {
		return MergeRecord{}, err
	}
	var rec MergeRecord
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		sv, err := findClient(ctx, tx, survivorID)
		if err != nil {
			return err
		}
		dup, err := findClient(ctx, tx, mergedID)
		if err != nil {
			return apperr.Field("merged_id", "There is no such record.")
		}
		if sv.MergedInto != "" || dup.MergedInto != "" {
			return apperr.New(apperr.Conflict, "One of the records has already been merged.")
		}
		if sv.Version != survivorVersion {
			return apperr.StaleVersion("client", sv.Version)
		}
		if dup.Version != mergedVersion {
			return apperr.StaleVersion("duplicate record", dup.Version)
		}
		if active(dup.Status) && active(sv.Status) {
			return apperr.New(apperr.Conflict, "Both records have a current stay; release or end one before merging.")
		}
		if active(dup.Status) {
			return apperr.New(apperr.Conflict, "The duplicate has the current stay; keep that record and merge the other into it.")
		}
		if sv.NationalID != "" && dup.NationalID != "" && (sv.NationalID != dup.NationalID || sv.NationalIDCountry != dup.NationalIDCountry) {
			return apperr.New(apperr.Conflict, "The records have different ID numbers; they are not the same person.")
		}
		// Both rows at the versions read above, or nothing: a movement or
		// edit that committed since (PostgreSQL runs READ COMMITTED) must
		// not be merged over. Updating them first also holds both rows
		// until commit, so none can start a stay meanwhile.
		if err := markMerged(ctx, tx, mergedID, survivorID, dup.Version); err != nil {
			return err
		}
		if _, err := bumpVersion(ctx, tx, sv); err != nil {
			return err
		}
		mv := moved{Rows: map[string][]string{}, MergedStatus: dup.Status}
		for _, t := range personTables {
			ids, err := idsOf(ctx, tx, t, mergedID)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				continue
			}
			mv.Rows[t] = ids
			if err := moveRows(ctx, tx, t, mergedID, survivorID); err != nil {
				return err
			}
		}
		if dupName := dup.Name(); !strings.EqualFold(dupName, sv.Name()) {
			mv.AddedAlias = db.NewID()
			if err := insertAlias(ctx, tx, mv.AddedAlias, survivorID, dupName); err != nil {
				return err
			}
		}
		if sv.NationalID == "" && dup.NationalID != "" {
			mv.CopiedNationalID = true
			if err := moveNationalID(ctx, tx, mergedID, survivorID, dup.NationalID, dup.NationalIDCountry); err != nil {
				return err
			}
		}
		a := actorOf(ctx)
		rec = MergeRecord{ID: db.NewID(), SurvivorID: survivorID, MergedID: mergedID, Reason: reason, MergedAt: tx.Now, MergedBy: a.ID}
		b, _ := json.Marshal(mv)
		if err := insertMerge(ctx, tx, rec, string(b)); err != nil {
			return err
		}
		if err := reindex(ctx, tx, survivorID); err != nil {
			return err
		}
		if err := search.Remove(ctx, tx, mergedID); err != nil {
			return err
		}
		if err := insertHistory(ctx, tx, survivorID, "merge", "Record "+dup.Number+" ("+dup.Name()+") merged into this one: "+reason, a.ID, a.Name, "merge", rec.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx,
			audit.Entry{Action: "client.merge", ClientID: survivorID, ObjectType: "merge", ObjectID: rec.ID, Reason: reason, Detail: "survivor"},
			audit.Entry{Action: "client.merge", ClientID: mergedID, ObjectType: "merge", ObjectID: rec.ID, Reason: reason, Detail: "merged"}); err != nil {
			return err
		}
		return events.Emit(ctx, tx, "client.merged", survivorID, map[string]any{"merge_id": rec.ID, "survivor_id": survivorID, "merged_id": mergedID})
	})
	return rec, err
}

func reindex(ctx context.Context, tx *db.Tx, id string) error {
	c, err := findClient(ctx, tx, id)
	if err != nil {
		return err
	}
	aliases, err := loadAliases(ctx, tx, id)
	if err != nil {
		return err
	}
	return search.Index(ctx, tx, id, searchDoc(c, aliases))
}

// UndoMerge reverses a merge exactly: the rows that moved go back, the
// added alias goes, and the duplicate record stands on its own again.
func (s *Service) UndoMerge(ctx context.Context, survivorID, mergeID string) error {
	return s.DB.Transact(ctx, func(tx *db.Tx) error {
		mergedID, movedJSON, undone, err := findMergeToUndo(ctx, tx, survivorID, mergeID)
		if err != nil {
			return err
		}
		if undone != "" {
			return apperr.New(apperr.Conflict, "This merge has already been undone.")
		}
		var mv moved
		if err := json.Unmarshal([]byte(movedJSON), &mv); err != nil {
			return fmt.Errorf("client: merge record unreadable: %w", err)
		}
		for t, ids := range mv.Rows {
			for _, id := range ids {
				if err := returnRow(ctx, tx, t, id, mergedID); err != nil {
					return err
				}
			}
		}
		if mv.AddedAlias != "" {
			if err := deleteAlias(ctx, tx, mv.AddedAlias); err != nil {
				return err
			}
		}
		if mv.CopiedNationalID {
			nid, country, err := readNationalID(ctx, tx, survivorID)
			if err != nil {
				return err
			}
			if err := moveNationalID(ctx, tx, survivorID, mergedID, nid, country); err != nil {
				return err
			}
		}
		for _, id := range []string{mergedID, survivorID} {
			if err := unmarkMerged(ctx, tx, id); err != nil {
				return err
			}
			if err := reindex(ctx, tx, id); err != nil {
				return err
			}
		}
		if err := markMergeUndone(ctx, tx, mergeID, actorOf(ctx).ID); err != nil {
			return err
		}
		a := actorOf(ctx)
		for _, id := range []string{survivorID, mergedID} {
			if err := insertHistory(ctx, tx, id, "merge_undone", "Merge undone; the records are separate again", a.ID, a.Name, "merge", mergeID); err != nil {
				return err
			}
		}
		if err := audit.Write(ctx, tx,
			audit.Entry{Action: "client.merge.undo", ClientID: survivorID, ObjectType: "merge", ObjectID: mergeID},
			audit.Entry{Action: "client.merge.undo", ClientID: mergedID, ObjectType: "merge", ObjectID: mergeID}); err != nil {
			return err
		}
		return events.Emit(ctx, tx, "client.merge_undone", survivorID, map[string]any{"merge_id": mergeID, "survivor_id": survivorID, "merged_id": mergedID})
	})
}

// Merges lists the merges into a client, newest first. Their reasons
// are about the person: a list that is not empty is an audited read.
func (s *Service) Merges(ctx context.Context, survivorID string) ([]MergeRecord, error) {
	ms, err := loadMerges(ctx, s.DB, survivorID)
	if err != nil || len(ms) == 0 {
		return ms, err
	}
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "client.merges.read", ClientID: survivorID, ObjectType: "client", ObjectID: survivorID, Detail: readDetail(readMerges)}); err != nil {
		return nil, fmt.Errorf("client: audit read: %w", err)
	}
	return ms, nil
}
