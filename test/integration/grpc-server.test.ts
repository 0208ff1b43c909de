import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { pino, type Logger } from 'pino';
import { startGrpcServer, type GrpcServerOptions, type RunningGrpcServer } from '../../src/grpc/grpc-server';
import {
  GrpcError,
  ISSUER_METHODS,
  ISSUER_SERVICE_NAME,
  loadIssuerProto,
  unimplementedHandlers,
  type CallContext,
  type MakeSDJWTRequest,
} from '../../src/grpc/issuer-service';
import { createTestPki, type TestPki } from '../support/test-pki';
import { callUnary, expectGrpcStatus as expectStatus } from '../support/grpc-calls';

// Real grpc-js clients against a real server on loopback, over TLS with a throwaway PKI.

const HOST = '127.0.0.1';
const DEADLINE_MS = 5_000;

let pki: TestPki;
let strangerPki: TestPki;
const open: { servers: RunningGrpcServer[]; clients: grpc.Client[] } = { servers: [], clients: [] };

before(async () => {
  [pki, strangerPki] = await Promise.all([createTestPki(), createTestPki()]);
});

after(async () => {
  for (const client of open.clients) client.close();
  await Promise.all(open.servers.map((server) => server.close()));
});

// --- helpers ---------------------------------------------------------------------------------

interface CapturedLog {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
}

