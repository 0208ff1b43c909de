import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type BearerGateway, OTHER_CLIENT_TOKEN, startBearerGateway } from '../support/bearer-gateway';
import { certificateText, extension, openssl, opensslCsr, tamperedCsr, verifyChain } from '../support/openssl';

/**
 * The X.509 service's ISO endpoints (seed 003 "Create an IACA certificate", "Create a Document Signer
 * certificate") against the ISO/IEC 18013-5:2021 Annex B profiles, every certificate checked
 * independently: node:crypto's X509Certificate (OpenSSL's parser) and the openssl CLI
 * (`openssl verify -x509_strict` for the chain, `openssl x509 -text` for each extension).
 */
const TARGET = 'test.tenant1.x509-service-1';
const KMS = 'test.tenant1.kms1';
const DAY = 86_400_000;

/** The seed's IACA request, verbatim. */
const seedIacaRequest = () => ({
  storedCertificateId: 'iaca-prod-2026-q1',
  certificateData: { country: 'US', commonName: 'Example IACA', issuerAlternativeNameConf: { uri: 'https://iaca.example.com' } },
  vicalEntryComplementaryMetadata: { docType: ['org.iso.18013.5.1.mDL'], certificateProfile: ['org.iso.18013.5.1.iaca'] },
  iacaKeyDesc: { type: 'kms-hosted-key-descriptor', keyIdPath: 'test.tenant1.kms1.secp256r1' },
});

/** The seed's IACA data of the Document Signer example (explicit validity 2025-05-28 to 2040-05-24). */
const seedIacaData = () => ({
  country: 'US',
  commonName: 'Example IACA',
  notBefore: '2025-05-28T12:23:01Z',
  notAfter: '2040-05-24T12:23:01Z',
  issuerAlternativeNameConf: { uri: 'https://iaca.example.com' },
});

/** The seed's Document Signer request, verbatim. */
const seedDsRequest = () => ({
  storedCertificateId: 'ds-mainline-2026-01',
  iacaSigner: { type: 'iaca-cert-data-descriptor', iacaKeyDesc: { type: 'kms-hosted-key-descriptor', keyIdPath: 'test.tenant1.kms1.iaca-secp256r1' }, certificateData: seedIacaData() },
  certificateData: { country: 'US', commonName: 'Example DS', crlDistributionPointUri: 'https://crl-example.com' },
  dsPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: 'test.tenant1.kms1.ds-secp256r1' } },
});

/** Asserts the Annex B IACA profile on `pem` with openssl and node:crypto. */
function assertIacaProfile(pem: string, subject: string) {
  const cert = new X509Certificate(pem);
  assert.equal(cert.subject, subject);
  assert.equal(cert.issuer, subject, 'self-issued');
  assert.ok(cert.ca);
  assert.ok(cert.verify(cert.publicKey), 'self-signed');
  const text = certificateText(pem);
  assert.deepEqual(extension(text, 'X509v3 Basic Constraints'), { critical: true, value: 'CA:TRUE, pathlen:0' });
  assert.deepEqual(extension(text, 'X509v3 Key Usage'), { critical: true, value: 'Certificate Sign, CRL Sign' });
  assert.equal(extension(text, 'X509v3 Subject Key Identifier')?.critical, false);
  assert.equal(extension(text, 'X509v3 Issuer Alternative Name')?.critical, false);
  assertRandomSerial(cert);
  return { cert, text };
}

/** A positive serial (RFC 5280 §4.1.2.2) with at least 63 random bits (Annex B): 16 bytes, top bit clear. */
function assertRandomSerial(cert: X509Certificate) {
  assert.match(cert.serialNumber, /^[0-9A-F]{32}$/);
  assert.ok(parseInt(cert.serialNumber.slice(0, 2), 16) < 0x80, 'positive');
}

