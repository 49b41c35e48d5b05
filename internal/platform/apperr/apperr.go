// SPDX-License-Identifier: AGPL-3.0-or-later

// Package apperr is Custodia's one error vocabulary. Services return these
// typed errors; the web layer maps each code to an HTTP status and an RFC
// 9457 problem in one place, and the UI shows field messages next to the
// fields.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an error for callers.
type Code string

// The codes services use.
const (
	Invalid      Code = "invalid"      // bad input; nothing changed
	NotFound     Code = "not_found"    // no such thing, or the caller may not know it exists
	Conflict     Code = "conflict"     // stale version, duplicate, or a state that forbids it
	Forbidden    Code = "forbidden"    // the caller's role or caseload does not allow it
	Unauthorized Code = "unauthorized" // not signed in
	TooLarge     Code = "too_large"    // request body over the limit
	Internal     Code = "internal"     // our fault
)

// FieldError names one field at fault and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// Detail is extra context for the problem document (e.g. the current
	// version on a conflict).
	Detail map[string]any
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// New makes an error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field makes an invalid-input error for one field.
func Field(field, message string) *Error {
	return &Error{Code: Invalid, Message: "The request has invalid fields.", Fields: []FieldError{{field, message}}}
}

// Fields collects field errors during validation; Err returns nil when
// nothing was added, so validation reads top to bottom.
type Fields []FieldError

// Add records a problem with a field.
func (fs *Fields) Add(field, message string) { *fs = append(*fs, FieldError{field, message}) }

// Has reports whether field already has an error.
func (fs Fields) Has(field string) bool {
	for _, f := range fs {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Err is the collected errors as one Invalid error, or nil.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "The request has invalid fields.", Fields: fs}
}

// CodeOf returns err's code, Internal for foreign errors, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// StaleVersion is the conflict every versioned update returns when the
// row changed since the caller read it.
func StaleVersion(what string, current int) *Error {
	return &Error{Code: Conflict, Message: fmt.Sprintf("Someone else changed this %s since you loaded it; reload to see their change.", what),
		Detail: map[string]any{"current_version": current}}
}
