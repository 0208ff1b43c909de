import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { createActivities } from '../../activities';
import { createLogger } from '../../src/logger';
import { createActivityDeps } from '../../src/main/activity-deps';
import { connectTemporalClient, type TemporalClientHandle } from '../../src/temporal/temporal-client';
import { temporalConnectionOptions, type TemporalConnectionOptions } from '../../src/temporal/temporal-connection-options';
import { startIssuerWorker, type RunningWorker } from '../../src/worker/issuer-worker';
import { upkeepPurgeScheduleId } from '../../src/worker/upkeep-schedule';
import { STALE_RESERVATION_MS } from '../../src/db/status-lists-repository';
import { documentSignerRenewalScheduleId } from '../../src/worker/document-signer-renewal-schedule';
import { statusListResignScheduleId } from '../../src/worker/status-list-resign-schedule';
import { PURGED_TABLES, UPKEEP_PURGE_WORKFLOW_TYPE, type UpkeepPurgeWorkflow } from '../../workflows/contracts/upkeep-purge';
import { EXPIRING_TABLES } from '../../src/db/nonces-repository';
import { WEBHOOK_OUTBOX_RETENTION_SECONDS } from '../../src/db/webhook-outbox-repository';
import { createTestDatabase, loadTestConfig, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { createTestPki, type TestPki } from '../support/test-pki';

/**
 * A TLS front for the run's (plaintext) Temporal dev server that demands a client certificate
 * from the test CA (mTLS) and records who connected, so the test sees that the options reach the
 * worker's NativeConnection and the clients' Connection alike.
 */
async function startMtlsFront(pki: TestPki, upstream: string): Promise<{ server: Server; address: string; clients: string[]; close(): Promise<void> }> {
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
  const clients: string[] = [];
  const sockets = new Set<Socket>();
  const server = createTlsServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (tlsSocket: TLSSocket) => {
    clients.push(String(tlsSocket.getPeerCertificate().subject?.CN ?? '(none)'));
    const plain = connect(port, host);
    sockets.add(tlsSocket).add(plain);
    tlsSocket.pipe(plain).pipe(tlsSocket);
    const end = () => {
      tlsSocket.destroy();
      plain.destroy();
    };
    tlsSocket.on('error', end).on('close', end);
    plain.on('error', end).on('close', end);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    address: `localhost:${(server.address() as AddressInfo).port}`,
    clients,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function pemFiles(pki: TestPki): { cert: string; key: string; ca: string } {
  const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  return { cert: write('client.pem', pki.clientCert), key: write('client-key.pem', pki.clientKey), ca: write('ca.pem', pki.caCert) };
}

describe('Temporal over mTLS, and the upkeep purge schedule, on a real Temporal server and PostgreSQL', () => {
  let pki: TestPki;
  let front: Awaited<ReturnType<typeof startMtlsFront>>;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let tlsOptions: TemporalConnectionOptions;
  let temporal: TemporalClientHandle;
  const workers: RunningWorker[] = [];
  const taskQueue = uniqueName('upkeep');
  const logger = createLogger('silent');

  before(async () => {
    pki = await createTestPki();
    front = await startMtlsFront(pki, testEnv().temporalAddress.replace(/^localhost:/, '127.0.0.1:'));
    database = await createTestDatabase();
    const files = pemFiles(pki);
    tlsOptions = temporalConnectionOptions(front.address, { TEMPORAL_TLS_CERT: files.cert, TEMPORAL_TLS_KEY: files.key, TEMPORAL_TLS_CA: files.ca, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    temporal = await connectTemporalClient(tlsOptions, 'default');
  });
  after(async () => {
    for (const w of workers) await w.close();
    await temporal?.client.schedule.getHandle(upkeepPurgeScheduleId(taskQueue)).delete().catch(() => undefined);
    await temporal?.client.schedule.getHandle(documentSignerRenewalScheduleId(taskQueue)).delete().catch(() => undefined);
    await temporal?.client.schedule.getHandle(statusListResignScheduleId(taskQueue)).delete().catch(() => undefined);
    await temporal?.close();
    await front?.close();
    await database?.drop();
  });

  const startWorker = async () => {
    const config = loadTestConfig(testConfigFile(), { TEMPORAL_TASK_QUEUE: taskQueue });
    const worker = await startIssuerWorker({
      ...tlsOptions,
      namespace: 'default',
      taskQueue,
      activities: createActivities(await createActivityDeps(config, database.db)),
      logger,
      workflowBundle: { codePath: testEnv().workflowBundle },
      upkeepSchedule: true,
    });
    workers.push(worker);
    return worker;
  };

  test('a client without a certificate is refused by the mTLS frontend; the configured client reaches it', async () => {
    await assert.rejects(
      connectTemporalClient({ address: front.address, tls: { serverRootCACertificate: Buffer.from(pki.caCert), serverNameOverride: 'localhost' } }, 'default').then((h) => h.check().finally(() => h.close())),
    );
    await temporal.check();
    assert.ok(front.clients.includes('test-client'));
  });

  test('the worker creates the upkeep schedule (and the Document Signer renewal schedule) at start over mTLS, and a second start does not duplicate it', async () => {
    const seenBefore = front.clients.length;
    await startWorker();
    await startWorker();
    assert.ok(front.clients.length >= seenBefore + 2, 'the worker connections went through the TLS front');
    assert.ok(front.clients.every((cn) => cn === 'test-client'));
    const ids: string[] = [];
    for await (const schedule of temporal.client.schedule.list()) if (schedule.scheduleId === upkeepPurgeScheduleId(taskQueue)) ids.push(schedule.scheduleId);
    assert.equal(ids.length, 1);
    const description = await temporal.client.schedule.getHandle(upkeepPurgeScheduleId(taskQueue)).describe();
    assert.equal(description.action.type, 'startWorkflow');
    assert.equal(description.action.workflowType, 'upkeepPurgeWorkflow');
    assert.equal(description.action.taskQueue, taskQueue);
    assert.deepEqual(description.spec.intervals?.map((i) => i.every), [15 * 60 * 1000]);
    await assert.rejects(temporal.client.schedule.getHandle(upkeepPurgeScheduleId(uniqueName('other'))).describe(), ScheduleNotFoundError);
    // The Document Signer renewal Schedule is created beside it (every 6 hours).
    const renewal = await temporal.client.schedule.getHandle(documentSignerRenewalScheduleId(taskQueue)).describe();
    assert.equal(renewal.action.type === 'startWorkflow' && renewal.action.workflowType, 'documentSignerRenewalWorkflow');
    assert.deepEqual(renewal.spec.intervals?.map((i) => i.every), [6 * 3600 * 1000]);
    // And the status-list re-signing Schedule (every eighth of STATUS_LIST_VALIDITY, at most an hour: here the default day).
    const resign = await temporal.client.schedule.getHandle(statusListResignScheduleId(taskQueue)).describe();
    assert.equal(resign.action.type === 'startWorkflow' && resign.action.workflowType, 'statusListResignWorkflow');
    assert.deepEqual(resign.spec.intervals?.map((i) => i.every), [3600 * 1000]);
  });

  test('the purge deletes expired nonces, access tokens, pickups and DPoP jtis in bounded batches and keeps fresh ones', async () => {
    assert.deepEqual([...PURGED_TABLES].sort(), [...EXPIRING_TABLES].sort(), 'the workflow purges every expiring table');
    const db = database.db;
    const past = new Date(Date.now() - 60_000);
    const future = new Date(Date.now() + 3_600_000);
    const rows = (table: string, n: number, expiresAt: Date, tag: string) => {
      const make = (i: number) => {
        const key = `${tag}-${i}`;
        switch (table) {
          case 'oid4vci_nonces':
            return { nonce_hash: key, expires_at: expiresAt };
          case 'oid4vci_access_tokens':
            return { token_hash: key, workflow_id: 'offer/x', offer_id: 'o', expires_at: expiresAt };
          case 'credential_pickups':
            return { id: randomUUID(), offer_id: key, sealed_credential: 'sealed', expires_at: expiresAt };
          default:
            return { jti_hash: key, expires_at: expiresAt };
        }
      };
      return Array.from({ length: n }, (_, i) => make(i));
    };
    for (const table of PURGED_TABLES) {
      await db(table).insert(rows(table, 25, past, `old-${table}`));
      await db(table).insert(rows(table, 3, future, `new-${table}`));
    }
    // Status-list reservations: 9 of issuance requests that never came back (older than STALE_RESERVATION_MS), one of a live request.
    await db('status_lists').insert({ id: 'token/status/0', family: 'token', purpose: 'status', number: 0, bits: 2, size: 64, allocated: 10 });
    const stale = new Date(Date.now() - STALE_RESERVATION_MS - 60_000);
    await db('status_list_entries').insert(Array.from({ length: 10 }, (_, idx) => ({ list_id: 'token/status/0', idx, state: 'reserved', request_key: `req-${idx}`, ordinal: 0, allocated_at: idx < 9 ? stale : new Date() })));
    // Small batches so the run needs several batches and several activity calls per table.
    const result = await temporal.client.workflow.execute<UpkeepPurgeWorkflow>(UPKEEP_PURGE_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: uniqueName('upkeep-test'),
      args: [{ batchSize: 4, maxBatchesPerCall: 2 }],
    });
    assert.equal(result.state, 'DONE');
    assert.deepEqual(result.leftForNextRun, []);
    for (const table of PURGED_TABLES) {
      assert.equal(result.deleted[table], 25, table);
      const left = await db(table).select('expires_at');
      assert.equal(left.length, 3, `${table}: the fresh rows stay`);
      assert.ok(left.every((r: { expires_at: Date }) => r.expires_at > new Date()));
    }
    assert.equal(result.staleReservationsFreed, 9);
    assert.deepEqual((await db('status_list_entries').select('request_key')).map((r: { request_key: string }) => r.request_key), ['req-9'], 'the live reservation stays');
    assert.equal((await db('status_lists').where({ id: 'token/status/0' }).first()).allocated, 1, "the list's count follows");
  });

  test('the purge deletes the webhook outbox\'s ended deliveries and dispatched events after the retention, in bounded batches, and never a pending one', async () => {
    const db = database.db;
    const doc = { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: uniqueName('outbox') };
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);
    const old = ago(WEBHOOK_OUTBOX_RETENTION_SECONDS + 3600);
    const recent = ago(WEBHOOK_OUTBOX_RETENTION_SECONDS - 3600);
    const tag = uniqueName('ev');
    const event = (id: string, dispatchedAt: Date | null) => ({ id: `${tag}.${id}`, type: 'credential.issued', ...doc, data: JSON.stringify({ offer_id: id }), occurred_at: old, dispatched_at: dispatchedAt });
    const delivery = (subscriber: string, eventId: string, state: string, finishedAt: Date | null) => ({ subscriber, event_id: `${tag}.${eventId}`, ...doc, position: 1, state, created_at: old, finished_at: finishedAt });
    await db('webhook_events').insert([
      event('all-ended', old),
      event('one-pending', old),
      event('ended-recently', old),
      event('undispatched', null),
      event('dispatched-recently', recent),
      // Old events nobody wanted (or discarded): enough for several batches.
      ...Array.from({ length: 9 }, (_, i) => event(`unwanted-${i}`, old)),
    ]);
    await db('webhook_deliveries').insert([
      delivery('a', 'all-ended', 'DELIVERED', old),
      delivery('b', 'all-ended', 'DEAD_LETTERED', old),
      delivery('a', 'one-pending', 'DELIVERED', old),
      delivery('b', 'one-pending', 'PENDING', null),
      delivery('a', 'ended-recently', 'DELIVERED', recent),
      // An offer's end event is ordered without an outbox row (webhook-outbox-repository.ts recordOrdered).
      delivery('a', 'offer-end', 'REFUSED', old),
    ]);
    const result = await temporal.client.workflow.execute<UpkeepPurgeWorkflow>(UPKEEP_PURGE_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: uniqueName('upkeep-test'),
      args: [{ batchSize: 4, maxBatchesPerCall: 1 }],
    });
    assert.equal(result.state, 'DONE');
    assert.deepEqual(result.webhookOutboxPurged, { deliveries: 4, events: 10 });
    const events = (await db('webhook_events').where('id', 'like', `${tag}.%`).orderBy('id').pluck('id')) as string[];
    assert.deepEqual(events, ['dispatched-recently', 'ended-recently', 'one-pending', 'undispatched'].map((id) => `${tag}.${id}`), 'a pending delivery keeps its event; recent and undispatched events stay');
    const deliveries = (await db('webhook_deliveries').where('event_id', 'like', `${tag}.%`).orderBy('event_id').select('subscriber', 'event_id', 'state')) as { subscriber: string; event_id: string; state: string }[];
    assert.deepEqual(deliveries, [
      { subscriber: 'a', event_id: `${tag}.ended-recently`, state: 'DELIVERED' },
      { subscriber: 'b', event_id: `${tag}.one-pending`, state: 'PENDING' },
    ]);
  });

  test('a bounded run leaves the rest for the next run, and the schedule itself runs the purge', async () => {
    const db = database.db;
    await db('dpop_jtis').insert(Array.from({ length: 10 }, (_, i) => ({ jti_hash: `bounded-${i}`, expires_at: new Date(Date.now() - 1000) })));
    const bounded = await temporal.client.workflow.execute<UpkeepPurgeWorkflow>(UPKEEP_PURGE_WORKFLOW_TYPE, {
      taskQueue,
      workflowId: uniqueName('upkeep-test'),
      args: [{ batchSize: 2, maxBatchesPerCall: 1, maxCallsPerTable: 2 }],
    });
    assert.equal(bounded.deleted.dpop_jtis, 4);
    assert.deepEqual(bounded.leftForNextRun, ['dpop_jtis']);

    const handle = temporal.client.schedule.getHandle(upkeepPurgeScheduleId(taskQueue));
    await handle.trigger();
    for (let i = 0; i < 100 && Number((await db('dpop_jtis').where('expires_at', '<=', db.fn.now()).count<{ n: string }[]>('* as n'))[0]!.n) > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(Number((await db('dpop_jtis').where('expires_at', '<=', db.fn.now()).count<{ n: string }[]>('* as n'))[0]!.n), 0, 'the scheduled run purged the rest');
    assert.ok((await handle.describe()).info.recentActions.length >= 1);
  });
});
