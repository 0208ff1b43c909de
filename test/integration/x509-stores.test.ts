import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type BearerGateway, OTHER_CLIENT_TOKEN, startBearerGateway } from '../support/bearer-gateway';
import { loadTestConfig, testConfigFile } from '../support/test-services';

/**
 * X.509 stores attached to X.509 services (seed 003: "one shared storedCertificateId child ID across
 * all attached stores", a UUID when omitted, the request failing when the id exists in any attached
 * store), read back with GET /v1/{stored path}/x509-store-api/certificates.
 */
const SERVICE = 'test.tenant1.x509-service-1';
const SERVICE_2 = 'test.tenant1.x509-service-2';
const STORE_1 = 'test.tenant1.x509-store-1';
const STORE_2 = 'test.tenant1.x509-store-2';
const KMS = 'test.tenant1.kms1';

const seedIacaRequest = () => ({
  storedCertificateId: 'iaca-prod-2026-q1',
  certificateData: { country: 'US', commonName: 'Example IACA', issuerAlternativeNameConf: { uri: 'https://iaca.example.com' } },
  vicalEntryComplementaryMetadata: { docType: ['org.iso.18013.5.1.mDL'], certificateProfile: ['org.iso.18013.5.1.iaca'] },
  iacaKeyDesc: { type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.secp256r1` },
});

const leafRequest = (storedCertificateId?: string) => ({
  ...(storedCertificateId ? { storedCertificateId } : {}),
  certificateData: { subjectName: { commonName: 'Stored leaf' }, keyUsage: ['DigitalSignature'] },
  subjectPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.secp256r1` } },
  issuer: { type: 'self-signed' },
});

