import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { contexts as credentialsContexts } from '@digitalbazaar/credentials-context';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { contexts as dataIntegrityContexts } from '@digitalbazaar/data-integrity-context';
import { cryptosuite as ecdsaRdfc2019 } from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import { createDiscloseCryptosuite, createVerifyCryptosuite } from '@digitalbazaar/ecdsa-sd-2023-cryptosuite';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import { contexts as multikeyContexts } from '@digitalbazaar/multikey-context';
import { derive, verifyCredential } from '@digitalbazaar/vc';
import jsonld from 'jsonld';
import { canonize } from 'rdf-canonize';

/**
 * Verifiers of Data Integrity credentials that share no code with the issuer (src/credentials/):
 *
 * - `verifyWithDigitalBazaar`: `@digitalbazaar/vc`'s verifyCredential with both cryptosuites and a
 *   document loader of its own, which serves the standard contexts from their npm packages and
 *   resolves everything else the way a verifier on the network would: a `did:web` DID by fetching
 *   its `/.well-known/did.json` (did:web Method Specification §3.2 "Read"), the DID URL of a
 *   verification method by finding it there, and the issuer's own context by fetching its URL. The
 *   gateway under test is not at the public host of ISSUER_URL, so `origins` maps that origin to the
 *   gateway's address (as a hosts entry would); did:web's `https` becomes the test gateway's `http`.
 * - `verifyEcdsaRdfc2019FromSpec`: the ecdsa-rdfc-2019 verification algorithm written from
 *   W3C VC Data Integrity ECDSA Cryptosuites v1.0 §3.2 with `jsonld` (to RDF) + `rdf-canonize`
 *   (RDFC-1.0), SHA-256 and node:crypto ECDSA, and a base58btc decoder of its own.
 * - `deriveDisclosure`: an `ecdsa-sd-2023` holder deriving a selective disclosure, which
 *   `verifyWithDigitalBazaar` then verifies.
 * - `bitstringStatus`: a credential's Bitstring Status List entry, its list fetched and verified
 *   like a credential and its bit read with a decoder of its own.
 */

type Json = Record<string, unknown>;

export interface VerifierOptions {
  /** Public origin (`https://issuer.example.org`) → where it is served in the test (`http://127.0.0.1:1234`). */
  origins: Record<string, string>;
}

/** Every URL the loader fetched, for tests that check what was resolved over HTTP. */
export interface Loader {
  (url: string): Promise<{ contextUrl: null; documentUrl: string; document: unknown }>;
  fetched: string[];
}

export function createVerifierDocumentLoader({ origins }: VerifierOptions): Loader {
  const standard = new Map<string, unknown>([...credentialsContexts, ...dataIntegrityContexts, ...multikeyContexts]);
  const fetched: string[] = [];
  const get = async (url: string): Promise<Json> => {
    const target = new URL(url);
    const origin = origins[target.origin];
    if (!origin) throw new Error(`verifier loader: refusing to fetch ${url} (no origin mapping)`);
    fetched.push(url);
    const res = await fetch(`${origin}${target.pathname}${target.search}`, { headers: { accept: 'application/did+json, application/ld+json, application/json' } });
    if (!res.ok) throw new Error(`verifier loader: ${url} answered ${res.status}`);
    return (await res.json()) as Json;
  };
  const didDocument = (did: string) => {
    // did:web §3.2: the method-specific id, ':' → '/', percent-decoded; no path → /.well-known/did.json.
    const [host, ...path] = did.slice('did:web:'.length).split(':').map(decodeURIComponent);
    return get(`https://${host}${path.length ? `/${path.join('/')}` : '/.well-known'}/did.json`);
  };
  const loader = (async (url: string) => {
    const known = standard.get(url);
    if (known !== undefined) return { contextUrl: null, documentUrl: url, document: known };
    if (url.startsWith('did:web:')) {
      const [did, fragment] = url.split('#') as [string, string | undefined];
      const doc = await didDocument(did);
      if (doc.id !== did) throw new Error(`the DID document at ${did} has id ${String(doc.id)}`);
      if (fragment === undefined) return { contextUrl: null, documentUrl: url, document: doc };
      const method = (doc.verificationMethod as Json[] | undefined)?.find((m) => m.id === url);
      if (!method) throw new Error(`${did} lists no verification method ${url}`);
      return { contextUrl: null, documentUrl: url, document: { '@context': doc['@context'], ...method } };
    }
    if (url.startsWith('https://') || url.startsWith('http://')) return { contextUrl: null, documentUrl: url, document: await get(url) };
    throw new Error(`verifier loader: cannot load ${url}`);
  }) as Loader;
  loader.fetched = fetched;
  return loader;
}

