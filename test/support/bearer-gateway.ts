import { createHash } from 'node:crypto';
import type { Config } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestDatabase, loadTestConfig, testConfigFile, testEnv } from './test-services';

/** Bearer tokens of the two API clients `startBearerGateway` configures. */
export const CLIENT_TOKEN = 'x509-client-token-0123456789';
export const OTHER_CLIENT_TOKEN = 'x509-other-token-9876543210';

export interface BearerGateway {
  config: Config;
  database: Awaited<ReturnType<typeof createTestDatabase>>;
  base: string;
  /** A JSON call with `Authorization: Bearer <token>` (none when token is ''); answers status and parsed body. */
  call(method: 'GET' | 'POST', path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A real gateway on a fresh database, with the API clients `client` and `other` (sha256 token hashes). */
export async function startBearerGateway(extra: (file: Record<string, unknown>) => void = () => {}): Promise<BearerGateway> {
  const database = await createTestDatabase();
  const hash = (token: string) => `sha256:${createHash('sha256').update(token).digest('hex')}`;
  const config = loadTestConfig(
    testConfigFile((f) => {
      f.api_clients = { client: { token_hash: hash(CLIENT_TOKEN) }, other: { token_hash: hash(OTHER_CLIENT_TOKEN) } };
      extra(f);
    }),
    { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, PORT: '0', ISSUER_URL: 'https://issuer.example.org' },
  );
  let gateway: RunningPart;
  try {
    gateway = await startGateway(config, createLogger('silent'));
  } catch (err) {
    await database.drop();
    throw err;
  }
  const base = gateway.url!;
  return {
    config,
    database,
    base,
    async call(method, path, body, token = CLIENT_TOKEN) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed };
    },
    async close() {
      await gateway.close();
      await database.drop();
    },
  };
}
