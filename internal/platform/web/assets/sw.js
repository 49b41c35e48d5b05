// SPDX-License-Identifier: AGPL-3.0-or-later
//
// sw.js: the service worker that sends the outbox (see custodia-outbox.js)
// when no page does — after the tab that queued a registration was closed.
// Served at /sw.js so that its scope is the whole site. It has no fetch
// handler: it never serves or caches pages, which hold personal data.
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

  self.addEventListener('install', function () { self.skipWaiting(); });
  self.addEventListener('activate', function (e) { e.waitUntil(self.clients.claim()); });

  self.addEventListener('message', function (e) {
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
