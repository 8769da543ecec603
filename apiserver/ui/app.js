// Minkube's dashboard: plain JavaScript over the manager's API, no build
// step. It signs in by exchanging a one-time code (from `mkctl dashboard`,
// in the URL's fragment, which browsers never send to a server) or a
// pasted token for a read-only session token, kept in this tab's
// sessionStorage and sent as a bearer token. Tasks follow the watch API
// (GET /api/v1/tasks?watch=true) without a reload; workers, events and
// logs are read from their own endpoints.
'use strict';

const SESSION_KEY = 'minkube.session';
const PHASES = ['Pending', 'Scheduled', 'Running', 'Succeeded', 'Failed', 'Unknown'];
const MAX_ROWS = 1000;
const MAX_LOG_CHARS = 200000;

const state = {
  token: null,
  tasks: new Map(), // by name
  rv: '', // the resourceVersion the watch resumes from
  workers: [],
  filters: { phase: '', worker: '', labels: '' },
  watch: null, // AbortController of the task watch
  page: null, // AbortController of the task page's streams and polls
  renderQueued: false,
};

const $ = (id) => document.getElementById(id);

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// age renders the time since an RFC 3339 timestamp as kubectl does: 45s, 3m, 2h, 4d.
function age(ts) {
  if (!ts) return '';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return s + 's';
  if (s < 7200) return Math.floor(s / 60) + 'm';
  if (s < 172800) return Math.floor(s / 3600) + 'h';
  return Math.floor(s / 86400) + 'd';
}

function bytes(n) {
  if (!n) return '0';
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)) + units[i];
}

function labelText(labels) {
  return Object.entries(labels || {}).map(([k, v]) => k + '=' + v).join(', ');
}

class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// api calls the manager with the session token; a 401 ends the session.
async function api(path, opts = {}) {
  const res = await fetch(path, { ...opts, headers: { ...(opts.headers || {}), Authorization: 'Bearer ' + state.token } });
  if (res.ok) return res;
  let msg = res.status + ' ' + res.statusText;
  try { msg = (await res.json()).message || msg; } catch { /* not JSON */ }
  if (res.status === 401) signOut('Your session ended: ' + msg);
  throw new APIError(res.status, msg);
}

// ---- signing in ----

async function exchange(body) {
  const res = await fetch('/api/v1/dashboard/sessions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.message || res.statusText);
  sessionStorage.setItem(SESSION_KEY, data.token);
  state.token = data.token;
}

function showSignIn(message) {
  for (const id of ['overview', 'task']) $(id).hidden = true;
  $('signin').hidden = false;
  $('signout').hidden = true;
  $('signin-error').textContent = message || '';
  setLive(false, 'signed out');
}

function signOut(message) {
  sessionStorage.removeItem(SESSION_KEY);
  state.token = null;
  state.watch?.abort();
  state.page?.abort();
  state.tasks.clear();
  state.rv = '';
  showSignIn(message);
}

async function boot() {
  const m = location.hash.match(/^#code=([^&]+)/);
  if (m) {
    // The code is used once: take it out of the address bar and history first.
    history.replaceState(null, '', location.pathname + location.search);
    try {
      await exchange({ code: decodeURIComponent(m[1]) });
    } catch (e) {
      showSignIn(e.message);
      return;
    }
  } else {
    state.token = sessionStorage.getItem(SESSION_KEY);
  }
  if (!state.token) { showSignIn(); return; }
  start();
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('token');
  try {
    await exchange({ token: input.value.trim() });
    input.value = '';
    start();
  } catch (e) {
    $('signin-error').textContent = e.message;
  }
});
$('signout').addEventListener('click', () => signOut('Signed out.'));

// ---- the running dashboard ----

function start() {
  $('signin').hidden = true;
  $('signout').hidden = false;
  const phase = $('f-phase');
  if (phase.options.length === 1) {
    for (const p of PHASES) phase.add(new Option(p, p));
  }
  watchTasks();
  pollWorkers();
  route();
}

function setLive(on, text) {
  const el = $('live');
  el.className = 'live ' + (on ? 'on' : 'off');
  el.textContent = text || (on ? 'live' : 'reconnecting');
}

// watchTasks follows the task watch until sign-out: it resumes from the
// last resourceVersion when the stream breaks and starts afresh on 410
// Gone or when the label filter changes.
async function watchTasks() {
  state.watch?.abort();
  const ctl = new AbortController();
  state.watch = ctl;
  while (!ctl.signal.aborted && state.token) {
    const q = new URLSearchParams({ watch: 'true' });
    if (state.filters.labels) q.set('labelSelector', state.filters.labels);
    if (state.rv) q.set('resourceVersion', state.rv);
    try {
      const res = await api('/api/v1/tasks?' + q, { signal: ctl.signal });
      if (!state.rv) state.tasks.clear(); // a fresh watch starts with every task
      $('tasks-error').textContent = '';
      setLive(true);
      scheduleRender();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) applyEvent(JSON.parse(line));
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
      if (e.status === 410) state.rv = '';
      if (e.status === 400) { // a bad label selector: say so, and wait for another
        $('tasks-error').textContent = e.message;
        setLive(false, 'filter error');
        return;
      }
      if (e.status === 401) return;
    }
    if (ctl.signal.aborted) return;
    setLive(false);
    await sleep(1000, ctl.signal);
  }
}