/**
 * `@digitalbazaar/vc` verifyCredential (proof purpose assertionMethod, the issuer as the VM's controller),
 * for `ecdsa-rdfc-2019`, `eddsa-rdfc-2022` and a derived (disclosure) `ecdsa-sd-2023` proof: that
 * suite verifies disclosures only (ECDSA Cryptosuites v1.0 §3.3.6), not the issuer's base proof.
 * The status check here only asserts the entries' shape, so the proof is what this verifies; an
 * entry's list is read and checked by `bitstringStatus`.
 */
export async function verifyWithDigitalBazaar(credential: Json, loader: Loader, now?: Date): Promise<{ verified: boolean; error?: unknown }> {
  const suite = [new DataIntegrityProof({ cryptosuite: ecdsaRdfc2019 }), new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 }), new DataIntegrityProof({ cryptosuite: createVerifyCryptosuite() })];
  // VC DM 2.0 §4.10: one entry or an array of them, every one a BitstringStatusListEntry.
  const checkStatus = async ({ credential: c }: { credential: Json }) => {
    const status = c.credentialStatus as Json | Json[] | undefined;
    const entries = status === undefined ? [] : Array.isArray(status) ? status : [status];
    return { verified: entries.length > 0 && entries.every((e) => e.type === 'BitstringStatusListEntry') };
  };
  const result = await verifyCredential({ credential, suite, documentLoader: loader, checkStatus: checkStatus as never, ...(now ? { now } : {}) });
  return { verified: result.verified, error: result.error ?? result.results?.find((r) => !r.verified)?.error };
}

/**
 * The holder's side of `ecdsa-sd-2023` (ECDSA Cryptosuites v1.0 §3.3.4 "Add Derived Proof"):
 * `@digitalbazaar/vc` derive with the disclose cryptosuite, revealing the statements `selectivePointers`
 * select (JSON Pointers) besides the ones the issuer made mandatory.
 */
export function deriveDisclosure(credential: Json, selectivePointers: string[], loader: Loader): Promise<Json> {
  return derive({ verifiableCredential: credential, suite: new DataIntegrityProof({ cryptosuite: createDiscloseCryptosuite({ selectivePointers }) }), documentLoader: loader });
}

// ---------------------------------------------------------------------------------------------
// ecdsa-rdfc-2019 from the specification
// ---------------------------------------------------------------------------------------------

const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** Multibase base58btc (`z` prefix, draft-multiformats-multibase) to bytes. */
export function decodeBase58btc(multibase: string): Uint8Array {
  if (!multibase.startsWith('z')) throw new Error('not base58btc multibase (z...)');
  let value = 0n;
  for (const ch of multibase.slice(1)) {
    const digit = BASE58_ALPHABET.indexOf(ch);
    if (digit < 0) throw new Error(`invalid base58 character ${ch}`);
    value = value * 58n + BigInt(digit);
  }
  const bytes: number[] = [];
  while (value > 0n) {
    bytes.unshift(Number(value % 256n));
    value /= 256n;
  }
  for (const ch of multibase.slice(1)) {
    if (ch !== '1') break;
    bytes.unshift(0);
  }
  return new Uint8Array(bytes);
}

/** SPKI prefix of a P-256 key with a compressed point (RFC 5480 §2: id-ecPublicKey, secp256r1). */
const P256_COMPRESSED_SPKI_PREFIX = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');

/** A P-256 Multikey's `publicKeyMultibase` (Controlled Identifiers 1.0 §2.2.2: multicodec 0x1200 as varint 0x80 0x24, compressed point). */
export function p256KeyFromMultibase(publicKeyMultibase: string) {
  const bytes = decodeBase58btc(publicKeyMultibase);
  if (bytes[0] !== 0x80 || bytes[1] !== 0x24 || bytes.length !== 35) throw new Error('not a P-256 public Multikey');
  return createPublicKey({ key: Buffer.concat([P256_COMPRESSED_SPKI_PREFIX, bytes.subarray(2)]), format: 'der', type: 'spki' });
}

async function rdfc10(document: Json, loader: Loader): Promise<string> {
  const nquads = (await jsonld.toRDF(document, { format: 'application/n-quads', documentLoader: loader, safe: true })) as string;
  return canonize(nquads, { algorithm: 'RDFC-1.0', inputFormat: 'application/n-quads' });
}

