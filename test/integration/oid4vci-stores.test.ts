import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { up as migrateOid4vci } from '../../src/db/migrations/0006-oid4vci';
import { createAccessTokensRepository, createNoncesRepository } from '../../src/db/nonces-repository';
import { createIssuedCredentialsRepository } from '../../src/db/issued-credentials-repository';
import { deriveSubkey } from '../../src/credentials/kek-subkeys';
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

  test('a retried signing request (same request key) records and parks each credential once, and its own rows do not count against the cap', async () => {
    const issued = createIssuedCredentialsRepository(database.db, deriveSubkey(Buffer.alloc(32, 7), 'pickup-sealing'));
    const offerId = `offer-retry-${Date.now()}`;
    await database.db('credential_offers').insert({
      offer_id: offerId, workflow_id: `offer/s/v/${offerId}`, authentic_source: 's', vct: 'v', document_id: offerId,
      code_hash: sha256Hex(`code-${offerId}`), tx_code_required: false, pin_delivery: 'none', expires_at: new Date(Date.now() + 60_000),
    });
    const record = { offer_id: offerId, authentic_source: 's', vct: 'v', document_id: offerId, format: 'dc+sd-jwt', holder_key_thumbprint: 'thumb', valid_from: null, valid_until: null };
    const first = await issued.recordAndPark('run-1/1', [record, record], ['cred-a', 'cred-b']);
    // The activity ran again after a crash that came after its commit: it signed anew, the same ids are derived.
    const again = await issued.recordAndPark('run-1/1', [record, record], ['cred-a2', 'cred-b2']);
    assert.deepEqual(again, first);
    assert.equal((await database.db('issued_credentials').where({ offer_id: offerId })).length, 2);
    assert.equal((await database.db('credential_pickups').where({ offer_id: offerId })).length, 2);
    assert.equal(await issued.countFor(offerId), 2);
    assert.equal(await issued.countFor(offerId, { requestKey: 'run-1/1', count: 2 }), 0, 'a retry does not count its own first attempt');
    assert.equal((await database.db('credential_offers').where({ offer_id: offerId }).first()).state, 'ISSUED');
    // What the wallet picks up is the first attempt's parked copy; another request gets other ids.
    assert.deepEqual(await issued.pickUp(first), ['cred-a', 'cred-b']);
    const other = await issued.recordAndPark('run-1/2', [record], ['cred-c']);
    assert.notEqual(other[0], first[0]);
    assert.equal(await issued.countFor(offerId, { requestKey: 'run-1/2', count: 1 }), 2);
  });
});
