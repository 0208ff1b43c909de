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
import { offerStateQuery } from '../../workflows/contracts/credential-offer';
import { createTestDatabase, TEST_DEV_API_KEY, testEnv, uniqueName } from '../support/test-services';
import { loadConfig } from '../../src/config/config';

/**
 * Durability from the outside: the worker process is killed (SIGKILL) between the token
 * redemption and the credential request, and (second test) inside the credential Update's signing
 * activity, in the middle of its database transaction; each time it is started again, the wallet
 * still gets its credential, and it is issued and parked exactly once.
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

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url!}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  /** Upload, notification, PIN mail, token: the wallet's access token for a fresh document. */
  const redeemedOffer = async (documentId: string, email: string): Promise<string> => {
    const base = gateway.url!;
    assert.equal(
      (
        await post(
          '/api/v1/upload',
          {
            meta: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: documentId },
            identities: [{ family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15', email }],
            document_data: { degree_type: 'BSc', field_of_study: 'Physics', issuing_institution: 'Example University', graduation_date: '2025-05-15' },
          },
          { 'x-api-key': TEST_DEV_API_KEY },
        )
      ).status,
      200,
    );
    const { qr } = await bodyOf(await post('/api/v1/notification', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: documentId }, { 'x-api-key': TEST_DEV_API_KEY }));
    const offerUri = new URL(decodeURIComponent(qr.deep_link.split('credential_offer_uri=')[1]));
    const code = (await bodyOf(await fetch(`${base}${offerUri.pathname}`))).grants[GRANT]['pre-authorized_code'];
    let pin: string | undefined;
    for (let i = 0; i < 300 && !pin; i++) {
      pin = mails.filter((m) => m.includes(email)).map((m) => /\b(\d{6})\b/.exec(m)?.[1]).find(Boolean);
      if (!pin) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(pin, 'the PIN e-mail arrived');
    const tokenRes = await fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: GRANT, 'pre-authorized_code': code, tx_code: pin }) });
    const { access_token: accessToken } = await bodyOf(tokenRes);
    assert.ok(accessToken);
    return accessToken;
  };

  const credentialRequest = async (accessToken: string) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const { c_nonce: nonce } = await bodyOf(await post('/nonce', {}));
    const proof = await new SignJWT({ nonce }).setProtectedHeader({ alg: 'ES256', typ: 'openid4vci-proof+jwt', jwk: await exportJWK(publicKey) }).setAudience('https://issuer.example.org').setIssuedAt().sign(privateKey);
    return post('/credential', { credential_configuration_id: 'urn:eudi:diploma:1', proofs: { jwt: [proof] } }, { authorization: `Bearer ${accessToken}` });
  };

  /** The wallet got one credential, the workflow counted one, and PostgreSQL holds one record and no parked copy. */
  const assertIssuedOnce = async (res: Response, documentId: string) => {
    const body = await bodyOf(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.credentials.length, 1);
    const state = await client.workflow.getHandle(`offer/hr.example.org/urn:eudi:diploma:1/${documentId}`).query(offerStateQuery);
    assert.equal(state.state, 'ISSUED');
    assert.equal(state.credentialsIssued, 1);
    const records = await database.db('issued_credentials').where({ document_id: documentId });
    assert.equal(records.length, 1, 'issued exactly once');
    const offer = await database.db('credential_offers').where({ document_id: documentId }).first();
    assert.equal(offer.state, 'ISSUED', 'the offer row is kept in step with the workflow');
    const parked = await database.db('credential_pickups').where({ offer_id: offer.offer_id });
    assert.equal(parked.length, 0, 'the one parked copy was picked up, and no second copy was parked');
  };

  test('the credential is issued exactly once after the worker is killed and restarted', async () => {
    const first = startWorker();
    const accessToken = await redeemedOffer('crash-1', 'alice@example.org');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    // The request waits on the offer's workflow, which has no worker until the new one comes up.
    const pending = credentialRequest(accessToken);
    await new Promise((r) => setTimeout(r, 1000));
    startWorker();
    await assertIssuedOnce(await pending, 'crash-1');
  });

  test('a worker killed inside the signing activity, mid-transaction, leaves one credential record and one pickup', async () => {
    const documentId = uniqueName('crash-inside');
    // Only one worker polls while the activity runs: the one killed inside it.
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await Promise.all(workers.map((w) => (w.exitCode !== null || w.signalCode !== null ? undefined : new Promise((r) => w.once('exit', r)))));
    const worker = startWorker();
    const accessToken = await redeemedOffer(documentId, 'bob@example.org');
    const { offer_id: offerId } = await database.db('credential_offers').where({ document_id: documentId }).first();
    // Hold the offer's row: the activity signs, inserts the record and the pickup, then waits on
    // this lock to mark the offer ISSUED, inside its transaction. The worker is killed right there.
    const lock = await database.db.transaction();
    await lock.raw('select 1 from credential_offers where offer_id = ? for update', [offerId]);
    const pending = credentialRequest(accessToken);
    let waiting = 0;
    for (let i = 0; i < 300 && waiting === 0; i++) {
      const [row] = (await database.db.raw("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")).rows;
      waiting = row.n;
      if (waiting === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(waiting, 1, 'the signing activity reached its transaction and waits on the offer row');
    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    await lock.rollback();
    // The killed transaction is rolled back; the new worker replays the workflow and runs the
    // activity again, which derives the same record and pickup ids (activities/issuance-activities.ts).
    startWorker();
    await assertIssuedOnce(await pending, documentId);
  });
});
