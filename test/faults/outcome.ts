// What a client sees of one chat request, reduced to a comparable shape: an HTTP error (status and
// error type), an in-stream error after a 200, or a successful answer (text, stop reason, tool calls).
// Both dialects, streaming and not, parsed from the raw bytes (no SDK in between).

export type Dialect = 'anthropic' | 'openai';

export type Outcome =
  | { kind: 'http_error'; status: number; type: string }
  | { kind: 'stream_error'; type: string; text: string }
  | { kind: 'ok'; text: string; stop: string | null; tools: number; thinking: boolean };

export interface Target {
  url: string;
  key?: string;
  /** in-process gateways answer through their own fetch */
  fetch?: (path: string, init?: RequestInit) => Promise<Response>;
}

export function chatRequest(target: Target, dialect: Dialect, content: string, opts: { stream: boolean; signal?: AbortSignal }): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.key) headers[dialect === 'anthropic' ? 'x-api-key' : 'authorization'] = dialect === 'anthropic' ? target.key : `Bearer ${target.key}`;
  const tools =
    dialect === 'anthropic'
      ? [{ name: 'get_weather', description: 'Weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]
      : [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const body =
    dialect === 'anthropic'
      ? { model: 'claude-sonnet-4-5', max_tokens: 1024, stream: opts.stream, tools, messages: [{ role: 'user', content }] }
      : { model: 'claude-sonnet-4-5', stream: opts.stream, tools, messages: [{ role: 'user', content }] };
  return (target.fetch ?? fetch)(`${target.url}${dialect === 'anthropic' ? '/v1/messages' : '/v1/chat/completions'}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: opts.signal,
  });
}

/** Reads the whole response and reduces it to an Outcome. */
export async function outcomeOf(dialect: Dialect, res: Response): Promise<Outcome> {
  const text = await res.text();
  if (res.status !== 200) {
    let type = '?';
    try {
      const j = JSON.parse(text) as { error?: { type?: string } };
      type = j.error?.type ?? '?';
    } catch {}
    return { kind: 'http_error', status: res.status, type };
  }
  const sse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
  if (!sse) return dialect === 'anthropic' ? anthropicMessage(JSON.parse(text)) : openaiCompletion(JSON.parse(text));
  return dialect === 'anthropic' ? anthropicStream(text) : openaiStream(text);
}

function anthropicMessage(m: { content: Array<{ type: string; text?: string }>; stop_reason: string | null }): Outcome {
  const out = m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
  return { kind: 'ok', text: out, stop: m.stop_reason, tools: m.content.filter((b) => b.type === 'tool_use').length, thinking: m.content.some((b) => b.type === 'thinking') };
}

function openaiCompletion(c: { choices: Array<{ message: { content: string | null; tool_calls?: unknown[]; reasoning_content?: string }; finish_reason: string }> }): Outcome {
  const msg = c.choices[0]!.message;
  return { kind: 'ok', text: msg.content ?? '', stop: c.choices[0]!.finish_reason, tools: msg.tool_calls?.length ?? 0, thinking: !!msg.reasoning_content };
}

function anthropicStream(raw: string): Outcome {
  let text = '';
  let stop: string | null = null;
  let tools = 0;
  let thinking = false;
  for (const block of raw.split('\n\n')) {
    const data = block.split('\n').find((l) => l.startsWith('data: '));
    if (!data) continue;
    const ev = JSON.parse(data.slice(6)) as Record<string, any>;
    if (ev.type === 'error') return { kind: 'stream_error', type: ev.error.type, text };
    if (ev.type === 'content_block_start' && ev.content_block.type === 'tool_use') tools++;
    if (ev.type === 'content_block_start' && ev.content_block.type === 'thinking') thinking = true;
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    if (ev.type === 'message_delta') stop = ev.delta.stop_reason;
  }
  return { kind: 'ok', text, stop, tools, thinking };
}

function openaiStream(raw: string): Outcome {
  let text = '';
  let stop: string | null = null;
  const tools = new Set<number>();
  let thinking = false;
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6)) as Record<string, any>;
    if (chunk.error) return { kind: 'stream_error', type: chunk.error.type, text };
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    if (choice.delta?.content) text += choice.delta.content;
    if (choice.delta?.reasoning_content) thinking = true;
    for (const tc of choice.delta?.tool_calls ?? []) tools.add(tc.index);
    if (choice.finish_reason) stop = choice.finish_reason;
  }
  return { kind: 'ok', text, stop, tools: tools.size, thinking };
}
