// Checks a GenerateAssistantResponse body against every rule of upstream-protocol.md §2.4–2.5 (and
// the stricter invariants our builder promises). Returns the problems found; [] means valid.

type Json = Record<string, unknown>;

const ID_OK = /^[A-Za-z0-9_-]{1,64}$/;
const NAME_OK = /^[A-Za-z0-9_-]{1,64}$/;
const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);
const MAX_DESCRIPTION = 10_000;
const MAX_IMAGES = 10;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** No null / undefined anywhere, no empty arrays anywhere (§2.5 rule 6), JSON round-trips. */
function walk(v: unknown, path: string, problems: string[]): void {
  if (v === null) problems.push(`${path}: null`);
  else if (v === undefined) problems.push(`${path}: undefined`);
  else if (typeof v === 'number' && !Number.isFinite(v)) problems.push(`${path}: non-finite number`);
  else if (Array.isArray(v)) {
    if (v.length === 0) problems.push(`${path}: empty array`);
    v.forEach((x, i) => walk(x, `${path}[${i}]`, problems));
  } else if (typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`, problems);
  } else if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') problems.push(`${path}: not JSON`);
}

function checkSchemaTop(schema: unknown, path: string, problems: string[]): void {
  if (!isObj(schema)) return void problems.push(`${path}: schema is not an object`);
  if (schema.type !== 'object') problems.push(`${path}: top-level type is not "object"`);
  for (const k of ['oneOf', 'anyOf', 'allOf']) if (k in schema) problems.push(`${path}: top-level ${k}`);
  const text = JSON.stringify(schema);
  if (/"\$schema":|"\$id":/.test(text)) problems.push(`${path}: $schema/$id present`);
}

function checkUser(msg: unknown, path: string, isCurrent: boolean, problems: string[]): Json | undefined {
  if (!isObj(msg)) return void problems.push(`${path}: not an object`);
  if (typeof msg.content !== 'string' || msg.content.trim() === '') problems.push(`${path}.content: empty (rule 1)`);
  if (typeof msg.modelId !== 'string' || msg.modelId === '') problems.push(`${path}.modelId missing`);
  if (typeof msg.origin !== 'string' || msg.origin === '') problems.push(`${path}.origin missing`);
  const allowed = new Set(['content', 'modelId', 'origin', 'images', 'userInputMessageContext']);
  for (const k of Object.keys(msg)) if (!allowed.has(k)) problems.push(`${path}: unexpected key ${k}`);
  if (msg.images !== undefined) {
    if (!Array.isArray(msg.images)) problems.push(`${path}.images: not an array`);
    else {
      if (msg.images.length > MAX_IMAGES) problems.push(`${path}.images: more than ${MAX_IMAGES}`);
      msg.images.forEach((img, i) => {
        if (!isObj(img) || !IMAGE_FORMATS.has(String(img.format)) || !isObj(img.source) || typeof img.source.bytes !== 'string')
          problems.push(`${path}.images[${i}]: malformed`);
      });
    }
  }
  const ctx = msg.userInputMessageContext;
  if (ctx !== undefined) {
    if (!isObj(ctx)) return void problems.push(`${path}.userInputMessageContext: not an object`);
    for (const k of Object.keys(ctx)) if (k !== 'tools' && k !== 'toolResults') problems.push(`${path}.userInputMessageContext: unexpected ${k}`);
    if (!isCurrent && ctx.tools !== undefined) problems.push(`${path}: tools outside currentMessage`);
    return ctx;
  }
  return {};
}

/** Every rule the builder must satisfy, on one body. */
export function qRequestProblems(body: unknown): string[] {
  const problems: string[] = [];
  walk(body, 'body', problems);
  if (!isObj(body)) return ['body: not an object'];
  for (const k of Object.keys(body)) if (k !== 'conversationState' && k !== 'profileArn') problems.push(`body: unexpected key ${k}`);
  const cs = body.conversationState;
  if (!isObj(cs)) return [...problems, 'conversationState missing'];
  if (typeof cs.conversationId !== 'string' || cs.conversationId === '') problems.push('conversationId missing');
  if (cs.chatTriggerType !== 'MANUAL') problems.push('chatTriggerType is not MANUAL');
  if (!isObj(cs.currentMessage) || Object.keys(cs.currentMessage).join() !== 'userInputMessage')
    return [...problems, 'currentMessage is not a userInputMessage'];

  const history = cs.history === undefined ? [] : cs.history;
  if (!Array.isArray(history)) return [...problems, 'history: not an array'];
  // The sequence the pairing rules run over: history then the current message.
  const seq: Array<{ role: 'user' | 'assistant'; msg: unknown; path: string; current: boolean }> = [];
  history.forEach((entry, i) => {
    const keys = isObj(entry) ? Object.keys(entry) : [];
    if (keys.length !== 1 || (keys[0] !== 'userInputMessage' && keys[0] !== 'assistantResponseMessage')) {
      problems.push(`history[${i}]: not a one-key ChatMessage`);
      return;
    }
    const role = keys[0] === 'userInputMessage' ? 'user' : 'assistant';
    seq.push({ role, msg: (entry as Json)[keys[0]!], path: `history[${i}]`, current: false });
  });
  seq.push({ role: 'user', msg: cs.currentMessage.userInputMessage, path: 'currentMessage', current: true });

  // Rule 2: alternation, starting with user, history ending with assistant.
  seq.forEach((s, i) => {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (s.role !== want) problems.push(`${s.path}: ${s.role} where ${want} expected (alternation)`);
  });

  const toolUseIds = new Set<string>();
  const historyToolNames = new Set<string>();
  let previousUses: string[] = [];
  let currentTools: unknown;
  for (const s of seq) {
    if (s.role === 'assistant') {
      const a = s.msg;
      if (!isObj(a) || typeof a.content !== 'string') {
        problems.push(`${s.path}: assistant content missing`);
        previousUses = [];
        continue;
      }
      previousUses = [];
      if (a.toolUses !== undefined) {
        if (!Array.isArray(a.toolUses)) problems.push(`${s.path}.toolUses: not an array`);
        else
          a.toolUses.forEach((u, j) => {
            const p = `${s.path}.toolUses[${j}]`;
            if (!isObj(u)) return void problems.push(`${p}: not an object`);
            if (typeof u.toolUseId !== 'string' || !ID_OK.test(u.toolUseId)) problems.push(`${p}.toolUseId invalid (rule 5)`);
            else if (toolUseIds.has(u.toolUseId)) problems.push(`${p}.toolUseId repeated`);
            else toolUseIds.add(u.toolUseId);
            if (typeof u.name !== 'string' || !NAME_OK.test(u.name)) problems.push(`${p}.name invalid (rule 4)`);
            else historyToolNames.add(u.name.toLowerCase());
            if (!isObj(u.input)) problems.push(`${p}.input is not a JSON object`);
            previousUses.push(String(u.toolUseId));
          });
      }
      continue;
    }
    const ctx = checkUser(s.msg, s.path, s.current, problems);
    if (!ctx) continue;
    if (s.current) currentTools = ctx.tools;
    // Rule 3 (stricter): results answer exactly the preceding assistant's uses, in order, once each.
    const results = ctx.toolResults === undefined ? [] : ctx.toolResults;
    if (!Array.isArray(results)) {
      problems.push(`${s.path}.toolResults: not an array`);
      continue;
    }
    const ids = results.map((r) => (isObj(r) ? String(r.toolUseId) : '?'));
    if (ids.join('\u0000') !== previousUses.join('\u0000'))
      problems.push(`${s.path}: toolResults [${ids.join(', ')}] do not answer the preceding toolUses [${previousUses.join(', ')}] (rule 3)`);
    results.forEach((r, j) => {
      const p = `${s.path}.toolResults[${j}]`;
      if (!isObj(r)) return void problems.push(`${p}: not an object`);
      if (r.status !== 'success' && r.status !== 'error') problems.push(`${p}.status invalid`);
      if (!Array.isArray(r.content) || r.content.length === 0) return void problems.push(`${p}.content empty`);
      r.content.forEach((c, k) => {
        const ok = isObj(c) && ((typeof c.text === 'string' && c.text.trim() !== '') || ('json' in c && Object.keys(c).length === 1));
        if (!ok) problems.push(`${p}.content[${k}]: neither non-empty {text} nor {json}`);
      });
    });
    previousUses = [];
  }

  // Rule 4 and CLIProxyAPIPlus #73: specs well formed, and every history tool name has one.
  const specNames = new Set<string>();
  if (currentTools !== undefined) {
    if (!Array.isArray(currentTools)) problems.push('tools: not an array');
    else
      currentTools.forEach((t, i) => {
        const p = `tools[${i}]`;
        const spec = isObj(t) ? t.toolSpecification : undefined;
        if (!isObj(t) || Object.keys(t).join() !== 'toolSpecification' || !isObj(spec)) return void problems.push(`${p}: not a toolSpecification`);
        if (typeof spec.name !== 'string' || !NAME_OK.test(spec.name)) problems.push(`${p}.name invalid`);
        else if (specNames.has(spec.name.toLowerCase())) problems.push(`${p}.name duplicated`);
        else specNames.add(spec.name.toLowerCase());
        if (typeof spec.description !== 'string' || spec.description.trim() === '') problems.push(`${p}.description empty`);
        else if (spec.description.length > MAX_DESCRIPTION) problems.push(`${p}.description over ${MAX_DESCRIPTION}`);
        const schema = isObj(spec.inputSchema) ? spec.inputSchema.json : undefined;
        checkSchemaTop(schema, `${p}.inputSchema.json`, problems);
      });
  }
  for (const n of historyToolNames) if (!specNames.has(n)) problems.push(`history uses tool ${n} without a spec`);

  if (JSON.stringify(JSON.parse(JSON.stringify(body))) !== JSON.stringify(body)) problems.push('body does not round-trip through JSON');
  return problems;
}
