import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { createTestDatabase, loadTestConfig, REGISTRY_API_KEY, TEST_DEV_API_KEY, testConfigFile, testEnv } from '../support/test-services';

/**
 * Seed 000 "Datastore REST API": every endpoint of its table and every error code, against real
 * PostgreSQL. The matching rules are the seed's "Identity Matching Rules" example (fuzzy 0.85,
 * ISO / European / US date formats).
 */
const bodyOf = (res: Response): Promise<any> => res.json();
const SE = { name: 'SE', version: '1.0.0' };
const diplomaData = { degree_type: 'Bachelor of Science', field_of_study: 'Computer Science', issuing_institution: 'Example University', graduation_date: '2025-05-15' };

const upload = (documentId: string, identities: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({
  meta: { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: documentId, ...extra },
  identities,
  document_data: diplomaData,
});
const alice = { authentic_source_person_id: 'EMP-12345', schema: SE, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' };
const bob = { authentic_source_person_id: 'REP-67890', schema: SE, family_name: 'Jones', given_name: 'Bob', birth_date: '1985-03-22' };
const muller = { authentic_source_person_id: 'EMP-777', schema: SE, family_name: 'Müller-Åström', given_name: 'Jürgen', birth_date: '1975-11-02' };
// Two different persons who present identically: matching must refuse to guess.
const twinA = { authentic_source_person_id: 'EMP-T1', schema: SE, family_name: 'Berg', given_name: 'Eva', birth_date: '2001-01-01' };
const twinB = { authentic_source_person_id: 'EMP-T2', schema: SE, family_name: 'Berg', given_name: 'Eva', birth_date: '2001-01-01' };

describe('seed 000 Datastore API, against real PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: RunningPart;
  let base: string;

  const call = (method: string, path: string, body: unknown, key = TEST_DEV_API_KEY) =>
    fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) }, body: JSON.stringify(body) });
  const post = (path: string, body: unknown, key?: string) => call('POST', path, body, key);

  before(async () => {
    database = await createTestDatabase();
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.identity_matching = { required_attributes: ['family_name', 'given_name', 'birth_date'], fuzzy_matching: { enabled: true, threshold: 0.85 }, date_formats: ['2006-01-02', '02/01/2006', '01/02/2006'] };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, PORT: '0' },
    );
    gateway = await startGateway(config, createLogger('silent'));
    base = gateway.url!;
    for (const [id, identities, extra] of [
      ['doc-alice', [alice], {}],
      ['doc-alice-2', [alice], { collect: { id: 'COLLECT-ALICE-2' } }],
      ['doc-muller', [muller], {}],
      ['doc-twin-a', [twinA], {}],
      ['doc-twin-b', [twinB], {}],
    ] as const) {
      const res = await post('/api/v1/upload', upload(id, [...identities], extra));
      assert.equal(res.status, 200, JSON.stringify(await bodyOf(res)));
    }
  });
  after(async () => {
    await gateway?.close();
    await database?.drop();
  });

  describe('POST /upload validates document_data against the credential type metadata', () => {
    test('a missing mandatory claim and a wrongly typed claim are 400 INVALID_FORMAT pointing at document_data fields', async () => {
      const bad = upload('doc-bad', [alice]);
      bad.document_data = { ...diplomaData, credits_earned: 'many' } as typeof diplomaData;
      delete (bad.document_data as Record<string, unknown>).field_of_study;
      const res = await post('/api/v1/upload', bad);
      assert.equal(res.status, 400);
      const body = await bodyOf(res);
      assert.equal(body.error.code, 'INVALID_FORMAT');
      const paths = body.error.details.fields.map((f: { path: string }) => f.path);
      assert.ok(paths.includes('document_data.field_of_study'), paths.join());
      assert.ok(paths.includes('document_data.credits_earned'), paths.join());
      assert.equal(await database.db('documents').where({ document_id: 'doc-bad' }).first(), undefined);
    });
  });

  describe('nesting depth (issue 15, finding 10)', () => {
    /** JSON text nested `depth` levels (objects and arrays alternating); built as text, since JSON.stringify itself overflows. */
    const nested = (depth: number): string => `${'{"n":['.repeat(Math.floor(depth / 2))}"leaf"${']}'.repeat(Math.floor(depth / 2))}`;
    const postRaw = (path: string, json: string) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY }, body: json });
    const dora = { authentic_source_person_id: 'EMP-DEEP', schema: SE, family_name: 'Deep', given_name: 'Dora', birth_date: '1970-01-01' };
    const uploadWithExtra = (documentId: string, extra: string) => JSON.stringify(upload(documentId, [dora])).replace(/"document_data":\{/, `"document_data":{"extra":${extra},`);

    test('document_data nested deeper than 32 levels is 400 INVALID_FORMAT at document_data, not a RangeError', async () => {
      const deep = await postRaw('/api/v1/upload', uploadWithExtra('doc-deep-40', nested(40)));
      const body = await bodyOf(deep);
      assert.equal(deep.status, 400, JSON.stringify(body));
      assert.equal(body.error.code, 'INVALID_FORMAT');
      assert.deepEqual(body.error.details.fields.map((f: { path: string }) => f.path), ['document_data']);
      const deeper = await postRaw('/api/v1/upload', uploadWithExtra('doc-deep-20000', nested(20_000)));
      assert.equal(deeper.status, 400);
      assert.equal((await bodyOf(deeper)).error.code, 'INVALID_FORMAT');
      assert.equal((await postRaw('/api/v1/upload', uploadWithExtra('doc-deep-ok', nested(20)))).status, 200);
    });

    test('any JSON body nested absurdly deep is 400 INVALID_FORMAT, on every endpoint', async () => {
      for (const path of ['/api/v1/identity/mapping', '/api/v1/upload/batch', '/api/v1/document/list', '/api/v1/document']) {
        const res = await postRaw(path, `{"authentic_source":"hr.example.org","identity":{"schema":{"name":"SE","version":"1.0.0"},"deep":${nested(100_000)}},"documents":[${nested(100_000)}]}`);
        assert.equal(res.status, 400, path);
        assert.equal((await bodyOf(res)).error.code, 'INVALID_FORMAT');
      }
    });
  });

  describe('POST /upload/batch', () => {
    test('stores each valid document on its own and reports every bad one, writing nothing of the bad ones', async () => {
      const noData = { ...upload('batch-3', [alice]), document_data: {} };
      const res = await post('/api/v1/upload/batch', {
        documents: [upload('batch-1', [alice]), { meta: { authentic_source: 'hr.example.org' } }, upload('batch-2', [bob]), noData, { ...upload('batch-4', [bob]), meta: { ...upload('batch-4', [bob]).meta, vct: 'urn:example:licence:1' } }],
      });
      assert.equal(res.status, 200);
      const { data } = await bodyOf(res);
      assert.equal(data.stored, 2);
      assert.equal(data.rejected, 3);
      assert.deepEqual(data.results.map((r: { index: number; result?: string; error?: { code: string } }) => [r.index, r.result ?? r.error?.code]), [
        [0, 'created'],
        [1, 'INVALID_FORMAT'],
        [2, 'created'],
        [3, 'INVALID_FORMAT'],
        [4, 'FORBIDDEN'],
      ]);
      const stored = await database.db('documents').whereIn('document_id', ['batch-1', 'batch-2', 'batch-3', 'batch-4']).pluck('document_id');
      assert.deepEqual(stored.sort(), ['batch-1', 'batch-2']);
      const again = await bodyOf(await post('/api/v1/upload/batch', { documents: [upload('batch-1', [alice])] }));
      assert.equal(again.data.results[0].result, 'unchanged');
    });

    test('a batch that is not a list of documents is 400, and an empty one too', async () => {
      assert.equal((await post('/api/v1/upload/batch', { documents: [] })).status, 400);
      assert.equal((await post('/api/v1/upload/batch', [upload('x', [alice])])).status, 400);
    });
  });

  describe('PUT and DELETE /document/identity', () => {
    test('adds a legal representative; adding the same person id again replaces rather than duplicates', async () => {
      const key = { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'doc-alice' };
      const added = await call('PUT', '/api/v1/document/identity', { ...key, identity: bob });
      assert.equal(added.status, 200);
      assert.equal((await bodyOf(added)).data.status, 'added');
      const replaced = await call('PUT', '/api/v1/document/identity', { ...key, identity: { ...bob, given_name: 'Robert' } });
      assert.equal((await bodyOf(replaced)).data.status, 'replaced');
      const doc = await bodyOf(await post('/api/v1/document', key));
      assert.deepEqual(doc.data.identities.map((i: { given_name: string }) => i.given_name), ['Alice', 'Robert']);
    });

    test('the representative can now collect the document with their own identity', async () => {
      const res = await post('/api/v1/document/collect_id', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', collect_id: 'doc-alice', identity: { schema: SE, family_name: 'Jones', given_name: 'Robert', birth_date: '1985-03-22' } });
      assert.equal(res.status, 200);
    });

    test('removes an identity; an unknown person is 404 IDENTITY_NOT_FOUND and the last identity is 409 IDENTITY_REQUIRED', async () => {
      const key = { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'doc-alice' };
      const unknown = await call('DELETE', '/api/v1/document/identity', { ...key, authentic_source_person_id: 'NOBODY' });
      assert.equal(unknown.status, 404);
      assert.equal((await bodyOf(unknown)).error.code, 'IDENTITY_NOT_FOUND');
      assert.equal((await call('DELETE', '/api/v1/document/identity', { ...key, authentic_source_person_id: 'REP-67890' })).status, 200);
      const last = await call('DELETE', '/api/v1/document/identity', { ...key, authentic_source_person_id: 'EMP-12345' });
      assert.equal(last.status, 409);
      assert.equal((await bodyOf(last)).error.code, 'IDENTITY_REQUIRED');
    });

    test('on a document that does not exist both are 404 DOCUMENT_NOT_FOUND', async () => {
      const key = { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'nope' };
      assert.equal((await bodyOf(await call('PUT', '/api/v1/document/identity', { ...key, identity: bob }))).error.code, 'DOCUMENT_NOT_FOUND');
      assert.equal((await bodyOf(await call('DELETE', '/api/v1/document/identity', { ...key, authentic_source_person_id: 'x' }))).error.code, 'DOCUMENT_NOT_FOUND');
    });
  });

  describe('POST /document/collect_id', () => {
    const collect = (collectId: string, identity: Record<string, unknown>) => post('/api/v1/document/collect_id', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', collect_id: collectId, identity });

    test('returns the document by meta.collect.id when the identity matches, with swapped date formats normalised', async () => {
      const res = await collect('COLLECT-ALICE-2', { schema: SE, family_name: 'SMITH', given_name: 'alice', birth_date: '15/05/1990' });
      assert.equal(res.status, 200);
      assert.equal((await bodyOf(res)).data.meta.document_id, 'doc-alice-2');
    });

    test('a non-matching identity is 403 IDENTITY_MISMATCH and reveals no document data', async () => {
      const res = await collect('COLLECT-ALICE-2', { schema: SE, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-16' });
      assert.equal(res.status, 403);
      const body = await bodyOf(res);
      assert.equal(body.error.code, 'IDENTITY_MISMATCH');
      assert.ok(!JSON.stringify(body).includes('Computer Science'));
    });

    test('an identity without a schema or a required attribute is 400 INVALID_FORMAT naming the field', async () => {
      const noSchema = await collect('COLLECT-ALICE-2', { family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' });
      assert.equal(noSchema.status, 400);
      const missing = await bodyOf(await collect('COLLECT-ALICE-2', { schema: SE, family_name: 'Smith', birth_date: '1990-05-15' }));
      assert.ok(missing.error.details.fields.some((f: { path: string }) => f.path === 'identity.given_name'), JSON.stringify(missing));
    });

    test('an unknown collect id is 404 DOCUMENT_NOT_FOUND', async () => {
      assert.equal((await bodyOf(await collect('NO-SUCH', alice))).error.code, 'DOCUMENT_NOT_FOUND');
    });
  });

  describe('POST /identity/mapping', () => {
    const map = (identity: Record<string, unknown>, key?: string) => post('/api/v1/identity/mapping', { authentic_source: 'hr.example.org', identity }, key);

    test('the seed example maps to authentic_source_person_id EMP-12345', async () => {
      const res = await map({ schema: SE, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' });
      assert.equal(res.status, 200);
      assert.deepEqual(await bodyOf(res), { data: { authentic_source_person_id: 'EMP-12345' } });
    });

    const cases: [string, Record<string, unknown>, number, string?][] = [
      ['diacritics, hyphens and case are normalised (Muller Astrom / Jurgen)', { schema: SE, family_name: 'muller astrom', given_name: 'JURGEN', birth_date: '1975-11-02' }, 200, 'EMP-777'],
      ['a US-format birth date is normalised (11/02/1975 read as 2 November by layout order)', { schema: SE, family_name: 'Müller-Åström', given_name: 'Jürgen', birth_date: '02/11/1975' }, 200, 'EMP-777'],
      ['a near-miss name above the threshold matches (Smyth, Jaro-Winkler 0.893)', { schema: SE, family_name: 'Smyth', given_name: 'Alice', birth_date: '1990-05-15' }, 200, 'EMP-12345'],
      ['a name below the threshold does not match (Schmitt, Jaro-Winkler 0.794)', { schema: SE, family_name: 'Schmitt', given_name: 'Alicia', birth_date: '1990-05-15' }, 403],
      ['a birth date one day off never matches, however alike the names', { schema: SE, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-14' }, 403],
      ['another schema version does not match', { schema: { name: 'SE', version: '2.0.0' }, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' }, 403],
      ['two distinct persons matching is 409 AMBIGUOUS_IDENTITY, not a guess', { schema: SE, family_name: 'Berg', given_name: 'Eva', birth_date: '2001-01-01' }, 409],
      ['an unreadable birth date is 400', { schema: SE, family_name: 'Smith', given_name: 'Alice', birth_date: 'May the 15th' }, 400],
    ];
    for (const [name, identity, status, personId] of cases) {
      test(name, async () => {
        const res = await map(identity);
        const body = await bodyOf(res);
        assert.equal(res.status, status, JSON.stringify(body));
        if (personId) assert.equal(body.data.authentic_source_person_id, personId);
        if (status === 403) assert.equal(body.error.code, 'IDENTITY_MISMATCH');
      });
    }

    test('another source cannot map this source\'s persons (403 FORBIDDEN)', async () => {
      const res = await map(alice, REGISTRY_API_KEY);
      assert.equal(res.status, 403);
      assert.equal((await bodyOf(res)).error.code, 'FORBIDDEN');
    });
  });

  describe('POST /document/list', () => {
    test('lists every document of the matched person with meta and display, filtered by vct when given', async () => {
      const res = await post('/api/v1/document/list', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', identity: { schema: SE, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' } });
      assert.equal(res.status, 200);
      const ids = (await bodyOf(res)).data.map((d: { meta: { document_id: string } }) => d.meta.document_id).sort();
      assert.deepEqual(ids, ['batch-1', 'doc-alice', 'doc-alice-2']);
      const other = await post('/api/v1/document/list', { authentic_source: 'hr.example.org', vct: 'urn:example:employee:1', identity: { schema: SE, family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' } });
      assert.equal(other.status, 403, 'no employee badges for Alice: no identity of that vct matches');
    });
  });

  describe('DELETE /document', () => {
    test('deletes the document and its identities; a second delete is 404; the audit log keeps the record', async () => {
      const key = { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'doc-muller' };
      const pk = (await database.db('documents').where(key).first('id')).id;
      assert.equal((await call('DELETE', '/api/v1/document', key)).status, 200);
      assert.equal(await database.db('document_identities').where('document_pk', pk).first(), undefined);
      assert.equal((await bodyOf(await post('/api/v1/document', key))).error.code, 'DOCUMENT_NOT_FOUND');
      assert.equal((await bodyOf(await call('DELETE', '/api/v1/document', key))).error.code, 'DOCUMENT_NOT_FOUND');
      const audit = await database.db('audit_log').where({ action: 'document.delete' });
      assert.equal(audit.length, 1);
      assert.equal(audit[0].target.document_id, 'doc-muller');
    });
  });

  describe('cross-source access', () => {
    test('a source can neither read, change, delete nor collect another source\'s documents', async () => {
      const key = { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', document_id: 'doc-alice-2' };
      const attempts = [
        post('/api/v1/document', key, REGISTRY_API_KEY),
        call('DELETE', '/api/v1/document', key, REGISTRY_API_KEY),
        call('PUT', '/api/v1/document/identity', { ...key, identity: bob }, REGISTRY_API_KEY),
        call('DELETE', '/api/v1/document/identity', { ...key, authentic_source_person_id: 'EMP-12345' }, REGISTRY_API_KEY),
        post('/api/v1/document/collect_id', { authentic_source: 'hr.example.org', vct: 'urn:eudi:diploma:1', collect_id: 'COLLECT-ALICE-2', identity: alice }, REGISTRY_API_KEY),
        post('/api/v1/document/list', { authentic_source: 'hr.example.org', identity: alice }, REGISTRY_API_KEY),
        post('/api/v1/upload', upload('doc-alice-2', [alice]), REGISTRY_API_KEY),
      ];
      for (const res of await Promise.all(attempts)) {
        assert.equal(res.status, 403);
        assert.equal((await bodyOf(res)).error.code, 'FORBIDDEN');
      }
      assert.ok(await database.db('documents').where(key).first(), 'the document is untouched');
    });
  });

  test('the OpenAPI document describes every Datastore endpoint', async () => {
    const doc = await bodyOf(await fetch(`${base}/openapi.json`));
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    for (const op of ['POST /api/v1/upload', 'POST /api/v1/upload/batch', 'PUT /api/v1/document/identity', 'DELETE /api/v1/document/identity', 'DELETE /api/v1/document', 'POST /api/v1/document/collect_id', 'POST /api/v1/identity/mapping', 'POST /api/v1/document/list', 'POST /api/v1/document']) {
      assert.ok(ops.includes(op), `${op} is documented`);
    }
  });
});
