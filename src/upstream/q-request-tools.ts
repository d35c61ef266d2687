// Tool-side helpers of the Q request builder: upstream-safe tool names and toolUseIds, tool input
// documents and JSON-schema cleaning (upstream-protocol.md §2.5 rules 4–6, peers.md §3.2). Pure.

import type { ToolChoice, ToolDefinition } from '../dialects/conversation';

/** Q (like Bedrock's toolSpec) rejects names over 64 characters (§2.5 rule 4; 9router PR #1375). */
export const MAX_TOOL_NAME = 64;
/** Descriptions of ≳10 000 characters fail (§2.5 rule 4: kiro-gateway's limit; AIClient cuts at 9 216). */
export const MAX_TOOL_DESCRIPTION = 10_000;
/** Characters Q accepts in a tool name (Bedrock toolSpec pattern, which Q forwards to). */
const TOOL_NAME_OK = /^[A-Za-z0-9_-]{1,64}$/;
/** §2.5 rule 5: toolUseIds must look like this; real ones are `tooluse_` + 22 base64url chars. */
const TOOL_USE_ID_OK = /^[A-Za-z0-9_-]{1,64}$/;
/** Hex digits of the hash in an alias: 32 bits, and aliases are checked for collisions anyway. */
const ALIAS_HASH_CHARS = 8;
/** Nesting beyond this is cut to `{}`: real tool schemas are shallow; it bounds `$ref` expansion. */
const MAX_SCHEMA_DEPTH = 24;
/** Appended to a truncated description (the full text goes to the system prompt). */
const TRUNCATION_NOTE = '\n\n…(truncated; the full description is in the Tool documentation section of the system prompt)';

/**
 * Keywords dropped everywhere in a schema: meta keys Q does not need ($schema, $id…), references
 * (resolved inline first), conditionals and keywords proxies found rejected (9router PR #1375,
 * opencode-kiro-auth#115). Dropping them only loosens the schema, never breaks a valid call.
 */
const DROPPED_SCHEMA_KEYS = new Set([
  '$schema', '$id', '$ref', '$defs', 'definitions', '$comment', '$anchor', '$dynamicRef', '$dynamicAnchor', '$vocabulary',
  'additionalProperties', 'patternProperties', 'unevaluatedProperties', 'unevaluatedItems', 'propertyNames',
  'dependentSchemas', 'dependentRequired', 'if', 'then', 'else', 'not', 'contentEncoding', 'contentMediaType',
]);
const COMBINATORS = ['allOf', 'anyOf', 'oneOf'] as const;

type JsonObject = Record<string, unknown>;

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** 64-bit wyhash in base 36: deterministic across processes, so aliases and ids stay stable per conversation. */
function hash36(text: string): string {
  return Bun.hash(text).toString(36);
}

/** A toolUseId Q accepts: valid ids pass; others (dots, over 64 chars, empty) get a stable derived id. */
export function upstreamToolUseId(clientId: string): string {
  return TOOL_USE_ID_OK.test(clientId) ? clientId : `tooluse_q${hash36(`toolUseId:${clientId}`)}`;
}

/**
 * Gives every client tool name an upstream name, the same one in tool specs and history toolUses.
 * Invalid names become `<sanitised prefix>_<hash>`; `aliases` maps them back (upstream → client).
 */
export class ToolNamer {
  readonly aliases = new Map<string, string>();
  readonly #byClient = new Map<string, string>();
  readonly #taken = new Set<string>();

  constructor(reserved: Iterable<string>) {
    // Valid client names are sent as they are: no alias may take one of them.
    for (const n of reserved) if (TOOL_NAME_OK.test(n)) this.#taken.add(n.toLowerCase());
  }

  upstream(clientName: string): string {
    const known = this.#byClient.get(clientName);
    if (known !== undefined) return known;
    let name = clientName;
    if (!TOOL_NAME_OK.test(clientName)) {
      const prefix = clientName.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_TOOL_NAME - 1 - ALIAS_HASH_CHARS) || 'tool';
      // Kiro matches tool names case-insensitively (kiro.rs), so uniqueness is checked that way; the
      // salt loop only runs on a 32-bit collision.
      for (let salt = 0; ; salt++) {
        const h = Bun.hash(`${salt}:${clientName}`).toString(16).padStart(16, '0').slice(0, ALIAS_HASH_CHARS);
        name = `${prefix}_${h}`;
        if (!this.#taken.has(name.toLowerCase())) break;
      }
      this.aliases.set(name, clientName);
    }
    this.#taken.add(name.toLowerCase());
    this.#byClient.set(clientName, name);
    return name;
  }
}

