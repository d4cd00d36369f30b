// loraedge web page: the county network's peers (issue 22). The page
// shows the peer table's public facts and the link's figures; the API
// never serves tokens or keys.
import { t, num, dateTime } from './i18n.js';

// viewPeers renders the peers page into main; api and h are app.js's.
export async function viewPeers(main, api, h) {
  main.replaceChildren(h('h1', {}, t('peers')), h('p', {}, t('loading')));
  let peers;
  try {
    peers = await api('/peers');
  } catch (err) {
    const text = err.status === 501 ? t('peersOff') : `${t('error')}: ${err.message}`;
    main.replaceChildren(h('h1', {}, t('peers')), h('p', { class: 'notice info' }, text));
    return;
  }
  const head = ['peerName', 'peerNSID', 'peerBlocks', 'peerSent', 'peerReceived', 'peerErrors', 'peerRTT', 'peerQueue', 'peerLast'];
  const own = (p, v) => (p.self ? '–' : v);
  const cells = (p) => [
    p.nsid, (p.dev_addr_blocks || []).join(', '), own(p, num(p.requests_sent, 0)), own(p, num(p.requests_received, 0)),
    own(p, num(p.errors, 0)), own(p, p.rtt_seconds ? `${num(p.rtt_seconds * 1000, 1)} ms` : '–'),
    own(p, num(p.queue_depth, 0)), own(p, p.last_ok ? dateTime(p.last_ok) : '–'),
  ];
  const rows = peers.map((p) => h('tr', { 'data-peer': p.name },
    h('th', { scope: 'row' }, p.name, p.self ? ` (${t('peerSelf')})` : ''),
    cells(p).map((v, i) => h('td', { 'data-label': t(head[i + 1]) }, h('div', {}, v)))));
  main.replaceChildren(h('h1', {}, t('peers')), h('p', {}, t('peersHelp')),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, head.map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, rows))));
}
