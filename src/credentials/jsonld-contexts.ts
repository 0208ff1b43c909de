import { contexts as credentialsContexts } from '@digitalbazaar/credentials-context';
import { contexts as dataIntegrityContexts } from '@digitalbazaar/data-integrity-context';
import { contexts as multikeyContexts } from '@digitalbazaar/multikey-context';

/**
 * JSON-LD contexts for the Data Integrity issuer (vc20-data-integrity-issuer.ts). Canonicalization
 * (RDFC-1.0) expands the credential, so every context it names must load; the loader serves only the
 * contexts below from memory and refuses any other URL: the issuer never fetches a context.
 */

const SCHEMA = 'https://schema.org/';

/** The URL of the issuer's own context for seed 001's terms; the gateway serves it at this path. */
export const ISSUER_CONTEXT_PATH = '/contexts/credentials/v1';
export const issuerContextUrl = (issuerUrl: string): string => `${issuerUrl}${ISSUER_CONTEXT_PATH}`;

/**
 * The issuer's context: seed 001's credential types and data (IdentityCredential,
 * DSCSAATPCredential, `onboardingId`, the address and organisation fields). Postal address and
 * organisation terms are schema.org's; the rest are defined in this context's own namespace
 * (`<context URL>#<term>`). Protected (JSON-LD 1.1 §4.1.11), like the VC 2.0 context it follows, so
 * a later context cannot redefine them. Terms a request brings that are not here expand under the
 * VC 2.0 context's issuer-dependent `@vocab` (VC DM 2.0 §5.2).
 */
export function issuerContext(issuerUrl: string): Record<string, unknown> {
  const own = `${issuerContextUrl(issuerUrl)}#`;
  return {
    '@context': {
      '@version': 1.1,
      '@protected': true,
      IdentityCredential: `${own}IdentityCredential`,
      DSCSAATPCredential: `${own}DSCSAATPCredential`,
      onboardingId: `${own}onboardingId`,
      issuerName: `${own}issuerName`,
      organizationType: `${own}organizationType`,
      legalName: `${SCHEMA}legalName`,
      streetAddress: `${SCHEMA}streetAddress`,
      addressLocality: `${SCHEMA}addressLocality`,
      addressRegion: `${SCHEMA}addressRegion`,
      postalCode: `${SCHEMA}postalCode`,
      addressCountry: `${SCHEMA}addressCountry`,
      parentOrganization: `${SCHEMA}parentOrganization`,
      identifier: `${SCHEMA}identifier`,
    },
  };
}

export type DocumentLoader = (url: string) => Promise<{ contextUrl: null; documentUrl: string; document: unknown }>;

/** An offline loader: VC 2.0, Data Integrity v1/v2, Multikey v1 (from their npm packages) and the issuer's context. */
export function createOfflineDocumentLoader(issuerUrl: string): DocumentLoader {
  const known = new Map<string, unknown>([...credentialsContexts, ...dataIntegrityContexts, ...multikeyContexts]);
  known.set(issuerContextUrl(issuerUrl), issuerContext(issuerUrl));
  return async (url) => {
    const document = known.get(url);
    if (document === undefined) throw new Error(`the offline document loader has no document for ${url} (the issuer never fetches one)`);
    return { contextUrl: null, documentUrl: url, document: structuredClone(document) };
  };
}
