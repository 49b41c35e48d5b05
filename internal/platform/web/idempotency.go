// SPDX-License-Identifier: AGPL-3.0-or-later

package web

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/custodia/custodia/internal/platform/access"
	"github.com/custodia/custodia/internal/platform/apperr"
	"github.com/custodia/custodia/internal/platform/db"
)

// idempotencyKey is the Idempotency-Key header (API) or the
// idempotency_key form field that the browser's offline queue puts in
// every form it may resend.
func idempotencyKey(r *http.Request) string {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if k == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		k = strings.TrimSpace(r.PostFormValue("idempotency_key"))
	}
	if len(k) > 200 {
		k = k[:200]
	}
	return k
}

// IdempotencyKey is the request's Idempotency-Key (header, or the form's
// idempotency_key field), for routes that declare OwnIdempotency.
func IdempotencyKey(r *http.Request) string { return idempotencyKey(r) }

// recorder captures a response so that a repeat of the request can be
// answered with it.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (rec *recorder) WriteHeader(s int) {
	if rec.status == 0 {
		rec.status = s
	}
	rec.ResponseWriter.WriteHeader(s)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	rec.body.Write(b)
	return rec.ResponseWriter.Write(b)
}

// The states of a claimed key (idempotency.status): 0 while the first
// attempt runs, committedNoAnswer once its change has committed (set
// inside the change's own transaction), then the answer's HTTP status.
const committedNoAnswer = -1

// staleClaim is how long an attempt may run before its claim is taken to
// be dead (the server stopped mid-request): longer than any request may
// last (the server's write timeout is a minute).
const staleClaim = 2 * time.Minute

