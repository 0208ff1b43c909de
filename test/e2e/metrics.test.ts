import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { freePort } from '../../src/runtime/free-port';
import { startSmtpReceiver, waitForPin } from '../support/smtp-receiver';
import { createTestDatabase, TEST_DEV_API_KEY, testEnv, uniqueName } from '../support/test-services';

/**
 * `/metrics` in the production shape: a gateway, and a `worker` process with METRICS_PORT and the
 * SDK's exporter (TEMPORAL_SDK_METRICS_ADDRESS). One holder collects a credential after a wrong PIN;
 * each part's Prometheus text (exposition format 0.0.4) shows what that part counted, by bounded
 * labels only: the route template, never the offer token in the path.
 */
const GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const bodyOf = (res: Response): Promise<any> => res.json();

/** The value of one sample line `name{labels} value` (labels in the order prom-client writes them). */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('metrics of the gateway and of a worker process', { timeout: 180_000 }, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let worker: ChildProcess;
  let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
  let workerMetrics: string;
  let sdkMetrics: string;
  let offerToken = '';

  before(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpReceiver();
    const [metricsPort, sdkPort] = [await freePort(), await freePort()];
    workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
    sdkMetrics = `http://127.0.0.1:${sdkPort}/metrics`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ISSUER_CONFIG: 'config/dev.yaml',
      ISSUER_DATA_DIR: mkdtempSync(join(tmpdir(), 'issuer-metrics-')),
      ISSUER_DEV_API_KEY: TEST_DEV_API_KEY,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: testEnv().temporalAddress,
      TEMPORAL_TASK_QUEUE: uniqueName('metrics'),
      SMTP_URL: smtp.url,
      ISSUER_URL: 'https://issuer.example.org',
      PORT: '0',
      LOG_LEVEL: 'warn',
    };
    gateway = await startGateway(loadConfig(env), createLogger('silent'));
    worker = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker'], {
      env: { ...env, METRICS_PORT: String(metricsPort), TEMPORAL_SDK_METRICS_ADDRESS: `127.0.0.1:${sdkPort}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    for (let i = 0; i < 600; i++) {
      if (await fetch(workerMetrics).then((r) => r.ok, () => false)) break;
      assert.equal(worker.exitCode, null, 'the worker is running');
      await new Promise((r) => setTimeout(r, 100));
    }

    // One holder: upload, notification, a wrong PIN, the right one, a credential (OpenID4VCI 1.0 §6, §8).
    const base = gateway.url!;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const documentId = uniqueName('metrics-doc');
    const email = `${documentId}@example.org`;
    const upload = await post(
      '/api/v1/upload',
      {
        meta: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: documentId },
        identities: [{ family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', email }],
        document_data: { degree_type: 'BSc', field_of_study: 'Physics', issuing_institution: 'Example University', graduation_date: '2025-05-15' },
      },
      { 'x-api-key': TEST_DEV_API_KEY },
    );
    assert.equal(upload.status, 200);
    const { qr } = await bodyOf(await post('/api/v1/notification', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: documentId }, { 'x-api-key': TEST_DEV_API_KEY }));
    const offerUri = new URL(decodeURIComponent(qr.deep_link.split('credential_offer_uri=')[1]));
    offerToken = offerUri.pathname.split('/').pop()!;
    const code = (await bodyOf(await fetch(`${base}${offerUri.pathname}`))).grants[GRANT]['pre-authorized_code'];
    const pin = await waitForPin(smtp.mails, email);
    const token = (txCode: string) => fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, tx_code: txCode }) });
    assert.equal((await token(pin === '000000' ? '111111' : '000000')).status, 400, 'a wrong PIN is invalid_grant');
    const { access_token: accessToken } = await bodyOf(await token(pin));
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const { c_nonce: nonce } = await bodyOf(await post('/nonce', {}));
    const proof = await new SignJWT({ nonce }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(publicKey) }).setAudience('https://issuer.example.org').setIssuedAt().sign(privateKey);
    const credential = await post('/credential', { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [proof] } }, { authorization: `Bearer ${accessToken}` });
    assert.equal(credential.status, 200);
  });

  after(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    }
    await gateway?.close();
    await smtp?.close();
    await database?.drop();
  });

  test("the gateway's /metrics counts requests by route template, method and status, and PIN failures", async () => {
    const res = await fetch(`${gateway.url!}/metrics`);
    assert.equal(res.status, 200, 'open in development without METRICS_TOKEN');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.equal(sample(text, 'issuer_http_requests_total', 'route="/token",method="POST",status="200"'), 1);
    assert.equal(sample(text, 'issuer_http_requests_total', 'route="/token",method="POST",status="400"'), 1);
    assert.equal(sample(text, 'issuer_http_requests_total', 'route="/credential",method="POST",status="200"'), 1);
    assert.equal(sample(text, 'issuer_http_request_duration_seconds_count', 'route="/credential",method="POST",status="200"'), 1);
    assert.ok((sample(text, 'issuer_pin_failures_total', '') ?? 0) >= 1, 'the wrong PIN is counted');
    assert.match(text, /route="\/offers\/:[A-Za-z]+"/, 'the offer page is labelled by its template');
    assert.ok(offerToken.length > 20 && !text.includes(offerToken), 'the offer token in the path never becomes a label');
    assert.match(text, /^issuer_process_resident_memory_bytes \d+/m, "the process's own figures");
  });

  test("the worker's METRICS_PORT serves what the worker counted: the credential signed, by format, and its signing time", async () => {
    const text = await (await fetch(workerMetrics)).text();
    assert.equal(sample(text, 'issuer_credentials_issued_total', 'format="dc+sd-jwt",path="offer"'), 1);
    assert.equal(sample(text, 'issuer_signing_duration_seconds_count', 'format="dc+sd-jwt"'), 1);
    assert.equal((await fetch(workerMetrics.replace('/metrics', '/other'))).status, 404, 'only /metrics is served there');
  });

  test("the SDK runtime's exporter serves the worker's Temporal metrics", async () => {
    const text = await (await fetch(sdkMetrics)).text();
    assert.match(text, /^temporal_[a-z_]+/m);
    assert.match(text, /temporal_workflow_task_execution_latency|temporal_workflow_task_schedule_to_start_latency|temporal_worker_task_slots_available/);
  });
});
