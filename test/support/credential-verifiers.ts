import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { Decoder, Tag } from 'cbor-x';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTHeaderParameters } from 'jose';

/**
 * Verification written independently of the code that issues credentials: plain `jose` for JWS,
 * our own SHA-256 digest bookkeeping for SD-JWT (RFC 9901 §7.1), a CBOR decoder with a hand-built
 * Sig_structure and WebCrypto for COSE_Sign1 (RFC 9052 §4.4), and @peculiar/x509 for the x5chain.
 * Shared by the integration tests that check what the issuer hands out over its APIs.
 */

// ---------------------------------------------------------------------------------------------
// SD-JWT VC
// ---------------------------------------------------------------------------------------------

export type Disclosure = { encoded: string; digest: string; salt: string; name?: string; value: unknown };

/** Splits `<jwt>~<d1>~...~<dn>~` (RFC 9901 §4) and decodes each disclosure with its base64url SHA-256 digest (§4.2.3). */
export function splitSdJwt(compact: string): { jwt: string; disclosures: Disclosure[] } {
  assert.ok(compact.endsWith('~'), 'an SD-JWT without key binding ends with ~ (RFC 9901 §4)');
  const [jwt, ...rest] = compact.split('~');
  const disclosures = rest.slice(0, -1).map((encoded) => {
    const decoded = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as unknown[];
    const digest = createHash('sha256').update(encoded, 'ascii').digest('base64url');
    if (decoded.length === 3) return { encoded, digest, salt: decoded[0] as string, name: decoded[1] as string, value: decoded[2] };
    assert.equal(decoded.length, 2, 'a disclosure is [salt, name, value] or [salt, value]');
    return { encoded, digest, salt: decoded[0] as string, value: decoded[1] };
  });
  return { jwt: jwt!, disclosures };
}

/**
 * Rebuilds the claims from the signed payload and the disclosures (RFC 9901 §7.1 step 3): digests in
 * `_sd` arrays are object properties, `{"...": digest}` array entries are array elements. Returns the
 * claims and the dotted paths that came from a disclosure. Throws when a disclosure is not referenced
 * by exactly one digest (§7.1 step 4).
 */
export function unpackSdJwt(payload: Record<string, unknown>, disclosures: Disclosure[]): { claims: Record<string, unknown>; disclosed: Set<string> } {
  const byDigest = new Map(disclosures.map((d) => [d.digest, d]));
  const used = new Set<string>();
  const disclosed = new Set<string>();
  const take = (digest: unknown, kind: 'property' | 'element') => {
    assert.equal(typeof digest, 'string');
    const d = byDigest.get(digest as string);
    if (!d) return undefined; // a decoy digest (§4.2.5)
    assert.ok(!used.has(d.digest), `digest ${d.digest} referenced twice (§7.1 step 3.d)`);
    used.add(d.digest);
    assert.equal(d.name !== undefined, kind === 'property', 'disclosure form must match where its digest is (§7.1)');
    return d;
  };
  const walk = (node: unknown, path: string[]): unknown => {
    if (Array.isArray(node)) {
      const out: unknown[] = [];
      for (const el of node) {
        if (el && typeof el === 'object' && !Array.isArray(el) && Object.keys(el).length === 1 && '...' in el) {
          const d = take((el as Record<string, unknown>)['...'], 'element');
          if (!d) continue;
          disclosed.add([...path, String(out.length)].join('.'));
          out.push(walk(d.value, [...path, String(out.length)]));
        } else out.push(walk(el, [...path, String(out.length)]));
      }
      return out;
    }
    if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(obj)) if (k !== '_sd' && k !== '_sd_alg') out[k] = walk(v, [...path, k]);
      for (const digest of (obj._sd as unknown[] | undefined) ?? []) {
        const d = take(digest, 'property');
        if (!d) continue;
        assert.ok(!(d.name! in out), `disclosed claim ${d.name} already exists (§7.1 step 3.c)`);
        assert.ok(!['_sd', '...'].includes(d.name!), 'disclosure of a reserved name');
        disclosed.add([...path, d.name!].join('.'));
        out[d.name!] = walk(d.value, [...path, d.name!]);
      }
      return out;
    }
    return node;
  };
  const claims = walk(payload, []) as Record<string, unknown>;
  const unreferenced = disclosures.filter((d) => !used.has(d.digest));
  if (unreferenced.length > 0) throw new Error(`disclosures not referenced by any digest: ${unreferenced.length} (§7.1 step 4)`);
  return { claims, disclosed };
}

export interface VerifiedSdJwtVc {
  header: JWTHeaderParameters;
  payload: JWTPayload & Record<string, unknown>;
  claims: Record<string, unknown>;
  disclosed: Set<string>;
  disclosures: Disclosure[];
}

/** Verifies an SD-JWT VC's signature with the key its `kid` names in `jwks`, `typ` dc+sd-jwt, and every disclosure digest. */
export async function verifySdJwtVc(compact: string, jwks: JSONWebKeySet, opts: { issuer?: string } = {}): Promise<VerifiedSdJwtVc> {
  const { jwt, disclosures } = splitSdJwt(compact);
  const { protectedHeader, payload } = await jwtVerify(jwt, createLocalJWKSet(jwks), {
    typ: 'dc+sd-jwt',
    algorithms: ['ES256'],
    ...(opts.issuer ? { issuer: opts.issuer } : {}),
  });
  const { claims, disclosed } = unpackSdJwt(payload as Record<string, unknown>, disclosures);
  return { header: protectedHeader, payload: payload as JWTPayload & Record<string, unknown>, claims, disclosed, disclosures };
}

