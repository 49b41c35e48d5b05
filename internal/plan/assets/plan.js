// SPDX-License-Identifier: AGPL-3.0-or-later
//
// plan.js: the action plan pages' script. Without it the pages work with
// their Save buttons; with it:
//
//   <form id="plan-form" data-autosave="URL" data-delay="3000">  saves the
//     plan a few seconds after typing stops. One save is in flight at a
//     time, each carrying the version the page holds and its own
//     Idempotency-Key (a retry after a network failure reuses it, so a save
//     that landed is answered, not repeated). When someone else saved first
//     the server keeps this text and answers "conflict": autosave stops and
//     the page offers the side-by-side choice; it never retries into it.
//     Between saves the form is kept in localStorage; a page opened with an
//     unsaved copy sends it (at the version it was typed on) before anything
//     else, so text typed just before a crash or a closed tab is not lost.
//     Empty rows for a new goal or measure get a fresh empty row after them
//     as soon as they are typed in.
//   <form id="conflict-form">  typing in a merge box chooses it; a box
//     restored from the draft (custodia.js data-keep) is chosen again.
(function () {
  'use strict';

  var meta = function (n) { var m = document.querySelector('meta[name="' + n + '"]'); return m ? m.content : ''; };
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }
  function store(k, v) { try { if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* storage unavailable */ } }
  function load(k) { try { return JSON.parse(localStorage.getItem(k) || 'null'); } catch (e) { return null; } }

  // content is the form's fields that make up the plan (not the version,
  // the CSRF token or keys), for comparing two states of the form.
  function fieldsOf(form) {
    var p = new URLSearchParams(new FormData(form));
    ['csrf', 'idempotency_key', 'compare'].forEach(function (k) { p.delete(k); });
    return p;
  }
  function content(params) {
    var p = new URLSearchParams(params); p.delete('version'); p.delete('csrf'); p.delete('idempotency_key'); p.delete('compare');
    return p.toString();
  }

  // ---------- New rows ----------
  var rowIndex = /goals\[(\d+)\](\.measures\[(\d+)\])?/;
  function rename(el, g, m) {
    el.querySelectorAll('[name], [id], [for], [aria-describedby]').forEach(function (x) {
      ['name', 'id', 'for', 'aria-describedby'].forEach(function (a) {
        var v = x.getAttribute(a);
        if (!v) return;
        v = v.replace(/goals\[\d+\]/g, 'goals[' + g + ']');
        if (m !== undefined) v = v.replace(/measures\[\d+\]/g, 'measures[' + m + ']');
        x.setAttribute(a, v);
      });
    });
    el.querySelectorAll('input, textarea, select').forEach(function (x) {
      if (/\.id$/.test(x.name)) x.value = uuid();
      else if (x.type === 'checkbox') x.checked = false;
      else if (x.tagName === 'SELECT') x.selectedIndex = 0;
      else if (x.type !== 'hidden') x.value = '';
      x.removeAttribute('aria-invalid');
    });
    el.querySelectorAll('.field-error').forEach(function (x) { x.remove(); });
  }
  function growRows(form) {
    var goals = form.querySelector('#plan-goals');
    if (!goals) return;
    var lastGoal = goals.querySelector('fieldset.new-row');
    var goalTpl = lastGoal && lastGoal.cloneNode(true);
    var rowTpl = form.querySelector('tr.new-row');
    rowTpl = rowTpl && rowTpl.cloneNode(true);
    form.addEventListener('input', function (e) {
      var tr = e.target.closest && e.target.closest('tr.new-row');
      if (tr && rowTpl && e.target.value) {
        tr.classList.remove('new-row');
        var m = rowIndex.exec(e.target.name), row = rowTpl.cloneNode(true);
        rename(row, +m[1], +(m[3] || 0) + 1);
        row.classList.add('new-row');
        tr.parentNode.appendChild(row);
      }
      var fs = e.target.closest && e.target.closest('fieldset.new-row');
      if (fs && goalTpl && e.target.value) {
        fs.classList.remove('new-row');
        var n = goals.querySelectorAll('fieldset[data-goal]').length, goal = goalTpl.cloneNode(true);
        rename(goal, n, 0);
        goal.setAttribute('data-goal', n);
        goals.appendChild(goal);
      }
    });
  }

  // ---------- Autosave ----------
  function autosave(form) {
    var url = form.getAttribute('data-autosave'), delay = +form.getAttribute('data-delay') || 3000;
    var status = document.getElementById('autosave-status'), banner = document.getElementById('autosave-conflict');
    var version = form.querySelector('input[name="version"]');
    var KEY = 'custodia:' + (meta('custodia-user') || '-') + ':plan:' + form.getAttribute('data-plan');
    var timer = null, inflight = null, again = false, stopped = false, failed = null;
    var saved = content(fieldsOf(form)); // what the server holds

    function say(text, cls) { if (status) { status.textContent = text; status.className = 'autosave-status ' + (cls || ''); } }
    function keep() { store(KEY, { v: version.value, b: fieldsOf(form).toString(), t: Date.now() }); }
    function schedule(ms) { clearTimeout(timer); timer = setTimeout(send, ms === undefined ? delay : ms); }
    function stop(a) {
      stopped = true; clearTimeout(timer);
      say('', 'conflict'); // the banner says it
      if (banner) { banner.hidden = false; }
    }

    // post sends one body; it resolves to the server's answer or null when
    // the server was not reached.
    function post(body, key) {
      var p = new URLSearchParams(body); p.set('csrf', meta('csrf-token'));
      return fetch(url, {
        method: 'POST', credentials: 'same-origin', body: p.toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': key, 'X-CSRF-Token': meta('csrf-token'), 'Accept': 'application/json' }
      }).then(function (res) {
        return res.json().then(function (a) { return a; }, function () { return res.status >= 500 ? null : { status: 'refused', message: res.statusText }; });
      }, function () { return null; });
    }

    function send() {
      if (stopped) return Promise.resolve();
      if (inflight) { again = true; return inflight; }
      // A save that failed on the network goes again as it was, with its
      // key: if it landed, the server answers it instead of refusing the
      // next save as a conflict with this one.
      var job = failed || { body: fieldsOf(form).toString(), key: uuid() };
      if (!failed && content(job.body) === saved) return Promise.resolve();
      say(status && status.getAttribute('data-saving'), 'saving');
      inflight = post(job.body, job.key).then(function (a) {
        inflight = null;
        if (!a) {
          failed = job;
          say(status && status.getAttribute('data-offline'), 'offline');
          schedule(5000);
          return;
        }
        failed = null;
        if (a.status === 'saved') {
          version.value = a.version;
          saved = content(job.body);
          if (content(fieldsOf(form)) === saved) store(KEY, null);
          say(a.message, 'saved');
        } else if (a.status === 'conflict') {
          store(KEY, null); // the server keeps this text now
          stop(a);
          return;
        } else {
          // Not valid yet (a half-typed row): wait for more typing. The
          // text stays in the form and in local storage.
          saved = content(job.body);
          say(a.message, 'invalid');
        }
        if (again) { again = false; schedule(); }
      });
      return inflight;
    }

    form.addEventListener('input', function () { if (stopped) return; keep(); schedule(); });
    form.addEventListener('change', function () { if (stopped) return; keep(); schedule(); });
    // The Save button: let a save in flight finish first, so the form
    // carries the version it produced and does not conflict with it.
    form.addEventListener('submit', function (e) {
      clearTimeout(timer);
      keep();
      if (inflight) {
        e.preventDefault(); e.stopImmediatePropagation();
        var by = e.submitter;
        inflight.then(function () { form.requestSubmit(by); });
      }
    });

    // An unsaved copy from an earlier visit goes first, at its own
    // version: the server saves it, or keeps it as a conflict.
    var kept = load(KEY);
    if (kept && content(kept.b) !== saved) {
      stopped = true;
      say(status && status.getAttribute('data-kept'), 'saving');
      var p = new URLSearchParams(kept.b); p.set('version', kept.v);
      post(p.toString(), uuid()).then(function (a) {
        if (a && a.status === 'saved') { store(KEY, null); location.reload(); return; }
        if (a && a.status === 'conflict') { store(KEY, null); location.assign(a.url); return; }
        // Not savable as it is: put it back in the form to be finished.
        p.forEach(function (v, k) { var el = form.elements[k]; if (el && el.type !== 'hidden' && el.value !== undefined) el.value = v; });
        stopped = false;
        say(a ? a.message : status.getAttribute('data-offline'), a ? 'invalid' : 'offline');
      });
    } else if (kept) {
      store(KEY, null);
    }
    growRows(form);
  }

  // ---------- Conflict choice ----------
  function conflict(form) {
    form.querySelectorAll('.merge-edit textarea').forEach(function (ta) {
      var radio = ta.closest('.merge-edit').querySelector('input[type="radio"]');
      if (ta.value) radio.checked = true;
      ta.addEventListener('input', function () { radio.checked = true; });
      radio.addEventListener('change', function () {
        // Start the merge from both texts, so nothing has to be retyped.
        if (radio.checked && !ta.value) {
          var m = ta.getAttribute('data-mine') || '', t = ta.getAttribute('data-theirs') || '';
          ta.value = m && t && m !== t ? t + '\n' + m : (m || t);
          ta.dispatchEvent(new Event('input', { bubbles: true }));
        }
      });
    });
  }

  function start() {
    var f = document.getElementById('plan-form');
    if (f && f.getAttribute('data-autosave')) autosave(f);
    var c = document.getElementById('conflict-form');
    if (c) conflict(c);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
