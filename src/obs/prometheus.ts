// Prometheus text exposition (format 0.0.4) written by hand: counters, gauges and histograms with
// labels, each a small registry object; `renderAll` turns them into the /metrics body.

export type Labels = Readonly<Record<string, string>>;

export interface Metric {
  /** lines of this metric family, HELP and TYPE included */
  render(): string;
}

/** Label values are escaped as the format requires: backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

/**
 * Series are keyed by their label values joined with a separator no label value here contains (they
 * are route names, status codes, model ids, error kinds). A cap bounds memory if one ever does vary
 * freely: past it, new series fold into one `other` series.
 */
const SEP = '\u0001';
export const MAX_SERIES_PER_METRIC = 2_000;

abstract class Family<S> implements Metric {
  protected readonly series = new Map<string, { values: string[]; state: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}
  protected abstract fresh(): S;
  protected get(labels: Labels): S {
    const values = this.labelNames.map((n) => labels[n] ?? '');
    let key = values.join(SEP);
    let entry = this.series.get(key);
    if (!entry) {
      if (this.series.size >= MAX_SERIES_PER_METRIC) {
        const other = this.labelNames.map(() => 'other');
        key = other.join(SEP);
        entry = this.series.get(key);
        if (entry) return entry.state;
        entry = { values: other, state: this.fresh() };
      } else entry = { values, state: this.fresh() };
      this.series.set(key, entry);
    }
    return entry.state;
  }
  abstract render(): string;
}

export class Counter extends Family<{ v: number }> {
  protected fresh() {
    return { v: 0 };
  }
  inc(labels: Labels = {}, by = 1): void {
    this.get(labels).v += by;
  }
  /** For totals counted elsewhere (the process's CPU time): the value read at scrape time. */
  setTotal(labels: Labels, v: number): void {
    this.get(labels).v = v;
  }
  value(labels: Labels = {}): number {
    return this.series.get(this.labelNames.map((n) => labels[n] ?? '').join(SEP))?.state.v ?? 0;
  }
  render(): string {
    let out = header(this.name, this.help, 'counter');
    for (const { values, state } of this.series.values()) out += `${this.name}${labelText(this.labelNames, values)} ${formatNumber(state.v)}\n`;
    return out;
  }
}

export class Gauge extends Family<{ v: number }> {
  protected fresh() {
    return { v: 0 };
  }
  set(labels: Labels, v: number): void {
    this.get(labels).v = v;
  }
  inc(labels: Labels = {}, by = 1): void {
    this.get(labels).v += by;
  }
  dec(labels: Labels = {}, by = 1): void {
    this.get(labels).v -= by;
  }
  value(labels: Labels = {}): number {
    return this.series.get(this.labelNames.map((n) => labels[n] ?? '').join(SEP))?.state.v ?? 0;
  }
  /** Forget every series (gauges recomputed from scratch at scrape time). */
  clear(): void {
    this.series.clear();
  }
  render(): string {
    let out = header(this.name, this.help, 'gauge');
    for (const { values, state } of this.series.values()) out += `${this.name}${labelText(this.labelNames, values)} ${formatNumber(state.v)}\n`;
    return out;
  }
}

export class Histogram extends Family<{ counts: Float64Array; sum: number; count: number }> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected fresh() {
    return { counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
  }
  observe(labels: Labels, v: number): void {
    const s = this.get(labels);
    // Buckets are stored per bound (not cumulative) and summed at render time: observe stays O(log n).
    let lo = 0;
    let hi = this.buckets.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v <= this.buckets[mid]!) hi = mid;
      else lo = mid + 1;
    }
    if (lo < this.buckets.length) s.counts[lo]!++;
    s.sum += v;
    s.count++;
  }
  render(): string {
    let out = header(this.name, this.help, 'histogram');
    for (const { values, state } of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += state.counts[i]!;
        out += `${this.name}_bucket${labelText(this.labelNames, values, `le="${formatNumber(this.buckets[i]!)}"`)} ${cumulative}\n`;
      }
      out += `${this.name}_bucket${labelText(this.labelNames, values, 'le="+Inf"')} ${state.count}\n`;
      out += `${this.name}_sum${labelText(this.labelNames, values)} ${formatNumber(state.sum)}\n`;
      out += `${this.name}_count${labelText(this.labelNames, values)} ${state.count}\n`;
    }
    return out;
  }
}

export function renderAll(metrics: readonly Metric[]): string {
  return metrics.map((m) => m.render()).join('');
}
