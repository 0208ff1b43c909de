import { createPublicKey, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, type JWK, jwtVerify } from 'jose';

/**
 * A seed 002 third party on loopback for tests and history recording (docs/conventions.md,
 * Interactions), written without the issuer's code: node:crypto and jose only.
 */

/** The `aud` our Bearer JWT carries to it (the type's `interaction.bearer_jwt.audience`). */
export const THIRD_PARTY_DID = 'did:example:third-party';

/** What the third party issues: seed 002 strings (Date = seconds since the epoch, Number with '.', Enumeration numeric). */
export const ISSUED_FIELDS = [
  { name: 'given_name', value: 'Alice' },
  { name: 'family_name', value: 'Smith' },
  { name: 'start_date', value: String(Date.UTC(2021, 2, 1) / 1000) },
  { name: 'salary', value: '4200.75' },
  { name: 'grade', value: '2' },
];

/** The credential schema of ISSUED_FIELDS, as a type's `interaction.fields`. */
export const ISSUED_FIELD_TYPES = { given_name: 'Text', family_name: 'Text', start_date: 'Date', salary: 'Number', grade: 'Enumeration' } as const;

export interface ThirdPartyCall {
  body: Record<string, any>;
  signatureValid: boolean;
  jwt: Record<string, unknown> | undefined;
}

/**
 * The third party's interaction webhook. It verifies X-Body-Signature (node:crypto, SHA3-256) and the
 * Bearer JWT (jose) against the key our public-key endpoint serves, then answers by the document id:
 * `now_*` with filled issuedCredentials, `later_*` with empty fields (postponed), `refuse_*` with an error.
 */
export async function startThirdParty(publicKey: () => Promise<{ pem: string; jwk: JWK }>, serviceDid: () => string, schemaId: string, options: { verify: boolean } = { verify: true }) {
  const calls: ThirdPartyCall[] = [];
  const read = (req: IncomingMessage) => new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
  const server: Server = createServer(async (req, res) => {
    const raw = await read(req);
    const body = JSON.parse(raw.toString('utf8'));
    let signatureValid = false;
    let jwt: Record<string, unknown> | undefined;
    if (options.verify) {
      const key = await publicKey();
      const signature = req.headers['x-body-signature'];
      signatureValid = typeof signature === 'string' && verify('sha3-256', raw, createPublicKey(key.pem), Buffer.from(signature, 'base64'));
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      jwt = token ? (await jwtVerify(token, createLocalJWKSet({ keys: [key.jwk] }), { audience: THIRD_PARTY_DID, issuer: serviceDid() })).payload : undefined;
    }
    calls.push({ body, signatureValid, jwt });
    const documentId: string = body.receivedCredentials?.[0]?.credentialId ?? '';
    const echo = { serviceDid: body.publicServiceDid, subscriberConnectDid: body.subscriberConnectDid, actionEventId: body.actionEventId };
    res.setHeader('content-type', 'application/json');
    if (documentId.startsWith('refuse_')) return res.end(JSON.stringify({ ...echo, error: 'not employed here' }));
    const fields = documentId.startsWith('now_') ? ISSUED_FIELDS : [];
    res.end(JSON.stringify({ ...echo, issuedCredentials: [{ credentialId: documentId, schemaId, fields }], revokedCredentials: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, calls, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/interaction`, callFor: (documentId: string) => calls.find((c) => c.body.receivedCredentials?.[0]?.credentialId === documentId) };
}

