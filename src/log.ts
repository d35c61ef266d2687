// Structured JSON-lines logger. Secrets never reach a line: values under secret-looking keys are masked.

import type { LogLevel } from './config';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /(token|secret|password|authorization|api[-_]?key|admin[-_]?key|master[-_]?key|cookie)/i;

/** Masks a secret for display: the first 3 and last 4 characters, e.g. `aor…c3f9`. */
export function maskSecret(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return value ?? null;
  if (value.length <= 10) return '…';
  return `${value.slice(0, 3)}…${value.slice(-4)}`;
}

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && typeof v === 'string' ? maskSecret(v) : scrub(v, depth + 1);
  }
  return out;
}

export function createLogger(
  level: LogLevel,
  sink: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  clock: () => number = Date.now,
  base: LogFields = {},
): Logger {
  const min = ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < min) return;
    const record = scrub({ ...base, ...fields }) as LogFields;
    sink(JSON.stringify({ time: new Date(clock()).toISOString(), level: lvl, msg, ...record }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, sink, clock, { ...base, ...fields }),
  };
}
