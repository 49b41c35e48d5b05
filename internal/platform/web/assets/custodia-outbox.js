// SPDX-License-Identifier: AGPL-3.0-or-later
//
// custodia-outbox.js: where the browser keeps what is typed and what waits to
// be sent, and the one sender of the outbox. It has no DOM and runs in the
// page (loaded before custodia.js) and in the service worker (sw.js imports
// it), so both send the same way. It defines self.custodiaOutbox.
//
// IndexedDB database "custodia", object stores:
//   drafts  {key, user, t, f: [[name, value]…], k}  key is
//           "custodia:<user>:draft:<data-keep>:<path>"; k is the
//           Idempotency-Key of the submit the draft became, if any.
//   outbox  {id, user, url, body, page, label, keep, t, tries, next,
//           rejected, error}  id is the Idempotency-Key; body is the form,
//           URL-encoded; keep is the key of the form's draft.
//   sent    {id, t}  the keys the server confirmed, so that a copy left in
//           the synchronous journal (see custodia.js) is not sent again.
//
// Sending: flush() asks GET /session who is signed in (and for that
// session's CSRF token) and sends that user's due items, one at a time,
// under the Web Lock "custodia-outbox", so one sender runs at a time across
// tabs and the worker. Items of another user wait for that user.
(function (global) {
  'use strict';

  var NAME = 'custodia', LOCK = 'custodia-outbox', CHANNEL = 'custodia-outbox';
  var STORES = { drafts: 'key', outbox: 'id', sent: 'id' };
  var BASE_DELAY = 2000, MAX_DELAY = 5 * 60 * 1000, SEND_TIMEOUT = 30 * 1000;
  // A 403 (stale CSRF token) or 409 (the first copy still being worked on)
  // is retried this often before it counts as a refusal.
  var SOFT_TRIES = 5;
  var KEEP_SENT = 30 * 24 * 3600 * 1000;

  // ---------- IndexedDB: one small promise wrapper ----------
  var dbp = null;
  function open(version) {
    return new Promise(function (resolve, reject) {
      var req = version ? indexedDB.open(NAME, version) : indexedDB.open(NAME);
      req.onupgradeneeded = function () {
        var d = req.result;
        Object.keys(STORES).forEach(function (s) {
          if (!d.objectStoreNames.contains(s)) d.createObjectStore(s, { keyPath: STORES[s] });
        });
      };
      req.onsuccess = function () {
        var d = req.result;
        // A database opened elsewhere without our stores: add them.
        if (Object.keys(STORES).some(function (s) { return !d.objectStoreNames.contains(s); })) {
          var v = d.version + 1; d.close(); resolve(open(v)); return;
        }
        d.onversionchange = function () { d.close(); dbp = null; };
        resolve(d);
      };
      req.onerror = function () { reject(req.error); };
    });
  }
  function db() {
    if (!dbp) { dbp = open(); dbp.catch(function () { dbp = null; }); }
    return dbp;
  }
  // run opens one transaction on names and calls fn with their stores. It
  // resolves once the transaction has committed (durably, for writes) with
  // fn's result: a request's result, or what a returned function gives.
  function run(names, mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = mode === 'readwrite' ? d.transaction(names, mode, { durability: 'strict' }) : d.transaction(names, mode);
        var out = fn.apply(null, [].concat(names).map(function (n) { return t.objectStore(n); }));
        t.oncomplete = function () { resolve(typeof out === 'function' ? out() : out instanceof IDBRequest ? out.result : out); };
        t.onerror = t.onabort = function () { reject(t.error || new Error('IndexedDB: transaction failed')); };
      });
    });
  }
  function all(store) { return run(store, 'readonly', function (s) { return s.getAll(); }).then(function (v) { return v || []; }); }
  function get(store, key) { return run(store, 'readonly', function (s) { return s.get(key); }); }
  function put(store, value) { return run(store, 'readwrite', function (s) { s.put(value); }); }
  function del(store, key) { return run(store, 'readwrite', function (s) { s.delete(key); }); }
  // update changes one record in one transaction: fn gets the stored value
  // (undefined if none) and returns the new one, null to delete it, or
  // undefined to leave it.
  function update(store, key, fn) {
    var res;
    return run(store, 'readwrite', function (s) {
      s.get(key).onsuccess = function (e) {
        res = fn(e.target.result);
        if (res === null) s.delete(key); else if (res !== undefined) s.put(res);
      };
      return function () { return res; };
    });
  }
  function prefixRange(p) { return IDBKeyRange.bound(p, p + '\uffff'); }

  // ---------- Drafts ----------
  function getDraft(key) { return get('drafts', key); }
  function putDraft(d) { return put('drafts', d); }
  // deleteDrafts deletes the draft key, or every draft whose key starts
  // with prefix.
  function deleteDrafts(key, prefix) {
    return run('drafts', 'readwrite', function (s) { s.delete(prefix ? prefixRange(prefix) : key); });
  }
  function draftPrefix(user, keep) { return 'custodia:' + user + ':draft:' + keep + ':'; }

  // ---------- Outbox ----------
  function items(user) {
    return all('outbox').then(function (box) {
      return box.filter(function (i) { return user === undefined || i.user === user; })
        .sort(function (a, b) { return (a.t || 0) - (b.t || 0); });
    });
  }
  function add(item) { return put('outbox', item); }
  // done removes a delivered item and remembers its key.
  function done(id) {
    return run(['outbox', 'sent'], 'readwrite', function (o, s) { o.delete(id); s.put({ id: id, t: Date.now() }); });
  }
  function wasSent(ids) {
    return all('sent').then(function (rows) {
      var seen = {};
      rows.forEach(function (r) { seen[r.id] = true; });
      return ids.filter(function (id) { return seen[id]; });
    });
  }
  function pruneSent() {
    var cutoff = Date.now() - KEEP_SENT;
    return run('sent', 'readwrite', function (s) {
      s.openCursor().onsuccess = function (e) {
        var c = e.target.result;
        if (!c) return;
        if (c.value.t < cutoff) c.delete();
        c.continue();
      };
    });
  }
  function backoff(tries) { return Math.min(MAX_DELAY, BASE_DELAY * Math.pow(2, tries)) * (0.5 + Math.random() / 2); }
  function failedTry(i, error) {
    i.own = false;
    i.tries = (i.tries || 0) + 1;
    i.next = Date.now() + backoff(i.tries);
    i.error = error || '';
    return i;
  }
  function retryAllNow(user) {
    return run('outbox', 'readwrite', function (s) {
      s.openCursor().onsuccess = function (e) {
        var c = e.target.result;
        if (!c) return;
        // Not a submit its page is sending (own): that one is left to it.
        if (!c.value.rejected && !c.value.own && (user === undefined || c.value.user === user) && c.value.next) { c.value.next = 0; c.update(c.value); }
        c.continue();
      };
    });
  }

  // ---------- Talking to the server ----------
  var api = { login: '/login' };
  function abs(u) { return new URL(u, global.location.href); }
  function isLogin(u) { return abs(u).pathname === api.login; }
  function timed(url, init) {
    var ctl = typeof AbortController === 'function' ? new AbortController() : null, timer;
    if (ctl) { init.signal = ctl.signal; timer = setTimeout(function () { ctl.abort(); }, SEND_TIMEOUT); }
    return fetch(url, init).then(function (res) { clearTimeout(timer); return res; }, function (e) { clearTimeout(timer); throw e; });
  }
  // session resolves to {user, csrf} of whoever is signed in, {auth: true}
  // when nobody is, or null when the server cannot be reached.
  function session() {
    return timed(abs('/session').href, { credentials: 'same-origin', redirect: 'follow', headers: { Accept: 'application/json' } })
      .then(function (res) {
        if (isLogin(res.url)) return { auth: true };
        if (!res.ok) return null;
        return res.json().then(function (s) { return s && s.user && s.csrf ? s : null; });
      })
      .catch(function () { return null; });
  }

  // send resolves to {kind: ok | retry | auth | rejected, res, html, saved}.
  // A redirect to the sign-in page looks like success to fetch, so it is
  // checked for explicitly. The CSRF token goes in the body (the queued one
  // may be from before signing in again), not in X-CSRF-Token: with both
  // that header and Idempotency-Key the server never parses the form, and
  // the handler sees empty fields and refuses the item (422).
  function send(item, csrf) {
    var body = new URLSearchParams(item.body);
    if (csrf) body.set('csrf', csrf);
    return timed(item.url, {
      method: 'POST', body: body.toString(), credentials: 'same-origin', redirect: 'follow',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': item.id, 'Accept': 'text/html' }
    }).then(function (res) {
      return res.text().then(function (html) {
        var r = { res: res, html: html, status: res.status };
        var saved = res.headers.get('X-Custodia-Saved') || (html.match(/<meta name="custodia-saved" content="([^"]*)"/) || [])[1];
        if (saved) r.saved = saved;
        var tries = item.tries || 0;
        if (isLogin(res.url) && !isLogin(item.url)) r.kind = 'auth';
        else if (res.status >= 500 || [401, 408, 425, 429].indexOf(res.status) >= 0 || ((res.status === 403 || res.status === 409) && tries < SOFT_TRIES)) r.kind = 'retry';
        else r.kind = res.ok ? 'ok' : 'rejected';
        return r;
      });
    }, function () { return { kind: 'retry', status: 0 }; });
  }

  // ---------- Telling pages ----------
  var channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : null;
  var listeners = [];
  // notify tells every page and worker of this origin (and listeners here)
  // that the outbox changed: {type: 'changed'} or {type: 'sent', id,
  // user, saved, keep, body}.
  function notify(msg) {
    if (channel) { try { channel.postMessage(msg); } catch (e) { /* closed */ } }
    listeners.forEach(function (fn) { fn(msg); });
  }
  function listen(fn) {
    listeners.push(fn);
    if (channel) channel.addEventListener('message', function (e) { fn(e.data); });
  }

  // ---------- The sender ----------
  var inProcess = false;
  // withLock runs fn with the outbox lock: a Web Lock across tabs and the
  // worker where there is one (secure contexts), else only within this
  // page, where the Idempotency-Key still keeps a second copy harmless.
  function withLock(fn) {
    if (global.navigator && navigator.locks && navigator.locks.request) return navigator.locks.request(LOCK, fn);
    if (inProcess) return Promise.resolve(null);
    inProcess = true;
    var end = function (v) { inProcess = false; return v; };
    return Promise.resolve().then(fn).then(end, function (e) { end(); throw e; });
  }

  // delivered records an item the server has: the item goes, and so does its
  // draft (its own, or every draft of the form the server names).
  function delivered(item, saved) {
    var drop = item.keep ? deleteDrafts(item.keep) : saved ? deleteDrafts(null, draftPrefix(item.user, saved)) : Promise.resolve();
    return Promise.all([done(item.id), drop]).then(function () {
      notify({ type: 'sent', id: item.id, user: item.user, saved: saved || '', keep: item.keep || '', body: item.body });
    });
  }
  function refused(item, status) {
    return update('outbox', item.id, function (i) { if (!i) return undefined; i.rejected = status || 400; i.error = ''; return i; });
  }
  function retried(item, why) {
    return update('outbox', item.id, function (i) { return i ? failedTry(i, why) : undefined; });
  }

  // flush sends the signed-in user's due items. hint is the session as a
  // page knows it ({user, csrf} from its meta tags), which saves asking the
  // server; it may be stale, but then the server refuses the token (403:
  // tokens are per session, so an item is never stored under another
  // session) and the summary says stale: the next flush asks GET /session.
  // It resolves to a summary: {auth} when nobody is signed in, else {left,
  // next}: how many of that user's items still wait and when the first is
  // due.
  function flush(hint) {
    var stale = false;
    return withLock(function () {
      return items().then(function (box) {
        var now = Date.now();
        var due = box.filter(function (i) { return !i.rejected && (i.next || 0) <= now; });
        if (!due.length) return { idle: true };
        var known = hint && hint.user && hint.csrf && hint.user !== '-' ? Promise.resolve(hint) : session();
        return known.then(function (s) {
          if (!s) {
            // The server is out of reach: a failed try for everything due.
            return Promise.all(due.map(function (i) { return retried(i, 'offline'); })).then(function () { return { offline: true }; });
          }
          if (s.auth) return s;
          return due.filter(function (i) { return i.user === s.user; }).reduce(function (p, item) {
            return p.then(function () {
              return send(item, s.csrf).then(function (r) {
                if (r.kind === 'ok') return delivered(item, r.saved);
                if (r.kind === 'rejected') return refused(item, r.status);
                if (r.status === 403 || r.kind === 'auth') stale = true;
                return retried(item, r.kind === 'auth' ? 'auth' : r.status ? 'http ' + r.status : 'offline');
              });
            });
          }, Promise.resolve()).then(function () { return s; });
        });
      }).then(function (s) {
        return items().then(function (box) {
          var user = s && s.user;
          var waiting = box.filter(function (i) { return !i.rejected && (!user || i.user === user); });
          var out = { left: waiting.length, next: waiting.length ? Math.min.apply(null, waiting.map(function (i) { return i.next || 0; })) : 0 };
          if (s && s.auth) out.auth = true;
          if (stale) out.stale = true;
          if (!s.idle) notify({ type: 'changed', auth: !!out.auth });
          return out;
        });
      });
    });
  }

  api.db = db;
  api.run = run;
  api.getDraft = getDraft;
  api.putDraft = putDraft;
  api.deleteDrafts = deleteDrafts;
  api.draftPrefix = draftPrefix;
  api.items = items;
  api.add = add;
  api.update = function (id, fn) { return update('outbox', id, fn); };
  api.remove = function (id) { return del('outbox', id); };
  api.done = done;
  api.wasSent = wasSent;
  api.pruneSent = pruneSent;
  api.failedTry = failedTry;
  api.retryAllNow = retryAllNow;
  api.send = send;
  api.session = session;
  api.withLock = withLock;
  api.delivered = delivered;
  api.flush = flush;
  api.notify = notify;
  api.listen = listen;
  api.isLogin = isLogin;
  global.custodiaOutbox = api;
})(self);
