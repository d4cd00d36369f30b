// loraedge web page: overview, device, alerts, road stations, energy report.
// Plain ES module, no build step; talks only to this gateway's /api/v1.
import { t, setLang, lang, quantityName, unitName, num, dateTime, timeOnly } from './i18n.js';
import { lineChart } from './chart.js';
import { measuresSection } from './measures.js';
import { viewCivil } from './gauge.js';
import { frameLog, viewGateway, importForm } from './frames.js';
import { viewPeers } from './peers.js';
import { benchmarksSection } from './benchmarks.js';
import { scheduledSection } from './scheduled.js';
import { actionList } from './alertactions.js';

const main = document.getElementById('main');
const msg = document.getElementById('msg');
let token = localStorage.getItem('loraedge.token') || '';
let cleanup = [];

// h builds an element; strings become text nodes, so API data is never
// parsed as HTML.
function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

class ApiError extends Error {
  constructor(status, code, message, data) { super(message); this.status = status; this.code = code; this.data = data; }
}

// api calls /api/v1; raw (with its type) sends a body as it is (a CSV
// import), and a refused call's answer stays in the error's data.
async function api(path, { method = 'GET', body, raw, type } = {}) {
  const opts = { method, headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
  if (raw !== undefined) { opts.method = 'POST'; opts.headers['Content-Type'] = type; opts.body = raw; }
  const r = await fetch(`/api/v1${path}`, opts);
  const ct = r.headers.get('Content-Type') || '';
  const data = ct.includes('json') ? await r.json() : null;
  if (r.ok) return data;
  const e = data?.error || {};
  if (r.status === 401) askToken(t(e.code === 'insecure_transport' ? 'tokenPlainHTTP' : 'tokenInvalid'));
  if (r.status === 429) {
    const wait = r.headers.get('Retry-After') || '30';
    askToken(t('tokenTooMany', wait));
    throw new ApiError(r.status, e.code || '429', t('tokenTooMany', wait));
  }
  throw new ApiError(r.status, e.code || String(r.status), e.message || r.statusText, data);
}

// For frames.js: the page's building blocks, the token, and cleanup when
// the view changes.
const onLeave = (f) => cleanup.push(f);
const tokenValue = () => token;
export { h, api, section, table, cell, notice, onLeave, tokenValue };

// errorText turns an API error into what an operator can act on.
function errorText(err, service) {
  if (err.status === 501) return t('notConfigured', t(`svc_${service}`));
  if (err.status === 403) return t('forbidden');
  return `${t('error')}: ${err.message}`;
}

function notice(text, kind = 'ok') {
  msg.replaceChildren(h('p', { class: `notice ${kind}` }, text));
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => msg.replaceChildren(), 8000);
}

// section renders fill(body) under a heading and shows a clear message
// instead when the service answers with an error (501 not_configured).
function section(title, service, fill) {
  const body = h('div', { class: 'body' }, h('p', { class: 'muted' }, t('loading')));
  const s = h('section', { class: 'card' }, h('h2', {}, title), body);
  fill(body).catch((err) => {
    body.replaceChildren(h('p', { class: `notice ${err.status === 501 ? 'info' : 'error'}`, 'data-code': err.code || '' }, errorText(err, service)));
  });
  return s;
}

function table(cols, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows)));
}

// cell wraps its content in one element so the phone layout (label | value
// grid) keeps it in the value column.
const cell = (label, ...kids) => h('td', { 'data-label': label }, h('div', {}, ...kids));
const fmtValue = (q, v, unit) => (q === 'road_surface_state' ? t(`surf_${v}`) : `${num(v, 2)} ${unitName(unit)}`.trim());

// latestByQuantity flattens a /latest answer to quantity -> {v, t, unit}.
function latestByQuantity(latest) {
  const out = {};
  for (const s of latest || []) {
    const p = s.points?.[s.points.length - 1];
    if (!p) continue;
    const q = s.channel ? `${s.quantity}#${s.channel}` : s.quantity;
    if (!out[q] || out[q].t < p.time) out[q] = { v: p.value, t: p.time, unit: s.unit, quantity: s.quantity, key: s.key };
  }
  return out;
}

// limited runs fn over items with at most n requests in flight, so a county
// with hundreds of devices does not flood the gateway.
async function limited(items, n, fn) {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    while (queue.length) await fn(queue.shift()).catch(() => {});
  }));
}

