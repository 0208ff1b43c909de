import { createHash, randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWTHeaderParameters, SignJWT } from 'jose';
import { type CallbackContext, clientAuthenticationAnonymous, type Jwk, type JwtSignerJwk } from '@openid4vc/oauth2';
import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci';

/**
 * A wallet built on the OpenWallet Foundation's `@openid4vc/openid4vci` client (oid4vc-ts), with
 * the callbacks it needs: fetch (recorded, so a failing test can show what was said on the wire),
 * SHA-2 hashing, random bytes and JWT signing with `jose`. No code of the issuer is imported here.
 */

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** One HTTP exchange the library made. */
export interface Exchange {
  method: string;
  url: string;
  requestBody?: string;
  status: number;
  responseBody: string;
}

/** An ES256 holder key, as the library's `jwk` signer plus the private key that signs for it. */
export async function holderKey(): Promise<{ signer: JwtSignerJwk; privateKey: PrivateKey }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { signer: { method: 'jwk', alg: 'ES256', publicJwk: (await exportJWK(publicKey)) as Jwk }, privateKey };
}

export function createWallet(keys: Map<string, PrivateKey> = new Map()) {
  // The issuer runs on loopback over http in tests; oid4vc-ts refuses http URLs unless told otherwise.
  setGlobalConfig({ allowInsecureUrls: true });
  const exchanges: Exchange[] = [];

  const recordingFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const requestBody = init?.body !== undefined && init.body !== null ? String(init.body) : undefined;
    const response = await fetch(request);
    const responseBody = await response.clone().text();
    exchanges.push({ method: request.method, url: request.url, ...(requestBody !== undefined ? { requestBody } : {}), status: response.status, responseBody });
    return response;
  };

  const callbacks: Omit<CallbackContext, 'verifyJwt' | 'decryptJwe' | 'encryptJwe'> = {
    fetch: recordingFetch,
    hash: (data, alg) => new Uint8Array(createHash(alg.replace('-', '')).update(data).digest()),
    generateRandom: (byteLength) => new Uint8Array(randomBytes(byteLength)),
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt: async (signer, { header, payload }) => {
      if (signer.method !== 'jwk') throw new Error(`this wallet only signs with jwk signers, not ${signer.method}`);
      const privateKey = keys.get(JSON.stringify(signer.publicJwk));
      if (!privateKey) throw new Error('no private key for the requested jwk signer');
      const jwt = await new SignJWT(payload as Record<string, unknown>).setProtectedHeader(header as JWTHeaderParameters).sign(privateKey);
      return { jwt, signerJwk: signer.publicJwk };
    },
  };

  return {
    client: new Openid4vciClient({ callbacks }),
    exchanges,
    /** A fresh holder key that this wallet can sign with. */
    async newKey(): Promise<JwtSignerJwk> {
      const { signer, privateKey } = await holderKey();
      keys.set(JSON.stringify(signer.publicJwk), privateKey);
      return signer;
    },
    /** The exchanges so far, one line each, for assertion messages. */
    transcript: () => exchanges.map((e) => `${e.method} ${e.url}${e.requestBody ? ` ${e.requestBody.slice(0, 400)}` : ''} -> ${e.status} ${e.responseBody.slice(0, 600)}`).join('\n'),
  };
}
