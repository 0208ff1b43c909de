import assert from 'node:assert/strict';
import { gunzipSync, inflateSync } from 'node:zlib';
import { test } from 'node:test';
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createStatusListPublisher } from '../../src/credentials/status-list-publisher';
import { encodeBitstring, packBitstring, packTokenStatusList } from '../../src/credentials/status-list-token';
import { createLocalSigner, generateEs256PrivateJwk, type CredentialSigner } from '../../src/credentials/signer';
import { createDevPki } from '../../src/credentials/dev-pki';
import type { StatusListRow } from '../../src/db/status-lists-repository';
import { createMemoryStatusListTokenStore, type StatusListTokenStore } from '../../src/db/status-list-tokens-repository';

/**
 * The status-list publisher (src/credentials/status-list-publisher.ts) with an in-memory list and a
 * counting signer: many changes between two reads cost one signing, concurrent reads share one, and
 * a token is re-signed before half its validity has passed (so none is served expired). The forms
 * of a list are signed together; the counted signer is the JWT's (the CWT's Document Signer, which
 * needs a certificate chain, signs beside it), so one count is one signing of the list.
 */
const documentSigner = createDevPki().then(({ documentSigner: ds }) => createLocalSigner(ds.privateJwk, { x5c: ds.x5c }));
const LIST: StatusListRow = { id: 'token/status/0', family: 'token', purpose: 'status', number: 0, bits: 2, size: 131_072, allocated: 10 };

async function fixture(tokens: StatusListTokenStore = createMemoryStatusListTokenStore()) {
  const base = await createLocalSigner(generateEs256PrivateJwk());
  let signings = 0;
  const signer: CredentialSigner = { kid: base.kid, alg: base.alg, publicJwk: base.publicJwk, sign: (data) => (signings++, base.sign(data)) };
  const entries = new Map<number, number>();
  let mark = 0;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const publisher = createStatusListPublisher({
    issuerUrl: 'https://issuer.example.org',
    lists: { list: async (id) => (id === LIST.id ? LIST : undefined), lists: async (family) => (family === 'token' ? [LIST] : []), changeMark: async () => String(mark), snapshot: async () => ({ list: LIST, entries: [...entries].map(([idx, status]) => ({ idx, status })), mark: String(mark) }) },
    keyStore: { signer: async (purpose) => (purpose === 'document_signer' ? documentSigner : signer) },
    tokens,
    ttlSeconds: 300,
    validitySeconds: 3600,
    now: () => new Date(clock),
  });
  return {
    publisher,
    signings: () => signings,
    change: (idx: number, status: number) => (entries.set(idx, status), mark++),
    advance: (ms: number) => (clock += ms),
    jwks: { keys: [{ ...base.publicJwk }] },
  };
}

test('a hundred changes between two reads cost one re-signing, and the read shows all of them', async () => {
  const f = await fixture();
  await f.publisher.publish(LIST.id, 'jwt');
  assert.equal(f.signings(), 1);
  for (let i = 0; i < 100; i++) f.change(i * 7, 1);
  const published = await f.publisher.publish(LIST.id, 'jwt');
  assert.equal(f.signings(), 2);
  const list = getListFromStatusListJWT(String(published!.body));
  for (let i = 0; i < 100; i++) assert.equal(list.getStatus(i * 7), 1);
  assert.equal(list.getStatus(1), 0);
});

test('reads without a change are served from the cache; concurrent reads after a change share one signing', async () => {
  const f = await fixture();
  await f.publisher.publish(LIST.id, 'jwt');
  await f.publisher.publish(LIST.id, 'jwt');
  assert.equal(f.signings(), 1);
  f.change(5, 2);
  const all = await Promise.all(Array.from({ length: 20 }, () => f.publisher.publish(LIST.id, 'jwt')));
  assert.equal(f.signings(), 2);
  assert.equal(new Set(all.map((p) => p!.body)).size, 1);
});

test('a read does not re-sign a token past half its validity: resignDue (the Schedule\'s step) does, and the read then serves the new one (draft-ietf-oauth-status-list §5.1 exp)', async () => {
  const f = await fixture();
  const first = await f.publisher.publish(LIST.id, 'jwt');
  f.advance(1_801_000);
  assert.equal((await f.publisher.publish(LIST.id, 'jwt'))!.body, first!.body, 'served as it is: the Schedule re-signs, not the read');
  assert.equal(f.signings(), 1);
  // The token list is due: its forms (JWT and CWT) are re-signed together, from one snapshot.
  const due = await f.publisher.resignDue();
  assert.deepEqual(due.resigned, [{ listId: LIST.id, form: 'jwt' }, { listId: LIST.id, form: 'cwt' }]);
  assert.equal(f.signings(), 2);
  const second = await f.publisher.publish(LIST.id, 'jwt');
  assert.equal(f.signings(), 2, 'the read serves the re-signed token');
  assert.notEqual(first!.body, second!.body);
  const claims = await jwtVerify(String(second!.body), createLocalJWKSet(f.jwks), { typ: 'statuslist+jwt', currentDate: new Date(Date.parse('2026-01-01T00:30:01Z')) });
  assert.ok((claims.payload.exp as number) * 1000 > Date.parse('2026-01-01T01:00:00Z'));
});

