import 'reflect-metadata';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createCipheriv, createPublicKey, randomBytes, verify as cryptoVerify, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { calculateJwkThumbprint, compactVerify, createLocalJWKSet } from 'jose';
import { ConfigError } from '../../src/config/env';
import { KeyDecryptionError } from '../../src/credentials/credential-errors';
import { decryptAnyPrivateKey, generateKek } from '../../src/credentials/key-encryption';
import { createKeyStore, keyStoreCountry, keyStoreOptions, resolveKek, type KeyStore, type KeyStoreOptions } from '../../src/credentials/key-store';
import { deriveKekSubkeys, gatewaySubkeys } from '../../src/credentials/kek-subkeys';
import type { Db } from '../../src/db/knex';
import { createTestDatabase, loadTestConfig, testConfigFile } from '../support/test-services';

// Real PostgreSQL (a fresh database per test that counts rows), real AES-256-GCM, real certificates.

const ISSUER_URL = 'https://issuer.example.org';
const DAY_MS = 86_400_000;
const drops: (() => Promise<void>)[] = [];
after(async () => {
  for (const drop of drops) await drop();
});

async function freshDb(): Promise<Db> {
  const { db, drop } = await createTestDatabase();
  drops.push(drop);
  return db;
}

const storeOn = (db: Db, kek: KeyStoreOptions['kek'], extra: Partial<KeyStoreOptions> = {}): KeyStore =>
  createKeyStore({ db, kek, issuerUrl: ISSUER_URL, country: 'SE', ...extra });

interface Row {
  kid: string;
  purpose: string;
  state: string;
  private_key_envelope: string;
  public_jwk: Record<string, unknown>;
  certificate_pem: string | null;
  not_after: Date | null;
}

/** A compact JWS made with a store's signer, to check it against a published JWKS with plain jose. */
async function signWith(store: KeyStore, text: string): Promise<string> {
  const signer = await store.signer('credential');
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: signer.kid })).toString('base64url');
  const payload = Buffer.from(text).toString('base64url');
  const signature = await signer.sign(Buffer.from(`${header}.${payload}`, 'ascii'));
  return `${header}.${payload}.${Buffer.from(signature).toString('base64url')}`;
}

test('three stores starting at once provision exactly one active key per purpose, the Ed25519 Data Integrity and webhooks keys included (advisory lock)', async () => {
  const db = await freshDb();
  const kek = generateKek();
  await Promise.all([storeOn(db, kek), storeOn(db, kek), storeOn(db, kek)].map((store) => store.ensureProvisioned()));
  const rows = await db<Row>('signing_keys').select('purpose', 'state');
  assert.deepEqual(rows.map((r) => `${r.purpose}:${r.state}`).sort(), ['credential:active', 'credential_ed25519:active', 'document_signer:active', 'iaca:active', 'webhooks:active']);
  // Idempotent on a later start too.
  await storeOn(db, kek).ensureProvisioned();
  assert.equal((await db('signing_keys').count<{ count: string }[]>('* as count'))[0]!.count, '5');
});

test('private keys are sealed: no "d" member in any row, and they open only with the right KEK and kid (AES-256-GCM, AAD = kid)', async () => {
  const db = await freshDb();
  const kek = generateKek();
  const store = storeOn(db, kek);
  await store.ensureProvisioned();
  const dumps = await db.raw<{ rows: { dump: string }[] }>('select row_to_json(k)::text as dump from signing_keys k');
  for (const { dump } of dumps.rows) assert.ok(!/"d"\s*:/.test(dump), 'no plaintext private JWK member in the row');

  const rows = await db<Row>('signing_keys').select('*');
  for (const row of rows) {
    const opened = decryptAnyPrivateKey(row.private_key_envelope, deriveKekSubkeys(kek).keySealing, row.kid);
    // RFC 7638: the kid is the thumbprint of the public key the sealed private key belongs to.
    if (opened.kty === 'EC') {
      assert.equal(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: opened.x, y: opened.y }), row.kid);
      assert.deepEqual(Object.keys(row.public_jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    } else {
      assert.equal(row.purpose, 'credential_ed25519');
      assert.equal(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: opened.x }), row.kid);
      assert.deepEqual(Object.keys(row.public_jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'x']);
    }
    assert.throws(() => decryptAnyPrivateKey(row.private_key_envelope, deriveKekSubkeys(generateKek()).keySealing, row.kid), KeyDecryptionError);
    const otherKid = rows.find((r) => r.kid !== row.kid)!.kid;
    assert.throws(() => decryptAnyPrivateKey(row.private_key_envelope, deriveKekSubkeys(kek).keySealing, otherKid), KeyDecryptionError, 'an envelope moved to another kid fails');
  }
  await assert.rejects(storeOn(db, generateKek()).signer('credential'), KeyDecryptionError, 'a process with the wrong KEK cannot sign');
});

