// SPDX-License-Identifier: AGPL-3.0-or-later

package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/custodia/custodia/internal/platform/apperr"
)

// Problem is an RFC 9457 problem document, with the fields at fault.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Errors   []apperr.FieldError `json:"errors,omitempty"`
	// Extension members (e.g. current_version, break_glass).
	Ext map[string]any `json:"-"`
}

// MarshalJSON inlines the extension members.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Ext) == 0 {
		return b, err
	}
	ext, err := json.Marshal(p.Ext)
	if err != nil {
		return nil, err
	}
	return append(append(b[:len(b)-1], ','), ext[1:]...), nil
}

// statusOf is the one place where error codes become HTTP statuses.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:      http.StatusUnprocessableEntity,
	apperr.NotFound:     http.StatusNotFound,
	apperr.Conflict:     http.StatusConflict,
	apperr.Forbidden:    http.StatusForbidden,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.TooLarge:     http.StatusRequestEntityTooLarge,
	apperr.Internal:     http.StatusInternalServerError,
	"method":            http.StatusMethodNotAllowed,
	"unsupported":       http.StatusUnsupportedMediaType,
}

var titleOf = map[apperr.Code]string{
	apperr.Invalid:      "Invalid input",
	apperr.NotFound:     "Not found",
	apperr.Conflict:     "Conflict",
	apperr.Forbidden:    "Forbidden",
	apperr.Unauthorized: "Unauthorized",
	apperr.TooLarge:     "Request too large",
	apperr.Internal:     "Internal error",
	"method":            "Method not allowed",
	"unsupported":       "Unsupported media type",
}

// Status is the HTTP status for err.
func Status(err error) int {
	if s, ok := statusOf[apperr.CodeOf(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ProblemOf turns err into a problem document.
func ProblemOf(r *http.Request, err error) Problem {
	code := apperr.CodeOf(err)
	p := Problem{Type: "/problems/" + strings.ReplaceAll(string(code), "_", "-"), Title: titleOf[code], Status: Status(err)}
	if r != nil {
		p.Instance = r.URL.Path
	}
	if e, ok := apperr.As(err); ok {
		p.Detail = e.Message
		p.Errors = e.Fields
		p.Ext = e.Detail
	} else {
		p.Detail = "Something went wrong on our side."
	}
	if p.Title == "" {
		p.Title = "Error"
	}
	return p
}

// WriteProblem answers err as application/problem+json.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemOf(r, err)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p) //nolint:errcheck // the client went away
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// DecodeJSON reads a JSON request body into v, strictly: the content type
// must be JSON, unknown fields and trailing data are refused, and every
// failure names the field at fault.
func DecodeJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/merge-patch+json") {
		return &apperr.Error{Code: "unsupported", Message: "Send the body as application/json."}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return apperr.Field("body", "The body must hold exactly one JSON object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.Field("body", "The body must hold exactly one JSON object.")
	}
	return nil
}

// tooLarge is the answer to a body over the route's limit.
func tooLarge(mbe *http.MaxBytesError) error {
	return apperr.New(apperr.TooLarge, "The request body is larger than %d bytes.", mbe.Limit)
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe)
	case errors.Is(err, io.EOF):
		return apperr.Field("body", "The body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Field("body", "The JSON ends too early.")
	case errors.As(err, &syn):
		return apperr.Field("body", fmt.Sprintf("The JSON is malformed at byte %d.", syn.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return apperr.Field(field, fmt.Sprintf("Must be %s, not %s.", jsonKind(typ.Type.Kind().String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Field(name, "This field is not part of the request.")
	}
	return apperr.Field("body", "The JSON could not be read: "+err.Error())
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return k
}
