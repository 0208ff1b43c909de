import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Decoder, Tag } from 'cbor-x';
import * as x509 from '@peculiar/x509';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { Verifier, parseIssuerSigned, type MdocContext, type VerificationAssessment } from '@animo-id/mdoc';
import {
  CredentialInputError,
  MDL_DOCTYPE,
  MDL_NAMESPACE,
  createDevPki,
  createLocalSigner,
  createMdocIssuer,
  type DevPki,
  type MdocIssuer,
} from '../../src/credentials/index';
import { bstrHeader, decodeIssuerSigned } from '../support/credential-verifiers';

// Independent verification of what mdoc-issuer.ts produces: a CBOR decoder (cbor-x, maps as Maps),
// a minimal hand-written CBOR walker for tags, our own SHA-256 digests and Sig_structure, WebCrypto
// for ES256, @peculiar/x509 for the chain, and then @animo-id/mdoc's verifier on top.

const document = JSON.parse(readFileSync(new URL('../fixtures/credentials/mdl-document.json', import.meta.url), 'utf8')) as Record<string, any>;
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const subtle = webcrypto.subtle;
const PID_DOCTYPE = 'eu.europa.ec.eudi.pid.1';

let pkiPromise: Promise<DevPki> | undefined;
const pki = () => (pkiPromise ??= createDevPki({ issuerUrl: 'https://issuer.example.org' }));

async function setup(now?: () => Date): Promise<{ issuer: MdocIssuer; holderJwk: JWK; pki: DevPki }> {
  const p = await pki();
  const signer = await createLocalSigner(p.documentSigner.privateJwk, { x5c: p.documentSigner.x5c });
  const issuer = createMdocIssuer({
    signer,
    docTypes: [{ docType: PID_DOCTYPE, nameSpace: PID_DOCTYPE, elements: { birth_date: 'full-date' } }],
    ...(now ? { now } : {}),
  });
  const holderJwk = await exportJWK((await generateKeyPair('ES256')).publicKey);
  return { issuer, holderJwk, pki: p };
}

const inOneYear = () => new Date(Date.now() + 365 * 86400_000);

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/**
 * All CBOR tags in `bytes` with their content (text or byte length), walking into tag-24 byte strings.
 * A deliberately tiny RFC 8949 parser: definite lengths only (we never emit indefinite ones).
 */
function collectTags(bytes: Uint8Array): { tag: number; value: unknown }[] {
  const found: { tag: number; value: unknown }[] = [];
  let pos = 0;
  const readArg = (ai: number): number => {
    if (ai < 24) return ai;
    const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[ai];
    if (!size) throw new Error(`indefinite or reserved length (ai ${ai}) at ${pos}`);
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + bytes[pos++]!;
    return n;
  };
  const item = (): unknown => {
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const ai = initial & 0x1f;
    if (major === 7) {
      pos += { 24: 1, 25: 2, 26: 4, 27: 8 }[ai] ?? 0;
      return undefined;
    }
    const arg = readArg(ai);
    switch (major) {
      case 0:
      case 1:
        return arg;
      case 2: {
        const v = bytes.subarray(pos, pos + arg);
        pos += arg;
        return v;
      }
      case 3: {
        const v = Buffer.from(bytes.subarray(pos, pos + arg)).toString('utf8');
        pos += arg;
        return v;
      }
      case 4:
        for (let i = 0; i < arg; i++) item();
        return undefined;
      case 5:
        for (let i = 0; i < arg * 2; i++) item();
        return undefined;
      case 6: {
        const inner = item();
        found.push({ tag: arg, value: inner instanceof Uint8Array ? `${inner.length} bytes` : inner });
        if (arg === 24 && inner instanceof Uint8Array) found.push(...collectTags(inner));
        return undefined;
      }
    }
    throw new Error('unreachable');
  };
  item();
  assert.equal(pos, bytes.length, 'exactly one CBOR item');
  return found;
}

