import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../config/config';
import { didWebFromUrl } from '../../credentials/did-web';
import type { KeyStore } from '../../credentials/key-store';
import { RouteNotFoundError } from '../api-errors';
import { type AnyRouteSpec, defineRoute } from '../route-registry';

/** The name of the signing key of outgoing webhooks (seed 002 "key name from dashboard"). */
export const WEBHOOKS_KEY_NAME = 'webhooks';

export const ServicePublicKey = z
  .object({
    serviceDid: z.string().meta({ description: 'The issuer\'s service DID: did:web of ISSUER_URL\'s host, port percent-encoded' }),
    keyName: z.string(),
    kid: z.string().meta({ description: 'RFC 7638 thumbprint; the `kid` in the Bearer JWT header' }),
    alg: z.literal('ES256').meta({ description: 'ECDSA P-256. X-Body-Signature uses it with SHA3-256 (DER signature, base64); the Bearer JWT with SHA-256 (JWS ES256)' }),
    publicKey: z.string().meta({ description: 'SubjectPublicKeyInfo, PEM' }),
    publicKeyJwk: z.record(z.string(), z.unknown()),
    previousKeys: z.array(z.object({ kid: z.string(), publicKey: z.string(), publicKeyJwk: z.record(z.string(), z.unknown()) })).meta({ description: 'Retired keys still inside their verification window, newest first' }),
  })
  .meta({ id: 'ServicePublicKey' });

/**
 * Seed 002 "Retrieving Service Public Key": `GET /service/:serviceDid/public-info/public-key/:keyName`
 * serves the public part of the key that signs our webhooks, so a receiver can verify X-Body-Signature
 * (node:crypto `verify('sha3-256', body, publicKey, signature)`) and the Bearer JWT. Only our own
 * service DID and the key name `webhooks` exist; anything else is 404 NOT_FOUND.
 */
export function servicePublicKeyRoutes({ config, keyStore }: { config: Config; keyStore: Pick<KeyStore, 'webhookPublicKeys'> }): AnyRouteSpec[] {
  const did = didWebFromUrl(config.issuerUrl);
  // Express decodes path parameters: `did:web:host%3A8080` arrives as `did:web:host:8080`.
  const ours = (serviceDid: string) => serviceDid === did || serviceDid === decodeURIComponent(did);
  const pem = (jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string }) => createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  return [
    defineRoute({
      method: 'get',
      path: '/service/:serviceDid/public-info/public-key/:keyName',
      operationId: 'servicePublicKey',
      summary: `The public key that signs the issuer's webhooks (seed 002), for service ${did} and key name "${WEBHOOKS_KEY_NAME}"`,
      tags: ['Webhooks'],
      security: 'none',
      params: z.object({ serviceDid: z.string().min(1).max(300), keyName: z.string().min(1).max(100) }),
      response: ServicePublicKey,
      errors: [404],
      handler: async ({ params, req }) => {
        if (!ours(params.serviceDid!) || params.keyName !== WEBHOOKS_KEY_NAME) throw new RouteNotFoundError('No such service key', { path: req.path });
        const [active, ...previous] = await keyStore.webhookPublicKeys();
        if (!active) throw new RouteNotFoundError('No such service key', { path: req.path });
        return {
          serviceDid: did,
          keyName: WEBHOOKS_KEY_NAME,
          kid: active.kid,
          alg: 'ES256' as const,
          publicKey: pem(active),
          publicKeyJwk: { ...active },
          previousKeys: previous.map((k) => ({ kid: k.kid, publicKey: pem(k), publicKeyJwk: { ...k } })),
        };
      },
    }),
  ];
}