let sitesCache = null;
async function sites() {
  if (!sitesCache) sitesCache = (await api('/sites')).sites;
  return sitesCache;
}

// ---- overview ----

function viewOverview() {
  const gw = section(t('gateways'), 'gateways', async (body) => {
    const { gateways } = await api('/gateways');
    if (!gateways.length) return body.replaceChildren(h('p', { class: 'muted' }, t('noGateways')));
    body.replaceChildren(table([t('id'), t('address'), t('lastSeen'), t('packets')], gateways.map((g) => {
      const fresh = Date.now() - new Date(g.last_seen) < 5 * 60e3;
      return h('tr', {},
        cell(t('id'), h('span', { class: `dot ${fresh ? 'ok' : 'stale'}`, role: 'img', title: fresh ? t('online') : t('offline'), 'aria-label': fresh ? t('online') : t('offline') }), h('a', { href: `#/gateway/${g.id}` }, h('code', {}, g.id))),
        cell(t('address'), g.addr || '–'),
        cell(t('lastSeen'), dateTime(g.last_seen)),
        cell(t('packets'), `${g.rx_ok} / ${g.rx_received}`
          + (g.rx_rejected ? ` · ${t('rxRejected', g.rx_rejected)}` : '')
          + (g.gps_time_rejected ? ` · ${t('gpsTimeRejected', g.gps_time_rejected)}` : '')
          + (g.tx_ack_missing ? ` · ${t('txAckMissing', g.tx_ack_missing)}` : '')));
    })));
  });
  const dev = section(t('devices'), 'devices', async (body) => {
    const { devices } = await api('/devices');
    if (!devices.length) return body.replaceChildren(h('p', { class: 'muted' }, t('noDevices')));
    const siteName = Object.fromEntries((await sites()).map((s) => [s.id, s.name || s.id]));
    // The signal column only appears when the API reports signal values.
    const hasSig = devices.some((d) => d.session?.rssi !== undefined);
    devices.sort((a, b) => (a.name || a.dev_eui).localeCompare(b.name || b.dev_eui));
    const rows = devices.map((d) => {
      const last = cell(t('lastSeen'), d.session ? dateTime(d.session.last_seen) : '…');
      const sig = cell(`${t('rssi')} / ${t('snr')}`, d.session?.rssi !== undefined ? `${d.session.rssi} dBm / ${num(d.session.snr)} dB` : '–');
      const bat = cell(t('battery'), '…');
      const tr = h('tr', { 'data-dev': d.dev_eui },
        cell(t('name'), h('a', { href: `#/device/${d.dev_eui}` }, d.name || d.dev_eui), d.name ? h('div', { class: 'muted small' }, h('code', {}, d.dev_eui)) : null),
        cell(t('site'), siteName[d.site] || d.site || '–'), cell(t('profile'), d.profile || '–'), last, hasSig ? sig : null, bat);
      tr.search = [d.name, d.dev_eui, d.site, siteName[d.site], d.profile].join(' ').toLowerCase();
      return { d, tr, last, sig, bat };
    });
    const filter = h('input', { id: 'dev-filter', type: 'search', placeholder: t('filterHint'), oninput: () => {
      const f = filter.value.toLowerCase();
      for (const r of rows) r.tr.hidden = f !== '' && !r.tr.search.includes(f);
    } });
    body.replaceChildren(h('label', { class: 'filter' }, t('filter'), filter),
      table([t('name'), t('site'), t('profile'), t('lastSeen'), hasSig ? `${t('rssi')} / ${t('snr')}` : null, t('battery')].filter(Boolean), rows.map((r) => r.tr)));
    await limited(rows, 4, async (r) => {
      const l = latestByQuantity((await api(`/devices/${r.d.dev_eui}/latest`)).latest);
      const b = l.battery_percent || l.battery_voltage;
      r.bat.firstChild.replaceChildren(b ? fmtValue(b.quantity, b.v, b.unit) : '–');
      if (!r.d.session) {
        const newest = Object.values(l).map((x) => x.t).sort().pop();
        r.last.firstChild.replaceChildren(dateTime(newest));
      }
    });
  });
  main.replaceChildren(h('h1', {}, t('navOverview')), gw, dev, importForm());
}

// ---- device ----

const cumulative = new Set(['energy_active_import', 'energy_active_export', 'heat_energy', 'water_volume', 'gas_volume', 'pulse_count']);

