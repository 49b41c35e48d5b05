// SPDX-License-Identifier: AGPL-3.0-or-later
//
// custodia.js: the browser half of "never lose a registration". Works with
// or without htmx; no dependencies, no build step. custodia-outbox.js (loaded
// first) holds the storage and the sender; sw.js sends when no page does.
//
//   <form data-keep="incident-<client id>">  autosaved as a draft on every
//     keystroke; restored into empty fields on the next visit; cleared only
//     when the server confirms the save (X-Custodia-Saved header on an htmx
//     response, or <meta name="custodia-saved"> on the page after a
//     POST-redirect-GET). Make the data-keep value specific (include the
//     record id): a confirmation clears drafts by that value.
//   <form data-queue>  a submit is put in the outbox on this device first,
//     then sent. If that fails because the network or the server is down
//     (fetch error, 5xx, or the session expired) the item stays in the outbox
//     and is resent with the same Idempotency-Key, with exponential backoff
//     and jitter, until the server confirms it; the server stores it exactly
//     once however often it arrives. A refusal (4xx) stays in the outbox,
//     listed with a link back to its form, where it is filled in again.
//     data-title="…" names the form in that list (else the heading of its
//     section and the page title do).
//   data-confirm="Question?" on a button, link or form: asks first.
//
// Storage. Drafts and the outbox live in IndexedDB (see custodia-outbox.js),
// where the service worker can reach them when no tab is open. IndexedDB
// writes are asynchronous, so each keystroke and each submit is first
// written synchronously to a small journal in localStorage — a draft under
// "custodia:<user>:draft:<keep>:<path>", an outbox item in the array
// "custodia:<user>:outbox" — and removed from it once IndexedDB has
// committed. A tab closed in between leaves the journal, which the next page
// load folds into IndexedDB. The journal has the format that earlier
// versions kept everything in, so the first load after an upgrade moves
// those drafts and queued items over the same way. Everything is keyed by
// the signed-in user (<meta name="custodia-user">) so that a shared wing
// tablet never shows one officer's draft to another, nor sends it under the
// wrong name: the sender sends only the items of the user the server says
// is signed in (GET /session), with that session's CSRF token.
//
// Sending. Where service workers run (https, or http on localhost) the page
// registers /sw.js and leaves the retries to it: on a submit that failed,
// on load, on "online", when an item falls due and when the page goes away
// it asks the worker to flush, and registers a Background Sync so the
// browser wakes the worker when the tab is closed. Without a worker the page
// retries itself while open. Either way a Web Lock lets one sender run at a
// time, and a submit being sent by its page is left alone by the others.
//
// Status. #sync-status says plainly, while anything waits, that it is saved
// on this device and will be sent automatically, and lists what waits: the
// form and page, when it was saved, how many tries, when the next is.
//
// The offline page. When a page cannot be loaded at all because the network
// or the server is down, the worker answers with its cached copy of
// /offline (section #custodia-offline) under the address asked for. That
// page is generic, the same for everyone, with no signed-in user: this
// script lists on it the items of the user last signed in on this device
// ("custodia:last-user" in localStorage, written by every signed-in page,
// removed on the sign-in page and when signing out, so a shared tablet
// shows nothing after a sign-out). That is for display only; the sender
// still asks the server who is signed in. The page asks GET /healthz with
// backoff (at once on "online" or its button) and loads the address again
// when the server answers. Each page tells the worker its language, which
// the offline page is then shown in. Without a worker there is no offline
// page: a load while the server is down shows the browser's error page, and
// what waits is sent when a page of the site is loaded again.
(function () {
  'use strict';

  var O = window.custodiaOutbox;
  var meta = function (n) { var m = document.querySelector('meta[name="' + n + '"]'); return m ? m.content : ''; };
  // The offline page (shown by the worker when a page cannot be loaded) has
  // no signed-in user; it lists the items of the user last signed in on this
  // device, remembered here by every signed-in page and forgotten on the
  // sign-in page (after signing out, or when the session has expired) and
  // on signing out. It is for display only: the sender still asks the
  // server who is signed in and sends only that user's items.
  var OFFLINE = document.getElementById('custodia-offline');
  var SIGNED_IN = meta('custodia-user'), LAST_USER = 'custodia:last-user';
  var USER = SIGNED_IN || (OFFLINE && lsGet(LAST_USER, '')) || '-';
  var NS = 'custodia:' + USER + ':';
  var JOURNAL = NS + 'outbox', DRAFT = NS + 'draft:', PENDING = 'custodia:pending', FLASH = 'custodia:flash', FLASH_TEXT = 'custodia:flash-text';
  var LOGIN = meta('custodia-login') || '/login';
  if (SIGNED_IN) lsPut(LAST_USER, SIGNED_IN);
  else if (location.pathname === LOGIN) lsDel(LAST_USER);
  // A submit being sent by its own page is left to it this long (the
  // sender's timeout and a margin); if the tab closes meanwhile, the worker
  // sends it after that.
  var OWN_SEND = 35 * 1000;
  // The page takes over from a worker that has left a due item this late.
  var WORKER_GRACE = 10 * 1000;
  var TAG = 'custodia-outbox';
  var noop = function () {};
  if (O) O.login = LOGIN;

  // localStorage can throw (private mode, quota). Callers learn of failure
  // so they never claim something is kept when it is not.
  function lsGet(k, dflt) { try { var v = localStorage.getItem(k); return v ? JSON.parse(v) : dflt; } catch (e) { return dflt; } }
  function lsPut(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); return true; } catch (e) { return false; } }
  function lsDel(k) { try { localStorage.removeItem(k); } catch (e) { /* nothing to keep */ } }
  function lsKeys() { var out = []; try { for (var i = 0; i < localStorage.length; i++) out.push(localStorage.key(i)); } catch (e) { /* unavailable */ } return out; }
  function session(k, v) {
    try { if (v === undefined) return sessionStorage.getItem(k); if (v === null) sessionStorage.removeItem(k); else sessionStorage.setItem(k, v); } catch (e) { return null; }
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // crypto.randomUUID needs a secure context; plain-http demo installs get this.
    var b = crypto.getRandomValues(new Uint8Array(16)); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // ---------- Status banner ----------
  // Texts come from data-* attributes on #sync-status, filled by the layout
  // from the i18n keys sync.* ("%d" is a number, "%s" a time); English is
  // the fallback.
  var statusEl, savedTimer, authNeeded = false;
  // The status floats over the page, except on the offline page, where it
  // is part of the text.
  var FLOAT = OFFLINE ? '' : ' floating';
  function status() {
    if (!statusEl) {
      statusEl = document.getElementById('sync-status');
      if (!statusEl) {
        statusEl = document.createElement('div');
        statusEl.id = 'sync-status'; statusEl.className = 'sync-status';
        document.body.appendChild(statusEl);
      }
      statusEl.setAttribute('role', 'status'); statusEl.setAttribute('aria-live', 'polite');
    }
    return statusEl;
  }
  function text(name, dflt, v) {
    var s = status().getAttribute('data-' + name) || dflt;
    return v === undefined ? s : s.replace(typeof v === 'number' ? '%d' : '%s', v);
  }
  var lang = document.documentElement.lang || undefined;
  function when(t, seconds) {
    var d = new Date(t), opts = { hour: '2-digit', minute: '2-digit' };
    if (seconds) opts.second = '2-digit';
    if (d.toDateString() !== new Date().toDateString()) { opts.day = 'numeric'; opts.month = 'short'; }
    try { return d.toLocaleString(lang, opts); } catch (e) { return d.toISOString(); }
  }

  function showStatus(flash) {
    var read = O ? O.items(USER) : Promise.reject(new Error('no outbox'));
    return read.catch(function () { return lsGet(JOURNAL, []); }).then(function (box) {
      // A submit its page is sending right now is not waiting (yet).
      render(flash, box.filter(function (i) { return !(i.own && (i.next || 0) > Date.now()); }));
    });
  }
  function render(flash, box) {
    var el = status();
    var rejected = box.filter(function (i) { return i.rejected; }), waiting = box.length - rejected.length;
    if (!box.length) {
      authNeeded = false;
      if (!flash) {
        if (!savedTimer) { // let a "Saved" run its course
          el.className = 'sync-status';
          // The offline page says so when nothing waits.
          el.textContent = OFFLINE ? OFFLINE.getAttribute(USER === '-' ? 'data-anon' : 'data-none') || '' : '';
        }
        return;
      }
      clearTimeout(savedTimer);
      el.className = 'sync-status' + FLOAT;
      el.textContent = text(flash, flash === 'saved' ? 'Saved' : 'Draft restored');
      savedTimer = setTimeout(function () { savedTimer = null; showStatus(); }, 5000);
      return;
    }
    clearTimeout(savedTimer); savedTimer = null;
    el.className = 'sync-status' + FLOAT + ' ' + (rejected.length ? 'rejected' : 'pending');
    // What waits is a list in a <details> opened from the status line. Only
    // the line is announced (the list is aria-live=off): it changes on
    // every try.
    var det = el.querySelector('details.sync-details');
    if (!det) {
      el.textContent = '';
      det = document.createElement('details'); det.className = 'sync-details';
      var sum = document.createElement('summary');
      var msg = document.createElement('span'); msg.className = 'sync-msg';
      sum.appendChild(msg); det.appendChild(sum);
      var ul = document.createElement('ul'); ul.className = 'sync-list'; ul.setAttribute('aria-live', 'off');
      det.appendChild(ul);
      el.appendChild(det);
      sum.addEventListener('click', function () { det.setAttribute('data-toggled', ''); });
    }
    // A refusal must not go unseen: its link back to the form shows until
    // the user closes the list. On the offline page the list is what the
    // page is for.
    if ((rejected.length || OFFLINE) && !det.hasAttribute('data-toggled')) det.open = true;
    var line = [];
    if (rejected.length) line.push(text('rejected', '%d not accepted by the server — open the form and check', rejected.length));
    if (waiting) line.push(text('unsent', 'Saved on this device — will be sent automatically (%d waiting)', waiting));
    if (authNeeded && waiting) line.push(text('signin', 'Sign in again to send it'));
    var m = det.querySelector('.sync-msg'), joined = line.join(' · ');
    if (m.textContent !== joined) m.textContent = joined;
    var list = det.querySelector('.sync-list');
    list.setAttribute('aria-label', text('list', 'Waiting on this device'));
    list.textContent = '';
    box.forEach(function (i) {
      var li = document.createElement('li'), a = document.createElement('a');
      li.setAttribute('data-id', i.id);
      a.href = i.page || '/'; a.textContent = i.label || i.page || '/';
      li.appendChild(a);
      var facts = [];
      if (i.t) facts.push(text('item-saved', 'saved %s', when(i.t)));
      if (i.rejected) facts.push(text('item-rejected', 'not accepted (%d) — open the form to check', i.rejected));
      else {
        facts.push(text('item-tries', 'tries: %d', i.tries || 0));
        facts.push(text('item-next', 'next try %s', when(Math.max(Date.now(), i.next || 0), true)));
      }
      var span = document.createElement('span'); span.className = 'sync-facts';
      span.textContent = ' — ' + facts.join(', ');
      li.appendChild(span);
      list.appendChild(li);
    });
    if (authNeeded && waiting) {
      var li = document.createElement('li'), a = document.createElement('a');
      a.href = LOGIN + '?next=' + encodeURIComponent(location.pathname);
      a.textContent = text('signin', 'Sign in again to send it');
      li.appendChild(a); list.appendChild(li);
    }
  }

  // ---------- Drafts ----------
  function draftKey(form) { return DRAFT + form.getAttribute('data-keep') + ':' + location.pathname; }
  // Hidden fields (csrf, version) are the server's business and must come
  // fresh from the page; passwords and files are never written to disk.
  function keepable(el) { return el.name && !el.disabled && !/^(hidden|password|file|submit|button|reset|image)$/.test(el.type); }
  function fields(form) {
    var out = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!keepable(el) || ((el.type === 'checkbox' || el.type === 'radio') && !el.checked)) return;
      if (el.type === 'select-multiple') Array.prototype.forEach.call(el.selectedOptions, function (o) { out.push([el.name, o.value]); });
      else out.push([el.name, el.value]);
    });
    return out;
  }

  var drafts = {};            // draft key → the latest draft of this page
  var writes = {};            // draft key → timer of its IndexedDB write
  var restoring = new WeakSet(), dirty = new WeakSet();
  // saveDraft writes the journal now and IndexedDB a moment later (one
  // write per burst of typing). idem: the Idempotency-Key the draft became
  // (null drops it, undefined keeps the one it has).
  function saveDraft(form, idem) {
    if (restoring.has(form)) { dirty.add(form); return; } // restore first, or the draft is overwritten with half a form
    var k = draftKey(form), prev = drafts[k];
    var d = { key: k, user: USER, t: Date.now(), f: fields(form), k: idem === undefined ? (prev && prev.k) || undefined : idem || undefined };
    drafts[k] = d;
    lsPut(k, { t: d.t, f: d.f, k: d.k });
    clearTimeout(writes[k]);
    writes[k] = setTimeout(function () { writeDraft(k); }, 300);
  }
  function writeDraft(k) {
    clearTimeout(writes[k]); delete writes[k];
    var d = drafts[k];
    if (!d || !O) return Promise.resolve();
    return O.putDraft(d).then(function () {
      var j = lsGet(k, null);
      if (j && j.t === d.t) lsDel(k); // IndexedDB has it now
    }, noop); // the journal keeps it
  }
  function writeDrafts() { return Promise.all(Object.keys(writes).map(writeDraft)); }
  // readDraft gives the newer of the journal's and IndexedDB's copy.
  function readDraft(k) {
    var j = lsGet(k, null);
    var idb = O ? O.getDraft(k).catch(function () { return null; }) : Promise.resolve(null);
    return idb.then(function (d) {
      if (j && (!d || (d.t || 0) < (j.t || 0))) return { key: k, user: USER, t: j.t, f: j.f || [], k: j.k };
      return d || null;
    });
  }
  // Fill only what the server left empty: what the server rendered (an error
  // re-render, a record being edited) is newer than any draft. Restoring
  // reads IndexedDB, so it comes after the page's other scripts have
  // started: each field filled fires "input", as if typed, for them.
  function fill(form, pairs) {
    var seen = {}, filled = []; // seen: repeated names (aliases) fill in order
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!keepable(el)) return;
      var vals = pairs.filter(function (p) { return p[0] === el.name; }).map(function (p) { return p[1]; });
      if (!vals.length) return;
      if (el.type === 'checkbox' || el.type === 'radio') {
        var group = form.querySelectorAll('[name="' + CSS.escape(el.name) + '"]');
        if (Array.prototype.some.call(group, function (g) { return g.defaultChecked; })) return;
        if (vals.indexOf(el.value) >= 0 && !el.checked) { el.checked = true; filled.push(el); }
      } else if (el.tagName === 'SELECT') {
        if (Array.prototype.some.call(el.options, function (o) { return o.defaultSelected; })) return;
        Array.prototype.forEach.call(el.options, function (o) { o.selected = vals.indexOf(o.value) >= 0; });
        filled.push(el);
      } else {
        var n = seen[el.name] || 0; seen[el.name] = n + 1;
        if (el.value === '' && vals[n]) { el.value = vals[n]; filled.push(el); }
      }
    });
    filled.forEach(function (el) { el.dispatchEvent(new Event('input', { bubbles: true })); });
    return filled.length > 0;
  }
  // clearDrafts forgets the draft exact, or every draft of the form keep.
  function clearDrafts(keep, exact) {
    var prefix = DRAFT + keep + ':';
    var match = function (k) { return exact ? k === exact : k.indexOf(prefix) === 0; };
    Object.keys(drafts).concat(Object.keys(writes)).forEach(function (k) {
      if (match(k)) { clearTimeout(writes[k]); delete writes[k]; delete drafts[k]; }
    });
    lsKeys().forEach(function (k) { if (k && match(k)) lsDel(k); });
    return O ? O.deleteDrafts(exact, exact ? null : prefix).catch(noop) : Promise.resolve();
  }
  function confirmed(keep, exact) {
    if (!keep) return Promise.resolve();
    session(PENDING, null);
    return clearDrafts(keep, exact).then(function () { showStatus('saved'); });
  }

  // ---------- Outbox ----------
  // Where a form posts, as an absolute URL; the key that ties an outbox item
  // back to its form (htmx forms post to hx-post, not action).
  function target(form) { return new URL(form.getAttribute('hx-post') || form.getAttribute('action') || '', location.href).href; }
  function idemInput(form) { return form.querySelector('input[name="idempotency_key"]'); }
  // label names a form in the list of what waits: its data-title, or the
  // heading of its section, with the page's title.
  function label(form) {
    var page = document.title.replace(/\s*·\s*Custodia\s*$/, '').trim();
    var t = form.getAttribute('data-title');
    if (!t) { var sec = form.closest('section'), h = sec && sec.querySelector('h1, h2, h3'); t = h ? h.textContent.replace(/\s+/g, ' ').trim() : ''; }
    return t && t !== page ? t + ' — ' + page : page || location.pathname;
  }
  function newItem(form, id, url, body) {
    return { id: id, user: USER, url: url, body: body, page: location.pathname + location.search, label: label(form), t: Date.now(),
      keep: form.hasAttribute('data-keep') ? draftKey(form) : '', tries: 0, next: 0 };
  }
  function journalItem(item) {
    var box = lsGet(JOURNAL, []).filter(function (i) { return i.id !== item.id; });
    box.push(item);
    return lsPut(JOURNAL, box);
  }
  function unjournal(key, ids) {
    var box = lsGet(key, []), rest = box.filter(function (i) { return ids.indexOf(i.id) < 0; });
    if (rest.length === box.length) return;
    if (rest.length) lsPut(key, rest); else lsDel(key);
  }
  // keep puts an item in the outbox: the journal at once, IndexedDB as soon
  // as it commits. It resolves to whether the item is kept at all.
  function keep(item) {
    var journaled = journalItem(item);
    // Remember the key in the draft: a resubmit of the same draft is then a
    // repeat the server recognises, not a second registration.
    var form = item.keep && Array.prototype.find.call(document.querySelectorAll('form[data-keep]'), function (f) { return draftKey(f) === item.keep; });
    if (form) saveDraft(form, item.id);
    var stored = O ? O.add(item).then(function () { unjournal(JOURNAL, [item.id]); return true; }, function () { return false; }) : Promise.resolve(false);
    return stored.then(function (ok) {
      if (!ok && !journaled) window.alert(text('unkept', 'This form could not be kept on this device. Do not close the page; try again when the connection is back.'));
      if (!ok && journaled) localOnly = true;
      O && O.notify({ type: 'changed' });
      return ok || journaled;
    });
  }
  // enqueue keeps an item whose send failed and hands it to the sender.
  function enqueue(item) {
    return keep(item).then(function () { showStatus(); wakeWorker(); kick(); });
  }
  // fold moves what the journal holds into IndexedDB: what a closed tab
  // left, and what earlier versions kept in localStorage (of every user of
  // this device, each under their own name). Keys the server has confirmed
  // are dropped, so nothing is sent twice.
  var localOnly = false;
  function fold() {
    if (!O) return Promise.resolve();
    var items = [], drafted = [];
    lsKeys().forEach(function (k) {
      var m;
      if (!k) return;
      if ((m = /^custodia:([^:]*):outbox$/.exec(k))) lsGet(k, []).forEach(function (i) { if (i && i.id) items.push({ key: k, user: m[1], item: i }); });
      else if ((m = /^custodia:([^:]*):draft:/.exec(k))) { var d = lsGet(k, null); if (d) drafted.push({ key: k, user: m[1], d: d }); }
    });
    if (!items.length && !drafted.length) return Promise.resolve();
    var ids = items.map(function (x) { return x.item.id; }).concat(drafted.map(function (x) { return x.d.k; }).filter(Boolean));
    return O.wasSent(ids).then(function (sent) {
      return O.run(['outbox', 'drafts'], 'readwrite', function (ob, dr) {
        items.forEach(function (x) {
          var i = x.item;
          if (sent.indexOf(i.id) >= 0) return;
          ob.get(i.id).onsuccess = function (e) {
            if (e.target.result) return; // IndexedDB's copy knows more (tries, refusals)
            i.user = i.user || x.user; i.t = i.t || Date.now(); i.page = i.page || '/'; i.tries = i.tries || 0;
            ob.put(i);
          };
        });
        drafted.forEach(function (x) {
          if (x.d.k && sent.indexOf(x.d.k) >= 0) return; // a draft of something the server has
          dr.get(x.key).onsuccess = function (e) {
            var cur = e.target.result;
            if (!cur || (cur.t || 0) < (x.d.t || 0)) dr.put({ key: x.key, user: x.user, t: x.d.t || Date.now(), f: x.d.f || [], k: x.d.k });
          };
        });
      });
    }).then(function () {
      var byKey = {};
      items.forEach(function (x) { (byKey[x.key] = byKey[x.key] || []).push(x.item.id); });
      Object.keys(byKey).forEach(function (k) { unjournal(k, byKey[k]); });
      drafted.forEach(function (x) { var j = lsGet(x.key, null); if (j && j.t === x.d.t && !writes[x.key]) lsDel(x.key); });
      localOnly = false;
    }, noop);
  }

  // The server has an item, however it got there (this page, another tab,
  // the worker): its draft goes, and the form that queued it, which still
  // holds its key, gets a new one — a new entry there is a new request, and
  // under the old key the server would answer it with the old one and store
  // nothing. The form is emptied if it still shows what was sent.
  function onSent(msg) {
    if (msg.user !== USER) return;
    authNeeded = false;
    var done = msg.keep ? clearDrafts('', msg.keep) : msg.saved ? clearDrafts(msg.saved) : Promise.resolve();
    Array.prototype.forEach.call(document.querySelectorAll('form[data-queue]'), function (f) {
      var input = idemInput(f);
      if (!input || input.value !== msg.id) return;
      var body = new URLSearchParams(msg.body);
      if (fields(f).every(function (p) { return body.getAll(p[0]).indexOf(p[1]) >= 0; })) f.reset();
      input.value = uuid();
    });
    done.then(function () { showStatus('saved'); });
  }

  // ---------- Who sends ----------
  var reg = null, timer, flushing = false, staleHint = false;
  // hint is this page's session for the sender, unless the server refused
  // its token.
  function hint() { return staleHint || !SIGNED_IN ? null : { user: USER, csrf: meta('csrf-token') }; }
  function flushMsg() { var h = hint() || {}; return { type: 'flush', user: h.user, csrf: h.csrf }; }
  function worker() { return reg && reg.active; }
  function wakeWorker() {
    if (reg && reg.sync && reg.sync.register) reg.sync.register(TAG).catch(noop);
  }
  // kick asks the sender to send what is due: the worker if there is one,
  // else this page.
  function kick() {
    var w = worker();
    if (w) { w.postMessage(flushMsg()); return; }
    localFlush();
  }
  function localFlush() {
    if (flushing || !O) return;
    flushing = true;
    var done = function (s) { flushing = false; if (s && s.auth) authNeeded = true; if (s && s.stale) staleHint = true; showStatus(); schedule(); };
    O.flush(hint()).then(done, function () { done(null); });
  }
  // schedule wakes the sender when this user's next item falls due. If the
  // worker has let one lie well past its time, the page sends it.
  function schedule() {
    clearTimeout(timer);
    if (!O) return;
    O.items(USER).then(function (box) {
      var waiting = box.filter(function (i) { return !i.rejected; });
      if (!waiting.length) return;
      var next = Math.min.apply(null, waiting.map(function (i) { return i.next || 0; }));
      timer = setTimeout(function () {
        O.items(USER).then(function (now) {
          var late = now.some(function (i) { return !i.rejected && (i.next || 0) < Date.now() - WORKER_GRACE; });
          if (late) localFlush(); else kick();
          // The sender's "changed" reschedules; this is in case none comes.
          timer = setTimeout(schedule, WORKER_GRACE);
        }, noop);
      }, Math.max(0, next - Date.now()) + 100);
    }, noop);
  }
  // Coming back online, or a page loading at all, means the server may be
  // reachable again: forget the backoff and try everything now.
  function retryNow() {
    if (!O) return Promise.resolve();
    return O.retryAllNow(USER).catch(noop).then(kick);
  }

  // ---------- Submitting a data-queue form without htmx ----------
  function submitQueued(form, submitter) {
    var fd = new FormData(form);
    if (submitter && submitter.name && !fd.has(submitter.name)) fd.append(submitter.name, submitter.value);
    var input = idemInput(form), id = (input && input.value) || uuid();
    fd.set('idempotency_key', id);
    fd.delete('csrf'); // set fresh by whoever sends it
    var item = newItem(form, id, target(form), new URLSearchParams(fd).toString());
    // The page sends its own submit; the other senders leave it alone for
    // that long, and take it over if the tab closes first.
    item.next = Date.now() + OWN_SEND; item.own = true;
    keep(item).then(function () {
      return O ? O.send(item, meta('csrf-token')) : { kind: 'retry', status: 0 };
    }).then(function (r) {
      if (r.kind === 'ok') {
        return O.done(item.id).catch(noop).then(function () {
          unjournal(JOURNAL, [item.id]);
          if (r.res.redirected) {
            var c = r.saved ? confirmed(r.saved, item.keep) : Promise.resolve();
            // The page fetched after the redirect carried the server's
            // flash message and used it up; keep its text for the page
            // the browser now opens.
            var shown = new DOMParser().parseFromString(r.html || '', 'text/html').querySelector('main > .flash');
            if (shown && shown.textContent) session(FLASH_TEXT, shown.textContent.trim());
            return c.then(function () { session(FLASH, 'saved'); location.assign(r.res.url); });
          }
          return nativeSubmit(form, submitter, id);
        });
      }
      if (r.kind === 'rejected') {
        // Let the browser show the server's answer (a validation re-render)
        // the normal way. Same key, so the server answers the repeat, not twice.
        return (O ? O.remove(item.id).catch(noop) : Promise.resolve()).then(function () {
          unjournal(JOURNAL, [item.id]);
          nativeSubmit(form, submitter, id);
        });
      }
      var later = function (i) {
        if (!i) return undefined;
        i.own = false;
        if (r.kind !== 'auth') return O.failedTry(i, r.status ? 'http ' + r.status : 'offline');
        i.next = 0; i.error = 'auth';
        return i;
      };
      return (O ? O.update(item.id, later).catch(noop) : Promise.resolve()).then(function () {
        O && O.notify({ type: 'changed' });
        if (r.kind === 'auth') { location.assign(r.res.url); return; }
        showStatus(); wakeWorker(); kick(); schedule();
      });
    });
  }
  function nativeSubmit(form, submitter, id) {
    var input = idemInput(form);
    if (!input) { input = document.createElement('input'); input.type = 'hidden'; input.name = 'idempotency_key'; form.appendChild(input); }
    input.value = id;
    if (submitter && submitter.name) { var h = document.createElement('input'); h.type = 'hidden'; h.name = submitter.name; h.value = submitter.value; form.appendChild(h); }
    HTMLFormElement.prototype.submit.call(form);
  }

  // ---------- Wiring ----------
  // init prepares forms in root; it resolves to whether it restored anything.
  function init(root) {
    var forms = root.querySelectorAll ? Array.prototype.slice.call(root.querySelectorAll('form[data-keep], form[data-queue]')) : [];
    if (root.matches && root.matches('form[data-keep], form[data-queue]')) forms.unshift(root);
    var box = O ? O.items(USER).catch(function () { return []; }) : Promise.resolve([]);
    return Promise.all(forms.map(function (form) {
      var input = idemInput(form);
      if (input && !input.value) input.value = uuid();
      var keepIt = form.hasAttribute('data-keep');
      if (keepIt) restoring.add(form);
      return Promise.all([box, keepIt ? readDraft(draftKey(form)) : null]).then(function (got) {
        // (page has the query since it tells forms apart, e.g. ?kind=; it
        // had not in earlier versions.)
        var here = location.pathname + location.search;
        var mine = got[0].filter(function (i) { return i.rejected && (i.page === here || i.page === location.pathname) && i.url === target(form); });
        var d = got[1], restored = false;
        // A refused item comes back into its form to be corrected.
        mine.forEach(function (i) { restored = fill(form, Array.from(new URLSearchParams(i.body))) || restored; O.remove(i.id).catch(noop); });
        if (keepIt) {
          restoring.delete(form);
          if (d) { drafts[draftKey(form)] = d; restored = fill(form, d.f || []) || restored; }
          // Corrected, it is a new request and needs a new key, so the
          // draft drops the old one.
          if (mine.length) saveDraft(form, null);
          else {
            if (d && d.k && input) input.value = d.k;
            if (dirty.has(form)) saveDraft(form);
          }
          dirty.delete(form);
        }
        if (mine.length && O) O.notify({ type: 'changed' });
        return restored;
      });
    })).then(function (r) { return r.some(Boolean); });
  }

  function onInput(e) { var f = e.target.form; if (f && f.hasAttribute('data-keep')) saveDraft(f); }
  document.addEventListener('input', onInput);
  document.addEventListener('change', onInput);
  // Leaving or hiding the page: what is typed goes to IndexedDB now (the
  // journal has it already), and the worker carries on sending.
  function leaving() {
    writeDrafts();
    var w = worker();
    if (w && O) O.items(USER).then(function (box) { if (box.some(function (i) { return !i.rejected; })) w.postMessage(flushMsg()); }, noop);
  }
  window.addEventListener('pagehide', leaving);
  document.addEventListener('visibilitychange', function () { if (document.visibilityState === 'hidden') leaving(); });

  // Capture phase, so a "No" stops htmx and the form before they see the event.
  function ask(e, el) {
    if (el && !window.confirm(el.getAttribute('data-confirm'))) { e.preventDefault(); e.stopImmediatePropagation(); }
  }
  document.addEventListener('click', function (e) { ask(e, e.target.closest && e.target.closest('a[data-confirm], button[data-confirm], input[data-confirm]')); }, true);
  document.addEventListener('submit', function (e) { ask(e, e.target.matches('form[data-confirm]') ? e.target : null); }, true);

  document.addEventListener('submit', function (e) {
    var f = e.target;
    if (e.defaultPrevented) return; // htmx (or a "No") has it
    if (f.getAttribute('action') === '/logout') lsDel(LAST_USER);
    if (f.hasAttribute('data-keep')) session(PENDING, JSON.stringify([f.getAttribute('data-keep'), draftKey(f)]));
    if (f.hasAttribute('data-queue') && !f.hasAttribute('hx-post') && f.method === 'post' && f.enctype !== 'multipart/form-data') { e.preventDefault(); submitQueued(f, e.submitter); }
  });

  // htmx: CSRF on every request; the idempotency key as a header too.
  document.addEventListener('htmx:configRequest', function (e) {
    e.detail.headers['X-CSRF-Token'] = meta('csrf-token');
    var f = e.detail.elt.closest && e.detail.elt.closest('form'), input = f && idemInput(f);
    if (input && input.value) e.detail.headers['Idempotency-Key'] = input.value;
  });
  function htmxForm(e) { var f = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest('form'); return f && f.hasAttribute('data-queue') ? f : null; }
  function htmxQueue(e) {
    var f = htmxForm(e), cfg = e.detail.requestConfig;
    if (!f || !cfg || cfg.verb === 'get') return;
    var body = new URLSearchParams(cfg.formData), id = body.get('idempotency_key') || uuid();
    body.set('idempotency_key', id);
    body.delete('csrf');
    enqueue(newItem(f, id, new URL(cfg.path, location.href).href, body.toString()));
  }
  document.addEventListener('htmx:sendError', htmxQueue);
  document.addEventListener('htmx:timeout', htmxQueue);
  document.addEventListener('htmx:responseError', function (e) { if (e.detail.xhr.status >= 500) htmxQueue(e); });
  document.addEventListener('htmx:afterRequest', function (e) {
    var xhr = e.detail.xhr, f = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest('form[data-keep]');
    var saved = xhr && xhr.getResponseHeader('X-Custodia-Saved');
    if (saved) confirmed(saved, f && f.getAttribute('data-keep') === saved ? draftKey(f) : '');
    else if (xhr && xhr.responseURL && new URL(xhr.responseURL).pathname === LOGIN && location.pathname !== LOGIN) htmxQueue(e);
  });
  document.addEventListener('htmx:load', function (e) {
    if (e.detail.elt !== document.body) init(e.detail.elt).then(function (r) { if (r) showStatus('restored'); });
  });

  window.addEventListener('online', retryNow);
  if (O) O.listen(function (msg) {
    if (!msg) return;
    if (msg.type === 'sent') onSent(msg);
    else if (msg.type === 'changed') { if ('auth' in msg) authNeeded = msg.auth; showStatus(); schedule(); }
  });
  // Another tab of an older version (or this one without IndexedDB) wrote
  // the journal.
  window.addEventListener('storage', function (e) { if (e.key === JOURNAL && localOnly) showStatus(); });

  function register() {
    // Service workers need a secure context (https, or localhost); without
    // one the page sends by itself.
    if (!('serviceWorker' in navigator) || !window.isSecureContext) return Promise.resolve(null);
    return navigator.serviceWorker.register('/sw.js', { scope: '/', updateViaCache: 'none' }).then(function (r) {
      reg = r;
      var w = r.installing || r.waiting;
      if (w) w.addEventListener('statechange', function () { if (w.state === 'activated') { tellLang(); wakeWorker(); kick(); } });
      else tellLang();
      return r;
    }, function () { return null; });
  }
  // tellLang tells the worker the language this page is in, which its
  // offline page is then shown in. The offline page itself says nothing.
  function tellLang() {
    var w = worker();
    if (w && !OFFLINE && lang) w.postMessage({ type: 'lang', lang: lang });
  }

  // ---------- The offline page ----------
  // The worker shows it, under the URL that was asked for, when the network
  // or the server is down. It asks GET /healthz with backoff (and at once on
  // "online" or the button) and, when the server answers, loads that URL
  // again. The list of what waits is the status line above.
  var CHECK_FIRST = 1000, CHECK_MAX = 30 * 1000;
  function watchServer() {
    var delay = CHECK_FIRST, timer = null, busy = false;
    var line = document.getElementById('offline-check');
    var say = function (name, v) {
      var s = OFFLINE.getAttribute('data-' + name) || '';
      if (line) line.textContent = v === undefined ? s : s.replace('%s', v);
    };
    function back() {
      // Opened at its own address, there is nothing to go back to.
      if (location.pathname === OFFLINE.getAttribute('data-self')) location.replace('/');
      else location.reload();
    }
    function check() {
      clearTimeout(timer);
      if (busy) return;
      busy = true;
      say('checking');
      fetch(OFFLINE.getAttribute('data-health') || '/healthz', { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (res) { return res.ok; }, function () { return false; })
        .then(function (up) {
          busy = false;
          if (up) { back(); return; }
          timer = setTimeout(check, delay);
          say('next', when(Date.now() + delay, true));
          delay = Math.min(CHECK_MAX, delay * 2);
        });
    }
    window.addEventListener('online', function () { delay = CHECK_FIRST; check(); });
    var btn = document.getElementById('offline-retry');
    if (btn) btn.addEventListener('click', function () { delay = CHECK_FIRST; retryNow(); check(); });
    timer = setTimeout(check, delay);
  }

  function start() {
    // After a normal POST-redirect-GET the server names the saved form here.
    // Clear that draft before init, or a page that shows the same form again
    // would refill it with what was just saved.
    var saved = meta('custodia-saved'), pending = JSON.parse(session(PENDING) || 'null');
    var flash = session(FLASH);
    if (flash) session(FLASH, null);
    var flashText = session(FLASH_TEXT);
    if (flashText) {
      session(FLASH_TEXT, null);
      var main = document.getElementById('main');
      if (main && !main.querySelector(':scope > .flash')) {
        var div = document.createElement('div');
        div.className = 'flash'; div.setAttribute('role', 'status'); div.textContent = flashText;
        main.insertBefore(div, main.firstChild);
      }
    }
    var waiting = function () {
      return O ? O.items(USER).then(function (box) { return box.some(function (i) { return !i.rejected; }); }, function () { return false; }) : Promise.resolve(false);
    };
    register().then(function (r) { return r && waiting().then(function (w) { if (w) { wakeWorker(); kick(); } }); });
    fold().then(function () {
      return saved ? confirmed(saved, pending && pending[0] === saved ? pending[1] : '') : null;
    }).then(function () { return init(document); }).then(function (restored) {
      return showStatus(flash ? 'saved' : restored ? 'restored' : '');
    }).then(function () {
      if (O) O.pruneSent().catch(noop);
      return retryNow();
    }).then(schedule, schedule);
    if (OFFLINE) watchServer();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
