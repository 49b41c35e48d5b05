// SPDX-License-Identifier: AGPL-3.0-or-later
//
// sw.js: the service worker. It sends the outbox (see custodia-outbox.js)
// when no page does — after the tab that queued a registration was closed —
// and shows a generic page when a page cannot be loaded at all. Served at
// /sw.js so that its scope is the whole site.
//
// It flushes
//   - when a page asks (message {type: 'flush'}): on a failed submit, on
//     load, on "online", when an item falls due, and when the page goes
//     away; it then keeps retrying with backoff for a few minutes, within
//     the time the browser gives a worker for one event;
//   - on a Background Sync "sync" event (tag custodia-outbox), which the
//     browser fires when it is online, also with no tab open, and fires
//     again later while the event fails, which it does while items wait.
// One sender runs at a time (the Web Lock in custodia-outbox.js).
//
// Caching. It never caches a page that holds personal data (wing tablets
// are shared). At install it caches /offline — a public page with no
// personal data, fetched without cookies, in every language — and the
// static assets that page needs, in a cache named after VERSION (a hash of
// all of them, set by the server), and on activate it deletes the caches
// of older versions. Then:
//   - a navigation (GET) goes to the network; only when the network fails
//     (not on an HTTP error, which the browser shows as it is) does it
//     answer with the cached /offline page, in the language the last page
//     said it was in (message {type: 'lang'}). The address bar keeps the
//     URL asked for: the offline page reloads it when the server answers;
//   - the precached assets go to the network first, the cache when it
//     fails;
//   - everything else (POSTs, htmx, /session, /healthz) passes untouched.
importScripts('/assets/custodia-outbox.js');

(function () {
  'use strict';

  var O = self.custodiaOutbox;
  var TAG = 'custodia-outbox';
  // Browsers stop a worker whose event runs for more than about five
  // minutes; each event keeps it alive for at most this long.
  var BUDGET = 4 * 60 * 1000;

  // The session as the last page that asked knew it ({user, csrf}); the
  // sender asks GET /session when there is none or it turned out stale.
  var hint = null, stale = {};
  var running = null, deadline = 0, wake = null;
  function sleep(ms) {
    return new Promise(function (resolve) {
      var t = setTimeout(resolve, ms);
      wake = function () { clearTimeout(t); resolve(); };
    });
  }
  // drain flushes until nothing of the signed-in user waits, nobody is
  // signed in, or the next try would fall after the deadline. A second call
  // while it runs moves the deadline and tries at once.
  function drain(budget) {
    deadline = Math.max(deadline, Date.now() + budget);
    if (running) { if (wake) wake(); return running; }
    var loop = function () {
      wake = null;
      return O.flush(hint).then(function (s) {
        // A token the server refused is not taken from a page again.
        if (s && s.stale && hint) { stale[hint.csrf] = true; hint = null; }
        if (!s || s.auth || !s.left) return s;
        var wait = Math.max(0, s.next - Date.now()) + 50;
        if (Date.now() + wait > deadline) return s;
        return sleep(wait).then(loop);
      });
    };
    running = loop().then(function (s) { running = null; return s; }, function () { running = null; return null; });
    return running;
  }
  function limited(budget) {
    var cut;
    return Promise.race([drain(budget), new Promise(function (resolve) { cut = setTimeout(function () { resolve({ left: 1, timeout: true }); }, budget); })])
      .then(function (s) { clearTimeout(cut); return s; });
  }

  // ---------- The offline page ----------
  var VERSION = '__CUSTODIA_SW_VERSION__';
  var PREFIX = 'custodia-offline-', CACHE = PREFIX + VERSION;
  var OFFLINE = '/offline', LANGS = ['en', 'sv', 'nb', 'da'];
  var ASSETS = ['/assets/custodia.css', '/assets/htmx.min.js', '/assets/custodia-outbox.js', '/assets/custodia.js'];
  var noop = function () {};

  // precache fetches the offline page (under OFFLINE in the browser's
  // language, and under OFFLINE?lang=… in each language) and the assets.
  // Without cookies, so nothing of a session can be in them; past the HTTP
  // cache, so they are this version's.
  function precache() {
    var urls = [OFFLINE].concat(LANGS.map(function (l) { return OFFLINE + '?lang=' + l; }), ASSETS);
    return caches.open(CACHE).then(function (c) {
      return c.addAll(urls.map(function (u) { return new Request(u, { credentials: 'omit', cache: 'reload' }); }));
    });
  }
  // useLang makes the page under OFFLINE the one in lang, the language the
  // last page was shown in.
  function useLang(lang) {
    if (LANGS.indexOf(lang) < 0) return Promise.resolve();
    return caches.open(CACHE).then(function (c) {
      return c.match(OFFLINE).then(function (cur) {
        if (cur && cur.headers.get('Content-Language') === lang) return undefined;
        return c.match(OFFLINE + '?lang=' + lang).then(function (page) {
          // Missing: the install could not cache it; try again now that a
          // page has loaded.
          if (!page) return precache().then(function () { return useLang(lang); });
          return c.put(OFFLINE, page);
        });
      });
    }).catch(noop);
  }
  function offlinePage() {
    return caches.open(CACHE).then(function (c) { return c.match(OFFLINE); })
      .then(function (page) { return page || Response.error(); }, function () { return Response.error(); });
  }

  // A failed precache does not stop the install: the worker's first job is
  // the outbox. Without the page cached, a navigation that fails shows the
  // browser's own error page, as it would with no worker.
  self.addEventListener('install', function (e) {
    e.waitUntil(precache().catch(noop).then(function () { return self.skipWaiting(); }));
  });
  self.addEventListener('activate', function (e) {
    e.waitUntil(caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf(PREFIX) === 0 && k !== CACHE; }).map(function (k) { return caches.delete(k); }));
    }).catch(noop).then(function () { return self.clients.claim(); }));
  });

  self.addEventListener('fetch', function (e) {
    var req = e.request;
    if (req.method !== 'GET') return;
    var url = new URL(req.url);
    if (url.origin !== self.location.origin) return;
    if (req.mode === 'navigate') {
      e.respondWith(fetch(req).catch(offlinePage));
      return;
    }
    if (ASSETS.indexOf(url.pathname) >= 0) {
      e.respondWith(fetch(req).catch(function (err) {
        return caches.open(CACHE).then(function (c) { return c.match(url.pathname); }).then(function (res) {
          if (res) return res;
          throw err;
        });
      }));
    }
  });

  self.addEventListener('message', function (e) {
    if (e.data && e.data.type === 'lang') { e.waitUntil(useLang(e.data.lang)); return; }
    if (!e.data || e.data.type !== 'flush') return;
    if (e.data.user && e.data.csrf && !stale[e.data.csrf]) hint = { user: e.data.user, csrf: e.data.csrf };
    e.waitUntil(limited(BUDGET));
  });

  self.addEventListener('sync', function (e) {
    if (e.tag !== TAG) return;
    e.waitUntil(limited(BUDGET).then(function (s) {
      // Still waiting: fail the event, so the browser fires it again later.
      if (s && s.left && !s.auth && !e.lastChance) throw new Error('custodia: the outbox still holds items');
    }));
  });
})();
