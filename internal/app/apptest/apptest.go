// SPDX-License-Identifier: AGPL-3.0-or-later

// Package apptest starts the whole system for end-to-end tests: the real
// app on a temporary SQLite file and an embedded NATS, listening on
// 127.0.0.1, and a headless Chromium driven by chromedp.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custodia/custodia/internal/app"
	"github.com/custodia/custodia/internal/platform/testenv"
)

// Start runs the app on a fresh SQLite database with an embedded bus.
func Start(t testing.TB) *app.App {
	t.Helper()
	dir := t.TempDir()
	a, err := app.New(context.Background(), app.Config{
		DB:      filepath.Join(dir, "custodia.db"),
		DataDir: dir,
		Addr:    "127.0.0.1:0",
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		a.Close()
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// HTTPClient is a client with a cookie jar that does not follow redirects,
// so tests see the server's 303s.
func HTTPClient(t testing.TB) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Browser starts a headless Chromium and returns a chromedp context for
// one tab; it skips (or fails under CUSTODIA_REQUIRE_ALL=1) without
// Chromium.
func Browser(t testing.TB) context.Context {
	t.Helper()
	path := testenv.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	// The first action starts the browser, which lives as long as the
	// context of that call, so the timeout goes on a derived context.
	if err := chromedp.Do(bctx); err != nil {
		cancelB()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	return ctx
}
