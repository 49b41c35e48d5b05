// SPDX-License-Identifier: AGPL-3.0-or-later

package client

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
	"github.com/custodia/custodia/internal/platform/db/dbtest"
)

func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	return img
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gifBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheckPhoto(t *testing.T) {
	big := append(pngBytes(t, 64, 64), make([]byte, MaxPhotoBytes)...)
	for name, tc := range map[string]struct {
		data     []byte
		declared string
		ct       string // "" = refused
		msg      string
	}{
		"png":              {pngBytes(t, 300, 400), "", "image/png", ""},
		"jpeg":             {jpegBytes(t, 400, 300), "", "image/jpeg", ""},
		"jpeg declared":    {jpegBytes(t, 64, 64), "image/jpeg", "image/jpeg", ""},
		"declared wrongly": {jpegBytes(t, 64, 64), "image/png", "", "Content-Type says image/png but the image is image/jpeg"},
		"empty":            {nil, "", "", msgPhotoRequired},
		"text as .jpg":     {[]byte("Dear diary,\nthis is not a photo.\n"), "", "", msgPhotoType},
		"html":             {[]byte("<html><script>alert(1)</script></html>"), "image/png", "", msgPhotoType},
		"truncated png":    {pngBytes(t, 64, 64)[:20], "", "", msgPhotoType},
		"gif":              {gifBytes(t, 64, 64), "", "", msgPhotoType},
		"over 2 MiB":       {big, "", "", msgPhotoTooLarge},
		"tiny":             {pngBytes(t, 8, 8), "", "", "8 × 8 pixels"},
		"a strip":          {pngBytes(t, 1000, 40), "", "", "1000 × 40 pixels"},
	} {
		t.Run(name, func(t *testing.T) {
			ct, cfg, err := checkPhoto(tc.data, tc.declared)
			if tc.ct != "" {
				if err != nil || ct != tc.ct || cfg.Width == 0 {
					t.Fatalf("refused a good photo: %q %v", ct, err)
				}
				return
			}
			if err == nil || fieldOf(err) != "photo" || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("want a field error on photo saying %q, got %v", tc.msg, err)
			}
		})
	}
	// Absurd dimensions in a header are refused before any pixel is read.
	hdr := pngBytes(t, 64, 64)
	copy(hdr[16:24], []byte{0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30}) // IHDR: 30000 × 30000
	binary.BigEndian.PutUint32(hdr[29:33], crc32.ChecksumIEEE(hdr[12:29]))
	if _, _, err := checkPhoto(hdr, ""); err == nil || !strings.Contains(err.Error(), "30000 × 30000") {
		t.Fatalf("a 30000 px square passed: %v", err)
	}
}

// TestBytesRoundTrip: a BYTEA column holds every byte value unchanged on
// both engines (SQLite stores it as a BLOB).
func TestBytesRoundTrip(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.register("Bo", "Byte")
		want := make([]byte, 4096)
		for i := range want {
			want[i] = byte(i * 31)
		}
		want[0], want[1] = 0, 0 // NULs, which text columns would mangle
		if _, err := d.ExecContext(e.ctx, `INSERT INTO client_photos (id, client_id, content_type, image, byte_size, width, height, uploaded_by, uploaded_at)
			VALUES ($1,$2,'image/png',$3,$4,1,1,'x',$5)`, db.NewID(), c.ID, want, len(want), db.FormatTime(d.Now())); err != nil {
			t.Fatal(err)
		}
		var got []byte
		if err := d.QueryRowContext(e.ctx, `SELECT image FROM client_photos WHERE client_id = $1`, c.ID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("bytes changed on the way: %d bytes back, first %v", len(got), got[:min(8, len(got))])
		}
	})
}

