import { CredentialInputError } from './credential-errors';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Asserts that `value` is a JSON object (plain objects, arrays, strings, finite numbers, booleans,
 * null all the way down), so that what is signed is exactly what a JSON parser reads back.
 * `forbiddenKeys` are rejected at any depth (e.g. the SD-JWT digest keys `_sd` and `...`).
 */
export function assertJsonObject(
  value: unknown,
  path: string,
  forbiddenKeys: ReadonlySet<string> = new Set(),
): asserts value is JsonObject {
  if (!isPlainObject(value)) throw new CredentialInputError('invalid_claims', 'must be a JSON object', path);
  walk(value, path, forbiddenKeys);
}

function walk(value: unknown, path: string, forbidden: ReadonlySet<string>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CredentialInputError('invalid_claims', 'numbers must be finite', path);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, `${path}.${i}`, forbidden));
    return;
  }
  if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (forbidden.has(key)) throw new CredentialInputError('reserved_claim', `"${key}" is reserved`, `${path}.${key}`);
      walk(item, `${path}.${key}`, forbidden);
    }
    return;
  }
  throw new CredentialInputError('invalid_claims', `a ${typeof value} is not a JSON value`, path);
}
