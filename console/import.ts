// Batch import panel: paste JSON (a Kiro token file, a proxy-style array, a q2api export) or drop /
// pick files (a Kiro kiro-auth-token.json together with its <clientIdHash>.json registration), sent to
// POST /v2/accounts/import, with each item reported as created, duplicate or invalid.

import { api } from './api';
import { busy, clear, h, toast } from './dom';
import { t } from './i18n';

interface ImportResult {
  created: number;
  duplicates: number;
  invalid: number;
  results: Array<{ source: string; status: 'created' | 'duplicate' | 'invalid'; error?: string; id?: string }>;
}

/** Bigger files are not credentials; refusing them here spares a pointless upload. */
const MAX_FILE_BYTES = 2 * 1024 * 1024;

export function importPanel(): HTMLElement {
  const text = h('textarea#import-text', { rows: 6, spellcheck: 'false', placeholder: t('import.placeholder') });
  const fileInput = h('input#import-files', { type: 'file', accept: '.json,application/json', multiple: true, hidden: true });
  const files: Array<{ name: string; content: string }> = [];
  const fileList = h('ul.file-list');
  const result = h('div#import-result', { role: 'status' });
  const submit = h('button.primary#import-submit', { type: 'submit' }, t('import.submit'));

  const renderFiles = () => {
    clear(fileList);
    for (const [i, f] of files.entries()) {
      fileList.append(h('li', {}, h('span.mono', {}, f.name), h('button.link.small', { type: 'button', 'aria-label': t('import.remove', { name: f.name }), onclick: () => (files.splice(i, 1), renderFiles()) }, '×')));
    }
  };
  async function addFiles(list: FileList | null): Promise<void> {
    for (const f of Array.from(list ?? [])) {
      if (f.size > MAX_FILE_BYTES) {
        toast(t('import.too_big', { name: f.name }), 'error');
        continue;
      }
      files.push({ name: f.name, content: await f.text() });
    }
    renderFiles();
  }
  fileInput.addEventListener('change', () => void addFiles(fileInput.files).then(() => (fileInput.value = '')));

  const drop = h(
    'div.dropzone#import-drop',
    {
      tabindex: 0,
      role: 'button',
      onclick: () => fileInput.click(),
      onkeydown: (e: Event) => ((e as KeyboardEvent).key === 'Enter' || (e as KeyboardEvent).key === ' ') && fileInput.click(),
      ondragover: (e: Event) => (e.preventDefault(), drop.classList.add('over')),
      ondragleave: () => drop.classList.remove('over'),
      ondrop: (e: Event) => {
        e.preventDefault();
        drop.classList.remove('over');
        void addFiles((e as DragEvent).dataTransfer?.files ?? null);
      },
    },
    h('strong', {}, t('import.drop')),
    h('span.sub', {}, t('import.drop_hint')),
  );

  function showResult(r: ImportResult): void {
    clear(result);
    const summary = t('import.summary', { created: r.created, duplicates: r.duplicates, invalid: r.invalid });
    result.append(h(`div.result-box.${r.invalid ? 'warn' : 'ok'}`, {}, h('strong', {}, summary)));
    const list = h('ul.import-items');
    for (const item of r.results) {
      list.append(h('li', {}, h(`span.badge.${item.status === 'created' ? 'ok' : item.status === 'duplicate' ? 'muted' : 'bad'}`, {}, t(`import.${item.status}`)), h('span.mono', {}, item.source), item.error ? h('span.sub.text-bad', {}, item.error) : null));
    }
    result.append(list);
    toast(summary, r.created ? 'ok' : r.invalid ? 'error' : 'info');
  }

  return h(
    'form.card.panel#import-form',
    {
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        let body: unknown;
        if (files.length) body = { files };
        else {
          try {
            body = JSON.parse(text.value);
          } catch (e) {
            clear(result);
            result.append(h('div.result-box.bad', {}, t('import.bad_json', { error: e instanceof Error ? e.message : String(e) })));
            return;
          }
        }
        void busy(submit, async () => {
          try {
            showResult(await api<ImportResult>('POST', '/v2/accounts/import', body));
            files.length = 0;
            renderFiles();
          } catch (e) {
            clear(result);
            result.append(h('div.result-box.bad', {}, e instanceof Error ? e.message : String(e)));
          }
        });
      },
    },
    h('h2', {}, t('import.title')),
    h('p.muted', {}, t('import.hint')),
    drop,
    fileInput,
    fileList,
    h('div.or', {}, t('import.or_paste')),
    text,
    h('div.row', {}, submit),
    result,
  );
}
