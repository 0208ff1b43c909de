import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { up as migrateOid4vci } from '../../src/db/migrations/0006-oid4vci';
import { createAccessTokensRepository, createNoncesRepository } from '../../src/db/nonces-repository';
import { createTestDatabase } from '../support/test-services';

const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

describe('OpenID4VCI nonce and access-token stores, on a real PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let nonces: ReturnType<typeof createNoncesRepository>;
  let tokens: ReturnType<typeof createAccessTokensRepository>;

  before(async () => {
    database = await createTestDatabase();
    nonces = createNoncesRepository(database.db);
    tokens = createAccessTokensRepository(database.db);
  });
  after(async () => {
    await database?.drop();
  });

  test('the migration ran with the others, and running it again is harmless', async () => {
    await migrateOid4vci(database.db);
    assert.ok(await database.db.schema.hasTable('oid4vci_nonces'));
    assert.ok(await database.db.schema.hasTable('oid4vci_access_tokens'));
  });

  test('a nonce is accepted once, then answered as used (OpenID4VCI 1.0 §7: a c_nonce is single use)', async () => {
    const { nonce, expiresAt } = await nonces.issue(60);
    assert.match(nonce, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.ok(expiresAt.getTime() > Date.now() + 30_000);
    assert.equal(await nonces.consume(nonce), 'ok');
    assert.equal(await nonces.consume(nonce), 'used');
  });

  test('a nonce the issuer never handed out is unknown', async () => {
    assert.equal(await nonces.consume('never-issued-nonce'), 'unknown');
    assert.equal(await nonces.consume(''), 'unknown');
  });

  test('an expired nonce is refused as expired', async () => {
    const immediate = await nonces.issue(0);
    assert.equal(await nonces.consume(immediate.nonce), 'expired');
    const later = await nonces.issue(60);
    await database.db('oid4vci_nonces').where({ nonce_hash: sha256Hex(later.nonce) }).update({ expires_at: new Date(Date.now() - 1000) });
    assert.equal(await nonces.consume(later.nonce), 'expired');
  });

  test('twenty concurrent consumes of one nonce accept it exactly once', async () => {
    const { nonce } = await nonces.issue(60);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => nonces.consume(nonce)));
    assert.equal(outcomes.filter((o) => o === 'ok').length, 1, outcomes.join(','));
    assert.equal(outcomes.filter((o) => o === 'used').length, 19, outcomes.join(','));
  });

  test('only nonce hashes are stored, and purging removes expired nonces but keeps live ones', async () => {
    const live = await nonces.issue(60);
    const dead = await nonces.issue(0);
    const rows = await database.db('oid4vci_nonces').select('*');
    assert.ok(!JSON.stringify(rows).includes(live.nonce));
    assert.ok(rows.some((r: { nonce_hash: string }) => r.nonce_hash === sha256Hex(live.nonce)));
    assert.ok((await nonces.purgeExpired()) >= 1);
    assert.equal(await nonces.consume(dead.nonce), 'unknown');
    assert.equal(await nonces.consume(live.nonce), 'ok');
  });

  test('an access token resolves to the offer and workflow it was issued for', async () => {
    const { token, expiresAt } = await tokens.issue({ workflowId: 'offer/hr.example.org/urn:eudi:diploma:1/doc-1', offerId: 'offer-1', ttlSeconds: 300 });
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(expiresAt.getTime() > Date.now() + 200_000);
    assert.deepEqual(await tokens.resolve(token), { workflowId: 'offer/hr.example.org/urn:eudi:diploma:1/doc-1', offerId: 'offer-1' });
    assert.equal(await tokens.resolve(`${token}x`), undefined);
  });

  test('an expired access token does not resolve', async () => {
    const immediate = await tokens.issue({ workflowId: 'wf-2', offerId: 'offer-2', ttlSeconds: 0 });
    assert.equal(await tokens.resolve(immediate.token), undefined);
    const later = await tokens.issue({ workflowId: 'wf-3', offerId: 'offer-3', ttlSeconds: 300 });
    assert.ok(await tokens.resolve(later.token));
    await database.db('oid4vci_access_tokens').where({ token_hash: sha256Hex(later.token) }).update({ expires_at: new Date(Date.now() - 1000) });
    assert.equal(await tokens.resolve(later.token), undefined);
  });

  test('only access-token hashes are stored, never the token', async () => {
    const { token } = await tokens.issue({ workflowId: 'wf-4', offerId: 'offer-4', ttlSeconds: 300 });
    const rows = await database.db('oid4vci_access_tokens').select('*');
    assert.ok(rows.length >= 1);
    assert.ok(!JSON.stringify(rows).includes(token), 'the raw token appears in the table');
    const row = rows.find((r: { token_hash: string }) => r.token_hash === sha256Hex(token));
    assert.ok(row, 'the token is found by its SHA-256');
    assert.equal(row.workflow_id, 'wf-4');
  });
});