test('rotation signs with the new key and keeps the old kid in the JWKS until not_after = now + max validity (issue 4)', async () => {
  const db = await freshDb();
  let clock = new Date();
  const store = storeOn(db, generateKek(), { now: () => clock, maxCredentialValidityDays: 365 });
  await store.ensureProvisioned();
  const before = await store.signer('credential');
  const oldJws = await signWith(store, 'signed before the rotation');

  const { kid } = await store.rotate('credential');
  const after = await store.signer('credential');
  assert.notEqual(kid, before.kid);
  assert.equal(after.kid, kid, 'the store signs with the new key at once');

  const jwks = await store.jwks();
  assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [before.kid, kid].sort());
  for (const key of jwks.keys) assert.equal((key as unknown as Record<string, unknown>).d, undefined);
  // A verifier with only the published JWKS still accepts what the old key signed, and the new key's output.
  await compactVerify(oldJws, createLocalJWKSet(jwks));
  await compactVerify(await signWith(store, 'signed after the rotation'), createLocalJWKSet(jwks));

  const retired = await db<Row>('signing_keys').where({ kid: before.kid }).first();
  assert.equal(retired!.state, 'retired');
  assert.equal(retired!.not_after!.getTime(), clock.getTime() + 365 * DAY_MS);

  clock = new Date(clock.getTime() + 366 * DAY_MS);
  assert.deepEqual((await store.jwks()).keys.map((k) => k.kid), [kid], 'past not_after the old key is no longer published');
});

test('a restarted store (new instance, same database) signs with the same keys', async () => {
  const db = await freshDb();
  const kek = generateKek();
  const first = storeOn(db, kek);
  await first.ensureProvisioned();
  const restarted = storeOn(db, kek);
  await restarted.ensureProvisioned();
  assert.equal((await restarted.signer('credential')).kid, (await first.signer('credential')).kid);
  assert.equal((await restarted.signer('document_signer')).kid, (await first.signer('document_signer')).kid);
  await compactVerify(await signWith(restarted, 'after restart'), createLocalJWKSet(await first.jwks()));
});

test('a rotation made by another process is picked up within refreshIntervalMs, without a restart', async () => {
  const db = await freshDb();
  const kek = generateKek();
  const worker = storeOn(db, kek, { refreshIntervalMs: 50 });
  const operator = storeOn(db, kek);
  await worker.ensureProvisioned();
  const before = (await worker.signer('credential')).kid;
  const { kid } = await operator.rotate('credential');
  await new Promise((resolve) => setTimeout(resolve, 80));
  await worker.signer('credential'); // stale answer while it re-reads in the background
  let current = before;
  for (let i = 0; i < 50 && current === before; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    current = (await worker.signer('credential')).kid;
  }
  assert.equal(current, kid);
});

