/**
 * `npm run bench -- signing` (issue 4): what one core signs.
 *
 *   1. raw ES256 signatures with node:crypto over a JWS-sized input: the physical baseline;
 *   2. in-process issuance through the issuance service (the code the gRPC handlers and the
 *      activities call), one at a time on this process's single JavaScript thread (about one core):
 *      SD-JWT VC with 10 disclosures, mdoc (mDL, 10 elements), VC 2.0;
 *   3. gRPC MakeSDJWT over TLS on loopback to servers in a child process, with 16 calls in flight
 *      (BENCH_CONCURRENCY) from this process: the transport alone (a pre-issued reply), signing on the
 *      gRPC thread, and signing on worker threads as `issuer grpc` does by default; rate, latency
 *      percentiles, each side's CPU per call, and the ratio to (2), by wall clock and by CPU per
 *      credential. Client and server share this machine's cores, so the client's CPU is taken from
 *      the server's;
 *   4. peak RSS of both processes.
 *
 * Targets on the 2-core reference machine: SD-JWT VC in-process >= 3,000/s, gRPC >= 70 % of it.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadIssuerProto } from '../src/grpc/issuer-service';
import { createTestPki } from '../test/support/test-pki';
import { line, measureLoad, measureRate, megabytes, micros, ms, percentile, perSecond } from './bench-kit';
import { createSigningFixture, SD_JWT_CLAIMS } from './signing-fixture';

const TARGET_SD_JWT_PER_SECOND = 3_000;
const TARGET_GRPC_RATIO = 0.7;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

type UnaryCall = (request: object, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null) => void) => void;

const verdict = (met: boolean) => (met ? 'met' : 'NOT MET');
const percent = (ratio: number) => `${(ratio * 100).toFixed(0)} %`;

export const description = 'raw ES256, in-process issuance per format, gRPC MakeSDJWT over TLS (issue 4)';

export async function run(): Promise<void> {
  const fixture = await createSigningFixture();
  process.stdout.write(
    `  ${availableParallelism()} cores; 1-min load average ${loadavg()[0]!.toFixed(1)} before the run (above ~0.5, other processes share the cores and wall-clock figures drop)\n` +
      `  in-process figures: this process's one JavaScript thread (about one core)\n\n`,
  );

  // 1. Raw ES256 over a typical signing input (header.payload of an SD-JWT VC is ~700 bytes).
  const key = createPrivateKey({ key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), format: 'jwk' });
  const input = Buffer.alloc(700, 'a');
  const raw = await measureRate(() => sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }), 1_000);
  line('raw ES256 signature (node:crypto, 700 B)', perSecond(raw.rate), `${micros(raw.cpuMicrosPerOperation)} CPU each; the baseline`);

  // 2. In-process issuance.
  const sample = await fixture.issuance.makeSdJwt(fixture.sdJwt);
  if (sample.disclosureCount !== Object.keys(SD_JWT_CLAIMS).length) throw new Error(`expected 10 disclosures, got ${sample.disclosureCount}`);
  const sdJwt = await measureRate(() => fixture.issuance.makeSdJwt(fixture.sdJwt), 1_500);
  line(
    'in-process SD-JWT VC, 10 disclosures',
    perSecond(sdJwt.rate),
    `${micros(sdJwt.cpuMicrosPerOperation)} CPU each (${percent(raw.cpuMicrosPerOperation / sdJwt.cpuMicrosPerOperation)} of it the ES256 signature); target >= ${perSecond(TARGET_SD_JWT_PER_SECOND)}: ${verdict(sdJwt.rate >= TARGET_SD_JWT_PER_SECOND)}`,
  );
  const mdoc = await measureRate(() => fixture.issuance.makeMdoc(fixture.mdoc), 1_000);
  line('in-process mdoc (mDL, 10 elements)', perSecond(mdoc.rate), `${micros(mdoc.cpuMicrosPerOperation)} CPU each`);
  const vc20 = await measureRate(() => fixture.issuance.makeVc20(fixture.vc20), 1_000);
  line('in-process VC 2.0 (vc+jwt)', perSecond(vc20.rate), `${micros(vc20.cpuMicrosPerOperation)} CPU each`);

  // 3. gRPC MakeSDJWT over TLS to a child process.
  const pki = await createTestPki();
  const child = fork(fileURLToPath(new URL('./signing-grpc-server.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const childExited = once(child, 'exit');
  const ask = async <T>(message: object): Promise<T> => {
    child.send(message);
    const [reply] = (await Promise.race([once(child, 'message'), childExited.then(() => Promise.reject(new Error('the gRPC server child exited')))])) as [T];
    return reply;
  };
  try {
    const ports = await ask<{ port: number; pooledPort: number; signingThreads: number; transportOnlyPort: number }>({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const pkg = loadIssuerProto() as unknown as { v1: { issuer: { IssuerService: grpc.ServiceClientConstructor } } };
    const request = { scope: 'bench_record', documentData: Buffer.from(JSON.stringify(SD_JWT_CLAIMS)), jwk: fixture.holderJwk };

    /** 16 MakeSDJWT calls in flight over one TLS channel for `durationMs`, with the server's CPU per call. */
    const loadOn = async (port: number, durationMs: number) => {
      const client = new pkg.v1.issuer.IssuerService(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(pki.caCert)), {
        // Dial the address, verify the certificate's DNS name (SNI with an IP address is not allowed).
        'grpc.ssl_target_name_override': 'localhost',
      });
      const call = (client as unknown as Record<string, UnaryCall>).MakeSDJWT!.bind(client);
      const makeSdJwt = () => new Promise<void>((resolve, reject) => call(request, { deadline: Date.now() + 10_000 }, (err) => (err ? reject(err) : resolve())));
      try {
        await makeSdJwt(); // fail fast on a broken setup
        const serverCpu = { start: 0, end: 0 };
        const load = await measureLoad(makeSdJwt, {
          concurrency: CONCURRENCY,
          durationMs,
          warmupMs: 600,
          onWindow: async (edge) => {
            serverCpu[edge] = (await ask<{ cpuMicros: number }>({ cpu: true })).cpuMicros;
          },
        });
        return { ...load, serverCpuPerCall: (serverCpu.end - serverCpu.start) / load.operations };
      } finally {
        client.close();
      }
    };

    const transport = await loadOn(ports.transportOnlyPort, 1_500);
    line(
      `gRPC transport alone, TLS, ${CONCURRENCY} in flight`,
      perSecond(transport.rate),
      `CPU per call: server ${micros(transport.serverCpuPerCall)}, client ${micros(transport.cpuMicrosPerOperation)} (MakeSDJWT answering a pre-issued credential)`,
    );
    const onGrpcThread = await loadOn(ports.port, 2_500);
    line(
      `gRPC MakeSDJWT, signing on the gRPC thread`,
      perSecond(onGrpcThread.rate),
      `CPU per call: server ${micros(onGrpcThread.serverCpuPerCall)}, client ${micros(onGrpcThread.cpuMicrosPerOperation)}; p99 ${ms(percentile(onGrpcThread.latenciesMs, 99))}; ${onGrpcThread.errors} errors (GRPC_SIGNING_THREADS=0)`,
    );
    const load = await loadOn(ports.pooledPort, 2_500);
    line(
      `gRPC MakeSDJWT, signing on ${ports.signingThreads} threads`,
      perSecond(load.rate),
      `CPU per call: server ${micros(load.serverCpuPerCall)} (all threads), client ${micros(load.cpuMicrosPerOperation)}; ${load.errors} errors (the default)`,
    );
    line('  latency p50 / p95 / p99', ms(percentile(load.latenciesMs, 50)), `${ms(percentile(load.latenciesMs, 95))} / ${ms(percentile(load.latenciesMs, 99))}`);
    const wallRatio = load.rate / sdJwt.rate;
    const cpuRatio = sdJwt.cpuMicrosPerOperation / load.serverCpuPerCall;
    line(
      'gRPC / in-process, wall clock',
      percent(wallRatio),
      `target >= ${percent(TARGET_GRPC_RATIO)}: ${verdict(wallRatio >= TARGET_GRPC_RATIO)} (${percent(onGrpcThread.rate / sdJwt.rate)} signing on the gRPC thread; client and server share the ${availableParallelism()} cores)`,
    );
    line(
      'gRPC / in-process, CPU per credential',
      percent(cpuRatio),
      `in-process CPU each / server CPU per call; transport alone ${micros(transport.serverCpuPerCall)} + issuance ${micros(sdJwt.cpuMicrosPerOperation)} would give ${percent(sdJwt.cpuMicrosPerOperation / (transport.serverCpuPerCall + sdJwt.cpuMicrosPerOperation))}`,
    );

    const { maxRssKb } = await ask<{ maxRssKb: number }>({ stop: true });
    line('peak RSS, benchmark process (client side)', megabytes(process.resourceUsage().maxRSS));
    line('peak RSS, gRPC server process', megabytes(maxRssKb));
    process.stdout.write(`  1-min load average after the run: ${loadavg()[0]!.toFixed(1)}\n`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill(), 5_000);
      await childExited;
      clearTimeout(timer);
    }
  }
}