/** Removes nulls (object keys and array elements) from a JSON document: Q rejects JSON nulls (§2.5 rule 6). */
export function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== null && v !== undefined).map(stripNulls);
  if (isPlainObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = stripNulls(v);
    return out;
  }
  return value;
}

/** `toolUses[].input` must be a JSON object: objects pass, JSON-object strings are parsed, the rest is wrapped. */
export function toolInputObject(input: unknown): JsonObject {
  if (input === null || input === undefined) return {};
  if (typeof input === 'string') {
    try {
      const parsed: unknown = JSON.parse(input);
      if (isPlainObject(parsed)) return stripNulls(parsed) as JsonObject;
    } catch {
      // not JSON: wrapped below
    }
  }
  if (isPlainObject(input)) return stripNulls(input) as JsonObject;
  return { value: stripNulls(input) };
}

/** Resolves a local `#/$defs/X` or `#/definitions/X` reference against the root, or undefined. */
function resolveRef(ref: unknown, root: JsonObject): JsonObject | undefined {
  if (typeof ref !== 'string') return undefined;
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m) return undefined;
  const defs = root[m[1]!];
  const name = m[2]!.replace(/~1/g, '/').replace(/~0/g, '~');
  const target = isPlainObject(defs) ? defs[name] : undefined;
  return isPlainObject(target) ? target : undefined;
}

/** Cleans one sub-schema: refs inlined, dropped keys removed, nulls and empty arrays gone. */
function cleanNode(node: unknown, root: JsonObject, depth: number, refs: readonly string[]): JsonObject {
  if (!isPlainObject(node) || depth > MAX_SCHEMA_DEPTH) return {};
  if (node.$ref !== undefined) {
    const ref = String(node.$ref);
    const target = refs.includes(ref) ? undefined : resolveRef(node.$ref, root);
    // A cycle or an unresolvable reference becomes "anything" — permissive, never invalid.
    const merged = target ? { ...target, ...node, $ref: undefined } : { ...node, $ref: undefined };
    return cleanNode(merged, root, depth + 1, target ? [...refs, ref] : refs);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (value === null || value === undefined || DROPPED_SCHEMA_KEYS.has(key)) continue;
    if (key === 'properties') {
      if (!isPlainObject(value)) continue;
      // Property names are data, not keywords: keep every name, clean every value.
      const props: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) props[name] = cleanNode(sub, root, depth + 1, refs);
      out.properties = props;
    } else if (key === 'items') {
      if (Array.isArray(value)) {
        const items = value.map((v) => cleanNode(v, root, depth + 1, refs));
        if (items.length > 0) out.items = items;
      } else out.items = cleanNode(value, root, depth + 1, refs);
    } else if ((COMBINATORS as readonly string[]).includes(key)) {
      if (!Array.isArray(value)) continue;
      const branches = value.map((v) => cleanNode(v, root, depth + 1, refs));
      if (branches.length > 0) out[key] = branches;
    } else if (key === 'required') {
      const req = Array.isArray(value) ? [...new Set(value.filter((v): v is string => typeof v === 'string'))] : [];
      if (req.length > 0) out.required = req;
    } else if (key === 'type') {
      if (typeof value === 'string' && value !== '') out.type = value;
      else if (Array.isArray(value)) {
        const types = value.filter((v): v is string => typeof v === 'string' && v !== '');
        if (types.length > 0) out.type = types;
      }
    } else {
      const v = stripNulls(value);
      if (!(Array.isArray(v) && v.length === 0)) out[key] = v;
    }
  }
  return out;
}

/**
 * Merges top-level combinators into one object schema (§2.5 rule 4: Q rejects them at the top):
 * `allOf` → union of properties and of required; `anyOf`/`oneOf` → union of properties, required
 * only what every branch requires. Non-object branches carry no properties and are ignored.
 */
