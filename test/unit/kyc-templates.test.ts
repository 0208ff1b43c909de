import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createKycTemplates, fileRefsIn, resolveFileRefs } from '../../src/kyc/kyc-templates';
import { loadTestConfig, testConfigFile } from '../support/test-services';

// Seed 004: attributes are [{id, data: {value}}], file parts referenced as "$document-1" in POST /users
// and by fileId in POST /applications; templates carry a JSON Schema of their attributes (ajv, 2020-12).

const FILE = '0b9f3c52-2f1e-4c1a-9d4e-3a2b1c0d9e8f';
const config = loadTestConfig(
  testConfigFile((f) => {
    f.kyc = {
      login_redirect_url: 'https://kyc.example.org/',
      templates: {
        person: {
          name: 'Person',
          credential_type: 'urn:eudi:diploma:1',
          attributes: [
            { id: 'urn:a:name', claim: 'given_name', schema: { type: 'string', minLength: 1 } },
            { id: 'urn:a:scan', file_types: ['png'], schema: { type: 'object', properties: { image: { type: 'string', pattern: '^file:' } }, required: ['image'] } },
            { id: 'urn:a:note', required: false, schema: { type: 'string' } },
          ],
        },
      },
    };
  }),
);
const templates = createKycTemplates(config);
const person = templates.get('person')!;

describe('KYC templates (seed 004 GET /templates/{id}/schema.json)', () => {
  test('a template\'s schema has the attribute ids as properties, the required ones listed, nothing else allowed', () => {
    assert.deepEqual(Object.keys(person.schema.properties as object), ['urn:a:name', 'urn:a:scan', 'urn:a:note']);
    assert.deepEqual(person.schema.required, ['urn:a:name', 'urn:a:scan']);
    assert.equal(person.schema.additionalProperties, false);
    assert.equal(person.authenticSource, 'hr.example.org', 'the source owning the credential type');
  });

  test('file references are resolved to file:<id> at any depth and found again', () => {
    const value = resolveFileRefs({ image: '$document-1', pages: ['$document-1', 'text'] }, (s) => (s === '$document-1' ? FILE : undefined));
    assert.deepEqual(value, { image: `file:${FILE}`, pages: [`file:${FILE}`, 'text'] });
    assert.deepEqual(fileRefsIn(value), [FILE, FILE]);
    assert.deepEqual(fileRefsIn({ image: 'file:not-a-uuid' }), []);
  });

  test('POST /users checks each attribute against its own schema; an unknown attribute id is a problem with its path', () => {
    assert.deepEqual(templates.checkAttributes([{ id: 'urn:a:name', data: { value: 'Maja' } }]), []);
    const problems = templates.checkAttributes([{ id: 'urn:a:name', data: { value: '' } }, { id: 'urn:a:other', data: { value: 1 } }]);
    assert.equal(problems[0]!.path, 'attributes.0.data.value');
    assert.deepEqual(problems[1], { path: 'attributes.1.id', message: 'no template has the attribute urn:a:other' });
  });

  test('POST /applications checks the whole template: a missing required attribute is named by its id', () => {
    const complete = [{ id: 'urn:a:name', data: { value: 'Maja' } }, { id: 'urn:a:scan', data: { value: { image: `file:${FILE}` } } }];
    assert.deepEqual(templates.checkApplication(person, complete), []);
    assert.deepEqual(templates.checkApplication(person, complete.slice(0, 1)), [{ path: 'attributes/urn:a:scan', message: "must have required property 'urn:a:scan'" }]);
  });

  test('claims are the attributes with a claim name; file types come from the attribute, else kyc.files.types', () => {
    assert.deepEqual(templates.claimsOf(person, [{ id: 'urn:a:name', data: { value: 'Maja' } }, { id: 'urn:a:note', data: { value: 'x' } }]), { given_name: 'Maja' });
    assert.deepEqual(templates.fileTypesOf(person, 'urn:a:scan'), ['png']);
    assert.deepEqual(templates.fileTypesOf(person, 'urn:a:note'), ['pdf', 'png', 'jpeg']);
  });
});