test('the Document Signer certificate chains to the published IACA, both C=SE, and the DS signer carries x5c (ISO/IEC 18013-5 Annex B)', async () => {
  const db = await freshDb();
  const store = storeOn(db, generateKek());
  await store.ensureProvisioned();
  const ds = await store.signer('document_signer');
  assert.equal(ds.x5c?.length, 1);
  const dsCert = new x509.X509Certificate(Buffer.from(ds.x5c![0]!, 'base64'));
  const iacas = await store.iacaCertificatesPem();
  assert.equal(iacas.length, 1);
  const iaca = new x509.X509Certificate(iacas[0]!);
  assert.equal(dsCert.issuer, iaca.subject);
  assert.ok(await dsCert.verify({ publicKey: iaca.publicKey, date: new Date() }, webcrypto as never), 'DS signed by the IACA');
  assert.deepEqual(dsCert.subjectName.getField('C'), ['SE']);
  assert.deepEqual(iaca.subjectName.getField('C'), ['SE']);
  const certJwk = (await webcrypto.subtle.exportKey('jwk', (await dsCert.publicKey.export(webcrypto as never)) as webcrypto.CryptoKey)) as { x: string; y: string };
  assert.deepEqual({ x: certJwk.x, y: certJwk.y }, { x: ds.publicJwk.x, y: ds.publicJwk.y }, 'the certificate certifies the signing key');
  assert.deepEqual((await store.jwks()).keys.map((k) => k.kid), [(await store.signer('credential')).kid], 'the JWKS lists credential keys only');

  // Rotating the Document Signer keeps the IACA; rotating the IACA publishes both roots until not_after.
  const { kid: newDs } = await store.rotate('document_signer');
  const rotatedDs = new x509.X509Certificate(Buffer.from((await store.signer('document_signer')).x5c![0]!, 'base64'));
  assert.notEqual(newDs, ds.kid);
  assert.ok(await rotatedDs.verify({ publicKey: iaca.publicKey, date: new Date() }, webcrypto as never));
  await store.rotate('iaca');
  assert.equal((await store.iacaCertificatesPem()).length, 2);
});

test('the dev key store country is the first authentic source\'s (docs/conventions.md)', () => {
  assert.equal(keyStoreCountry(loadTestConfig(testConfigFile())), 'SE');
});

