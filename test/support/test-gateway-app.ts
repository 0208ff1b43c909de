import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Config } from '../../src/config/config';
import type { AuditEntry, AuditLogRepository } from '../../src/db/audit-log-repository';
import { createBearerAuthenticator, createSourceAuthenticator } from '../../src/gateway/authenticate-source';
import { createGatewayApp } from '../../src/gateway/gateway-app';
import { defineRoute } from '../../src/gateway/route-registry';
import { createLogger } from '../../src/logger';

/**
 * The gateway app of `config` with one source-authenticated route, `GET /api/v1/whoami`, and an
 * in-memory audit log: for tests of authentication, rate limits and request ids without a database.
 */
export async function startTestGatewayApp(config: Config): Promise<{ base: string; audited: AuditEntry[]; close: () => Promise<void> }> {
  const audited: AuditEntry[] = [];
  const audit = { append: async (entry: AuditEntry) => void audited.push(entry), list: async () => [] } as unknown as AuditLogRepository;
  const whoami = defineRoute({
    method: 'get',
    path: '/api/v1/whoami',
    operationId: 'whoami',
    summary: 'The authenticated source',
    tags: [],
    security: 'source',
    response: z.object({ source: z.string() }),
    errors: [401],
    handler: async ({ principal }) => ({ source: principal.source }),
  });
  const app = createGatewayApp({
    config,
    logger: createLogger('silent'),
    audit,
    authenticate: { source: createSourceAuthenticator(config), bearer: createBearerAuthenticator(config) },
    routes: [whoami],
    readinessChecks: {},
    version: 'test',
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    audited,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
