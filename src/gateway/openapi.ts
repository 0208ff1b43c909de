import { z } from 'zod';
import { ErrorBodySchema } from './api-errors';
import type { AnyRouteSpec, ErrorStatus, Security } from './route-registry';
import { statusListOpenApiPaths } from './status/status-list-routes';
import { webhookOpenApi } from './webhook-catalogue';

const ERROR_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: 'INVALID_FORMAT: the request is malformed; details.fields points at each offending field',
  401: 'UNAUTHORIZED: missing or invalid API key / client certificate',
  403: 'FORBIDDEN or IDENTITY_MISMATCH: not allowed for this authentic source',
  404: 'DOCUMENT_NOT_FOUND: no such document',
  409: 'ALREADY_REVOKED or another conflict',
  413: 'PAYLOAD_TOO_LARGE: body exceeds the configured limit',
  415: 'UNSUPPORTED_MEDIA_TYPE: the body must be application/json',
  429: 'RATE_LIMITED: too many requests; see Retry-After',
  500: 'INTERNAL_ERROR: nothing is revealed beyond the request id',
  503: 'SERVICE_UNAVAILABLE: a dependency is down',
};

const SECURITY: Record<Security, Record<string, never[]>[]> = {
  none: [],
  source: [{ apiKey: [] }, { mutualTLS: [] }],
  bearer: [{ bearer: [] }],
  'admin:read': [{ adminToken: [] }],
  'admin:operate': [{ adminToken: [] }],
};

type ToSchema = (schema: z.ZodType, io: 'input' | 'output') => unknown;
type Properties = { properties?: Record<string, Record<string, unknown>>; required?: string[] };

function pathParameters(route: AnyRouteSpec, toSchema: ToSchema) {
  if (!route.params) return [];
  return Object.keys((toSchema(route.params, 'input') as Properties).properties ?? {}).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
}

/** One `in: query` parameter per property of the route's query schema, with its schema and description. */
function queryParameters(route: AnyRouteSpec, toSchema: ToSchema) {
  if (!route.query) return [];
  const json = toSchema(route.query, 'input') as Properties;
  return Object.entries(json.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return { name, in: 'query', required: json.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest };
  });
}

/** OpenAPI 3.1 (whose schemas are JSON Schema 2020-12), generated from the same zod schemas that validate requests. */
/**
 * `extraPaths`: operations of routers outside the route registry (the KYC API's multipart endpoints,
 * src/gateway/kyc/kyc-openapi.ts), already in OpenAPI form; `#/components/schemas/Error` is theirs to reference.
 */
export function buildOpenApiDocument(routes: AnyRouteSpec[], info: { title: string; version: string; serverUrl: string }, extraPaths: Record<string, Record<string, unknown>> = {}): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  const toSchema = (schema: z.ZodType, io: 'input' | 'output') => {
    // Named schemas (`.meta({ id })`) land in components and are referenced, as a reader expects.
    const generated = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
    const json = JSON.parse(JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, unknown>;
    const defs = (json.$defs ?? {}) as Record<string, unknown>;
    for (const [id, def] of Object.entries(defs)) schemas[id] = def;
    delete json.$defs;
    delete json.$schema;
    if (typeof json.id === 'string') {
      const id = json.id;
      delete json.id;
      schemas[id] = json;
      return { $ref: `#/components/schemas/${id}` };
    }
    return json;
  };
  const errorRef = toSchema(ErrorBodySchema, 'output');

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const responses: Record<string, unknown> = {
      200: { description: 'Success', content: route.produces ? { [route.produces]: { schema: { type: 'string', contentMediaType: route.produces } } } : { 'application/json': { schema: toSchema(route.response, 'output') } } },
    };
    for (const status of [...route.errors, 429, 500] as ErrorStatus[]) {
      responses[status] = { description: ERROR_DESCRIPTIONS[status], content: { 'application/json': { schema: errorRef } } };
    }
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      ...(route.params || route.query ? { parameters: [...pathParameters(route, toSchema), ...queryParameters(route, toSchema)] } : {}),
      security: SECURITY[route.security as Security],
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(route.body, 'input') } } } } : {}),
      responses,
    };
  }
  for (const [path, operations] of Object.entries(extraPaths)) paths[path] = { ...paths[path], ...operations };
  paths['/healthz'] = { get: { operationId: 'healthz', summary: 'Liveness', tags: ['Operations'], security: [], responses: { 200: { description: 'The process is up' } } } };
  paths['/readyz'] = {
    get: {
      operationId: 'readyz',
      summary: 'Readiness: PostgreSQL and Temporal reachable',
      tags: ['Operations'],
      security: [],
      responses: { 200: { description: 'Ready' }, 503: { description: ERROR_DESCRIPTIONS[503], content: { 'application/json': { schema: errorRef } } } },
    },
  };

  Object.assign(paths, statusListOpenApiPaths(errorRef));

  const webhooks = webhookOpenApi(toSchema);
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version },
    servers: [{ url: info.serverUrl }],
    paths,
    webhooks,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Authentic-source API key (seed 000)' },
        mutualTLS: { type: 'mutualTLS', description: 'Client certificate whose subject the authentic source lists in mtls_subjects' },
        bearer: { type: 'http', scheme: 'bearer', description: 'Token of an api_clients entry (seed 001 "Using a Token")' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'Token of an admin_tokens entry; its role (read or operate) is in each operation\'s description' },
        kycChallenge: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'KYC challenge JWT (C-JWT) from GET /kyc/auth/challenge (seed 004)' },
        kycWallet: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'KYC wallet JWT (W-JWT) from POST /kyc/auth/challenge (seed 004)' },
      },
    },
  };
}