/** @animo-id/mdoc's platform context, implemented with WebCrypto and @peculiar/x509. */
const animoContext: Pick<MdocContext, 'crypto' | 'cose' | 'x509'> = {
  crypto: {
    random: (length) => webcrypto.getRandomValues(new Uint8Array(length)),
    digest: async ({ digestAlgorithm, bytes }) => new Uint8Array(await subtle.digest(digestAlgorithm, bytes)),
    calculateEphemeralMacKeyJwk: () => {
      throw new Error('not needed for issuer-signed verification');
    },
  },
  cose: {
    sign1: {
      sign: () => {
        throw new Error('verification only');
      },
      verify: async ({ jwk, sign1, options }) => {
        const { data, signature } = sign1.getRawVerificationData(options);
        const key = await subtle.importKey('jwk', jwk as webcrypto.JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
        return subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, signature, data);
      },
    },
    mac0: {
      sign: () => {
        throw new Error('verification only');
      },
      verify: () => {
        throw new Error('not needed for issuer-signed verification');
      },
    },
  },
  x509: {
    // ISO/IEC 18013-5 compares issuing_country with the countryName of the DS certificate's subject.
    getIssuerNameField: ({ certificate, field }) => new x509.X509Certificate(certificate).subjectName.getField(field),
    getPublicKey: async ({ certificate }) => {
      const key = await new x509.X509Certificate(certificate).publicKey.export(webcrypto as never);
      return (await subtle.exportKey('jwk', key as webcrypto.CryptoKey)) as never;
    },
    validateCertificateChain: async ({ trustedCertificates, x5chain }) => {
      const leaf = new x509.X509Certificate(x5chain[0]);
      const roots = trustedCertificates.map((c) => new x509.X509Certificate(c));
      const root = roots.find((r) => r.subject === leaf.issuer);
      if (!root) throw new Error('no trusted IACA issued the Document Signer');
      if (!(await leaf.verify({ publicKey: root.publicKey, date: new Date() }, webcrypto as never))) throw new Error('bad DS signature');
    },
    getCertificateData: async ({ certificate }) => {
      const c = new x509.X509Certificate(certificate);
      return {
        issuerName: c.issuer,
        subjectName: c.subject,
        serialNumber: c.serialNumber,
        thumbprint: Buffer.from(await c.getThumbprint(webcrypto as never)).toString('hex'),
        notBefore: c.notBefore,
        notAfter: c.notAfter,
        pem: c.toString('pem'),
      };
    },
  },
};

async function animoVerify(bytes: Uint8Array, trusted: string, opts: { expectedDocType?: string; now?: Date } = {}) {
  const checks: VerificationAssessment[] = [];
  const onCheckG = (c: VerificationAssessment) => checks.push(c);
  const mdoc = parseIssuerSigned(bytes, opts.expectedDocType);
  const verifier = new Verifier();
  await verifier.verifyIssuerSignature(
    {
      trustedCertificates: [new Uint8Array(new x509.X509Certificate(trusted).rawData)],
      issuerAuth: mdoc.issuerSigned.issuerAuth,
      disableCertificateChainValidation: false,
      onCheckG,
      ...(opts.now ? { now: opts.now } : {}),
    },
    animoContext,
  );
  await verifier.verifyData({ mdoc, onCheckG }, animoContext);
  return { mdoc, checks, failed: checks.filter((c) => c.status === 'FAILED') };
}

test('each valueDigest is SHA-256 over the tag-24 IssuerSignedItemBytes (ISO/IEC 18013-5 §9.1.2.5)', async () => {
  const { issuer, holderJwk } = await setup();
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil: inOneYear() });
  const { nameSpaces, mso } = decodeIssuerSigned(issued.issuerSigned);
  assert.equal(mso.get('version'), '1.0');
  assert.equal(mso.get('digestAlgorithm'), 'SHA-256');
  assert.equal(mso.get('docType'), MDL_DOCTYPE);
  const items = nameSpaces.get(MDL_NAMESPACE)!;
  const digests = mso.get('valueDigests').get(MDL_NAMESPACE) as Map<number, Uint8Array>;
  assert.equal(items.length, Object.keys(document).length);
  assert.equal(digests.size, items.length);
  const seen = new Set<number>();
  for (const tagged of items) {
    assert.ok(tagged instanceof Tag && tagged.tag === 24 && tagged.value instanceof Uint8Array, 'IssuerSignedItemBytes = #6.24(bstr .cbor IssuerSignedItem)');
    const itemBytes = tagged.value as Uint8Array;
    const recomputed = sha256(concat(Uint8Array.of(0xd8, 0x18), bstrHeader(itemBytes.length), itemBytes));
    const item = decoder.decode(itemBytes) as Map<string, unknown>;
    assert.deepEqual([...item.keys()], ['digestID', 'random', 'elementIdentifier', 'elementValue']);
    const digestID = item.get('digestID') as number;
    assert.ok(!seen.has(digestID), 'digestIDs are unique per namespace');
    seen.add(digestID);
    assert.deepEqual(Buffer.from(digests.get(digestID)!), Buffer.from(recomputed), String(item.get('elementIdentifier')));
    assert.ok((item.get('random') as Uint8Array).length >= 16, 'random is at least 16 bytes');
  }
});

