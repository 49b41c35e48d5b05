// SPDX-License-Identifier: AGPL-3.0-or-later

package registration

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
	"github.com/custodia/custodia/internal/platform/imagecheck"
)

// Photo is a photograph attached to a registration, without its bytes.
type Photo struct {
	ID          string    `json:"id"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	Caption     string    `json:"caption,omitempty"`
	UploadedBy  string    `json:"uploaded_by"`
	UploadedAt  time.Time `json:"uploaded_at"`
}

// MaxPhotos is how many photos one registration holds.
const MaxPhotos = 20

// AddPhoto attaches a photograph (a JPEG or PNG, checked by decoding it)
// with an optional caption. A closed registration takes no more photos.
func (s *Service) AddPhoto(ctx context.Context, p *access.Principal, clientID, id string, data []byte, declared, caption string) (Photo, error) {
	ct, cfg, err := imagecheck.Check(data, declared, "photo")
	if err != nil {
		return Photo{}, err
	}
	caption = strings.TrimSpace(caption)
	if len([]rune(caption)) > maxShort {
		return Photo{}, apperr.Field("caption", fmt.Sprintf("At most %d characters.", maxShort))
	}
	var out Photo
	err = s.DB.Transact(ctx, func(tx *db.Tx) error {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return err
		}
		if r.Status == Closed {
			return apperr.New(apperr.Conflict, "This registration is closed.")
		}
		n, err := countPhotos(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		if n >= MaxPhotos {
			return apperr.Field("photo", fmt.Sprintf("A registration holds at most %d photos.", MaxPhotos))
		}
		a := actorOf(ctx)
		out = Photo{ID: db.NewID(), ContentType: ct, Size: len(data), Width: cfg.Width, Height: cfg.Height, Caption: caption, UploadedBy: a.Name, UploadedAt: tx.Now}
		if err := insertPhoto(ctx, tx, r.ID, &out, a.ID, data); err != nil {
			return err
		}
		if err := bump(ctx, tx, r.ID); err != nil {
			return err
		}
		if err := addHistory(ctx, tx, r.ID, a.ID, a.Name, "photo_added", caption); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "registration.photo", ClientID: r.ClientID, ObjectType: "registration_photo", ObjectID: out.ID}); err != nil {
			return err
		}
		return events.Emit(ctx, tx, "registration.photo_added", r.ID, map[string]any{"registration_id": r.ID, "photo_id": out.ID})
	})
	return out, err
}

// Photo reads one photograph with its bytes; the read is audited.
func (s *Service) Photo(ctx context.Context, p *access.Principal, clientID, id, photoID string) (Photo, []byte, error) {
	type got struct {
		ph   Photo
		data []byte
		reg  *Registration
	}
	g, err := db.Read(ctx, s.DB, func(tx *db.Tx) (got, error) {
		r, err := load(ctx, tx, p, clientID, id)
		if err != nil {
			return got{}, err
		}
		ph, data, err := findPhoto(ctx, tx, r.ID, photoID)
		return got{ph, data, r}, err
	})
	if err != nil {
		return Photo{}, nil, err
	}
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "registration.photo.read", ClientID: g.reg.ClientID, ObjectType: "registration_photo", ObjectID: photoID}); err != nil {
		return Photo{}, nil, fmt.Errorf("registration: audit read: %w", err)
	}
	return g.ph, g.data, nil
}
