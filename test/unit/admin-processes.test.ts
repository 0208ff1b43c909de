import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { temporalUiBaseUrl, visibilityQuery } from '../../src/admin/process-finder';
import { processTimeline } from '../../src/admin/process-timeline';
import { createAdminAuthenticator, requireAdminRole } from '../../src/gateway/admin/admin-auth';
import { HISTORIES_DIR, historyFromPlain } from '../support/workflow-histories';
import { historyPayloadTexts } from '../support/history-text';
import { loadTestConfig, TEST_DEV_API_KEY, testConfigFile } from '../support/test-services';

/**
 * The operator API's pure parts (issue 21): timelines read from the recorded histories of real runs
 * (test/fixtures/workflow-histories, recorded by `npm run record-histories`), the visibility query,
 * the Temporal UI base URL, and admin tokens with roles.
 */
const fixture = (name: string, dir = '5c74b20') => JSON.parse(readFileSync(join(HISTORIES_DIR, dir, `${name}.json`), 'utf8')) as { history: unknown };
const steps = (name: string, dir?: string) =>
  processTimeline(historyFromPlain(fixture(name, dir).history)).map((e) => (e.event === 'state' ? `state:${e.details!.state}` : e.event));

describe('process timeline from a workflow history', () => {
  test('an issued offer: PIN sent, a wrong PIN, redeemed, credentials issued, the wallet\'s event, closed, webhook child, completed', () => {
    assert.deepEqual(steps('offer-issued'), ['started', 'state:OFFERED', 'pin_sent', 'pin_wrong', 'state:REDEEMED', 'redeemed', 'state:ISSUED', 'credentials_issued', 'wallet_event', 'offer_closed', 'child_started', 'completed']);
  });

  test('locked, cancelled and expired offers end as their histories say', () => {
    assert.deepEqual(steps('offer-locked'), ['started', 'state:OFFERED', 'pin_sent', 'pin_wrong', 'state:LOCKED', 'redeem_refused', 'offer_closed', 'child_started', 'completed']);
    assert.deepEqual(steps('offer-cancelled'), ['started', 'state:OFFERED', 'pin_sent', 'cancel_requested', 'state:CANCELLED', 'offer_closed', 'child_started', 'completed']);
    assert.deepEqual(steps('offer-expired'), ['started', 'state:OFFERED', 'pin_sent', 'state:EXPIRED', 'offer_closed', 'child_started', 'completed']);
  });

  test('since locked-offer-waits: a lockout lifted by an unlock or by a PIN re-send, then the pickup', () => {
    const pickup = ['state:REDEEMED', 'redeemed', 'state:ISSUED', 'credentials_issued', 'wallet_event', 'offer_closed', 'child_started', 'completed'];
    assert.deepEqual(steps('offer-locked-unlocked', 'a2b474e'), ['started', 'state:OFFERED', 'pin_sent', 'pin_wrong', 'state:LOCKED', 'redeem_refused', 'state:OFFERED', 'unlocked', ...pickup]);
    assert.deepEqual(steps('offer-locked-pin-resent', 'a2b474e'), ['started', 'state:OFFERED', 'pin_sent', 'pin_wrong', 'state:LOCKED', 'redeem_refused', 'state:OFFERED', 'pin_sent', 'pin_resent', ...pickup]);
    // Still locked when the code expired: the offer waited, then ended LOCKED.
    assert.deepEqual(steps('offer-locked', 'a2b474e'), ['started', 'state:OFFERED', 'pin_sent', 'pin_wrong', 'state:LOCKED', 'redeem_refused', 'offer_closed', 'child_started', 'completed']);
  });

  test('webhook deliveries and batches', () => {
    assert.deepEqual(steps('webhook-delivery-issued'), ['started', 'state:DELIVERING', 'webhook_delivered', 'state:DELIVERED', 'activity_completed', 'completed']);
    const batch = processTimeline(historyFromPlain(fixture('batch-offer').history));
    const children = batch.filter((e) => e.event === 'child_started').map((e) => e.details!.workflow_id);
    assert.ok(children.length > 0 && children.every((id) => String(id).startsWith('offer/hr.example.org/')));
    assert.equal(batch.at(-2)?.details?.state, 'DONE');
  });

  test('Update inputs and activity results never reach the timeline: not the redemption proof, the holder keys or the pickup ids', () => {
    const decoded = historyPayloadTexts(fixture('offer-issued').history);
    const proof = decoded.map((d) => /"redemptionProof":"([^"]+)"/.exec(d)?.[1]).find(Boolean);
    const holderX = decoded.map((d) => /"x":"([^"]+)"/.exec(d)?.[1]).find(Boolean);
    const pickupId = decoded.map((d) => /"pickupIds":\["([^"]+)"/.exec(d)?.[1]).find(Boolean);
    assert.ok(proof && holderX && pickupId, 'the fixture holds all three, so the check below can fail');
    const timeline = JSON.stringify(processTimeline(historyFromPlain(fixture('offer-issued').history)));
    for (const secret of [proof, holderX, pickupId]) assert.ok(!timeline.includes(secret), secret);
  });
});

