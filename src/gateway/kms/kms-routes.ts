import type { AuditLogRepository } from '../../db/audit-log-repository';
import { keyTypeInfo } from '../../kms/kms-key-types';
import type { KmsKey, KmsService } from '../../kms/kms-service';
import { ConflictError, InvalidFormatError, RouteNotFoundError } from '../api-errors';
import { auditCall } from '../audit-call';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { GenerateKeyRequest, ImportJwkRequest, KeyIdPathParams, KmsKeyResponse, PublicJwkOutput } from './kms-schemas';

export interface KmsRoutesDeps {
  kms: KmsService;
  audit: AuditLogRepository;
}

const TAG = ['KMS'];

/** The public JWK as published: rebuilt member by member, so no private member can reach an answer. */
export const publishedJwk = (key: Pick<KmsKey, 'publicJwk' | 'kid' | 'keyType'>) => ({ ...key.publicJwk, kid: key.kid, alg: keyTypeInfo(key.keyType).alg });

const toResponse = (key: KmsKey) => ({
  _id: key.keyPath,
  keyType: key.keyType,
  kid: key.kid,
  publicKey: publishedJwk(key),
  origin: key.origin,
  createdAt: key.createdAt.toISOString(),
});

const taken = (keyPath: string) => new ConflictError('A key already exists at this key path', { keyIdPath: keyPath });

/**
 * KMS service API in walt.id's conventions (docs/conventions.md, KMS): generate or import a key at
 * a key path, read its public JWK. Keys belong to the API client that made them.
 */
export function kmsRoutes({ kms, audit }: KmsRoutesDeps): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/:keyIdPath/kms-service-api/keys/generate',
      operationId: 'kmsGenerateKey',
      summary: 'Generate a key (secp256r1, secp384r1 or Ed25519) at a key path',
      description: 'The private key is generated here, sealed under the KEK and never returned; the answer carries the public JWK. 409 when the client already has a key at this path.',
      tags: TAG,
      security: 'bearer',
      params: KeyIdPathParams,
      body: GenerateKeyRequest,
      response: KmsKeyResponse,
      errors: [400, 401, 404, 409, 413, 415],
      handler: async (call) => {
        const keyPath = call.params.keyIdPath!;
        const key = await kms.generate(call.principal.client, keyPath, call.body.keyType);
        if (!key) throw taken(keyPath);
        await auditCall(audit, call, 'kms.key.generate', { key_path: keyPath, kid: key.kid, key_type: key.keyType });
        return toResponse(key);
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/:keyIdPath/kms-service-api/keys/import/jwk',
      operationId: 'kmsImportJwk',
      summary: 'Import a private JWK at a key path',
      description: 'The body is the private JWK (RFC 7517). It is checked to be a consistent key of a supported curve, sealed under the KEK, and never returned.',
      tags: TAG,
      security: 'bearer',
      params: KeyIdPathParams,
      body: ImportJwkRequest,
      response: KmsKeyResponse,
      errors: [400, 401, 404, 409, 413, 415],
      handler: async (call) => {
        const keyPath = call.params.keyIdPath!;
        let key: KmsKey | undefined;
        try {
          key = await kms.importJwk(call.principal.client, keyPath, call.body);
        } catch (err) {
          if (err instanceof TypeError || (err as { code?: string }).code?.startsWith('ERR_CRYPTO')) {
            throw new InvalidFormatError('The JWK is not a valid key', { fields: [{ path: '(root)', message: 'not a valid private key of its curve, or x/y do not belong to d' }] });
          }
          throw err;
        }
        if (!key) throw taken(keyPath);
        await auditCall(audit, call, 'kms.key.import', { key_path: keyPath, kid: key.kid, key_type: key.keyType });
        return toResponse(key);
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/:keyIdPath/kms-service-api/keys',
      operationId: 'kmsGetKey',
      summary: 'A key: its type, kid and public JWK',
      tags: TAG,
      security: 'bearer',
      params: KeyIdPathParams,
      response: KmsKeyResponse,
      errors: [401, 404],
      handler: async ({ params, principal }) => toResponse(await found(kms, principal.client, params.keyIdPath!)),
    }),

    defineRoute({
      method: 'get',
      path: '/v1/:keyIdPath/kms-service-api/keys/jwk',
      operationId: 'kmsGetPublicJwk',
      summary: 'The public JWK of a key',
      tags: TAG,
      security: 'bearer',
      params: KeyIdPathParams,
      response: PublicJwkOutput,
      errors: [401, 404],
      handler: async ({ params, principal }) => publishedJwk(await found(kms, principal.client, params.keyIdPath!)),
    }),
  ];
}

async function found(kms: KmsService, client: string, keyPath: string): Promise<KmsKey> {
  const key = await kms.get(client, keyPath);
  if (!key) throw new RouteNotFoundError('No key at this key path', { keyIdPath: keyPath });
  return key;
}
