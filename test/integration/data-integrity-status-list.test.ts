import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { bitstringBitAt, bitstringStatus, createVerifierDocumentLoader, deriveDisclosure, expandEncodedList, verifyEcdsaRdfc2019FromSpec, verifyWithDigitalBazaar } from '../support/data-integrity-verifier';
import { createTestDatabase, loadTestConfig, testConfigFile, testEnv, uniqueName } from '../support/test-services';

/**
 * Issue 24: the Bitstring Status List credential in the proof format of the credential that names it.
 * A seed 001 credential with a Data Integrity proof names `/status-lists/w3c/revocation/<n>/di`, a
 * BitstringStatusListCredential (W3C Bitstring Status List v1.0 §2.2) secured with an
 * `ecdsa-rdfc-2019` DataIntegrityProof (VC Data Integrity ECDSA Cryptosuites v1.0 §3.2). It is read
 * as a verifier would (test/support/data-integrity-verifier.ts, which shares no code with the
 * issuer): fetched over HTTP, its proof verified with `@digitalbazaar/vc` through the verifier's own
 * document loader and the did.json it fetches, and by the check written from the ECDSA spec, its
 * `encodedList` expanded (Multibase base64url, GZIP; §3.2) and read with index 0 the most significant
 * bit of the first byte (§3.1 Bitstring Generation Algorithm).
 */
const ISSUER_URL = 'https://issuer.example.org';
const ISSUER_DID = 'did:web:issuer.example.org';
const CLIENT_TOKEN = 'di-status-client-token-0123456789';
const TTL_SECONDS = 120;
type Json = Record<string, any>;

