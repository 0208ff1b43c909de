import type { StatusFamily, StatusListRow, StatusListsRepository } from '../db/status-lists-repository';
import type { KeyStore } from './key-store';
import {
  encodeBitstring,
  packBitstring,
  packTokenStatusList,
  signBitstringStatusListCredential,
  signStatusListCwt,
  signStatusListJwt,
  zlibStatusList,
} from './status-list-token';

/** The served forms of a list: the Token Status List as JWT or CWT (draft §5), the W3C BitstringStatusListCredential. */
export type StatusListForm = 'jwt' | 'cwt' | 'w3c';

export const STATUS_LIST_MEDIA_TYPES: Record<StatusListForm, string> = {
  jwt: 'application/statuslist+jwt',
  cwt: 'application/statuslist+cwt',
  w3c: 'application/vc+jwt',
};

/** Where a list is served; the same URI is the JWT's and CWT's `sub` and the W3C credential's `id`. */
export function statusListUri(issuerUrl: string, family: StatusFamily, purpose: string, number: number): string {
  return family === 'token' ? `${issuerUrl}/status-lists/token/${number}` : `${issuerUrl}/status-lists/w3c/${purpose}/${number}`;
}

/** The draft's Status List Aggregation (§9): all Token Status Lists of this issuer. */
export const statusListAggregationUri = (issuerUrl: string) => `${issuerUrl}/status-lists/token`;

export interface PublishedStatusList {
  body: string | Uint8Array;
  contentType: string;
  /** Seconds a relying party may cache it (the token's `ttl`); Cache-Control max-age never exceeds it. */
  ttlSeconds: number;
  /** The change mark (status-lists-repository.ts `changeMark`) the body shows at least. */
  version: string;
}

export interface StatusListPublisherDeps {
  issuerUrl: string;
  lists: Pick<StatusListsRepository, 'list' | 'changeMark' | 'snapshot'>;
  keyStore: Pick<KeyStore, 'signer'>;
  /** `ttl` of the tokens (draft §5.1), seconds. */
  ttlSeconds: number;
  /** `exp` - `iat` of the tokens, seconds; a token is re-signed when half of it has passed. */
  validitySeconds: number;
  now?: () => Date;
}

interface Cached extends PublishedStatusList {
  signedAtMs: number;
}

/**
 * Signs lists lazily and once per change: each read compares the change mark (a sequence advanced
 * after every committed status change) with the cached token's, and only a newer mark, or a token
 * past half its validity, is re-signed; concurrent reads share one signing (single flight). So any
 * number of changes between two reads cost one re-signing, a change is visible at the next read,
 * and no reader ever gets an expired token while the issuer runs.
 */
export function createStatusListPublisher(deps: StatusListPublisherDeps) {
  const now = deps.now ?? (() => new Date());
  const cache = new Map<string, Cached>();
  const inflight = new Map<string, Promise<Cached | undefined>>();

  const known = new Set<string>();

  async function build(list: StatusListRow, entries: { idx: number; status: number }[], mark: string, form: StatusListForm): Promise<Cached> {
    const at = now();
    const iat = Math.floor(at.getTime() / 1000);
    const uri = statusListUri(deps.issuerUrl, list.family, list.purpose, list.number);
    const common = { ttlSeconds: deps.ttlSeconds, version: mark, signedAtMs: at.getTime() };
    if (form === 'w3c') {
      const encodedList = encodeBitstring(packBitstring(list.size, entries));
      const body = await signBitstringStatusListCredential(
        await deps.keyStore.signer('credential'),
        { url: uri, issuer: deps.issuerUrl, purpose: list.purpose, encodedList, validFrom: new Date(iat * 1000), validUntil: new Date((iat + deps.validitySeconds) * 1000), ttlMs: deps.ttlSeconds * 1000 },
        now,
      );
      return { ...common, body, contentType: STATUS_LIST_MEDIA_TYPES.w3c };
    }
    const lst = zlibStatusList(packTokenStatusList(list.size, list.bits, entries));
    const claims = { sub: uri, iat, exp: iat + deps.validitySeconds, ttl: deps.ttlSeconds, bits: list.bits, lst, aggregationUri: statusListAggregationUri(deps.issuerUrl) };
    if (form === 'jwt') return { ...common, body: await signStatusListJwt(await deps.keyStore.signer('credential'), claims), contentType: STATUS_LIST_MEDIA_TYPES.jwt };
    return { ...common, body: await signStatusListCwt(await deps.keyStore.signer('document_signer'), claims), contentType: STATUS_LIST_MEDIA_TYPES.cwt };
  }

  const fresh = (cached: Cached | undefined, version: string) => cached !== undefined && cached.version === version && now().getTime() - cached.signedAtMs < (deps.validitySeconds * 1000) / 2;

  return {
    /** The signed list, or undefined when there is no such list (or it is of another family than `form` serves). */
    async publish(listId: string, form: StatusListForm): Promise<PublishedStatusList | undefined> {
      if (!known.has(listId)) {
        // Lists are never deleted: one look-up per list and process.
        if (!(await deps.lists.list(listId))) return undefined;
        known.add(listId);
      }
      const version = await deps.lists.changeMark();
      const key = `${listId}|${form}`;
      const cached = cache.get(key);
      if (fresh(cached, version)) return cached;
      let pending = inflight.get(key);
      if (!pending) {
        pending = (async () => {
          const snapshot = await deps.lists.snapshot(listId);
          if (!snapshot) return undefined;
          const signed = await build(snapshot.list, snapshot.entries, snapshot.mark, form);
          const current = cache.get(key);
          if (!current || BigInt(current.version) <= BigInt(signed.version)) cache.set(key, signed);
          return signed;
        })().finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      const signed = await pending;
      // A change committed while that signing read its snapshot: one more round for this reader.
      if (signed && BigInt(signed.version) < BigInt(version)) return this.publish(listId, form);
      return signed;
    },
  };
}

export type StatusListPublisher = ReturnType<typeof createStatusListPublisher>;
