import { z } from 'zod';
import type { Config } from '../config/config';
import { buildDidDocument, didWebFromUrl } from '../credentials/did-web';
import { ISSUER_CONTEXT_PATH, issuerContext } from '../credentials/jsonld-contexts';
import type { KeyStore } from '../credentials/key-store';
import { type AnyRouteSpec, defineRoute } from './route-registry';

/** The JWKS as plain JSON objects (public members only: the key store never hands out private parts). */
const publicJwks = async (keyStore: Pick<KeyStore, 'jwks'>) => ({ keys: (await keyStore.jwks()).keys.map((k) => ({ ...k })) });

const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).meta({ id: 'Jwks' });

/** Public metadata verifiers fetch: issuer keys and trust anchors. */
export function wellKnownRoutes({ config, keyStore }: { config: Config; keyStore: Pick<KeyStore, 'jwks' | 'iacaCertificatesPem' | 'verificationKeys'> }): AnyRouteSpec[] {
  const did = didWebFromUrl(config.issuerUrl);
  const context = issuerContext(config.issuerUrl);
  return [
    defineRoute({
      method: 'get',
      path: '/.well-known/did.json',
      operationId: 'didDocument',
      summary: `The issuer's DID document (did:web, ${did} here): its credential keys as Multikey verification methods under assertionMethod, for Data Integrity proofs`,
      tags: ['Metadata'],
      security: 'none',
      response: z.record(z.string(), z.unknown()).meta({ id: 'DidDocument' }),
      errors: [],
      handler: async () => buildDidDocument(did, await keyStore.verificationKeys()),
    }),
    defineRoute({
      method: 'get',
      path: ISSUER_CONTEXT_PATH,
      operationId: 'credentialsContext',
      summary: 'The JSON-LD context of the issuer\'s credential terms (seed 001: onboardingId, IdentityCredential, DSCSAATPCredential, the organisation data)',
      tags: ['Metadata'],
      security: 'none',
      response: z.record(z.string(), z.unknown()).meta({ id: 'JsonLdContext' }),
      errors: [],
      handler: async ({ res }) => {
        res.type('application/ld+json');
        return context;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/.well-known/jwks.json',
      operationId: 'jwks',
      summary: 'Public keys of the issuer (RFC 7517), by kid; retired keys stay while credentials signed by them are valid',
      tags: ['Metadata'],
      security: 'none',
      response: Jwks,
      errors: [],
      handler: () => publicJwks(keyStore),
    }),
    defineRoute({
      method: 'get',
      path: '/.well-known/jwt-vc-issuer',
      operationId: 'jwtVcIssuerMetadata',
      summary: 'SD-JWT VC issuer metadata (draft-ietf-oauth-sd-jwt-vc §5): the issuer identifier and its keys',
      tags: ['Metadata'],
      security: 'none',
      response: z.object({ issuer: z.string(), jwks: Jwks }).meta({ id: 'JwtVcIssuerMetadata' }),
      errors: [],
      handler: async () => ({ issuer: config.issuerUrl, jwks: await publicJwks(keyStore) }),
    }),
    defineRoute({
      method: 'get',
      path: '/.well-known/iacas',
      operationId: 'iacas',
      summary: 'IACA certificates (PEM) that the issuer\'s mdoc Document Signers chain to (ISO/IEC 18013-5 trust anchors)',
      tags: ['Metadata'],
      security: 'none',
      response: z.object({ iacas: z.array(z.string()) }).meta({ id: 'Iacas' }),
      errors: [],
      handler: async () => ({ iacas: await keyStore.iacaCertificatesPem() }),
    }),
  ];
}