/** Asserts the Annex B Document Signer profile of `dsPem` under `iacaPem`, chain verified by openssl. */
function assertDsProfile(dsPem: string, iacaPem: string, opts: { subject: string; crl: string; issuerAltName: string }) {
  const verified = verifyChain(iacaPem, dsPem);
  assert.ok(verified.ok, verified.output);
  const ds = new X509Certificate(dsPem);
  const iaca = new X509Certificate(iacaPem);
  assert.equal(ds.subject, opts.subject);
  assert.equal(ds.issuer, iaca.subject);
  assert.ok(ds.checkIssued(iaca));
  assert.ok(ds.verify(iaca.publicKey));
  assert.equal(ds.ca, false);
  assertRandomSerial(ds);
  const text = certificateText(dsPem);
  assert.deepEqual(extension(text, 'X509v3 Key Usage'), { critical: true, value: 'Digital Signature' });
  assert.deepEqual(extension(text, 'X509v3 Extended Key Usage'), { critical: true, value: '1.0.18013.5.1.2' });
  assert.equal(extension(text, 'X509v3 Basic Constraints'), undefined);
  assert.equal(extension(text, 'X509v3 Authority Key Identifier')?.value, extension(certificateText(iacaPem), 'X509v3 Subject Key Identifier')?.value, 'AKI = the IACA\'s SKI');
  assert.ok(extension(text, 'X509v3 Subject Key Identifier'));
  assert.deepEqual(extension(text, 'X509v3 CRL Distribution Points'), { critical: false, value: `Full Name:\nURI:${opts.crl}` });
  assert.deepEqual(extension(text, 'X509v3 Issuer Alternative Name'), { critical: false, value: opts.issuerAltName });
  assert.ok(Date.parse(ds.validTo) - Date.parse(ds.validFrom) <= 457 * DAY, 'at most 457 days');
  assert.ok(Date.parse(ds.validTo) <= Date.parse(iaca.validTo) && Date.parse(ds.validFrom) >= Date.parse(iaca.validFrom), 'inside the IACA\'s validity');
  return { ds, text };
}

