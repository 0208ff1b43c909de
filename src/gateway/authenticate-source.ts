import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** One configured secret: whose it is, its optional key id (the `<key_id>.` prefix of the key) and its hash. */
export interface KeyCheck {
  owner: string;
  keyId: string | undefined;
  hash: string;
  /** bcrypt (as in the seed's example) costs milliseconds of CPU per compare; sha256 is cheap. */
  slow: boolean;
  /** For sha256 hashes: a constant-time compare with the presented key's SHA-256. */
  fast: ((presentedSha256: Buffer) => boolean) | undefined;
}

/** Verdicts remembered per process, at most this many of each kind (oldest forgotten first). */
const VERDICT_CACHE_SIZE = 10_000;

/**
 * Checks presented keys against configured hashes so that bcrypt (deliberately slow) costs little
 * however many sources use it:
 * - a key of the form `<key_id>.<secret>` whose key id is configured is compared with that
 *   owner's hash alone (at most one bcrypt compare); any other key with the hashes that have no
 *   key id, so keys without a prefix (the seed's `$2a$12$...` keys) keep working;
 * - a key that matches a sha256 hash is never run through bcrypt;
 * - verdicts are cached by HMAC-SHA-256 of the presented key under a random per-process key (the
 *   cache never holds a key or a plain hash of one), bounded in size: a repeated wrong key costs
 *   no bcrypt, and a key that verified once is recognised in O(1).
 * Hash comparisons stay constant time (`timingSafeEqual`, bcrypt's own compare).
 */
export class KeyVerifier {
  private readonly byKeyId = new Map<string, KeyCheck>();
  private readonly unprefixed: KeyCheck[] = [];
  private readonly cacheKey = randomBytes(32);
  private readonly accepted = new Map<string, string>();
  private readonly rejected = new Set<string>();
  constructor(checks: KeyCheck[]) {
    for (const check of checks) {
      if (check.keyId === undefined) this.unprefixed.push(check);
      else this.byKeyId.set(check.keyId, check);
    }
  }

  /** The owner of `presented`, or undefined. */
  async verify(presented: string): Promise<string | undefined> {
    const tag = createHmac('sha256', this.cacheKey).update(presented, 'utf8').digest('base64url');
    const known = this.accepted.get(tag);
    if (known !== undefined) return known;
    if (this.rejected.has(tag)) return undefined;
    const owner = await this.compare(presented);
    if (owner === undefined) remember(this.rejected, tag);
    else remember(this.accepted, tag, owner);
    return owner;
  }

  /** True when checking `presented` could need a bcrypt compare (no cached verdict, and a bcrypt hash to compare with). */
  wouldBeSlow(presented: string): boolean {
    const tag = createHmac('sha256', this.cacheKey).update(presented, 'utf8').digest('base64url');
    if (this.accepted.has(tag) || this.rejected.has(tag)) return false;
    const candidates = this.candidates(presented);
    if (!candidates.some((c) => c.slow)) return false;
    return this.fastOwner(candidates, sha256(presented)) === undefined;
  }

  /** The configured key id `presented` names (its `<key_id>.` prefix), if any: failures are counted per key id. */
  keyIdOf(presented: string): string | undefined {
    const dot = presented.indexOf('.');
    const keyId = dot > 0 ? presented.slice(0, dot) : undefined;
    return keyId !== undefined && this.byKeyId.has(keyId) ? keyId : undefined;
  }

  private candidates(presented: string): KeyCheck[] {
    const keyId = this.keyIdOf(presented);
    return keyId !== undefined ? [this.byKeyId.get(keyId)!] : this.unprefixed;
  }

  /** The owner whose sha256 hash `digest` equals; every sha256 candidate is compared, in constant time. */
  private fastOwner(candidates: KeyCheck[], digest: Buffer): string | undefined {
    let owner: string | undefined;
    for (const check of candidates) if (check.fast?.(digest) && owner === undefined) owner = check.owner;
    return owner;
  }

  private async compare(presented: string): Promise<string | undefined> {
    const candidates = this.candidates(presented);
    // A key that equals a sha256 hash needs no bcrypt: the 200 tells the caller as much as the timing does.
    const fast = this.fastOwner(candidates, sha256(presented));
    if (fast !== undefined) return fast;
    let owner: string | undefined;
    // Every bcrypt candidate is checked, so timing does not reveal which owner a near-miss belongs to.
    for (const check of candidates) {
      if (!check.slow) continue;
      if ((await bcrypt.compare(presented, check.hash)) && owner === undefined) owner = check.owner;
    }
    return owner;
  }
}

