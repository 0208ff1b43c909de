import { fromJwk as p256Multikey } from '@digitalbazaar/ecdsa-multikey';
import { fromJwk as ed25519Multikey } from '@digitalbazaar/ed25519-multikey';
import type { VerificationKeys } from './key-store';

/**
 * The issuer's `did:web` (W3C did:web Method Specification §3.2): the DID is built from the host of
 * `ISSUER_URL` alone, its port percent-encoded (`http://127.0.0.1:8080` → `did:web:127.0.0.1%3A8080`),
 * so the DID document is `/.well-known/did.json` on that host (the gateway serves it). A path in
 * `ISSUER_URL` is not part of the DID: the gateway answers at the host's root.
 */
export function didWebFromUrl(issuerUrl: string): string {
  const url = new URL(issuerUrl);
  return `did:web:${url.hostname.toLowerCase()}${url.port ? `%3A${url.port}` : ''}`;
}

/** The id of a verification method in the DID document: `<did>#<kid>` (the key's RFC 7638 thumbprint). */
export const verificationMethodId = (did: string, kid: string): string => `${did}#${kid}`;

export const DID_V1_CONTEXT = 'https://www.w3.org/ns/did/v1';
export const MULTIKEY_V1_CONTEXT = 'https://w3id.org/security/multikey/v1';

/**
 * The DID document (DID Core 1.0 §5) of `did`: each credential key as a `Multikey` verification
 * method (Controlled Identifiers 1.0 §2.2.2, `publicKeyMultibase`), listed under `assertionMethod`,
 * the relationship a credential's Data Integrity proof uses (VC Data Integrity 1.0 §2.1 proofPurpose).
 * Retired keys stay listed while credentials they signed may still be valid (key-store.ts).
 */
export async function buildDidDocument(did: string, keys: VerificationKeys): Promise<Record<string, unknown>> {
  const methods = await Promise.all([
    ...keys.p256.map(async (k) => ({ kid: k.kid, key: await p256Multikey({ jwk: { kty: 'EC', crv: 'P-256', x: k.x, y: k.y } }) })),
    ...keys.ed25519.map(async (k) => ({ kid: k.kid, key: await ed25519Multikey({ jwk: { kty: 'OKP', crv: 'Ed25519', x: k.x } }) })),
  ]);
  const verificationMethod = await Promise.all(
    methods.map(async ({ kid, key }) => ({
      id: verificationMethodId(did, kid),
      type: 'Multikey',
      controller: did,
      publicKeyMultibase: (await key.export({ publicKey: true, includeContext: false })).publicKeyMultibase,
    })),
  );
  return {
    '@context': [DID_V1_CONTEXT, MULTIKEY_V1_CONTEXT],
    id: did,
    verificationMethod,
    assertionMethod: verificationMethod.map((m) => m.id),
  };
}
