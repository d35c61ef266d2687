// Overview screen: the pool at a glance (totals from /v2/stats), requests, errors and token throughput
// over the last hour (/v2/overview), and per-account load. Missing routes show "no data yet".

import { listAccounts, optional, type Overview, type Stats } from './api';
import { barChart } from './charts';
import { clear, h, toast } from './dom';
import { fmtClock, fmtNumber, statusCell, toDate } from './format';
import { t } from './i18n';

/** Live enough to watch a load test, cheap enough to leave open all day. */
const RELOAD_MS = 10_000;

function card(label: string, value: string, sub?: string, tone = ''): HTMLElement {
  return h(`div.stat${tone ? `.${tone}` : ''}`, {}, h('span.stat-label', {}, label), h('span.stat-value', {}, value), sub ? h('span.sub', {}, sub) : null);
}

/** Totals when /v2/stats is not there: counted from the account list. */
async function fallbackStats(): Promise<Stats> {
  const accounts = await listAccounts();
  const count = (f: (a: (typeof accounts)[number]) => boolean) => accounts.filter(f).length;
  return {
    strategy: '',
    totals: {
      accounts: accounts.length,
      enabled: count((a) => a.enabled),
      healthy: count((a) => a.status === 'healthy'),
      cooling_down: count((a) => a.status === 'cooling_down'),
      disabled: count((a) => !a.enabled),
      exhausted: 0,
      in_flight: 0,
    },
    accounts: accounts.map((a) => ({ id: a.id, label: a.label, status: a.status, enabled: a.enabled, in_flight: 0, success_count: a.success_count, error_count: a.error_count, quota: a.quota ?? null, disabled_reason: a.disabled_reason, cooldown_until: a.cooldown_until })),
  };
}