// macFacts shows the device's LoRaWAN MAC state; values the network layer
// does not know yet are left out rather than shown as 0.
function macFacts(m) {
  const dl = h('dl', { class: 'facts', id: 'mac' });
  const add = (k, v) => v !== undefined && v !== null && v !== '' && dl.append(h('dt', {}, k), h('dd', {}, v));
  if (m.data_rate !== undefined) add(t('dataRate'), `DR${m.data_rate}${m.data_rate_name ? ` (${m.data_rate_name})` : ''}`);
  if (m.tx_power_dbm !== undefined) add(t('txPower'), `${m.tx_power_dbm} dBm${m.tx_power_index !== undefined ? `, ${t('txPowerIndex', m.tx_power_index)}` : ''}`);
  if (m.nb_trans !== undefined) add(t('nbTrans'), String(m.nb_trans));
  if (m.adr !== undefined) add(t('adr'), m.adr ? t('adrOn') : t('adrOff'));
  if (m.margin_db !== undefined) add(t('margin'), `${m.margin_db} dB`);
  if (m.adr_margin_db !== undefined) add(t('adrMargin'), `${num(m.adr_margin_db, 1)} dB`);
  if (m.external_power) add(t('devBattery'), t('externalPower'));
  else if (m.battery_percent !== undefined) add(t('devBattery'), `${num(m.battery_percent, 1)} %${m.dev_status_at ? ` · ${dateTime(m.dev_status_at)}` : ''}`);
  add(t('pendingMac'), m.pending_commands?.length ? m.pending_commands.join(', ') : t('noneMac'));
  if (m.not_answering?.length) add(t('notAnswering'), m.not_answering.join(', '));
  add(t('fcntDown'), String(m.n_f_cnt_down));
  return [h('h3', {}, t('mac')), dl];
}