test('issuerAuth is a COSE_Sign1 over Sig_structure ["Signature1", protected, h\'\', payload] verifying with the DS key (RFC 9052 §4.4)', async () => {
  const { issuer, holderJwk, pki: p } = await setup();
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil: inOneYear() });
  const { issuerAuth } = decodeIssuerSigned(issued.issuerSigned);
  const [protectedBytes, unprotected, payload, signature] = issuerAuth;
  assert.deepEqual(decoder.decode(protectedBytes), new Map([[1, -7]]), 'protected header {1: -7} (ES256)');
  const x5chain = unprotected.get(33) as Uint8Array;
  assert.ok(x5chain instanceof Uint8Array, 'a single-certificate x5chain is a bstr (RFC 9360 §2)');
  assert.equal(Buffer.from(x5chain).toString('base64'), p.documentSigner.x5c[0]);
  assert.equal(signature.length, 64, 'ES256 signature is r||s');
  const text = Buffer.from('Signature1');
  const sigStructure = concat(Uint8Array.of(0x84, 0x60 + text.length), text, bstrHeader(protectedBytes.length), protectedBytes, Uint8Array.of(0x40), bstrHeader(payload.length), payload);
  const dsKey = await new x509.X509Certificate(x5chain).publicKey.export({ name: 'ECDSA', namedCurve: 'P-256' }, ['verify'], webcrypto as never);
  assert.ok(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, dsKey as webcrypto.CryptoKey, signature, sigStructure));
});

test('the x5chain Document Signer is signed by the IACA and carries the mdoc DS profile (ISO/IEC 18013-5 Annex B)', async () => {
  const { issuer, holderJwk, pki: p } = await setup();
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil: inOneYear() });
  const ds = new x509.X509Certificate(decodeIssuerSigned(issued.issuerSigned).issuerAuth[1].get(33) as Uint8Array);
  const iaca = new x509.X509Certificate(p.iaca.certificatePem);
  assert.ok(await ds.verify({ publicKey: iaca.publicKey, date: new Date() }, webcrypto as never));
  assert.equal(ds.issuer, iaca.subject);
  assert.ok(await iaca.verify({ date: new Date() }, webcrypto as never), 'the IACA is self-signed');
  const bc = iaca.getExtension(x509.BasicConstraintsExtension)!;
  assert.ok(bc.ca && bc.pathLength === 0 && bc.critical);
  const iacaKu = iaca.getExtension(x509.KeyUsagesExtension)!;
  assert.equal(iacaKu.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.equal(ds.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
  assert.deepEqual([...ds.getExtension(x509.ExtendedKeyUsageExtension)!.usages], ['1.0.18013.5.1.2']);
  assert.ok(ds.getExtension(x509.ExtendedKeyUsageExtension)!.critical);
  assert.deepEqual(ds.subjectName.getField('C'), ['SE']);
  assert.deepEqual(iaca.subjectName.getField('C'), ['SE']);
});

test('CBOR tags: tdate #6.0 without fractions, full-date #6.1004, #6.24 items, nothing else (ISO/IEC 18013-5 §7.2.1, §9.1.2.4)', async () => {
  const { issuer, holderJwk } = await setup();
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil: inOneYear() });
  const { issuerAuth } = decodeIssuerSigned(issued.issuerSigned);
  const tags = [...collectTags(issued.issuerSigned), ...collectTags(issuerAuth[2])];
  assert.deepEqual([...new Set(tags.map((t) => t.tag))].sort((a, b) => a - b), [0, 24, 1004], 'no tag 1, 64 or 18 anywhere');
  const tdates = tags.filter((t) => t.tag === 0).map((t) => t.value as string);
  assert.equal(tdates.length, 3, 'signed, validFrom, validUntil');
  for (const t of tdates) assert.match(t, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const fullDates = tags.filter((t) => t.tag === 1004).map((t) => t.value).sort();
  assert.deepEqual(fullDates, ['1985-04-12', '2001-06-01', '2004-05-01', '2024-01-15', '2034-01-14', '2034-01-14'].sort());
});

