import { isIP } from 'node:net';
import type { Request } from 'express';
import { RateLimitedError, UnauthorizedError } from './api-errors';
import type { Authenticator } from './authenticate-source';

/**
 * Token buckets per client key, in memory. Each gateway replica limits on its own, so the
 * effective limit behind a load balancer is per replica; that is the usual trade for keeping
 * the hot path free of a shared store.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; updated: number }>();
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token; returns 0 when allowed, else the seconds until a token is available. */
  take(key: string): number {
    const t = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updated: t };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((t - bucket.updated) / 1000) * this.ratePerSecond);
    bucket.updated = t;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 100_000) this.evictFull(t);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.ratePerSecond);
  }

  /** Seconds until `key` may act again, without taking a token. */
  peek(key: string): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const tokens = Math.min(this.burst, bucket.tokens + ((this.now() - bucket.updated) / 1000) * this.ratePerSecond);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.ratePerSecond);
  }

  /** Buckets that have refilled carry no information; drop them so memory stays bounded. */
  private evictFull(t: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((t - b.updated) / 1000) * this.ratePerSecond >= this.burst) this.buckets.delete(key);
    }
  }
}

/**
 * The rate-limit bucket of a client address: an IPv4 address as it is, an IPv6 address by its /64
 * (RFC 4291 §2.5.4: one subnet, which a single host or customer usually gets whole, so stepping
 * through its 2^64 addresses must not give fresh buckets). IPv4-mapped IPv6 (`::ffff:192.0.2.1`)
 * counts as IPv4.
 */
export function addressBucket(ip: string | undefined): string {
  if (!ip) return 'ip:unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return `ip:${mapped[1]}`;
  if (isIP(ip) !== 6) return `ip:${ip}`;
  return `ip6:${expandIpv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped, embedded IPv4 converted), lowercase, unpadded. */
function expandIpv6(ip: string): string[] {
  let address = ip.split('%')[0]!.toLowerCase();
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    address = `${address.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}

/**
 * Failed authentications spend the budget of (address, key id) in `failures`. A request that
 * authenticates is never throttled: with the budget spent, a credential that is cheap to check (mTLS,
 * a sha256 hash, a key this process already accepted or refused) is still checked and passes when
 * right; only credentials that would need a bcrypt compare get 429 unchecked, and wrong ones 429.
 */
export function limitFailedAuthentications<P>(failures: TokenBuckets, authenticate: Authenticator<P>): (req: Request) => Promise<P> {
  return async (req) => {
    const key = `${addressBucket(req.ip)}|${authenticate.scope(req)}`;
    const wait = failures.peek(key);
    if (wait > 0 && !authenticate.isCheap(req)) throw new RateLimitedError(wait);
    try {
      return await authenticate(req);
    } catch (err) {
      if (!(err instanceof UnauthorizedError)) throw err;
      failures.take(key);
      throw wait > 0 ? new RateLimitedError(wait) : err;
    }
  };
}
