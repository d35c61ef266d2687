// Accounts screen: the pool as a table with search, filters, batch selection and per-row actions
// (enable/disable, edit label and priority, refresh now, reset errors, delete with confirmation).

import { api, listAccounts, optional, type Account, type Stats, type StatsAccount } from './api';
import { renderTable, type RowAction } from './accounts-table';
import { busy, clear, confirmDialog, h, modal, toast } from './dom';
import { t } from './i18n';

/** The pool changes by itself (cooldowns, refreshes): reload this often while the screen is open. */
const RELOAD_MS = 15_000;
/** Batch actions run this many requests at once: quick, without flooding a small server. */
const BATCH_PARALLEL = 4;
const STATUS_FILTERS = ['all', 'healthy', 'cooling_down', 'exhausted', 'expired_token', 'needs_login', 'disabled'];
const AUTH_FILTERS = ['all', 'idc', 'social', 'api_key'];

async function editDialog(a: Account): Promise<Record<string, unknown> | null> {
  const label = h('input#edit-label', { value: a.label ?? '', maxlength: 200 });
  const priority = h('input#edit-priority', { type: 'number', value: a.priority, min: -1000, max: 1000, step: 1 });
  const hasProxy = 'proxy' in a; // only offered once the server knows per-account proxies
  // The view masks a proxy password, so the field is sent back only when the operator changed it.
  const proxy = h('input#edit-proxy', { value: a.proxy ?? '', placeholder: 'http://127.0.0.1:7890', spellcheck: 'false' });
  const body = h(
    'div.form-grid',
    {},
    h('label', { for: 'edit-label' }, t('form.label')),
    label,
    h('label', { for: 'edit-priority' }, t('accounts.priority')),
    priority,
    h('p.muted.small.span', {}, t('accounts.priority_hint')),
    hasProxy ? h('label', { for: 'edit-proxy' }, t('accounts.proxy')) : null,
    hasProxy ? proxy : null,
    hasProxy ? h('p.muted.small', {}, t('accounts.proxy_hint')) : null,
  );
  const answer = await modal(t('accounts.edit_title', { name: a.label || a.id.slice(0, 8) }), body, [
    { label: t('common.cancel'), value: 'cancel' },
    { label: t('common.save'), value: 'save', kind: 'primary' },
  ]);
  if (answer !== 'save') return null;
  const patch: Record<string, unknown> = { label: label.value.trim() || null, priority: Math.trunc(Number(priority.value) || 0) };
  if (hasProxy && proxy.value.trim() !== (a.proxy ?? '')) patch.proxy = proxy.value.trim() || null;
  return patch;
}