// idempotent runs a creating POST at most once per (principal, key). The
// key is claimed in the database before the handler runs, so a concurrent
// repeat — on this server or another — waits for the answer instead of
// creating a second record. A repeat gets the first answer: same status,
// same body, same Location.
//
// The server can stop at any moment. The first write transaction that
// commits under the request marks the claim committedNoAnswer in that
// same transaction, so a retry after a crash knows which case it is in:
// a claim still at 0 long after it was made belonged to an attempt that
// died before changing anything, and is taken over (the handler runs);
// a committed claim whose answer never came is answered as done, without
// running the handler again.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, rt Route, p *access.Principal, key string) {
	ctx := r.Context()
	route := rt.Method + " " + r.URL.Path
	claimed, err := s.claimKey(ctx, p.ID, key, route)
	if err != nil {
		s.fail(w, r, rt, err)
		return
	}
	if !claimed {
		// Wait (bounded) for a concurrent first attempt to finish.
		deadline := time.Now().Add(10 * time.Second)
		for {
			a, err := s.storedAnswer(ctx, p.ID, key)
			if err != nil {
				s.fail(w, r, rt, err)
				return
			}
			if a.route != route {
				s.fail(w, r, rt, apperr.Field("Idempotency-Key", "This key was already used for a different request."))
				return
			}
			if a.status > 0 {
				if a.loc != "" {
					w.Header().Set("Location", a.loc)
				}
				if strings.HasPrefix(strings.TrimSpace(a.body), "{") {
					w.Header().Set("Content-Type", "application/json")
				}
				w.Header().Set("Idempotent-Replayed", "true")
				w.WriteHeader(a.status)
				w.Write([]byte(a.body)) //nolint:errcheck
				return
			}
			stale := s.DB.Now().Sub(a.created) > staleClaim
			if a.status == committedNoAnswer && stale {
				s.answerLost(w, r, rt)
				return
			}
			if a.status == 0 && stale {
				took, err := s.takeOver(ctx, p.ID, key, a.createdText)
				if err != nil {
					s.fail(w, r, rt, err)
					return
				}
				if took {
					break
				}
				continue
			}
			if time.Now().After(deadline) {
				if a.status == committedNoAnswer {
					s.answerLost(w, r, rt)
					return
				}
				s.fail(w, r, rt, apperr.New(apperr.Conflict, "A request with this Idempotency-Key is still being processed; retry shortly."))
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	ctx, mark := db.WithCommitMark(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency SET status = $1 WHERE principal = $2 AND key = $3 AND status = 0`, committedNoAnswer, p.ID, key)
		return err
	})
	r = r.WithContext(ctx)
	rec := &recorder{ResponseWriter: w}
	herr := rt.Handle(rec, r)
	if herr != nil {
		s.fail(rec, r, rt, herr)
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	if (status >= 400 || herr != nil) && !mark.Done() {
		// Refused or failed before changing anything: free the key and
		// let a corrected retry run. (A failure after a change committed
		// keeps its answer: running the request again would repeat it.)
		s.releaseKey(context.WithoutCancel(ctx), p.ID, key)
		return
	}
	body := rec.body.String()
	if rt.SecretAnswer {
		body = `{"replayed":true,"detail":"The first answer held a secret that is shown only once."}`
	}
	s.storeAnswer(context.WithoutCancel(ctx), p.ID, key, status, body, rec.Header().Get("Location"))
}

// answerLost answers a repeat whose first attempt committed its change
// but stopped before its answer was stored: the change is there, once.
// An API caller gets 200 saying so; a browser form goes back to where
// it came from.
func (s *Server) answerLost(w http.ResponseWriter, r *http.Request, rt Route) {
	w.Header().Set("Idempotent-Replayed", "true")
	if rt.API {
		WriteJSON(w, http.StatusOK, map[string]any{"replayed": true, "detail": "The first request with this Idempotency-Key was stored; its answer was lost."}) //nolint:errcheck
		return
	}
	to := "/"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && strings.HasPrefix(ref.Path, "/") {
		to = ref.RequestURI()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// KeepKeys is how long an Idempotency-Key is remembered; a retry later
// than this is a new request.
const KeepKeys = 24 * time.Hour

func (s *Server) claimKey(ctx context.Context, principal, key, route string) (claimed bool, err error) {
	err = s.DB.Transact(ctx, func(tx *db.Tx) error {
		// Forget this caller's expired keys first, so the table stays
		// bounded without a sweeper. That includes a claim whose answer was
		// never stored (the server stopped mid-request): it would otherwise
		// hold its key forever.
		if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE principal = $1 AND created_at < $2`,
			principal, db.FormatTime(tx.Now.Add(-KeepKeys))); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency (key, principal, route, status, body, location, created_at) VALUES ($1,$2,$3,0,'','',$4) ON CONFLICT DO NOTHING`,
			key, principal, route, tx.NowText())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

type answer struct {
	status           int
	body, loc, route string
	created          time.Time
	createdText      string
}

func (s *Server) storedAnswer(ctx context.Context, principal, key string) (answer, error) {
	var a answer
	err := s.DB.QueryRowContext(ctx, `SELECT status, body, location, route, created_at FROM idempotency WHERE principal = $1 AND key = $2`, principal, key).
		Scan(&a.status, &a.body, &a.loc, &a.route, &a.createdText)
	if errors.Is(err, sql.ErrNoRows) {
		// Released by a failed first attempt: tell the client to retry.
		return a, apperr.New(apperr.Conflict, "The first request with this Idempotency-Key failed; retry it.")
	}
	if err != nil {
		return a, err
	}
	a.created, err = db.ParseTime(a.createdText)
	return a, err
}

// takeOver claims a key whose first attempt died before changing
// anything; of several repeats doing so at once, one wins.
func (s *Server) takeOver(ctx context.Context, principal, key, created string) (bool, error) {
	res, err := s.DB.ExecContext(ctx, `UPDATE idempotency SET created_at = $1 WHERE principal = $2 AND key = $3 AND status = 0 AND created_at = $4`,
		db.FormatTime(s.DB.Now()), principal, key, created)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *Server) storeAnswer(ctx context.Context, principal, key string, status int, body, loc string) {
	if _, err := s.DB.ExecContext(ctx, `UPDATE idempotency SET status = $1, body = $2, location = $3 WHERE principal = $4 AND key = $5`, status, body, loc, principal, key); err != nil {
		s.Log.Error("idempotency: store answer", "err", err)
	}
}

func (s *Server) releaseKey(ctx context.Context, principal, key string) {
	if _, err := s.DB.ExecContext(ctx, `DELETE FROM idempotency WHERE principal = $1 AND key = $2`, principal, key); err != nil {
		s.Log.Error("idempotency: release key", "err", err)
	}
}
