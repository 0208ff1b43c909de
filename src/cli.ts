import 'reflect-metadata';
import { activeTracing } from './telemetry/tracing';
import { loadConfig } from './config/config';
import { deriveKekSubkeys, formatGatewayKeys, gatewaySubkeys } from './credentials/kek-subkeys';
import { resolveKek } from './credentials/key-store';
import { ConfigError } from './config/env';
import { createLogger } from './logger';
import { devMailboxDir } from './main/activity-deps';
import { startDevStack } from './main/dev-stack';
import { type RunningPart, runMigrations, startGateway, startGrpc, startWorker } from './main/issuer-parts';
import { installTemporalRuntime } from './worker/temporal-runtime';
import { startMetricsServer } from './metrics/metrics-endpoint';

const USAGE = `usage: issuer <command>

  dev       everything in one process tree: a Temporal dev server and an embedded PostgreSQL
            (unless TEMPORAL_ADDRESS / DATABASE_URL are set), migrations, worker, gateway, gRPC
  gateway   the HTTP gateway (needs DATABASE_URL, TEMPORAL_ADDRESS)
  worker    the Temporal worker: workflows and activities (needs DATABASE_URL, TEMPORAL_ADDRESS)
  grpc      the gRPC IssuerService
  migrate   apply database migrations and exit (needs DATABASE_URL)
  gateway-keys
            print ISSUER_GATEWAY_KEYS (the gateway's subkeys of ISSUER_KEK), so a gateway can run
            without the KEK
`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (!command || command === '--help' || command === '-h' || !['dev', 'gateway', 'worker', 'grpc', 'migrate', 'gateway-keys'].includes(command)) {
    process.stderr.write(USAGE);
    return command && !['--help', '-h'].includes(command) ? 2 : 0;
  }
  const config = loadConfig();
  const logger = createLogger(config.env.LOG_LEVEL);
  installTemporalRuntime(logger.child({ component: 'temporal-sdk' }), { sdkMetricsAddress: config.env.TEMPORAL_SDK_METRICS_ADDRESS });

  if (command === 'gateway-keys') {
    process.stdout.write(`${formatGatewayKeys(gatewaySubkeys(deriveKekSubkeys(resolveKek(config))))}\n`);
    return 0;
  }
  if (command === 'migrate') {
    await runMigrations(config, logger);
    return 0;
  }

  let parts: RunningPart[];
  let closeAll: () => Promise<void>;
  if (command === 'dev') {
    const stack = await startDevStack(config, logger);
    parts = stack.parts;
    closeAll = stack.close;
    const gateway = parts.find((p) => p.name === 'gateway')?.url;
    const grpc = parts.find((p) => p.name === 'grpc')?.url;
    process.stdout.write(
      [
        '',
        'Durable issuer is running (dev).',
        `  Gateway      ${gateway}   (API docs ${gateway}/docs)`,
        `  gRPC         ${grpc}`,
        `  Temporal UI  ${stack.temporalUiUrl ?? '(external Temporal: see its own UI)'}`,
        `  Dev API key  ${stack.config.devApiKey ?? '(none configured)'}`,
        `  PIN e-mails  ${stack.config.env.SMTP_URL ? 'sent through SMTP_URL' : `${devMailboxDir(stack.config)} (.eml files; set SMTP_URL to send them)`}`,
        `  Data folder  ${stack.config.dataDir}`,
        'Press Ctrl-C to stop everything.',
        '',
      ].join('\n') + '\n',
    );
  } else {
    const start = { gateway: startGateway, worker: startWorker, grpc: startGrpc }[command as 'gateway' | 'worker' | 'grpc'];
    const part = await start(config, logger);
    parts = [part];
    // The worker and gRPC commands have no HTTP server of their own: METRICS_PORT gives them one for /metrics.
    const metrics = command !== 'gateway' && config.env.METRICS_PORT !== undefined ? await startMetricsServer(config, config.env.METRICS_PORT, logger) : undefined;
    closeAll = async () => {
      await part.close();
      await metrics?.close();
      // The spans still in the exporter's batch go out before the process ends (src/telemetry/tracing.ts).
      await activeTracing()?.shutdown();
    };
    logger.info({ url: part.url, ...(metrics ? { metrics: metrics.url } : {}) }, `${command} started`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn('second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, 'stopping');
      closeAll().then(
        () => resolve(0),
        (err: Error) => {
          logger.error({ err: err.message }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // A worker that dies on its own takes the process down, so a supervisor restarts it.
    const worker = parts.find((p): p is RunningPart & { running: { done: Promise<void> } } => 'running' in p);
    worker?.running.done.catch(() => {
      if (!stopping) stop('SIGTERM');
    });
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof ConfigError ? err.message : `fatal: ${(err as Error)?.stack ?? String(err)}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  },
);