function remember(cache: Set<string>, tag: string): void;
function remember(cache: Map<string, string>, tag: string, owner: string): void;
function remember(cache: Set<string> | Map<string, string>, tag: string, owner?: string): void {
  if (cache.size >= VERDICT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  if (cache instanceof Map) cache.set(tag, owner!);
  else cache.add(tag);
}

export function keyCheck(owner: string, hash: string, keyId?: string): KeyCheck {
  if (!hash.startsWith('sha256:')) return { owner, keyId, hash, slow: true, fast: undefined };
  const expected = Buffer.from(hash.slice('sha256:'.length), 'hex');
  return { owner, keyId, hash, slow: false, fast: (digest) => timingSafeEqual(digest, expected) };
}

/** An authenticator that also tells the failed-authentication limiter what a check would cost. */
export interface Authenticator<P> {
  (req: Request): Promise<P>;
  /** True when the request's credential is checked without bcrypt (a throttled address may still present it). */
  isCheap(req: Request): boolean;
  /** What failures are counted against, besides the address: the key id the credential names, or `*`. */
  scope(req: Request): string;
}

/**
 * Seed 000 "Authentication": `X-API-Key`, compared against the configured hashes (see
 * {@link KeyVerifier}), or an mTLS client certificate whose subject a source lists.
 */
export function createSourceAuthenticator(config: Config): Authenticator<SourcePrincipal> {
  const checks: KeyCheck[] = [];
  const mtls: { source: string; subject: Map<string, string> }[] = [];
  for (const [name, source] of Object.entries(config.file.authentic_sources)) {
    if (source.api_key_hash) checks.push(keyCheck(name, source.api_key_hash, source.key_id));
    if (source.dev_api_key && config.devApiKey) checks.push(devKeyCheck(name, config.devApiKey));
    for (const subject of source.mtls_subjects) mtls.push({ source: name, subject: parseSubject(subject) });
  }
  const verifier = new KeyVerifier(checks);
  const certificateSource = (req: Request): string | undefined => {
    const socket = req.socket as Partial<TLSSocket>;
    if (!(socket.encrypted && socket.authorized && socket.getPeerCertificate)) return undefined;
    const peer = socket.getPeerCertificate()?.subject as unknown as Record<string, string | string[]> | undefined;
    return peer ? mtls.find((m) => [...m.subject].every(([k, v]) => [peer[k]].flat().includes(v)))?.source : undefined;
  };

  const authenticate = async (req: Request): Promise<SourcePrincipal> => {
    const bySubject = certificateSource(req);
    if (bySubject) return { kind: 'source', source: bySubject, via: 'mtls' };
    const presented = req.get('x-api-key');
    if (!presented) throw new UnauthorizedError('Missing API key (X-API-Key header) or client certificate');
    if (presented.length > MAX_KEY_LENGTH) throw new UnauthorizedError('Invalid API key');
    const match = await verifier.verify(presented);
    if (!match) throw new UnauthorizedError('Invalid API key');
    return { kind: 'source', source: match, via: 'api_key' };
  };
  return Object.assign(authenticate, {
    isCheap: (req: Request) => {
      if (certificateSource(req)) return true;
      const presented = req.get('x-api-key');
      return presented === undefined || presented.length > MAX_KEY_LENGTH || !verifier.wouldBeSlow(presented);
    },
    scope: (req: Request) => {
      const presented = req.get('x-api-key');
      const keyId = presented !== undefined && presented.length <= MAX_KEY_LENGTH ? verifier.keyIdOf(presented) : undefined;
      return keyId === undefined ? '*' : `key:${keyId}`;
    },
  });
}

const MAX_KEY_LENGTH = 512;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
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
 * against `api_clients.<name>.token_hash` (see {@link KeyVerifier}); in development also the dev API key.
 */
export function createBearerAuthenticator(config: Config): Authenticator<ClientPrincipal> {
  const checks: KeyCheck[] = Object.entries(config.file.api_clients).map(([name, client]) => keyCheck(name, client.token_hash, client.key_id));
  if (config.file.environment === 'development' && config.devApiKey) checks.push(devKeyCheck('dev', config.devApiKey));
  return bearerTokenAuthenticator(checks, (client): ClientPrincipal => ({ kind: 'client', client }));
}

/** The dev API key as a configured secret of `owner` (development configurations only: callers check). */
export const devKeyCheck = (owner: string, devApiKey: string): KeyCheck => keyCheck(owner, `sha256:${sha256(devApiKey).toString('hex')}`);

/** A Bearer-token authenticator over `checks` (`token_hash` / `key_id` pairs, see {@link KeyVerifier}); `principal` names the owner found. */
export function bearerTokenAuthenticator<P>(checks: KeyCheck[], principal: (owner: string) => P): Authenticator<P> {
  const verifier = new KeyVerifier(checks);
  const tokenOf = (req: Request): string | undefined => {
    const header = req.get('authorization');
    return (header ? /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(header) : null)?.[1];
  };
  const authenticate = async (req: Request): Promise<P> => {
    const token = tokenOf(req);
    if (!token) throw new UnauthorizedError('Missing or malformed Authorization: Bearer token');
    if (token.length > MAX_KEY_LENGTH) throw new UnauthorizedError('Invalid bearer token');
    const found = await verifier.verify(token);
    if (!found) throw new UnauthorizedError('Invalid bearer token');
    return principal(found);
  };
  return Object.assign(authenticate, {
    isCheap: (req: Request) => {
      const token = tokenOf(req);
      return token === undefined || token.length > MAX_KEY_LENGTH || !verifier.wouldBeSlow(token);
    },
    scope: (req: Request) => {
      const token = tokenOf(req);
      const keyId = token !== undefined && token.length <= MAX_KEY_LENGTH ? verifier.keyIdOf(token) : undefined;
      return keyId === undefined ? '*' : `key:${keyId}`;
    },
  });
}

/** A source acts only on itself and, when a vct is named, only on the credential types configured for it. */
export function authorizeSource(config: Config, principal: SourcePrincipal, source: string, vct?: string): void {
  if (principal.source !== source) throw new ForbiddenError('API key does not belong to this authentic source', { authentic_source: source });
  if (vct === undefined) return;
  const type = config.credentialTypes.get(vct);
  if (!type || type.source !== source) throw new ForbiddenError('Credential type is not configured for this authentic source', { authentic_source: source, vct });
}