function viewDevice(eui) {
  const head = h('div', {}, h('h1', {}, `${t('device')} ${eui}`));
  const info = section(t('device'), 'devices', async (body) => {
    const d = await api(`/devices/${eui}`);
    if (d.name) head.firstChild.textContent = d.name;
    const dl = h('dl', { class: 'facts' });
    const add = (k, v) => v !== undefined && v !== '' && dl.append(h('dt', {}, k), h('dd', {}, v));
    const st = (await sites()).find((x) => x.id === d.site);
    add('DevEUI', h('code', {}, d.dev_eui)); add(t('profile'), d.profile); add(t('site'), st?.name || d.site);
    add(t('activation'), d.activation); add(t('class'), d.class);
    if (d.session) { add(t('lastSeen'), dateTime(d.session.last_seen)); add(t('fcnt'), String(d.session.f_cnt_up)); add(t('lastGateway'), d.session.last_gateway); }
    body.replaceChildren(dl, ...(d.mac ? macFacts(d.mac) : []));
  });
  const stamp = h('p', { class: 'muted small', 'aria-live': 'off' });
  const live = section(t('liveValues'), 'series', async (body) => {
    const grid = h('div', { class: 'tiles', id: 'live' });
    body.replaceChildren(grid, stamp);
    const poll = async () => {
      const l = latestByQuantity((await api(`/devices/${eui}/latest`)).latest);
      const keys = Object.keys(l).sort();
      grid.replaceChildren(...(keys.length ? keys.map((q) => h('div', { class: 'tile', 'data-quantity': q },
        h('div', { class: 'q' }, quantityName(l[q].quantity) + (q.includes('#') ? ` ${q.split('#')[1]}` : '')),
        h('div', { class: 'v' }, fmtValue(l[q].quantity, l[q].v, l[q].unit)),
        h('div', { class: 'muted small' }, dateTime(l[q].t)))) : [h('p', { class: 'muted' }, t('noValues'))]));
      stamp.textContent = t('updated', timeOnly(new Date()));
      return l;
    };
    let l;
    try { l = await poll(); } catch (err) {
      chartBody.replaceChildren(h('p', { class: `notice ${err.status === 501 ? 'info' : 'error'}` }, errorText(err, 'series')));
      throw err;
    }
    const timer = setInterval(() => poll().catch((err) => { stamp.textContent = errorText(err, 'series'); }), 10000);
    cleanup.push(() => clearInterval(timer));
    drawCharts(Object.values(l));
  });
  const chartBody = h('div', { class: 'charts' }, h('p', { class: 'muted' }, t('loading')));
  const ranges = { h24: [24, '15m'], d7: [168, '1h'], d30: [720, '6h'] };
  let range = 'h24';
  let series = [];
  const rangeSel = h('div', { class: 'seg', role: 'group', 'aria-label': t('range') }, Object.keys(ranges).map((r) =>
    h('button', { type: 'button', 'aria-pressed': String(r === range), onclick: (ev) => {
      range = r;
      for (const b of rangeSel.children) b.setAttribute('aria-pressed', String(b === ev.currentTarget));
      drawCharts(series);
    } }, t(r))));
  const charts = h('section', { class: 'card' }, h('h2', {}, t('charts')), rangeSel, chartBody);
  async function drawCharts(latest) {
    series = latest.filter((s) => s.quantity !== 'road_surface_state');
    if (!series.length) return chartBody.replaceChildren(h('p', { class: 'muted' }, t('noValues')));
    const [span, every] = ranges[range];
    const byAgg = { mean: series.filter((s) => !cumulative.has(s.quantity)), increase: series.filter((s) => cumulative.has(s.quantity)) };
    chartBody.replaceChildren(h('p', { class: 'muted' }, t('loading')));
    const figs = [];
    try {
      for (const [agg, list] of Object.entries(byAgg)) {
        if (!list.length) continue;
        const q = list.map((s) => `key=${encodeURIComponent(s.key)}`).join('&');
        // Absolute times: the API reads a relative from= back from its
        // default (to - 24h), not from to.
        const now = Date.now();
        const res = await api(`/series/query?${q}&from=${new Date(now - span * 3600e3).toISOString()}&to=${new Date(now).toISOString()}&every=${every}&agg=${agg}`);
        const from = new Date(res.from);
        const to = new Date(res.to);
        for (const s of res.series) {
          const points = s.buckets.map((b) => ({ t: new Date(b.start), v: b.value }));
          const unit = unitName(s.unit);
          const title = quantityName(s.quantity) + (s.channel ? ` ${s.channel}` : '') + (unit ? ` [${unit}]` : '') + (agg === 'increase' ? ` – ${t('perInterval')}` : '');
          const fig = h('figure', { class: 'chart-box', 'data-key': s.key }, h('figcaption', {}, title));
          fig.draw = () => fig.replaceChildren(fig.firstChild, points.some((p) => p.v !== null)
            ? lineChart({ points, from, to, width: chartBody.clientWidth || 320, title })
            : h('p', { class: 'muted' }, t('noData')));
          figs.push(fig);
        }
      }
    } catch (err) {
      return chartBody.replaceChildren(h('p', { class: 'notice error' }, errorText(err, 'series')));
    }
    chartBody.replaceChildren(...figs);
    figs.forEach((f) => f.draw());
  }
  let resizeTimer;
  const onResize = () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => chartBody.querySelectorAll('figure').forEach((f) => f.draw?.()), 200); };
  window.addEventListener('resize', onResize);
  cleanup.push(() => window.removeEventListener('resize', onResize));
  main.replaceChildren(h('p', {}, h('a', { href: '#/' }, `← ${t('back')}`)), head, live, charts, info, frameLog({ device: eui }));
}

// ---- alerts ----

const ackDlg = document.getElementById('ack-dlg');

function askName(what) {
  return new Promise((resolve) => {
    document.getElementById('ack-what').textContent = what;
    const input = document.getElementById('ack-name');
    input.value = localStorage.getItem('loraedge.name') || '';
    ackDlg.returnValue = '';
    ackDlg.onclose = () => {
      const name = input.value.trim();
      if (ackDlg.returnValue === 'ok' && name) { localStorage.setItem('loraedge.name', name); resolve(name); } else resolve(null);
    };
    ackDlg.showModal();
  });
}

function alertTitle(a) {
  const l = a.labels || {};
  const where = l.site_name || l.site || l.device_name || l.device || l.gateway_id || '';
  return [a.rule || l.rule, where].filter(Boolean).join(' · ');
}