test('mDL element values: portrait bytes, driving_privileges dates, issuing_country equals the DS country (ISO/IEC 18013-5 §7.2)', async () => {
  const { issuer, holderJwk, pki: p } = await setup();
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil: inOneYear() });
  const { nameSpaces, mso } = decodeIssuerSigned(issued.issuerSigned);
  const values = new Map(
    nameSpaces.get(MDL_NAMESPACE)!.map((t) => {
      const item = decoder.decode(t.value as Uint8Array) as Map<string, unknown>;
      return [item.get('elementIdentifier') as string, item.get('elementValue')];
    }),
  );
  assert.ok(values.get('portrait') instanceof Uint8Array);
  assert.deepEqual(Buffer.from(values.get('portrait') as Uint8Array), Buffer.from(document.portrait, 'base64'));
  const birth = values.get('birth_date') as Tag;
  assert.ok(birth instanceof Tag && birth.tag === 1004 && birth.value === '1985-04-12');
  const privileges = values.get('driving_privileges') as Map<string, unknown>[];
  assert.equal(privileges[0]!.get('vehicle_category_code'), 'B');
  assert.equal((privileges[0]!.get('expiry_date') as Tag).tag, 1004);
  assert.deepEqual(privileges[1]!.get('codes'), [new Map([['code', '78']])]);
  assert.equal(values.get('age_in_years'), 40, 'uint elements are integers');
  assert.equal(values.get('age_over_18'), true);
  const dsCountry = new x509.X509Certificate(p.documentSigner.certificatePem).subjectName.getField('C')[0];
  assert.equal(values.get('issuing_country'), dsCountry);
  const deviceKey = mso.get('deviceKeyInfo').get('deviceKey') as Map<number, unknown>;
  assert.equal(deviceKey.get(1), 2);
  assert.equal(deviceKey.get(-1), 1);
  assert.equal(Buffer.from(deviceKey.get(-2) as Uint8Array).toString('base64url'), holderJwk.x);
  assert.equal(Buffer.from(deviceKey.get(-3) as Uint8Array).toString('base64url'), holderJwk.y);
});

test('validityInfo: signed is the issuance time without fractional seconds (ISO/IEC 18013-5 §9.1.2.4)', async () => {
  const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000 + 789);
  const { issuer, holderJwk } = await setup(() => issuedAt);
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil: inOneYear() });
  const validity = decodeIssuerSigned(issued.issuerSigned).mso.get('validityInfo') as Map<string, Date>;
  assert.equal(validity.get('signed')!.getTime(), issuedAt.getTime() - 789);
  assert.equal(issued.signed.getTime(), issuedAt.getTime() - 789);
});

test('validFrom is clamped to signed when the document validity started earlier (ISO/IEC 18013-5 §9.1.2.4)', async () => {
  const { issuer, holderJwk } = await setup();
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validFrom: new Date(Date.now() - 86400_000), validUntil: inOneYear() });
  const validity = decodeIssuerSigned(issued.issuerSigned).mso.get('validityInfo') as Map<string, Date>;
  assert.equal(validity.get('signed')!.getTime() % 1000, 0);
  assert.equal(validity.get('validFrom')!.getTime(), validity.get('signed')!.getTime());
  assert.ok(Math.abs(validity.get('signed')!.getTime() - Date.now()) < 5000);
  assert.equal(issued.credential, Buffer.from(issued.issuerSigned).toString('base64url'));
});

test('@animo-id/mdoc verifies issuer signature, chain to the IACA, digests and issuing_country', async () => {
  const { issuer, holderJwk, pki: p } = await setup();
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil: inOneYear() });
  const { mdoc, checks, failed } = await animoVerify(issued.issuerSigned, p.iaca.certificatePem, { expectedDocType: MDL_DOCTYPE });
  assert.deepEqual(failed, []);
  assert.ok(checks.some((c) => c.check === 'Issuer signature must be valid' && c.status === 'PASSED'));
  assert.ok(checks.some((c) => c.check === 'Issuer certificate must be valid' && c.status === 'PASSED'));
  assert.ok(checks.some((c) => /issuing_country/.test(c.check) && c.status === 'PASSED'));
  assert.equal(mdoc.docType, MDL_DOCTYPE);
  assert.equal(mdoc.getIssuerNameSpace(MDL_NAMESPACE)?.get('family_name'), 'Andersson');
});

test('a configured doctype is issued in its own namespace and rejected where an mDL is expected (wrong doctype)', async () => {
  const { issuer, holderJwk, pki: p } = await setup();
  const issued = await issuer.issue({ docType: PID_DOCTYPE, claims: { family_name: 'Andersson', birth_date: '1985-04-12' }, holderJwk, validUntil: inOneYear() });
  const { nameSpaces, mso } = decodeIssuerSigned(issued.issuerSigned);
  assert.deepEqual([...nameSpaces.keys()], [PID_DOCTYPE]);
  assert.equal(mso.get('docType'), PID_DOCTYPE);
  assert.deepEqual((await animoVerify(issued.issuerSigned, p.iaca.certificatePem, { expectedDocType: PID_DOCTYPE })).failed, []);
  assert.throws(() => parseIssuerSigned(issued.issuerSigned, MDL_DOCTYPE), /docType must be org\.iso\.18013\.5\.1\.mDL/);
  await assert.rejects(
    issuer.issue({ docType: 'org.example.unknown', claims: { a: 1 }, holderJwk, validUntil: inOneYear() }),
    (e: unknown) => e instanceof CredentialInputError && e.code === 'unknown_doctype',
  );
});

