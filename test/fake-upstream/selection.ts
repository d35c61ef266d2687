// Scenario specs and their arguments (§6.3): `name:k=v,k=v` in the x-fake-scenario header,
// `[[fake:NAME:k=v]]` prompt markers, queue entries; typed, validated access to the args.

export class ScenarioArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioArgError';
  }
}

/** Typed view of a scenario's `k=v` arguments; a malformed value is a loud test error. */
export class ScenarioArgs {
  private readonly values: ReadonlyMap<string, string>;

  constructor(values: Iterable<[string, string]> = []) {
    this.values = new Map(values);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  str(key: string, fallback: string): string;
  str(key: string): string | undefined;
  str(key: string, fallback?: string): string | undefined {
    return this.values.get(key) ?? fallback;
  }

  int(key: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.values.get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ScenarioArgError(`arg ${key}=${raw}: expected an integer in [${min}, ${max}]`);
    return n;
  }

  num(key: string, fallback: number): number {
    const raw = this.values.get(key);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new ScenarioArgError(`arg ${key}=${raw}: expected a number`);
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const raw = this.values.get(key);
    if (raw === undefined) return fallback;
    if (raw === '1' || raw === 'true') return true;
    if (raw === '0' || raw === 'false') return false;
    throw new ScenarioArgError(`arg ${key}=${raw}: expected 0|1|true|false`);
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const raw = this.values.get(key);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) throw new ScenarioArgError(`arg ${key}=${raw}: expected ${allowed.join('|')}`);
    return raw as T;
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this.values);
  }
}

export type SpecSource = 'queue' | 'header' | 'marker' | 'default';

export interface ScenarioSpec {
  name: string;
  args: ScenarioArgs;
  /** key of the scenario's stateful counters: `id` arg, else the spec text (§6.3) */
  id: string;
  source: SpecSource;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ScenarioArgError(`bad URL encoding in scenario arg: ${part}`);
  }
}

/** `k=v,k=v`; keys and values may be URL-encoded (needed when they contain `,` `]` `=`). */
export function parseArgList(text: string): Array<[string, string]> {
  if (text === '') return [];
  return text.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    // A bare `k` means `k=1`, handy for flags.
    if (eq < 0) return [decode(pair.trim()), '1'] as [string, string];
    return [decode(pair.slice(0, eq).trim()), decode(pair.slice(eq + 1))] as [string, string];
  });
}

const NAME = /^[A-Za-z0-9_]+$/;

/** `name` or `name:k=v,k=v` (header form, queue-less) */
export function parseSpec(text: string, source: SpecSource, idFallback = text): ScenarioSpec {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const name = colon < 0 ? trimmed : trimmed.slice(0, colon);
  if (!NAME.test(name)) throw new ScenarioArgError(`bad scenario name: ${JSON.stringify(name)}`);
  const args = new ScenarioArgs(colon < 0 ? [] : parseArgList(trimmed.slice(colon + 1)));
  return { name, args, id: args.str('id') ?? idFallback, source };
}

export function specFromObject(name: string, args: Record<string, unknown>, source: SpecSource, idFallback: string): ScenarioSpec {
  if (!NAME.test(name)) throw new ScenarioArgError(`bad scenario name: ${JSON.stringify(name)}`);
  const entries: Array<[string, string]> = Object.entries(args).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
  const parsed = new ScenarioArgs(entries);
  return { name, args: parsed, id: parsed.str('id') ?? idFallback, source };
}

const MARKER = /\[\[fake:([A-Za-z0-9_]+)(?::([^\]]*))?\]\]/;
const MARKERS = /\[\[fake:[A-Za-z0-9_]+(?::[^\]]*)?\]\]/g;

/** The first `[[fake:NAME(:args)]]` marker in a prompt; its full text is the default counter id. */
export function findMarker(content: string): ScenarioSpec | null {
  const m = MARKER.exec(content);
  if (!m) return null;
  const args = new ScenarioArgs(parseArgList(m[2] ?? ''));
  return { name: m[1]!, args, id: args.str('id') ?? m[0], source: 'marker' };
}

/** The prompt as the model would "see" it (echo scenario). */
export function stripMarkers(content: string): string {
  return content.replace(MARKERS, '').trim();
}
