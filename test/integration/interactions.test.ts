import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, type JSONWebKeySet, type JWK, SignJWT } from 'jose';
import type { IssuerMetadataResult } from '@openid4vc/openid4vci';
import type { Config } from '../../src/config/config';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { freePort } from '../../src/runtime/free-port';
import { verifySdJwtVc } from '../support/credential-verifiers';
import { ISSUED_FIELD_TYPES, ISSUED_FIELDS, startThirdParty, THIRD_PARTY_DID } from '../support/interaction-third-party';
import { createWallet } from '../support/oid4vci-wallet';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';
import { startHookReceiver } from '../support/hook-receiver';

/**
 * Seed 002 interactions end to end (docs/conventions.md, Interactions), against real Temporal and
 * PostgreSQL with the independent wallet library (@openid4vc/openid4vci) and a third party on
 * loopback that checks our X-Body-Signature and Bearer JWT with its own code (node:crypto, jose):
 * an answer at once (issued from the third party's fields, cast to the type's schema), a postponed
 * answer completed by the inbound callback across a worker restart and collected from the deferred
 * credential endpoint (OpenID4VCI 1.0 §8.3 transaction_id, §9), refusals (credential_request_denied,
 * OpenID4VCI 1.0 §8.3.1.2), and callbacks that must change nothing. The source's webhook hears each
 * outcome once and in order (`interaction.answered`, `.postponed`, `.failed`).
 */