test('a token within ttl of its exp (no Schedule ran) is re-signed by the read itself, so none is served expired', async () => {
  const f = await fixture();
  await f.publisher.publish(LIST.id, 'jwt');
  f.advance(3_600_000 - 200_000);
  const late = await f.publisher.publish(LIST.id, 'jwt');
  assert.equal(f.signings(), 2);
  const claims = await jwtVerify(String(late!.body), createLocalJWKSet(f.jwks), { typ: 'statuslist+jwt', currentDate: new Date(Date.parse('2026-01-01T00:56:40Z')) });
  assert.ok((claims.payload.exp as number) * 1000 > Date.parse('2026-01-01T01:56:00Z'));
});

test('two processes sharing the token store sign a change once: the second serves the token the first stored', async () => {
  const tokens = createMemoryStatusListTokenStore();
  const a = await fixture(tokens);
  const b = await fixture(tokens);
  const fromA = await a.publisher.publish(LIST.id, 'jwt');
  const fromB = await b.publisher.publish(LIST.id, 'jwt');
  assert.equal(a.signings() + b.signings(), 1);
  assert.equal(fromB!.body, fromA!.body);
});

test('an unknown list is not published', async () => {
  const f = await fixture();
  assert.equal(await f.publisher.publish('token/status/9', 'jwt'), undefined);
});

test('packing follows each spec\'s bit order: LSB first for the Token Status List (§4.1), MSB first for the Bitstring Status List (§3.2)', () => {
  const token = packTokenStatusList(16, 2, [{ idx: 0, status: 1 }, { idx: 1, status: 2 }, { idx: 3, status: 3 }, { idx: 5, status: 1 }]);
  assert.deepEqual([...token.subarray(0, 2)], [0b11001001, 0b00000100]);
  const bits = packBitstring(16, [{ idx: 0, status: 1 }, { idx: 9, status: 1 }]);
  assert.deepEqual([...bits], [0b10000000, 0b01000000]);
  const encoded = encodeBitstring(packBitstring(131_072, [{ idx: 3, status: 1 }]));
  assert.equal(encoded[0], 'u');
  assert.equal(gunzipSync(Buffer.from(encoded.slice(1), 'base64url'))[0], 0b00010000);
  assert.ok(inflateSync(Buffer.from('eNrbuRgAAhcBXQ', 'base64url')).equals(Buffer.from(packTokenStatusList(16, 1, [0, 3, 4, 5, 7, 8, 9, 13, 15].map((idx) => ({ idx, status: 1 }))))), 'the draft\'s 1-bit example list');
});

test('the JOSE and Data Integrity W3C forms are signed from one list state: same bits and validity window, even when read apart (Bitstring Status List §2.2)', async () => {
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const signer = await createLocalSigner(generateEs256PrivateJwk());
  const w3cList = { ...LIST, id: 'w3c/revocation/0', family: 'w3c' as const, purpose: 'revocation', bits: 1 as const };
  const publisher = createStatusListPublisher({
    issuerUrl: 'https://issuer.example.org',
    lists: { list: async () => w3cList, lists: async (family) => (family === 'w3c' ? [w3cList] : []), changeMark: async () => '3', snapshot: async () => ({ list: w3cList, entries: [{ idx: 7, status: 1 }], mark: '3' }) },
    keyStore: { signer: async () => signer },
    tokens: createMemoryStatusListTokenStore(),
    ttlSeconds: 300,
    validitySeconds: 3600,
    now: () => new Date(clock),
  });
  const jose = await publisher.publish(w3cList.id, 'w3c');
  clock += 600_000;
  const di = await publisher.publish(w3cList.id, 'w3c-di');
  assert.equal(jose!.contentType, 'application/vc+jwt');
  assert.equal(di!.contentType, 'application/vc');
  const payload = JSON.parse(Buffer.from(String(jose!.body).split('.')[1]!, 'base64url').toString()) as Record<string, any>;
  const document = JSON.parse(String(di!.body)) as Record<string, any>;
  assert.equal(document.credentialSubject.encodedList, payload.credentialSubject.encodedList);
  assert.equal(gunzipSync(Buffer.from(String(document.credentialSubject.encodedList).slice(1), 'base64url'))[0], 0b00000001, 'index 7: the last bit of byte 0');
  assert.equal(document.validFrom, '2026-01-01T00:00:00Z');
  assert.equal(document.validFrom, payload.validFrom);
  assert.equal(document.validUntil, payload.validUntil);
  assert.equal(document.id, 'https://issuer.example.org/status-lists/w3c/revocation/0/di');
  assert.equal(payload.id, 'https://issuer.example.org/status-lists/w3c/revocation/0');
  assert.equal(document.proof.cryptosuite, 'ecdsa-rdfc-2019');
});
