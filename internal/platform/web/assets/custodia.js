// SPDX-License-Identifier: AGPL-3.0-or-later
//
// custodia.js: the browser half of "never lose a registration". Works with
// or without htmx; no dependencies, no build step.
//
//   <form data-keep="incident-<client id>">  autosaved as a draft on every
//     keystroke; restored into empty fields on the next visit; cleared only
//     when the server confirms the save (X-Custodia-Saved header on an htmx
//     response, or <meta name="custodia-saved"> on the page after a
//     POST-redirect-GET). Make the data-keep value specific (include the
//     record id): a confirmation clears drafts by that value.
//   <form data-queue>  a submit that fails because the network or the server
//     is down (fetch error, 5xx, or the session expired) goes to an outbox
//     and is resent with the same Idempotency-Key, so the server stores it
//     exactly once however often it arrives.
//   data-confirm="Question?" on a button, link or form: asks first.
//
// Storage is localStorage, not IndexedDB, on purpose: it is synchronous, so
// a draft is on disk before the tab can be closed, and a registration is a
// few kilobytes. Everything is keyed by the signed-in user
// (<meta name="custodia-user">) so that a shared wing tablet never shows one
// officer's draft to another, nor sends it under the wrong name.
(function () {
  'use strict';

  var meta = function (n) { var m = document.querySelector('meta[name="' + n + '"]'); return m ? m.content : ''; };
  var NS = 'custodia:' + (meta('custodia-user') || '-') + ':';
  var OUTBOX = NS + 'outbox', DRAFT = NS + 'draft:', PENDING = 'custodia:pending', FLASH = 'custodia:flash';
  var LOGIN = meta('custodia-login') || '/login';
  var MAX_DELAY = 5 * 60 * 1000;

  // Storage can throw (private mode, quota). Callers learn of failure so
  // they never claim something is kept when it is not.
  function get(k, dflt) { try { var v = localStorage.getItem(k); return v ? JSON.parse(v) : dflt; } catch (e) { return dflt; } }
  function put(k, v) { try { localStorage.setItem(k, JSON.stringify(v)); return true; } catch (e) { return false; } }
  function del(k) { try { localStorage.removeItem(k); } catch (e) { /* nothing to keep */ } }
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
  // Texts come from data-unsent, data-saved, data-rejected and data-restored
  // on #sync-status ("%d" is the count), so the server can localise them
  // with the i18n keys sync.unsent, sync.saved, sync.rejected and
  // sync.draft_restored; English is the fallback.
  var statusEl, savedTimer;
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
  function text(name, dflt, n) { return (status().getAttribute('data-' + name) || dflt).replace('%d', n); }
  function showStatus(flash) {
    var el = status(), box = get(OUTBOX, []);
    var rejected = box.filter(function (i) { return i.rejected; }), unsent = box.length - rejected.length;
    if (!rejected.length && !unsent && !flash) {
      if (!savedTimer) { el.textContent = ''; el.className = 'sync-status'; } // let a "Saved" run its course
      return;
    }
    clearTimeout(savedTimer); savedTimer = null;
    el.className = 'sync-status floating';
    el.textContent = '';
    if (rejected.length) {
      // A refused registration must not vanish: link back to its form, where it is restored.
      var a = document.createElement('a'); a.href = rejected[0].page;
      a.textContent = text('rejected', '%d not accepted by the server — open the form and check', rejected.length);
      el.appendChild(a); el.classList.add('rejected');
    } else if (unsent) {
      el.textContent = text('unsent', '%d unsent — will retry', unsent); el.classList.add('pending');
    } else {
      el.textContent = text(flash, flash === 'saved' ? 'Saved' : 'Draft restored', 0);
      savedTimer = setTimeout(function () { savedTimer = null; showStatus(); }, 5000);
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
  function saveDraft(form, idem) {
    var k = draftKey(form);
    put(k, { t: Date.now(), f: fields(form), k: idem === undefined ? get(k, {}).k : idem });
  }
  // Fill only what the server left empty: what the server rendered (an error
  // re-render, a record being edited) is newer than any draft.
  function fill(form, pairs) {
    var restored = false, seen = {}; // seen: repeated names (aliases) fill in order
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!keepable(el)) return;
      var vals = pairs.filter(function (p) { return p[0] === el.name; }).map(function (p) { return p[1]; });
      if (!vals.length) return;
      if (el.type === 'checkbox' || el.type === 'radio') {
        var group = form.querySelectorAll('[name="' + CSS.escape(el.name) + '"]');
        if (Array.prototype.some.call(group, function (g) { return g.defaultChecked; })) return;
        if (vals.indexOf(el.value) >= 0 && !el.checked) { el.checked = true; restored = true; }
      } else if (el.tagName === 'SELECT') {
        if (Array.prototype.some.call(el.options, function (o) { return o.defaultSelected; })) return;
        Array.prototype.forEach.call(el.options, function (o) { o.selected = vals.indexOf(o.value) >= 0; });
        restored = true;
      } else {
        var n = seen[el.name] || 0; seen[el.name] = n + 1;
        if (el.value === '' && vals[n]) { el.value = vals[n]; restored = true; }
      }
    });
    return restored;
  }
  function clearDrafts(keep, exact) {
    if (exact) { del(exact); return; }
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var k = localStorage.key(i);
        if (k && k.indexOf(DRAFT + keep + ':') === 0) del(k);
      }
    } catch (e) { /* storage unavailable */ }
  }
  function confirmed(keep, exact) {
    if (!keep) return;
    clearDrafts(keep, exact);
    session(PENDING, null);
    showStatus('saved');
  }

  // ---------- Outbox ----------
  // Where a form posts, as an absolute URL; the key that ties an outbox item
  // back to its form (htmx forms post to hx-post, not action).
  function target(form) { return new URL(form.getAttribute('hx-post') || form.getAttribute('action') || '', location.href).href; }
  function idemInput(form) { return form.querySelector('input[name="idempotency_key"]'); }
  function enqueue(item) {
    var box = get(OUTBOX, []).filter(function (i) { return i.id !== item.id; });
    box.push(item);
    if (!put(OUTBOX, box)) {
      window.alert('This form could not be kept on this device. Do not close the page; try again when the connection is back.');
      return;
    }
    // Remember the key in the draft: a resubmit of the same draft is then a
    // repeat the server recognises, not a second registration.
    if (item.keep) { var d = get(item.keep, null); if (d) { d.k = item.id; put(item.keep, d); } }
    showStatus(); schedule();
  }
  function update(id, fn) { // re-read first: another tab may have changed the outbox
    put(OUTBOX, get(OUTBOX, []).map(function (i) { return i.id === id ? fn(i) : i; }).filter(Boolean));
  }

  // send resolves to ok | retry | auth | rejected. A redirect to the sign-in
  // page looks like success to fetch, so it is checked for explicitly.
  // The CSRF token goes in the body, refreshed from this page (the queued
  // one may be from before signing in again), not in X-CSRF-Token: with
  // both that header and Idempotency-Key the server never parses the form,
  // and the handler sees empty fields and refuses the item (422).
  function send(item) {
    var body = new URLSearchParams(item.body);
    if (meta('csrf-token')) body.set('csrf', meta('csrf-token'));
    return fetch(item.url, {
      method: 'POST', body: body.toString(), credentials: 'same-origin', redirect: 'follow',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': item.id, 'Accept': 'text/html' }
    }).then(function (res) {
      return res.text().then(function (html) {
        var r = { res: res, html: html };
        var saved = res.headers.get('X-Custodia-Saved') || (html.match(/<meta name="custodia-saved" content="([^"]*)"/) || [])[1];
        if (saved) r.saved = saved;
        if (new URL(res.url, location.href).pathname === LOGIN && new URL(item.url, location.href).pathname !== LOGIN) r.kind = 'auth';
        // 403: a stale CSRF token after signing in again. 409: the server may
        // still be working on the first copy; only a lasting 409 is a refusal.
        else if (res.status >= 500 || [401, 403, 408, 425, 429].indexOf(res.status) >= 0 || (res.status === 409 && (item.tries || 0) < 5)) r.kind = 'retry';
        else r.kind = res.ok ? 'ok' : 'rejected';
        return r;
      });
    }, function () { return { kind: 'retry' }; });
  }

  // The server has the item. A replayed answer (the first was lost) names
  // no saved form, so its draft is cleared here too. The form that queued
  // it still holds its key: a new entry there is a new request and needs a
  // new key, or the server answers it with the old one and stores nothing.
  function sent(item, saved) {
    if (saved) confirmed(saved, item.keep); else { if (item.keep) del(item.keep); showStatus('saved'); }
    Array.prototype.forEach.call(document.querySelectorAll('form[data-queue]'), function (f) {
      var input = idemInput(f);
      if (!input || input.value !== item.id) return;
      var body = new URLSearchParams(item.body);
      if (fields(f).every(function (p) { return body.getAll(p[0]).indexOf(p[1]) >= 0; })) f.reset(); // still shows what was sent
      input.value = uuid();
    });
  }

  var timer, flushing = false;
  function schedule() {
    clearTimeout(timer);
    var box = get(OUTBOX, []).filter(function (i) { return !i.rejected; });
    if (!box.length) return;
    var next = Math.min.apply(null, box.map(function (i) { return i.next || 0; }));
    timer = setTimeout(flush, Math.max(0, next - Date.now()));
  }
  function flush() {
    if (flushing) return;
    flushing = true;
    // Web Locks keep two tabs from sending the same item at once (the
    // Idempotency-Key would make that harmless, but not free).
    var run = function () {
      var due = get(OUTBOX, []).filter(function (i) { return !i.rejected && (i.next || 0) <= Date.now(); });
      return due.reduce(function (p, item) {
        return p.then(function () {
          return send(item).then(function (r) {
            if (r.kind === 'ok') { update(item.id, function () { return null; }); sent(item, r.saved); }
            else if (r.kind === 'rejected') update(item.id, function (i) { i.rejected = r.res.status; return i; });
            else update(item.id, function (i) {
              i.tries = (i.tries || 0) + 1;
              i.next = Date.now() + Math.min(MAX_DELAY, 2000 * Math.pow(2, i.tries)) * (0.5 + Math.random() / 2);
              return i;
            });
          });
        });
      }, Promise.resolve());
    };
    var done = function () { flushing = false; showStatus(); schedule(); };
    (navigator.locks ? navigator.locks.request('custodia-outbox', run) : run()).then(done, done);
  }

  // ---------- Submitting a data-queue form without htmx ----------
  function submitQueued(form, submitter) {
    var fd = new FormData(form);
    if (submitter && submitter.name && !fd.has(submitter.name)) fd.append(submitter.name, submitter.value);
    var input = idemInput(form), id = (input && input.value) || uuid();
    fd.set('idempotency_key', id);
    var item = { id: id, url: target(form), body: new URLSearchParams(fd).toString(), page: location.pathname,
      keep: form.hasAttribute('data-keep') ? draftKey(form) : '', tries: 0, next: 0 };
    send(item).then(function (r) {
      if (r.kind === 'ok' && r.res.redirected) {
        if (r.saved) confirmed(r.saved, item.keep);
        session(FLASH, 'saved');
        location.assign(r.res.url);
      } else if (r.kind === 'ok' || r.kind === 'rejected') {
        // Let the browser show the server's answer (a validation re-render)
        // the normal way. Same key, so the server answers the repeat, not twice.
        if (!input) { input = document.createElement('input'); input.type = 'hidden'; input.name = 'idempotency_key'; form.appendChild(input); }
        input.value = id;
        if (submitter && submitter.name) { var h = document.createElement('input'); h.type = 'hidden'; h.name = submitter.name; h.value = submitter.value; form.appendChild(h); }
        HTMLFormElement.prototype.submit.call(form);
      } else {
        enqueue(item);
        if (r.kind === 'auth') location.assign(r.res.url);
      }
    });
  }

  // ---------- Wiring ----------
  // init prepares forms in root; it reports whether it restored anything.
  function init(root) {
    var any = false;
    var forms = root.querySelectorAll ? root.querySelectorAll('form[data-keep], form[data-queue]') : [];
    if (root.matches && root.matches('form[data-keep], form[data-queue]')) forms = [root].concat(Array.prototype.slice.call(forms));
    Array.prototype.forEach.call(forms, function (form) {
      var box = get(OUTBOX, []), mine = box.filter(function (i) { return i.rejected && i.page === location.pathname && i.url === target(form); });
      var restored = false;
      mine.forEach(function (i) { restored = fill(form, Array.from(new URLSearchParams(i.body))) || restored; update(i.id, function () { return null; }); });
      if (form.hasAttribute('data-keep')) {
        var d = get(draftKey(form), null);
        if (d) restored = fill(form, d.f || []) || restored;
        // A refused item comes back to be corrected: that is a new request
        // and needs a new key, so the draft drops the old one.
        if (mine.length) saveDraft(form, null);
        else if (d && d.k && idemInput(form)) idemInput(form).value = d.k;
      }
      var input = idemInput(form);
      if (input && !input.value) input.value = uuid();
      any = any || restored;
    });
    return any;
  }

  function onInput(e) { var f = e.target.form; if (f && f.hasAttribute('data-keep')) saveDraft(f); }
  document.addEventListener('input', onInput);
  document.addEventListener('change', onInput);

  // Capture phase, so a "No" stops htmx and the form before they see the event.
  function ask(e, el) {
    if (el && !window.confirm(el.getAttribute('data-confirm'))) { e.preventDefault(); e.stopImmediatePropagation(); }
  }
  document.addEventListener('click', function (e) { ask(e, e.target.closest && e.target.closest('a[data-confirm], button[data-confirm], input[data-confirm]')); }, true);
  document.addEventListener('submit', function (e) { ask(e, e.target.matches('form[data-confirm]') ? e.target : null); }, true);

  document.addEventListener('submit', function (e) {
    var f = e.target;
    if (e.defaultPrevented) return; // htmx (or a "No") has it
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
    enqueue({ id: id, url: new URL(cfg.path, location.href).href, body: body.toString(), page: location.pathname,
      keep: f.hasAttribute('data-keep') ? draftKey(f) : '', tries: 0, next: 0 });
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
  document.addEventListener('htmx:load', function (e) { if (e.detail.elt !== document.body && init(e.detail.elt)) showStatus('restored'); });

  // Coming back online, or a page loading at all, means the server may be
  // reachable again: forget the backoff and try everything now.
  function retryNow() { put(OUTBOX, get(OUTBOX, []).map(function (i) { i.next = 0; return i; })); flush(); }
  window.addEventListener('online', retryNow);
  window.addEventListener('storage', function (e) { if (e.key === OUTBOX) showStatus(); });

  function start() {
    // After a normal POST-redirect-GET the server names the saved form here.
    // Clear that draft before init, or a page that shows the same form again
    // would refill it with what was just saved.
    var saved = meta('custodia-saved'), pending = JSON.parse(session(PENDING) || 'null');
    if (saved) confirmed(saved, pending && pending[0] === saved ? pending[1] : '');
    var restored = init(document);
    if (session(FLASH)) { session(FLASH, null); showStatus('saved'); } else showStatus(restored ? 'restored' : '');
    retryNow();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
