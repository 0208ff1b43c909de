import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as ecdsaRdfc2019 } from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import { createSignCryptosuite as ecdsaSd2023 } from '@digitalbazaar/ecdsa-sd-2023-cryptosuite';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import { issue } from '@digitalbazaar/vc';
import { CredentialInputError } from './credential-errors';
import { verificationMethodId } from './did-web';
import { createOfflineDocumentLoader, issuerContextUrl } from './jsonld-contexts';
import type { CredentialSigner, Ed25519Signer } from './signer';
import { buildVc20Credential, type Vc20IssueRequest } from './vc20-jose-issuer';

/**
 * W3C VC Data Model 2.0 credentials secured with Data Integrity (W3C VC Data Integrity 1.0): the
 * credential stays a JSON-LD document with an embedded `proof` of type `DataIntegrityProof`
 * (§2.1), made by Digital Bazaar's `@digitalbazaar/vc` with the cryptosuites
 *
 * - `ecdsa-rdfc-2019` (VC Data Integrity ECDSA Cryptosuites v1.0 §3.2), P-256 / SHA-256: the default,
 *   signed with the key store's `credential` key (the ES256 key of the JOSE formats);
 * - `eddsa-rdfc-2022` (VC Data Integrity EdDSA Cryptosuites v1.0 §3.1), Ed25519: the key store's
 *   `credential_ed25519` key;
 * - `ecdsa-sd-2023` (ECDSA Cryptosuites v1.0 §3.3), selective disclosure, P-256: the `credential`
 *   key signs the base proof (over the mandatory statements' hash and a per-credential ephemeral
 *   key, which signs each other statement), from which a holder derives disclosures. Mandatory, so
 *   never withheld by a holder: the request's `mandatoryPointers` and always the issuer, the validity
 *   period and the status entry (`ECDSA_SD_ALWAYS_MANDATORY`), so that a verifier of any disclosure
 *   can check who issued it, whether it is current and whether it is revoked.
 *
 * Both canonicalize with RDFC-1.0, so every context must load: the document loader is offline
 * (jsonld-contexts.ts). The `issuer` is the issuer's `did:web` and `verificationMethod` one of the
 * keys its DID document lists (did-web.ts), as the default proof purpose check of a verifier
 * (the VM's controller is the issuer, and lists it under `assertionMethod`) requires. The private
 * keys stay behind the signers: the libraries are handed `sign({data})` only.
 */

export const DATA_INTEGRITY_CRYPTOSUITES = ['ecdsa-rdfc-2019', 'eddsa-rdfc-2022', 'ecdsa-sd-2023'] as const;
export type DataIntegrityCryptosuite = (typeof DATA_INTEGRITY_CRYPTOSUITES)[number];
/** VC DM 2.0 §5.2: maps terms no other context defines to `https://www.w3.org/ns/credentials/issuer-dependent#`. */
export const UNDEFINED_TERMS_V2_CONTEXT = 'https://www.w3.org/ns/credentials/undefined-terms/v2';

export const DEFAULT_CRYPTOSUITE: DataIntegrityCryptosuite = 'ecdsa-rdfc-2019';

/** JSON Pointers (RFC 6901) every `ecdsa-sd-2023` credential discloses, where the credential has them. */
export const ECDSA_SD_ALWAYS_MANDATORY = ['/issuer', '/validFrom', '/validUntil', '/credentialStatus'] as const;

/** A JSON Pointer (RFC 6901 §3): empty, or `/`-separated reference tokens with `~0`/`~1` escapes only. */
const JSON_POINTER = /^(\/([^~/]|~[01])*)*$/;

export const isDataIntegrityCryptosuite = (value: unknown): value is DataIntegrityCryptosuite =>
  (DATA_INTEGRITY_CRYPTOSUITES as readonly unknown[]).includes(value);

export interface Vc20DataIntegrityIssuerDeps {
  /** The issuer's public base URL: its own context is `<issuerUrl>/contexts/credentials/v1`. */
  issuerUrl: string;
  /** The issuer's DID (`did:web`), the credentials' `issuer` and the controller of the keys. */
  issuerDid: string;
  now?: () => Date;
}

export interface Vc20DataIntegrityIssueRequest extends Omit<Vc20IssueRequest, 'issuer'> {
  cryptosuite: DataIntegrityCryptosuite;
  /**
   * Adds the VC 2.0 undefined-terms context (VC DM 2.0 §5.2), so claims no context defines expand
   * under its issuer-dependent `@vocab` instead of failing: for callers whose claims are free-form
   * (the gRPC `MakeVC20`). Without it a term no context defines is refused.
   */
  undefinedTerms?: boolean;
  /**
   * `false`: the issuer's own context is not added, for documents whose terms the standard contexts
   * define (the BitstringStatusListCredential), so a verifier needs no context of ours to check them.
   */
  issuerContext?: boolean;
  /** `ecdsa-sd-2023` only: JSON Pointers of further statements a holder must always disclose (ECDSA Cryptosuites v1.0 §3.3.1). */
  mandatoryPointers?: readonly string[];
}