describe('X.509 stores, against real PostgreSQL', () => {
  let gw: BearerGateway;
  const stored = (path: string, token?: string) => gw.call('GET', `/v1/${path}/x509-store-api/certificates`, undefined, token);

  before(async () => {
    gw = await startBearerGateway((f) => {
      f.x509_services = { [SERVICE]: { stores: [STORE_1, STORE_2] }, [SERVICE_2]: { stores: [STORE_2] } };
    });
    assert.equal((await gw.call('POST', `/v1/${KMS}.secp256r1/kms-service-api/keys/generate`, { keyType: 'secp256r1' })).status, 200);
  });
  after(async () => gw?.close());

  test('the seed\'s IACA request with two attached stores: one shared id, both full paths answered, the IACA kept as a VICAL entry with its metadata', async () => {
    const { status, body } = await gw.call('POST', `/v1/${SERVICE}/x509-service-api/iso/iacas`, seedIacaRequest());
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.storedCertificateIds, [`${STORE_1}.iaca-prod-2026-q1`, `${STORE_2}.iaca-prod-2026-q1`]);
    for (const path of body.storedCertificateIds) {
      const got = await stored(path);
      assert.equal(got.status, 200, JSON.stringify(got.body));
      assert.equal(got.body._id, path);
      assert.equal(got.body.certificatePEM, body.certificatePEM);
      assert.equal(got.body.type, 'vical-entry');
      assert.equal(got.body.profile, 'iaca');
      assert.deepEqual(got.body.vicalEntryComplementaryMetadata, seedIacaRequest().vicalEntryComplementaryMetadata);
    }
  });

  test('without storedCertificateId the id is a UUID; without VICAL metadata an IACA is a plain certificate; the list shows what the client stored', async () => {
    const { body } = await gw.call('POST', `/v1/${SERVICE}/x509-service-api/certificate`, leafRequest());
    const ids: string[] = body.storedCertificateIds;
    assert.equal(ids.length, 2);
    const id = ids[0]!.slice(STORE_1.length + 1);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(ids[1], `${STORE_2}.${id}`);
    const got = await stored(ids[0]!);
    assert.equal(got.body.type, 'certificate');
    assert.equal(got.body.profile, 'generic');
    assert.equal(got.body.certificatePEM, body.certificatePEM);

    const { vicalEntryComplementaryMetadata: _v, ...plain } = seedIacaRequest();
    const iaca = await gw.call('POST', `/v1/${SERVICE}/x509-service-api/iso/iacas`, { ...plain, storedCertificateId: 'iaca-plain' });
    assert.equal(iaca.status, 200, JSON.stringify(iaca.body));
    assert.equal((await stored(`${STORE_1}.iaca-plain`)).body.type, 'certificate');

    const list = await stored(STORE_1);
    assert.equal(list.status, 200);
    assert.equal(list.body.storePath, STORE_1);
    const listed = list.body.certificates.map((c: { _id: string }) => c._id);
    for (const path of [`${STORE_1}.iaca-prod-2026-q1`, ids[0], `${STORE_1}.iaca-plain`]) assert.ok(listed.includes(path), `${path} in ${listed}`);
    assert.equal(list.body.certificates[0].certificatePEM, undefined, 'the list carries no PEMs');
  });

  test('an id taken in any attached store fails the whole request with 409 CONFLICT: nothing is written to the other store', async () => {
    const first = await gw.call('POST', `/v1/${SERVICE_2}/x509-service-api/certificate`, leafRequest('shared-id'));
    assert.deepEqual(first.body.storedCertificateIds, [`${STORE_2}.shared-id`]);
    const auditBefore = await gw.database.db('audit_log').where({ action: 'x509.certificate.issue' }).count<{ count: string }[]>('* as count');

    const clash = await gw.call('POST', `/v1/${SERVICE}/x509-service-api/certificate`, leafRequest('shared-id'));
    assert.equal(clash.status, 409, JSON.stringify(clash.body));
    assert.equal(clash.body.error.code, 'CONFLICT');
    assert.deepEqual(clash.body.error.details.stores, [STORE_2]);
    assert.equal((await stored(`${STORE_1}.shared-id`)).status, 404, 'nothing written to store 1');
    assert.equal((await stored(`${STORE_2}.shared-id`)).body.certificatePEM, first.body.certificatePEM, 'store 2 keeps the first');
    const auditAfter = await gw.database.db('audit_log').where({ action: 'x509.certificate.issue' }).count<{ count: string }[]>('* as count');
    assert.equal(auditAfter[0]!.count, auditBefore[0]!.count, 'no issuance recorded');

    const sameIdAgain = await gw.call('POST', `/v1/${SERVICE}/x509-service-api/iso/iacas`, seedIacaRequest());
    assert.equal(sameIdAgain.status, 409, 'the seed IACA id is taken in both stores');
  });

  test('a service without stores ignores storedCertificateId; a store is read only by the client that stored in it; unknown stores are 404', async () => {
    const lonely = await gw.call('POST', '/v1/test.tenant1.no-stores/x509-service-api/certificate', leafRequest('ignored'));
    assert.equal(lonely.status, 200);
    assert.equal(lonely.body.storedCertificateIds, undefined);

    assert.equal((await stored(`${STORE_1}.iaca-prod-2026-q1`, OTHER_CLIENT_TOKEN)).status, 404);
    assert.deepEqual((await stored(STORE_1, OTHER_CLIENT_TOKEN)).body.certificates, []);
    assert.equal((await stored('test.tenant1.unknown-store')).status, 404);
    assert.equal((await stored('test.tenant1.unknown-store.iaca-prod-2026-q1')).status, 404);
    assert.equal((await stored(`${STORE_1}.missing`)).status, 404);
    assert.equal((await stored(`${STORE_1}.iaca-prod-2026-q1`, '')).status, 401);
  });

  test('the configuration refuses store and service paths of another form, and a store listed twice', () => {
    for (const services of [{ 'not-a-path': { stores: [] } }, { [SERVICE]: { stores: ['store'] } }, { [SERVICE]: { stores: [STORE_1, STORE_1] } }]) {
      assert.throws(() => loadTestConfig(testConfigFile((f) => void (f.x509_services = services))), /x509_services/);
    }
  });
});
