// Path-aware readers for untrusted request JSON: each failure is a 400 GatewayError whose `param`
// names the field (`messages.3.content.1.source`), worded like Anthropic's own validation errors.

import { GatewayError } from '../../http/errors';

export type JsonObject = Record<string, unknown>;

export function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', param ? `${param}: ${message}` : message, { param: param || undefined });
}

export function join(param: string, key: string | number): string {
  return param ? `${param}.${key}` : String(key);
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asObject(v: unknown, param: string): JsonObject {
  if (!isObject(v)) throw invalid(param, 'Input should be a valid dictionary');
  return v;
}

export function asArray(v: unknown, param: string): unknown[] {
  if (!Array.isArray(v)) throw invalid(param, 'Input should be a valid list');
  return v;
}

export function requiredString(o: JsonObject, key: string, param: string): string {
  const v = o[key];
  if (v === undefined || v === null) throw invalid(join(param, key), 'Field required');
  if (typeof v !== 'string') throw invalid(join(param, key), 'Input should be a valid string');
  return v;
}

export function optionalString(o: JsonObject, key: string, param: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(join(param, key), 'Input should be a valid string');
  return v;
}

export function optionalBoolean(o: JsonObject, key: string, param: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(join(param, key), 'Input should be a valid boolean');
  return v;
}

export function optionalNumber(o: JsonObject, key: string, param: string, min?: number, max?: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(join(param, key), 'Input should be a valid number');
  if (min !== undefined && v < min) throw invalid(join(param, key), `Input should be greater than or equal to ${min}`);
  if (max !== undefined && v > max) throw invalid(join(param, key), `Input should be less than or equal to ${max}`);
  return v;
}

export function optionalInteger(o: JsonObject, key: string, param: string, min?: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(join(param, key), 'Input should be a valid integer');
  if (min !== undefined && v < min) throw invalid(join(param, key), `Input should be greater than or equal to ${min}`);
  return v;
}

export function oneOf<T extends string>(o: JsonObject, key: string, param: string, allowed: readonly T[]): T {
  const v = o[key];
  if (v === undefined || v === null) throw invalid(join(param, key), 'Field required');
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    const list = allowed.map((a) => `'${a}'`);
    const words = list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list.at(-1)}` : list[0];
    throw invalid(join(param, key), `Input should be ${words}`);
  }
  return v as T;
}