function applyEvent(ev) {
  const t = ev.object;
  if (!t || !t.metadata) return;
  if (ev.type === 'DELETED') state.tasks.delete(t.metadata.name);
  else state.tasks.set(t.metadata.name, t);
  const rv = t.metadata.resourceVersion;
  if (rv && (!state.rv || BigInt(rv) > BigInt(state.rv))) state.rv = rv;
  scheduleRender();
}

function scheduleRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    renderTasks();
    renderTaskPage();
  });
}

async function pollWorkers() {
  while (state.token) {
    try {
      const res = await api('/api/v1/workers');
      state.workers = (await res.json()).items || [];
      $('workers-error').textContent = '';
    } catch (e) {
      if (e.status === 401) return;
      $('workers-error').textContent = 'Workers: ' + e.message;
    }
    renderWorkers();
    await sleep(3000);
  }
}

function renderWorkers() {
  const rows = state.workers.map((w) => {
    const st = w.status || {};
    const stats = st.stats || {};
    const cap = st.capacity || {}; // Kubernetes quantities; stats are bytes
    const alloc = st.allocated || {};
    const memUsed = stats.memoryTotal ? stats.memoryTotal - stats.memoryAvailable : 0;
    const memPct = stats.memoryTotal ? Math.round(100 * memUsed / stats.memoryTotal) : 0;
    const diskPct = stats.diskTotal ? Math.round(100 * (stats.diskTotal - stats.diskFree) / stats.diskTotal) : 0;
    const cond = (st.conditions || []).filter((c) => c.status !== 'True').map((c) => c.type + ': ' + (c.message || c.reason)).join('; ');
    const phase = st.phase || 'Unknown';
    const meter = (pct) => `<span class="meter"><span data-pct="${pct}"></span></span>`;
    return `<tr>
      <td data-label="Name">${esc(w.metadata.name)}</td>
      <td data-label="Status"><span><span class="phase ${esc(phase)}">${esc(phase)}</span>${w.spec.unschedulable ? ' cordoned' : ''}${cond ? '<br><small>' + esc(cond) + '</small>' : ''}</span></td>
      <td data-label="CPU" class="bar-cell"><span>${Math.round(stats.cpuPercent || 0)}% of ${esc(cap.cpu || '?')} CPU<br><small>${esc(alloc.cpu || '0')} allocated</small>${meter(Math.round(stats.cpuPercent || 0))}</span></td>
      <td data-label="Memory" class="bar-cell"><span>${bytes(memUsed)} of ${bytes(stats.memoryTotal)}<br><small>${esc(alloc.memory || '0')} allocated</small>${meter(memPct)}</span></td>
      <td data-label="Disk" class="bar-cell"><span>${bytes(stats.diskFree)} free of ${bytes(stats.diskTotal)}${meter(diskPct)}</span></td>
      <td data-label="Tasks">${st.tasks ?? 0}</td>
      <td data-label="Age">${age(w.metadata.creationTimestamp)}</td>
    </tr>`;
  });
  $('workers').tBodies[0].innerHTML = rows.join('') || '<tr><td class="empty" colspan="7">No workers have registered.</td></tr>';
  for (const bar of document.querySelectorAll('#workers .meter > span')) {
    bar.style.width = Math.min(100, Number(bar.dataset.pct)) + '%'; // CSSOM: allowed by the page's CSP
  }
  $('workers-count').textContent = '(' + state.workers.length + ')';
  const sel = $('f-worker');
  const names = state.workers.map((w) => w.metadata.name);
  const have = [...sel.options].slice(1).map((o) => o.value);
  if (names.join('\n') !== have.join('\n')) {
    const cur = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const n of names) sel.add(new Option(n, n));
    sel.value = names.includes(cur) ? cur : '';
  }
}

