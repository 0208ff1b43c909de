import assert from 'node:assert/strict';
import { test } from 'node:test';
import { didWebFromUrl, verificationMethodId } from '../../src/credentials/did-web';
import { createOfflineDocumentLoader, issuerContextUrl } from '../../src/credentials/jsonld-contexts';

// did:web Method Specification §3.2 (Create): the host, a port percent-encoded as %3A.
test('the issuer did:web comes from ISSUER_URL\'s host, port percent-encoded', () => {
  assert.equal(didWebFromUrl('http://127.0.0.1:8080'), 'did:web:127.0.0.1%3A8080');
  assert.equal(didWebFromUrl('https://issuer.example.org'), 'did:web:issuer.example.org');
  assert.equal(didWebFromUrl('https://Issuer.Example.org:8443'), 'did:web:issuer.example.org%3A8443');
  assert.equal(didWebFromUrl('https://issuer.example.org/tenant/a'), 'did:web:issuer.example.org', 'the DID document is served at the host\'s /.well-known/did.json');
  assert.equal(verificationMethodId('did:web:issuer.example.org', 'abc'), 'did:web:issuer.example.org#abc');
});

test('the offline document loader serves the VC 2.0, Data Integrity, Multikey and issuer contexts and refuses any other URL', async () => {
  const load = createOfflineDocumentLoader('https://issuer.example.org');
  for (const url of ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/undefined-terms/v2', 'https://w3id.org/security/data-integrity/v2', 'https://w3id.org/security/multikey/v1', issuerContextUrl('https://issuer.example.org')]) {
    const { document } = await load(url);
    assert.equal(typeof (document as Record<string, unknown>)['@context'], 'object', url);
  }
  await assert.rejects(load('https://example.com/contexts/evil.jsonld'), /never fetches/);
  await assert.rejects(load('did:web:issuer.example.org'), /never fetches/);
});