function captureLog(): CapturedLog {
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void raw.push(line) });
  return { logger, text: () => raw.join(''), lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function tlsOptions(withClientCa = false): NonNullable<GrpcServerOptions['tls']> {
  return {
    cert: Buffer.from(pki.serverCert),
    key: Buffer.from(pki.serverKey),
    ...(withClientCa ? { ca: Buffer.from(pki.caCert) } : {}),
  };
}

async function startServer(overrides: Partial<GrpcServerOptions> = {}): Promise<RunningGrpcServer & { log: CapturedLog }> {
  const log = captureLog();
  const server = await startGrpcServer({
    host: HOST,
    port: 0,
    tls: tlsOptions(),
    handlers: unimplementedHandlers(),
    logger: log.logger,
    shutdownTimeoutMs: 2_000,
    ...overrides,
  });
  open.servers.push(server);
  return { ...server, log };
}

/** Client credentials: trusts `ca` (our CA by default) and presents a client certificate when asked. */
function clientCredentials(opts: { ca?: string; withClientCert?: boolean } = {}): grpc.ChannelCredentials {
  const ca = Buffer.from(opts.ca ?? pki.caCert);
  if (!opts.withClientCert) return grpc.credentials.createSsl(ca);
  return grpc.credentials.createSsl(ca, Buffer.from(pki.clientKey), Buffer.from(pki.clientCert));
}

const CLIENT_OPTIONS: grpc.ChannelOptions = {
  // A private subchannel pool per client, so one test's connection never serves another's calls.
  'grpc.use_local_subchannel_pool': 1,
  // Dial 127.0.0.1 (the server binds IPv4 only) but verify and send SNI for the DNS name: SNI with an
  // IP address is not allowed (RFC 6066 §3) and node warns about it.
  'grpc.ssl_target_name_override': 'localhost',
};

function issuerClient(port: number, credentials: grpc.ChannelCredentials): grpc.Client {
  const pkg = loadIssuerProto() as unknown as { v1: { issuer: { IssuerService: grpc.ServiceClientConstructor } } };
  const client = new pkg.v1.issuer.IssuerService(`${HOST}:${port}`, credentials, CLIENT_OPTIONS);
  open.clients.push(client);
  return client;
}

function healthClient(port: number, credentials: grpc.ChannelCredentials): grpc.Client {
  const definition = loadSync(healthProtoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const client = new pkg.grpc.health.v1.Health(`${HOST}:${port}`, credentials, CLIENT_OPTIONS);
  open.clients.push(client);
  return client;
}

function unary<T>(client: grpc.Client, method: string, request: object = {}): Promise<T> {
  return callUnary<T>(client, method, request, DEADLINE_MS);
}

function checkHealth(client: grpc.Client, service: string): Promise<{ status: string }> {
  return unary<{ status: string }>(client, 'Check', { service });
}

// --- tests -----------------------------------------------------------------------------------

void test('a real client over TLS gets SERVING from the health service', async () => {
  const server = await startServer();
  const health = healthClient(server.port, clientCredentials());
  assert.deepEqual(await checkHealth(health, ''), { status: 'SERVING' });
  assert.deepEqual(await checkHealth(health, ISSUER_SERVICE_NAME), { status: 'SERVING' });
  await expectStatus(checkHealth(health, 'no.such.Service'), grpc.status.NOT_FOUND);
});

void test('every IssuerService RPC answers UNIMPLEMENTED over TLS', async () => {
  const server = await startServer();
  const client = issuerClient(server.port, clientCredentials());
  for (const method of ISSUER_METHODS) {
    const err = await expectStatus(unary(client, method), grpc.status.UNIMPLEMENTED);
    assert.equal(err.details, `${method} arrives with the credential formats`);
  }
});

void test('with a CA configured, a client without a certificate is refused and one signed by the CA succeeds', async () => {
  let seen: CallContext | undefined;
  const server = await startServer({
    tls: tlsOptions(true),
    handlers: {
      ...unimplementedHandlers(),
      JWKS: async (_request, context) => {
        seen = context;
        return { issuer: 'https://issuer.example.org', jwks: { keys: [] }, keys: [] };
      },
    },
  });

  const anonymous = healthClient(server.port, clientCredentials());
  await expectStatus(checkHealth(anonymous, ''), grpc.status.UNAVAILABLE);

  const health = healthClient(server.port, clientCredentials({ withClientCert: true }));
  assert.deepEqual(await checkHealth(health, ''), { status: 'SERVING' });
  const issuer = issuerClient(server.port, clientCredentials({ withClientCert: true }));
  assert.deepEqual(await unary(issuer, 'JWKS'), { issuer: 'https://issuer.example.org', jwks: { keys: [] }, keys: [] });
  // The handler learns who called, for authorisation by certificate later.
  assert.match(seen?.clientCertificateSubject ?? '', /CN=test-client/);
});

void test("a client that does not trust the server's CA fails", async () => {
  const server = await startServer();
  const health = healthClient(server.port, clientCredentials({ ca: strangerPki.caCert }));
  await expectStatus(checkHealth(health, ''), grpc.status.UNAVAILABLE);
});

void test('close() makes the port refuse new calls', async () => {
  const server = await startServer();
  const health = healthClient(server.port, clientCredentials());
  assert.deepEqual(await checkHealth(health, ''), { status: 'SERVING' });

  await server.close();
  await server.close(); // idempotent

  const fresh = healthClient(server.port, clientCredentials());
  await expectStatus(checkHealth(fresh, ''), grpc.status.UNAVAILABLE);
  const refused = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
    const socket = connect({ host: HOST, port: server.port });
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error('the port still accepts connections'));
    });
    socket.once('error', resolve);
  });
  assert.equal(refused.code, 'ECONNREFUSED');
});

void test('health watchers see NOT_SERVING while the server closes', async () => {
  const server = await startServer({ shutdownTimeoutMs: 300 });
  const health = healthClient(server.port, clientCredentials());
  const watch = (health as unknown as { Watch: (request: object) => grpc.ClientReadableStream<{ status: string }> }).Watch({
    service: ISSUER_SERVICE_NAME,
  });
  watch.on('error', () => {}); // the stream ends with an error when the server cuts it off
  const statuses: string[] = [];
  const seen = (status: string) =>
    new Promise<void>((resolve) => {
      const onData = () => {
        if (statuses.includes(status)) {
          watch.off('data', onData);
          resolve();
        }
      };
      watch.on('data', onData);
      onData();
    });
  watch.on('data', (message: { status: string }) => statuses.push(message.status));

  await seen('SERVING');
  // The open Watch stream holds a graceful shutdown, so this also exercises the forced fallback.
  const closing = server.close();
  await seen('NOT_SERVING');
  await closing;
  assert.deepEqual(statuses, ['SERVING', 'NOT_SERVING']);
});