export interface IssuedVc20DataIntegrity {
  format: 'ldp_vc';
  mediaType: 'application/vc';
  /** The secured credential: the document with its `proof`. */
  credential: Record<string, unknown>;
  id: string;
  cryptosuite: DataIntegrityCryptosuite;
  verificationMethod: string;
  validFrom: string;
  validUntil?: string;
}

export interface Vc20DataIntegrityIssuer {
  issue(request: Vc20DataIntegrityIssueRequest, signer: CredentialSigner | Ed25519Signer): Promise<IssuedVc20DataIntegrity>;
}

export function createVc20DataIntegrityIssuer(deps: Vc20DataIntegrityIssuerDeps): Vc20DataIntegrityIssuer {
  const now = deps.now ?? (() => new Date());
  const documentLoader = createOfflineDocumentLoader(deps.issuerUrl);
  const ownContext = issuerContextUrl(deps.issuerUrl);

  return {
    async issue(request, signer) {
      const { cryptosuite } = request;
      if (!isDataIntegrityCryptosuite(cryptosuite)) {
        throw new CredentialInputError('invalid_claims', `unsupported cryptosuite; supported: ${DATA_INTEGRITY_CRYPTOSUITES.join(', ')}`, 'cryptosuite');
      }
      const wanted = cryptosuite === 'eddsa-rdfc-2022' ? 'EdDSA' : 'ES256';
      const requested = request.mandatoryPointers ?? [];
      if (requested.length > 0 && cryptosuite !== 'ecdsa-sd-2023') throw new CredentialInputError('invalid_claims', 'only the selective-disclosure cryptosuite ecdsa-sd-2023 takes mandatory pointers', 'mandatoryPointers');
      const malformed = requested.findIndex((p) => typeof p !== 'string' || p === '' || !JSON_POINTER.test(p));
      if (malformed >= 0) throw new CredentialInputError('invalid_claims', 'must be a JSON Pointer (RFC 6901) such as /credentialSubject/legalName', `mandatoryPointers.${malformed}`);
      if (signer.alg !== wanted) throw new Error(`${cryptosuite} needs an ${wanted} key, not ${signer.alg}`);
      const { undefinedTerms, issuerContext: withOwnContext = true, cryptosuite: _, mandatoryPointers: _pointers, ...vc } = request;
      const last = [...(withOwnContext ? [ownContext] : []), ...(undefinedTerms ? [UNDEFINED_TERMS_V2_CONTEXT] : [])];
      const contexts = [...(request.contexts ?? []).filter((c) => !last.includes(c as string)), ...last];
      const built = buildVc20Credential({ ...vc, contexts, issuer: deps.issuerDid }, now);
      const verificationMethod = verificationMethodId(deps.issuerDid, signer.kid);
      const suite = new DataIntegrityProof({
        cryptosuite:
          cryptosuite === 'ecdsa-rdfc-2019'
            ? ecdsaRdfc2019
            : cryptosuite === 'eddsa-rdfc-2022'
              ? eddsaRdfc2022
              : ecdsaSd2023({ mandatoryPointers: [...new Set([...ECDSA_SD_ALWAYS_MANDATORY.filter((p) => p.slice(1) in built.payload), ...requested])] }),
        signer: { id: verificationMethod, algorithm: signer.alg === 'ES256' ? 'P-256' : 'Ed25519', sign: ({ data }) => signer.sign(data) },
        date: now(),
      });
      let credential: Record<string, unknown>;
      try {
        credential = await issue({ credential: built.payload, suite, documentLoader, now: now() });
      } catch (err) {
        // Expansion in safe mode refuses what is not valid JSON-LD (a term it would drop, a malformed value, a relative IRI).
        if (cryptosuite === 'ecdsa-sd-2023' && /JSON pointer/i.test(String((err as Error).message))) {
          throw new CredentialInputError('invalid_claims', `a mandatory pointer selects nothing in the credential: ${(err as Error).message}`, 'mandatoryPointers');
        }
        if (String((err as Error).name).startsWith('jsonld.')) {
          const property = (err as { details?: { event?: { details?: { property?: unknown } } } }).details?.event?.details?.property;
          const what = typeof property === 'string' ? `"${property}" is not defined by the credential's contexts` : (err as Error).message;
          throw new CredentialInputError('invalid_claims', `not valid JSON-LD: ${what}`, 'credentialSubject');
        }
        throw err;
      }
      return {
        format: 'ldp_vc',
        mediaType: 'application/vc',
        credential,
        id: built.id,
        cryptosuite,
        verificationMethod,
        validFrom: built.validFrom,
        ...(built.validUntil ? { validUntil: built.validUntil } : {}),
      };
    },
  };
}
