import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type BearerGateway, startBearerGateway } from '../support/bearer-gateway';
import { certificateText, extension, openssl, opensslCsr, tamperedCsr, verifyChain } from '../support/openssl';

/**
 * Seed 003 "Create a generic certificate": self-signed and CA-signed certificates with the caller's
 * subject, CA constraints, key usage, extended key usage, SANs and CRL distribution point, within
 * RFC 5280's rules, checked with openssl (`verify -x509_strict`, `x509 -text`) and node:crypto.
 */
const TARGET = 'test.tenant1.x509-service-1';
const KMS = 'test.tenant1.kms1';
const DAY = 86_400_000;

/** The seed's self-signed leaf request, verbatim. */
const seedLeafRequest = () => ({
  storedCertificateId: 'generic-leaf-01',
  certificateData: { subjectName: { commonName: 'Example Leaf', country: 'US', organizationName: 'Example Org' }, isCertificateAuthority: false, keyUsage: ['DigitalSignature'] },
  subjectPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: 'test.tenant1.kms1.leaf-secp256r1' } },
  issuer: { type: 'self-signed' },
});

/** The seed's CA-signed intermediate request, verbatim (no issuerName: the root's certificate gives it). */
const seedIntermediateRequest = () => ({
  storedCertificateId: 'generic-intermediate-01',
  certificateData: { subjectName: { commonName: 'Example Intermediate CA', country: 'US' }, isCertificateAuthority: true, pathLengthConstraint: 0, keyUsage: ['KeyCertSign', 'CRLSign'] },
  subjectPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: 'test.tenant1.kms1.intermediate-secp256r1' } },
  issuer: { type: 'ca-signed', issuerKeyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: 'test.tenant1.kms1.root-secp256r1' } },
});

