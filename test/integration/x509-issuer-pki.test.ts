import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createKeyStore, keyStoreOptions } from '../../src/credentials/key-store';
import { type BearerGateway, startBearerGateway } from '../support/bearer-gateway';
import { TEST_DEV_API_KEY } from '../support/test-services';
import { certificateText, extension, openssl } from '../support/openssl';

/**
 * The issuer's own IACA and Document Signers are records of its X.509 service (issue 20): the key
 * store records the `signing_keys` IACAs and Document Signers in `x509_iacas` /
 * `x509_document_signers` at every start (idempotently, also for a database from before migration
 * 0018), `/.well-known/iacas` lists the IACAs from there, and each gets a CRL at the URL its
 * certificates name (ISO/IEC 18013-5:2021 Annex B.1.4 CRLDistributionPoints; RFC 5280 §5), checked
 * with `openssl crl -CAfile` and `openssl verify -crl_check` (RFC 5280 §6.3).
 */
const ISSUER_URL = 'https://issuer.example.org';
const derToPem = (der: Buffer) => `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`;

describe('the issuer\'s IACA and Document Signers as X.509 service records, against real PostgreSQL', () => {
  let gw: BearerGateway;
  before(async () => {
    gw = await startBearerGateway();
  });
  after(async () => gw?.close());

  const db = () => gw.database.db;
  const cdpOf = (pem: string) => extension(certificateText(pem), 'X509v3 CRL Distribution Points')?.value.replace('Full Name:\nURI:', '');
  const activeRow = async (purpose: string) => (await db()('signing_keys').where({ purpose, state: 'active' }).first()) as { kid: string; certificate_pem: string };
  const counts = async () => ({
    iacas: Number((await db()('x509_iacas').whereNull('client').count<{ count: string }[]>('* as count'))[0]!.count),
    signers: Number((await db()('x509_document_signers').whereNull('client').count<{ count: string }[]>('* as count'))[0]!.count),
  });
  const crlOf = async (pem: string) => {
    const res = await fetch(`${gw.base}${new URL(cdpOf(pem)!).pathname}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/pkix-crl');
    return Buffer.from(await res.arrayBuffer());
  };
  const verifyWithCrl = (iacaPem: string, crl: Buffer, dsPem: string) =>
    openssl(['verify', '-x509_strict', '-crl_check', '-CAfile', { file: 'iaca.pem', content: iacaPem }, '-CRLfile', { file: 'crl.pem', content: derToPem(crl) }, { file: 'ds.pem', content: dsPem }]);

  test('at start the dev IACA and its Document Signer are recorded; /.well-known/iacas lists the recorded IACA; both certificates name its CRL here', async () => {
    const iaca = await activeRow('iaca');
    const ds = await activeRow('document_signer');
    const record = await db()('x509_iacas').where({ signing_key_kid: iaca.kid }).first();
    assert.ok(record, 'the IACA is a record of the X.509 service');
    assert.equal(record.client, null);
    assert.equal(record.id, iaca.kid.slice(0, 22));
    const dsRecord = await db()('x509_document_signers').where({ iaca_id: record.id }).first();
    assert.equal(dsRecord?.serial_number, new X509Certificate(ds.certificate_pem).serialNumber.toLowerCase());

    const listed = await gw.call('GET', '/.well-known/iacas', undefined, '');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.iacas.map((p: string) => new X509Certificate(p).fingerprint256), [new X509Certificate(iaca.certificate_pem).fingerprint256]);

    const crlUri = `${ISSUER_URL}/x509/crls/${record.id}.crl`;
    assert.equal(cdpOf(iaca.certificate_pem), crlUri);
    assert.equal(cdpOf(ds.certificate_pem), crlUri);
  });

  test('the issuer IACA\'s CRL is signed by it (openssl crl -CAfile) and the active Document Signer verifies with -crl_check', async () => {
    const iaca = await activeRow('iaca');
    const ds = await activeRow('document_signer');
    const crl = await crlOf(iaca.certificate_pem);
    const checked = openssl(['crl', '-inform', 'DER', '-in', { file: 'crl.der', content: crl as unknown as string }, '-CAfile', { file: 'iaca.pem', content: iaca.certificate_pem }, '-noout', '-text']);
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stderr, /verify OK/);
    assert.match(checked.stdout, /No Revoked Certificates/);
    const verified = verifyWithCrl(iaca.certificate_pem, crl, ds.certificate_pem);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    // Development IACAs made before the X.509 service recorded them named /crl/iaca.crl: the active IACA's CRL is served there too.
    const legacy = await fetch(`${gw.base}/crl/iaca.crl`);
    assert.equal(legacy.status, 200);
    assert.deepEqual(Buffer.from(await legacy.arrayBuffer()), crl);
  });

  test('recording is idempotent across starts, re-creates records a database from before 0018 lacks, and a rotated Document Signer is recorded too', async () => {
    const before = await counts();
    assert.deepEqual(before, { iacas: 1, signers: 1 });
    const store = createKeyStore(keyStoreOptions(gw.config, db()));
    await store.ensureProvisioned();
    assert.deepEqual(await counts(), before, 'a second start records nothing twice');

    // As if the database predated migration 0018's records: a start records them again.
    await db()('x509_document_signers').whereNull('client').delete();
    await db()('x509_iacas').whereNull('client').delete();
    await store.ensureProvisioned();
    assert.deepEqual(await counts(), before);

    const old = await activeRow('document_signer');
    await store.rotate('document_signer');
    const fresh = await activeRow('document_signer');
    assert.notEqual(fresh.kid, old.kid);
    assert.deepEqual(await counts(), { iacas: 1, signers: 2 });
    const iaca = await activeRow('iaca');
    const crl = await crlOf(iaca.certificate_pem);
    for (const pem of [old.certificate_pem, fresh.certificate_pem]) assert.equal(verifyWithCrl(iaca.certificate_pem, crl, pem).status, 0, 'the old one stays valid for verification');
  });

  test('an operator revokes the issuer\'s Document Signers (admin API, role operate): the CRL lists them at once, and the active one is replaced at once', async () => {
    const revoke = (body: unknown, token = TEST_DEV_API_KEY) => gw.call('POST', '/admin/v1/x509/document-signers/revoke', body, token);
    const iaca = await activeRow('iaca');
    const retired = (await db()('signing_keys').where({ purpose: 'document_signer', state: 'retired' }).first()) as { certificate_pem: string };
    const active = await activeRow('document_signer');

    assert.equal((await revoke({ certificatePEM: retired.certificate_pem }, '')).status, 401);
    const byClient = await gw.call('POST', '/admin/v1/x509/document-signers/revoke', { certificatePEM: retired.certificate_pem });
    assert.equal(byClient.status, 401, 'an API client token is not an admin token');

    // A retired one: revoked, nothing replaced.
    const first = await revoke({ certificatePEM: retired.certificate_pem, reason: 'keyCompromise' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.replacedBy, undefined);
    assert.equal(first.body.crlUri, cdpOf(iaca.certificate_pem));
    assert.equal((await revoke({ certificatePEM: retired.certificate_pem })).body.error.code, 'ALREADY_REVOKED');

    // The active one: revoked and replaced, so issuance never signs with a revoked Document Signer.
    const second = await revoke({ serialNumber: new X509Certificate(active.certificate_pem).serialNumber });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const replacement = await activeRow('document_signer');
    assert.notEqual(replacement.kid, active.kid);
    assert.equal(second.body.replacedBy.kid, replacement.kid);
    assert.equal(second.body.replacedBy.serialNumber, new X509Certificate(replacement.certificate_pem).serialNumber.toLowerCase());

    const crl = await crlOf(iaca.certificate_pem);
    for (const pem of [retired.certificate_pem, active.certificate_pem]) {
      const v = verifyWithCrl(iaca.certificate_pem, crl, pem);
      assert.notEqual(v.status, 0);
      assert.match(v.stdout + v.stderr, /certificate revoked/);
    }
    assert.equal(verifyWithCrl(iaca.certificate_pem, crl, replacement.certificate_pem).status, 0, 'the replacement is good');
    assert.equal((await revoke({ serialNumber: '4a'.repeat(16) })).status, 404);
    const audited = await db()('audit_log').where({ action: 'admin.x509.document_signer.revoke' }).select('status');
    assert.ok(audited.length >= 3);
  });
});