func TestPhotoService(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.register("Pia", "Bild")
		pic := pngBytes(t, 120, 160)
		a0, ev0 := e.rows()
		ch, err := e.svc.SetPhoto(e.ctx, c.ID, c.Version, pic, "")
		if err != nil {
			t.Fatal(err)
		}
		if ch.ClientVersion != c.Version+1 || ch.Photo == nil || ch.Photo.ContentType != "image/png" || ch.Photo.Size != len(pic) || ch.Photo.Width != 120 || ch.Photo.Height != 160 {
			t.Fatalf("set: %+v %+v", ch, ch.Photo)
		}
		if a1, ev1 := e.rows(); a1 != a0+1 || ev1 != ev0+1 {
			t.Fatalf("want one audit row and one event, got %d and %d", a1-a0, ev1-ev0)
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE type = 'client.photo_changed' AND subject = $1`, c.ID); n != 1 {
			t.Fatalf("client.photo_changed events: %d", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'client.photo.set' AND client_id = $1`, c.ID); n != 1 {
			t.Fatalf("photo.set audit rows: %d", n)
		}
		// The bytes come back as they went in, and the fetch is audited.
		reads := func() int {
			return e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'client.photo.read' AND client_id = $1`, c.ID)
		}
		info, got, err := e.svc.Photo(e.ctx, c.ID)
		if err != nil || !bytes.Equal(got, pic) || info.ID != ch.Photo.ID {
			t.Fatalf("photo: %v, %d bytes", err, len(got))
		}
		if reads() != 1 {
			t.Fatalf("photo reads audited: %d", reads())
		}
		// The record knows it has a photo, and the timeline says so.
		rec, err := e.svc.Get(e.ctx, c.ID)
		if err != nil || rec.Photo == nil || rec.Photo.ID != info.ID || rec.Version != ch.ClientVersion {
			t.Fatalf("get: %v %+v", err, rec)
		}
		tl, err := e.svc.Timeline(e.ctx, c.ID, rec.UpdatedAt.AddDate(0, 0, 1), 1)
		if err != nil || len(tl) != 1 || tl[0].Kind != "photo" || tl[0].Summary != "Photo added" {
			t.Fatalf("timeline: %v %+v", err, tl)
		}
		// An edit from an older copy of the record is refused now.
		_, err = e.svc.UpdateDetails(e.ctx, c.ID, c.Version, PersonDetails{GivenName: "Pia", FamilyName: "Bild", BirthDate: c.BirthDate, Sex: "F"})
		if apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale edit after a photo: %v", err)
		}
		// A stale photo change too; the current version replaces it.
		if _, err := e.svc.SetPhoto(e.ctx, c.ID, c.Version, jpegBytes(t, 64, 64), ""); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale replace: %v", err)
		}
		jp := jpegBytes(t, 200, 200)
		ch2, err := e.svc.SetPhoto(e.ctx, c.ID, ch.ClientVersion, jp, "image/jpeg")
		if err != nil || ch2.Photo.ContentType != "image/jpeg" || ch2.ClientVersion != ch.ClientVersion+1 {
			t.Fatalf("replace: %v %+v", err, ch2)
		}
		if n := e.count(`SELECT COUNT(*) FROM client_photos WHERE client_id = $1`, c.ID); n != 1 {
			t.Fatalf("photos after a replacement: %d", n)
		}
		if _, got, _ := e.svc.Photo(e.ctx, c.ID); !bytes.Equal(got, jp) {
			t.Fatal("the replacement is not what is served")
		}
		// A bad file changes nothing.
		if _, err := e.svc.SetPhoto(e.ctx, c.ID, 0, []byte("not an image"), ""); fieldOf(err) != "photo" {
			t.Fatalf("bad file: %v", err)
		}
		// Removal.
		ch3, err := e.svc.RemovePhoto(e.ctx, c.ID, ch2.ClientVersion)
		if err != nil || ch3.Photo != nil || ch3.ClientVersion != ch2.ClientVersion+1 {
			t.Fatalf("remove: %v %+v", err, ch3)
		}
		if _, _, err := e.svc.Photo(e.ctx, c.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("photo after removal: %v", err)
		}
		if _, err := e.svc.RemovePhoto(e.ctx, c.ID, 0); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("removing nothing: %v", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM outbox WHERE type = 'client.photo_changed' AND subject = $1`, c.ID); n != 3 {
			t.Fatalf("client.photo_changed events: %d, want 3", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM client_history WHERE client_id = $1 AND kind = 'photo'`, c.ID); n != 3 {
			t.Fatalf("photo timeline lines: %d, want 3", n)
		}
		if rec, _ := e.svc.Get(e.ctx, c.ID); rec.Photo != nil {
			t.Fatal("the record still shows a photo")
		}
	})
}

// multipartPhoto is a browser's photo form: the file under "photo" and
// the other fields.
func multipartPhoto(t *testing.T, filename string, data []byte, fields map[string]string) (body, contentType string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v) //nolint:errcheck
	}
	if filename != "" {
		fw, err := mw.CreateFormFile("photo", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data) //nolint:errcheck
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

func (c *caller) upload(id, filename string, data []byte, version int, hdr ...string) (*http.Response, string) {
	c.h.t.Helper()
	body, ct := multipartPhoto(c.h.t, filename, data, map[string]string{"csrf": c.csrf, "version": itoa(version)})
	return c.do("POST", "/clients/"+id+"/photo", body, append([]string{"Content-Type", ct}, hdr...)...)
}

func TestPhotoPages(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHTTPEnv(t, d)
		c := h.admitted("Pelle", "Porträtt", "A1")
		cw := h.staff("cw", access.CaseWorker, h.inst.ID)
		reads := func() int {
			return h.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'client.photo.read' AND client_id = $1`, c.ID)
		}

		// No photo yet: the page offers the upload form, as a multipart
		// form that custodia.js leaves alone (no data-queue, no data-keep).
		res, page := cw.do("GET", "/clients/"+c.ID, "")
		if res.StatusCode != 200 || strings.Contains(page, `<img class="client-photo"`) {
			t.Fatalf("page: %d", res.StatusCode)
		}
		form := regexp.MustCompile(`(?s)<form[^>]*action="/clients/` + c.ID + `/photo"[^>]*>`).FindString(page)
		if !strings.Contains(form, `enctype="multipart/form-data"`) || strings.Contains(form, "data-queue") || strings.Contains(form, "data-keep") {
			t.Fatalf("photo form: %q", form)
		}
		if res, _ := cw.do("GET", "/clients/"+c.ID+"/photo", ""); res.StatusCode != 404 {
			t.Fatalf("photo before any: %d", res.StatusCode)
		}

		// A text file named .jpg: 422, the message beside the field.
		cur, _ := findClient(h.ctx, h.db, c.ID)
		res, page = cw.upload(c.ID, "passport.jpg", []byte("This is a text file, not a JPEG.\n"), cur.Version)
		if res.StatusCode != 422 || !strings.Contains(page, `id="e-f-photo"`) || !strings.Contains(page, msgPhotoType) {
			t.Fatalf("text as .jpg: %d", res.StatusCode)
		}
		// In Swedish.
		res, page = cw.upload(c.ID, "passport.jpg", []byte("text"), cur.Version, "Accept-Language", "sv")
		if res.StatusCode != 422 || !strings.Contains(page, "inte en JPEG- eller PNG-bild") {
			t.Fatalf("Swedish: %d", res.StatusCode)
		}
		// No file at all, or not a multipart form: 422 too.
		if res, _ := cw.upload(c.ID, "", nil, cur.Version); res.StatusCode != 422 {
			t.Fatalf("no file: %d", res.StatusCode)
		}
		if res, _ := cw.do("POST", "/clients/"+c.ID+"/photo", "csrf="+cw.csrf); res.StatusCode != 422 {
			t.Fatalf("a URL-encoded form: %d", res.StatusCode)
		}
		// Over 2 MiB, whether the CSRF token is in the form or a header.
		big := append(jpegBytes(t, 64, 64), make([]byte, MaxPhotoBytes)...)
		for _, hdr := range [][]string{nil, {"X-CSRF-Token", cw.csrf}} {
			res, page = cw.upload(c.ID, "big.jpg", big, cur.Version, hdr...)
			if (res.StatusCode != 413 && res.StatusCode != 422) || !strings.Contains(page, "larger than 2 MiB") {
				t.Fatalf("over 2 MiB: %d", res.StatusCode)
			}
		}
		if n := h.count(`SELECT COUNT(*) FROM client_photos`); n != 0 {
			t.Fatalf("refused uploads stored %d photos", n)
		}

		// An officer may see the record but not change the photo; a case
		// worker of another institution may not touch it at all.
		off := h.staff("off", access.Officer, h.inst.ID)
		if res, _ := off.upload(c.ID, "p.png", pngBytes(t, 64, 64), cur.Version); res.StatusCode != 403 {
			t.Fatalf("officer upload: %d", res.StatusCode)
		}
		other := h.staff("cw2", access.CaseWorker, h.inst2.ID)
		if res, _ := other.upload(c.ID, "p.png", pngBytes(t, 64, 64), cur.Version); res.StatusCode != 403 {
			t.Fatalf("upload outside the caseload: %d", res.StatusCode)
		}

		// A PNG: saved, shown in the header with alt text, served privately.
		pic := pngBytes(t, 90, 120)
		res, _ = cw.upload(c.ID, "pelle.png", pic, cur.Version)
		if res.StatusCode != 303 || res.Header.Get("Location") != "/clients/"+c.ID {
			t.Fatalf("upload: %d", res.StatusCode)
		}
		before := reads()
		res, got := cw.do("GET", "/clients/"+c.ID+"/photo", "")
		if res.StatusCode != 200 || got != string(pic) || res.Header.Get("Content-Type") != "image/png" ||
			res.Header.Get("Cache-Control") != "private, no-store" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("photo: %d %v", res.StatusCode, res.Header)
		}
		if reads() != before+1 {
			t.Fatalf("the fetch was not audited (%d → %d)", before, reads())
		}
		var detail string
		if err := h.db.QueryRowContext(h.ctx, `SELECT detail FROM audit_log WHERE action = 'client.photo.read' AND client_id = $1`, c.ID).Scan(&detail); err != nil || detail != "classes=special-category" {
			t.Fatalf("photo read detail: %q %v", detail, err)
		}
		if res, _ := other.do("GET", "/clients/"+c.ID+"/photo", ""); res.StatusCode != 403 {
			t.Fatalf("fetch outside the caseload: %d", res.StatusCode)
		}
		if res, got := off.do("GET", "/clients/"+c.ID+"/photo", ""); res.StatusCode != 200 || got != string(pic) {
			t.Fatalf("officer fetch: %d", res.StatusCode)
		}
		_, page = cw.do("GET", "/clients/"+c.ID, "")
		img := regexp.MustCompile(`<img class="client-photo"[^>]*>`).FindString(page)
		if !strings.Contains(img, `src="/clients/`+c.ID+`/photo"`) || !strings.Contains(img, `alt="Photo of Pelle Porträtt"`) || !strings.Contains(img, `width="90" height="120"`) {
			t.Fatalf("header image: %q", img)
		}
		if !strings.Contains(page, `action="/clients/`+c.ID+`/photo/delete"`) {
			t.Fatal("no remove button")
		}
		// Replace with a JPEG from an older page: refused as stale.
		res, _ = cw.upload(c.ID, "new.jpg", jpegBytes(t, 100, 100), cur.Version)
		if res.StatusCode != 409 {
			t.Fatalf("stale replace: %d", res.StatusCode)
		}
		cur, _ = findClient(h.ctx, h.db, c.ID)
		jp := jpegBytes(t, 100, 100)
		if res, _ := cw.upload(c.ID, "new.jpg", jp, cur.Version); res.StatusCode != 303 {
			t.Fatalf("replace: %d", res.StatusCode)
		}
		if res, got := cw.do("GET", "/clients/"+c.ID+"/photo", ""); got != string(jp) || res.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatal("the replacement is not served")
		}

		// Remove: an officer may not; the case worker may.
		cur, _ = findClient(h.ctx, h.db, c.ID)
		rm := "csrf=" + off.csrf + "&version=" + itoa(cur.Version)
		if res, _ := off.do("POST", "/clients/"+c.ID+"/photo/delete", rm); res.StatusCode != 403 {
			t.Fatalf("officer remove: %d", res.StatusCode)
		}
		// A form without the record's version changes nothing.
		if res, _ := cw.do("POST", "/clients/"+c.ID+"/photo/delete", "csrf="+cw.csrf); res.StatusCode != 422 {
			t.Fatalf("remove without a version: %d", res.StatusCode)
		}
		if res, _ := cw.do("GET", "/clients/"+c.ID+"/photo", ""); res.StatusCode != 200 {
			t.Fatalf("a remove without a version removed the photo: %d", res.StatusCode)
		}
		rm = "csrf=" + cw.csrf + "&version=" + itoa(cur.Version)
		if res, _ := cw.do("POST", "/clients/"+c.ID+"/photo/delete", rm); res.StatusCode != 303 {
			t.Fatalf("remove: %d", res.StatusCode)
		}
		if res, _ := cw.do("GET", "/clients/"+c.ID+"/photo", ""); res.StatusCode != 404 {
			t.Fatalf("photo after removal: %d", res.StatusCode)
		}
		if res, _ := cw.do("POST", "/clients/"+c.ID+"/photo/delete", rm); res.StatusCode == 303 || res.StatusCode >= 500 {
			t.Fatalf("removing again: %d", res.StatusCode)
		}
	})
}

