import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { SMTPServer } from 'smtp-server';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { offerStateQuery } from '../../workflows/credential-offer';
import { createTestDatabase, TEST_DEV_API_KEY, testEnv, uniqueName } from '../support/test-services';
import { loadConfig } from '../../src/config/config';

/**
 * Durability from the outside: the worker process is killed (SIGKILL) between the token
 * redemption and the credential request, then started again; the wallet still gets its credential,
 * and it is issued exactly once.
 */
const bodyOf = (res: Response): Promise<any> => res.json();
const GRANT = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';

describe('a worker crash between token and credential request', { timeout: 180_000 }, () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let connection: Connection;
  let client: Client;
  let smtp: SMTPServer;
  const mails: string[] = [];
  let env: NodeJS.ProcessEnv;
  const workers: ChildProcess[] = [];

  const startWorker = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    workers.push(child);
    return child;
  };

  before(async () => {
    database = await createTestDatabase();
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        let text = '';
        stream.on('data', (c: Buffer) => (text += c.toString()));
        stream.on('end', () => {
          mails.push(text);
          callback();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const dataDir = mkdtempSync(join(tmpdir(), 'issuer-crash-'));
    env = {
      ...process.env,
      ISSUER_CONFIG: 'config/dev.yaml',
      ISSUER_DATA_DIR: dataDir,
      ISSUER_DEV_API_KEY: TEST_DEV_API_KEY,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: testEnv().temporalAddress,
      TEMPORAL_TASK_QUEUE: uniqueName('crash'),
      SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
      ISSUER_URL: 'https://issuer.example.org',
      PORT: '0',
      LOG_LEVEL: 'warn',
    };
    gateway = await startGateway(loadConfig(env), createLogger('silent'));
    connection = await Connection.connect({ address: testEnv().temporalAddress });
    client = new Client({ connection, namespace: 'default' });
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await gateway?.close();
    await connection?.close();
    await new Promise((r) => smtp?.close(() => r(undefined)));
    await database?.drop();
  });

  test('the credential is issued exactly once after the worker is killed and restarted', async () => {
    const base = gateway.url!;
    const first = startWorker();
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    assert.equal(
      (
        await post(
          '/api/v1/upload',
          {
            meta: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'crash-1' },
            identities: [{ family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', email: 'alice@example.org' }],
            document_data: { degree_type: 'BSc', field_of_study: 'Physics', issuing_institution: 'Example University', graduation_date: '2025-05-15' },
          },
          { 'x-api-key': TEST_DEV_API_KEY },
        )
      ).status,
      200,
    );
    const { qr } = await bodyOf(await post('/api/v1/notification', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'crash-1' }, { 'x-api-key': TEST_DEV_API_KEY }));
    const offerUri = new URL(decodeURIComponent(qr.deep_link.split('credential_offer_uri=')[1]));
    const code = (await bodyOf(await fetch(`${base}${offerUri.pathname}`))).grants[GRANT]['pre-authorized_code'];
    let pin: string | undefined;
    for (let i = 0; i < 300 && !pin; i++) {
      pin = mails.map((m) => /\b(\d{6})\b/.exec(m)?.[1]).find(Boolean);
      if (!pin) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(pin, 'the PIN e-mail arrived');
    const tokenRes = await fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, tx_code: pin }) });
    const { access_token: accessToken } = await bodyOf(tokenRes);
    assert.ok(accessToken);

    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const { c_nonce: nonce } = await bodyOf(await post('/nonce', {}));
    const proof = await new SignJWT({ nonce }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(publicKey) }).setAudience('https://issuer.example.org').setIssuedAt().sign(privateKey);
    // The request waits on the offer's workflow, which has no worker until the new one comes up.
    const pending = post('/credential', { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [proof] } }, { authorization: `Bearer ${accessToken}` });
    await new Promise((r) => setTimeout(r, 1000));
    startWorker();
    const res = await pending;
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.credentials.length, 1);
    const state = await client.workflow.getHandle('offer/hr.example.org/urn:eudi:diploma:1/crash-1').query(offerStateQuery);
    assert.equal(state.state, 'ISSUED');
    assert.equal(state.credentialsIssued, 1);
    const records = await database.db('issued_credentials').where({ document_id: 'crash-1' });
    assert.equal(records.length, 1, 'issued exactly once');
  });
});