describe('visibility query', () => {
  test('filters combine with AND inside the deployment\'s task queue; without a kind, every process kind', () => {
    assert.equal(
      visibilityQuery({ authenticSource: 'hr.example.org', vct: 'urn:eudi:diploma:1', documentId: 'd-1', state: 'ISSUED', kind: 'offer', startedAfter: new Date('2026-01-01T00:00:00Z') }, 'issuer'),
      "TaskQueue = 'issuer' AND WorkflowType = 'credentialOfferWorkflow' AND AuthenticSource = 'hr.example.org' AND Vct = 'urn:eudi:diploma:1' AND DocumentId = 'd-1' AND ProcessState = 'ISSUED' AND StartTime >= '2026-01-01T00:00:00.000Z'",
    );
    assert.equal(
      visibilityQuery({}, 'q'),
      "TaskQueue = 'q' AND (WorkflowType = 'credentialOfferWorkflow' OR WorkflowType = 'batchOfferWorkflow' OR WorkflowType = 'webhookDeliveryWorkflow' OR WorkflowType = 'upkeepPurgeWorkflow' OR WorkflowType = 'onboardingWorkflow')",
    );
  });

  test('a value that could end its literal is refused, not escaped', () => {
    for (const value of ["x' OR WorkflowType != '", 'a"b', 'a\\b', 'a\nb']) assert.throws(() => visibilityQuery({ documentId: value }, 'issuer'));
  });
});

describe('Temporal UI base URL', () => {
  test('TEMPORAL_UI_URL wins; else the Temporal port + 1000 (the dev server\'s UI); else localhost:8233', () => {
    assert.equal(temporalUiBaseUrl({ TEMPORAL_UI_URL: 'https://ui.example.org/', TEMPORAL_ADDRESS: '127.0.0.1:7233' }), 'https://ui.example.org');
    assert.equal(temporalUiBaseUrl({ TEMPORAL_ADDRESS: '127.0.0.1:17233' }), 'http://127.0.0.1:18233');
    assert.equal(temporalUiBaseUrl({}), 'http://localhost:8233');
  });
});

describe('admin tokens', () => {
  const sha = (t: string) => `sha256:${createHash('sha256').update(t).digest('hex')}`;
  const request = (token: string) => ({ get: (h: string) => (h.toLowerCase() === 'authorization' ? `Bearer ${token}` : undefined), socket: {} }) as never;

  test('each token authenticates as its name with its role; a read token is refused an operate action with FORBIDDEN', async () => {
    const config = loadTestConfig(testConfigFile((f) => (f.admin_tokens = { alice: { token_hash: sha('alice-token-0123456789'), role: 'read' }, bob: { key_id: 'bob', token_hash: sha('bob.token-0123456789'), role: 'operate' } })));
    const authenticate = createAdminAuthenticator(config);
    assert.deepEqual(await authenticate(request('alice-token-0123456789')), { kind: 'admin', admin: 'alice', role: 'read' });
    assert.deepEqual(await authenticate(request('bob.token-0123456789')), { kind: 'admin', admin: 'bob', role: 'operate' });
    assert.deepEqual(await authenticate(request(TEST_DEV_API_KEY)), { kind: 'admin', admin: 'dev', role: 'operate' }, 'development: the dev key');
    await assert.rejects(requireAdminRole(authenticate, 'operate')(request('alice-token-0123456789')), { code: 'FORBIDDEN' });
    assert.equal((await requireAdminRole(authenticate, 'read')(request('bob.token-0123456789'))).admin, 'bob', 'operate includes read');
    await assert.rejects(authenticate(request('alice-token-0123456789x')), { code: 'UNAUTHORIZED' });
  });

  test('a production configuration does not accept the dev key as an admin token', async () => {
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.environment = 'production';
        const sources = f.authentic_sources as Record<string, Record<string, unknown>>;
        delete sources['hr.example.org'];
        f.admin_tokens = { alice: { token_hash: sha('alice-token-0123456789'), role: 'read' } };
      }),
      { ISSUER_KEK: '00'.repeat(32) },
    );
    await assert.rejects(createAdminAuthenticator(config)(request(TEST_DEV_API_KEY)), { code: 'UNAUTHORIZED' });
  });

  test('the configuration refuses a token named dev, a missing or unknown role, and a key id another secret has', () => {
    const load = (tokens: unknown) => () => loadTestConfig(testConfigFile((f) => (f.admin_tokens = tokens)));
    assert.throws(load({ dev: { token_hash: sha('x'), role: 'read' } }), /admin_tokens\.dev: "dev" is the name of the dev API key/);
    assert.throws(load({ a: { token_hash: sha('x') } }), /admin_tokens\.a\.role/);
    assert.throws(load({ a: { token_hash: sha('x'), role: 'admin' } }), /admin_tokens\.a\.role/);
    assert.throws(load({ a: { token_hash: sha('x'), role: 'read', key_id: 'k' }, b: { token_hash: sha('y'), role: 'read', key_id: 'k' } }), /admin_tokens\.b\.key_id: "k" is already the key id of admin_tokens\.a/);
  });
});
