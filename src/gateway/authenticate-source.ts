import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import bcrypt from 'bcryptjs';
import type { Request } from 'express';
import type { Config } from '../config/config';
import { ForbiddenError, UnauthorizedError } from './api-errors';

/** Who made an authenticated call. */
export interface SourcePrincipal {
  readonly kind: 'source';
  /** The authentic source's configured name (its identifier). */
  readonly source: string;
  readonly via: 'api_key' | 'mtls';
}

/** A caller of the Bearer-authenticated APIs. */
export interface ClientPrincipal {
  readonly kind: 'client';
  readonly client: string;
}

type KeyCheck = { source: string; matches: (presented: string, presentedSha256: Buffer) => Promise<boolean> };

/**
 * Seed 000 "Authentication": `X-API-Key`, compared against each source's configured hash in
 * constant time, or an mTLS client certificate whose subject a source lists.
 */
export function createSourceAuthenticator(config: Config): (req: Request) => Promise<SourcePrincipal> {
  const checks: KeyCheck[] = [];
  const mtls: { source: string; subject: Map<string, string> }[] = [];
  for (const [name, source] of Object.entries(config.file.authentic_sources)) {
    if (source.api_key_hash) checks.push({ source: name, matches: hashMatcher(source.api_key_hash) });
    if (source.dev_api_key && config.devApiKey) checks.push({ source: name, matches: hashMatcher(`sha256:${sha256(config.devApiKey).toString('hex')}`) });
    for (const subject of source.mtls_subjects) mtls.push({ source: name, subject: parseSubject(subject) });
  }

  return async (req) => {
    const socket = req.socket as Partial<TLSSocket>;
    if (socket.encrypted && socket.authorized && socket.getPeerCertificate) {
      const cert = socket.getPeerCertificate();
      const peer = cert?.subject as unknown as Record<string, string | string[]> | undefined;
      const found = peer ? mtls.find((m) => [...m.subject].every(([k, v]) => [peer[k]].flat().includes(v))) : undefined;
      if (found) return { kind: 'source', source: found.source, via: 'mtls' };
    }
    const presented = req.get('x-api-key');
    if (!presented) throw new UnauthorizedError('Missing API key (X-API-Key header) or client certificate');
    if (presented.length > 512) throw new UnauthorizedError('Invalid API key');
    const digest = sha256(presented);
    // Check every source, so timing does not reveal which source a near-miss belongs to.
    let match: string | undefined;
    for (const check of checks) if ((await check.matches(presented, digest)) && !match) match = check.source;
    if (!match) throw new UnauthorizedError('Invalid API key');
    return { kind: 'source', source: match, via: 'api_key' };
  };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function hashMatcher(hash: string): KeyCheck['matches'] {
  if (hash.startsWith('sha256:')) {
    const expected = Buffer.from(hash.slice('sha256:'.length), 'hex');
    return async (_presented, digest) => timingSafeEqual(digest, expected);
  }
  // bcrypt (as in the seed's example) is deliberately slow; remember keys that already verified,
  // by their SHA-256, so a busy source pays the cost once per process and not per request.
  const verified = new Set<string>();
  return async (presented, digest) => {
    const id = digest.toString('hex');
    if (verified.has(id)) return true;
    const ok = await bcrypt.compare(presented, hash);
    if (ok && verified.size < 1000) verified.add(id);
    return ok;
  };
}

/** "CN=hr.example.org, O=Example" → Map{CN→hr.example.org, O→Example} (simple RFC 4514 subset). */
function parseSubject(subject: string): Map<string, string> {
  return new Map(
    subject.split(/\s*,\s*/).map((rdn) => {
      const eq = rdn.indexOf('=');
      return [rdn.slice(0, eq).trim().toUpperCase(), rdn.slice(eq + 1).trim()] as [string, string];
    }),
  );
}

/**
 * `Authorization: Bearer <token>` (RFC 6750 §2.1) for the Create Credential API (seed 001), checked
 * in constant time against `api_clients.<name>.token_hash`; in development also the dev API key.
 */
export function createBearerAuthenticator(config: Config): (req: Request) => Promise<ClientPrincipal> {
  const checks: KeyCheck[] = Object.entries(config.file.api_clients).map(([name, client]) => ({ source: name, matches: hashMatcher(client.token_hash) }));
  if (config.file.environment === 'development' && config.devApiKey) checks.push({ source: 'dev', matches: hashMatcher(`sha256:${sha256(config.devApiKey).toString('hex')}`) });
  return async (req) => {
    const header = req.get('authorization');
    const match = header ? /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(header) : null;
    if (!match?.[1]) throw new UnauthorizedError('Missing or malformed Authorization: Bearer token');
    const token = match[1];
    const digest = sha256(token);
    let found: string | undefined;
    for (const check of checks) if ((await check.matches(token, digest)) && !found) found = check.source;
    if (!found) throw new UnauthorizedError('Invalid bearer token');
    return { kind: 'client', client: found };
  };
}

/** A source acts only on itself and, when a vct is named, only on the credential types configured for it. */
export function authorizeSource(config: Config, principal: SourcePrincipal, source: string, vct?: string): void {
  if (principal.source !== source) throw new ForbiddenError('API key does not belong to this authentic source', { authentic_source: source });
  if (vct === undefined) return;
  const type = config.credentialTypes.get(vct);
  if (!type || type.source !== source) throw new ForbiddenError('Credential type is not configured for this authentic source', { authentic_source: source, vct });
}