function alertCard(a, reload, silenceFor) {
  const l = a.labels || {};
  const info = a.info || {};
  const details = [];
  const condition = info[`condition_${lang}`];
  if (condition) details.push(condition);
  if (a.values?.fbt !== undefined) details.push(`${t('surface')} ${num(a.values.fbt)} °C`);
  if (a.values?.lt !== undefined) details.push(`${t('air')} ${num(a.values.lt)} °C`);
  if (info[`surface_${lang}`]) details.push(info[`surface_${lang}`]);
  if (a.values?.fbt === undefined && a.value !== undefined && !condition) details.push(`${t('value')} ${num(a.value, 2)}`);
  const actions = h('div', { class: 'actions' });
  if (a.state === 'firing') {
    actions.append(h('button', { type: 'button', class: 'primary', 'data-ack': a.id, onclick: async () => {
      const who = await askName(alertTitle(a));
      if (!who) return;
      try {
        await api(`/alerts/${encodeURIComponent(a.id)}/ack`, { method: 'POST', body: { by: who } });
        notice(t('ackDone', who));
        reload();
      } catch (err) { notice(errorText(err, 'alerts'), 'error'); }
    } }, t('ack')));
  }
  if (l.site && a.state !== 'resolved') actions.append(h('button', { type: 'button', onclick: () => silenceFor(l.site) }, t('silence')));
  return h('article', { class: `alert lvl-${a.level}`, 'data-id': a.id },
    h('div', { class: 'alert-head' },
      h('span', { class: `badge lvl-${a.level}` }, t(`level_${a.level}`)),
      h('span', { class: 'state' }, t(`state_${a.state}`)), a.silenced ? h('span', { class: 'state' }, t('silenced')) : null),
    h('h3', {}, alertTitle(a)),
    details.length ? h('p', {}, details.join(' · ')) : null,
    h('p', { class: 'muted small' }, t('since', dateTime(a.firing_since || a.active_since)),
      a.ack_by ? ` · ${t('ackedBy', a.ack_by, dateTime(a.ack_at))}` : ''),
    actionList(a, h),
    actions);
}

const levelRank = { alarm: 3, warnung: 2, vorwarnung: 1, info: 0 };

