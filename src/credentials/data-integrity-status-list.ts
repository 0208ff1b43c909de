import { didWebFromUrl } from './did-web';
import type { CredentialSigner } from './signer';
import { bitstringStatusListCredential, type BitstringStatusListCredentialInput } from './status-list-token';
import { createVc20DataIntegrityIssuer } from './vc20-data-integrity-issuer';

/**
 * The BitstringStatusListCredential (W3C Bitstring Status List v1.0 §2.2) secured with a Data
 * Integrity proof (`ecdsa-rdfc-2019`, VC Data Integrity ECDSA Cryptosuites v1.0 §3.2), for the
 * credentials that carry one: the same list, in the proof format of the credentials that name it
 * (docs/conventions.md, Status lists). Its `issuer` is the issuer's `did:web` and the proof's
 * verification method the P-256 credential key listed in /.well-known/did.json, as for the
 * credentials; only the standard contexts are named (VC 2.0 defines every term of the list), so a
 * verifier needs none of ours.
 */
export function createDataIntegrityStatusListSigner(deps: { issuerUrl: string; now: () => Date }) {
  const issuerDid = didWebFromUrl(deps.issuerUrl);
  const issuer = createVc20DataIntegrityIssuer({ issuerUrl: deps.issuerUrl, issuerDid, now: deps.now });
  return async (signer: CredentialSigner, input: Omit<BitstringStatusListCredentialInput, 'issuer'>): Promise<Record<string, unknown>> => {
    const issued = await issuer.issue({ ...bitstringStatusListCredential({ ...input, issuer: issuerDid }), cryptosuite: 'ecdsa-rdfc-2019', issuerContext: false }, signer);
    return issued.credential;
  };
}
