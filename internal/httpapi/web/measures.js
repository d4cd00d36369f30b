// Energy measures (Maßnahmen) on the energy report page: per measure the
// baseline fit, the verified saving with its 90 % uncertainty and the day
// it became significant, and two charts: measured against the baseline
// band, and the cumulative saving against its uncertainty.
import { t, strings, num } from './i18n.js';
import { lineChart } from './chart.js';

Object.assign(strings.de, {
  measures: 'Maßnahmen und Einsparungen', noMeasures: 'Keine Maßnahmen konfiguriert (energy.measures) oder angelegt.',
  msSite: 'Gebäude', msMedium: 'Medium', msDate: 'wirksam ab', msKind: 'Art', msInvest: 'Investition',
  msFit: 'Baseline-Modell', msFitText: 'R² {0}, CV(RMSE) {1} %, {2} Tage',
  msAshraeOk: 'erfüllt ASHRAE Guideline 14', msAshraeNo: 'erfüllt ASHRAE Guideline 14 nicht: Einsparung nur unter Vorbehalt',
  msSaved: 'Vermieden', msSavedText: '{0} ± {1} kWh ({2} %, 90 %-Konfidenz)',
  msMoney: 'Kosten / CO2', msMoneyText: '{0} € · {1} kg CO2', msPayback: 'Amortisation', msYears: '{0} Jahre',
  msSignificant: 'signifikant seit', msNotSignificant: 'noch nicht signifikant',
  msChartDaily: 'Tagesverbrauch: gemessen (Linie) und Baseline mit 90 %-Band', msChartCum: 'Kumulierte Einsparung mit 90 %-Unsicherheit',
  msError: 'nicht berechenbar', kind_insulation: 'Dämmung', kind_windows: 'Fenster', kind_heating: 'Heizung', kind_controls: 'Regelung',
  kind_lighting: 'Beleuchtung', kind_ventilation: 'Lüftung', kind_pv: 'Photovoltaik', kind_behaviour: 'Nutzerverhalten', kind_other: 'Sonstiges',
  med_electricity: 'Strom', med_heat: 'Wärme', med_gas: 'Gas', med_water: 'Wasser',
});
Object.assign(strings.en, {
  measures: 'Measures and savings', noMeasures: 'No measures configured (energy.measures) or added.',
  msSite: 'Building', msMedium: 'Medium', msDate: 'effective from', msKind: 'Kind', msInvest: 'Investment',
  msFit: 'Baseline model', msFitText: 'R² {0}, CV(RMSE) {1} %, {2} days',
  msAshraeOk: 'meets ASHRAE Guideline 14', msAshraeNo: 'does not meet ASHRAE Guideline 14: saving with reservations',
  msSaved: 'Avoided', msSavedText: '{0} ± {1} kWh ({2} %, 90 % confidence)',
  msMoney: 'Cost / CO2', msMoneyText: 'EUR {0} · {1} kg CO2', msPayback: 'Payback', msYears: '{0} years',
  msSignificant: 'significant since', msNotSignificant: 'not significant yet',
  msChartDaily: 'Daily consumption: measured (line) and baseline with its 90 % band', msChartCum: 'Cumulative saving with its 90 % uncertainty',
  msError: 'cannot be computed', kind_insulation: 'insulation', kind_windows: 'windows', kind_heating: 'heating', kind_controls: 'controls',
  kind_lighting: 'lighting', kind_ventilation: 'ventilation', kind_pv: 'photovoltaics', kind_behaviour: 'behaviour', kind_other: 'other',
  med_electricity: 'electricity', med_heat: 'heat', med_gas: 'gas', med_water: 'water',
});

const day = (d) => new Date(`${d}T00:00:00`);

function charts(h, s, width) {
  const days = s.days;
  const from = day(days[0].date);
  const to = day(days[days.length - 1].date);
  const pts = (f) => days.map((d) => ({ t: day(d.date), v: f(d) }));
  const daily = lineChart({
    points: pts((d) => d.measured), from, to, width, title: t('msChartDaily'),
    extra: [{ points: pts((d) => d.predicted), cls: 'baseline' }, { points: pts((d) => d.lower), cls: 'band' }, { points: pts((d) => d.upper), cls: 'band' }],
  });
  const cum = lineChart({
    points: pts((d) => d.cumulative), from, to, width, title: t('msChartCum'),
    extra: [{ points: pts((d) => d.uncertainty), cls: 'band' }, { points: pts((d) => -d.uncertainty), cls: 'band' }],
    hlines: [{ v: 0, cls: 'zero' }],
  });
  return h('div', { class: 'charts' },
    h('figure', { class: 'chart-box' }, h('figcaption', {}, t('msChartDaily')), daily),
    h('figure', { class: 'chart-box' }, h('figcaption', {}, t('msChartCum')), cum));
}

function measureCard(h, r, names, width) {
  const m = r.measure;
  const facts = [
    [t('msSite'), names.get(m.site) || m.site], [t('msMedium'), t(`med_${m.medium}`)], [t('msKind'), t(`kind_${m.kind}`)],
    [t('msDate'), m.date], [t('msInvest'), m.investment_eur ? `${num(m.investment_eur, 0)} €` : '–'],
  ];
  const s = r.savings;
  if (!s) {
    facts.push([t('msError'), r.error || '']);
  } else {
    const b = s.baseline;
    facts.push([t('msFit'), `${t('msFitText', num(b.r2, 3), num(100 * b.cv_rmse, 1), b.n)} – ${t(b.meets_ashrae14 ? 'msAshraeOk' : 'msAshraeNo')}`]);
    facts.push([t('msSaved'), t('msSavedText', num(s.avoided_kwh, 0), num(s.uncertainty_kwh, 0), num(100 * s.fraction, 1))]);
    facts.push([t('msMoney'), t('msMoneyText', num(r.avoided_eur, 0), num(r.avoided_co2_kg, 0))]);
    if (r.payback_years) facts.push([t('msPayback'), t('msYears', num(r.payback_years, 1))]);
    facts.push([s.significant_from ? t('msSignificant') : t('msNotSignificant'), s.significant_from || '']);
  }
  return h('article', { class: `card measure ${s && !s.baseline.meets_ashrae14 ? 'weak' : ''}`, 'data-measure': m.id || '' },
    h('h3', {}, m.title),
    h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    s && s.days.length > 1 ? charts(h, s, width) : null);
}

// measuresSection renders the measures with the page's helpers (h, api,
// section, sites) so that it shares their error handling.
export function measuresSection({ h, api, section, sites }) {
  return section(t('measures'), 'reports', async (body) => {
    let measures;
    try {
      ({ measures } = await api('/energy/measures'));
    } catch (err) {
      // Without energy reports the report section already says so once.
      if (err.status === 501) { body.closest('section').remove(); return; }
      throw err;
    }
    if (!measures.length) { body.replaceChildren(h('p', { class: 'muted' }, t('noMeasures'))); return; }
    const names = new Map((await sites()).map((s) => [s.id, s.name]));
    const width = Math.min(900, body.clientWidth || 600);
    body.replaceChildren(...measures.map((r) => measureCard(h, r, names, width)));
  });
}
