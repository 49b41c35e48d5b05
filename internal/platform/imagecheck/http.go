// SPDX-License-Identifier: AGPL-3.0-or-later

package imagecheck

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/custodia/custodia/internal/platform/apperr"
)

// MaxBody is the body limit of a photo upload route: the photo and room
// for the multipart framing and the form's other fields.
const MaxBody = MaxBytes + 64<<10

// MsgUnreadable is the message for an upload that could not be read.
const MsgUnreadable = "The upload could not be read."

// FromForm reads the file in field of a multipart form upload.
func FromForm(r *http.Request, field string) ([]byte, error) {
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, apperr.Field(field, MsgTooLarge)
		case errors.Is(err, http.ErrNotMultipart):
			return nil, apperr.Field(field, MsgRequired)
		}
		return nil, apperr.Field(field, MsgUnreadable)
	}
	f, fh, err := r.FormFile(field)
	if err != nil {
		return nil, apperr.Field(field, MsgRequired)
	}
	defer f.Close()
	if fh.Size > MaxBytes {
		return nil, apperr.Field(field, MsgTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, apperr.Field(field, MsgUnreadable)
	}
	if len(data) > MaxBytes {
		return nil, apperr.Field(field, MsgTooLarge)
	}
	return data, nil
}

// Serve writes a stored photo. It is never cached: photos of people and of
// what was found on them are personal data and every fetch is an audited
// read; the sandbox keeps a crafted image from running anything.
func Serve(w http.ResponseWriter, r *http.Request, contentType, name string, data []byte) error {
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.Itoa(len(data)))
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Content-Disposition", `inline; filename="`+name+map[string]string{"image/jpeg": ".jpg", "image/png": ".png"}[contentType]+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(data)
	return err
}

// FromBody reads a photo sent as the raw request body (the API), with
// the content type it was declared as.
func FromBody(r *http.Request) ([]byte, string, error) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != "image/jpeg" && ct != "image/png") {
		return nil, "", &apperr.Error{Code: "unsupported", Message: "Send the photo as the request body with Content-Type image/jpeg or image/png."}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, "", apperr.New(apperr.TooLarge, MsgTooLarge)
		}
		return nil, "", apperr.Field("body", "The body could not be read.")
	}
	if len(data) > MaxBytes {
		return nil, "", apperr.New(apperr.TooLarge, MsgTooLarge)
	}
	return data, ct, nil
}
