// loraedge web page: what became of an alert's actions (issue 22), e.g.
// the valve a leak alert closed, possibly through the valve's home at a
// peer of the county network.
import { lang, dateTime } from './i18n.js';

const texts = {
  de: {
    pending: 'wartet auf die Verbindung zum Heimat-Gateway', queued: 'in der Warteschlange des Geräts', sent: 'gesendet',
    acknowledged: 'ausgeführt (vom Gerät bestätigt)', not_acknowledged: 'vom Gerät nicht bestätigt', failed: 'fehlgeschlagen',
    expired: 'verfallen, nicht zugestellt', dropped: 'verworfen (Warteschlange voll)', via: 'über', actions: 'Aktionen',
  },
  en: {
    pending: "waiting for the link to the device's home", queued: 'queued for the device', sent: 'sent',
    acknowledged: 'done (confirmed by the device)', not_acknowledged: 'not confirmed by the device', failed: 'failed',
    expired: 'expired, not delivered', dropped: 'dropped (queue full)', via: 'via', actions: 'Actions',
  },
};

// actionList renders the alert's action targets, or null when it has
// none; h is app.js's element builder.
export function actionList(a, h) {
  if (!a.actions?.length) return null;
  const tx = texts[lang] || texts.en;
  return h('ul', { class: 'alert-actions small', 'aria-label': tx.actions }, a.actions.map((x) => h('li', { 'data-action-state': x.state },
    `${x.command} → ${x.device}${x.peer ? ` (${tx.via} ${x.peer})` : ''}: ${tx[x.state] ?? x.state}`
      + `${x.reason ? ` – ${x.reason}` : ''}${x.at ? ` · ${dateTime(x.at)}` : ''}`)));
}
