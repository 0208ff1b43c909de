import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Config } from '../config/config';
import type { KycConfig, KycTemplateConfig } from '../config/file-schema';
import type { KycAttribute } from '../db/kyc-repository';
import type { KycFileTypeName } from './file-types';

/** A resolved file reference inside an attribute value. */
export const FILE_REF = /^file:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export interface AttributeProblem {
  path: string;
  message: string;
}

export interface KycTemplate {
  id: string;
  config: KycTemplateConfig;
  /** The owning authentic source of the template's credential type (its documents are stored there). */
  authenticSource: string;
  /** JSON Schema (2020-12) of the template's attributes, keyed by attribute id (`GET /kyc/templates/:id/schema.json`). */
  schema: Record<string, unknown>;
  validate: ValidateFunction;
}

/** Every file id referenced (as `file:<id>`) anywhere in a value. */
export function fileRefsIn(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string') {
    const m = FILE_REF.exec(value);
    if (m) found.push(m[1]!);
  } else if (Array.isArray(value)) value.forEach((v) => fileRefsIn(v, found));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => fileRefsIn(v, found));
  return found;
}

/** Replaces every string that `resolve` maps (a part name like `$document-1`, or a fileId) with `file:<fileId>`. */
export function resolveFileRefs(value: unknown, resolve: (s: string) => string | undefined): unknown {
  if (typeof value === 'string') {
    const id = resolve(value);
    return id ? `file:${id}` : value;
  }
  if (Array.isArray(value)) return value.map((v) => resolveFileRefs(v, resolve));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveFileRefs(v, resolve)]));
  return value;
}

/**
 * The configured KYC templates (`kyc.templates`), their JSON Schemas compiled once with ajv, and
 * the checks every endpoint and the onboarding activities share.
 */
export function createKycTemplates(config: Config) {
  const kyc: KycConfig | undefined = config.file.kyc;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const templates = new Map<string, KycTemplate>();
  /** Attribute id → the validator of its value (the first template's, when templates share an attribute). */
  const attributeValidators = new Map<string, ValidateFunction>();
  for (const [id, template] of Object.entries(kyc?.templates ?? {})) {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: template.name,
      type: 'object',
      properties: Object.fromEntries(template.attributes.map((a) => [a.id, a.schema])),
      required: template.attributes.filter((a) => a.required).map((a) => a.id),
      additionalProperties: false,
    };
    templates.set(id, { id, config: template, authenticSource: config.credentialTypes.get(template.credential_type)!.source, schema, validate: ajv.compile(schema) });
    for (const a of template.attributes) if (!attributeValidators.has(a.id)) attributeValidators.set(a.id, ajv.compile(a.schema));
  }
  const problemsOf = (validate: ValidateFunction, prefix = ''): AttributeProblem[] =>
    (validate.errors ?? []).slice(0, 20).map((e) => ({
      path: `${prefix}${e.instancePath}${e.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : ''}` || '(root)',
      message: e.message ?? 'is invalid',
    }));

  return {
    list: () => [...templates.values()],
    get: (id: string) => templates.get(id),
    /** `POST /kyc/users`: each attribute must be one some template knows, and its value must match that attribute's schema. */
    checkAttributes(attributes: KycAttribute[]): AttributeProblem[] {
      const problems: AttributeProblem[] = [];
      attributes.forEach((a, i) => {
        const validate = attributeValidators.get(a.id);
        if (!validate) problems.push({ path: `attributes.${i}.id`, message: `no template has the attribute ${a.id}` });
        else if (!validate(a.data.value)) problems.push(...problemsOf(validate, `attributes.${i}.data.value`));
      });
      return problems;
    },
    /** `POST /kyc/applications` and the onboarding checks: the attributes, keyed by id, against the template's schema. */
    checkApplication(template: KycTemplate, attributes: KycAttribute[]): AttributeProblem[] {
      const byId = Object.fromEntries(attributes.map((a) => [a.id, a.data.value]));
      return template.validate(byId) ? [] : problemsOf(template.validate, 'attributes');
    },
    /** File types an attribute of the template accepts. */
    fileTypesOf(template: KycTemplate, attributeId: string): KycFileTypeName[] {
      return template.config.attributes.find((a) => a.id === attributeId)?.file_types ?? kyc?.files.types ?? [];
    },
    /** What the approved applicant's credential says: each attribute with a `claim`, under that name. */
    claimsOf(template: KycTemplate, attributes: KycAttribute[]): Record<string, unknown> {
      const claims: Record<string, unknown> = {};
      for (const a of template.config.attributes) {
        const value = attributes.find((x) => x.id === a.id)?.data.value;
        if (a.claim && value !== undefined) claims[a.claim] = value;
      }
      return claims;
    },
  };
}

export type KycTemplates = ReturnType<typeof createKycTemplates>;
