// One assistant turn in the playground, fed Anthropic stream events: thinking shown apart (a foldable,
// height-capped box), text as it streams, tool calls as cards, then usage and latency.

import { h } from './dom';
import { fmtMs, fmtNumber } from './format';
import { t } from './i18n';

type Block =
  | { kind: 'thinking'; el: HTMLElement; text: HTMLElement }
  | { kind: 'text'; el: HTMLElement }
  | { kind: 'tool'; el: HTMLElement; json: HTMLElement; partial: string; name: string };

export interface TurnSummary {
  /** the text blocks, joined: what goes back into the conversation history */
  text: string;
  tools: Array<{ name: string; input: string }>;
}

export class AssistantTurn {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly meta: HTMLElement;
  private readonly blocks = new Map<number, Block>();
  private readonly started = performance.now();
  private firstByteMs: number | null = null;
  private inputTokens: number | null = null;
  private outputTokens: number | null = null;
  private stopReason: string | null = null;
  private model = '';
  readonly summary: TurnSummary = { text: '', tools: [] };

  constructor() {
    this.body = h('div.turn-body');
    this.meta = h('div.turn-meta', {}, h('span.spinner', { 'aria-hidden': 'true' }), t('play.waiting'));
    this.el = h('div.turn.assistant', { 'data-role': 'assistant' }, h('div.who', {}, t('play.assistant')), this.body, this.meta);
  }

  /** Applies one stream event (the `data` JSON of an Anthropic SSE frame). */
  apply(ev: Record<string, unknown>): void {
    this.firstByteMs ??= performance.now() - this.started;
    switch (ev.type) {
      case 'message_start': {
        const m = ev.message as { model?: string; usage?: { input_tokens?: number } };
        this.model = m.model ?? '';
        this.inputTokens = m.usage?.input_tokens ?? null;
        break;
      }
      case 'content_block_start':
        this.open(ev.index as number, ev.content_block as { type: string; name?: string; id?: string });
        break;
      case 'content_block_delta':
        this.delta(ev.index as number, ev.delta as Record<string, string>);
        break;
      case 'content_block_stop': {
        const b = this.blocks.get(ev.index as number);
        if (b?.kind === 'tool') {
          let pretty = b.partial;
          try {
            pretty = JSON.stringify(JSON.parse(b.partial || '{}'), null, 2);
          } catch {
            // shown as sent: a truncated tool call is worth seeing as it is
          }
          b.json.textContent = pretty;
          this.summary.tools.push({ name: b.name, input: b.partial });
        }
        break;
      }
      case 'message_delta': {
        const d = ev.delta as { stop_reason?: string };
        const u = ev.usage as { input_tokens?: number; output_tokens?: number } | undefined;
        this.stopReason = d?.stop_reason ?? this.stopReason;
        if (u?.input_tokens) this.inputTokens = u.input_tokens;
        if (u?.output_tokens !== undefined) this.outputTokens = u.output_tokens;
        break;
      }
      case 'error': {
        const e = ev.error as { message?: string; type?: string } | undefined;
        this.fail(e?.message ?? t('play.stream_error'));
        break;
      }
    }
  }

  private open(index: number, block: { type: string; name?: string; id?: string }): void {
    if (block.type === 'thinking' || block.type === 'redacted_thinking') {
      const text = h('div.thinking-text');
      const details = h('details.thinking', { open: true }, h('summary', {}, t('play.thinking')), text);
      this.blocks.set(index, { kind: 'thinking', el: details, text });
      this.body.append(details);
    } else if (block.type === 'tool_use') {
      const json = h('pre.tool-json', {}, '…');
      const el = h('div.tool-call', {}, h('div.tool-head', {}, h('span.badge.info', {}, t('play.tool_call')), h('strong.mono', {}, block.name ?? '?'), h('span.sub.mono', {}, block.id ?? '')), json);
      this.blocks.set(index, { kind: 'tool', el, json, partial: '', name: block.name ?? '?' });
      this.body.append(el);
    } else {
      const el = h('div.answer');
      this.blocks.set(index, { kind: 'text', el });
      this.body.append(el);
    }
  }

  private delta(index: number, d: Record<string, string>): void {
    const b = this.blocks.get(index);
    if (!b) return;
    if (b.kind === 'thinking' && d.type === 'thinking_delta') b.text.append(d.thinking ?? '');
    else if (b.kind === 'text' && d.type === 'text_delta') {
      b.el.append(d.text ?? '');
      this.summary.text += d.text ?? '';
    } else if (b.kind === 'tool' && d.type === 'input_json_delta') {
      b.partial += d.partial_json ?? '';
      b.json.textContent = b.partial;
    }
  }

  fail(message: string): void {
    this.body.append(h('div.result-box.bad.turn-error', { role: 'alert' }, message));
  }

  /** Called once the stream has ended (or failed, or was stopped). */
  finish(stopped = false): void {
    const total = performance.now() - this.started;
    const parts: Array<Node | string> = [];
    const item = (label: string, value: string) => h('span', {}, h('span.muted', {}, `${label} `), value);
    if (this.model) parts.push(item(t('play.model'), this.model));
    if (this.stopReason || stopped) parts.push(item(t('play.stop'), stopped ? t('play.stopped') : this.stopReason!));
    parts.push(item(t('play.tokens_in'), fmtNumber(this.inputTokens)));
    parts.push(item(t('play.tokens_out'), fmtNumber(this.outputTokens)));
    if (this.firstByteMs !== null) parts.push(item(t('play.first_byte'), fmtMs(this.firstByteMs)));
    parts.push(item(t('play.total'), fmtMs(total)));
    if (this.outputTokens && total > 0) parts.push(item(t('play.speed'), `${fmtNumber(this.outputTokens / (total / 1000), 1)} tok/s`));
    this.meta.replaceChildren(...parts);
    this.el.classList.add('done');
    if (this.blocks.size === 0 && !this.body.querySelector('.turn-error')) this.body.append(h('p.muted', {}, t('play.empty')));
  }
}
