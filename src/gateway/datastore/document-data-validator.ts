import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Config } from '../../config/config';
import { ConfigError } from '../../config/env';
import type { ClaimPath, LoadedVctm } from '../../credentials/vctm';

/** Field errors reported for one document at most; the rest are summed up in one more entry. */
export const MAX_FIELD_ERRORS = 20;

export interface FieldError {
  path: string;
  message: string;
}

/**
 * Validates `document_data` against the credential type's type metadata (VCTM): its JSON Schema
 * (`schema`, SD-JWT VC type metadata drafts) and every claim marked `mandatory`. Built once at
 * boot; a VCTM that does not parse or whose schema does not compile fails the boot.
 */
export function createDocumentDataValidator(config: Config): (vct: string, data: Record<string, unknown>) => FieldError[] {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const byVct = new Map<string, { vctm: LoadedVctm; schema?: ValidateFunction }>();
  for (const [vct, type] of config.credentialTypes) {
    if (!type.vctm) continue;
    let schema: ValidateFunction | undefined;
    try {
      schema = type.vctm.metadata.schema ? ajv.compile(type.vctm.metadata.schema) : undefined;
    } catch (err) {
      throw new ConfigError(`${type.vctmPath}: schema does not compile: ${(err as Error).message}`);
    }
    byVct.set(vct, { vctm: type.vctm, ...(schema ? { schema } : {}) });
  }

  return (vct, data) => {
    const entry = byVct.get(vct);
    if (!entry) return [];
    const errors: FieldError[] = [];
    for (const claim of entry.vctm.metadata.claims ?? []) {
      if (claim.mandatory && !hasPath(data, claim.path)) errors.push({ path: `document_data.${claim.path.join('.')}`, message: 'is mandatory for this credential type' });
    }
    if (entry.schema && !entry.schema(data)) {
      const all = entry.schema.errors ?? [];
      for (const e of all) {
        if (errors.length >= MAX_FIELD_ERRORS) {
          errors.push({ path: 'document_data', message: `and ${all.length - all.indexOf(e)} more schema errors, not listed` });
          break;
        }
        // Ajv reports a missing property at its parent; point at the property itself.
        const missing = e.keyword === 'required' ? `/${String((e.params as { missingProperty: string }).missingProperty)}` : '';
        const pointer = `${e.instancePath}${missing}`.split('/').filter(Boolean).join('.');
        const path = `document_data${pointer ? `.${pointer}` : ''}`;
        if (e.keyword === 'required' && errors.some((x) => x.path === path)) continue;
        errors.push({ path, message: e.message ?? 'is invalid' });
      }
    }
    return errors;
  };
}

/** True when some value exists at `path` (null selects every array element, as in VCTM claim paths). */
function hasPath(value: unknown, path: ClaimPath): boolean {
  const [head, ...rest] = path;
  if (head === undefined) return value !== undefined && value !== null;
  if (head === null) return Array.isArray(value) && value.length > 0 && value.every((v) => hasPath(v, rest));
  if (typeof head === 'number') return Array.isArray(value) && hasPath(value[head], rest);
  return typeof value === 'object' && value !== null && !Array.isArray(value) && hasPath((value as Record<string, unknown>)[head], rest);
}
