// Playground: pick a model, set a system prompt, send a message and watch the streamed answer. Calls go
// through the admin-authenticated /v2/playground/* routes, so no client key is needed in the browser.
// The conversation survives a language switch (module state), not a reload.

import { ApiError, api, call } from './api';
import { clear, h, toast } from './dom';
import { t } from './i18n';
import { AssistantTurn } from './playground-turn';
import { readSse } from './sse';

interface Message {
  role: 'user' | 'assistant';
  content: string;
}

/** Room for a real answer without letting a runaway one fill the page. */
const DEFAULT_MAX_TOKENS = 2048;
const DEFAULT_BUDGET = 2048;
const PREFERRED_MODELS = ['claude-sonnet-4.5', 'claude-sonnet-4', 'auto'];

const state = {
  history: [] as Message[],
  transcript: [] as HTMLElement[],
  model: '',
  system: '',
  maxTokens: DEFAULT_MAX_TOKENS,
  thinking: false,
  budget: DEFAULT_BUDGET,
  tools: '',
};
let models: string[] | null = null;

export function mountPlayground(el: HTMLElement): () => void {
  let abort: AbortController | null = null;

  const model = h('select#pg-model', { onchange: () => (state.model = model.value) });
  const system = h('textarea#pg-system', { rows: 4, placeholder: t('play.system_placeholder'), value: state.system, oninput: () => (state.system = system.value) });
  const maxTokens = h('input#pg-max', { type: 'number', min: 1, max: 64000, value: state.maxTokens, oninput: () => (state.maxTokens = Number(maxTokens.value) || DEFAULT_MAX_TOKENS) });
  const thinking = h('input#pg-thinking', { type: 'checkbox', checked: state.thinking, onchange: () => ((state.thinking = thinking.checked), (budget.disabled = !thinking.checked)) });
  const budget = h('input#pg-budget', { type: 'number', min: 1024, max: 32000, step: 1024, value: state.budget, disabled: !state.thinking, oninput: () => (state.budget = Number(budget.value) || DEFAULT_BUDGET) });
  const tools = h('textarea#pg-tools', { rows: 5, spellcheck: 'false', placeholder: '[{"name":"get_weather","description":"…","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]', value: state.tools, oninput: () => (state.tools = tools.value) });
  const transcript = h('div.transcript#pg-transcript', { 'aria-live': 'polite' });
  const input = h('textarea#pg-input', { rows: 3, placeholder: t('play.input_placeholder') });
  const send = h('button.primary#pg-send', { type: 'submit' }, t('play.send'));
  const stop = h('button.ghost#pg-stop', { type: 'button', hidden: true, onclick: () => abort?.abort() }, t('play.stop_btn'));
  const clearBtn = h('button.link.small#pg-clear', { type: 'button', onclick: () => resetConversation() }, t('play.clear'));

  function fillModels(): void {
    clear(model);
    const list = models ?? [];
    for (const id of list) model.append(h('option', { value: id }, id));
    if (!list.length) model.append(h('option', { value: '' }, t('play.no_models')));
    state.model = list.includes(state.model) ? state.model : (PREFERRED_MODELS.find((m) => list.includes(m)) ?? list[0] ?? '');
    model.value = state.model;
  }

  function showEmpty(): void {
    if (!state.transcript.length) transcript.replaceChildren(h('div.empty', {}, h('p', {}, t('play.empty_transcript')), h('p.muted.small', {}, t('play.marker_hint'))));
  }

  function resetConversation(): void {
    abort?.abort();
    state.history = [];
    state.transcript = [];
    clear(transcript);
    showEmpty();
  }

  async function sendMessage(text: string): Promise<void> {
    let toolList: unknown;
    if (state.tools.trim()) {
      try {
        toolList = JSON.parse(state.tools);
      } catch (e) {
        toast(t('play.bad_tools', { error: e instanceof Error ? e.message : String(e) }), 'error');
        return;
      }
    }
    if (!state.transcript.length) clear(transcript);
    const userTurn = h('div.turn.user', { 'data-role': 'user' }, h('div.who', {}, t('play.you')), h('div.turn-body', {}, h('div.answer', {}, text)));
    const turn = new AssistantTurn();
    state.transcript.push(userTurn, turn.el);
    transcript.append(userTurn, turn.el);
    state.history.push({ role: 'user', content: text });
    const body: Record<string, unknown> = { model: state.model, max_tokens: state.maxTokens, stream: true, messages: state.history };
    if (state.system.trim()) body.system = state.system;
    if (state.thinking) body.thinking = { type: 'enabled', budget_tokens: state.budget };
    if (Array.isArray(toolList) && toolList.length) body.tools = toolList;

    abort = new AbortController();
    send.hidden = true;
    stop.hidden = false;
    let stopped = false;
    try {
      const res = await call('POST', '/v2/playground/chat', body, abort.signal);
      for await (const ev of readSse(res.body!, abort.signal)) {
        try {
          turn.apply(JSON.parse(ev.data) as Record<string, unknown>);
        } catch {
          // a non-JSON frame carries nothing to show
        }
        transcript.scrollTop = transcript.scrollHeight;
      }
    } catch (e) {
      if (abort.signal.aborted) stopped = true;
      else turn.fail(e instanceof ApiError ? e.message : e instanceof Error ? e.message : String(e));
    } finally {
      turn.finish(stopped);
      // Only the text goes back into the history: a tool call would need a tool result to follow it.
      const tools = turn.summary.tools.map((x) => `[${x.name}(${x.input})]`).join(' ');
      const reply = [turn.summary.text, tools].filter(Boolean).join('\n');
      if (reply) state.history.push({ role: 'assistant', content: reply });
      else state.history.pop(); // nothing came back: forget the question too, so the roles keep alternating
      abort = null;
      send.hidden = false;
      stop.hidden = true;
      transcript.scrollTop = transcript.scrollHeight;
    }
  }

  const composer = h(
    'form.composer',
    {
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const text = input.value.trim();
        if (!text || abort) return;
        if (!state.model) return toast(t('play.pick_model'), 'error');
        input.value = '';
        void sendMessage(text);
      },
    },
    input,
    h('div.row', {}, h('span.muted.small.grow', {}, t('play.shortcut')), clearBtn, stop, send),
  );
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) composer.requestSubmit();
  });

  el.append(
    h('div.page-head', {}, h('h1', {}, t('play.title')), h('p.muted', {}, t('play.hint'))),
    h(
      'div.play-grid',
      {},
      h(
        'aside.card.panel.settings',
        {},
        h('div.field', {}, h('label', { for: 'pg-model' }, t('play.model')), model),
        h('div.field', {}, h('label', { for: 'pg-system' }, t('play.system')), system),
        h('div.grid2', {}, h('div.field', {}, h('label', { for: 'pg-max' }, t('play.max_tokens')), maxTokens), h('div.field', {}, h('label', { for: 'pg-budget' }, t('play.budget')), budget)),
        h('label.check', {}, thinking, t('play.thinking_on')),
        h('details.more', {}, h('summary', {}, t('play.tools')), h('p.muted.small', {}, t('play.tools_hint')), tools),
      ),
      h('section.card.chat', {}, transcript, composer),
    ),
  );
  if (state.transcript.length) transcript.append(...state.transcript);
  else showEmpty();
  fillModels();
  if (!models) {
    api<{ data: Array<{ id: string }> }>('GET', '/v2/playground/models')
      .then((r) => {
        models = r.data.map((m) => m.id);
        fillModels();
      })
      .catch((e: unknown) => toast(t('play.models_failed', { error: e instanceof Error ? e.message : String(e) }), 'error'));
  }
  return () => abort?.abort();
}