// ---------------------------------------------------------------------------------------------
// mdoc (ISO/IEC 18013-5)
// ---------------------------------------------------------------------------------------------

export const cbor = new Decoder({ mapsAsObjects: false, useRecords: false });

/** IssuerSigned decoded down to the MSO (ISO/IEC 18013-5 §8.3.2.1.2.2, §9.1.2.4). */
export function decodeIssuerSigned(bytes: Uint8Array) {
  const issuerSigned = cbor.decode(bytes) as Map<string, unknown>;
  assert.ok(issuerSigned instanceof Map, 'IssuerSigned is a CBOR map');
  const nameSpaces = issuerSigned.get('nameSpaces') as Map<string, Tag[]>;
  const issuerAuth = issuerSigned.get('issuerAuth') as [Uint8Array, Map<number, unknown>, Uint8Array, Uint8Array];
  assert.ok(Array.isArray(issuerAuth) && issuerAuth.length === 4, 'issuerAuth is an untagged COSE_Sign1 array');
  const msoTag = cbor.decode(issuerAuth[2]) as Tag;
  assert.ok(msoTag instanceof Tag && msoTag.tag === 24, 'the COSE payload is MobileSecurityObjectBytes = #6.24(bstr)');
  const mso = cbor.decode(msoTag.value as Uint8Array) as Map<string, any>;
  return { issuerSigned, nameSpaces, issuerAuth, mso, msoBytes: msoTag.value as Uint8Array };
}

/** CBOR major type 2 header for a byte string of `length` (RFC 8949 §3.1), written by hand. */
export function bstrHeader(length: number): Uint8Array {
  if (length < 24) return Uint8Array.of(0x40 + length);
  if (length < 0x100) return Uint8Array.of(0x58, length);
  if (length < 0x10000) return Uint8Array.of(0x59, length >> 8, length & 0xff);
  return Uint8Array.of(0x5a, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
}

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** Sig_structure for COSE_Sign1, ["Signature1", protected, h'', payload] (RFC 9052 §4.4), encoded by hand. */
export function sign1SigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  const context = Buffer.from('Signature1');
  return concat(Uint8Array.of(0x84, 0x60 + context.length), context, bstrHeader(protectedBytes.length), protectedBytes, Uint8Array.of(0x40), bstrHeader(payload.length), payload);
}

/** Each valueDigest is SHA-256 over the tag-24 IssuerSignedItemBytes (ISO/IEC 18013-5 §9.1.2.5); returns elements by identifier. */
export function checkValueDigests(nameSpaces: Map<string, Tag[]>, mso: Map<string, any>): Map<string, Map<string, unknown>> {
  const elements = new Map<string, Map<string, unknown>>();
  for (const [nameSpace, items] of nameSpaces) {
    const digests = mso.get('valueDigests').get(nameSpace) as Map<number, Uint8Array>;
    assert.equal(digests.size, items.length, `${nameSpace}: one digest per item`);
    const values = new Map<string, unknown>();
    for (const tagged of items) {
      assert.ok(tagged instanceof Tag && tagged.tag === 24, 'IssuerSignedItemBytes = #6.24(bstr .cbor IssuerSignedItem)');
      const itemBytes = tagged.value as Uint8Array;
      const digest = createHash('sha256').update(concat(Uint8Array.of(0xd8, 0x18), bstrHeader(itemBytes.length), itemBytes)).digest();
      const item = cbor.decode(itemBytes) as Map<string, unknown>;
      assert.deepEqual(Buffer.from(digests.get(item.get('digestID') as number)!), digest, String(item.get('elementIdentifier')));
      assert.ok((item.get('random') as Uint8Array).length >= 16, 'random is at least 16 bytes');
      values.set(item.get('elementIdentifier') as string, item.get('elementValue'));
    }
    elements.set(nameSpace, values);
  }
  return elements;
}

/**
 * Checks issuerAuth: protected header {1: -7}, the x5chain (label 33) leaf's key verifies the
 * signature over the Sig_structure, and the leaf is signed by one of `iacaPems`. Returns the leaf.
 */
export async function verifyIssuerAuth(issuerAuth: [Uint8Array, Map<number, unknown>, Uint8Array, Uint8Array], iacaPems: readonly string[]): Promise<x509.X509Certificate> {
  const [protectedBytes, unprotected, payload, signature] = issuerAuth;
  assert.deepEqual(cbor.decode(protectedBytes), new Map([[1, -7]]), 'protected header {1: -7} (ES256)');
  const x5chain = unprotected.get(33);
  const leafBytes = (Array.isArray(x5chain) ? x5chain[0] : x5chain) as Uint8Array;
  assert.ok(leafBytes instanceof Uint8Array, 'x5chain (label 33) carries the Document Signer certificate (RFC 9360 §2)');
  const leaf = new x509.X509Certificate(leafBytes);
  const dsKey = await leaf.publicKey.export({ name: 'ECDSA', namedCurve: 'P-256' }, ['verify'], webcrypto as never);
  assert.ok(
    await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, dsKey as webcrypto.CryptoKey, signature, sign1SigStructure(protectedBytes, payload)),
    'COSE_Sign1 signature verifies with the Document Signer key',
  );
  let chained = false;
  for (const pem of iacaPems) {
    const iaca = new x509.X509Certificate(pem);
    if (leaf.issuer === iaca.subject && (await leaf.verify({ publicKey: iaca.publicKey, date: new Date() }, webcrypto as never))) chained = true;
  }
  assert.ok(chained, 'the Document Signer chains to a published IACA');
  return leaf;
}