export function mountOverview(el: HTMLElement): () => void {
  let stopped = false;
  const cards = h('div.stats#overview-cards');
  const charts = h('div.chart-grid');
  const load = h('div.card.panel#overview-load');
  el.append(h('div.page-head', {}, h('h1', {}, t('overview.title')), h('span.muted.small#overview-updated')), cards, charts, load);

  function render(stats: Stats, overview: Overview | null): void {
    const tt = stats.totals;
    const buckets = overview?.buckets ?? [];
    const sum = (k: 'requests' | 'errors' | 'input_tokens' | 'output_tokens') => buckets.reduce((n, b) => n + (b[k] ?? 0), 0);
    const requests = sum('requests');
    const errors = sum('errors');
    const outTokens = sum('output_tokens');
    const minutes = (overview?.window_s ?? 3600) / 60;
    clear(cards);
    cards.append(
      card(t('overview.accounts'), fmtNumber(tt.accounts), t('overview.enabled_n', { n: tt.enabled })),
      card(t('status.healthy'), fmtNumber(tt.healthy), undefined, tt.healthy ? 'ok' : tt.accounts ? 'bad' : ''),
      card(t('status.cooling_down'), fmtNumber(tt.cooling_down), tt.exhausted ? t('overview.exhausted_n', { n: tt.exhausted }) : undefined, tt.cooling_down ? 'warn' : ''),
      card(t('status.disabled'), fmtNumber(tt.disabled)),
      card(t('overview.in_flight'), fmtNumber(tt.in_flight)),
      card(t('overview.requests_1h'), overview ? fmtNumber(requests) : '—', overview ? t('overview.per_min', { n: fmtNumber(requests / minutes, 1) }) : t('overview.no_data')),
      card(t('overview.errors_1h'), overview ? fmtNumber(errors) : '—', overview && requests ? t('overview.error_rate', { p: fmtNumber((100 * errors) / requests, 1) }) : undefined, errors ? 'bad' : ''),
      card(t('overview.tokens_1h'), overview ? fmtNumber(outTokens) : '—', overview ? t('overview.tok_per_min', { n: fmtNumber(outTokens / minutes, 0) }) : undefined),
    );

    // each chart card's inner width: one column below 1000 px, two above (style.css), 20 px padding a side
    const columns = matchMedia('(max-width: 1000px)').matches ? 1 : 2;
    const chartWidth = ((charts.clientWidth || 1200) - (columns - 1) * 20) / columns - 40;
    clear(charts);
    const times = buckets.map((b) => toDate(b.t) ?? new Date());
    const chartCard = (title: string, body: Node) => h('div.card.panel.chart-card', {}, h('h2', {}, title), body);
    const noData = () => h('div.empty.small', {}, t('overview.no_data_yet'));
    const hasTraffic = buckets.some((b) => b.requests || b.output_tokens);
    charts.append(
      chartCard(
        t('overview.chart_requests'),
        hasTraffic
          ? barChart(times, { values: buckets.map((b) => b.requests), tone: 'c-req', label: t('overview.requests') }, { values: buckets.map((b) => b.errors), tone: 'c-err', label: t('overview.errors') }, (n) => fmtNumber(n), fmtClock, chartWidth)
          : noData(),
      ),
      chartCard(
        t('overview.chart_tokens'),
        hasTraffic
          ? barChart(times, { values: buckets.map((b) => b.output_tokens), tone: 'c-out', label: t('overview.output_tokens') }, null, (n) => (n >= 1000 ? `${fmtNumber(n / 1000, 1)}k` : fmtNumber(n)), fmtClock, chartWidth)
          : noData(),
      ),
    );

    clear(load);
    load.append(h('h2', {}, t('overview.load')));
    if (!stats.accounts.length) {
      load.append(h('div.empty', {}, h('p', {}, t('accounts.empty')), h('a.primary', { href: '#/add', role: 'button' }, t('accounts.add_first'))));
      return;
    }
    const recent = new Map((overview?.per_account ?? []).map((p) => [p.id, p]));
    const maxReq = Math.max(1, ...[...recent.values()].map((p) => p.requests));
    const rows = [...stats.accounts].sort((a, b) => (recent.get(b.id)?.requests ?? 0) - (recent.get(a.id)?.requests ?? 0) || b.in_flight - a.in_flight);
    const table = h('table.load', {}, h('thead', {}, h('tr', {}, ...['account', 'status', 'in_flight', 'requests_1h', 'errors_1h', 'share'].map((c) => h(['in_flight', 'requests_1h', 'errors_1h'].includes(c) ? 'th.num' : 'th', {}, t(`overview.col.${c}`))))));
    const body = h('tbody');
    for (const a of rows) {
      const r = recent.get(a.id);
      body.append(
        h(
          'tr',
          {},
          h('td', { 'data-label': t('overview.col.account') }, h('strong', {}, a.label || a.id.slice(0, 8))),
          h('td', { 'data-label': t('overview.col.status') }, statusCell(a)),
          h('td.num', { 'data-label': t('overview.col.in_flight') }, fmtNumber(a.in_flight)),
          h('td.num', { 'data-label': t('overview.col.requests_1h') }, r ? fmtNumber(r.requests) : '—'),
          h('td.num', { 'data-label': t('overview.col.errors_1h') }, r ? h(r.errors ? 'span.text-bad' : 'span', {}, fmtNumber(r.errors)) : '—'),
          h('td.bar-cell', { 'data-label': t('overview.col.share') }, h('div.meter', {}, h('span', { style: `width:${(((r?.requests ?? 0) / maxReq) * 100).toFixed(1)}%` }))),
        ),
      );
    }
    table.append(body);
    load.append(h('div.table-wrap', {}, table));
  }

  async function refresh(): Promise<void> {
    try {
      const [stats, overview] = await Promise.all([optional<Stats>('/v2/stats').then((s) => s ?? fallbackStats()), optional<Overview>('/v2/overview').catch(() => null)]);
      if (stopped) return;
      render(stats, overview);
      const stamp = document.getElementById('overview-updated');
      if (stamp) stamp.textContent = t('overview.updated', { time: new Date().toLocaleTimeString() });
    } catch (e) {
      if (!stopped) toast(e instanceof Error ? e.message : String(e), 'error');
    }
  }

  cards.append(h('p.empty', {}, t('common.loading')));
  void refresh();
  const timer = setInterval(() => void refresh(), RELOAD_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