test('a tampered element value fails its digest (ISO/IEC 18013-5 §9.3.1)', async () => {
  const { issuer, holderJwk, pki: p } = await setup();
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil: inOneYear() });
  const needle = Buffer.from('Andersson');
  const bytes = Buffer.from(issued.issuerSigned);
  const at = bytes.indexOf(needle);
  assert.ok(at > 0);
  Buffer.from('Anderssoo').copy(bytes, at); // same length: the structure stays valid CBOR
  const { failed } = await animoVerify(new Uint8Array(bytes), p.iaca.certificatePem, { expectedDocType: MDL_DOCTYPE });
  assert.deepEqual(failed.map((c) => c.check), ['The calculated digest for org.iso.18013.5.1/family_name attribute must match the digest in the issuerAuth element']);
});

test('verification against another IACA or another DS key fails (wrong key)', async () => {
  const { issuer, holderJwk } = await setup();
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil: inOneYear() });
  const other = await createDevPki();
  const { failed } = await animoVerify(issued.issuerSigned, other.iaca.certificatePem, { expectedDocType: MDL_DOCTYPE });
  assert.deepEqual(failed.map((c) => c.check), ['Issuer certificate must be valid']);
  const [protectedBytes, , payload, signature] = decodeIssuerSigned(issued.issuerSigned).issuerAuth;
  const text = Buffer.from('Signature1');
  const sigStructure = concat(Uint8Array.of(0x84, 0x6a), text, bstrHeader(protectedBytes.length), protectedBytes, Uint8Array.of(0x40), bstrHeader(payload.length), payload);
  const wrongKey = await new x509.X509Certificate(other.documentSigner.certificatePem).publicKey.export({ name: 'ECDSA', namedCurve: 'P-256' }, ['verify'], webcrypto as never);
  assert.equal(await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, wrongKey as webcrypto.CryptoKey, signature, sigStructure), false);
});

test('an mdoc past validUntil is rejected by the verifier (expired validity)', async () => {
  const { issuer, holderJwk, pki: p } = await setup();
  const validUntil = new Date(Date.now() + 86400_000);
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: document, holderJwk, validUntil });
  const { failed } = await animoVerify(issued.issuerSigned, p.iaca.certificatePem, { now: new Date(validUntil.getTime() + 1000) });
  assert.ok(failed.some((c) => c.check === 'The MSO must be valid at the time of verification'));
});

test('the issuer refuses an issuing_country other than the DS country, bad dates and bad portraits', async () => {
  const { issuer, holderJwk } = await setup();
  const base = { docType: MDL_DOCTYPE, holderJwk, validUntil: inOneYear() };
  const rejectsWith = (claims: Record<string, unknown>, code: string) =>
    assert.rejects(issuer.issue({ ...base, claims }), (e: unknown) => e instanceof CredentialInputError && e.code === code);
  await rejectsWith({ ...document, issuing_country: 'NO' }, 'issuing_country_mismatch');
  await rejectsWith({ ...document, birth_date: '1985-02-30' }, 'invalid_element_value');
  await rejectsWith({ ...document, portrait: 'not base64!' }, 'invalid_element_value');
  await rejectsWith({ ...document, driving_privileges: [{ issue_date: '2020-01-01' }] }, 'invalid_element_value');
  await assert.rejects(issuer.issue({ ...base, claims: document, validUntil: new Date(Date.now() - 1000) }), (e: unknown) => e instanceof CredentialInputError && e.code === 'invalid_validity');
});

test('issuing_country is filled from the DS certificate when the document omits it', async () => {
  const { issuer, holderJwk } = await setup();
  const { issuing_country: _omit, ...withoutCountry } = document;
  const issued = await issuer.issue({ docType: MDL_DOCTYPE, claims: withoutCountry, holderJwk, validUntil: inOneYear() });
  const items = decodeIssuerSigned(issued.issuerSigned).nameSpaces.get(MDL_NAMESPACE)!.map((t) => decoder.decode(t.value as Uint8Array) as Map<string, unknown>);
  assert.equal(items.find((i) => i.get('elementIdentifier') === 'issuing_country')?.get('elementValue'), 'SE');
});
