// Civil protection view ("Pegel"): river gauges with their warning stages,
// rate of rise and forecast, and areas with their occupancy. app.js hands
// in its helpers; the strings join i18n.js's tables here.
import { t, strings, num, dateTime, lang } from './i18n.js';
import { lineChart } from './chart.js';

Object.assign(strings.de, {
  navCivil: 'Pegel & Personen', civil: 'Bevölkerungsschutz', gaugesTitle: 'Flusspegel', areasTitle: 'Bereiche (Personenstrom)',
  noGauges: 'Keine Pegel eingerichtet (Standort-Art „gauge“).', noAreas: 'Keine Bereiche eingerichtet (Standort-Art „area“).',
  gaugeLevel: 'Wasserstand', gaugeAbove: 'm über Pegelnull', gaugeStage: 'Stufe', gaugeNoStage: 'unter der ersten Stufe',
  gaugeRate: 'Anstieg', gaugeRising: 'steigend', gaugeFalling: 'fallend', gaugeSteady: 'gleichbleibend', gaugeRateUnknown: 'noch unbekannt',
  gaugeForecast: 'Prognose', gaugeForecastAt: '{0} voraussichtlich um {1} (in {2}, linearer Trend)', gaugeNoForecast: 'keine weitere Stufe absehbar',
  gaugeStale: 'Keine aktuellen Messwerte – letzte Meldung {0}.', gaugeNoRule: 'Keine Warnregel (water_level) für diesen Pegel.',
  gaugeRiver: 'Gewässer {0}', gaugeChart: 'Wasserstand mit Warnstufen', gaugeAt: 'Stand {0}', gaugeNoData: 'Noch keine Messwerte.',
  areaOccupancy: 'Belegung', areaPersons: '{0} Personen', areaOf: 'von {0}', areaInflow: 'Zustrom', areaPerMin: '{0} Pers./min',
  areaLimit: 'Grenze {0}', areaReset: 'Zählung seit der täglichen Rücksetzung um {0} Uhr.', areaNoRule: 'Keine Regel (crowd) für diesen Bereich.',
  areaChart: 'Belegung im Verlauf', areaFull: 'Grenze überschritten',
});
Object.assign(strings.en, {
  navCivil: 'Gauges & people', civil: 'Civil protection', gaugesTitle: 'River gauges', areasTitle: 'Areas (people flow)',
  noGauges: 'No gauges configured (site kind "gauge").', noAreas: 'No areas configured (site kind "area").',
  gaugeLevel: 'Water level', gaugeAbove: 'm above gauge zero', gaugeStage: 'Stage', gaugeNoStage: 'below the first stage',
  gaugeRate: 'Rate of rise', gaugeRising: 'rising', gaugeFalling: 'falling', gaugeSteady: 'steady', gaugeRateUnknown: 'not yet known',
  gaugeForecast: 'Forecast', gaugeForecastAt: '{0} expected at {1} (in {2}, linear trend)', gaugeNoForecast: 'no further stage in sight',
  gaugeStale: 'No current readings – last report {0}.', gaugeNoRule: 'No warning rule (water_level) for this gauge.',
  gaugeRiver: 'River {0}', gaugeChart: 'Water level with warning stages', gaugeAt: 'As of {0}', gaugeNoData: 'No readings yet.',
  areaOccupancy: 'Occupancy', areaPersons: '{0} persons', areaOf: 'of {0}', areaInflow: 'Inflow', areaPerMin: '{0} persons/min',
  areaLimit: 'limit {0}', areaReset: 'Counted since the daily reset at {0}.', areaNoRule: 'No rule (crowd) for this area.',
  areaChart: 'Occupancy over time', areaFull: 'limit exceeded',
});

const css = document.createElement('link');
css.rel = 'stylesheet';
css.href = 'gauge.css';
document.head.append(css);

// levelKey is an alert level's key (the API writes them as text).
const levelKey = (l) => (typeof l === 'number' ? ['info', 'vorwarnung', 'warnung', 'alarm'][l] : l);
const alertClass = (l) => `lvl-${levelKey(l)}`;