const rootRequest = () => ({
  certificateData: { subjectName: { commonName: 'Example Root CA', country: 'US', organizationName: 'Example Org' }, isCertificateAuthority: true, keyUsage: ['KeyCertSign', 'CRLSign'] },
  subjectPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.root-secp256r1` } },
  issuer: { type: 'self-signed' },
});

describe('X.509 service generic certificates, against real PostgreSQL', () => {
  let gw: BearerGateway;
  const issue = (body: unknown) => gw.call('POST', `/v1/${TARGET}/x509-service-api/certificate`, body);
  let root: string;
  let intermediate: string;

  before(async () => {
    gw = await startBearerGateway();
    for (const [id, keyType] of [['leaf-secp256r1', 'secp256r1'], ['root-secp256r1', 'secp256r1'], ['intermediate-secp256r1', 'secp256r1'], ['ed', 'Ed25519']]) {
      assert.equal((await gw.call('POST', `/v1/${KMS}.${id}/kms-service-api/keys/generate`, { keyType })).status, 200);
    }
  });
  after(async () => gw?.close());

  test('the seed\'s self-signed leaf: the seed\'s response shape; critical keyUsage digitalSignature and basicConstraints CA:FALSE, SKI, no AKI, 365 days', async () => {
    const { status, body } = await issue(seedLeafRequest());
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.storedCertificateIds, undefined);
    const d = body.certificateData;
    assert.deepEqual(Object.keys(d).sort(), ['isCertificateAuthority', 'issuerName', 'keyUsage', 'notAfter', 'notBefore', 'publicKeyJwk', 'subjectName']);
    assert.deepEqual(d.subjectName, { commonName: 'Example Leaf', country: 'US', organizationName: 'Example Org' });
    assert.deepEqual(d.issuerName, d.subjectName, 'issuerName defaults to the subject (seed)');
    assert.equal(d.isCertificateAuthority, false);
    assert.deepEqual(d.keyUsage, ['DigitalSignature']);
    const jwk = (await gw.call('GET', `/v1/${KMS}.leaf-secp256r1/kms-service-api/keys/jwk`)).body;
    assert.deepEqual(d.publicKeyJwk, { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y });

    const cert = new X509Certificate(body.certificatePEM);
    assert.equal(cert.subject, 'C=US\nO=Example Org\nCN=Example Leaf');
    assert.equal(cert.issuer, cert.subject);
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    assert.equal(cert.ca, false);
    assert.equal((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / DAY, 365);
    const text = certificateText(body.certificatePEM);
    assert.deepEqual(extension(text, 'X509v3 Key Usage'), { critical: true, value: 'Digital Signature' });
    assert.deepEqual(extension(text, 'X509v3 Basic Constraints'), { critical: true, value: 'CA:FALSE' });
    assert.ok(extension(text, 'X509v3 Subject Key Identifier'));
    assert.equal(extension(text, 'X509v3 Authority Key Identifier'), undefined);
  });

  test('the seed\'s CA-signed intermediate under a self-signed root: issuer name and AKI from the root\'s certificate, pathlen 0, openssl verify -x509_strict', async () => {
    const rootRes = await issue(rootRequest());
    assert.equal(rootRes.status, 200, JSON.stringify(rootRes.body));
    root = rootRes.body.certificatePEM;
    const { status, body } = await issue(seedIntermediateRequest());
    assert.equal(status, 200, JSON.stringify(body));
    intermediate = body.certificatePEM;
    assert.deepEqual(body.certificateData.issuerName, { country: 'US', organizationName: 'Example Org', commonName: 'Example Root CA' });
    assert.equal(body.certificateData.pathLengthConstraint, 0);
    const verified = verifyChain(root, intermediate);
    assert.ok(verified.ok, verified.output);
    const text = certificateText(intermediate);
    assert.deepEqual(extension(text, 'X509v3 Basic Constraints'), { critical: true, value: 'CA:TRUE, pathlen:0' });
    assert.deepEqual(extension(text, 'X509v3 Key Usage'), { critical: true, value: 'Certificate Sign, CRL Sign' });
    assert.equal(extension(text, 'X509v3 Authority Key Identifier')?.value, extension(certificateText(root), 'X509v3 Subject Key Identifier')?.value);
    assert.equal(new X509Certificate(intermediate).issuer, new X509Certificate(root).subject);
  });

  test('a leaf for an openssl CSR under the intermediate: SANs (DNS, URI, e-mail, IP), EKU, CRL distribution point; the three-certificate chain verifies', async () => {
    assert.ok(intermediate, 'the intermediate test ran first');
    const csr = opensslCsr('secp384r1');
    const { status, body } = await issue({
      certificateData: {
        subjectName: { commonName: 'service.example.com', organizationalUnitName: 'Ops', localityName: 'Springfield' },
        keyUsage: ['DigitalSignature', 'KeyAgreement'],
        extendedKeyUsageOids: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
        subjectAlternativeNames: { dnsNames: ['service.example.com', '*.example.com'], uris: ['https://service.example.com/id'], emails: ['ops@example.com'], ipAddresses: ['192.0.2.1', '2001:db8::1'] },
        crlDistributionPointUri: 'https://ca.example.com/intermediate.crl',
        notAfter: new Date(Date.now() + 30 * DAY).toISOString(),
      },
      subjectPublicKeySource: { type: 'csr', csr },
      issuer: { type: 'ca-signed', issuerKeyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.intermediate-secp256r1` } },
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.certificateData.publicKeyJwk.crv, 'P-384');
    const verified = verifyChain(root, body.certificatePEM, intermediate);
    assert.ok(verified.ok, verified.output);
    const text = certificateText(body.certificatePEM);
    assert.deepEqual(extension(text, 'X509v3 Subject Alternative Name'), {
      critical: false,
      value: 'DNS:service.example.com, DNS:*.example.com, URI:https://service.example.com/id, email:ops@example.com, IP Address:192.0.2.1, IP Address:2001:DB8:0:0:0:0:0:1',
    });
    assert.deepEqual(extension(text, 'X509v3 Extended Key Usage'), { critical: false, value: 'TLS Web Server Authentication, TLS Web Client Authentication' });
    assert.deepEqual(extension(text, 'X509v3 Key Usage'), { critical: true, value: 'Digital Signature, Key Agreement' });
    assert.deepEqual(extension(text, 'X509v3 CRL Distribution Points'), { critical: false, value: 'Full Name:\nURI:https://ca.example.com/intermediate.crl' });
    assert.equal(new X509Certificate(body.certificatePEM).subject, 'L=Springfield\nOU=Ops\nCN=service.example.com');
    assert.equal(openssl(['x509', '-in', { file: 'c.pem', content: body.certificatePEM }, '-noout', '-pubkey']).stdout, openssl(['req', '-in', { file: 'r.pem', content: csr }, '-noout', '-pubkey']).stdout);
  });

  test('an Ed25519 self-signed CA with an explicit issuer name and validity; a JWK issuer with issuerName', async () => {
    const ed = await issue({
      certificateData: { subjectName: { commonName: 'Ed CA' }, issuerName: { commonName: 'Ed CA' }, notBefore: '2026-01-01T00:00:00Z', notAfter: '2036-01-01T00:00:00Z', isCertificateAuthority: true, keyUsage: ['KeyCertSign'] },
      subjectPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.ed` } },
      issuer: { type: 'self-signed' },
    });
    assert.equal(ed.status, 200, JSON.stringify(ed.body));
    assert.equal(ed.body.certificateData.notBefore, '2026-01-01T00:00:00Z');
    assert.match(certificateText(ed.body.certificatePEM), /Signature Algorithm: ED25519/);
    assert.equal(new X509Certificate(ed.body.certificatePEM).validTo, 'Jan  1 00:00:00 2036 GMT');

    const caJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const caCert = await issue({ certificateData: { subjectName: { commonName: 'JWK CA' }, isCertificateAuthority: true, keyUsage: ['KeyCertSign'] }, subjectPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'jwk-encoded-key-descriptor', jwk: caJwk } }, issuer: { type: 'self-signed' } });
    assert.equal(caCert.status, 200, JSON.stringify(caCert.body));
    const leafJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const leaf = await issue({
      certificateData: { subjectName: { commonName: 'JWK leaf' }, issuerName: { commonName: 'JWK CA' }, keyUsage: ['DigitalSignature'] },
      subjectPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'jwk-encoded-key-descriptor', jwk: leafJwk } },
      issuer: { type: 'ca-signed', issuerKeyDescriptor: { type: 'jwk-encoded-key-descriptor', jwk: caJwk } },
    });
    assert.equal(leaf.status, 200, JSON.stringify(leaf.body));
    const verified = verifyChain(caCert.body.certificatePEM, leaf.body.certificatePEM);
    assert.ok(verified.ok, verified.output);
  });

  test('refused with 400 naming the field: self-signed with a CSR, a bad CSR signature, CA rules of RFC 5280, a JWK issuer without issuerName, bad SANs', async () => {
    const seed = seedLeafRequest();
    const caJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const caSigned = { ...seed, issuer: { type: 'ca-signed', issuerKeyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.root-secp256r1` } } };
    const cases: [string, unknown, string, RegExp?][] = [
      ['self-signed with a CSR', { ...seed, subjectPublicKeySource: { type: 'csr', csr: opensslCsr() } }, 'subjectPublicKeySource', /ca-signed/],
      ['bad CSR signature', { ...caSigned, subjectPublicKeySource: { type: 'csr', csr: tamperedCsr(opensslCsr()) } }, 'subjectPublicKeySource.csr', /does not verify/],
      ['pathLengthConstraint without CA', { ...seed, certificateData: { ...seed.certificateData, pathLengthConstraint: 1 } }, 'certificateData.pathLengthConstraint', /RFC 5280/],
      ['KeyCertSign without CA', { ...seed, certificateData: { ...seed.certificateData, keyUsage: ['KeyCertSign'] } }, 'certificateData.keyUsage', /RFC 5280/],
      ['unknown keyUsage', { ...seed, certificateData: { ...seed.certificateData, keyUsage: ['Everything'] } }, 'certificateData.keyUsage.0'],
      ['JWK issuer without issuerName', { ...seed, issuer: { type: 'ca-signed', issuerKeyDescriptor: { type: 'jwk-encoded-key-descriptor', jwk: caJwk } } }, 'certificateData.issuerName', /issuerName/i],
      ['self-signed public-only JWK', { ...seed, subjectPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'jwk-encoded-key-descriptor', jwk: { kty: 'EC', crv: 'P-256', x: caJwk.x, y: caJwk.y } } } }, 'subjectPublicKeySource.keyDescriptor.jwk.d'],
      ['bad IP address', { ...caSigned, certificateData: { ...seed.certificateData, subjectAlternativeNames: { ipAddresses: ['999.1.1.1'] } } }, 'certificateData.subjectAlternativeNames.ipAddresses.0'],
      ['bad DNS name', { ...caSigned, certificateData: { ...seed.certificateData, subjectAlternativeNames: { dnsNames: ['not a name'] } } }, 'certificateData.subjectAlternativeNames.dnsNames.0'],
      ['bad EKU OID', { ...seed, certificateData: { ...seed.certificateData, extendedKeyUsageOids: ['serverAuth'] } }, 'certificateData.extendedKeyUsageOids.0'],
      ['notAfter before notBefore', { ...seed, certificateData: { ...seed.certificateData, notBefore: '2027-01-01T00:00:00Z', notAfter: '2026-01-01T00:00:00Z' } }, 'certificateData.notAfter'],
      ['empty subject', { ...seed, certificateData: { ...seed.certificateData, subjectName: {} } }, 'certificateData.subjectName'],
      ['unknown issuer type', { ...seed, issuer: { type: 'cross-signed' } }, 'issuer.type'],
      ['unknown subject key', { ...seed, subjectPublicKeySource: { type: 'key-descriptor', keyDescriptor: { type: 'kms-hosted-key-descriptor', keyIdPath: `${KMS}.missing` } } }, 'subjectPublicKeySource.keyDescriptor.keyIdPath'],
    ];
    for (const [name, body, field, message] of cases) {
      const res = await issue(body);
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'INVALID_FORMAT');
      assert.ok(res.body.error.details.fields.some((f: { path: string }) => f.path === field), `${name}: ${JSON.stringify(res.body.error)}`);
      if (message) assert.match(res.body.error.message, message, name);
    }
    assert.equal((await gw.call('POST', `/v1/${TARGET}/x509-service-api/certificate`, seed, '')).status, 401);
  });
});
