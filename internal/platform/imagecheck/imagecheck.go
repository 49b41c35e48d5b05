// SPDX-License-Identifier: AGPL-3.0-or-later

// Package imagecheck validates uploaded photographs by decoding their
// header — never trusting a file name or a declared type — so that only
// JPEG and PNG images of sensible size are ever stored or served back.
package imagecheck

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // the decoders image.DecodeConfig consults
	_ "image/png"

	"github.com/custodia/custodia/internal/platform/apperr"
)

// Photo limits. A photo is a JPEG or PNG of at most MaxBytes whose sides
// are MinSide to MaxSide pixels and at most MaxRatio times as long as each
// other.
const (
	MaxBytes = 2 << 20
	MinSide  = 32
	MaxSide  = 8000
	MaxRatio = 4
)

// types maps the formats image.DecodeConfig names to the content types a
// photo is stored and served as.
var types = map[string]string{"jpeg": "image/jpeg", "png": "image/png"}

// Messages callers translate.
const (
	MsgRequired = "Choose a photo (JPEG or PNG)."
	MsgType     = "This is not a JPEG or PNG image."
	MsgTooLarge = "The photo is larger than 2 MiB; use a smaller one."
)

// Check validates an uploaded image: it must be a JPEG or PNG (whatever
// its name or declared type says), at most MaxBytes, with the dimensions
// of a photo. declared, when not empty, is the content type the sender
// named; it must match the image. field names the form or API field in
// the errors. It returns the content type to store and serve.
func Check(data []byte, declared, field string) (string, image.Config, error) {
	switch {
	case len(data) == 0:
		return "", image.Config{}, apperr.Field(field, MsgRequired)
	case len(data) > MaxBytes:
		return "", image.Config{}, apperr.Field(field, MsgTooLarge)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	ct, ok := types[format]
	if err != nil || !ok {
		return "", image.Config{}, apperr.Field(field, MsgType)
	}
	w, h := cfg.Width, cfg.Height
	if w < MinSide || h < MinSide || w > MaxSide || h > MaxSide || w > h*MaxRatio || h > w*MaxRatio {
		return "", image.Config{}, apperr.Field(field, fmt.Sprintf("The image is %d × %d pixels; a photo must be %d to %d pixels on each side, and neither side more than %d times the other.",
			w, h, MinSide, MaxSide, MaxRatio))
	}
	if declared != "" && declared != ct {
		return "", image.Config{}, apperr.Field(field, fmt.Sprintf("The Content-Type says %s but the image is %s.", declared, ct))
	}
	return ct, cfg, nil
}
