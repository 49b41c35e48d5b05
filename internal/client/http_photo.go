// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/i18n"
	"github.com/custodia/custodia/internal/platform/imagecheck"
	"github.com/custodia/custodia/internal/platform/web"
)

// photoMaxBody is the body limit of the photo routes: the photo and room
// for the multipart framing and the form's other fields.
const photoMaxBody = imagecheck.MaxBody

// photo serves the person's photo (page and API).
func (h *Handlers) photo(w http.ResponseWriter, r *http.Request) error {
	p, data, err := h.Client.Photo(r.Context(), clientID(r))
	if err != nil {
		return err
	}
	return imagecheck.Serve(w, r, p.ContentType, "photo", data)
}

// formPhoto reads the uploaded file of the photo form.
func formPhoto(r *http.Request) ([]byte, error) { return imagecheck.FromForm(r, "photo") }

// formVersion is the record version a photo form was opened at. It is
// required here because the photo service treats a missing version (0)
// as "no check", which only the API's optional If-Match may ask for.
func formVersion(f url.Values) (int, error) {
	v, err := formInt(f, "version")
	if err == nil && v < 1 {
		err = apperr.Field("version", "Reload the page: the form is missing the record's version.")
	}
	return v, err
}

// uploadPhoto is the photo form: a multipart upload with the record's
// version. A bad file comes back on the form with a message (422).
func (h *Handlers) uploadPhoto(w http.ResponseWriter, r *http.Request) error {
	id := clientID(r)
	data, err := formPhoto(r)
	var v int
	if err == nil {
		v, err = formVersion(r.PostForm)
	}
	if err == nil {
		_, err = h.Client.SetPhoto(r.Context(), id, v, data, "")
	}
	if err != nil {
		return h.formFail(w, r, id, "photo", err)
	}
	return web.Redirect(w, r, backTo(id), i18n.T(web.LangOf(r), "clients.flash.photo_saved"), "")
}

func (h *Handlers) removePhoto(w http.ResponseWriter, r *http.Request) error {
	id := clientID(r)
	v, err := formVersion(r.PostForm)
	if err == nil {
		_, err = h.Client.RemovePhoto(r.Context(), id, v)
	}
	if err != nil {
		return h.formFail(w, r, id, "photo", err)
	}
	return web.Redirect(w, r, backTo(id), i18n.T(web.LangOf(r), "clients.flash.photo_removed"), "")
}

// ifMatch reads the optional If-Match header as a record version ("3" or
// 3); absent is 0, which skips the version check.
func ifMatch(r *http.Request) (int, error) {
	s := strings.TrimSpace(r.Header.Get("If-Match"))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(s, "W/"), `"`))
	if err != nil || n < 1 {
		return 0, apperr.Field("If-Match", `Send the record's version you read, e.g. "3".`)
	}
	return n, nil
}

// apiPutPhoto sets or replaces the photo from the raw request body.
func (h *Handlers) apiPutPhoto(w http.ResponseWriter, r *http.Request) error {
	v, err := ifMatch(r)
	if err != nil {
		return err
	}
	data, ct, err := imagecheck.FromBody(r)
	if err != nil {
		return err
	}
	out, err := h.Client.SetPhoto(r.Context(), clientID(r), v, data, ct)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handlers) apiDeletePhoto(w http.ResponseWriter, r *http.Request) error {
	v, err := ifMatch(r)
	if err != nil {
		return err
	}
	out, err := h.Client.RemovePhoto(r.Context(), clientID(r), v)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, out)
}
