import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeX509Certificate, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { MDL_DS_EXTENDED_KEY_USAGE, createDevPki, createDocumentSigner, pemToBase64Der } from '../../src/credentials/index';

const crypto = webcrypto as never;

test('the dev IACA follows the ISO/IEC 18013-5 Annex B.1.2 profile (self-signed, C=SE, CA pathLen 0, keyCertSign+cRLSign)', async () => {
  const { iaca } = await createDevPki({ issuerUrl: 'https://issuer.example.org/' });
  const cert = new x509.X509Certificate(iaca.certificatePem);
  assert.equal(cert.subject, cert.issuer);
  assert.ok(await cert.verify({ date: new Date() }, crypto));
  assert.deepEqual(cert.subjectName.getField('C'), ['SE']);
  const signatureAlgorithm = cert.signatureAlgorithm as unknown as { name: string; hash: { name: string } };
  assert.deepEqual([signatureAlgorithm.name, signatureAlgorithm.hash.name], ['ECDSA', 'SHA-256']);
  const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
  assert.ok(bc.critical && bc.ca && bc.pathLength === 0);
  const ku = cert.getExtension(x509.KeyUsagesExtension)!;
  assert.ok(ku.critical);
  assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
  assert.ok(cert.getExtension(x509.IssuerAlternativeNameExtension));
  assert.ok(cert.getExtension(x509.CRLDistributionPointsExtension));
  assert.equal(new NodeX509Certificate(iaca.certificatePem).ca, true, 'node:crypto agrees it is a CA');
  assert.equal(iaca.notBefore.getMilliseconds(), 0);
});

test('the dev Document Signer follows Annex B.1.4 (C=SE, digitalSignature, extKeyUsage 1.0.18013.5.1.2, validity within 457 days)', async () => {
  const { iaca, documentSigner } = await createDevPki();
  const ds = new x509.X509Certificate(documentSigner.certificatePem);
  const root = new x509.X509Certificate(iaca.certificatePem);
  assert.ok(await ds.verify({ publicKey: root.publicKey, date: new Date() }, crypto));
  assert.equal(ds.issuer, root.subject);
  assert.deepEqual(ds.subjectName.getField('C'), ['SE']);
  const ku = ds.getExtension(x509.KeyUsagesExtension)!;
  assert.ok(ku.critical);
  assert.equal(ku.usages, x509.KeyUsageFlags.digitalSignature);
  const eku = ds.getExtension(x509.ExtendedKeyUsageExtension)!;
  assert.ok(eku.critical);
  assert.deepEqual([...eku.usages], [MDL_DS_EXTENDED_KEY_USAGE]);
  assert.equal(ds.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, root.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
  assert.ok(ds.notAfter.getTime() - ds.notBefore.getTime() <= 457 * 86400_000);
  assert.equal(ds.getExtension(x509.BasicConstraintsExtension), null);
  assert.deepEqual(documentSigner.x5c, [pemToBase64Der(documentSigner.certificatePem)]);
  assert.notEqual(documentSigner.kid, iaca.kid);
});

test('a rotated Document Signer chains to the same IACA with a new key', async () => {
  const { iaca, documentSigner } = await createDevPki();
  const next = await createDocumentSigner(iaca, { validityDays: 90 });
  assert.notEqual(next.kid, documentSigner.kid);
  const ds = new x509.X509Certificate(next.certificatePem);
  assert.ok(await ds.verify({ publicKey: new x509.X509Certificate(iaca.certificatePem).publicKey, date: new Date() }, crypto));
  assert.ok(Math.abs(ds.notAfter.getTime() - ds.notBefore.getTime() - 90 * 86400_000) < 1000);
});