export function mountAccounts(el: HTMLElement): () => void {
  let accounts: Account[] = [];
  let stats = new Map<string, StatsAccount>();
  const selected = new Set<string>();
  let loaded = false;
  let stopped = false;

  const search = h('input.search#account-search', { type: 'search', placeholder: t('accounts.search'), 'aria-label': t('accounts.search'), oninput: () => render() });
  const statusFilter = h('select#status-filter', { 'aria-label': t('accounts.filter_status'), onchange: () => render() });
  for (const s of STATUS_FILTERS) statusFilter.append(h('option', { value: s }, s === 'all' ? t('accounts.all_statuses') : t(`status.${s}`)));
  const authFilter = h('select#auth-filter', { 'aria-label': t('accounts.filter_auth'), onchange: () => render() });
  for (const s of AUTH_FILTERS) authFilter.append(h('option', { value: s }, s === 'all' ? t('accounts.all_auth') : t(`auth.${s}`)));
  const count = h('span.muted.count');
  const reload = h('button.ghost.small', { type: 'button', onclick: () => void busy(reload, load) }, t('common.reload'));
  const batchBar = h('div.batchbar', { hidden: true });
  const tableBox = h('div.table-wrap');

  el.append(
    h('div.page-head', {}, h('h1', {}, t('accounts.title')), h('a.primary.small', { href: '#/add', role: 'button' }, `+ ${t('nav.add')}`)),
    h('div.toolbar', {}, search, statusFilter, authFilter, count, h('span.grow'), reload),
    batchBar,
    tableBox,
  );

  function visible(): Account[] {
    const q = search.value.trim().toLowerCase();
    return accounts.filter((a) => {
      if (statusFilter.value !== 'all' && a.status !== statusFilter.value) return false;
      if (authFilter.value !== 'all' && a.auth_method !== authFilter.value) return false;
      if (!q) return true;
      return [a.label, a.id, a.last_error, a.region, a.disabled_reason].some((v) => v?.toLowerCase().includes(q));
    });
  }

  function renderBatch(): void {
    clear(batchBar);
    batchBar.hidden = selected.size === 0;
    if (!selected.size) return;
    const act = (label: string, run: (a: Account) => Promise<unknown>, kind = 'ghost') =>
      h(`button.${kind}.small`, { type: 'button', onclick: () => void batch(label, run, kind === 'danger') }, label);
    batchBar.append(
      h('strong', {}, t('accounts.selected', { n: selected.size })),
      act(t('accounts.enable'), (a) => api('PATCH', `/v2/accounts/${a.id}`, { enabled: true })),
      act(t('accounts.disable'), (a) => api('PATCH', `/v2/accounts/${a.id}`, { enabled: false })),
      act(t('accounts.refresh'), (a) => api('POST', `/v2/accounts/${a.id}/refresh`)),
      h('button.ghost.small#batch-verify', { type: 'button', onclick: (e: Event) => void busy(e.currentTarget as HTMLButtonElement, verifySelected) }, t('accounts.verify')),
      act(t('accounts.reset'), (a) => api('PATCH', `/v2/accounts/${a.id}`, { resetErrors: true })),
      act(t('accounts.delete'), (a) => api('DELETE', `/v2/accounts/${a.id}`), 'danger'),
      h('button.link.small', { type: 'button', onclick: () => (selected.clear(), render()) }, t('accounts.clear_selection')),
    );
  }

  function render(): void {
    if (stopped) return;
    for (const id of selected) if (!accounts.some((a) => a.id === id)) selected.delete(id);
    const rows = visible();
    count.textContent = loaded ? t('accounts.count', { shown: rows.length, total: accounts.length }) : '';
    renderBatch();
    clear(tableBox);
    if (!loaded) tableBox.append(h('p.empty', {}, t('common.loading')));
    else if (accounts.length === 0) {
      tableBox.append(h('div.empty', {}, h('p', {}, t('accounts.empty')), h('a.primary', { href: '#/add', role: 'button' }, t('accounts.add_first'))));
    } else if (rows.length === 0) tableBox.append(h('p.empty', {}, t('accounts.no_match')));
    else {
      tableBox.append(
        renderTable({
          accounts: rows,
          stats,
          selected,
          onSelect: (id, on) => (on ? selected.add(id) : selected.delete(id), render()),
          onSelectAll: (on) => {
            for (const a of rows) on ? selected.add(a.id) : selected.delete(a.id);
            render();
          },
          onAction: (action, a) => void rowAction(action, a),
        }),
      );
    }
  }

  async function load(): Promise<void> {
    try {
      const [list, s] = await Promise.all([listAccounts(), optional<Stats>('/v2/stats').catch(() => null)]);
      accounts = list;
      stats = new Map((s?.accounts ?? []).map((x) => [x.id, x]));
      loaded = true;
      // A periodic reload must not snap shut the menu someone is choosing from: the next one catches up.
      if (!tableBox.querySelector('details.menu[open]')) render();
    } catch (e) {
      if (!stopped) toast(e instanceof Error ? e.message : String(e), 'error');
    }
  }

  const replace = (updated: Account) => {
    accounts = accounts.map((a) => (a.id === updated.id ? updated : a));
    render();
  };
  const name = (a: Account) => a.label || a.id.slice(0, 8);

  async function rowAction(action: RowAction, a: Account): Promise<void> {
    try {
      switch (action) {
        case 'toggle': {
          replace(await api<Account>('PATCH', `/v2/accounts/${a.id}`, { enabled: !a.enabled }));
          toast(t(a.enabled ? 'accounts.disabled_one' : 'accounts.enabled_one', { name: name(a) }), 'ok');
          break;
        }
        case 'edit': {
          const patch = await editDialog(a);
          if (!patch) return;
          replace(await api<Account>('PATCH', `/v2/accounts/${a.id}`, patch));
          toast(t('accounts.saved', { name: name(a) }), 'ok');
          break;
        }
        case 'refresh': {
          replace(await api<Account>('POST', `/v2/accounts/${a.id}/refresh`));
          toast(t('accounts.refreshed_one', { name: name(a) }), 'ok');
          break;
        }
        case 'quota': {
          replace(await api<Account>('POST', `/v2/accounts/${a.id}/quota`));
          toast(t('accounts.quota_checked', { name: name(a) }), 'ok');
          break;
        }
        case 'reset': {
          replace(await api<Account>('PATCH', `/v2/accounts/${a.id}`, { resetErrors: true }));
          toast(t('accounts.reset_one', { name: name(a) }), 'ok');
          break;
        }
        case 'delete': {
          if (!(await confirmDialog(t('accounts.delete_title_one'), t('accounts.delete_confirm', { name: name(a) }), t('accounts.delete')))) return;
          await api('DELETE', `/v2/accounts/${a.id}`);
          accounts = accounts.filter((x) => x.id !== a.id);
          render();
          toast(t('accounts.deleted_one', { name: name(a) }), 'ok');
          break;
        }
      }
    } catch (e) {
      toast(`${name(a)}: ${e instanceof Error ? e.message : String(e)}`, 'error');
      if (action === 'toggle') render(); // put the switch back where the server has it
    }
  }

  /** Liveness check of the selection in one call (the server runs it in parallel and reports each). */
  async function verifySelected(): Promise<void> {
    try {
      const { results } = await api<{ results: Array<{ id: string; ok: boolean; status: string; error?: string }> }>('POST', '/v2/accounts/verify', { ids: [...selected] });
      const bad = results.filter((r) => !r.ok);
      toast(t('accounts.verified', { ok: results.length - bad.length, failed: bad.length }), bad.length ? 'error' : 'ok');
      selected.clear();
      await load();
    } catch (e) {
      toast(e instanceof Error ? e.message : String(e), 'error');
    }
  }

  async function batch(label: string, run: (a: Account) => Promise<unknown>, destructive: boolean): Promise<void> {
    const targets = accounts.filter((a) => selected.has(a.id));
    if (destructive) {
      if (!(await confirmDialog(t('accounts.delete_title'), t('accounts.delete_many', { n: targets.length }), t('accounts.delete')))) return;
    }
    let failed = 0;
    for (let i = 0; i < targets.length; i += BATCH_PARALLEL) {
      const results = await Promise.allSettled(targets.slice(i, i + BATCH_PARALLEL).map(run));
      failed += results.filter((r) => r.status === 'rejected').length;
    }
    toast(t('accounts.batch_done', { action: label, ok: targets.length - failed, failed }), failed ? 'error' : 'ok');
    selected.clear();
    await load();
  }

  // A click anywhere else closes an open row menu, as menus do.
  const closeMenus = (e: Event) => {
    for (const d of tableBox.querySelectorAll<HTMLDetailsElement>('details.menu[open]')) if (!d.contains(e.target as Node)) d.open = false;
  };
  document.addEventListener('click', closeMenus);
  render();
  void load();
  const timer = setInterval(() => void load(), RELOAD_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
    document.removeEventListener('click', closeMenus);
  };
}
