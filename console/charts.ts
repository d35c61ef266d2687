// Small SVG charts for the overview (no library): bars over time with an optional second series drawn
// on top, and time ticks. Sized by viewBox, so they scale to the card's width.

const SVG = 'http://www.w3.org/2000/svg';

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export interface Series {
  values: number[];
  /** CSS class giving the colour (chart.css) */
  tone: string;
  label: string;
}

/** A nice round upper bound for the y axis (1, 2, 5 × 10^n). */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/**
 * Bars for `back` with `front` (e.g. errors over requests) overlaid; `times` label the x axis.
 * `format` renders a value for the axis and the hover titles.
 */
export function barChart(times: Date[], back: Series, front: Series | null, format: (n: number) => string, timeLabel: (d: Date) => string, width = 600): SVGSVGElement {
  // drawn at the width it is shown at, so axis text stays 11 px on a phone too
  const W = Math.max(280, Math.round(width));
  const H = 180;
  const pad = { l: 44, r: 8, t: 10, b: 22 };
  const n = Math.max(1, back.values.length);
  const max = niceMax(Math.max(...back.values, ...(front?.values ?? []), 0));
  const cw = (W - pad.l - pad.r) / n;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': [back.label, front?.label].filter(Boolean).join(', ') });
  // a middle line only where it lands on a whole number: "0, 1, 1" helps nobody
  for (const f of Number.isInteger(max / 2) ? [0, 0.5, 1] : [0, 1]) {
    const yy = y(max * f);
    svg.append(s('line', { x1: pad.l, x2: W - pad.r, y1: yy, y2: yy, class: 'grid' }));
    svg.append(s('text', { x: pad.l - 6, y: yy + 4, class: 'axis', 'text-anchor': 'end' }, format(max * f)));
  }
  const bar = (series: Series, i: number, inset: number) => {
    const v = series.values[i] ?? 0;
    if (v <= 0) return;
    const rect = s('rect', { x: pad.l + i * cw + inset, y: y(v), width: Math.max(1, cw - inset * 2), height: H - pad.b - y(v), rx: 1.5, class: series.tone });
    rect.append(s('title', {}, `${timeLabel(times[i] ?? new Date())} · ${series.label}: ${format(v)}`));
    svg.append(rect);
  };
  for (let i = 0; i < n; i++) {
    bar(back, i, Math.min(1.5, cw * 0.15));
    if (front) bar(front, i, Math.min(3, cw * 0.3));
  }
  // about five time ticks, on bucket boundaries
  const step = Math.max(1, Math.round(n / (W < 420 ? 3 : 5)));
  for (let i = 0; i < n; i += step) {
    const time = times[i];
    if (time) svg.append(s('text', { x: pad.l + i * cw + cw / 2, y: H - 6, class: 'axis', 'text-anchor': 'middle' }, timeLabel(time)));
  }
  return svg;
}
