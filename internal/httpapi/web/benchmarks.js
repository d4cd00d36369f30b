// Benchmarks on the energy report page: every building's Kennwerte of the
// last full year against the comparison values of its category, as a
// traffic light, and the county ranking by saving potential (from the
// report's JSON, so page and report show the same figures).
import { t, strings, num } from './i18n.js';

Object.assign(strings.de, {
  benchmarks: 'Vergleichswerte und Einsparpotenzial', noBenchmarks: 'Keinem Gebäude ist eine Gebäudekategorie oder ein Vergleichswert zugeordnet (energy.sites[].benchmark).',
  bmIntro: 'Jahr {0}: Kennwerte je m² Nettoraumfläche gegen den Vergleichswert der Gebäudekategorie. Ampel: grün bis {1} × Vergleichswert, gelb bis {2} ×, rot darüber. Rangfolge nach Einsparpotenzial.',
  bmPlace: 'Rang', bmSite: 'Gebäude', bmCategory: 'Kategorie', bmHeat: 'Wärme kWh/(m²·a) Ist / Soll', bmElec: 'Strom kWh/(m²·a) Ist / Soll',
  bmKWh: 'Potenzial kWh/a', bmEUR: '€/a', bmCO2: 't CO2/a', bmTotal: 'Summe Landkreis', bmSource: 'Quelle: {0}',
  bmYear: 'Jahr', light_green: 'grün', light_yellow: 'gelb', light_red: 'rot',
});
Object.assign(strings.en, {
  benchmarks: 'Comparison values and saving potential', noBenchmarks: 'No building has a building category or comparison value (energy.sites[].benchmark).',
  bmIntro: 'Year {0}: Kennwerte per m² net floor area against the comparison value of the building category. Light: green up to {1} × the comparison value, yellow up to {2} ×, red above. Ranked by saving potential.',
  bmPlace: 'Rank', bmSite: 'Building', bmCategory: 'Category', bmHeat: 'Heat kWh/(m²·a) actual / target', bmElec: 'Electricity kWh/(m²·a) actual / target',
  bmKWh: 'Potential kWh/a', bmEUR: 'EUR/a', bmCO2: 't CO2/a', bmTotal: 'County total', bmSource: 'Source: {0}',
  bmYear: 'Year', light_green: 'green', light_yellow: 'yellow', light_red: 'red',
});

const colours = { green: '#2e7d32', yellow: '#f9a825', red: '#c62828' };

function value(h, v) {
  if (!v) return '–';
  return h('span', { class: `light light-${v.light}` },
    h('span', { 'aria-hidden': 'true', style: `display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.35em;background:${colours[v.light]}` }),
    `${num(v.kennwert_kwh_m2a, 0)} / ${num(v.comparison_kwh_m2a, 0)} (${t(`light_${v.light}`)})`);
}

// benchmarksSection renders the ranking with the page's helpers.
export function benchmarksSection({ h, api, section }) {
  return section(t('benchmarks'), 'reports', (body) => {
    const input = h('input', { id: 'bm-year', type: 'number', min: '2000', max: '2100', value: String(new Date().getFullYear() - 1) });
    const out = h('div', {});
    const load = async () => {
      const year = Number(input.value);
      out.replaceChildren(h('p', { class: 'muted' }, t('loading')));
      let rep;
      try {
        rep = await api(`/reports/energy?from=${year}-01-01&to=${year}-12-31&format=json&lang=de`);
      } catch (err) {
        // Without energy reports the report section already says so once.
        if (err.status === 501) { body.closest('section').remove(); return; }
        throw err;
      }
      out.replaceChildren(...ranking(h, rep, year));
    };
    input.addEventListener('change', () => load().catch((err) => out.replaceChildren(h('p', { class: 'notice error' }, err.message))));
    body.replaceChildren(h('p', {}, h('label', { for: 'bm-year' }, `${t('bmYear')} `), input), out);
    return load();
  });
}

// ranking is the table of the report's benchmarks with its total.
function ranking(h, rep, year) {
  const bs = rep.benchmarks || [];
  if (!bs.length) return [h('p', { class: 'muted' }, t('noBenchmarks'))];
  const cols = [t('bmPlace'), t('bmSite'), t('bmCategory'), t('bmHeat'), t('bmElec'), t('bmKWh'), t('bmEUR'), t('bmCO2')];
  const td = (i, ...kids) => h('td', { 'data-label': cols[i] }, h('div', {}, ...kids));
  const sum = { kwh: 0, eur: 0, co2: 0 };
  const rows = bs.map((b) => {
    sum.kwh += b.potential_kwh_a; sum.eur += b.potential_eur_a; sum.co2 += b.potential_co2_kg_a;
    return h('tr', { 'data-site': b.site },
      td(0, String(b.place)), td(1, b.name), td(2, b.category_name || b.category), td(3, value(h, b.heating)), td(4, value(h, b.electricity)),
      td(5, num(b.potential_kwh_a, 0)), td(6, num(b.potential_eur_a, 0)), td(7, num(b.potential_co2_kg_a / 1000, 1)));
  });
  rows.push(h('tr', { class: 'total' }, td(0, ''), td(1, h('strong', {}, t('bmTotal'))), td(2, ''), td(3, ''), td(4, ''),
    td(5, h('strong', {}, num(sum.kwh, 0))), td(6, h('strong', {}, num(sum.eur, 0))), td(7, h('strong', {}, num(sum.co2 / 1000, 1)))));
  const sources = [...new Set(bs.map((b) => b.source).filter(Boolean))];
  return [
    h('p', { class: 'muted small' }, t('bmIntro', year, num(rep.benchmark_green_max, 2), num(rep.benchmark_yellow_max, 2))),
    h('div', { class: 'table-wrap' }, h('table', { id: 'benchmarks' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows))),
    ...sources.map((s) => h('p', { class: 'muted small' }, t('bmSource', s)))];
}
