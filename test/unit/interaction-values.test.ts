import assert from 'node:assert/strict';
import { test } from 'node:test';
import { castCredentialValues, credentialOfSchema, credentialValues, isPostponement } from '../../src/oid4vci/interaction-values';

/** Seed 002 WebhookCredentialValuesDTO and attribute types (docs/conventions.md, Interactions). */
const FIELDS = { name: 'Text', born: 'Date', score: 'Number', level: 'Enumeration' } as const;

test('answers cast by attribute type: Text as is, Date epoch seconds to YYYY-MM-DD, Number with ".", Enumeration numeric', () => {
  const cast = castCredentialValues(
    [
      { name: 'name', value: 'Alice' },
      { name: 'born', value: String(Date.UTC(1990, 4, 15, 13, 5) / 1000) },
      { name: 'score', value: '222.2222' },
      { name: 'level', value: '3' },
    ],
    FIELDS,
  );
  assert.deepEqual(cast, { ok: true, claims: { name: 'Alice', born: '1990-05-15', score: 222.2222, level: 3 } });
});

test('values that do not fit their type, fields outside the schema and non-string values refuse the answer', () => {
  for (const fields of [
    [{ name: 'born', value: '1990-05-15' }],
    [{ name: 'score', value: '222,5' }],
    [{ name: 'score', value: '1e3' }],
    [{ name: 'level', value: 'gold' }],
    [{ name: 'level', value: '-1' }],
    [{ name: 'bonus', value: '1' }],
    [{ name: 'name', value: 7 }],
    [{ name: 'toString', value: 'x' }],
  ]) {
    const cast = castCredentialValues(fields, FIELDS);
    assert.equal(cast.ok, false, JSON.stringify(fields));
  }
  assert.equal(castCredentialValues('not an array', FIELDS).ok, false);
});

test('the document goes out as strings, Date fields as seconds since the epoch', () => {
  assert.deepEqual(credentialValues({ name: 'Alice', born: '1990-05-15', score: 12.5, tags: ['a'] }, FIELDS), [
    { name: 'name', value: 'Alice' },
    { name: 'born', value: String(Date.UTC(1990, 4, 15) / 1000) },
    { name: 'score', value: '12.5' },
    { name: 'tags', value: '["a"]' },
  ]);
});

test('empty fields postpone (seed 002: "return credentials with empty fields"); the schema id picks the credential', () => {
  assert.ok(isPostponement([]));
  assert.ok(isPostponement(undefined));
  assert.ok(isPostponement([{ schemaId: 's', fields: [] }]));
  assert.ok(!isPostponement([{ schemaId: 's', fields: [{ name: 'name', value: 'A' }] }]));
  const list = [{ schemaId: 'a', fields: [] }, { schemaId: 'b', fields: [{ name: 'x', value: '1' }] }];
  assert.equal(credentialOfSchema(list, 'b'), list[1]);
  assert.equal(credentialOfSchema(list, 'c'), undefined);
  assert.equal(credentialOfSchema([list[0]], 'c'), list[0]);
});
