// A generated corpus of malformed and hostile chat requests, per dialect: broken JSON, wrong types at
// every field, out-of-range values, huge strings, deep nesting, invalid UTF-8, unknown roles,
// oversized images, 10,000 tools, prototype-pollution keys. Every case must be refused with a 4xx.
// `valid` is the well-formed request the mutations start from (the suite checks it succeeds).

export type Dialect = 'anthropic' | 'openai';

export interface BadCase {
  name: string;
  body: string | Uint8Array;
  /** a specific 4xx when one is certain (413 for oversized bodies); otherwise any 4xx */
  status?: number;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Bodies above this are refused with 413 by the gateway under test (its MAX_REQUEST_BYTES). */
export const CORPUS_MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const MIB = 1024 * 1024;
const HUGE = 'x'.repeat(2 * MIB);
const DEEP = 100_000;
const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
/** 11 MiB once decoded: over Amazon Q's 10 MiB per image, under the body cap */
const BIG_IMAGE_B64 = 'A'.repeat(Math.ceil((11 * MIB) / 3) * 4);

export function validRequest(dialect: Dialect): Record<string, Json> {
  if (dialect === 'anthropic') {
    return {
      model: 'claude-sonnet-4-5',
      max_tokens: 2048,
      system: 'Be brief.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1PX } }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'sunny' }, { type: 'text', text: '[[fake:plain]] thanks' }] },
      ],
      tools: [{ name: 'get_weather', description: 'Weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      tool_choice: { type: 'auto' },
      temperature: 0.5,
      top_p: 0.9,
      top_k: 5,
      stop_sequences: ['END'],
      metadata: { user_id: 'u-1' },
      thinking: { type: 'enabled', budget_tokens: 1024 },
      stream: false,
    };
  }
  return {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1PX}` } }] },
      { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      { role: 'user', content: '[[fake:plain]] thanks' },
    ],
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    tool_choice: 'auto',
    temperature: 0.5,
    top_p: 0.9,
    max_tokens: 2048,
    stop: ['END'],
    stream: false,
    stream_options: { include_usage: true },
  };
}

/** A copy of `base` with the value at `path` replaced (or removed when `value` is undefined). */
function setPath(base: Record<string, Json>, path: Array<string | number>, value: Json | undefined): Record<string, Json> {
  const copy = structuredClone(base);
  let node: any = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  const last = path.at(-1)!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

const WRONG: Record<string, Json> = { number: 42, float: 1.5, string: 'x', boolean: true, array: [], object: {}, negative: -1 };
/** Values of every JSON type except `allowed` (null is never used: it means "absent" for optional fields). */
function wrongTypes(...allowed: Array<keyof typeof WRONG>): Array<[string, Json]> {
  return Object.entries(WRONG).filter(([k]) => !allowed.includes(k as keyof typeof WRONG) && !(k === 'float' && allowed.includes('number')) && !(k === 'negative' && allowed.includes('number')));
}

interface FieldSpec {
  path: Array<string | number>;
  /** JSON types the field accepts */
  types: Array<keyof typeof WRONG>;
  /** further values of an accepted type that must still be refused */
  bad?: Json[];
  /** also refused when missing */
  required?: boolean;
}

const ANTHROPIC_FIELDS: FieldSpec[] = [
  { path: ['model'], types: ['string'], bad: ['', '   '], required: true },
  { path: ['max_tokens'], types: ['number'], bad: [0, -1, 1.5, -1e300], required: true },
  { path: ['system'], types: ['string', 'array'], bad: [[42], [{ type: 'image' }], [{ type: 'text' }], [{ type: 'text', text: 5 }]] },
  { path: ['messages'], types: ['array'], bad: [[], [42], ['hi'], [null]], required: true },
  { path: ['messages', 0], types: ['object'] },
  { path: ['messages', 0, 'role'], types: ['string'], bad: ['system', 'tool', 'bot', '', 'USER', 'developer', 'function'], required: true },
  { path: ['messages', 0, 'content'], types: ['string', 'array'], bad: [[42], ['hi'], [[]]], required: true },
  { path: ['messages', 0, 'content', 0], types: ['object'] },
  { path: ['messages', 0, 'content', 0, 'type'], types: ['string'], required: true },
  { path: ['messages', 0, 'content', 0, 'text'], types: ['string'], required: true },
  { path: ['messages', 0, 'content', 1, 'source'], types: ['object'], required: true },
  { path: ['messages', 0, 'content', 1, 'source', 'type'], types: ['string'], bad: ['ftp', 'file'], required: true },
  { path: ['messages', 0, 'content', 1, 'source', 'media_type'], types: ['string'], bad: ['image/bmp', 'text/html', ''], required: true },
  { path: ['messages', 0, 'content', 1, 'source', 'data'], types: ['string'], bad: ['!!!not base64!!!', '', 'data:image/png;base64,@@'], required: true },
  { path: ['messages', 1, 'content', 1, 'id'], types: ['string'], required: true },
  { path: ['messages', 1, 'content', 1, 'name'], types: ['string'], required: true },
  { path: ['messages', 1, 'content', 1, 'input'], types: ['object'] },
  { path: ['messages', 2, 'content', 0, 'tool_use_id'], types: ['string'], required: true },
  { path: ['messages', 2, 'content', 0, 'is_error'], types: ['boolean'] },
  { path: ['messages', 2, 'content', 0, 'content'], types: ['string', 'array'], bad: [[42], [{ type: 42 }], [{ type: 'text' }]] },
  { path: ['tools'], types: ['array'], bad: [[42], [{}], [{ name: '' , input_schema: {} }], [{ name: 'x' }], [{ type: 42 }]] },
  { path: ['tools', 0, 'name'], types: ['string'], bad: [''], required: true },
  { path: ['tools', 0, 'input_schema'], types: ['object'], required: true },
  { path: ['tools', 0, 'description'], types: ['string'] },
  { path: ['tool_choice'], types: ['object'], bad: [{ type: 'bogus' }, { type: 'tool' }, { type: 'auto', disable_parallel_tool_use: 'yes' }, {}] },
  { path: ['temperature'], types: ['number'], bad: [2, -0.5, 1e300] },
  { path: ['top_p'], types: ['number'], bad: [1.5, -0.1] },
  { path: ['top_k'], types: ['number'], bad: [-1, 1.5] },
  { path: ['stop_sequences'], types: ['array'], bad: [[1], [null], [{}]] },
  { path: ['metadata'], types: ['object'], bad: [{ user_id: 42 }] },
  { path: ['thinking'], types: ['object'], bad: [{ type: 'on' }, { type: 'enabled' }, { type: 'enabled', budget_tokens: 0 }, { type: 'enabled', budget_tokens: '1' }, {}] },
  { path: ['stream'], types: ['boolean'] },
  { path: ['output_config'], types: ['object'], bad: [{ effort: 'ultra' }, { format: { type: 'xml' } }, { format: { type: 'json_schema' } }] },
];

const OPENAI_FIELDS: FieldSpec[] = [
  { path: ['model'], types: ['string'], bad: ['', '   '], required: true },
  { path: ['messages'], types: ['array'], bad: [[], [42], ['hi'], [null]], required: true },
  { path: ['messages', 0], types: ['object'] },
  { path: ['messages', 1, 'role'], types: ['string'], bad: ['bot', '', 'USER', 'admin', 'model'], required: true },
  { path: ['messages', 1, 'content'], types: ['string', 'array'], bad: [[42], [{ type: 'audio' }], [{ type: 'text' }], [{ type: 'text', text: 5 }]] },
  { path: ['messages', 1, 'content', 1, 'image_url'], types: ['object', 'string'], bad: [{}, { url: 42 }, { url: 'ftp://x/y.png' }, { url: 'data:image/bmp;base64,AAAA' }, { url: 'data:image/png;base64,@@@' }] },
  { path: ['messages', 2, 'tool_calls'], types: ['array'], bad: [[42], [{}], [{ id: 'c', type: 'function' }], [{ id: 'c', type: 'function', function: { name: 42, arguments: '{}' } }]] },
  { path: ['messages', 2, 'tool_calls', 0, 'function', 'arguments'], types: ['string', 'object'] },
  { path: ['messages', 3, 'tool_call_id'], types: ['string'], required: true },
  { path: ['tools'], types: ['array'], bad: [[42], [{}], [{ type: 'retrieval' }], [{ type: 'function' }], [{ type: 'function', function: { name: '' } }]] },
  { path: ['tools', 0, 'function', 'name'], types: ['string'], bad: [''], required: true },
  { path: ['tools', 0, 'function', 'parameters'], types: ['object'] },
  { path: ['tools', 0, 'function', 'description'], types: ['string'] },
  { path: ['tool_choice'], types: ['string', 'object'], bad: ['always', { type: 'function' }, { type: 'function', function: { name: 'nope' } }] },
  { path: ['temperature'], types: ['number'], bad: [3, -1, 1e300] },
  { path: ['top_p'], types: ['number'], bad: [1.5, -0.1] },
  { path: ['frequency_penalty'], types: ['number'], bad: [3, -3] },
  { path: ['presence_penalty'], types: ['number'], bad: [3, -3] },
  { path: ['max_tokens'], types: ['number'], bad: [0, -1, 1.5] },
  { path: ['max_completion_tokens'], types: ['number'], bad: [0, -5, 2.5] },
  { path: ['n'], types: [], bad: [2, 0, 'x'] },
  { path: ['stop'], types: ['string', 'array'], bad: [[1], ['a', 'b', 'c', 'd', 'e'], [null]] },
  { path: ['stream'], types: ['boolean'] },
  { path: ['stream_options'], types: ['object'] },
  { path: ['parallel_tool_calls'], types: ['boolean'] },
  { path: ['response_format'], types: ['object'], bad: [{ type: 'yaml' }, { type: 'json_schema', json_schema: 5 }, {}] },
  { path: ['reasoning_effort'], types: ['string'], bad: ['extreme', ''] },
  { path: ['logprobs'], types: [], bad: [true] },
  { path: ['modalities'], types: [], bad: [['audio']] },
  { path: ['functions'], types: [], bad: [[{ name: 'f' }]] },
];

function fieldCases(dialect: Dialect): BadCase[] {
  const base = validRequest(dialect);
  const out: BadCase[] = [];
  for (const spec of dialect === 'anthropic' ? ANTHROPIC_FIELDS : OPENAI_FIELDS) {
    const where = spec.path.join('.');
    for (const [kind, value] of spec.types.length === 0 ? [] : wrongTypes(...spec.types)) {
      out.push({ name: `${where} = ${kind}`, body: JSON.stringify(setPath(base, spec.path, value)) });
    }
    for (const value of spec.bad ?? []) out.push({ name: `${where} = ${JSON.stringify(value).slice(0, 60)}`, body: JSON.stringify(setPath(base, spec.path, value)) });
    if (spec.required) out.push({ name: `${where} missing`, body: JSON.stringify(setPath(base, spec.path, undefined)) });
  }
  return out;
}

function brokenJson(dialect: Dialect): BadCase[] {
  const text = JSON.stringify(validRequest(dialect));
  const out: BadCase[] = [];
  // Cut off at 40 points spread over the body (every prefix of a JSON object is invalid JSON).
  for (let i = 0; i < 40; i++) {
    const at = Math.max(1, Math.floor((text.length * i) / 40));
    out.push({ name: `truncated at ${at}`, body: text.slice(0, at) });
  }
  const raw: Array<[string, string]> = [
    ['empty body', ''],
    ['whitespace', '   \n\t '],
    ['null', 'null'],
    ['array', '[]'],
    ['string', '"hello"'],
    ['number', '42'],
    ['true', 'true'],
    ['trailing garbage', `${text}garbage`],
    ['two objects', `${text}${text}`],
    ['trailing comma', text.replace(/}$/, ',}')],
    ['single quotes', text.replace(/"/g, "'")],
    ['NaN', text.replace(/"temperature":0\.5/, '"temperature":NaN')],
    ['Infinity', text.replace(/"temperature":0\.5/, '"temperature":Infinity')],
    ['comment', `/* c */${text}`],
    ['unquoted keys', text.replace(/"model"/, 'model')],
    ['control char in string', text.replace('hi', 'h\u0001i')],
    ['bad escape', text.replace('hi', 'h\\qi')],
    ['lone backslash', text.replace('hi', 'hi\\')],
    ['form data', 'model=x&messages=y'],
    ['xml', '<request><model>x</model></request>'],
  ];
  for (const [name, body] of raw) out.push({ name, body });
  return out;
}

function invalidUtf8(dialect: Dialect): BadCase[] {
  const text = JSON.stringify(validRequest(dialect));
  const at = text.indexOf('hi') + 1;
  const enc = new TextEncoder();
  const withBytes = (bytes: number[]) => {
    const head = enc.encode(text.slice(0, at));
    const tail = enc.encode(text.slice(at));
    return Uint8Array.from([...head, ...bytes, ...tail]);
  };
  return [
    ['0xff', [0xff]],
    ['0xfe 0xff', [0xfe, 0xff]],
    ['overlong slash', [0xc0, 0xaf]],
    ['truncated 3-byte', [0xe2, 0x82]],
    ['lone continuation', [0x80]],
    ['UTF-16 surrogate as UTF-8', [0xed, 0xa0, 0x80]],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['latin-1 é', [0xe9]],
  ].map(([name, bytes]) => ({ name: `invalid UTF-8: ${name as string}`, body: withBytes(bytes as number[]) }));
}

function hostile(dialect: Dialect): BadCase[] {
  const base = validRequest(dialect);
  const a = dialect === 'anthropic';
  const out: BadCase[] = [];
  const with_ = (path: Array<string | number>, value: Json | undefined) => JSON.stringify(setPath(base, path, value));
  // huge strings where no string that long can be right (a huge prompt is legitimate up to the cap)
  out.push({ name: 'huge role', body: with_(a ? ['messages', 0, 'role'] : ['messages', 1, 'role'], HUGE) });
  // (an unknown Anthropic block type is dropped with a warning by design, so the huge string goes where it cannot be)
  out.push({ name: 'huge source type', body: with_(a ? ['messages', 0, 'content', 1, 'source', 'type'] : ['messages', 1, 'content', 0, 'type'], HUGE) });
  out.push({ name: 'huge model name', body: with_(['model'], HUGE) });
  out.push({ name: a ? 'huge media_type' : 'huge tool type', body: with_(a ? ['messages', 0, 'content', 1, 'source', 'media_type'] : ['tools', 0, 'type'], HUGE) });
  out.push({ name: a ? 'huge tool_choice type' : 'huge reasoning_effort', body: with_(a ? ['tool_choice', 'type'] : ['reasoning_effort'], HUGE) });
  out.push({ name: 'body over MAX_REQUEST_BYTES', body: with_(a ? ['system'] : ['messages', 0, 'content'], 'y'.repeat(CORPUS_MAX_REQUEST_BYTES + 1024)), status: 413 });
  // deep nesting, as the whole body and inside fields that take objects
  const deepArray = '['.repeat(DEEP) + ']'.repeat(DEEP);
  const deepObject = '{"a":'.repeat(DEEP) + '1' + '}'.repeat(DEEP);
  out.push({ name: 'deep array body', body: deepArray });
  out.push({ name: 'deep object body', body: deepObject });
  const text = JSON.stringify(base);
  out.push({ name: 'deep messages', body: text.replace(/"messages":\[/, `"messages":[${'['.repeat(DEEP)}${']'.repeat(DEEP)},`) });
  out.push({ name: 'deep tool schema', body: text.replace(/"properties":\{"city":\{"type":"string"\}\}/, `"properties":${deepObject}`) });
  out.push({ name: 'deep metadata', body: text.replace(/}$/, `,"metadata_x":${deepObject}}`) });
  out.push({ name: 'deep tool input', body: a ? text.replace('"input":{"city":"Paris"}', `"input":${deepObject}`) : text.replace(/"stream":false/, `"stream":false,"extra":${deepArray}`) });
  // 10,000 tools
  const tools: Json[] = Array.from({ length: 10_000 }, (_, i): Json =>
    a ? { name: `tool_${i}`, description: 'd', input_schema: { type: 'object', properties: {} } } : { type: 'function', function: { name: `tool_${i}`, description: 'd', parameters: { type: 'object' } } },
  );
  out.push({ name: '10,000 tools', body: with_(['tools'], tools) });
  // oversized images
  out.push({
    name: 'image over 10 MiB',
    body: a
      ? with_(['messages', 0, 'content', 1, 'source', 'data'], BIG_IMAGE_B64)
      : with_(['messages', 1, 'content', 1, 'image_url', 'url'], `data:image/png;base64,${BIG_IMAGE_B64}`),
  });
  // prototype-pollution keys: the request is invalid; the keys must not make it look valid
  const pollute = (extra: string) => text.replace(/^\{/, `{${extra},`);
  out.push({ name: '__proto__ supplies model', body: JSON.stringify(setPath(base, ['model'], undefined)).replace(/^\{/, '{"__proto__":{"model":"claude-sonnet-4-5"},') });
  out.push({ name: 'constructor.prototype supplies messages', body: JSON.stringify(setPath(base, ['messages'], undefined)).replace(/^\{/, '{"constructor":{"prototype":{"messages":[]}},') });
  out.push({ name: '__proto__ as a message', body: text.replace(/"messages":\[/, '"messages":[{"__proto__":{"role":"user","content":"hi"}},') });
  out.push({ name: '__proto__ role', body: with_(a ? ['messages', 0, 'role'] : ['messages', 1, 'role'], '__proto__') });
  out.push({ name: 'constructor role', body: with_(a ? ['messages', 0, 'role'] : ['messages', 1, 'role'], 'constructor') });
  out.push({ name: '__proto__ tool_choice', body: with_(['tool_choice'], a ? { type: '__proto__' } : '__proto__') });
  out.push(
    a
      ? { name: '__proto__ supplies max_tokens', body: pollute('"__proto__":{"max_tokens":5}').replace(/"max_tokens":2048,?/, '') }
      : { name: '__proto__ supplies tool_call_id', body: text.replace('"tool_call_id":"call_1",', '"__proto__":{"tool_call_id":"call_1"},') },
  );
  out.push({ name: '__proto__ with a bad model', body: pollute('"__proto__":{"toString":"x","valueOf":1}').replace('"model":"', '"model":42,"x":"') });
  return out;
}

export function corpus(dialect: Dialect): BadCase[] {
  return [...brokenJson(dialect), ...fieldCases(dialect), ...invalidUtf8(dialect), ...hostile(dialect)];
}
