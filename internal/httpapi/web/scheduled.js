// Scheduled energy reports on the report page: the monthly and annual
// reports the daemon wrote and keeps (energy_schedule), with download
// links and whether they were mailed.
import { t, strings, num } from './i18n.js';

Object.assign(strings.de, {
  scheduled: 'Geplante Berichte', noScheduled: 'Noch keine Berichte geschrieben.',
  schPeriod: 'Zeitraum', schKind: 'Art', schSize: 'Größe', schMailed: 'versandt', schFile: 'Datei',
  sch_monthly: 'Monatsbericht', sch_annual: 'Jahresbericht', yes: 'ja', no: 'nein',
});
Object.assign(strings.en, {
  scheduled: 'Scheduled reports', noScheduled: 'No report written yet.',
  schPeriod: 'Period', schKind: 'Kind', schSize: 'Size', schMailed: 'mailed', schFile: 'File',
  sch_monthly: 'monthly report', sch_annual: 'annual report', yes: 'yes', no: 'no',
});

// scheduledSection renders the kept reports with the page's helpers;
// token goes into the download links as the report download does.
export function scheduledSection({ h, api, section, token }) {
  return section(t('scheduled'), 'reports', async (body) => {
    let reports;
    try {
      ({ reports } = await api('/reports/scheduled'));
    } catch (err) {
      // No schedule configured: the section is left out.
      if (err.status === 501) { body.closest('section').remove(); return; }
      throw err;
    }
    if (!reports.length) { body.replaceChildren(h('p', { class: 'muted' }, t('noScheduled'))); return; }
    const cols = [t('schPeriod'), t('schKind'), t('schFile'), t('schSize'), t('schMailed')];
    const td = (i, ...kids) => h('td', { 'data-label': cols[i] }, h('div', {}, ...kids));
    const rows = reports.map((r) => {
      const q = new URLSearchParams({ access_token: token });
      return h('tr', { 'data-report': r.name },
        td(0, r.period), td(1, t(`sch_${r.kind}`)),
        td(2, h('a', { href: `/api/v1/reports/scheduled/${encodeURIComponent(r.name)}?${q}`, download: r.name }, r.name)),
        td(3, `${num(r.size / 1024, 0)} kB`), td(4, t(r.mailed ? 'yes' : 'no')));
    });
    body.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'scheduled' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows))));
  });
}
