import { createPublicKey } from 'node:crypto';
import { keyTypeOf, KmsPublicJwkSchema } from '../kms/kms-key-types';
import { importPublicJwk } from '../kms/kms-service';
import type { SubjectKey } from './key-descriptors';
import { x509, x509Crypto, X509RequestError } from './x509-support';

/**
 * The subject key of a PKCS #10 request (RFC 2986), PEM. The request's signature is verified with
 * its own key (proof of possession, RFC 2986 §3), and the key must be of a type the service issues
 * for (secp256r1, secp384r1, Ed25519). Only the key is taken from the request: subject, extensions
 * and validity come from the issuing request's certificateData.
 */
export async function subjectKeyFromCsr(pem: string, path: string): Promise<SubjectKey> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(pem);
  } catch (cause) {
    throw new X509RequestError(path, 'is not a PEM PKCS #10 certificate request', { cause });
  }
  let verified = false;
  try {
    verified = await request.verify(x509Crypto);
  } catch (cause) {
    throw new X509RequestError(path, 'the request\'s signature algorithm or key is not supported (secp256r1, secp384r1, Ed25519)', { cause });
  }
  if (!verified) throw new X509RequestError(path, 'the request\'s signature does not verify with its public key');
  const jwk = KmsPublicJwkSchema.safeParse(createPublicKey({ key: Buffer.from(request.publicKey.rawData), format: 'der', type: 'spki' }).export({ format: 'jwk' }));
  if (!jwk.success) throw new X509RequestError(path, 'the request\'s key is not secp256r1, secp384r1 or Ed25519');
  return { keyType: keyTypeOf(jwk.data), publicJwk: jwk.data, publicKey: await importPublicJwk(jwk.data) };
}
