// Frame log, gateway page and device import form of the loraedge web page.
// The frame log loads the last frames and then follows the server-sent
// event stream; a frame whose result changes (accepted -> stored) replaces
// its row.
import { h, api, section, table, cell, notice, onLeave, tokenValue } from './app.js';
import { t, lang, num, dateTime } from './i18n.js';

// Strings of this module, German and English.
const texts = {
  de: {
    stats: 'Kennzahlen', frames: 'Letzte Funkpakete', noFrames: 'Noch keine Pakete.', live: 'live', paused: 'Verbindung unterbrochen, neuer Versuch …',
    time: 'Zeit', dir: 'Richtung', up: '↑ Uplink', down: '↓ Downlink', gw: 'Gateway (RSSI/SNR)', radio: 'Funk', header: 'Kopf',
    size: 'Größe', result: 'Ergebnis', gateway: 'Gateway', protocol: 'Protokoll', received: 'Empfangen (OK/gesamt)',
    sent: 'Gesendet (bestätigt/gesamt)', txErrors: 'Sendefehler', position: 'Position', back: 'Zurück zur Übersicht',
    importTitle: 'Geräte importieren', importHelp: 'CSV mit Kopfzeile (dev_eui, activation, profile, site, join_eui, app_key, …) oder JSON-Liste. Alles oder nichts.',
    importFile: 'Datei', importCheck: 'Prüfen', importRun: 'Importieren', importOK: '{0} Geräte, keine Probleme.',
    importDone: '{0} Geräte importiert.', importProblems: '{0} Probleme, nichts importiert:', line: 'Zeile {0}',
    noGateway: 'Dieses Gateway hat sich nicht gemeldet.',
    r_stored: 'gespeichert', r_accepted: 'angenommen', r_no_payload: 'ohne Nutzdaten', r_decode_error: 'nicht dekodierbar',
    r_store_error: 'Speicherfehler', r_duplicate: 'Wiederholung', r_mic_invalid: 'MIC falsch', r_replay: 'Replay',
    r_fcnt_gap: 'Zählersprung', r_unknown_devaddr: 'DevAddr unbekannt', r_join_accepted: 'Join angenommen',
    r_join_rejected: 'Join abgelehnt', r_sent: 'gesendet', r_dropped: 'verworfen', r_forwarded: 'weitergeleitet', via: 'über',
  },
  en: {
    stats: 'Statistics', frames: 'Last radio frames', noFrames: 'No frames yet.', live: 'live', paused: 'Connection lost, trying again …',
    time: 'Time', dir: 'Direction', up: '↑ uplink', down: '↓ downlink', gw: 'Gateway (RSSI/SNR)', radio: 'Radio', header: 'Header',
    size: 'Size', result: 'Result', gateway: 'Gateway', protocol: 'Protocol', received: 'Received (OK/total)',
    sent: 'Sent (acknowledged/total)', txErrors: 'Transmit errors', position: 'Position', back: 'Back to the overview',
    importTitle: 'Import devices', importHelp: 'CSV with a header line (dev_eui, activation, profile, site, join_eui, app_key, …) or a JSON list. All or nothing.',
    importFile: 'File', importCheck: 'Check', importRun: 'Import', importOK: '{0} devices, no problems.',
    importDone: '{0} devices imported.', importProblems: '{0} problems, nothing imported:', line: 'line {0}',
    noGateway: 'This gateway has not reported.',
    r_stored: 'stored', r_accepted: 'accepted', r_no_payload: 'no payload', r_decode_error: 'not decodable',
    r_store_error: 'store error', r_duplicate: 'retransmission', r_mic_invalid: 'bad MIC', r_replay: 'replay',
    r_fcnt_gap: 'counter jump', r_unknown_devaddr: 'unknown DevAddr', r_join_accepted: 'join accepted',
    r_join_rejected: 'join rejected', r_sent: 'sent', r_dropped: 'dropped', r_forwarded: 'forwarded', via: 'via',
  },
};
const tf = (k, ...args) => (texts[lang][k] ?? texts.de[k] ?? k).replace(/\{(\d)\}/g, (_, i) => args[i]);

const good = new Set(['stored', 'accepted', 'join_accepted', 'sent', 'no_payload', 'forwarded']);
const maxRows = 100;

function frameRow(f) {
  const gws = (f.gateways || []).map((g) => (f.direction === 'up' ? `${g.id} (${g.rssi} dBm / ${num(g.snr)} dB)` : g.id) + (g.peer ? ` ${tf('via')} ${g.peer}` : ''));
  const hdr = [f.m_type, f.f_cnt !== undefined ? `FCnt ${f.f_cnt}` : null, f.f_port !== undefined ? `FPort ${f.f_port}` : null].filter(Boolean).join(' · ');
  const dev = f.dev_eui ? h('a', { href: `#/device/${f.dev_eui}` }, h('code', {}, f.dev_eui)) : h('code', { class: 'muted' }, f.dev_addr ? `? ${f.dev_addr}` : '?');
  const res = [h('span', { class: `badge ${good.has(f.result) ? 'ok' : 'bad'}` }, tf(`r_${f.result}`))];
  if (f.reason) res.push(h('div', { class: 'small' }, f.reason));
  if (f.tx_ack) res.push(h('div', { class: 'small' }, `TX_ACK: ${f.tx_ack}`));
  return h('tr', { 'data-seq': String(f.seq), 'data-result': f.result },
    cell(tf('time'), dateTime(f.time)),
    cell(tf('dir'), tf(f.direction), h('div', { class: 'small' }, dev)),
    cell(tf('gw'), gws.join(', ') || '–'),
    cell(tf('radio'), [f.data_rate, f.frequency ? `${num(f.frequency / 1e6, 1)} MHz` : null].filter(Boolean).join(' · ') || '–'),
    cell(tf('header'), hdr),
    cell(tf('size'), `${f.size} B`),
    cell(tf('result'), ...res));
}

