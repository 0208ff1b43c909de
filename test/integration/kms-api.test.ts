import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint } from 'jose';
import { decryptPrivateKey } from '../../src/credentials/key-encryption';
import { deriveKekSubkeys } from '../../src/credentials/kek-subkeys';
import { resolveKek } from '../../src/credentials/key-store';
import { KmsPrivateJwkSchema } from '../../src/kms/kms-key-types';
import { type BearerGateway, OTHER_CLIENT_TOKEN, startBearerGateway } from '../support/bearer-gateway';

/**
 * The KMS service API (docs/conventions.md, KMS; walt.id's `/v1/{keyIdPath}/kms-service-api/keys/...`):
 * generate secp256r1 / secp384r1 / Ed25519 keys, import a JWK, read the public JWK. Checked
 * against the database: the private part is only there sealed under the KEK (AES-256-GCM, bound to
 * client and key path), and what is sealed is the key whose public half the API publishes.
 */
const KMS = 'test.tenant1.kms1';
const generate = (gw: BearerGateway, id: string, keyType: string, token?: string) => gw.call('POST', `/v1/${KMS}.${id}/kms-service-api/keys/generate`, { keyType }, token);

describe('KMS service API, against real PostgreSQL', () => {
  let gw: BearerGateway;
  before(async () => {
    gw = await startBearerGateway();
  });
  after(async () => gw?.close());

  const sealedRow = (keyPath: string, client = 'client') => gw.database.db('kms_keys').where({ client, key_path: keyPath }).first();
  const sealing = () => deriveKekSubkeys(resolveKek(gw.config)).keySealing;

  for (const [keyType, kty, crv, alg] of [
    ['secp256r1', 'EC', 'P-256', 'ES256'],
    ['secp384r1', 'EC', 'P-384', 'ES384'],
    ['Ed25519', 'OKP', 'Ed25519', 'EdDSA'],
  ] as const) {
    test(`generate ${keyType}: the public JWK (RFC 7517) with its RFC 7638 thumbprint as kid, the private part sealed under the KEK`, async () => {
      const { status, body } = await generate(gw, `gen-${keyType}`, keyType);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body._id, `${KMS}.gen-${keyType}`);
      assert.equal(body.keyType, keyType);
      assert.equal(body.origin, 'generated');
      assert.equal(body.publicKey.kty, kty);
      assert.equal(body.publicKey.crv, crv);
      assert.equal(body.publicKey.alg, alg);
      assert.equal(body.publicKey.d, undefined, 'no private member in the answer');
      const { kid, alg: _alg, ...jwk } = body.publicKey;
      assert.equal(kid, await calculateJwkThumbprint(jwk, 'sha256'));
      assert.equal(body.kid, kid);

      const row = await sealedRow(body._id);
      assert.equal(row.public_jwk.d, undefined);
      assert.match(row.private_key_envelope, /^v2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      // Opened with the KEK's key-sealing subkey, the envelope is the private key of the published public key.
      const opened = decryptPrivateKey(row.private_key_envelope, sealing(), `kms:client:${body._id}`, KmsPrivateJwkSchema);
      const signature = sign(kty === 'EC' ? (crv === 'P-256' ? 'sha256' : 'sha384') : null, Buffer.from('data'), createPrivateKey({ key: opened, format: 'jwk' }));
      assert.ok(verify(kty === 'EC' ? (crv === 'P-256' ? 'sha256' : 'sha384') : null, Buffer.from('data'), createPublicKey({ key: jwk, format: 'jwk' }), signature));
      // Bound to the client and key path (additional data): the same envelope does not open under another.
      assert.throws(() => decryptPrivateKey(row.private_key_envelope, sealing(), `kms:other:${body._id}`, KmsPrivateJwkSchema), /failed authentication/);

      const got = await gw.call('GET', `/v1/${body._id}/kms-service-api/keys`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, body);
      const bare = await gw.call('GET', `/v1/${body._id}/kms-service-api/keys/jwk`);
      assert.equal(bare.status, 200);
      assert.deepEqual(bare.body, body.publicKey);
    });
  }

  test('a key path is per client: the same path again is 409 CONFLICT, another client neither sees nor blocks it', async () => {
    const first = await generate(gw, 'dup', 'secp256r1');
    assert.equal(first.status, 200);
    const again = await generate(gw, 'dup', 'Ed25519');
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'CONFLICT');
    assert.equal((await gw.call('GET', `/v1/${KMS}.dup/kms-service-api/keys`)).body.keyType, 'secp256r1', 'the first key is untouched');

    const foreign = await gw.call('GET', `/v1/${KMS}.dup/kms-service-api/keys`, undefined, OTHER_CLIENT_TOKEN);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error.code, 'NOT_FOUND');
    const own = await generate(gw, 'dup', 'secp384r1', OTHER_CLIENT_TOKEN);
    assert.equal(own.status, 200);
    assert.notEqual(own.body.kid, first.body.kid);
  });

  test('import a private JWK: the KMS keeps it (its kid is the thumbprint) and never returns d', async () => {
    for (const [id, pair] of [
      ['imp-p256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
      ['imp-ed25519', generateKeyPairSync('ed25519')],
    ] as const) {
      const jwk = pair.privateKey.export({ format: 'jwk' });
      const { status, body } = await gw.call('POST', `/v1/${KMS}.${id}/kms-service-api/keys/import/jwk`, { ...jwk, kid: 'ignored', use: 'sig' });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.origin, 'imported');
      const { d: _d, ...publicJwk } = jwk;
      assert.equal(body.kid, await calculateJwkThumbprint(publicJwk as never, 'sha256'));
      assert.equal(body.publicKey.x, jwk.x);
      assert.equal(JSON.stringify(body).includes(jwk.d!), false);
      const row = await sealedRow(body._id);
      assert.equal(JSON.stringify(row).includes(jwk.d!), false, 'the database holds d only sealed');
    }
  });

  test('import refuses a public-only JWK, x/y of another key, an unsupported curve and a kty/crv mismatch (400 INVALID_FORMAT)', async () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const otherX = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }).x;
    const cases: [string, unknown, string][] = [
      ['public-only', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, 'd'],
      ['mismatched', { ...jwk, x: otherX }, '(root)'],
      ['secp256k1', { ...jwk, crv: 'secp256k1' }, 'crv'],
      ['okp-p256', { ...jwk, kty: 'OKP' }, 'crv'],
    ];
    for (const [id, body, field] of cases) {
      const res = await gw.call('POST', `/v1/${KMS}.bad-${id}/kms-service-api/keys/import/jwk`, body);
      assert.equal(res.status, 400, `${id}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'INVALID_FORMAT');
      assert.ok(res.body.error.details.fields.some((f: { path: string }) => f.path === field), `${id}: ${JSON.stringify(res.body.error.details)}`);
      assert.equal((await gw.call('GET', `/v1/${KMS}.bad-${id}/kms-service-api/keys`)).status, 404, `${id}: nothing stored`);
    }
  });

  test('Bearer authentication (RFC 6750 §2.1): no token and a wrong token are 401; bad bodies 400; a malformed key path 404', async () => {
    assert.equal((await generate(gw, 'anon', 'secp256r1', '')).status, 401);
    const wrong = await generate(gw, 'anon', 'secp256r1', 'not-a-token-of-anyone');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'UNAUTHORIZED');
    assert.equal((await gw.call('GET', `/v1/${KMS}.anon/kms-service-api/keys`, undefined, '')).status, 401);

    const badType = await generate(gw, 'rsa', 'RSA');
    assert.equal(badType.status, 400);
    assert.deepEqual(badType.body.error.details.fields.map((f: { path: string }) => f.path), ['keyType']);
    assert.equal((await gw.call('POST', `/v1/${KMS}.nobody/kms-service-api/keys/generate`, '{"keyType":')).status, 400);
    assert.equal((await gw.call('POST', `/v1/test.tenant1/kms-service-api/keys/generate`, { keyType: 'secp256r1' })).status, 404, 'a key path has four segments');
  });

  test('key generation and import are audited with the key path and kid, never key material', async () => {
    const { body } = await generate(gw, 'audited', 'secp256r1');
    const rows = await gw.database.db('audit_log').where({ action: 'kms.key.generate' }).select('*');
    const row = rows.find((r: { target: { key_path: string } }) => r.target.key_path === body._id);
    assert.ok(row, 'an audit row for the key');
    assert.equal(row.actor, 'client:client');
    assert.equal(row.target.kid, body.kid);
  });
});
