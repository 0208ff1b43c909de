import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { startGrpcServer } from '../../src/grpc/grpc-server';
import { loadIssuerProto, unimplementedHandlers } from '../../src/grpc/issuer-service';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { configureTracing, type Tracing } from '../../src/telemetry/tracing';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';

/**
 * OpenTelemetry tracing (issue 21) with the SDK's in-memory exporter in place of OTLP: one
 * credential request (OpenID4VCI 1.0 §8) is one trace, from the gateway's HTTP server span through
 * the Temporal client interceptor's Update span to the workflow's Update handler and the signing
 * activity in the worker; the W3C traceparent of the caller (W3C Trace Context §3.2) is honoured, and
 * the access log line carries the trace id beside the request id.
 */
const GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
const VCT = 'urn:eudi:diploma:1';
const ISSUER = 'https://issuer.example.org';
const bodyOf = (res: Response): Promise<any> => res.json();

describe('tracing: one trace from the gateway through Temporal to the activity', () => {
  const exporter = new InMemorySpanExporter();
  const logLines: string[] = [];
  let tracing: Tracing;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let worker: TestWorker;
  let gateway: RunningPart;
  let base: string;
  const taskQueue = uniqueName('tracing');

  before(async () => {
    tracing = configureTracing({ OTEL_SERVICE_NAME: 'issuer-under-test' }, { spanProcessor: new SimpleSpanProcessor(exporter) })!;
    database = await createTestDatabase();
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.issuer = { pre_authorized_code: { enabled: true, pin_required: false } };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, PORT: '0', ISSUER_URL: ISSUER },
    );
    worker = await startTestWorker(config, database.db);
    const logStream = new Writable({ write: (chunk: Buffer, _enc, cb) => (logLines.push(...chunk.toString().split('\n').filter(Boolean)), cb()) });
    gateway = await startGateway(config, createLogger('info', 'gateway', logStream));
    base = gateway.url!;
  });
  after(async () => {
    await gateway?.close();
    await worker?.close();
    await database?.drop();
    await tracing?.shutdown();
  });

  test('a credential request is one trace: HTTP server span → client Update → workflow Update handler → signing activity; the caller\'s traceparent is its parent; the log has its trace id', async () => {
    const documentId = uniqueName('traced');
    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: JSON.stringify(body) });
    const uploaded = await post('/api/v1/upload', {
      meta: { authentic_source: 'hr.example.org', vct: VCT, document_id: documentId },
      identities: [{ authentic_source_person_id: 'EMP-9', family_name: 'Berg', given_name: 'Ola', birth_date: '1980-01-02' }],
      document_data: { degree_type: 'Master of Arts', field_of_study: 'History', issuing_institution: 'Example University', graduation_date: '2020-06-01' },
    });
    assert.equal(uploaded.status, 200, await uploaded.text());
    const notified = await bodyOf(await post('/api/v1/notification', { authentic_source: 'hr.example.org', vct: VCT, document_id: documentId }));
    const uri = new URL(decodeURIComponent(String(notified.qr.deep_link).split('credential_offer_uri=')[1]!));
    const code = (await bodyOf(await fetch(`${base}${uri.pathname}`))).grants[GRANT]['pre-authorized_code'];
    const token = await bodyOf(await fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code }) }));
    assert.ok(token.access_token, JSON.stringify(token));
    const { c_nonce } = await bodyOf(await fetch(`${base}/nonce`, { method: 'POST' }));
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const proof = await new SignJWT({ nonce: c_nonce }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(publicKey) }).setAudience(ISSUER).setIssuedAt().sign(privateKey);

    // The wallet's own trace context (W3C Trace Context §3.2 traceparent): the request joins it.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    const requestId = `${taskQueue}-credential`;
    const issued = await fetch(`${base}/credential`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token.access_token}`, traceparent: `00-${traceId}-${callerSpanId}-01`, 'x-request-id': requestId },
      body: JSON.stringify({ credential_configuration_id: VCT, proofs: { jwt: [proof] } }),
    });
    assert.equal(issued.status, 200, await issued.clone().text());

    // Workflow spans leave the sandbox through a sink after their activation: wait for them.
    let spans: ReadableSpan[] = [];
    const kinds = () => ({
      http: spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'POST /credential'),
      client: spans.find((s) => s.name === 'StartWorkflowUpdate:issueCredentials'),
      handler: spans.find((s) => s.name === 'HandleUpdate:issueCredentials'),
      activity: spans.find((s) => s.name === 'RunActivity:issueOfferCredentials'),
    });
    for (let i = 0; i < 100; i++) {
      spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      if (Object.values(kinds()).every(Boolean)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const { http, client, handler, activity } = kinds();
    assert.ok(http && client && handler && activity, `spans of the trace: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(http.parentSpanId, callerSpanId, "the HTTP span's parent is the caller's span");
    assert.equal(http.attributes['http.route'], '/credential');
    assert.equal(http.attributes['http.response.status_code'], 200);
    assert.equal(http.resource.attributes['service.name'], 'issuer-under-test');
    // Each step is a descendant of the one before: gateway → client → workflow → activity.
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const descends = (child: ReadableSpan, ancestor: ReadableSpan) => {
      for (let s: ReadableSpan | undefined = child; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) if (s === ancestor) return true;
      return false;
    };
    assert.ok(descends(client, http), 'the Temporal client span is inside the HTTP request span');
    assert.ok(descends(handler, client), 'the workflow Update handler continues the client span');
    assert.ok(descends(activity, handler), 'the signing activity continues the workflow span');
    // No payloads in span attributes: no access token, holder key or credential.
    const attributes = JSON.stringify(spans.map((s) => s.attributes));
    for (const secret of [token.access_token as string, proof, 'Berg', '1980-01-02']) assert.ok(!attributes.includes(secret), `no ${secret.slice(0, 10)}... in span attributes`);

    const line = logLines.map((l) => JSON.parse(l)).find((l) => l.reqId === requestId && l.msg === 'request');
    assert.ok(line, 'the access log line of the request');
    assert.equal(line.traceId, traceId, 'the log line carries the trace id beside the request id');
    assert.equal(http.attributes['request.id'], requestId, 'and the span the request id');
  });

  test('the gRPC service opens a server span per call, continuing the caller\'s traceparent metadata, with the status code', async () => {
    const server = await startGrpcServer({ host: '127.0.0.1', port: 0, handlers: unimplementedHandlers(), logger: createLogger('silent'), shutdownTimeoutMs: 1000 });
    const pkg = loadIssuerProto() as unknown as { v1: { issuer: { IssuerService: grpc.ServiceClientConstructor } } };
    const client = new pkg.v1.issuer.IssuerService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const metadata = new grpc.Metadata();
      metadata.set('traceparent', `00-${traceId}-b7ad6b7169203331-01`);
      const code = await new Promise<number>((resolve) => (client as unknown as Record<string, (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => void>).JWKS!.call(client, {}, metadata, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null) => resolve(err?.code ?? 0)));
      assert.equal(code, grpc.status.UNIMPLEMENTED);
      const span = exporter.getFinishedSpans().find((s) => s.spanContext().traceId === traceId);
      assert.ok(span, 'a span in the caller\'s trace');
      assert.equal(span.name, 'v1.issuer.IssuerService/JWKS');
      assert.equal(span.kind, SpanKind.SERVER);
      assert.equal(span.parentSpanId, 'b7ad6b7169203331');
      assert.equal(span.attributes['rpc.grpc.status_code'], grpc.status.UNIMPLEMENTED);
    } finally {
      client.close();
      await server.close();
    }
  });
});
