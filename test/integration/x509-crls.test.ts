import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type BearerGateway, OTHER_CLIENT_TOKEN, startBearerGateway } from '../support/bearer-gateway';
import { certificateText, extension, openssl } from '../support/openssl';

/**
 * CRLs of the X.509 service (issue 20; docs/conventions.md, X.509 service: CRLs). An IACA issued
 * with a KMS-hosted key gets a CRL at `$ISSUER_URL/x509/crls/<iaca id>.crl` (DER, RFC 5280 §5),
 * named by its own cRLDistributionPoints and, by default, by the Document Signers issued under it
 * (ISO/IEC 18013-5:2021 Annex B.1.2 / B.1.4: CRLDistributionPoints). Revoking a Document Signer
 * re-signs the CRL with the next CRL number (RFC 5280 §5.2.3). Everything is checked with the
 * openssl CLI: `openssl crl -CAfile` for the CRL's signature, `openssl verify -crl_check` for the
 * revocation check of RFC 5280 §6.3.
 */
const TARGET = 'test.tenant1.x509-service-1';
const KMS = 'test.tenant1.kms1';
const ISSUER_URL = 'https://issuer.example.org';

const iacaData = (commonName: string) => ({ country: 'SE', commonName, issuerAlternativeNameConf: { uri: 'https://pki.example.se' } });
const kmsDesc = (id: string) => ({ type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.${id}` });
const derToPem = (der: Buffer) => `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`;

describe('X.509 service CRLs and Document Signer revocation, against real PostgreSQL and the openssl CLI', () => {
  let gw: BearerGateway;
  const post = (path: string, body: unknown, token?: string) => gw.call('POST', `/v1/${TARGET}/x509-service-api/${path}`, body, token);
  const kmsKey = async (id: string) => {
    const res = await gw.call('POST', `/v1/${KMS}.${id}/kms-service-api/keys/generate`, { keyType: 'secp256r1' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  /** GET of the CRL at `crlUri` (an $ISSUER_URL address) from the test gateway: status, headers, DER bytes. */
  const fetchCrl = async (crlUri: string) => {
    const res = await fetch(`${gw.base}${new URL(crlUri).pathname}`);
    return { status: res.status, headers: res.headers, der: Buffer.from(await res.arrayBuffer()) };
  };
  const crlText = (der: Buffer, caPem: string) => openssl(['crl', '-inform', 'DER', '-in', { file: 'crl.der', content: der as unknown as string }, '-CAfile', { file: 'iaca.pem', content: caPem }, '-noout', '-text']);
  const verifyWithCrl = (caPem: string, crlDer: Buffer, leafPem: string) =>
    openssl(['verify', '-x509_strict', '-crl_check', '-CAfile', { file: 'iaca.pem', content: caPem }, '-CRLfile', { file: 'crl.pem', content: derToPem(crlDer) }, { file: 'leaf.pem', content: leafPem }]);

  let iaca: { certificatePEM: string; crlUri: string; certificateData: Record<string, unknown> };
  let ds1: string;
  let ds2: string;

  before(async () => {
    gw = await startBearerGateway();
    for (const id of ['crl-iaca', 'crl-ds1', 'crl-ds2', 'crl-ds3']) await kmsKey(id);
  });
  after(async () => gw?.close());

  test('an IACA with a KMS key gets a CRL URL of this service, which its cRLDistributionPoints names; Document Signers under it default to it', async () => {
    const res = await post('iso/iacas', { certificateData: iacaData('CRL IACA'), iacaKeyDesc: kmsDesc('crl-iaca') });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    iaca = res.body;
    assert.match(iaca.crlUri, new RegExp(`^${ISSUER_URL}/x509/crls/[A-Za-z0-9_-]{22}\\.crl$`));
    assert.equal(res.body.certificateData.crlDistributionPointUri, undefined, 'certificateData echoes the request (seed 003)');
    assert.deepEqual(extension(certificateText(iaca.certificatePEM), 'X509v3 CRL Distribution Points'), { critical: false, value: `Full Name:\nURI:${iaca.crlUri}` });

    // One DS by iaca-cert-data-descriptor (the IACA's data as answered), one by iaca-pem-cert-descriptor; neither names a CRL.
    const byData = await post('iso/document-signers', {
      iacaSigner: { type: 'iaca-cert-data-descriptor', iacaKeyDesc: kmsDesc('crl-iaca'), certificateData: iaca.certificateData },
      certificateData: { country: 'SE', commonName: 'CRL DS 1' },
      dsPublicKeySource: { type: 'key-descriptor', keyDescriptor: kmsDesc('crl-ds1') },
    });
    assert.equal(byData.status, 200, JSON.stringify(byData.body));
    assert.equal(byData.body.certificateData.crlDistributionPointUri, iaca.crlUri);
    const byPem = await post('iso/document-signers', {
      iacaSigner: { type: 'iaca-pem-cert-descriptor', iacaPemEncodedCertificate: iaca.certificatePEM, iacaKeyDesc: kmsDesc('crl-iaca') },
      certificateData: { country: 'SE', commonName: 'CRL DS 2' },
      dsPublicKeySource: { type: 'key-descriptor', keyDescriptor: kmsDesc('crl-ds2') },
    });
    assert.equal(byPem.status, 200, JSON.stringify(byPem.body));
    ds1 = byData.body.certificatePEM;
    ds2 = byPem.body.certificatePEM;
    for (const ds of [ds1, ds2]) assert.deepEqual(extension(certificateText(ds), 'X509v3 CRL Distribution Points'), { critical: false, value: `Full Name:\nURI:${iaca.crlUri}` });
  });

  test('the CRL: DER as application/pkix-crl, cacheable, signed by the IACA (openssl crl -CAfile: verify OK), v2 with CRL number, AKI and nextUpdate; nothing revoked yet', async () => {
    const crl = await fetchCrl(iaca.crlUri);
    assert.equal(crl.status, 200);
    assert.equal(crl.headers.get('content-type'), 'application/pkix-crl');
    assert.match(crl.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
    const checked = crlText(crl.der, iaca.certificatePEM);
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stderr, /verify OK/);
    assert.match(checked.stdout, /Version 2 \(0x1\)/);
    assert.match(checked.stdout, /X509v3 CRL Number:\s*\n\s*1\n/);
    assert.match(checked.stdout, /Next Update: /);
    assert.match(checked.stdout, /X509v3 Authority Key Identifier/);
    assert.match(checked.stdout, /No Revoked Certificates/);
    assert.equal(extension(checked.stdout, 'X509v3 Authority Key Identifier')?.value, extension(certificateText(iaca.certificatePEM), 'X509v3 Subject Key Identifier')?.value);
    // Not a new CRL per request: the kept one is answered until it is due (or a revocation changes it).
    const again = await fetchCrl(iaca.crlUri);
    assert.deepEqual(again.der, crl.der);
    // RFC 5280 §6.3: both Document Signers verify with the CRL checked.
    for (const ds of [ds1, ds2]) {
      const v = verifyWithCrl(iaca.certificatePEM, crl.der, ds);
      assert.equal(v.status, 0, v.stdout + v.stderr);
    }
  });

  test('revoking a Document Signer (by the serial as openssl prints it) signs CRL number 2 listing it; openssl verify -crl_check rejects it and accepts the other', async () => {
    const serial = new X509Certificate(ds1).serialNumber.replace(/(..)(?!$)/g, '$1:');
    const res = await post('iso/document-signers/revoke', { serialNumber: serial, reason: 'keyCompromise' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.serialNumber, new X509Certificate(ds1).serialNumber.toLowerCase());
    assert.equal(res.body.crlUri, iaca.crlUri);
    assert.equal(res.body.crlNumber, '2');
    assert.equal(res.body.reason, 'keyCompromise');
    assert.match(res.body.revokedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const crl = await fetchCrl(iaca.crlUri);
    const checked = crlText(crl.der, iaca.certificatePEM);
    assert.match(checked.stderr, /verify OK/);
    assert.match(checked.stdout, /X509v3 CRL Number:\s*\n\s*2\n/);
    assert.match(checked.stdout, new RegExp(`Serial Number: ${new X509Certificate(ds1).serialNumber}`));
    assert.match(checked.stdout, /Key Compromise/);
    assert.doesNotMatch(checked.stdout, new RegExp(new X509Certificate(ds2).serialNumber));

    const revoked = verifyWithCrl(iaca.certificatePEM, crl.der, ds1);
    assert.notEqual(revoked.status, 0);
    assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
    const fine = verifyWithCrl(iaca.certificatePEM, crl.der, ds2);
    assert.equal(fine.status, 0, fine.stdout + fine.stderr);
    assert.match(fine.stdout, /leaf\.pem: OK/);
  });

  test('revocation by certificatePEM; a second revocation is 409 ALREADY_REVOKED; another client, an unknown serial: 404; no token 401; malformed bodies 400', async () => {
    const byPem = await post('iso/document-signers/revoke', { certificatePEM: ds2 });
    assert.equal(byPem.status, 200, JSON.stringify(byPem.body));
    assert.equal(byPem.body.reason, 'unspecified');
    assert.equal(byPem.body.crlNumber, '3');
    const twice = await post('iso/document-signers/revoke', { certificatePEM: ds2 });
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error.code, 'ALREADY_REVOKED');

    const ds3 = await post('iso/document-signers', {
      iacaSigner: { type: 'iaca-pem-cert-descriptor', iacaPemEncodedCertificate: iaca.certificatePEM, iacaKeyDesc: kmsDesc('crl-iaca') },
      certificateData: { country: 'SE', commonName: 'CRL DS 3' },
      dsPublicKeySource: { type: 'key-descriptor', keyDescriptor: kmsDesc('crl-ds3') },
    });
    assert.equal(ds3.status, 200);
    const other = await post('iso/document-signers/revoke', { certificatePEM: ds3.body.certificatePEM }, OTHER_CLIENT_TOKEN);
    assert.equal(other.status, 404, 'only the client that issued it may revoke it');
    assert.equal(other.body.error.code, 'NOT_FOUND');
    assert.equal((await post('iso/document-signers/revoke', { serialNumber: '4a'.repeat(16) })).status, 404);
    assert.equal((await post('iso/document-signers/revoke', { serialNumber: '4a'.repeat(16) }, '')).status, 401);
    for (const [name, body, field] of [
      ['both', { serialNumber: '4a', certificatePEM: ds2 }, 'serialNumber'],
      ['neither', {}, 'serialNumber'],
      ['not hex', { serialNumber: 'xyz' }, 'serialNumber'],
      ['unknown reason', { serialNumber: '4a', reason: 'boredom' }, 'reason'],
    ] as const) {
      const res = await post('iso/document-signers/revoke', body);
      assert.equal(res.status, 400, name);
      assert.equal(res.body.error.code, 'INVALID_FORMAT');
      assert.ok(res.body.error.details.fields.some((f: { path: string }) => f.path === field), `${name}: ${JSON.stringify(res.body.error)}`);
    }
    const notPem = await post('iso/document-signers/revoke', { certificatePEM: 'not a certificate' });
    assert.equal(notPem.status, 400);
    assert.equal(notPem.body.error.details.fields[0].path, 'certificatePEM');

    // The third DS is still good; the CRL now lists two.
    const crl = await fetchCrl(iaca.crlUri);
    const text = crlText(crl.der, iaca.certificatePEM).stdout;
    assert.equal(text.match(/Serial Number:/g)?.length, 2);
    assert.equal(verifyWithCrl(iaca.certificatePEM, crl.der, ds3.body.certificatePEM).status, 0);
  });

  test('an IACA with a JWK key gets no CRL here (the service keeps no JWK): no crlUri, and its Document Signers must name a CRL distribution point; unknown CRL ids are 404', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    const res = await post('iso/iacas', { certificateData: iacaData('JWK IACA'), iacaKeyDesc: { type: 'jwk-encoded-key-descriptor', jwk } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.crlUri, undefined);
    assert.equal(extension(certificateText(res.body.certificatePEM), 'X509v3 CRL Distribution Points'), undefined);
    const ds = await post('iso/document-signers', {
      iacaSigner: { type: 'iaca-pem-cert-descriptor', iacaPemEncodedCertificate: res.body.certificatePEM, iacaKeyDesc: { type: 'jwk-encoded-key-descriptor', jwk } },
      certificateData: { country: 'SE', commonName: 'No CRL DS' },
      dsPublicKeySource: { type: 'key-descriptor', keyDescriptor: kmsDesc('crl-ds3') },
    });
    assert.equal(ds.status, 400);
    assert.equal(ds.body.error.details.fields[0].path, 'certificateData.crlDistributionPointUri');

    assert.equal((await fetchCrl(`${ISSUER_URL}/x509/crls/${'A'.repeat(22)}.crl`)).status, 404);
    assert.equal((await fetchCrl(`${ISSUER_URL}/x509/crls/nope.crl`)).status, 404);
  });
});