test('resolveKek: ISSUER_KEK wins; development generates <ISSUER_DATA_DIR>/kek once (0600); production without it fails to boot', () => {
  const hex = Buffer.from(generateKek()).toString('hex');
  assert.deepEqual(Buffer.from(resolveKek(loadTestConfig(testConfigFile(), { ISSUER_KEK: hex }))).toString('hex'), hex);

  const dev = loadTestConfig(testConfigFile());
  const generated = resolveKek(dev);
  const file = join(dev.dataDir, 'kek');
  assert.ok(existsSync(file));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(resolveKek(dev), generated, 'reused on the next start');
  assert.ok(!readFileSync(file, 'utf8').includes(' '));

  const production = loadTestConfig(
    testConfigFile((file) => {
      file.environment = 'production';
      const source = (file.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!;
      delete source.dev_api_key;
      source.api_key_hash = `sha256:${'a'.repeat(64)}`;
    }),
  );
  assert.throws(() => resolveKek(production), (err: unknown) => err instanceof ConfigError && /ISSUER_KEK/.test(err.message));
  assert.throws(() => loadTestConfig(testConfigFile(), { ISSUER_KEK: 'too-short' }), (err: unknown) => err instanceof ConfigError && /ISSUER_KEK/.test(err.message) && !/too-short/.test(err.message));
});

/** The test configuration as a production one (no dev API key). */
function asProduction(file: Record<string, unknown>): void {
  file.environment = 'production';
  const source = (file.authentic_sources as Record<string, Record<string, unknown>>)['hr.example.org']!;
  delete source.dev_api_key;
  source.api_key_hash = `sha256:${'a'.repeat(64)}`;
}

/** Reseals a row the way the code before subkeys did: `v1`, AES-256-GCM under the raw KEK, AAD `v1:<kid>`. */
async function sealAsLegacy(db: Db, kek: Uint8Array, kid: string): Promise<void> {
  const row = (await db<Row>('signing_keys').where({ kid }).first())!;
  const jwk = decryptAnyPrivateKey(row.private_key_envelope, deriveKekSubkeys(kek).keySealing, kid);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(`v1:${kid}`));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
  const envelope = ['v1', iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  await db('signing_keys').where({ kid }).update({ private_key_envelope: envelope });
}

test('keys sealed under the raw KEK (v1) still sign, and a store holding the KEK reseals them under the key-sealing subkey (v2)', async () => {
  const db = await freshDb();
  const kek = generateKek();
  await storeOn(db, kek).ensureProvisioned();
  const rows = await db<Row>('signing_keys').select('kid');
  for (const { kid } of rows) await sealAsLegacy(db, kek, kid);
  const signedBefore = await signWith(storeOn(db, kek), 'a v1 key signs');
  const jwks = createLocalJWKSet(await storeOn(db, kek).jwks());
  await compactVerify(signedBefore, jwks);

  // A gateway holds only the subkeys: a v1 key does not open there.
  const gateway = storeOn(db, gatewaySubkeys(deriveKekSubkeys(kek)).keySealing);
  await assert.rejects(gateway.signer('credential'), KeyDecryptionError);

  await storeOn(db, kek).ensureProvisioned();
  const after = await db<Row>('signing_keys').select('kid', 'private_key_envelope');
  assert.equal(after.length, 5, 'resealing adds no key');
  for (const row of after) assert.match(row.private_key_envelope, /^v2\./);
  const signedAfter = await signWith(storeOn(db, gatewaySubkeys(deriveKekSubkeys(kek)).keySealing), 'the resealed key signs in the gateway');
  const { protectedHeader } = await compactVerify(signedAfter, jwks);
  assert.equal(protectedHeader.kid, JSON.parse(Buffer.from(signedBefore.split('.')[0]!, 'base64url').toString()).kid, 'the same key, resealed');
});

test('production creates no development IACA: with mso_mdoc types the start fails naming them; without, only the credential keys are made', async () => {
  const db = await freshDb();
  const kek = Buffer.from(generateKek()).toString('hex');
  const production = loadTestConfig(testConfigFile(asProduction), { ISSUER_KEK: kek });
  await assert.rejects(
    createKeyStore(keyStoreOptions(production, db)).ensureProvisioned(),
    (err: unknown) => err instanceof ConfigError && /org\.iso\.18013\.5\.1\.mDL/.test(err.message) && /IACA/.test(err.message),
  );
  assert.equal((await db('signing_keys').whereIn('purpose', ['iaca', 'document_signer']).count<{ count: string }[]>('* as count'))[0]!.count, '0');

  const withoutMdoc = loadTestConfig(
    testConfigFile((file) => {
      asProduction(file);
      const sources = file.authentic_sources as Record<string, { credential_types: Record<string, { format: string }> }>;
      for (const source of Object.values(sources)) for (const [name, type] of Object.entries(source.credential_types)) if (type.format === 'mso_mdoc') delete source.credential_types[name];
    }),
    { ISSUER_KEK: kek },
  );
  const store = createKeyStore(keyStoreOptions(withoutMdoc, db));
  await store.ensureProvisioned();
  await store.ensureProvisioned();
  const purposes = await db<Row>('signing_keys').select('purpose');
  assert.deepEqual(purposes.map((r) => r.purpose).sort(), ['credential', 'credential_ed25519', 'webhooks']);
  await assert.rejects(store.rotate('iaca'), /development IACA/);

  // Development keeps creating its PKI.
  const dev = loadTestConfig(testConfigFile(), { ISSUER_KEK: kek });
  await createKeyStore(keyStoreOptions(dev, db)).ensureProvisioned();
  assert.equal((await db('signing_keys').where({ purpose: 'iaca' }).count<{ count: string }[]>('* as count'))[0]!.count, '1');
});

test('the Ed25519 key (Data Integrity eddsa-rdfc-2022) signs verifiably, rotates, and stays in verificationKeys until not_after', async () => {
  const db = await freshDb();
  let clock = new Date();
  const store = storeOn(db, generateKek(), { now: () => clock, maxCredentialValidityDays: 365 });
  await store.ensureProvisioned();
  const first = await store.ed25519Signer();
  assert.equal(first.alg, 'EdDSA');
  const data = Buffer.from('eddsa-rdfc-2022 hashData');
  // RFC 8032 PureEdDSA, checked with node:crypto against the published public key.
  const publicKey = createPublicKey({ key: { ...first.publicJwk }, format: 'jwk' });
  assert.equal(cryptoVerify(null, data, publicKey, await first.sign(data)), true);
  assert.deepEqual((await store.verificationKeys()).ed25519.map((k) => k.kid), [first.kid]);
  assert.equal((await store.jwks()).keys.some((k) => k.kid === first.kid), false, 'not a JOSE key: not in the JWKS');

  const { kid } = await store.rotate('credential_ed25519');
  assert.notEqual(kid, first.kid);
  assert.equal((await store.ed25519Signer()).kid, kid);
  assert.deepEqual((await store.verificationKeys()).ed25519.map((k) => k.kid).sort(), [first.kid, kid].sort());
  clock = new Date(clock.getTime() + 366 * 86_400_000);
  assert.deepEqual((await store.verificationKeys()).ed25519.map((k) => k.kid), [kid], 'the retired key is gone after not_after');
});