function flattenTop(schema: JsonObject): JsonObject {
  const out: JsonObject = { ...schema };
  const props: JsonObject = isPlainObject(out.properties) ? { ...out.properties } : {};
  const required = new Set<string>(Array.isArray(out.required) ? (out.required as string[]) : []);
  for (const key of COMBINATORS) {
    const branches = out[key];
    delete out[key];
    if (!Array.isArray(branches)) continue;
    const objects = (branches as unknown[]).filter(isPlainObject).map(flattenTop);
    let common: Set<string> | undefined;
    for (const b of objects) {
      if (isPlainObject(b.properties)) for (const [k, v] of Object.entries(b.properties)) props[k] ??= v;
      const req = Array.isArray(b.required) ? (b.required as string[]) : [];
      if (key === 'allOf') for (const r of req) required.add(r);
      else common = common === undefined ? new Set(req) : new Set(req.filter((r) => common!.has(r)));
    }
    // A branch that is not an object schema requires nothing, so nothing is common to all.
    if (key !== 'allOf' && common !== undefined && objects.length === branches.length) for (const r of common) required.add(r);
  }
  out.properties = props;
  const req = [...required];
  if (req.length > 0) out.required = req;
  else delete out.required;
  return out;
}

/** The `inputSchema.json` Q accepts: an object schema, no top-level combinators, no nulls. */
export function cleanToolSchema(schema: unknown): JsonObject {
  const root = isPlainObject(schema) ? schema : {};
  const { type: _declared, ...rest } = flattenTop(cleanNode(root, root, 0, []));
  // Tool input is always an object, whatever the client declared; keywords of other types go.
  for (const k of ['items', 'enum', 'const', 'format', 'pattern', 'minLength', 'maxLength'] as const) delete rest[k];
  return { type: 'object', ...rest };
}

export interface ToolSpecResult {
  spec: { toolSpecification: { name: string; description: string; inputSchema: { json: JsonObject } } };
  /** the full description when it had to be truncated */
  fullDescription?: string;
}

/** One client tool as a Q toolSpecification, its description cut to MAX_TOOL_DESCRIPTION when needed. */
export function toolSpec(tool: ToolDefinition, upstreamName: string): ToolSpecResult {
  const description = tool.description.trim() === '' ? tool.name || upstreamName : tool.description;
  let sent = description;
  let fullDescription: string | undefined;
  if (description.length > MAX_TOOL_DESCRIPTION) {
    let cut = description.slice(0, MAX_TOOL_DESCRIPTION - TRUNCATION_NOTE.length);
    // never leave half a surrogate pair at the cut
    if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
    sent = cut + TRUNCATION_NOTE;
    fullDescription = description;
  }
  const spec = { toolSpecification: { name: upstreamName, description: sent, inputSchema: { json: cleanToolSchema(tool.inputSchema) } } };
  return fullDescription === undefined ? { spec } : { spec, fullDescription };
}

/** Description of a stub spec: the tool was used earlier but is not offered now. */
export const STUB_TOOL_DESCRIPTION = 'A tool used earlier in this conversation. It is not available now: do not call it.';

/** Q rejects history toolUses whose name has no spec (CLIProxyAPIPlus #73): a minimal stand-in. */
export function stubToolSpec(upstreamName: string): ToolSpecResult['spec'] {
  return { toolSpecification: { name: upstreamName, description: STUB_TOOL_DESCRIPTION, inputSchema: { json: { type: 'object', properties: {} } } } };
}

/**
 * Q has no tool_choice: the choice becomes an instruction at the end of the user turn (peers.md
 * §5.1 "degrade explicitly"). `any`/`tool` only make sense when tools are offered.
 */
export function toolChoiceInstruction(choice: ToolChoice, namer: ToolNamer, toolsOffered: boolean): string | undefined {
  switch (choice.type) {
    case 'auto':
      return undefined;
    case 'none':
      return 'Do not call any tool in this response. Answer with text only.';
    case 'any':
      return toolsOffered ? 'You must call at least one of the available tools in this response.' : undefined;
    case 'tool':
      return toolsOffered ? `You must call the tool "${namer.upstream(choice.name)}" in this response.` : undefined;
  }
}