function viewAlerts() {
  let all = false;
  const list = h('div', { class: 'alerts', 'aria-live': 'polite' });
  const silBody = h('div');
  const siteSel = h('select', { id: 'sil-site', required: true });
  const durSel = h('select', { id: 'sil-dur' }, [1, 4, 8, 24, 72, 168].map((n) => h('option', { value: n }, n < 24 ? t('hours', n) : t('days', n / 24))));
  const comment = h('input', { id: 'sil-comment', type: 'text', maxlength: 200 });
  const silenceFor = (site) => { siteSel.value = site; siteSel.focus(); siteSel.scrollIntoView({ block: 'center' }); };
  const load = async () => {
    const { alerts } = await api(`/alerts?state=${all ? '' : 'active'}`);
    alerts.sort((a, b) => (levelRank[b.level] ?? 0) - (levelRank[a.level] ?? 0) || String(b.active_since).localeCompare(String(a.active_since)));
    list.replaceChildren(...(alerts.length ? alerts.map((a) => alertCard(a, reload, silenceFor)) : [h('p', { class: 'muted' }, t('noAlerts'))]));
  };
  const loadSilences = async () => {
    const { silences } = await api('/silences');
    const now = Date.now();
    const active = (silences || []).filter((s) => new Date(s.ends_at) > now);
    silBody.replaceChildren(...(active.length ? active.map((s) => h('div', { class: 'silence' },
      h('div', {}, h('strong', {}, (s.matchers || []).map((m) => `${m.label}=${m.value}`).join(', ')), ' ',
        h('span', { class: 'muted' }, t('until', dateTime(s.ends_at)), s.created_by ? ` · ${t('by', s.created_by)}` : ''),
        s.comment ? h('div', { class: 'small' }, s.comment) : null),
      h('button', { type: 'button', onclick: async () => {
        try { await api(`/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE' }); notice(t('silenceEnded')); loadSilences(); } catch (err) { notice(errorText(err, 'alerts'), 'error'); }
      } }, t('silenceEnd')))) : [h('p', { class: 'muted' }, t('noSilences'))]));
  };
  const reload = () => { load().catch((err) => list.replaceChildren(h('p', { class: 'notice error' }, errorText(err, 'alerts')))); };
  const board = section(t('alertsCurrent'), 'alerts', async (body) => {
    await load();
    body.replaceChildren(h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'show-all', onchange: (e) => { all = e.target.checked; reload(); } }), t('showAll')), list);
    const timer = setInterval(reload, 30000);
    cleanup.push(() => clearInterval(timer));
  });
  const sil = section(t('silences'), 'alerts', async (body) => {
    await loadSilences();
    siteSel.replaceChildren(...(await sites()).map((s) => h('option', { value: s.id }, s.name ? `${s.name} (${s.id})` : s.id)));
    const form = h('form', { class: 'form', onsubmit: async (ev) => {
      ev.preventDefault();
      const start = new Date();
      const end = new Date(start.getTime() + Number(durSel.value) * 3600e3);
      try {
        await api('/silences', { method: 'POST', body: { matchers: [{ label: 'site', value: siteSel.value }], starts_at: start.toISOString(), ends_at: end.toISOString(), comment: comment.value.trim() } });
        notice(t('silenceCreated', dateTime(end)));
        comment.value = '';
        loadSilences();
        reload();
      } catch (err) { notice(errorText(err, 'alerts'), 'error'); }
    } },
    h('label', { for: 'sil-site' }, t('silenceSite')), siteSel,
    h('label', { for: 'sil-dur' }, t('silenceDuration')), durSel,
    h('label', { for: 'sil-comment' }, t('silenceComment')), comment,
    h('button', { type: 'submit', class: 'primary', id: 'sil-create' }, t('silenceCreate')));
    body.replaceChildren(silBody, h('h3', {}, t('silenceCreate')), form);
  });
  main.replaceChildren(h('h1', {}, t('navAlerts')), board, sil);
}

// ---- road stations ----

function viewRoads() {
  const body = h('div', {}, h('p', { class: 'muted' }, t('loading')));
  main.replaceChildren(h('h1', {}, t('roads')), body);
  const load = async () => {
    const roads = (await sites()).filter((s) => s.kind === 'road');
    if (!roads.length) return body.replaceChildren(h('p', { class: 'notice info' }, t('noRoads')));
    let devices = [];
    let iceAlerts = null;
    let note = null;
    try { devices = (await api('/devices')).devices; } catch (err) { note = errorText(err, 'devices'); }
    try {
      iceAlerts = (await api('/alerts?state=active')).alerts.filter((a) => a.labels?.kind === 'ice' || a.kind === 'ice');
    } catch (err) { note = err.status === 501 ? t('iceUnknown') : errorText(err, 'alerts'); }
    const values = {};
    const forecasts = {};
    await limited(roads, 4, async (s) => {
      try { forecasts[s.id] = await api(`/roads/${encodeURIComponent(s.id)}/forecast`); } catch (err) { if (err.status !== 501) forecasts[s.id] = { note: errorText(err, 'roads') }; }
      const merged = {};
      for (const d of devices.filter((x) => x.site === s.id)) {
        for (const [q, v] of Object.entries(latestByQuantity((await api(`/devices/${d.dev_eui}/latest`)).latest))) {
          if (!merged[q] || merged[q].t < v.t) merged[q] = v;
        }
      }
      values[s.id] = merged;
    });
    roads.sort((a, b) => (a.route || '~').localeCompare(b.route || '~') || (a.road || '').localeCompare(b.road || '') || (a.km || 0) - (b.km || 0));
    const groups = new Map();
    for (const s of roads) {
      if (!groups.has(s.route || '')) groups.set(s.route || '', []);
      groups.get(s.route || '').push(s);
    }
    const out = [];
    if (note) out.push(h('p', { class: 'notice info' }, note));
    for (const [route, list] of groups) {
      out.push(h('section', { class: 'card route' }, h('h2', {}, route ? t('route', route) : t('noRoute')),
        h('ol', { class: 'strip' }, list.map((s) => station(s, values[s.id] || {}, iceAlerts, forecasts[s.id])))));
    }
    body.replaceChildren(...out);
  };
  load().catch((err) => body.replaceChildren(h('p', { class: 'notice error' }, errorText(err, 'sites'))));
  const timer = setInterval(() => load().catch(() => {}), 60000);
  cleanup.push(() => clearInterval(timer));
}

// roadForecast shows a station's physics forecast: measured FBT, the
// forecast FBT and dew point to +12 h, the 0 degC line, and the first ice
// risk with its lead; a stale or missing weather forecast says so.
function roadForecast(fc) {
  if (!fc) return null;
  const risk = fc.forecast?.ice_risk;
  const lead = fc.ice_risk_in_min;
  const leadText = lead === undefined ? '' : lead >= 60 ? `${Math.floor(lead / 60)} h ${Math.round(lead % 60)} min` : `${Math.round(lead)} min`;
  const head = fc.forecast
    ? (risk ? t('fcRisk', new Date(risk).toLocaleTimeString(lang === 'de' ? 'de-DE' : 'en-GB', { hour: '2-digit', minute: '2-digit' }), leadText) : t('fcNoRisk'))
    : t('fcNone', fc.note || '');
  const src = fc.forecast ? t('fcSource', fc.source, fc.weather?.issued ? dateTime(fc.weather.issued) : '–') : '';
  const pts = (list, key) => (list || []).map((p) => ({ t: Date.parse(p.time), v: p[key] }));
  const measured = pts(fc.measured, 'road_surface_temperature');
  const fcFBT = pts(fc.forecast?.points, 'road_surface_temperature');
  const fcDew = pts(fc.forecast?.points, 'dew_point');
  const all = [...measured, ...fcFBT];
  const chart = all.length ? lineChart({ points: measured, from: Math.min(...all.map((p) => p.t)), to: Math.max(...all.map((p) => p.t)),
    width: 300, height: 150, title: t('fcTitle'),
    extra: [{ points: fcFBT, cls: 'forecast' }, { points: fcDew, cls: 'dew' }], hlines: [{ v: 0, cls: 'zero' }] }) : null;
  return h('div', { class: `forecast ${fc.forecast ? (risk ? 'risk' : 'ok') : 'none'}` },
    h('p', { class: 'small fc-head' }, head), src ? h('p', { class: 'muted small' }, src) : null, chart);
}

function station(s, v, iceAlerts, fc) {
  let level = 'unknown';
  let condition = '';
  if (iceAlerts) {
    const mine = iceAlerts.filter((a) => a.labels?.site === s.id).sort((a, b) => (levelRank[b.level] ?? 0) - (levelRank[a.level] ?? 0))[0];
    level = mine ? mine.level : 'none';
    condition = mine?.info?.[`condition_${lang}`] || '';
  }
  const fbt = v.road_surface_temperature;
  const hasData = Object.keys(v).length > 0;
  if (!hasData) level = 'unknown';
  // Surface temperature colour: at or below 0 degC frost, up to 2 degC near.
  const temp = (x) => (!x ? '' : x.v <= 0 ? 'frost' : x.v <= 2 ? 'near' : '');
  const val = (label, x, q, cls = '') => h('div', { class: `val ${cls}` }, h('span', { class: 'muted small' }, label), h('strong', {}, x ? fmtValue(q, x.v, x.unit) : '–'));
  return h('li', { class: `station lvl-${level}`, 'data-site': s.id },
    h('div', { class: 'st-head' },
      h('div', {}, h('h3', {}, s.name || s.id), h('div', { class: 'muted small' }, [s.road, s.km !== undefined ? `km ${num(s.km, 1)}` : ''].filter(Boolean).join(' · '))),
      h('span', { class: `badge lvl-${level}` }, t(`level_${level}`))),
    hasData ? h('div', { class: 'vals' },
      val(t('surface'), fbt, 'road_surface_temperature', temp(fbt)), val(t('air'), v.air_temperature, 'air_temperature'),
      val(t('dewPoint'), v.dew_point, 'dew_point'), val(t('surfaceState'), v.road_surface_state, 'road_surface_state')) : h('p', { class: 'muted' }, t('noStation')),
    condition ? h('p', { class: 'small' }, condition) : null,
    fbt ? h('p', { class: 'muted small' }, dateTime(fbt.t)) : null,
    roadForecast(fc));
}

// ---- energy report ----

function viewReport() {
  const s = section(t('reportDownload'), 'reports', async (body) => {
    // A request without dates answers 501 when reports are off and 400
    // otherwise: a cheap probe so the form is not shown for nothing.
    try { await api('/reports/energy'); } catch (err) { if (err.status !== 400) throw err; }
    const y = new Date().getFullYear();
    const from = h('input', { id: 'rep-from', type: 'date', required: true, value: `${y - 1}-01-01` });
    const to = h('input', { id: 'rep-to', type: 'date', required: true, value: `${y}-01-01` });
    const format = h('select', { id: 'rep-format' }, ['pdf', 'html', 'csv', 'json'].map((f) => h('option', { value: f }, f.toUpperCase())));
    const rlang = h('select', { id: 'rep-lang' }, h('option', { value: 'de' }, 'Deutsch'), h('option', { value: 'en' }, 'English'));
    rlang.value = lang;
    const buildings = (await sites()).filter((x) => x.kind === 'building');
    const boxes = buildings.map((b) => h('input', { type: 'checkbox', name: 'site', value: b.id }));
    const form = h('form', { class: 'form', id: 'report-form', onsubmit: (ev) => {
      ev.preventDefault();
      if (from.value >= to.value) return notice(t('badRange'), 'error');
      const q = new URLSearchParams({ from: from.value, to: to.value, format: format.value, lang: rlang.value });
      for (const b of boxes) if (b.checked) q.append('site', b.value);
      q.append('access_token', token);
      const a = h('a', { href: `/api/v1/reports/energy?${q}`, download: '' });
      document.body.append(a);
      a.click();
      a.remove();
      notice(t('reportStarted'));
    } },
    h('label', { for: 'rep-from' }, t('from')), from, h('label', { for: 'rep-to' }, t('to')), to,
    buildings.length ? h('fieldset', {}, h('legend', {}, t('sites')), h('p', { class: 'muted small' }, t('allSites')),
      buildings.map((b, i) => h('label', { class: 'check' }, boxes[i], b.name || b.id))) : null,
    h('label', { for: 'rep-format' }, t('format')), format, h('label', { for: 'rep-lang' }, t('reportLang')), rlang,
    h('button', { type: 'submit', class: 'primary', id: 'rep-download' }, t('download')),
    h('p', { class: 'muted small' }, t('tokenInUrl')));
    body.replaceChildren(form);
  });
  main.replaceChildren(h('h1', {}, t('navReport')), s, measuresSection({ h, api, section, sites }), benchmarksSection({ h, api, section }),
    scheduledSection({ h, api, section, token }));
}

// ---- frame: token, language, routing ----

const tokenDlg = document.getElementById('token-dlg');

function askToken(err) {
  document.getElementById('token-err').textContent = err || '';
  document.getElementById('token-input').value = '';
  if (!tokenDlg.open) tokenDlg.showModal();
}

document.getElementById('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = document.getElementById('token-input').value.trim();
  localStorage.setItem('loraedge.token', token);
  sitesCache = null;
  tokenDlg.close();
  route();
});
document.getElementById('token-cancel').addEventListener('click', () => tokenDlg.close());
document.getElementById('token-btn').addEventListener('click', () => askToken(''));
document.getElementById('lang-btn').addEventListener('click', () => {
  setLang(lang === 'de' ? 'en' : 'de');
  localStorage.setItem('loraedge.lang', lang);
  route();
});

function translateStatic() {
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  document.querySelector('nav').setAttribute('aria-label', t('navLabel'));
  const lb = document.getElementById('lang-btn');
  lb.setAttribute('aria-label', t('langSwitchLabel'));
  lb.setAttribute('lang', lang === 'de' ? 'en' : 'de');
}

function route() {
  cleanup.forEach((f) => f());
  cleanup = [];
  msg.replaceChildren();
  translateStatic();
  const hash = location.hash.replace(/^#\/?/, '');
  const [view, arg] = hash.split('/');
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.view === (view || 'overview')) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  // Over plain HTTP from another computer the token would cross the
  // network readable by anyone on the way, and the server refuses it
  // anyway: say so instead of asking for it. Loopback counts as secure.
  if (!window.isSecureContext) { main.replaceChildren(h('p', { class: 'notice error', 'data-code': 'insecure_transport' }, t('tokenPlainHTTP'))); return; }
  if (!token) { main.replaceChildren(); askToken(''); return; }
  switch (view) {
    case 'device': viewDevice(arg); break;
    case 'gateway': viewGateway(arg, main); break;
    case 'alerts': viewAlerts(); break;
    case 'roads': viewRoads(); break;
    case 'civil': viewCivil({ h, api, main, errorText, onLeave: (f) => cleanup.push(f) }); break;
    case 'report': viewReport(); break;
    case 'peers': viewPeers(main, api, h); break;
    default: viewOverview();
  }
  document.title = `loraedge · ${document.querySelector('nav a[aria-current] span')?.textContent || t('device')}`;
}

setLang(localStorage.getItem('loraedge.lang') || (navigator.language.startsWith('de') ? 'de' : 'en'));
window.addEventListener('hashchange', () => { route(); main.focus({ preventScroll: true }); });
route();