function clock(s) {
  return new Date(s).toLocaleTimeString(lang === 'de' ? 'de-DE' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
}

function lead(ms) {
  const m = Math.max(0, Math.round(ms / 60e3));
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
}

// gaugeCard shows one gauge: level, stage, rate, forecast and the level
// chart with a line per stage.
function gaugeCard(ui, g, detail) {
  const { h } = ui;
  const s = g.state;
  const stage = s?.stages?.find((x) => x.name === s.stage);
  const lvl = stage ? levelKey(stage.alert_level) : 'none';
  const rate = s?.rate_cm_h;
  const trend = rate === undefined ? t('gaugeRateUnknown') : `${num(rate, 1)} cm/h (${t(rate >= 0.5 ? 'gaugeRising' : rate <= -0.5 ? 'gaugeFalling' : 'gaugeSteady')})`;
  const fc = s?.next_stage ? t('gaugeForecastAt', s.next_stage, clock(s.forecast_at), lead(Date.parse(s.forecast_at) - Date.parse(s.at))) : t('gaugeNoForecast');
  const level = s?.level_m;
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, t('gaugeLevel')), h('dd', { class: 'level' }, level === undefined ? '–' : `${num(level, 2)} ${t('gaugeAbove')}`),
    h('dt', {}, t('gaugeStage')), h('dd', {}, h('span', { class: `badge lvl-${lvl}`, 'data-stage': s?.stage || '' }, s?.stage ? `${s.stage} · ${t(`level_${lvl}`)}` : t('gaugeNoStage'))),
    h('dt', {}, t('gaugeRate')), h('dd', {}, trend),
    h('dt', {}, t('gaugeForecast')), h('dd', { class: 'gauge-forecast' }, fc));
  const series = (detail?.series || []).find((x) => x.quantity === 'water_level');
  let chart = h('p', { class: 'muted' }, t('gaugeNoData'));
  if (series?.points?.length) {
    const pts = series.points.map((p) => ({ t: Date.parse(p.time), v: p.value }));
    const stages = s?.stages || [];
    chart = h('div', { class: 'gauge-chart' },
      // The window ends at the latest reading; it starts at the first one
      // when the gauge has not reported for a whole day yet.
      lineChart({ points: pts, from: Math.max(Date.parse(detail.from), pts[0].t), to: Date.parse(detail.to), width: 520, height: 220, title: t('gaugeChart'),
        hlines: stages.map((x) => ({ v: x.level_m, cls: `stage ${alertClass(x.alert_level)}` })) }),
      h('ul', { class: 'stage-legend' }, stages.map((x) => h('li', { class: alertClass(x.alert_level) }, `${x.name}: ${num(x.level_m, 2)} m`))));
  }
  return h('section', { class: `card gauge lvl-${lvl}`, 'data-site': g.site.id },
    h('h3', {}, g.site.name || g.site.id),
    g.site.river ? h('p', { class: 'muted small' }, t('gaugeRiver', g.site.river)) : null,
    s ? null : h('p', { class: 'notice info' }, t('gaugeNoRule')),
    s?.stale ? h('p', { class: 'notice error' }, t('gaugeStale', dateTime(s.at))) : null,
    facts,
    s?.at ? h('p', { class: 'muted small' }, t('gaugeAt', dateTime(s.at))) : null,
    chart);
}

// areaCard shows one area: occupancy against its limit, inflow, history.
function areaCard(ui, a) {
  const { h } = ui;
  const s = a.state;
  const limit = s?.max_occupancy || a.site.capacity || 0;
  const occ = s?.occupancy ?? 0;
  const over = limit > 0 && occ > limit;
  const chart = s?.history?.length > 1 ? lineChart({ points: s.history.map((p) => ({ t: Date.parse(p.t), v: p.v })),
    from: Date.parse(s.history[0].t), to: Date.parse(s.history[s.history.length - 1].t), width: 520, height: 180, title: t('areaChart'),
    hlines: limit ? [{ v: limit, cls: 'stage lvl-warnung' }] : [] }) : null;
  return h('section', { class: `card area ${over ? 'lvl-warnung' : 'lvl-none'}`, 'data-site': a.site.id },
    h('h3', {}, a.site.name || a.site.id),
    s ? null : h('p', { class: 'notice info' }, t('areaNoRule')),
    h('dl', { class: 'facts' },
      h('dt', {}, t('areaOccupancy')), h('dd', { class: 'level' }, t('areaPersons', num(occ, 0)), limit ? ` ${t('areaOf', num(limit, 0))}` : '',
        over ? h('span', { class: 'badge lvl-warnung' }, t('areaFull')) : null),
      h('dt', {}, t('areaInflow')), h('dd', {}, t('areaPerMin', num(s?.inflow_per_min ?? 0, 1)),
        s?.max_inflow_per_min ? ` (${t('areaLimit', num(s.max_inflow_per_min, 1))})` : '')),
    limit ? h('meter', { min: 0, max: limit, high: limit * 0.9, optimum: 0, value: Math.min(occ, limit), 'aria-label': t('areaOccupancy') }) : null,
    s ? h('p', { class: 'muted small' }, t('areaReset', s.reset_at)) : null,
    chart);
}

// viewCivil renders the gauges and areas and refreshes them every minute.
export function viewCivil(ui) {
  const { h, api, main, errorText } = ui;
  const gBody = h('div', { class: 'grid civil' }, h('p', { class: 'muted' }, t('loading')));
  const aBody = h('div', { class: 'grid civil' }, h('p', { class: 'muted' }, t('loading')));
  main.replaceChildren(h('h1', {}, t('civil')), h('h2', {}, t('gaugesTitle')), gBody, h('h2', {}, t('areasTitle')), aBody);
  const load = async () => {
    const { gauges } = await api('/gauges');
    if (!gauges.length) gBody.replaceChildren(h('p', { class: 'notice info' }, t('noGauges')));
    else {
      const details = await Promise.all(gauges.map((g) => api(`/gauges/${encodeURIComponent(g.site.id)}`).catch(() => null)));
      gBody.replaceChildren(...gauges.map((g, i) => gaugeCard(ui, g, details[i])));
    }
    const { areas } = await api('/areas');
    aBody.replaceChildren(...(areas.length ? areas.map((a) => areaCard(ui, a)) : [h('p', { class: 'notice info' }, t('noAreas'))]));
  };
  load().catch((err) => gBody.replaceChildren(h('p', { class: 'notice error' }, errorText(err, 'sites'))));
  const timer = setInterval(() => load().catch(() => {}), 60000);
  ui.onLeave(() => clearInterval(timer));
}
