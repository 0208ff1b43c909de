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