void test('a handler receives typed fields and its reply reaches the client', async () => {
  let received: MakeSDJWTRequest | undefined;
  const server = await startServer({
    handlers: {
      ...unimplementedHandlers(),
      MakeSDJWT: async (request) => {
        received = request;
        return { credentials: [{ credential: 'eyJ.x.y~WyJzYWx0IiwiYSIsMV0~', disclosures: ['WyJzYWx0IiwiYSIsMV0'] }] };
      },
    },
  });
  const client = issuerClient(server.port, clientCredentials());
  const reply = await unary(client, 'MakeSDJWT', {
    scope: 'diploma',
    documentData: Buffer.from('{"given_name":"Ada"}'),
    jwk: { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy' },
  });

  assert.equal(received?.scope, 'diploma');
  assert.equal(received?.documentData.toString('utf8'), '{"given_name":"Ada"}');
  assert.equal(received?.jwk?.kty, 'EC');
  assert.equal(received?.vctm.length, 0);
  assert.deepEqual(reply, {
    credentials: [{ credential: 'eyJ.x.y~WyJzYWx0IiwiYSIsMV0~', disclosures: ['WyJzYWx0IiwiYSIsMV0'] }],
    // int64 fields as strings (LOADER_OPTIONS `longs: String`), enums by name.
    token_status_list_section: '0',
    token_status_list_index: '0',
    token_status_list_uri: '',
    token_status_list_backend: '',
    status_allocation: 'STATUS_ALLOCATION_UNSPECIFIED',
    valid_from: '',
    valid_until: '',
  });
});

void test('a GrpcError keeps its code and message; any other error is INTERNAL with no detail', async () => {
  const secretDetail = 'connect ECONNREFUSED postgres://issuer:hunter2@db/issuer';
  const server = await startServer({
    handlers: {
      ...unimplementedHandlers(),
      MakeMDoc: async () => {
        throw new GrpcError(grpc.status.INVALID_ARGUMENT, 'doc_type is not configured for scope "mdl"');
      },
      MakeVC20: async () => {
        throw new Error(secretDetail);
      },
    },
  });
  const client = issuerClient(server.port, clientCredentials());

  const invalid = await expectStatus(unary(client, 'MakeMDoc', { scope: 'mdl' }), grpc.status.INVALID_ARGUMENT);
  assert.equal(invalid.details, 'doc_type is not configured for scope "mdl"');

  const internal = await expectStatus(unary(client, 'MakeVC20', { scope: 'vc' }), grpc.status.INTERNAL);
  assert.equal(internal.details, 'internal error');
  assert.doesNotMatch(`${internal.message} ${JSON.stringify(internal)}`, /hunter2|ECONNREFUSED|postgres/);
  // The operator still finds the cause in the server log.
  assert.ok(server.log.lines().some((line) => line.level === 50 && line.method === 'MakeVC20' && JSON.stringify(line).includes('hunter2')));
});

void test('request bodies stay out of the log', async () => {
  const server = await startServer();
  const client = issuerClient(server.port, clientCredentials());
  await expectStatus(
    unary(client, 'MakeSDJWT', { scope: 'diploma', documentData: Buffer.from('{"given_name":"Marie-Unique-Name"}') }),
    grpc.status.UNIMPLEMENTED,
  );
  const calls = server.log.lines().filter((line) => line.msg === 'grpc call');
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.method, 'MakeSDJWT');
  assert.equal(calls[0]?.code, 'UNIMPLEMENTED');
  assert.doesNotMatch(server.log.text(), /Marie-Unique-Name|given_name/);
});

void test('without TLS the server warns once and still answers health checks', async () => {
  const server = await startServer({ tls: undefined });
  const health = healthClient(server.port, grpc.credentials.createInsecure());
  assert.deepEqual(await checkHealth(health, ''), { status: 'SERVING' });
  const warnings = server.log.lines().filter((line) => line.level === 40 && String(line.msg).includes('without TLS'));
  assert.equal(warnings.length, 1);
});
