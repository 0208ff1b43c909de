import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestDatabase, loadTestConfig, REGISTRY_API_KEY, TEST_DEV_API_KEY, testConfigFile, testEnv } from '../support/test-services';

const bodyOf = (res: Response): Promise<any> => res.json();

/** Seed 000 "Document Upload Flow", upload payload verbatim. */
const seedUpload = () => ({
  meta: {
    authentic_source: 'hr.example.org',
    vct: 'urn:eudi:diploma:1',
    document_id: 'diploma-2025-001234',
    real_data: true,
    credential_valid_from: 1735689600,
    credential_valid_to: 1767225600,
  },
  identities: [{ authentic_source_person_id: 'EMP-12345', family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' }],
  document_display: {
    description_short: 'Bachelor of Science in Computer Science',
    description_long: 'Awarded by Example University, May 2025',
    valid_from: 1735689600,
    valid_to: 1767225600,
  },
  document_data: {
    degree_type: 'Bachelor of Science',
    field_of_study: 'Computer Science',
    issuing_institution: 'Example University',
    graduation_date: '2025-05-15',
    gpa: '3.8',
    credits_earned: 120,
  },
  document_data_version: '1.0.0',
});

describe('gateway: seed 000 Datastore upload and read, against real PostgreSQL and Temporal', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let base: string;
  const logLines: string[] = [];

  before(async () => {
    database = await createTestDatabase();
    const config = loadTestConfig(
      testConfigFile((f) => {
        // Small failed-auth and request budgets are not configurable per test; the request budget is.
        (f.gateway as Record<string, unknown>).body_limit = '64kb';
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, PORT: '0' },
    );
    const logger = createLogger('info', 'test', { write: (line: string) => void logLines.push(line) });
    gateway = await startGateway(config, logger);
    base = gateway.url!;
  });
  after(async () => {
    await gateway?.close();
    await database?.drop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': TEST_DEV_API_KEY }) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  test('healthz answers 200 and readyz reports PostgreSQL and Temporal reachable', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await bodyOf(ready), { status: 'ready', checks: { database: 'ok', temporal: 'ok' } });
  });

  test('the seed example upload is 200 and stored; an identical repeat is idempotent', async () => {
    const first = await post('/api/v1/upload', seedUpload());
    assert.equal(first.status, 200);
    assert.equal((await bodyOf(first)).data.result, 'created');
    const again = await post('/api/v1/upload', seedUpload());
    assert.equal(again.status, 200);
    assert.equal((await bodyOf(again)).data.result, 'unchanged');
    const rows = await database.db('documents').where({ document_id: 'diploma-2025-001234' }).count<{ count: string }[]>('* as count');
    assert.equal(Number(rows[0]!.count), 1);
  });

  test('a changed upload of the same document replaces it, identities included', async () => {
    const changed = seedUpload();
    changed.document_data.gpa = '3.9';
    changed.identities.push({ authentic_source_person_id: 'REP-67890', family_name: 'Jones', given_name: 'Bob', birth_date: '1985-03-22' });
    const res = await post('/api/v1/upload', changed);
    assert.equal((await bodyOf(res)).data.result, 'updated');
    const read = await post('/api/v1/document', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'diploma-2025-001234' });
    assert.equal(read.status, 200);
    const { data } = await bodyOf(read);
    assert.equal(data.document_data.gpa, '3.9');
    assert.deepEqual(data.identities.map((i: { given_name: string }) => i.given_name), ['Alice', 'Bob']);
    assert.equal(data.meta.credential_valid_to, 1767225600);
    assert.equal(data.document_data_version, '1.0.0');
  });

  test('twenty concurrent uploads of one new document leave exactly one row', async () => {
    const doc = seedUpload();
    doc.meta.document_id = 'concurrent-1';
    const results = await Promise.all(Array.from({ length: 20 }, () => post('/api/v1/upload', doc).then(async (r) => [r.status, (await bodyOf(r)).data.result])));
    assert.ok(results.every(([status]) => status === 200));
    assert.equal(results.filter(([, r]) => r === 'created').length, 1);
    const rows = await database.db('documents').where({ document_id: 'concurrent-1' }).count<{ count: string }[]>('* as count');
    assert.equal(Number(rows[0]!.count), 1);
    const identities = await database.db('document_identities').join('documents', 'documents.id', 'document_pk').where('document_identities.authentic_source', 'hr.example.org').where('documents.document_id', 'concurrent-1');
    assert.equal(identities.length, 1);
  });

  test('concurrent uploads that share statements (new, identical repeats, changes) each get their own result and audit row', async () => {
    const doc = (i: number, gpa = '3.8') => {
      const d = seedUpload();
      d.meta.document_id = `mixed-${i}`;
      d.document_data.gpa = gpa;
      d.identities[0]!.authentic_source_person_id = `P-${i}`;
      return d;
    };
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => post('/api/v1/upload', doc(i)).then(bodyOf)));
    assert.ok(first.every((b) => b.data.result === 'created'));
    // Half repeat unchanged, half change their data, all at once.
    const second = await Promise.all(Array.from({ length: 40 }, (_, i) => post('/api/v1/upload', doc(i, i % 2 ? '4.0' : '3.8')).then(bodyOf)));
    second.forEach((b, i) => assert.equal(b.data.result, i % 2 ? 'updated' : 'unchanged', `document ${i}`));
    const stored = await database.db('documents').where('document_id', 'like', 'mixed-%').select('document_id', 'document_data');
    assert.equal(stored.length, 40);
    for (const row of stored) assert.equal(row.document_data.gpa, Number(row.document_id.slice(6)) % 2 ? '4.0' : '3.8');
    const identities = await database.db('document_identities').where('authentic_source_person_id', 'like', 'P-%').count<{ count: string }[]>('* as count');
    assert.equal(Number(identities[0]!.count), 40, 'an update replaces identities, never duplicates them');
    const audits = await database.db('audit_log').where('action', 'document.upload').whereRaw(`target->>'document_id' like 'mixed-%'`).select('target');
    assert.equal(audits.length, 80, 'one audit row per upload');
    assert.equal(audits.filter((a) => a.target.result === 'updated').length, 20);
  });

  test('without an API key the upload is 401 UNAUTHORIZED in the seed error format', async () => {
    const res = await post('/api/v1/upload', seedUpload(), {});
    assert.equal(res.status, 401);
    const body = await bodyOf(res);
    assert.equal(body.error.code, 'UNAUTHORIZED');
    assert.equal(typeof body.error.message, 'string');
  });

  test('a wrong API key is 401 and a hashed key authenticates its own source', async () => {
    assert.equal((await post('/api/v1/upload', seedUpload(), { 'x-api-key': 'not-the-key-at-all' })).status, 401);
    const own = seedUpload();
    own.meta.authentic_source = 'registry.example.org';
    own.meta.vct = 'urn:example:licence:1';
    const res = await post('/api/v1/upload', own, { 'x-api-key': REGISTRY_API_KEY });
    assert.equal(res.status, 200);
  });

  test('malformed JSON is 400 INVALID_FORMAT', async () => {
    const res = await post('/api/v1/upload', '{"meta":');
    assert.equal(res.status, 400);
    assert.equal((await bodyOf(res)).error.code, 'INVALID_FORMAT');
  });

  test('a schema violation is 400 INVALID_FORMAT whose details point at each offending field', async () => {
    const bad = seedUpload() as Record<string, unknown> & ReturnType<typeof seedUpload>;
    (bad.meta as Record<string, unknown>).credential_valid_from = 'yesterday';
    (bad.identities[0] as Record<string, unknown>).family_name = '';
    (bad as Record<string, unknown>).unexpected = true;
    const res = await post('/api/v1/upload', bad);
    assert.equal(res.status, 400);
    const body = await bodyOf(res);
    assert.equal(body.error.code, 'INVALID_FORMAT');
    const paths = body.error.details.fields.map((f: { path: string }) => f.path);
    assert.ok(paths.includes('meta.credential_valid_from'), paths.join());
    assert.ok(paths.includes('identities.0.family_name'), paths.join());
    assert.ok(paths.includes('(root)'), paths.join()); // the unknown key
  });

  test('validity must run forwards: credential_valid_from after credential_valid_to is rejected', async () => {
    const bad = seedUpload();
    bad.meta.credential_valid_from = bad.meta.credential_valid_to + 1;
    const res = await post('/api/v1/upload', bad);
    assert.equal(res.status, 400);
    assert.equal((await bodyOf(res)).error.details.fields[0].path, 'meta.credential_valid_to');
  });

  test('a body that is not JSON is 415 and an oversized body is 413, both in the error format', async () => {
    const form = await fetch(`${base}/api/v1/upload`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-api-key': TEST_DEV_API_KEY }, body: 'hello' });
    assert.equal(form.status, 415);
    assert.equal((await bodyOf(form)).error.code, 'UNSUPPORTED_MEDIA_TYPE');
    const big = seedUpload();
    (big.document_data as Record<string, unknown>).blob = 'x'.repeat(100 * 1024);
    const res = await post('/api/v1/upload', big);
    assert.equal(res.status, 413);
    assert.equal((await bodyOf(res)).error.code, 'PAYLOAD_TOO_LARGE');
  });

  test('a source cannot upload for another source or a vct not configured for it (403 FORBIDDEN)', async () => {
    const other = seedUpload();
    other.meta.authentic_source = 'registry.example.org';
    other.meta.vct = 'urn:example:licence:1';
    const crossSource = await post('/api/v1/upload', other);
    assert.equal(crossSource.status, 403);
    assert.equal((await bodyOf(crossSource)).error.code, 'FORBIDDEN');
    const foreignVct = seedUpload();
    foreignVct.meta.vct = 'urn:example:licence:1';
    assert.equal((await post('/api/v1/upload', foreignVct)).status, 403);
    const unknownVct = seedUpload();
    unknownVct.meta.vct = 'urn:example:nothing:1';
    assert.equal((await post('/api/v1/upload', unknownVct)).status, 403);
    const read = await post('/api/v1/document', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'diploma-2025-001234' }, { 'x-api-key': REGISTRY_API_KEY });
    assert.equal(read.status, 403);
  });

  test('reading a document that does not exist is 404 DOCUMENT_NOT_FOUND with the ids in details', async () => {
    const res = await post('/api/v1/document', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'invalid-id' });
    assert.equal(res.status, 404);
    const body = await bodyOf(res);
    assert.deepEqual(body, {
      error: { code: 'DOCUMENT_NOT_FOUND', message: 'No document found with the specified ID', details: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'invalid-id' } },
    });
  });

  test('unknown paths are 404 and wrong methods 405, in the error format', async () => {
    const missing = await fetch(`${base}/api/v1/nothing`);
    assert.equal(missing.status, 404);
    assert.equal((await bodyOf(missing)).error.code, 'NOT_FOUND');
    const wrongMethod = await fetch(`${base}/api/v1/upload`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
  });

  test('every API call leaves an audit row with ids only, and the audit log refuses updates and deletes', async () => {
    const rows = await database.db('audit_log').select('*').orderBy('id');
    const uploads = rows.filter((r) => r.action === 'document.upload');
    assert.ok(uploads.length >= 3);
    assert.ok(uploads.every((r) => r.actor === 'source:hr.example.org' || r.actor === 'source:registry.example.org'));
    assert.ok(rows.some((r) => r.status === 401 && r.actor === 'anonymous'), 'rejected calls are audited too');
    assert.ok(!JSON.stringify(rows).includes('Computer Science'), 'no document data in the audit log');
    await assert.rejects(database.db('audit_log').update({ actor: 'x' }), /append-only/);
    await assert.rejects(database.db('audit_log').delete(), /append-only/);
    await assert.rejects(database.db.raw('truncate audit_log'), /append-only/);
  });

  test('the request id is echoed, and logs carry neither the API key nor document data', async () => {
    const res = await post('/api/v1/upload', seedUpload(), { 'x-api-key': TEST_DEV_API_KEY, 'x-request-id': 'trace-abc-123' });
    assert.equal(res.headers.get('x-request-id'), 'trace-abc-123');
    const logs = logLines.join('');
    assert.ok(logs.includes('trace-abc-123'));
    assert.ok(!logs.includes(TEST_DEV_API_KEY));
    assert.ok(!logs.includes('Smith') && !logs.includes('Computer Science'));
  });

  test('security headers are set and the framework is not advertised', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(res.headers.get('content-security-policy'));
    assert.equal(res.headers.get('x-powered-by'), null);
  });

  test('the OpenAPI 3.1 document describes each operation with its request schema and error responses', async () => {
    const doc = await bodyOf(await fetch(`${base}/openapi.json`));
    assert.equal(doc.openapi, '3.1.0');
    const upload = doc.paths['/api/v1/upload'].post;
    assert.equal(upload.requestBody.content['application/json'].schema.$ref, '#/components/schemas/UploadRequest');
    for (const status of ['400', '401', '403', '429']) assert.equal(upload.responses[status].content['application/json'].schema.$ref, '#/components/schemas/Error');
    assert.ok(doc.components.schemas.UploadRequest.properties.meta);
    assert.deepEqual(doc.components.securitySchemes.apiKey, { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Authentic-source API key (seed 000)' });
    assert.ok(doc.paths['/api/v1/document'].post.responses['404']);
    const docs = await fetch(`${base}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger-ui/);
  });

  // Last: it exhausts this address's failed-authentication budget.
  test('repeated wrong API keys are cut off with 429 RATE_LIMITED and Retry-After (brute-force limit), while the right key from the same address still passes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await post('/api/v1/document', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'x' }, { 'x-api-key': `guess-${i}` })).status);
    assert.ok(statuses.slice(0, 15).every((s) => s === 401));
    assert.equal(statuses.at(-1), 429);
    const limited = await post('/api/v1/document', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'x' }, { 'x-api-key': 'guess-next' });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await bodyOf(limited)).error.code, 'RATE_LIMITED');
    // Issue 15 finding 7: the limiter must not lock a source out; its right key is still checked and passes.
    const rightKey = await post('/api/v1/document', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'x' });
    assert.equal((await bodyOf(rightKey)).error.code, 'DOCUMENT_NOT_FOUND', 'authenticated: the document simply does not exist');
  });
});
