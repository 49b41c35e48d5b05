// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"context"
	"fmt"
	"image"
	"time"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/audit"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/events"
	"github.com/custodia/custodia/internal/platform/imagecheck"
)

// Photo limits (the image rules are imagecheck's).
const (
	MaxPhotoBytes  = imagecheck.MaxBytes
	photoThumbSide = 120
)

// PhotoInfo describes a person's photo without its bytes.
type PhotoInfo struct {
	ID          string    `json:"id"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	UploadedBy  string    `json:"uploaded_by"`
	UploadedAt  time.Time `json:"uploaded_at"`
}

// ThumbWidth and ThumbHeight are the photo's size in the page header:
// the longer side photoThumbSide pixels, the aspect ratio kept.
func (p *PhotoInfo) ThumbWidth() int { w, _ := p.thumb(); return w }

// ThumbHeight: see ThumbWidth.
func (p *PhotoInfo) ThumbHeight() int { _, h := p.thumb(); return h }

func (p *PhotoInfo) thumb() (int, int) {
	if p.Width <= 0 || p.Height <= 0 {
		return photoThumbSide, photoThumbSide
	}
	if p.Width >= p.Height {
		return photoThumbSide, max(1, p.Height*photoThumbSide/p.Width)
	}
	return max(1, p.Width*photoThumbSide/p.Height), photoThumbSide
}

// PhotoChange is what setting or removing a photo did: the record's new
// version and the photo now on it (none after a removal).
type PhotoChange struct {
	ClientVersion int        `json:"client_version"`
	Photo         *PhotoInfo `json:"photo,omitempty"`
}

// Messages the web layer translates (msgRules) and tests compare.
const (
	msgPhotoRequired = imagecheck.MsgRequired
	msgPhotoType     = imagecheck.MsgType
	msgPhotoTooLarge = imagecheck.MsgTooLarge
	msgNoPhoto       = "This client has no photo."
)

// checkPhoto validates an uploaded photo of a person (imagecheck.Check).
func checkPhoto(data []byte, declared string) (string, image.Config, error) {
	return imagecheck.Check(data, declared, "photo")
}

// SetPhoto puts a photo on the person's record, replacing any photo
// there. version is the record's version the caller read; 0 skips the
// check (the API's If-Match is optional). The record's version goes up,
// so an edit made from an older copy of the record is refused; the change
// is audited, on the timeline and announced (client.photo_changed) in the
// same transaction. declared is the content type the sender named ("" for
// a form upload, where the browser's guess is not worth checking).
func (s *Service) SetPhoto(ctx context.Context, clientID string, version int, data []byte, declared string) (PhotoChange, error) {
	ct, cfg, err := checkPhoto(data, declared)
	if err != nil {
		return PhotoChange{}, err
	}
	var out PhotoChange
	err = s.DB.Transact(ctx, func(tx *db.Tx) error {
		c, err := photoTarget(ctx, tx, clientID, version)
		if err != nil {
			return err
		}
		old, err := loadPhotoInfo(ctx, tx, clientID)
		if err != nil {
			return err
		}
		if old != nil {
			if err := deletePhoto(ctx, tx, old.ID); err != nil {
				return fmt.Errorf("client: replace photo: %w", err)
			}
		}
		a := actorOf(ctx)
		p := &PhotoInfo{ID: db.NewID(), ContentType: ct, Size: len(data), Width: cfg.Width, Height: cfg.Height, UploadedBy: a.ID, UploadedAt: tx.Now}
		if err := insertPhoto(ctx, tx, clientID, p, data); err != nil {
			return err
		}
		change, summary := "added", "Photo added"
		if old != nil {
			change, summary = "replaced", "Photo replaced"
		}
		if out.ClientVersion, err = bumpVersion(ctx, tx, c); err != nil {
			return err
		}
		out.Photo = p
		if err := insertHistory(ctx, tx, clientID, "photo", summary, a.ID, a.Name, "photo", p.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "client.photo.set", ClientID: clientID, ObjectType: "photo", ObjectID: p.ID,
			Detail: fmt.Sprintf("change=%s type=%s bytes=%d size=%dx%d", change, ct, p.Size, p.Width, p.Height)}); err != nil {
			return err
		}
		return events.Emit(ctx, tx, "client.photo_changed", clientID, map[string]any{"client_id": clientID, "photo_id": p.ID, "change": change, "version": out.ClientVersion})
	})
	if err != nil {
		return PhotoChange{}, err
	}
	return out, nil
}

// RemovePhoto takes the photo off the person's record (the bytes are
// deleted). version works as in SetPhoto. No photo is NotFound.
func (s *Service) RemovePhoto(ctx context.Context, clientID string, version int) (PhotoChange, error) {
	var out PhotoChange
	err := s.DB.Transact(ctx, func(tx *db.Tx) error {
		c, err := photoTarget(ctx, tx, clientID, version)
		if err != nil {
			return err
		}
		old, err := loadPhotoInfo(ctx, tx, clientID)
		if err != nil {
			return err
		}
		if old == nil {
			return apperr.New(apperr.NotFound, msgNoPhoto)
		}
		if err := deletePhoto(ctx, tx, old.ID); err != nil {
			return fmt.Errorf("client: remove photo: %w", err)
		}
		if out.ClientVersion, err = bumpVersion(ctx, tx, c); err != nil {
			return err
		}
		a := actorOf(ctx)
		if err := insertHistory(ctx, tx, clientID, "photo", "Photo removed", a.ID, a.Name, "photo", old.ID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.Entry{Action: "client.photo.remove", ClientID: clientID, ObjectType: "photo", ObjectID: old.ID, Detail: "change=removed"}); err != nil {
			return err
		}
		return events.Emit(ctx, tx, "client.photo_changed", clientID, map[string]any{"client_id": clientID, "photo_id": old.ID, "change": "removed", "version": out.ClientVersion})
	})
	if err != nil {
		return PhotoChange{}, err
	}
	return out, nil
}

// Photo returns the person's photo with its bytes. Every fetch is an
// audited read, durable before the bytes are returned. No photo is
// NotFound.
func (s *Service) Photo(ctx context.Context, clientID string) (PhotoInfo, []byte, error) {
	p, data, err := loadPhoto(ctx, s.DB, clientID)
	if err != nil {
		return p, nil, err
	}
	if err := s.Audit.RecordRead(ctx, audit.Entry{Action: "client.photo.read", ClientID: clientID, ObjectType: "photo", ObjectID: p.ID, Detail: readDetail(readPhoto)}); err != nil {
		return p, nil, fmt.Errorf("client: audit read: %w", err)
	}
	return p, data, nil
}

// photoTarget loads the record a photo change is for and checks that it
// is current and at version (0: any version).
func photoTarget(ctx context.Context, tx *db.Tx, clientID string, version int) (*Client, error) {
	c, err := liveClient(ctx, tx, clientID)
	if err != nil {
		return nil, err
	}
	if version != 0 && c.Version != version {
		return nil, apperr.StaleVersion("client", c.Version)
	}
	return c, nil
}