func TestPhotoAPI(t *testing.T) {
	dbtest.Engines(t, func(t *testing.T, d *db.DB) {
		h := newHTTPEnv(t, d)
		c := h.admitted("Ada", "Api", "A1")
		cw := h.apiToken(access.CaseWorker, h.inst.ID)
		put := func(who *caller, ct string, body []byte, hdr ...string) (*http.Response, string) {
			t.Helper()
			return who.do("PUT", "/api/v1/clients/"+c.ID+"/photo", string(body), append([]string{"Content-Type", ct}, hdr...)...)
		}
		jp := jpegBytes(t, 160, 200)
		res, out := put(cw, "image/jpeg", jp)
		var ch PhotoChange
		if mustJSON(t, out, &ch); res.StatusCode != 200 || ch.Photo == nil || ch.Photo.ContentType != "image/jpeg" || ch.Photo.Size != len(jp) {
			t.Fatalf("put: %d %s", res.StatusCode, out)
		}
		res, got := cw.do("GET", "/api/v1/clients/"+c.ID+"/photo", "")
		if res.StatusCode != 200 || got != string(jp) || res.Header.Get("Content-Type") != "image/jpeg" || res.Header.Get("Cache-Control") != "private, no-store" {
			t.Fatalf("get: %d %v", res.StatusCode, res.Header)
		}
		// The record names the photo.
		_, out = cw.do("GET", "/api/v1/clients/"+c.ID, "")
		var rec Client
		if mustJSON(t, out, &rec); rec.Photo == nil || rec.Photo.ID != ch.Photo.ID || rec.Version != ch.ClientVersion {
			t.Fatalf("record: %s", out)
		}
		var p problem
		for name, tc := range map[string]struct {
			ct     string
			body   []byte
			hdr    []string
			status int
			field  string
		}{
			"json":         {"application/json", []byte(`{}`), nil, 415, ""},
			"no type":      {"", jp, nil, 415, ""},
			"text as jpeg": {"image/jpeg", []byte("plain text"), nil, 422, "photo"},
			"png as jpeg":  {"image/jpeg", pngBytes(t, 64, 64), nil, 422, "photo"},
			"empty":        {"image/png", nil, nil, 422, "photo"},
			"just over":    {"image/png", append(pngBytes(t, 64, 64), make([]byte, MaxPhotoBytes)...), nil, 413, ""},
			"far over":     {"image/png", make([]byte, 3*MaxPhotoBytes), nil, 413, ""},
			"stale":        {"image/png", pngBytes(t, 64, 64), []string{"If-Match", `"1"`}, 409, ""},
			"bad if-match": {"image/png", pngBytes(t, 64, 64), []string{"If-Match", "*"}, 422, "If-Match"},
		} {
			t.Run(name, func(t *testing.T) {
				res, out := put(cw, tc.ct, tc.body, tc.hdr...)
				if mustJSON(t, out, &p); res.StatusCode != tc.status || (tc.field != "" && p.field() != tc.field) {
					t.Fatalf("%d %s", res.StatusCode, out)
				}
				if tc.status == 413 && !strings.Contains(p.Detail, "2 MiB") {
					t.Fatalf("no clear message: %s", out)
				}
			})
		}
		// Without client.write, or outside the caseload: 403.
		off := h.apiToken(access.Officer, h.inst.ID)
		if res, _ := put(off, "image/png", pngBytes(t, 64, 64)); res.StatusCode != 403 {
			t.Fatalf("officer put: %d", res.StatusCode)
		}
		if res, _ := off.do("DELETE", "/api/v1/clients/"+c.ID+"/photo", ""); res.StatusCode != 403 {
			t.Fatalf("officer delete: %d", res.StatusCode)
		}
		far := h.apiToken(access.CaseWorker, h.inst2.ID)
		if res, _ := put(far, "image/png", pngBytes(t, 64, 64)); res.StatusCode != 403 {
			t.Fatalf("put outside the caseload: %d", res.StatusCode)
		}
		if res, _ := far.do("GET", "/api/v1/clients/"+c.ID+"/photo", ""); res.StatusCode != 403 {
			t.Fatalf("get outside the caseload: %d", res.StatusCode)
		}
		// Replace at the current version, then delete.
		pic := pngBytes(t, 64, 80)
		res, out = put(cw, "image/png; charset=binary", pic, "If-Match", `"`+itoa(ch.ClientVersion)+`"`)
		if mustJSON(t, out, &ch); res.StatusCode != 200 || ch.Photo.ContentType != "image/png" {
			t.Fatalf("replace: %d %s", res.StatusCode, out)
		}
		if _, got := cw.do("GET", "/api/v1/clients/"+c.ID+"/photo", ""); got != string(pic) {
			t.Fatal("the replacement is not served")
		}
		res, out = cw.do("DELETE", "/api/v1/clients/"+c.ID+"/photo", "")
		var gone PhotoChange
		if mustJSON(t, out, &gone); res.StatusCode != 200 || gone.Photo != nil || gone.ClientVersion != ch.ClientVersion+1 {
			t.Fatalf("delete: %d %s", res.StatusCode, out)
		}
		if res, _ := cw.do("DELETE", "/api/v1/clients/"+c.ID+"/photo", ""); res.StatusCode != 404 {
			t.Fatalf("delete again: %d", res.StatusCode)
		}
		if res, _ := cw.do("GET", "/api/v1/clients/"+c.ID+"/photo", ""); res.StatusCode != 404 {
			t.Fatalf("get after delete: %d", res.StatusCode)
		}
	})
}
