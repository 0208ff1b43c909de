import { threadId } from 'node:worker_threads';
import { loadConfig } from '../config/config';
import type { Env } from '../config/env';
import { createIssuanceService, type IssuanceService } from '../credentials/issuance-service';
import { openKeyStore } from '../credentials/key-store';
import { createDb } from '../db/knex';
import { createLogger } from '../logger';

/**
 * The issuance service of one signing thread of the gRPC part (issuance-pool.ts): the same
 * configuration as the part, and a key store of its own over one database connection, so key
 * rotations reach it as they reach any other process that signs.
 */
export async function createThreadIssuance(data: { env: Env }): Promise<IssuanceService> {
  const config = loadConfig(data.env as unknown as NodeJS.ProcessEnv);
  if (!config.env.DATABASE_URL) throw new Error('DATABASE_URL is required for the gRPC signing threads');
  const logger = createLogger(config.env.LOG_LEVEL).child({ part: 'grpc', signingThread: threadId });
  const db = createDb(config.env.DATABASE_URL, { poolMax: 1 });
  return createIssuanceService({ config, keyStore: await openKeyStore(config, db, logger) });
}