function visibleTasks() {
  const { phase, worker } = state.filters;
  return [...state.tasks.values()]
    .filter((t) => (!phase || (t.status?.phase || 'Pending') === phase) && (!worker || t.status?.worker === worker))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

function renderTasks() {
  if ($('overview').hidden) return;
  const tasks = visibleTasks();
  const rows = tasks.slice(0, MAX_ROWS).map((t) => {
    const st = t.status || {};
    const phase = st.phase || 'Pending';
    const name = t.metadata.name;
    const deleting = t.metadata.deletionTimestamp ? ' (deleting)' : '';
    return `<tr data-task="${esc(name)}">
      <td data-label="Name"><a href="#/tasks/${encodeURIComponent(name)}">${esc(name)}</a></td>
      <td data-label="Phase"><span><span class="phase ${esc(phase)}">${esc(phase)}</span>${esc(deleting)}${st.reason ? ' <small>' + esc(st.reason) + '</small>' : ''}</span></td>
      <td data-label="Worker">${esc(st.worker || '-')}</td>
      <td data-label="Restarts">${st.restartCount || 0}</td>
      <td data-label="Age">${age(t.metadata.creationTimestamp)}</td>
      <td data-label="Labels" class="labels">${esc(labelText(t.metadata.labels))}</td>
    </tr>`;
  });
  $('tasks').tBodies[0].innerHTML = rows.join('') || '<tr><td class="empty" colspan="6">No tasks match.</td></tr>';
  const more = tasks.length > MAX_ROWS ? `, showing ${MAX_ROWS}` : '';
  $('tasks-count').textContent = `(${tasks.length}${state.tasks.size !== tasks.length ? ' of ' + state.tasks.size : ''}${more})`;
}

for (const id of ['f-phase', 'f-worker']) {
  $(id).addEventListener('change', () => {
    state.filters.phase = $('f-phase').value;
    state.filters.worker = $('f-worker').value;
    renderTasks();
  });
}
$('filters').addEventListener('submit', (ev) => ev.preventDefault());
let labelTimer;
$('f-labels').addEventListener('input', () => {
  clearTimeout(labelTimer);
  labelTimer = setTimeout(() => {
    const v = $('f-labels').value.trim();
    if (v === state.filters.labels) return;
    state.filters.labels = v;
    state.rv = ''; // the selector is the server's: list afresh under it
    state.tasks.clear();
    renderTasks();
    watchTasks();
  }, 400);
});

// ---- pages ----

function route() {
  if (!state.token) return;
  state.page?.abort();
  state.page = null;
  const m = location.hash.match(/^#\/tasks\/(.+)$/);
  $('overview').hidden = !!m;
  $('task').hidden = !m;
  if (m) {
    openTask(decodeURIComponent(m[1]));
  } else {
    document.title = 'Minkube';
    renderTasks();
  }
}
window.addEventListener('hashchange', route);

function openTask(name) {
  const ctl = new AbortController();
  state.page = ctl;
  state.pageTask = name;
  document.title = name + ' - Minkube';
  $('t-logs').textContent = '';
  $('t-events').tBodies[0].innerHTML = '';
  renderTaskPage();
  pollEvents(name, ctl.signal);
  tailLogs(name, ctl.signal);
}

function renderTaskPage() {
  if ($('task').hidden) return;
  const name = state.pageTask;
  const t = state.tasks.get(name);
  $('t-name').textContent = name;
  if (!t) {
    $('t-phase').textContent = 'not found';
    $('t-phase').className = 'phase';
    $('t-message').textContent = 'No task of this name (under the current label filter).';
    return;
  }
  const st = t.status || {};
  const phase = st.phase || 'Pending';
  $('t-phase').textContent = phase;
  $('t-phase').className = 'phase ' + phase;
  $('t-message').textContent = [st.reason, st.message].filter(Boolean).join(': ');
  const ports = (st.ports || []).map((p) => `${p.name ? p.name + ' ' : ''}${p.containerPort} -> ${st.hostIP || ''}:${p.hostPort}`).join(', ');
  const summary = [
    ['Worker', st.worker || '-'], ['Container', (st.containerID || '-').slice(0, 12)], ['Restarts', st.restartCount || 0],
    ['Started', st.startedAt ? st.startedAt + ' (' + age(st.startedAt) + ')' : '-'], ['Ports', ports || '-'],
    ['Labels', labelText(t.metadata.labels) || '-'], ['Created', t.metadata.creationTimestamp || '-'],
    ['Generation', `${t.metadata.generation || 0} (observed ${st.observedGeneration || 0})`],
  ];
  $('t-summary').innerHTML = summary.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
  $('t-conditions').tBodies[0].innerHTML = (st.conditions || []).map((c) => `<tr>
      <td data-label="Type">${esc(c.type)}</td>
      <td data-label="Status"><span class="phase ${esc(c.status)}">${esc(c.status)}</span></td>
      <td data-label="Reason">${esc(c.reason)}</td>
      <td data-label="Message">${esc(c.message)}</td>
      <td data-label="Since">${c.lastTransitionTime ? age(c.lastTransitionTime) : ''}</td></tr>`).join('') ||
    '<tr><td class="empty" colspan="5">No conditions yet.</td></tr>';
  const spec = JSON.stringify({ metadata: { name: t.metadata.name, labels: t.metadata.labels, annotations: t.metadata.annotations }, spec: t.spec }, null, 2);
  if ($('t-spec').textContent !== spec) $('t-spec').textContent = spec;
}

async function pollEvents(name, signal) {
  while (!signal.aborted && state.token) {
    try {
      const res = await api('/api/v1/events?task=' + encodeURIComponent(name), { signal });
      const items = ((await res.json()).items || []).slice().reverse();
      $('t-events').tBodies[0].innerHTML = items.map((e) => `<tr>
          <td data-label="Type">${esc(e.type)}</td><td data-label="Reason">${esc(e.reason)}</td>
          <td data-label="Message">${esc(e.message)}</td><td data-label="Count">${e.count}</td>
          <td data-label="Last seen">${age(e.lastTimestamp)}</td></tr>`).join('') ||
        '<tr><td class="empty" colspan="5">No events.</td></tr>';
    } catch (e) {
      if (signal.aborted || e.status === 401) return;
    }
    await sleep(3000, signal);
  }
}

// tailLogs follows the task's log, keeping the end of it; when the stream
// ends (the container stopped or restarted) it starts again from a tail.
async function tailLogs(name, signal) {
  const pre = $('t-logs');
  const stateEl = $('t-logs-state');
  while (!signal.aborted && state.token) {
    try {
      const res = await api(`/api/v1/tasks/${encodeURIComponent(name)}/logs?follow=true&tail=200`, { signal });
      pre.textContent = '';
      stateEl.textContent = '(following)';
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        let text = pre.textContent + value;
        if (text.length > MAX_LOG_CHARS) text = text.slice(text.length - MAX_LOG_CHARS);
        pre.textContent = text;
        if (atBottom) pre.scrollTop = pre.scrollHeight;
      }
      stateEl.textContent = '(the container stopped)';
    } catch (e) {
      if (signal.aborted || e.status === 401) return;
      stateEl.textContent = '(' + e.message + ')';
    }
    await sleep(2000, signal);
  }
}

boot();
