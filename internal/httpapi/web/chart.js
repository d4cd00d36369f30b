// SVG line charts drawn by hand: no library, nothing fetched.
import { num, lang } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// niceTicks returns about n round values covering lo..hi.
function niceTicks(lo, hi, n) {
  if (lo === hi) { lo -= 1; hi += 1; }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.floor(lo / step) * step; ; v += step) {
    out.push(Number(v.toPrecision(12)));
    if (v >= hi - step * 1e-9) return out;
  }
}

// timeTicks returns round local times (full hours or midnights) between
// from and to, at most n of them.
function timeTicks(from, to, n) {
  const H = 3600e3;
  const step = [1, 2, 3, 6, 12, 24, 48, 168].map((x) => x * H).find((s) => (to - from) / s <= n) ?? 336 * H;
  const t = new Date(from);
  t.setMinutes(0, 0, 0);
  if (step >= 24 * H) t.setHours(0);
  const out = [];
  for (; t <= to; t.setTime(t.getTime() + H)) {
    // Walk by hours so that days with a DST change stay on round hours.
    const hoursOK = step >= 24 * H ? t.getHours() === 0 && Math.round((t - from) / (24 * H)) % (step / (24 * H)) === 0 : t.getHours() % (step / H) === 0;
    if (t >= from && hoursOK) out.push(new Date(t));
  }
  return out;
}

function timeLabel(t, span) {
  const loc = lang === 'de' ? 'de-DE' : 'en-GB';
  const o = span > 2 * 86400e3 ? { day: '2-digit', month: '2-digit' } : { hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(loc, o).format(t);
}

// lineChart draws points [{t: Date, v: number|null}] from..to into an SVG
// as wide as width; null values break the line (gaps stay visible).
// extra are further series ({points, cls}) drawn as lines of their class;
// hlines are reference values ({v, cls}) drawn across the chart.
export function lineChart({ points, from, to, width, height = 180, title, extra = [], hlines = [] }) {
  const m = { l: 48, r: 16, t: 10, b: 26 };
  const w = Math.max(240, Math.floor(width));
  const svg = el('svg', { width: w, height, viewBox: `0 0 ${w} ${height}`, role: 'img', class: 'chart' });
  svg.append(el('title', {}, title));
  const vals = [points, ...extra.map((e) => e.points)].flat().filter((p) => p.v !== null && Number.isFinite(p.v)).map((p) => p.v);
  if (vals.length) vals.push(...hlines.map((l) => l.v));
  if (vals.length === 0) return svg;
  const yt = niceTicks(Math.min(...vals), Math.max(...vals), 4);
  const y0 = yt[0];
  const y1 = yt[yt.length - 1];
  const x = (t) => m.l + ((t - from) / (to - from)) * (w - m.l - m.r);
  const y = (v) => height - m.b - ((v - y0) / (y1 - y0 || 1)) * (height - m.t - m.b);
  for (const v of yt) {
    svg.append(el('line', { x1: m.l, x2: w - m.r, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(el('text', { x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, num(v, 2)));
  }
  for (const t of timeTicks(from, to, Math.max(2, Math.floor((w - m.l - m.r) / 70)))) {
    svg.append(el('line', { x1: x(t), x2: x(t), y1: m.t, y2: height - m.b, class: 'grid' }));
    svg.append(el('text', { x: x(t), y: height - 8, 'text-anchor': 'middle', class: 'tick' }, timeLabel(t, to - from)));
  }
  for (const l of hlines) {
    svg.append(el('line', { x1: m.l, x2: w - m.r, y1: y(l.v), y2: y(l.v), class: `ref ${l.cls || ''}` }));
  }
  const path = (pts) => {
    let d = '';
    let pen = false;
    for (const p of pts) {
      if (p.v === null || !Number.isFinite(p.v)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
      pen = true;
    }
    return d;
  };
  for (const e of extra) svg.append(el('path', { d: path(e.points), class: `line ${e.cls}` }));
  svg.append(el('path', { d: path(points), class: 'line' }));
  // A point between gaps draws no line: mark it (all points when few).
  const ok = (p) => p && p.v !== null && Number.isFinite(p.v);
  points.forEach((p, i) => {
    if (ok(p) && (points.length < 40 || (!ok(points[i - 1]) && !ok(points[i + 1])))) {
      svg.append(el('circle', { cx: x(p.t), cy: y(p.v), r: 3, class: 'dot' }));
    }
  });
  return svg;
}