const bodyOf = (res: Response): Promise<any> => res.json();
const VCT = 'urn:example:interaction:1';
const IDENTITY = { authentic_source_person_id: 'P-1', family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' };
const DOCUMENT = { given_name: 'Alice', family_name: 'Smith', start_date: '2020-01-15' };

const until = async <T>(what: string, probe: () => Promise<T | undefined>, tries = 150): Promise<T> => {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('seed 002 interactions: third-party data at the credential request, deferred issuance, inbound callbacks', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let thirdParty: Awaited<ReturnType<typeof startThirdParty>>;
  let hooks: Awaited<ReturnType<typeof startHookReceiver>>;
  let gateway: RunningPart;
  let worker: TestWorker;
  let config: Config;
  let issuerUrl: string;
  let serviceDid: string;
  const caller = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  before(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    issuerUrl = `http://127.0.0.1:${port}`;
    serviceDid = `did:web:127.0.0.1%3A${port}`;
    let cachedKey: { pem: string; jwk: JWK } | undefined;
    const ourKey = async () => {
      if (cachedKey) return cachedKey;
      const res = await bodyOf(await fetch(`${issuerUrl}/service/${encodeURIComponent(serviceDid)}/public-info/public-key/webhooks`));
      return (cachedKey = { pem: res.publicKey, jwk: res.publicKeyJwk });
    };
    thirdParty = await startThirdParty(ourKey, () => serviceDid, VCT);
    hooks = await startHookReceiver();
    config = loadTestConfig(
      testConfigFile((f) => {
        f.issuer = { pre_authorized_code: { enabled: true, pin_required: false, code_ttl: 300 } };
        const source = (f.authentic_sources as Record<string, Record<string, any>>)['hr.example.org']!;
        source.notification_endpoint = { url: hooks.url, events: ['interaction.*'] };
        source.credential_types.employment_check = {
          vct: VCT,
          format: 'dc+sd-jwt',
          interaction: {
            url: thirdParty.url,
            action_id: 'employment-check',
            action_params: [{ name: 'level', value: 'gold' }],
            body_signature: true,
            bearer_jwt: { audience: THIRD_PARTY_DID },
            caller_public_key: caller.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
            fields: ISSUED_FIELD_TYPES,
            interval: 1,
          },
        };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: uniqueName('interactions'), PORT: String(port), ISSUER_URL: issuerUrl },
    );
    worker = await startTestWorker(config, database.db);
    gateway = await startGateway(config, createLogger('silent'));
  });
  after(async () => {
    await gateway?.close();
    await worker?.close();
    await new Promise((r) => thirdParty?.server.close(() => r(undefined)));
    await new Promise((r) => hooks?.server.close(() => r(undefined)));
    await database?.drop();
  });

  /** The source uploads and asks for an offer; the wallet library takes it and asks for the credential (OpenID4VCI 1.0 §4.1.3, §6, §7, §8). */
  const walletAsks = async (documentId: string) => {
    const upload = await fetch(`${issuerUrl}/api/v1/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({ meta: { authentic_source: 'hr.example.org', vct: VCT, document_id: documentId }, identities: [IDENTITY], document_data: DOCUMENT }),
    });
    assert.equal(upload.status, 200, JSON.stringify(await bodyOf(upload)));
    const notification = await fetch(`${issuerUrl}/api/v1/notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({ authentic_source: 'hr.example.org', vct: VCT, document_id: documentId }),
    });
    const { qr } = await bodyOf(notification);
    const wallet = createWallet();
    const { client } = wallet;
    const offer = await client.resolveCredentialOffer(qr.deep_link);
    const issuerMetadata: IssuerMetadataResult = await client.resolveIssuerMetadata(offer.credential_issuer);
    const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata });
    const { c_nonce } = await client.requestNonce({ issuerMetadata });
    const signer = await wallet.newKey();
    const { jwt } = await client.createCredentialRequestJwtProof({ issuerMetadata, credentialConfigurationId: VCT, signer, nonce: c_nonce });
    const accessToken = accessTokenResponse.access_token;
    const response = await client.retrieveCredentials({ issuerMetadata, accessToken, credentialConfigurationId: VCT, proofs: { jwt: [jwt] } }).catch((err: Error) => err);
    const last = wallet.exchanges.filter((e) => e.url.endsWith('/credential')).at(-1)!;
    return { wallet, client, issuerMetadata, accessToken, holderJwk: signer.publicJwk as JWK, response, last };
  };
  const jwks = async (): Promise<JSONWebKeySet> => bodyOf(await fetch(`${issuerUrl}/.well-known/jwks.json`));
  const callback = async (path: string, body: unknown, auth: { signWith?: KeyObject; jwtWith?: KeyObject; aud?: string } = { signWith: caller.privateKey }, did = serviceDid) => {
    const raw = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth.signWith) headers['x-body-signature'] = sign('sha3-256', raw, auth.signWith).toString('base64');
    if (auth.jwtWith) headers.authorization = `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuer(THIRD_PARTY_DID).setAudience(auth.aud ?? serviceDid).setIssuedAt().setExpirationTime('1m').sign(auth.jwtWith)}`;
    const res = await fetch(`${issuerUrl}/service/${encodeURIComponent(did)}/webhook-accept/${path}`, { method: 'POST', headers, body: raw });
    return { status: res.status, body: await bodyOf(res) };
  };
  const eventRow = (actionEventId: string) => database.db('interaction_events').where({ action_event_id: actionEventId }).first();
  /**
   * The interaction events (docs/conventions.md, Webhook events) the source's webhook got about one
   * actionEventId, once every one of `types` has arrived and a moment more (so a repeat would show).
   */
  const outcomeHooks = async (actionEventId: string, types: string[]) => {
    const of = () => hooks.events.filter((e) => e.data.action_event_id === actionEventId);
    await until(types.join(', '), async () => (types.every((t) => of().some((e) => e.type === t)) ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500));
    return of();
  };
  /** What every interaction event carries: the offer's ids and the actionEventId, never the claims. */
  const outcomeData = async (actionEventId: string) => {
    const row = await eventRow(actionEventId);
    return { authentic_source: 'hr.example.org', vct: VCT, document_id: row.document_id, offer_id: row.offer_id, workflow_id: row.workflow_id, action_event_id: actionEventId };
  };

  test('answered at once: the third party gets the seed 002 body, signed both ways, and its fields are issued cast to the schema', async () => {
    const documentId = uniqueName('now');
    const { issuerMetadata, response, last, holderJwk } = await walletAsks(documentId);
    assert.equal(issuerMetadata.credentialIssuer.deferred_credential_endpoint, `${issuerUrl}/deferred_credential`, 'metadata advertises the deferred endpoint (OpenID4VCI 1.0 §12.2.4)');
    assert.equal(last.status, 200, last.responseBody);
    assert.ok(!(response instanceof Error));
    const call = thirdParty.callFor(documentId)!;
    assert.ok(call.signatureValid, 'X-Body-Signature verifies with the published webhooks key (SHA3-256)');
    assert.equal(call.jwt?.aud, THIRD_PARTY_DID);
    const { body } = call;
    assert.equal(body.publicServiceDid, serviceDid);
    assert.equal(body.actionId, 'employment-check');
    assert.deepEqual(body.actionParams, [{ name: 'level', value: 'gold' }]);
    assert.match(body.actionEventId, /^[0-9a-f-]{36}$/);
    // subscriberConnectDid: a did:jwk of the holder's proof key.
    assert.match(body.subscriberConnectDid, /^did:jwk:/);
    const didKey = JSON.parse(Buffer.from(body.subscriberConnectDid.slice('did:jwk:'.length), 'base64url').toString('utf8')) as JWK;
    assert.equal(await calculateJwkThumbprint(didKey), await calculateJwkThumbprint(holderJwk));
    // WebhookCredentialValuesDTO: every value a string, the Date as seconds since the epoch (the document is stored as jsonb: order is not kept).
    assert.equal(body.receivedCredentials.length, 1);
    const [received] = body.receivedCredentials;
    assert.deepEqual({ ...received, fields: [...received.fields].sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)) }, {
      credentialId: documentId,
      schemaId: VCT,
      fields: [{ name: 'family_name', value: 'Smith' }, { name: 'given_name', value: 'Alice' }, { name: 'start_date', value: String(Date.UTC(2020, 0, 15) / 1000) }],
    });
    const credential = JSON.parse(last.responseBody).credentials[0].credential as string;
    const verified = await verifySdJwtVc(credential, await jwks(), { issuer: issuerUrl });
    assert.equal(verified.claims.start_date, '2021-03-01');
    assert.equal(verified.claims.salary, 4200.75);
    assert.equal(verified.claims.grade, 2);
    assert.equal(await calculateJwkThumbprint((verified.payload.cnf as { jwk: JWK }).jwk), await calculateJwkThumbprint(holderJwk));
    const row = await eventRow(body.actionEventId);
    assert.equal(row.state, 'collected');
    // Personal data never enters a history: neither the offer's nor the interaction's.
    const histories = JSON.stringify([
      await worker.client.workflow.getHandle(row.workflow_id).fetchHistory(),
      await worker.client.workflow.getHandle(`interaction/${body.actionEventId}`).fetchHistory(),
    ]);
    for (const secret of ['4200.75', 'Alice', 'Smith']) assert.ok(!histories.includes(secret), `${secret} is not in a history`);

    // The source hears interaction.answered once, and nothing else about the event; ids only.
    const heard = await outcomeHooks(body.actionEventId, ['interaction.answered']);
    assert.deepEqual(heard.map((e) => [e.id, e.type]), [[`interaction.${body.actionEventId}.answered`, 'interaction.answered']]);
    assert.deepEqual(heard[0]!.data, { ...(await outcomeData(body.actionEventId)), by_callback: false });
    for (const secret of ['4200.75', '2021-03-01', 'Alice']) assert.ok(!JSON.stringify(heard).includes(secret), `${secret} is not in the event`);
  });

  test('postponed: the wallet gets a transaction_id (§8.3), the callback arrives while the worker is down, and after the restart the wallet collects the credential from the deferred endpoint (§9)', async () => {
    const documentId = uniqueName('later');
    const { client, issuerMetadata, accessToken, last, response } = await walletAsks(documentId);
    assert.equal(last.status, 202, last.responseBody);
    assert.ok(!(response instanceof Error));
    const transactionId = response.credentialResponse.transaction_id!;
    assert.match(transactionId, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(response.credentialResponse.interval, 1);
    const { actionEventId, subscriberConnectDid } = thirdParty.callFor(documentId)!.body;
    assert.equal((await eventRow(actionEventId)).state, 'postponed');
    // §9.1: the deferred request uses this access token, so it lives as long as the third party may take (callback_timeout, 7 days by default), not the usual 10 minutes.
    const token = await database.db('oid4vci_access_tokens').where({ token_hash: createHash('sha256').update(accessToken).digest('hex') }).first('expires_at');
    assert.ok(new Date(token.expires_at).getTime() > Date.now() + 7 * 86_400_000, String(token.expires_at));
    // §9.2: still pending, the same transaction_id and the interval again, with HTTP 202.
    const pending = await client.retrieveDeferredCredentials({ issuerMetadata, accessToken, transactionId });
    assert.equal(pending.response.status, 202);
    assert.deepEqual(pending.deferredCredentialResponse, { transaction_id: transactionId, interval: 1 });

    await worker.close();
    // Seed 002 "Credential Issue Webhook", by the seed's spelling of the path, with a Bearer JWT whose aud is our DID.
    const accepted = await callback('credendials-issued', { serviceDid, subscriberConnectDid, actionEventId, issuedCredentials: [{ credentialId: documentId, schemaId: VCT, fields: ISSUED_FIELDS }] }, { jwtWith: caller.privateKey });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.deepEqual(accepted.body, { serviceDid, subscriberConnectDid, actionEventId, accepted: true });
    worker = await startTestWorker(config, database.db);

    const collected = await until('the deferred credential', async () => {
      const r = await client.retrieveDeferredCredentials({ issuerMetadata, accessToken, transactionId });
      return r.deferredCredentialResponse.credentials ? r.deferredCredentialResponse : undefined;
    });
    const verified = await verifySdJwtVc((collected.credentials![0] as { credential: string }).credential, await jwks(), { issuer: issuerUrl });
    assert.equal(verified.claims.salary, 4200.75);
    assert.equal(verified.claims.start_date, '2021-03-01');
    assert.equal((await eventRow(actionEventId)).state, 'collected');

    // §9.3: a collected transaction_id is invalid_transaction_id; a replayed callback changes nothing.
    const again = await fetch(`${issuerUrl}/deferred_credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` }, body: JSON.stringify({ transaction_id: transactionId }) });
    assert.equal(again.status, 400);
    assert.equal((await bodyOf(again)).error, 'invalid_transaction_id');
    const replay = await callback('credentials-issued', { subscriberConnectDid, actionEventId, issuedCredentials: [{ credentialId: documentId, schemaId: VCT, fields: ISSUED_FIELDS }] });
    assert.equal(replay.status, 409);
    assert.equal(replay.body.error.code, 'INTERACTION_EVENT_ANSWERED');
    assert.equal(Number((await database.db('issued_credentials').where({ document_id: documentId }).count('* as n').first())!.n), 1);

    // interaction.postponed, then interaction.answered by the callback (recorded while the worker was down), once each and in that order.
    const heard = await outcomeHooks(actionEventId, ['interaction.postponed', 'interaction.answered']);
    assert.deepEqual(heard.map((e) => e.id), [`interaction.${actionEventId}.postponed`, `interaction.${actionEventId}.answered`]);
    const data = await outcomeData(actionEventId);
    assert.deepEqual(heard.map((e) => e.data), [data, { ...data, by_callback: true }]);
    assert.ok(heard[0]!.occurred_at < heard[1]!.occurred_at, 'occurred_at follows the order of the changes');
  });

  test('refused at once: credential_request_denied (§8.3.1.2), and the source hears interaction.failed', async () => {
    const documentId = uniqueName('refuse');
    const { last } = await walletAsks(documentId);
    assert.equal(last.status, 400);
    assert.equal(JSON.parse(last.responseBody).error, 'credential_request_denied');
    const { actionEventId } = thirdParty.callFor(documentId)!.body;
    assert.equal((await eventRow(actionEventId)).state, 'failed');
    const heard = await outcomeHooks(actionEventId, ['interaction.failed']);
    assert.deepEqual(heard.map((e) => [e.id, e.type]), [[`interaction.${actionEventId}.failed`, 'interaction.failed']], 'failed once, neither answered nor postponed');
    assert.deepEqual(heard[0]!.data, { ...(await outcomeData(actionEventId)), by_callback: false });
    assert.equal(Number((await database.db('issued_credentials').where({ document_id: documentId }).count('* as n').first())!.n), 0);
  });

  test('postponed, then refused by the failure callback: the deferred request is denied and nothing is issued', async () => {
    const documentId = uniqueName('later');
    const { client, issuerMetadata, accessToken, response } = await walletAsks(documentId);
    assert.ok(!(response instanceof Error));
    const transactionId = response.credentialResponse.transaction_id!;
    const { actionEventId, subscriberConnectDid } = thirdParty.callFor(documentId)!.body;
    const failed = await callback('credentials-issuing-failed', { serviceDid, subscriberConnectDid, actionEventId, reason: 'contract ended' });
    assert.equal(failed.status, 200, JSON.stringify(failed.body));
    const denied = await until('the denial', async () => {
      const r = await fetch(`${issuerUrl}/deferred_credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` }, body: JSON.stringify({ transaction_id: transactionId }) });
      return r.status === 400 ? bodyOf(r) : undefined;
    });
    assert.equal(denied.error, 'credential_request_denied');
    await assert.rejects(client.retrieveDeferredCredentials({ issuerMetadata, accessToken, transactionId }), 'the wallet library sees the denial too');
    const heard = await outcomeHooks(actionEventId, ['interaction.postponed', 'interaction.failed']);
    assert.deepEqual(heard.map((e) => e.type), ['interaction.postponed', 'interaction.failed']);
    assert.deepEqual(heard[1]!.data, { ...(await outcomeData(actionEventId)), by_callback: true });
    // An already-answered event: the issued callback is refused too.
    const late = await callback('credentials-issued', { subscriberConnectDid, actionEventId, issuedCredentials: [{ credentialId: documentId, schemaId: VCT, fields: ISSUED_FIELDS }] });
    assert.equal(late.status, 409);
    assert.equal(Number((await database.db('issued_credentials').where({ document_id: documentId }).count('* as n').first())!.n), 0);
  });

  test('callbacks that must change nothing: unsigned, wrong key, wrong aud, another service, unknown event, another holder, bad fields; a push to a known holder gets a deep link', async () => {
    const documentId = uniqueName('later');
    const { accessToken, response } = await walletAsks(documentId);
    assert.ok(!(response instanceof Error));
    const { actionEventId, subscriberConnectDid } = thirdParty.callFor(documentId)!.body;
    const body = { subscriberConnectDid, actionEventId, issuedCredentials: [{ credentialId: documentId, schemaId: VCT, fields: ISSUED_FIELDS }] };
    const cases: [string, Awaited<ReturnType<typeof callback>>, number, string][] = [
      ['no authentication', await callback('credentials-issued', body, {}), 401, 'UNAUTHORIZED'],
      ['X-Body-Signature by another key', await callback('credentials-issued', body, { signWith: stranger.privateKey }), 401, 'UNAUTHORIZED'],
      ['Bearer JWT by another key', await callback('credentials-issued', body, { jwtWith: stranger.privateKey }), 401, 'UNAUTHORIZED'],
      ['Bearer JWT for another audience', await callback('credentials-issued', body, { jwtWith: caller.privateKey, aud: 'did:web:elsewhere.example' }), 401, 'UNAUTHORIZED'],
      ['another service DID', await callback('credentials-issued', body, { signWith: caller.privateKey }, 'did:web:elsewhere.example'), 404, 'NOT_FOUND'],
      ['unknown actionEventId', await callback('credentials-issued', { ...body, actionEventId: crypto.randomUUID() }), 404, 'INTERACTION_EVENT_NOT_FOUND'],
      ['another holder', await callback('credentials-issued', { ...body, subscriberConnectDid: 'did:jwk:eyJrdHkiOiJFQyJ9' }), 400, 'INVALID_FORMAT'],
      ['a field outside the schema', await callback('credentials-issued', { ...body, issuedCredentials: [{ schemaId: VCT, fields: [{ name: 'bonus', value: '1' }] }] }), 400, 'INVALID_FORMAT'],
      ['a Date that is not epoch seconds', await callback('credentials-issued', { ...body, issuedCredentials: [{ schemaId: VCT, fields: [{ name: 'start_date', value: '2021-03-01' }] }] }), 400, 'INVALID_FORMAT'],
      ['no fields', await callback('credentials-issued', { ...body, issuedCredentials: [] }), 400, 'INVALID_FORMAT'],
      ['a push to an unknown holder', await callback('credentials-issued', { subscriberConnectDid: 'did:jwk:unknown', issuedCredentials: [] }), 404, 'INTERACTION_EVENT_NOT_FOUND'],
    ];
    for (const [name, res, status, code] of cases) {
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, name);
    }
    assert.equal((await eventRow(actionEventId)).state, 'postponed', 'none of them answered the event');
    const pending = await fetch(`${issuerUrl}/deferred_credential`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` }, body: JSON.stringify({ transaction_id: 'not-a-transaction' }) });
    assert.equal((await bodyOf(pending)).error, 'invalid_transaction_id');

    // The event answered; then the third party pushes to the same holder without an event: a new offer's deep link.
    assert.equal((await callback('credentials-issued', body)).status, 200);
    const push = await callback('credentials-issued', { subscriberConnectDid, issuedCredentials: [{ schemaId: VCT, fields: ISSUED_FIELDS }] });
    assert.equal(push.status, 200, JSON.stringify(push.body));
    assert.match(push.body.deepLink, /^openid-credential-offer:\/\/\?credential_offer_uri=/);
  });
});