/**
 * ECDSA Cryptosuites v1.0 §3.2.2 "Verify Proof (ecdsa-rdfc-2019)": the document without `proof`
 * canonicalized (§3.2.4), the proof options without `proofValue` and with the document's `@context`
 * canonicalized (§3.2.5), hashData = SHA-256(proofConfig) || SHA-256(document) (§3.2.3), and the
 * `proofValue` (base58btc, r||s) an ECDSA P-256 / SHA-256 signature of hashData by the key the
 * verification method publishes. Returns false on a bad signature, throws on a malformed credential.
 */
export async function verifyEcdsaRdfc2019FromSpec(credential: Json, loader: Loader): Promise<boolean> {
  const { proof, ...unsecured } = credential as Json & { proof: Json };
  if (proof.type !== 'DataIntegrityProof' || proof.cryptosuite !== 'ecdsa-rdfc-2019') throw new Error('not an ecdsa-rdfc-2019 DataIntegrityProof');
  const { proofValue, ...options } = proof;
  const method = (await loader(String(proof.verificationMethod))).document as Json;
  if (method.type !== 'Multikey' || method.controller !== credential.issuer) throw new Error('the verification method is not a Multikey of the issuer');
  const key = p256KeyFromMultibase(String(method.publicKeyMultibase));
  const proofConfig = await rdfc10({ '@context': credential['@context'], ...options }, loader);
  const transformed = await rdfc10(unsecured, loader);
  const hashData = Buffer.concat([createHash('sha256').update(proofConfig, 'utf8').digest(), createHash('sha256').update(transformed, 'utf8').digest()]);
  const signature = decodeBase58btc(String(proofValue));
  if (signature.length !== 64) return false;
  return nodeVerify('sha256', hashData, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

// ---------------------------------------------------------------------------------------------
// Bitstring Status List
// ---------------------------------------------------------------------------------------------

/** W3C Bitstring Status List v1.0 §3.1 (Bitstring Generation Algorithm): index 0 is the left-most, most significant, bit of the first byte. */
export const bitstringBitAt = (bytes: Uint8Array, idx: number): number => (bytes[idx >> 3]! >> (7 - (idx & 7))) & 1;

/** Bitstring Status List §2.2 `encodedList`: Multibase base64url (`u`, no padding) of the GZIP-compressed bitstring (§3.2 Bitstring Expansion Algorithm). */
export function expandEncodedList(encodedList: string): Uint8Array {
  if (encodedList[0] !== 'u') throw new Error('encodedList is not Multibase base64url ("u")');
  return new Uint8Array(gunzipSync(Buffer.from(encodedList.slice(1), 'base64url')));
}

/**
 * The credential's BitstringStatusListEntry of `purpose` (VC DM 2.0 §4.10: `credentialStatus` is one
 * entry or an array of them; Bitstring Status List §2.1 statusPurpose), or undefined.
 */
export function bitstringEntry(credential: Json, purpose = 'revocation'): Json | undefined {
  const status = credential.credentialStatus as Json | Json[] | undefined;
  const entries = status === undefined ? [] : Array.isArray(status) ? status : [status];
  return entries.find((e) => e.type === 'BitstringStatusListEntry' && e.statusPurpose === purpose);
}

/**
 * The status of a credential's BitstringStatusListEntry of `purpose` as a verifier finds it
 * (Bitstring Status List §3.3 Validate Algorithm): the `statusListCredential` dereferenced through
 * the loader (over HTTP), its proof verified with `@digitalbazaar/vc` like any credential, the list's
 * `statusPurpose` the entry's, and the bit at `statusListIndex` of the expanded list. `list` is the
 * fetched list credential.
 */
export async function bitstringStatus(credential: Json, loader: Loader, now?: Date, purpose = 'revocation'): Promise<{ bit: number; list: Json }> {
  const entry = bitstringEntry(credential, purpose);
  if (!entry) throw new Error(`no BitstringStatusListEntry of purpose ${purpose}`);
  const list = (await loader(String(entry.statusListCredential))).document as Json;
  const verified = await verifyWithDigitalBazaar(list, loader, now);
  if (!verified.verified) throw new Error(`the status list credential does not verify: ${String(verified.error)}`);
  if (!(list.type as string[]).includes('BitstringStatusListCredential')) throw new Error('not a BitstringStatusListCredential');
  const subject = list.credentialSubject as Json;
  if (subject.statusPurpose !== entry.statusPurpose) throw new Error(`the list's statusPurpose ${String(subject.statusPurpose)} is not the entry's ${String(entry.statusPurpose)}`);
  const bits = expandEncodedList(String(subject.encodedList));
  const idx = Number(entry.statusListIndex);
  if (!Number.isSafeInteger(idx) || idx >= bits.length * 8) throw new Error('statusListIndex outside the list');
  return { bit: bitstringBitAt(bits, idx), list };
}