// frameLog is a card with the frames of a device or gateway, kept live.
export function frameLog(query) {
  const q = new URLSearchParams(query);
  const state = h('span', { class: 'muted small', id: 'frames-state' });
  return section(tf('frames'), 'frames', async (body) => {
    const { frames } = await api(`/frames?${q}&limit=50`);
    const tbody = h('tbody', { id: 'frames' }, frames.map(frameRow));
    const empty = h('p', { class: 'muted' }, tf('noFrames'));
    empty.hidden = frames.length > 0;
    const tbl = table([tf('time'), tf('dir'), tf('gw'), tf('radio'), tf('header'), tf('size'), tf('result')], []);
    tbl.querySelector('tbody').replaceWith(tbody);
    body.replaceChildren(state, empty, tbl);
    // EventSource cannot send headers: the token goes as access_token,
    // as the page's downloads do.
    const sq = new URLSearchParams(query);
    sq.set('access_token', tokenValue());
    const es = new EventSource(`/api/v1/frames/stream?${sq}`);
    onLeave(() => es.close());
    es.onopen = () => { state.textContent = `● ${tf('live')}`; };
    es.onerror = () => { state.textContent = tf('paused'); };
    es.addEventListener('frame', (ev) => {
      const f = JSON.parse(ev.data);
      const row = frameRow(f);
      const old = tbody.querySelector(`tr[data-seq="${f.seq}"]`);
      if (old) old.replaceWith(row); else tbody.prepend(row);
      while (tbody.children.length > maxRows) tbody.lastChild.remove();
      empty.hidden = true;
    });
  });
}

// viewGateway is the page of one packet forwarder: its counters, its last
// status report and its frames.
export function viewGateway(id, main) {
  const stats = section(tf('stats'), 'gateways', async (body) => {
    const { gateways } = await api('/gateways');
    const g = gateways.find((x) => x.id === id);
    if (!g) return body.replaceChildren(h('p', { class: 'notice info' }, tf('noGateway')));
    const dl = h('dl', { class: 'facts', id: 'gw-stats' });
    const add = (k, v) => v !== undefined && v !== null && v !== '' && dl.append(h('dt', {}, k), h('dd', {}, v));
    add(t('id'), h('code', {}, g.id));
    add(t('address'), g.addr);
    add(tf('protocol'), `GWMP v${g.protocol_version}`);
    add(t('lastSeen'), dateTime(g.last_seen));
    add(tf('received'), `${g.rx_ok} / ${g.rx_received}`);
    add(tf('sent'), `${g.tx_acked} / ${g.tx_sent}`);
    add(tf('txErrors'), g.tx_errors ? String(g.tx_errors) : null);
    if (g.rx_rejected) add(t('rxRejected', g.rx_rejected), '');
    if (g.tx_ack_missing) add(t('txAckMissing', g.tx_ack_missing), ' ');
    if (g.stat?.lati !== undefined) add(tf('position'), `${num(g.stat.lati, 5)}, ${num(g.stat.long, 5)}`);
    body.replaceChildren(dl);
  });
  main.replaceChildren(h('p', {}, h('a', { href: '#/' }, `← ${tf('back')}`)), h('h1', {}, `${tf('gateway')} ${id}`), stats, frameLog({ gateway: id }));
}

// importForm checks or imports a device file through the API.
export function importForm() {
  const out = h('div', { id: 'import-result', 'aria-live': 'polite' });
  const file = h('input', { id: 'import-file', type: 'file', accept: '.csv,.json,text/csv,application/json' });
  const send = async (dry) => {
    const f = file.files[0];
    if (!f) return;
    const text = await f.text();
    const json = /^\s*[[{]/.test(text);
    try {
      const r = await api(`/devices:import${dry ? '?dry_run=true' : ''}`, { raw: text, type: json ? 'application/json' : 'text/csv' });
      out.replaceChildren(h('p', { class: 'notice ok' }, dry ? tf('importOK', r.devices) : tf('importDone', r.imported)));
      if (!dry) notice(tf('importDone', r.imported));
    } catch (err) {
      if (!err.data?.problems) { out.replaceChildren(h('p', { class: 'notice error' }, err.message)); return; }
      out.replaceChildren(h('p', { class: 'notice error' }, tf('importProblems', err.data.problems.length)),
        h('ul', { class: 'problems' }, err.data.problems.map((p) => h('li', {}, `${tf('line', p.line)}: ${p.field ? `${p.field}: ` : ''}${p.message}`))));
    }
  };
  const s = h('section', { class: 'card' }, h('h2', {}, tf('importTitle')), h('p', { class: 'small' }, tf('importHelp')),
    h('div', { class: 'form' }, h('label', { for: 'import-file' }, tf('importFile')), file,
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'import-check', onclick: () => send(true) }, tf('importCheck')),
        h('button', { type: 'button', class: 'primary', id: 'import-run', onclick: () => send(false) }, tf('importRun')))),
    out);
  return s;
}
