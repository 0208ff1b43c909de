/**
 * The parts of Digital Bazaar's Data Integrity packages (plain JavaScript, no bundled types) that
 * src/credentials/vc20-data-integrity-issuer.ts and the tests call. Shapes follow the packages' JSDoc.
 */

type JsonLdDocument = Record<string, unknown>;
interface RemoteDocument {
  contextUrl: string | null;
  documentUrl: string;
  document: unknown;
}
type DocumentLoader = (url: string) => Promise<RemoteDocument>;

interface DataIntegritySigner {
  id: string;
  algorithm: string;
  sign(options: { data: Uint8Array }): Promise<Uint8Array>;
}

interface Cryptosuite {
  name: string;
  requiredAlgorithm: string | string[];
}

declare module '@digitalbazaar/vc' {
  export function issue(options: { credential: JsonLdDocument; suite: unknown; documentLoader: DocumentLoader; now?: Date | string }): Promise<JsonLdDocument>;
  export function verifyCredential(options: {
    credential: JsonLdDocument;
    suite: unknown;
    documentLoader: DocumentLoader;
    checkStatus?: (options: unknown) => Promise<{ verified: boolean }>;
    now?: Date | string;
  }): Promise<{ verified: boolean; error?: unknown; results?: { verified: boolean; error?: unknown }[] }>;
  /** A derived credential (a selective disclosure) from a credential with a base proof. */
  export function derive(options: { verifiableCredential: JsonLdDocument; suite: unknown; documentLoader: DocumentLoader }): Promise<JsonLdDocument>;
}

declare module '@digitalbazaar/data-integrity' {
  export class DataIntegrityProof {
    constructor(options: { signer?: DataIntegritySigner; cryptosuite: Cryptosuite; date?: Date | string });
    verificationMethod?: string;
  }
}

declare module '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite' {
  export const cryptosuite: Cryptosuite;
}

declare module '@digitalbazaar/ecdsa-sd-2023-cryptosuite' {
  export function createSignCryptosuite(options?: { mandatoryPointers?: string[] }): Cryptosuite;
  export function createDiscloseCryptosuite(options: { selectivePointers?: string[]; proofId?: string }): Cryptosuite;
  export function createVerifyCryptosuite(): Cryptosuite;
}

declare module '@digitalbazaar/eddsa-rdfc-2022-cryptosuite' {
  export const cryptosuite: Cryptosuite;
}

interface MultikeyKeyPair {
  id?: string;
  controller?: string;
  export(options: { publicKey?: boolean; includeContext?: boolean }): Promise<{ publicKeyMultibase: string }>;
  verifier(): { algorithm: string; verify(options: { data: Uint8Array; signature: Uint8Array }): Promise<boolean> };
}

declare module '@digitalbazaar/ecdsa-multikey' {
  export function fromJwk(options: { jwk: Record<string, unknown>; secretKey?: boolean; id?: string; controller?: string }): Promise<MultikeyKeyPair>;
  export function from(key: Record<string, unknown>): Promise<MultikeyKeyPair>;
}

declare module '@digitalbazaar/ed25519-multikey' {
  export function fromJwk(options: { jwk: Record<string, unknown>; secretKey?: boolean; id?: string; controller?: string }): Promise<MultikeyKeyPair>;
  export function from(key: Record<string, unknown>): Promise<MultikeyKeyPair>;
}

declare module '@digitalbazaar/credentials-context' {
  export const contexts: Map<string, JsonLdDocument>;
}

declare module '@digitalbazaar/data-integrity-context' {
  export const contexts: Map<string, JsonLdDocument>;
  export const DATA_INTEGRITY_CONTEXT_V2_URL: string;
}

declare module '@digitalbazaar/multikey-context' {
  export const contexts: Map<string, JsonLdDocument>;
  export const CONTEXT_URL: string;
}

declare module 'rdf-canonize' {
  export function canonize(input: string, options: { algorithm: 'RDFC-1.0'; inputFormat: 'application/n-quads'; messageDigestAlgorithm?: string }): Promise<string>;
}

declare module 'jsonld' {
  const jsonld: { toRDF(input: unknown, options: Record<string, unknown>): Promise<unknown> };
  export default jsonld;
}
