/**
 * `npm run bench -- webhooks`: signed webhook deliveries (X-Body-Signature) to a receiver on loopback,
 * through real Temporal delivery workflows, a worker in this process and PostgreSQL: deliveries/s and
 * the latency from the event (the delivery workflow's start) to the receiver's first request, beside
 * Temporal's bare ceiling (start + one Update + complete, workflows/ceiling-probe.ts) in the same run.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { createActivities } from '../activities';
import { loadConfig } from '../src/config/config';
import { createDb, migrateLatest } from '../src/db/knex';
import { createLogger } from '../src/logger';
import { createActivityDeps } from '../src/main/activity-deps';
import { startEmbeddedPostgres } from '../src/runtime/embedded-postgres';
import { findOrInstallTemporalCli } from '../src/runtime/temporal-cli';
import { startTemporalDevServer } from '../src/runtime/temporal-dev-server';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes';
import { startIssuerWorker } from '../src/worker/issuer-worker';
import { CEILING_PROBE_WORKFLOW_TYPE, type CeilingProbeWorkflow, finishProbeUpdate } from '../workflows/contracts/ceiling-probe';
import { type WebhookDeliveryWorkflow, WEBHOOK_DELIVERY_WORKFLOW_TYPE, type WebhookEvent, webhookDeliveryWorkflowId } from '../workflows/contracts/webhook-delivery';
import { drive, percentile } from './bench-kit';

export const description = 'signed webhook deliveries to a local receiver: deliveries/s, p99 event → first attempt, beside the Temporal ceiling';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TASK_QUEUE = 'issuer';
const VCT = 'urn:eudi:diploma:1';

export async function run(): Promise<void> {
  const log = () => {};
  const work = mkdtempSync(join(tmpdir(), 'issuer-bench-webhooks-'));
  chmodSync(work, 0o755);
  const binary = await findOrInstallTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, log });
  const [temporal, pg] = await Promise.all([
    startTemporalDevServer({ binary, port: 0, headless: true, namespace: 'default', searchAttributes: SEARCH_ATTRIBUTES, log }),
    startEmbeddedPostgres({ dataDir: join(work, 'postgres'), port: 0, database: 'issuer', log }),
  ]);

  // The receiver: answers 204 and notes when each event's first request arrived.
  const firstSeen = new Map<string, number>();
  let requests = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      const key = String(req.headers['idempotency-key']);
      if (!firstSeen.has(key)) firstSeen.set(key, performance.now());
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const db = createDb(pg.url, { poolMax: 8 });
  let worker: Awaited<ReturnType<typeof startIssuerWorker>> | undefined;
  const connection = await Connection.connect({ address: temporal.address });
  try {
    // The dev configuration, with hr.example.org's webhook on the receiver, signed (X-Body-Signature).
    const file = parse(readFileSync('config/dev.yaml', 'utf8')) as Record<string, any>;
    for (const type of Object.values(file.authentic_sources['hr.example.org'].credential_types) as { vctm_path?: string }[]) {
      if (type.vctm_path) type.vctm_path = join(process.cwd(), 'config', type.vctm_path);
    }
    file.authentic_sources['hr.example.org'].notification_endpoint = { url: hookUrl, body_signature: true };
    writeFileSync(join(work, 'issuer.yaml'), stringify(file));
    const config = loadConfig({ ...process.env, ISSUER_CONFIG: join(work, 'issuer.yaml'), ISSUER_DATA_DIR: join(work, 'data'), ISSUER_DEV_API_KEY: 'bench-dev-api-key-0123456789', DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, LOG_LEVEL: 'silent' });
    await migrateLatest(db);
    worker = await startIssuerWorker({ address: temporal.address, namespace: 'default', taskQueue: TASK_QUEUE, activities: createActivities(await createActivityDeps(config, db)), logger: createLogger('silent') });
    const client = new Client({ connection });

    console.log(`webhooks benchmark: ${EVENTS} events, ${CONCURRENCY} in flight, one worker in the bench process, X-Body-Signature on; ${cpus().length} cores shared by bench, worker, receiver, Temporal and PostgreSQL; load ${loadavg()[0]!.toFixed(1)}`);

    // Baseline: Temporal's bare ceiling on the same server and worker (start + one Update + complete).
    const probeLatencies: number[] = [];
    const probes = await drive(EVENTS, CONCURRENCY, async (i) => {
      const handle = await client.workflow.start<CeilingProbeWorkflow>(CEILING_PROBE_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: `probe-${i}-${Date.now()}`, args: [{ updates: 1 }] });
      const t = performance.now();
      await handle.executeUpdate(finishProbeUpdate, { args: ['x'] });
      probeLatencies.push(performance.now() - t);
      await handle.result();
    });
    const ceilingRate = EVENTS / probes.seconds;
    probeLatencies.sort((a, b) => a - b);
    console.log(`  Temporal ceiling (start + 1 Update + complete) ${ceilingRate.toFixed(0).padStart(6)} workflows/s   Update p50 ${percentile(probeLatencies, 50).toFixed(1)} ms, p99 ${percentile(probeLatencies, 99).toFixed(1)} ms`);

    // The events: closed offers as the offer workflow leaves them, so the activity's check passes.
    const events: WebhookEvent[] = [];
    const rows = [];
    for (let i = 0; i < EVENTS + 32; i++) {
      const offerId = randomBytes(16).toString('base64url');
      const closedAt = new Date();
      rows.push({ offer_id: offerId, workflow_id: `offer/hr.example.org/${VCT}/bench-${offerId}`, authentic_source: 'hr.example.org', vct: VCT, document_id: `bench-${offerId}`, code_hash: randomBytes(16).toString('hex'), tx_code_required: false, state: 'EXPIRED', expires_at: closedAt, closed_at: closedAt });
      events.push({ id: `offer.${offerId}.expired`, type: 'credential_offer.expired', occurred_at: closedAt.toISOString(), data: { vct: VCT, document_id: `bench-${offerId}`, offer_id: offerId, credentials_issued: 0 } });
    }
    for (let i = 0; i < rows.length; i += 200) await db('credential_offers').insert(rows.slice(i, i + 200));

    // CONCURRENCY deliveries in flight: each task starts one and waits for its end, so the latency
    // from event to first attempt is that of a loaded issuer, not of a queue the bench filled itself.
    const startedAt = new Map<string, number>();
    const results: { state: string }[] = [];
    const deliver = async (event: WebhookEvent) => {
      startedAt.set(event.id, performance.now());
      const handle = await client.workflow.start<WebhookDeliveryWorkflow>(WEBHOOK_DELIVERY_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: webhookDeliveryWorkflowId('hr.example.org', event.id), args: [{ subscriber: 'hr.example.org', event }] });
      results.push(await handle.result());
    };
    // Warm-up: the key store opens the webhooks key, the worker caches the workflow code.
    await drive(32, CONCURRENCY, (i) => deliver(events[EVENTS + i]!));
    results.length = 0;

    const t0 = performance.now();
    await drive(EVENTS, CONCURRENCY, (i) => deliver(events[i]!));
    const seconds = (performance.now() - t0) / 1000;
    const delivered = results.filter((r) => r.state === 'DELIVERED').length;
    const toFirstAttempt = events
      .slice(0, EVENTS)
      .map((e) => (firstSeen.get(e.id) ?? NaN) - startedAt.get(e.id)!)
      .filter((v) => !Number.isNaN(v))
      .sort((a, b) => a - b);
    const rate = delivered / seconds;
    console.log(`\n  signed deliveries (start → 2xx → completed)    ${rate.toFixed(0).padStart(6)} deliveries/s   (${delivered}/${EVENTS} DELIVERED, ${requests} requests in all)`);
    console.log(`    event → first attempt   p50 ${percentile(toFirstAttempt, 50).toFixed(1).padStart(6)} ms   p95 ${percentile(toFirstAttempt, 95).toFixed(1).padStart(6)} ms   p99 ${percentile(toFirstAttempt, 99).toFixed(1).padStart(6)} ms`);
    console.log(`  ratio to the Temporal ceiling ${(rate / ceilingRate).toFixed(2)}; each delivery is a start, two activities (deliverWebhook, appendAudit) and a completion`);
  } finally {
    await worker?.close();
    await connection.close();
    await db.destroy();
    await new Promise((r) => receiver.close(r));
    await Promise.all([temporal.stop(), pg.stop()]);
    rmSync(work, { recursive: true, force: true });
  }
}
