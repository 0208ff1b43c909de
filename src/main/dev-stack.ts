import { mkdirSync } from 'node:fs';
import { activeTracing } from '../telemetry/tracing';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { type Config, loadConfig } from '../config/config';
import { startEmbeddedPostgres } from '../runtime/embedded-postgres';
import { findOrInstallTemporalCli } from '../runtime/temporal-cli';
import { startTemporalDevServer } from '../runtime/temporal-dev-server';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { type RunningPart, runMigrations, startGateway, startGrpc, startWorker } from './issuer-parts';

export interface DevStack {
  config: Config;
  parts: RunningPart[];
  temporalUiUrl: string | undefined;
  /** Stops everything it started, newest first. */
  close(): Promise<void>;
}

/**
 * Everything in one process tree on embedded defaults (CONTRIBUTING.md, "The local stack"): a Temporal dev server
 * unless TEMPORAL_ADDRESS is set, an embedded PostgreSQL unless DATABASE_URL is set, then
 * migrations, worker, gateway and gRPC. State lives in the data folder, so a restart resumes.
 */
export async function startDevStack(baseConfig: Config, logger: Logger): Promise<DevStack> {
  const started: RunningPart[] = [];
  const close = async () => {
    for (const part of [...started].reverse()) {
      await part.close().catch((err: Error) => logger.error({ part: part.name, err: err.message }, 'stop failed'));
    }
    // The parts share one tracer provider: its last spans go out once they have all stopped.
    await activeTracing()?.shutdown();
  };
  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    let temporalUiUrl: string | undefined;
    const log = (component: string) => (msg: string) => logger.info({ component }, msg);

    if (!baseConfig.env.TEMPORAL_ADDRESS) {
      const binary = await findOrInstallTemporalCli({ explicitPath: baseConfig.env.TEMPORAL_CLI_PATH, log: log('temporal') });
      const dir = resolve(baseConfig.dataDir, 'temporal');
      mkdirSync(dir, { recursive: true });
      const server = await startTemporalDevServer({
        binary,
        port: baseConfig.env.TEMPORAL_DEV_PORT,
        dbFile: resolve(dir, 'temporal.db'),
        namespace: baseConfig.env.TEMPORAL_NAMESPACE,
        searchAttributes: SEARCH_ATTRIBUTES,
        log: log('temporal'),
      });
      started.push({ name: 'temporal', url: server.address, close: () => server.stop() });
      env.TEMPORAL_ADDRESS = server.address;
      temporalUiUrl = server.uiUrl;
    }
    if (!baseConfig.env.DATABASE_URL) {
      const pg = await startEmbeddedPostgres({ dataDir: resolve(baseConfig.dataDir, 'postgres'), port: baseConfig.env.POSTGRES_DEV_PORT, database: 'issuer', log: log('postgres') });
      started.push({ name: 'postgres', close: () => pg.stop() });
      env.DATABASE_URL = pg.url;
    }

    // The embedded addresses become ordinary configuration for the parts, exactly as in production.
    const config = loadConfig(env);
    await runMigrations(config, logger);
    started.push(await startWorker(config, logger.child({ part: 'worker' })));
    started.push(await startGrpc(config, logger.child({ part: 'grpc' })));
    started.push(await startGateway(config, logger.child({ part: 'gateway' })));
    return { config, parts: started, temporalUiUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}