async function eventually(check: () => Promise<void>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() - started > timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('the Bitstring Status List with a Data Integrity proof (ecdsa-rdfc-2019), beside the JOSE one', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let base: string;
  let loader: ReturnType<typeof createVerifierDocumentLoader>;

  const create = async (extra: Json = {}) => {
    const res = await fetch(`${base}/api/v1/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_TOKEN}` },
      body: JSON.stringify({
        credentialId: `urn:uuid:${crypto.randomUUID()}`,
        credentialType: 'IdentityCredential',
        recipientDid: `did:example:${uniqueName('holder')}`,
        data: { issuerName: 'Example Company', legalName: 'ABC Limited', streetAddress: 'Plot A', addressLocality: 'ABC', addressRegion: 'EFG', postalCode: '000000', addressCountry: 'US', parentOrganization: 'Parent' },
        ...extra,
      }),
    });
    const body = (await res.json()) as Json;
    assert.equal(res.status, 200, JSON.stringify(body));
    return body;
  };
  const revoke = async (id: string) => {
    const res = await fetch(`${base}/api/v1/credentials/${id}/revoke`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_TOKEN}` }, body: '{}' });
    const body = (await res.json()) as Json;
    assert.equal(res.status, 200, JSON.stringify(body));
    return body;
  };
  const get = (url: string, accept?: string) => fetch(`${base}${new URL(url).pathname}`, accept ? { headers: { accept } } : {});
  const joseList = async (url: string) => {
    const res = await get(url);
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/vc+jwt');
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as Json;
    return (await jwtVerify(await res.text(), createLocalJWKSet(jwks as never), { typ: 'vc+jwt' })).payload as Json;
  };

  before(async () => {
    database = await createTestDatabase();
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.api_clients = { caro: { token_hash: `sha256:${createHash('sha256').update(CLIENT_TOKEN).digest('hex')}` } };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, PORT: '0', ISSUER_URL, STATUS_LIST_TTL: String(TTL_SECONDS) },
    );
    gateway = await startGateway(config, createLogger('silent'));
    base = gateway.url!;
    // ISSUER_URL's host is not this gateway's address: the verifier's loader maps it, as a hosts entry would.
    loader = createVerifierDocumentLoader({ origins: { [ISSUER_URL]: base } });
  });
  after(async () => {
    await gateway?.close();
    await database?.drop();
  });

  test('a Data Integrity credential names the /di list; the list verifies with @digitalbazaar/vc and the spec-written check, and its bit flips on revocation (§2.1, §3.3)', async () => {
    const created = await create();
    const entry = created.data.credentialStatus as Json;
    assert.equal(created.data.proof.type, 'DataIntegrityProof');
    assert.match(entry.statusListCredential, /^https:\/\/issuer\.example\.org\/status-lists\/w3c\/revocation\/\d+\/di$/);
    assert.equal(entry.statusPurpose, 'revocation');

    loader.fetched.length = 0;
    const before = await bitstringStatus(created.data, loader);
    assert.equal(before.bit, 0);
    assert.ok(loader.fetched.includes(entry.statusListCredential), 'the list was fetched at the URL the credential names');
    assert.ok(loader.fetched.includes(`${ISSUER_URL}/.well-known/did.json`), 'its key came from the served DID document');
    const list = before.list as Json;
    assert.deepEqual(list['@context'], ['https://www.w3.org/ns/credentials/v2'], 'only the VC 2.0 context: it defines every term of the list');
    assert.deepEqual(list.type, ['VerifiableCredential', 'BitstringStatusListCredential']);
    assert.equal(list.id, entry.statusListCredential);
    assert.equal(list.issuer, ISSUER_DID, 'the same issuer as the credential');
    assert.equal(list.issuer, created.data.issuer);
    assert.equal(list.credentialSubject.type, 'BitstringStatusList');
    assert.equal(list.credentialSubject.statusPurpose, 'revocation');
    assert.equal(list.credentialSubject.ttl, TTL_SECONDS * 1000, '§2.2 ttl in milliseconds');
    assert.ok(expandEncodedList(list.credentialSubject.encodedList).length * 8 >= 131_072, 'at least 131,072 entries (§6.1)');
    // VC Data Integrity 1.0 §2.1.
    assert.equal(list.proof.type, 'DataIntegrityProof');
    assert.equal(list.proof.cryptosuite, 'ecdsa-rdfc-2019');
    assert.equal(list.proof.proofPurpose, 'assertionMethod');
    assert.equal(list.proof.verificationMethod, created.data.proof.verificationMethod, 'signed by the credential\'s key');
    assert.equal(await verifyEcdsaRdfc2019FromSpec(list, loader), true);

    const answer = await revoke(created.id);
    assert.equal(answer.statusListCredential, entry.statusListCredential, 'the revocation answer names the list the credential names');
    assert.equal(answer.statusListIndex, entry.statusListIndex);
    await eventually(async () => assert.equal((await bitstringStatus(created.data, loader)).bit, 1), 2000);
    // The credential's own proof still verifies: revocation is a status, not a broken signature.
    assert.equal((await verifyWithDigitalBazaar(created.data, loader)).verified, true);
  });

  test('the Data Integrity and JOSE lists are the same state: same bits, same validity window; Accept chooses the form at either URL', async () => {
    const created = await create();
    const diUrl = created.data.credentialStatus.statusListCredential as string;
    const joseUrl = diUrl.slice(0, -'/di'.length);
    await revoke(created.id);

    const diRes = await get(diUrl);
    assert.equal(diRes.status, 200);
    assert.equal(diRes.headers.get('content-type')?.split(';')[0], 'application/vc', 'VC DM 2.0 §6.3');
    assert.equal(diRes.headers.get('vary'), 'Accept');
    const maxAge = Number(/max-age=(\d+)/.exec(diRes.headers.get('cache-control') ?? '')?.[1]);
    assert.ok(maxAge > 0 && maxAge <= TTL_SECONDS, 'Cache-Control max-age is the ttl at most');
    const di = (await diRes.json()) as Json;
    const jose = await joseList(joseUrl);
    assert.equal(jose.id, joseUrl);
    assert.equal(jose.issuer, ISSUER_URL, 'the JOSE list keeps its issuer (the key is found by kid in the JWKS)');
    assert.equal(di.credentialSubject.encodedList, jose.credentialSubject.encodedList, 'the same bits');
    assert.equal(bitstringBitAt(expandEncodedList(jose.credentialSubject.encodedList), Number(created.data.credentialStatus.statusListIndex)), 1);
    assert.equal(di.validFrom, jose.validFrom, 'the same validity window');
    assert.equal(di.validUntil, jose.validUntil);
    assert.ok(Date.parse(di.validUntil) > Date.parse(di.validFrom));

    // The JOSE URL with Accept: application/vc (or the drafts' application/vc+ld+json) gives the Data Integrity form.
    const viaAccept = await get(joseUrl, 'application/vc');
    assert.equal(viaAccept.headers.get('content-type')?.split(';')[0], 'application/vc');
    assert.deepEqual(await viaAccept.json(), di);
    const legacy = await get(joseUrl, 'application/vc+ld+json');
    assert.equal(legacy.headers.get('content-type')?.split(';')[0], 'application/vc+ld+json');
    assert.equal(((await legacy.json()) as Json).proof.cryptosuite, 'ecdsa-rdfc-2019');
    // Without a preference each URL answers its own form; /di gives JOSE when asked for it.
    for (const accept of [undefined, '*/*', 'application/json']) {
      assert.equal((await get(joseUrl, accept)).headers.get('content-type')?.split(';')[0], 'application/vc+jwt', `JOSE URL, Accept ${String(accept)}`);
      assert.equal((await get(diUrl, accept)).headers.get('content-type')?.split(';')[0], 'application/vc', `/di URL, Accept ${String(accept)}`);
    }
    assert.equal((await get(diUrl, 'application/vc+jwt')).headers.get('content-type')?.split(';')[0], 'application/vc+jwt');
    assert.equal((await get(diUrl.replace(/\d+\/di$/, '999/di'))).status, 404, 'no such list');
  });

  test('a tampered list fails both verifiers: a cleared bit, a moved validity window, another purpose', async () => {
    const created = await create();
    await revoke(created.id);
    const list = (await (await get(created.data.credentialStatus.statusListCredential)).json()) as Json;
    assert.equal((await verifyWithDigitalBazaar(list, loader)).verified, true);
    const bits = expandEncodedList(list.credentialSubject.encodedList);
    const idx = Number(created.data.credentialStatus.statusListIndex);
    assert.equal(bitstringBitAt(bits, idx), 1);
    bits[idx >> 3]! &= ~(0x80 >> (idx & 7));
    const cleared = `u${gzipSync(bits).toString('base64url')}`;
    const tampered: Json[] = [
      { ...list, credentialSubject: { ...list.credentialSubject, encodedList: cleared } },
      { ...list, validUntil: '2099-01-01T00:00:00Z' },
      { ...list, credentialSubject: { ...list.credentialSubject, statusPurpose: 'suspension' } },
    ];
    for (const t of tampered) {
      assert.equal((await verifyWithDigitalBazaar(t, loader)).verified, false);
      assert.equal(await verifyEcdsaRdfc2019FromSpec(t, loader), false);
    }
  });

  test('seed 001 with cryptosuite ecdsa-sd-2023: a disclosure of one claim still carries the status entry (mandatory), and a verifier sees the revocation through it', async () => {
    const created = await create({ cryptosuite: 'ecdsa-sd-2023' });
    assert.equal(created.data.proof.cryptosuite, 'ecdsa-sd-2023');
    assert.match(created.data.credentialStatus.statusListCredential, /\/status-lists\/w3c\/revocation\/\d+\/di$/);
    const disclosed = await deriveDisclosure(created.data, ['/credentialSubject/legalName'], loader);
    assert.equal((disclosed.credentialSubject as Json).legalName, 'ABC Limited');
    assert.equal((disclosed.credentialSubject as Json).postalCode, undefined);
    assert.equal((await verifyWithDigitalBazaar(disclosed, loader)).verified, true);
    assert.equal((await bitstringStatus(disclosed, loader)).bit, 0);
    await revoke(created.id);
    assert.equal((await bitstringStatus(disclosed, loader)).bit, 1);
  });

  test('a JOSE credential (format vc+jwt) keeps naming the JOSE list', async () => {
    const created = await create({ format: 'vc+jwt' });
    const jwt = (created.data.id as string).slice('data:application/vc+jwt,'.length);
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Json;
    assert.match(payload.credentialStatus.statusListCredential, /^https:\/\/issuer\.example\.org\/status-lists\/w3c\/revocation\/\d+$/);
    const list = await joseList(payload.credentialStatus.statusListCredential);
    assert.equal(bitstringBitAt(expandEncodedList(list.credentialSubject.encodedList), Number(payload.credentialStatus.statusListIndex)), 0);
    const revoked = await revoke(created.id);
    assert.equal(revoked.statusListCredential, payload.credentialStatus.statusListCredential);
  });

  test('the OpenAPI document describes both URLs with both media types', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as Json;
    const di = doc.paths['/status-lists/w3c/revocation/{n}/di'].get;
    assert.deepEqual(Object.keys(di.responses[200].content), ['application/vc', 'application/vc+ld+json', 'application/vc+jwt']);
    assert.ok(di.responses[200].headers['Cache-Control']);
    const jose = doc.paths['/status-lists/w3c/revocation/{n}'].get;
    assert.deepEqual(Object.keys(jose.responses[200].content), ['application/vc+jwt', 'application/vc', 'application/vc+ld+json']);
  });
});