describe('X.509 service ISO endpoints (IACA, Document Signer), against real PostgreSQL', () => {
  let gw: BearerGateway;
  const post = (what: 'iacas' | 'document-signers', body: unknown, token?: string) => gw.call('POST', `/v1/${TARGET}/x509-service-api/iso/${what}`, body, token);
  const kmsKey = async (id: string, keyType: string) => {
    const res = await gw.call('POST', `/v1/${KMS}.${id}/kms-service-api/keys/generate`, { keyType });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  before(async () => {
    gw = await startBearerGateway();
    await kmsKey('secp256r1', 'secp256r1');
    await kmsKey('iaca-secp256r1', 'secp256r1');
    await kmsKey('ds-secp256r1', 'secp256r1');
  });
  after(async () => gw?.close());

  test('the seed\'s IACA request: the seed\'s response shape, and a certificate of the Annex B IACA profile', async () => {
    const { status, body } = await post('iacas', seedIacaRequest());
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.storedCertificateIds, undefined, 'no store attached: omitted (seed)');
    assert.deepEqual(Object.keys(body.certificateData).sort(), ['commonName', 'country', 'issuerAlternativeNameConf', 'notAfter', 'notBefore']);
    assert.deepEqual(body.certificateData.issuerAlternativeNameConf, { uri: 'https://iaca.example.com' });
    assert.match(body.certificateData.notBefore, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const { cert, text } = assertIacaProfile(body.certificatePEM, 'C=US\nCN=Example IACA');
    assert.equal(extension(text, 'X509v3 Issuer Alternative Name')?.value, 'URI:https://iaca.example.com');
    assert.equal(Date.parse(cert.validFrom), Date.parse(body.certificateData.notBefore));
    assert.equal(Date.parse(cert.validTo), Date.parse(body.certificateData.notAfter));
    const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365.25 * DAY);
    assert.ok(years > 14.9 && years < 15.1, `default validity 15 years, got ${years}`);
    // The certified key is the KMS key.
    const jwk = (await gw.call('GET', `/v1/${KMS}.secp256r1/kms-service-api/keys/jwk`)).body;
    const certified = cert.publicKey.export({ format: 'jwk' });
    assert.equal(certified.x, jwk.x);
    assert.equal(certified.y, jwk.y);
  });

  test('the seed\'s Document Signer request under the IACA issued from the same data: openssl verify -x509_strict, every DS profile field', async () => {
    const iacaRes = await post('iacas', { certificateData: seedIacaData(), iacaKeyDesc: seedDsRequest().iacaSigner.iacaKeyDesc });
    assert.equal(iacaRes.status, 200, JSON.stringify(iacaRes.body));
    assert.equal(iacaRes.body.certificateData.notBefore, '2025-05-28T12:23:01Z');
    assert.equal(iacaRes.body.certificateData.notAfter, '2040-05-24T12:23:01Z');
    const { status, body } = await post('document-signers', seedDsRequest());
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.storedCertificateIds, undefined);
    assert.deepEqual(Object.keys(body.certificateData).sort(), ['commonName', 'country', 'crlDistributionPointUri', 'notAfter', 'notBefore']);
    const { ds } = assertDsProfile(body.certificatePEM, iacaRes.body.certificatePEM, { subject: 'C=US\nCN=Example DS', crl: 'https://crl-example.com', issuerAltName: 'URI:https://iaca.example.com' });
    const days = (Date.parse(ds.validTo) - Date.parse(ds.validFrom)) / DAY;
    assert.ok(Math.abs(days - 365) < 0.01, `default validity 365 days, got ${days}`);
    const dsJwk = (await gw.call('GET', `/v1/${KMS}.ds-secp256r1/kms-service-api/keys/jwk`)).body;
    assert.equal(ds.publicKey.export({ format: 'jwk' }).x, dsJwk.x, 'the DS certifies the KMS key');
  });

  test('JWK keys: a P-384 IACA from a private JWK, then an Ed25519 Document Signer under its PEM (iaca-pem-cert-descriptor) for a public JWK', async () => {
    const iacaJwk = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
    const dsJwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const iaca = await post('iacas', {
      certificateData: { country: 'SE', stateOrProvinceName: 'Stockholm', organizationName: 'Example Org', commonName: 'P-384 IACA', issuerAlternativeNameConf: { email: 'pki@example.se' } },
      iacaKeyDesc: { type: 'jwk-encoded-key-descriptor', jwk: iacaJwk },
    });
    assert.equal(iaca.status, 200, JSON.stringify(iaca.body));
    assertIacaProfile(iaca.body.certificatePEM, 'C=SE\nST=Stockholm\nO=Example Org\nCN=P-384 IACA');
    assert.match(certificateText(iaca.body.certificatePEM), /Signature Algorithm: ecdsa-with-SHA384/);
    const ds = await post('document-signers', {
      iacaSigner: { type: 'iaca-pem-cert-descriptor', iacaPemEncodedCertificate: iaca.body.certificatePEM, iacaKeyDesc: { type: 'jwk-encoded-key-descriptor', jwk: JSON.stringify(iacaJwk) } },
      certificateData: { country: 'SE', stateOrProvinceName: 'Stockholm', commonName: 'Ed25519 DS', notAfter: new Date(Date.now() + 30 * DAY).toISOString(), crlDistributionPointUri: 'https://pki.example.se/iaca.crl' },
      dsPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'jwk-encoded-key-descriptor', jwk: dsJwk } },
    });
    assert.equal(ds.status, 200, JSON.stringify(ds.body));
    const { text } = assertDsProfile(ds.body.certificatePEM, iaca.body.certificatePEM, { subject: 'C=SE\nST=Stockholm\nCN=Ed25519 DS', crl: 'https://pki.example.se/iaca.crl', issuerAltName: 'email:pki@example.se' });
    assert.match(text, /Public Key Algorithm: ED25519/);
  });

  test('a CSR made by openssl (its key, not the CSR\'s subject, is certified); the legacy dsKeyDescriptor', async () => {
    const iaca = (await post('iacas', { certificateData: seedIacaData(), iacaKeyDesc: seedDsRequest().iacaSigner.iacaKeyDesc })).body.certificatePEM;
    const csr = opensslCsr();
    const ds = await post('document-signers', { ...seedDsRequest(), dsPublicKeySource: { type: 'csr', csr } });
    assert.equal(ds.status, 200, JSON.stringify(ds.body));
    assertDsProfile(ds.body.certificatePEM, iaca, { subject: 'C=US\nCN=Example DS', crl: 'https://crl-example.com', issuerAltName: 'URI:https://iaca.example.com' });
    const csrKey = openssl(['req', '-in', { file: 'r.pem', content: csr }, '-noout', '-pubkey']).stdout;
    const certKey = openssl(['x509', '-in', { file: 'c.pem', content: ds.body.certificatePEM }, '-noout', '-pubkey']).stdout;
    assert.equal(certKey, csrKey);

    const { dsPublicKeySource, ...legacy } = seedDsRequest();
    const viaLegacy = await post('document-signers', { ...legacy, dsKeyDescriptor: dsPublicKeySource.keyDescriptor });
    assert.equal(viaLegacy.status, 200, JSON.stringify(viaLegacy.body));
    assert.ok(verifyChain(iaca, viaLegacy.body.certificatePEM).ok);
  });

  test('refused with 400 INVALID_FORMAT naming the field: a CSR with a bad signature, a key not matching the IACA PEM, an unknown key path, another client\'s key', async () => {
    const tampered = tamperedCsr(opensslCsr());
    const iacaPem = (await post('iacas', { certificateData: seedIacaData(), iacaKeyDesc: seedDsRequest().iacaSigner.iacaKeyDesc })).body.certificatePEM;
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const cases: [string, 'iacas' | 'document-signers', unknown, string, RegExp, string?][] = [
      ['bad CSR signature', 'document-signers', { ...seedDsRequest(), dsPublicKeySource: { type: 'csr', csr: tampered } }, 'dsPublicKeySource.csr', /signature does not verify/],
      ['not a CSR', 'document-signers', { ...seedDsRequest(), dsPublicKeySource: { type: 'csr', csr: 'hello' } }, 'dsPublicKeySource.csr', /PKCS #10/],
      ['IACA key does not match its PEM', 'document-signers', { ...seedDsRequest(), iacaSigner: { type: 'iaca-pem-cert-descriptor', iacaPemEncodedCertificate: iacaPem, iacaKeyDesc: { type: 'jwk-encoded-key-descriptor', jwk: otherKey } } }, 'iacaSigner.iacaKeyDesc', /does not match/],
      ['unknown IACA key path', 'iacas', { ...seedIacaRequest(), iacaKeyDesc: { type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.nope` } }, 'iacaKeyDesc.keyIdPath', /no key at this key path/],
      ['unknown DS key path', 'document-signers', { ...seedDsRequest(), dsPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.nope` } } }, 'dsPublicKeySource.keyDescriptor.keyIdPath', /no key/],
      ['another client\'s key', 'iacas', seedIacaRequest(), 'iacaKeyDesc.keyIdPath', /no key/, OTHER_CLIENT_TOKEN],
      ['JWK signing key without d', 'iacas', { ...seedIacaRequest(), iacaKeyDesc: { type: 'jwk-encoded-key-descriptor', jwk: { kty: 'EC', crv: 'P-256', x: otherKey.x, y: otherKey.y } } }, 'iacaKeyDesc.jwk.d', /private part/],
    ];
    for (const [name, what, body, field, message, token] of cases) {
      const res = await post(what, body, token);
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'INVALID_FORMAT', name);
      assert.match(res.body.error.message, message, name);
      assert.deepEqual(res.body.error.details.fields.map((f: { path: string }) => f.path), [field], name);
    }
  });

  test('the profiles\' limits: DS country must be the IACA\'s, DS at most 457 days and inside the IACA, IACA at most 20 years, issuerAltName and CRL distribution point required (for an IACA without a CRL here)', async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const ds = seedDsRequest();
    const cases: [string, 'iacas' | 'document-signers', unknown, string][] = [
      ['DS country', 'document-signers', { ...ds, certificateData: { ...ds.certificateData, country: 'SE' } }, 'certificateData.country'],
      ['DS 458 days', 'document-signers', { ...ds, certificateData: { ...ds.certificateData, notBefore: iso(now), notAfter: iso(now + 458 * DAY) } }, 'certificateData.notAfter'],
      ['DS after the IACA', 'document-signers', { ...ds, certificateData: { ...ds.certificateData, notBefore: '2040-01-01T00:00:00Z', notAfter: '2040-06-01T00:00:00Z' } }, 'certificateData.notAfter'],
      ['DS before the IACA', 'document-signers', { ...ds, iacaSigner: { ...ds.iacaSigner, certificateData: { ...seedIacaData(), notBefore: iso(now + 10 * DAY) } } }, 'certificateData.notBefore'],
      ['DS in the past', 'document-signers', { ...ds, certificateData: { ...ds.certificateData, notBefore: '2025-06-01T00:00:00Z', notAfter: '2025-07-01T00:00:00Z' } }, 'certificateData.notAfter'],
      // Required unless the IACA is one this service serves a CRL for (test/integration/x509-crls.test.ts): this IACA data names none issued here.
      ['DS without CRL distribution point', 'document-signers', { ...ds, iacaSigner: { ...ds.iacaSigner, certificateData: { ...seedIacaData(), commonName: 'IACA not issued here' } }, certificateData: { country: 'US', commonName: 'Example DS' } }, 'certificateData.crlDistributionPointUri'],
      ['IACA 20 years and a day', 'iacas', { ...seedIacaRequest(), certificateData: { ...seedIacaRequest().certificateData, notBefore: '2026-01-01T00:00:00Z', notAfter: '2046-01-02T00:00:00Z' } }, 'certificateData.notAfter'],
      ['IACA without issuerAltName', 'iacas', { ...seedIacaRequest(), certificateData: { country: 'US', commonName: 'Example IACA', issuerAlternativeNameConf: {} } }, 'certificateData.issuerAlternativeNameConf'],
      ['IACA country not alpha-2', 'iacas', { ...seedIacaRequest(), certificateData: { ...seedIacaRequest().certificateData, country: 'USA' } }, 'certificateData.country'],
      ['both DS key sources', 'document-signers', { ...ds, dsKeyDescriptor: ds.dsPublicKeySource.keyDescriptor }, 'dsPublicKeySource'],
      ['unknown IACA signer type', 'document-signers', { ...ds, iacaSigner: { type: 'iaca-magic' } }, 'iacaSigner.type'],
    ];
    for (const [name, what, body, field] of cases) {
      const res = await post(what, body);
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
      assert.ok(res.body.error.details.fields.some((f: { path: string }) => f.path === field), `${name}: ${JSON.stringify(res.body.error)}`);
    }
    // Exactly 20 years is allowed.
    const twenty = await post('iacas', { ...seedIacaRequest(), certificateData: { ...seedIacaRequest().certificateData, notBefore: '2026-01-01T00:00:00Z', notAfter: '2046-01-01T00:00:00Z' } });
    assert.equal(twenty.status, 200, JSON.stringify(twenty.body));
  });

  test('Bearer authentication: no token and a wrong token are 401; malformed JSON 400; a target that is not {org}.{tenant}.{service} 404', async () => {
    assert.equal((await post('iacas', seedIacaRequest(), '')).status, 401);
    const wrong = await post('document-signers', seedDsRequest(), 'wrong-token-0000');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'UNAUTHORIZED');
    const broken = await post('iacas', '{"certificateData":');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, 'INVALID_FORMAT');
    assert.equal((await gw.call('POST', '/v1/test.tenant1/x509-service-api/iso/iacas', seedIacaRequest())).status, 404);
  });
});
