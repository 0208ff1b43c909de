import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Decoder, Tag } from 'cbor-x';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import { createLogger } from '../../src/logger';
import { freePort } from '../../src/runtime/free-port';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createStatusListsRepository } from '../../src/db/status-lists-repository';
import { ensureStatusListResignSchedule, statusListResignIntervalSeconds, statusListResignScheduleId } from '../../src/worker/status-list-resign-schedule';
import { STATUS_LIST_RESIGN_WORKFLOW_TYPE, type StatusListResignWorkflow } from '../../workflows/contracts/status-list-resign';
import { createTestDatabase, loadTestConfig, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';

/**
 * Issue 17: status lists are re-signed before `exp` by a Temporal Schedule (workflows/status-list-
 * resign.ts), so a verifier never gets an expired list while the issuer runs (draft-ietf-oauth-
 * status-list §5.1 `exp`, §13.7; W3C Bitstring Status List v1.0 §2.2 `validUntil`). The signed
 * tokens are stored (`status_list_tokens`), so gateway processes serve the Schedule's token instead
 * of each signing their own. Lists here are 6 s valid (STATUS_LIST_VALIDITY), ttl 1 s: due for
 * re-signing after 3 s, and the Schedule runs every second.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cborDecoder = new Decoder({ mapsAsObjects: false, useRecords: false });

describe('status-list re-signing Schedule, on real Temporal, PostgreSQL and HTTP', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let worker: TestWorker;
  let config: ReturnType<typeof loadTestConfig>;
  const taskQueue = uniqueName('status-resign');

  before(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    config = loadTestConfig(testConfigFile(), {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: testEnv().temporalAddress,
      TEMPORAL_TASK_QUEUE: taskQueue,
      PORT: String(port),
      ISSUER_URL: `http://127.0.0.1:${port}`,
      STATUS_LIST_TTL: '1',
      STATUS_LIST_VALIDITY: '6',
    });
    worker = await startTestWorker(config, database.db);
    gateway = await startGateway(config, createLogger('silent'));
    // One Token Status List and one Bitstring Status List exist once an index is taken from each.
    const lists = createStatusListsRepository(database.db);
    await lists.reserve('token', uniqueName('resign-token'), 1);
    await lists.reserve('w3c', uniqueName('resign-w3c'), 1);
    // And a Bitstring suspension list (Bitstring Status List §2.1 statusPurpose suspension).
    await lists.reserve('w3c', uniqueName('resign-w3c-suspension'), 1, ['suspension']);
  });
  after(async () => {
    await worker?.client.schedule.getHandle(statusListResignScheduleId(taskQueue)).delete().catch(() => undefined);
    await gateway?.close();
    await worker?.close();
    await database?.drop();
  });

  const jwks = async (): Promise<JSONWebKeySet> => (await fetch(`${config.issuerUrl}/.well-known/jwks.json`)).json() as Promise<JSONWebKeySet>;
  const storedTokens = async () => (await database.db('status_list_tokens').orderBy(['list_id', 'form']).select('list_id', 'form', 'signed_at', 'expires_at')) as { list_id: string; form: string; signed_at: Date; expires_at: Date }[];
  /** The served JWT list: signature checked against the JWKS; answers its iat and exp. */
  const servedJwt = async () => {
    const res = await fetch(`${config.issuerUrl}/status-lists/token/0`, { headers: { accept: 'application/statuslist+jwt' } });
    assert.equal(res.status, 200);
    const jwt = await res.text();
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(await jwks()), { typ: 'statuslist+jwt' });
    return { jwt, iat: payload.iat!, exp: payload.exp! };
  };

  test('the interval follows the validity: an eighth of it, between 1 s and an hour', () => {
    assert.equal(statusListResignIntervalSeconds(6), 1);
    assert.equal(statusListResignIntervalSeconds(86_400), 3600);
    assert.equal(statusListResignIntervalSeconds(3600), 450);
  });

  test('one run signs every form of every list (JWT, CWT, Bitstring as JOSE and Data Integrity) and stores it; a run right after finds nothing due', async () => {
    const first = await worker.client.workflow.execute<StatusListResignWorkflow>(STATUS_LIST_RESIGN_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueName('resign-run'), args: [{}] });
    assert.equal(first.state, 'DONE');
    const all = ['token/status/0|cwt', 'token/status/0|jwt', 'w3c/revocation/0|w3c', 'w3c/revocation/0|w3c-di', 'w3c/suspension/0|w3c', 'w3c/suspension/0|w3c-di'];
    assert.deepEqual([...first.resigned].sort(), all);
    const stored = await storedTokens();
    assert.deepEqual(stored.map((t) => `${t.list_id}|${t.form}`), all);
    for (const t of stored) assert.equal(new Date(t.expires_at).getTime() - new Date(t.signed_at).getTime(), 6000 - (new Date(t.signed_at).getTime() % 1000), 'exp = iat + STATUS_LIST_VALIDITY');
    const second = await worker.client.workflow.execute<StatusListResignWorkflow>(STATUS_LIST_RESIGN_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueName('resign-run'), args: [{}] });
    assert.deepEqual(second.resigned, []);
    assert.equal(second.checked, 6);

    // The gateway serves the stored tokens as they are: its JWT, CWT and W3C bodies are the Schedule's.
    const row = (await database.db('status_list_tokens').where({ list_id: 'token/status/0', form: 'jwt' }).first('body')) as { body: Buffer };
    assert.equal((await servedJwt()).jwt, row.body.toString('utf8'));
    const cwt = new Uint8Array(await (await fetch(`${config.issuerUrl}/status-lists/token/0`, { headers: { accept: 'application/statuslist+cwt' } })).arrayBuffer());
    const cwtRow = (await database.db('status_list_tokens').where({ list_id: 'token/status/0', form: 'cwt' }).first('body')) as { body: Buffer };
    assert.ok(Buffer.from(cwt).equals(cwtRow.body));
    const sign1 = cborDecoder.decode(cwt) as Tag;
    assert.equal(sign1.tag, 18, 'COSE_Sign1_Tagged (draft §5.2)');
    const claims = cborDecoder.decode((sign1.value as Uint8Array[])[2]!) as Map<number, unknown>;
    assert.ok((claims.get(4) as number) > Date.now() / 1000, 'CWT exp (claim 4) in the future');
    const w3c = await (await fetch(`${config.issuerUrl}/status-lists/w3c/revocation/0`)).text();
    assert.ok(Date.parse((decodeJwt(w3c) as { validUntil: string }).validUntil) > Date.now(), 'validUntil in the future');
    const suspension = await (await fetch(`${config.issuerUrl}/status-lists/w3c/suspension/0`)).text();
    const suspensionRow = (await database.db('status_list_tokens').where({ list_id: 'w3c/suspension/0', form: 'w3c' }).first('body')) as { body: Buffer };
    assert.equal(suspension, suspensionRow.body.toString('utf8'), 'the suspension list is served as the Schedule signed it');
    const { payload } = await jwtVerify(suspension, createLocalJWKSet(await jwks()), { typ: 'vc+jwt' });
    assert.equal((payload.credentialSubject as { statusPurpose: string }).statusPurpose, 'suspension');
  });

  test('the Schedule (created once; a second start leaves it) re-signs before exp without any read; the served token changes before its exp and is never expired', async () => {
    const every = `${statusListResignIntervalSeconds(config.env.STATUS_LIST_VALIDITY)}s`;
    assert.equal((await ensureStatusListResignSchedule(worker.client, { taskQueue, every })).created, true);
    assert.equal((await ensureStatusListResignSchedule(worker.client, { taskQueue, every })).created, false, 'a second worker start leaves it');
    const description = await worker.client.schedule.getHandle(statusListResignScheduleId(taskQueue)).describe();
    assert.equal(description.action.type === 'startWorkflow' && description.action.workflowType, STATUS_LIST_RESIGN_WORKFLOW_TYPE);

    // No reads for 4.5 s: only the Schedule can have re-signed the stored tokens (due 3 s after signing).
    const before = await storedTokens();
    await sleep(4500);
    const after = await storedTokens();
    for (const [i, t] of after.entries()) assert.ok(new Date(t.signed_at) > new Date(before[i]!.signed_at), `${t.list_id}|${t.form} re-signed by the Schedule`);

    // For 10 s (well over one validity), every read gets a token that has not expired, and it changes before the old one's exp.
    const seen: { iat: number; exp: number }[] = [];
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      const { iat, exp } = await servedJwt();
      const nowS = Date.now() / 1000;
      assert.ok(exp > nowS, `served token expired: exp ${exp}, now ${nowS}`);
      if (!seen.some((s) => s.iat === iat)) seen.push({ iat, exp });
      await sleep(200);
    }
    assert.ok(seen.length >= 3, `the token changed at least twice in 10 s (${seen.length} distinct)`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.iat < seen[i - 1]!.exp, 'the next token was signed before the previous one expired');
  });
});
