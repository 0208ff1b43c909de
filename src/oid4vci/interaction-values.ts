import type { InteractionConfig } from '../config/file-schema';

/**
 * Seed 002 `WebhookCredentialValuesDTO` (docs/conventions.md, Interactions): a credential as the
 * third party sees it, every field value a string.
 */
export interface WebhookCredentialValues {
  credentialId: string;
  schemaId: string;
  fields: { name: string; value: string }[];
}

const DAY_MS = 86_400_000;

/** A document's top-level claims as seed 002 strings: Date fields as seconds since the epoch, objects as JSON. */
export function credentialValues(documentData: Record<string, unknown>, fields: InteractionConfig['fields']): { name: string; value: string }[] {
  return Object.entries(documentData).map(([name, value]) => {
    if (fields[name] === 'Date' && typeof value === 'string' && !Number.isNaN(Date.parse(value))) return { name, value: String(Math.floor(Date.parse(value) / 1000)) };
    return { name, value: typeof value === 'string' ? value : JSON.stringify(value) };
  });
}

export type CastResult = { ok: true; claims: Record<string, unknown> } | { ok: false; error: string };

/**
 * The third party's fields cast to the type's schema (seed 002: "Actual value types will be casted
 * on credential issue according to the credential schema attribute types"): Text as it is; Date =
 * seconds since the epoch, issued as `YYYY-MM-DD`; Number with '.' as decimal point; Enumeration a
 * non-negative integer. A field the schema does not name, or a value that does not parse, refuses the answer.
 */
export function castCredentialValues(values: unknown, fields: InteractionConfig['fields']): CastResult {
  if (!Array.isArray(values)) return { ok: false, error: 'fields must be an array of {name, value}' };
  const claims: Record<string, unknown> = {};
  for (const field of values as unknown[]) {
    const { name, value } = (field ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || typeof value !== 'string') return { ok: false, error: 'each field is {name: string, value: string}' };
    const type = Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (!type) return { ok: false, error: `field "${name}" is not in the credential schema` };
    switch (type) {
      case 'Text':
        claims[name] = value;
        break;
      case 'Date': {
        if (!/^-?\d{1,12}$/.test(value)) return { ok: false, error: `field "${name}" (Date) must be seconds since the epoch` };
        const ms = Number(value) * 1000;
        claims[name] = new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
        break;
      }
      case 'Number':
        if (!/^-?\d+(\.\d+)?$/.test(value)) return { ok: false, error: `field "${name}" (Number) must be a number with '.' as decimal point` };
        claims[name] = Number(value);
        break;
      case 'Enumeration':
        if (!/^\d{1,9}$/.test(value)) return { ok: false, error: `field "${name}" (Enumeration) must be a numeric value such as "0"` };
        claims[name] = Number(value);
        break;
      default:
        return { ok: false, error: `unknown type ${(type satisfies never) as string}` };
    }
  }
  return { ok: true, claims };
}

/** Seed 002: "if third-party system wants postpone the issuing of a credential back to a user, then it should return credentials with empty fields". */
export function isPostponement(credentials: unknown): boolean {
  if (!Array.isArray(credentials) || credentials.length === 0) return true;
  return credentials.every((c) => {
    const fields = (c as { fields?: unknown } | null)?.fields;
    return !Array.isArray(fields) || fields.length === 0;
  });
}

/** The credential of `schemaId` in an answer's `issuedCredentials` (or the only one). */
export function credentialOfSchema(credentials: unknown, schemaId: string): { fields?: unknown } | undefined {
  if (!Array.isArray(credentials)) return undefined;
  const list = credentials as { schemaId?: unknown; fields?: unknown }[];
  return list.find((c) => c?.schemaId === schemaId) ?? (list.length === 1 ? list[0] : undefined);
}
