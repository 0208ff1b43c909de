/**
 * Child process of the signing benchmark, so the servers' CPU and memory are their own. Three gRPC
 * IssuerService servers over TLS on their own ports, all with the benchmark's issuance service:
 * `pooledPort` signs on `signingThreads` worker threads as `issuer grpc` does by default
 * (GRPC_SIGNING_THREADS); `port` signs on the gRPC thread (GRPC_SIGNING_THREADS=0); and
 * `transportOnlyPort` answers MakeSDJWT with one pre-issued credential, to measure the transport alone.
 * Messages over the IPC channel:
 *
 *   parent -> child  { tls: { cert, key } }   child -> parent  { port, pooledPort, signingThreads, transportOnlyPort }
 *   parent -> child  { cpu: true }            child -> parent  { cpuMicros }   (user + system so far)
 *   parent -> child  { stop: true }           child -> parent  { maxRssKb }, then it exits
 */
import { availableParallelism } from 'node:os';
import { Metadata } from '@grpc/grpc-js';
import { pino } from 'pino';
import { createIssuancePool } from '../src/credentials/issuance-pool';
import { startGrpcServer } from '../src/grpc/grpc-server';
import { createGrpcAccessPolicy } from '../src/grpc/grpc-authorization';
import { createGrpcAuditLog } from '../src/grpc/grpc-audit-log';
import { createIssuerGrpcHandlers } from '../src/grpc/issuer-grpc-handlers';
import type { MakeSDJWTRequest } from '../src/grpc/issuer-service';
import { cpuMicros } from './bench-kit';
import { createSigningFixture } from './signing-fixture';

type Message = { tls: { cert: string; key: string } } | { cpu: true } | { stop: true };

const send = (message: object) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

async function start(tls: { cert: string; key: string }): Promise<void> {
  const fixture = await createSigningFixture();
  // As `issuer grpc` serves (issue 15): each call identified, authorized and audited before its reply.
  // The audit rows go through the same group commit; the bench has no database, so each INSERT is a
  // 1 ms wait, about a loopback PostgreSQL round trip.
  const access = createGrpcAccessPolicy(fixture.config, 'open');
  const audit = createGrpcAuditLog(() => new Promise((resolve) => setTimeout(resolve, 1)), pino({ level: 'silent' }));
  const handlers = createIssuerGrpcHandlers(fixture.issuance, { access, audit });
  const request: MakeSDJWTRequest = {
    scope: fixture.sdJwt.scope!,
    documentData: Buffer.from(JSON.stringify(fixture.sdJwt.documentData)),
    jwk: { kid: '', alg: '', use: '', n: '', e: '', ...fixture.holderJwk },
    integrity: '',
    vctm: Buffer.alloc(0),
  };
  const preIssued = await handlers.MakeSDJWT(request, { peer: '', metadata: new Metadata(), signal: new AbortController().signal });
  const options = {
    host: '127.0.0.1',
    port: 0,
    tls: { cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) },
    logger: pino({ level: 'silent' }),
    shutdownTimeoutMs: 2_000,
  };
  const server = await startGrpcServer({ ...options, handlers });
  const transportOnly = await startGrpcServer({ ...options, handlers: { ...handlers, MakeSDJWT: async () => preIssued } });
  const signingThreads = availableParallelism();
  const pool = await createIssuancePool({ threads: signingThreads, setup: { module: new URL('./signing-thread-setup.ts', import.meta.url), data: fixture.keys } });
  const pooled = await startGrpcServer({ ...options, handlers: createIssuerGrpcHandlers(pool, { access, audit }) });
  process.on('message', (message: Message) => {
    if ('cpu' in message) void send({ cpuMicros: cpuMicros() });
    if ('stop' in message) {
      void Promise.all([server.close(), transportOnly.close(), pooled.close().then(() => pool.close())]).then(async () => {
        await send({ maxRssKb: process.resourceUsage().maxRSS });
        process.exit(0);
      });
    }
  });
  await send({ port: server.port, pooledPort: pooled.port, signingThreads, transportOnlyPort: transportOnly.port });
}

process.once('message', (message: Message) => {
  if (!('tls' in message)) throw new Error('expected { tls } first');
  start(message.tls).catch((err: unknown) => {
    process.stderr.write(`bench gRPC server failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  });
});
// If the benchmark dies, do not linger.
process.on('disconnect', () => process.exit(0));
