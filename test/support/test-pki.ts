import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

/**
 * A throwaway PKI for TLS tests: one CA, a server certificate for 127.0.0.1 / localhost and a
 * client certificate, all ECDSA P-256, as PEM. Generated per run so no key material is committed.
 */
export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const HOUR_MS = 60 * 60 * 1000;

export async function createTestPki(): Promise<TestPki> {
  const x509 = await loadX509();
  // Backdated a little so clock skew between processes cannot make a fresh certificate "not yet valid".
  const notBefore = new Date(Date.now() - HOUR_MS);
  const notAfter = new Date(Date.now() + 24 * HOUR_MS);

  const caKeys = await generateKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Durable Issuer Test CA, O=Test',
    keys: caKeys,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const issueLeaf = async (subject: string, usage: X509.ExtendedKeyUsage, names: X509.JsonGeneralNames) => {
    const keys = await generateKeys();
    const cert = await x509.X509CertificateGenerator.create({
      subject,
      issuer: ca.subject,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.AuthorityKeyIdentifierExtension.create(ca),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    return { cert: cert.toString('pem'), key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
  };

  // Node verifies the server by IP SAN when dialled by address, by DNS SAN when dialled by name.
  const server = await issueLeaf('CN=localhost', x509.ExtendedKeyUsage.serverAuth, [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
  ]);
  const client = await issueLeaf('CN=test-client, O=Test', x509.ExtendedKeyUsage.clientAuth, [
    { type: 'dns', value: 'test-client.example' },
  ]);

  return {
    caCert: ca.toString('pem'),
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
  };
}

function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

/**
 * @peculiar/x509 needs a Reflect metadata polyfill before it loads (its tsyringe dependency throws
 * otherwise, see its README), so it is imported dynamically after one is in place: the
 * `reflect-metadata` package when installed, else the minimal shim below.
 */
async function loadX509(): Promise<typeof X509> {
  if (!hasReflectMetadata(Reflect)) {
    const polyfill = 'reflect-metadata'; // a variable: the package is optional, so no static import
    await import(polyfill).catch(() => installReflectMetadataShim());
  }
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto);
  return x509;
}

interface ReflectMetadata {
  defineMetadata(key: unknown, value: unknown, target: object, property?: string | symbol): void;
  getOwnMetadata(key: unknown, target: object, property?: string | symbol): unknown;
  getMetadata(key: unknown, target: object, property?: string | symbol): unknown;
}

function hasReflectMetadata(reflect: object): reflect is ReflectMetadata {
  return typeof (reflect as Partial<ReflectMetadata>).getMetadata === 'function';
}

/** Just the three calls tsyringe makes (defineMetadata, getOwnMetadata, getMetadata), kept per target. */
function installReflectMetadataShim(): void {
  const store = new WeakMap<object, Map<string | symbol | undefined, Map<unknown, unknown>>>();
  const own = (target: object, property?: string | symbol) => store.get(target)?.get(property);
  const shim: ReflectMetadata = {
    defineMetadata(key, value, target, property) {
      let byProperty = store.get(target);
      if (!byProperty) store.set(target, (byProperty = new Map()));
      let entries = byProperty.get(property);
      if (!entries) byProperty.set(property, (entries = new Map()));
      entries.set(key, value);
    },
    getOwnMetadata: (key, target, property) => own(target, property)?.get(key),
    getMetadata(key, target, property) {
      for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
        const entries = own(t, property);
        if (entries?.has(key)) return entries.get(key);
      }
      return undefined;
    },
  };
  Object.assign(Reflect, shim);
}
