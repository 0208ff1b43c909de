import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';

/**
 * Batch status (`GET /api/v1/notification/batch/{batch_id}`) is object-level authorized (OWASP
 * API1:2023): only the source that started a batch reads it, by exact identity, and a batch id
 * cannot be computed from what the request contained.
 */
const bodyOf = (res: Response): Promise<any> => res.json();
/** A source whose name is a prefix of `hr.example.org`'s: the case a string-prefix check gets wrong. */
const PREFIX_SOURCE_KEY = 'hr-prefix-source-key-0123456789';

describe('batch offers are readable only by the source that started them', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let temporal: TestWorker;
  let gateway: RunningPart;
  let base: string;
  const request = { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_ids: ['authz-batch-a', 'authz-batch-b'] };
  const status = (batchId: string, key: string) => fetch(`${base}/api/v1/notification/batch/${batchId}`, { headers: { 'x-api-key': key } });

  before(async () => {
    database = await createTestDatabase();
    const config = loadTestConfig(
      testConfigFile((f) => {
        const sources = f.authentic_sources as Record<string, unknown>;
        sources.hr = {
          identifier: 'hr',
          country_code: 'SE',
          api_key_hash: `sha256:${createHash('sha256').update(PREFIX_SOURCE_KEY).digest('hex')}`,
          credential_types: { other: { vct: 'urn:example:other:1', format: 'dc+sd-jwt' } },
        };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: uniqueName('batch-authz'), PORT: '0', ISSUER_URL: 'https://issuer.example.org' },
    );
    temporal = await startTestWorker(config, database.db);
    gateway = await startGateway(config, createLogger('silent'));
    base = gateway.url!;
  });
  after(async () => {
    await gateway?.close();
    await temporal?.close();
    await database?.drop();
  });

  test('the owner reads its batch; a source whose name is a prefix of the owner\'s gets 404, not the deep links', async () => {
    const res = await fetch(`${base}/api/v1/notification/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify(request) });
    const created = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(created));
    const batchId: string = created.data.batch_id;
    assert.equal((await status(batchId, TEST_DEV_API_KEY)).status, 200);
    const foreign = await status(batchId, PREFIX_SOURCE_KEY);
    assert.equal(foreign.status, 404);
    assert.equal((await bodyOf(foreign)).error.code, 'NOT_FOUND');
  });

  test('a batch id carries at least 128 random bits: the id computed from the request alone finds nothing, and a repeat answers the same id', async () => {
    const post = () => fetch(`${base}/api/v1/notification/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify(request) });
    const batchId: string = (await bodyOf(await post())).data.batch_id;
    const digest = createHash('sha256').update(JSON.stringify([request.authentic_source, request.vct, [...request.document_ids].sort()])).digest('base64url').slice(0, 22);
    const guessable = `${request.authentic_source}.${digest}`;
    const random = batchId.slice(guessable.length + 1);
    assert.ok(batchId.startsWith(`${guessable}.`), batchId);
    assert.ok(Buffer.from(random, 'base64url').length >= 16, `random part ${random}`);
    assert.equal((await status(guessable, TEST_DEV_API_KEY)).status, 404, 'the id derivable from the request is not a batch id');
    const forged = `${guessable}.${'A'.repeat(22)}`;
    assert.equal((await status(forged, TEST_DEV_API_KEY)).status, 404, 'the right workflow with a wrong random part is not found');
    // While the batch runs a repeat finds it; once it is done a repeat may start a new run.
    const again: string = (await bodyOf(await post())).data.batch_id;
    assert.ok(again === batchId || again.startsWith(`${guessable}.`));
  });
});
