import type { StatusFamily, StatusListRow, StatusListsRepository } from '../db/status-lists-repository';
import { createDataIntegrityStatusListSigner } from './data-integrity-status-list';
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

/**
 * The served forms of a list: the Token Status List as JWT or CWT (draft §5), the W3C
 * BitstringStatusListCredential secured with JOSE (`w3c`) or with a Data Integrity proof (`w3c-di`).
 */
export type StatusListForm = 'jwt' | 'cwt' | 'w3c' | 'w3c-di';

export const STATUS_LIST_MEDIA_TYPES: Record<StatusListForm, string> = {
  jwt: 'application/statuslist+jwt',
  cwt: 'application/statuslist+cwt',
  w3c: 'application/vc+jwt',
  // VC DM 2.0 §6.3: a credential with an embedded proof.
  'w3c-di': 'application/vc',
};

/** Where a list is served; the same URI is the JWT's and CWT's `sub` and the JOSE-secured W3C credential's `id`. */
export function statusListUri(issuerUrl: string, family: StatusFamily, purpose: string, number: number): string {
  return family === 'token' ? `${issuerUrl}/status-lists/token/${number}` : `${issuerUrl}/status-lists/w3c/${purpose}/${number}`;
}

/** Where the Data Integrity form of a W3C list is served by default: its `id`, and the `statusListCredential` of Data Integrity credentials. */
export const dataIntegrityStatusListUri = (issuerUrl: string, purpose: string, number: number): string => `${statusListUri(issuerUrl, 'w3c', purpose, number)}/di`;

/** The `statusListCredential` a W3C credential names: the list in the credential's own proof format. */
export const w3cStatusListUri = (issuerUrl: string, purpose: string, number: number, securing: 'jose' | 'data-integrity'): string =>
  securing === 'data-integrity' ? dataIntegrityStatusListUri(issuerUrl, purpose, number) : statusListUri(issuerUrl, 'w3c', purpose, number);

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

/**
 * One state of a list as read from the database, and the instant it is published at (`iat`,
 * `validFrom`): every form of the list is signed from it, so the JWT and the CWT, and the JOSE and
 * Data Integrity W3C credentials, show the same bits and the same validity window.
 */
interface ListState {
  list: StatusListRow;
  entries: { idx: number; status: number }[];
  /** The change mark (status-lists-repository.ts `changeMark`) the entries show at least. */
  version: string;
  at: Date;
  /** Its forms, each signed on first read (one signing shared by concurrent readers). */
  signed: Map<StatusListForm, Promise<PublishedStatusList>>;
}

/**
 * Signs lists lazily and once per change: each read compares the change mark (a sequence advanced
 * after every committed status change) with the cached state's, and only a newer mark, or a state
 * past half its validity, is read and signed again; concurrent reads share one read and one signing
 * per form (single flight). So any number of changes between two reads cost one re-signing, a change
 * is visible at the next read, and no reader ever gets an expired token while the issuer runs.
 */
export function createStatusListPublisher(deps: StatusListPublisherDeps) {
  const now = deps.now ?? (() => new Date());
  const states = new Map<string, ListState>();
  const inflight = new Map<string, Promise<ListState | undefined>>();
  const known = new Set<string>();
  const signDataIntegrity = createDataIntegrityStatusListSigner({ issuerUrl: deps.issuerUrl, now });

  async function build(state: ListState, form: StatusListForm): Promise<PublishedStatusList> {
    const { list, entries, at } = state;
    const iat = Math.floor(at.getTime() / 1000);
    const common = { ttlSeconds: deps.ttlSeconds, version: state.version };
    if (form === 'w3c' || form === 'w3c-di') {
      const window = { purpose: list.purpose, encodedList: encodeBitstring(packBitstring(list.size, entries)), validFrom: new Date(iat * 1000), validUntil: new Date((iat + deps.validitySeconds) * 1000), ttlMs: deps.ttlSeconds * 1000 };
      const signer = await deps.keyStore.signer('credential');
      const body =
        form === 'w3c'
          ? await signBitstringStatusListCredential(signer, { ...window, url: statusListUri(deps.issuerUrl, 'w3c', list.purpose, list.number), issuer: deps.issuerUrl }, () => at)
          : JSON.stringify(await signDataIntegrity(signer, { ...window, url: dataIntegrityStatusListUri(deps.issuerUrl, list.purpose, list.number) }));
      return { ...common, body, contentType: STATUS_LIST_MEDIA_TYPES[form] };
    }
    const uri = statusListUri(deps.issuerUrl, list.family, list.purpose, list.number);
    const lst = zlibStatusList(packTokenStatusList(list.size, list.bits, entries));
    const claims = { sub: uri, iat, exp: iat + deps.validitySeconds, ttl: deps.ttlSeconds, bits: list.bits, lst, aggregationUri: statusListAggregationUri(deps.issuerUrl) };
    if (form === 'jwt') return { ...common, body: await signStatusListJwt(await deps.keyStore.signer('credential'), claims), contentType: STATUS_LIST_MEDIA_TYPES.jwt };
    return { ...common, body: await signStatusListCwt(await deps.keyStore.signer('document_signer'), claims), contentType: STATUS_LIST_MEDIA_TYPES.cwt };
  }

  const fresh = (state: ListState | undefined, version: string) => state !== undefined && state.version === version && now().getTime() - state.at.getTime() < (deps.validitySeconds * 1000) / 2;

  /** The current state of a list: the cached one while no change was announced and it is fresh, else a new snapshot. */
  async function current(listId: string): Promise<ListState | undefined> {
    const version = await deps.lists.changeMark();
    const cached = states.get(listId);
    if (fresh(cached, version)) return cached;
    let pending = inflight.get(listId);
    if (!pending) {
      pending = (async () => {
        const snapshot = await deps.lists.snapshot(listId);
        if (!snapshot) return undefined;
        const state: ListState = { list: snapshot.list, entries: snapshot.entries, version: snapshot.mark, at: now(), signed: new Map() };
        const latest = states.get(listId);
        if (!latest || BigInt(latest.version) <= BigInt(state.version)) states.set(listId, state);
        return state;
      })().finally(() => inflight.delete(listId));
      inflight.set(listId, pending);
    }
    const state = await pending;
    // A change committed while that snapshot was read: one more round for this reader.
    if (state && BigInt(state.version) < BigInt(version)) return current(listId);
    return state;
  }

  return {
    /** The signed list, or undefined when there is no such list (or it is of another family than `form` serves). */
    async publish(listId: string, form: StatusListForm): Promise<PublishedStatusList | undefined> {
      if (!known.has(listId)) {
        // Lists are never deleted: one look-up per list and process.
        if (!(await deps.lists.list(listId))) return undefined;
        known.add(listId);
      }
      const state = await current(listId);
      if (!state) return undefined;
      let signed = state.signed.get(form);
      if (!signed) {
        signed = build(state, form);
        state.signed.set(form, signed);
        // A failed signing is not kept: the next read tries again (this reader gets the error).
        signed.catch(() => state.signed.get(form) === signed && state.signed.delete(form));
      }
      return signed;
    },
  };
}

export type StatusListPublisher = ReturnType<typeof createStatusListPublisher>;
