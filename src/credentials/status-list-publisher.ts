import type { StatusListForm, StatusListTokenStore, StoredStatusListToken } from '../db/status-list-tokens-repository';
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

export type { StatusListForm };

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
  lists: Pick<StatusListsRepository, 'list' | 'lists' | 'changeMark' | 'snapshot'>;
  keyStore: Pick<KeyStore, 'signer'>;
  /** Where signed tokens are shared between processes (migration 0020 `status_list_tokens`). */
  tokens: StatusListTokenStore;
  /** `ttl` of the tokens (draft §5.1), seconds. */
  ttlSeconds: number;
  /** `exp` - `iat` of the tokens, seconds. */
  validitySeconds: number;
  /**
   * A token whose `exp` is this close (seconds) is due for re-signing by the Schedule
   * (workflows/status-list-resign.ts); default half the validity. A read does not re-sign it, it
   * looks for the Schedule's newer token; only a token within `ttlSeconds` of its `exp` (the
   * Schedule is not running) is re-signed by the read itself.
   */
  resignMarginSeconds?: number;
  now?: () => Date;
}

/** The forms a list of each family is served in; they are signed together (see `sign`). */
export const FORMS_OF_FAMILY: Record<StatusFamily, StatusListForm[]> = { token: ['jwt', 'cwt'], w3c: ['w3c', 'w3c-di'] };

/**
 * Signs lists once per change and shares the tokens: each read compares the change mark (a
 * sequence advanced after every committed status change) with the token's. A token of the current
 * mark is served from memory, or from `status_list_tokens` (another gateway process, or the
 * re-signing Schedule, signed it); only a newer mark is re-signed, and the result stored for the
 * others. Concurrent reads in a process share one signing (single flight). So any number of changes
 * between two reads cost one re-signing, and a change is visible at the next read. Expiry is the
 * Schedule's work (`resignDue`, run by workflows/status-list-resign.ts): it re-signs every list
 * whose token expires within the margin, so no reader gets an expired token while the issuer runs.
 * Every form of a list is signed from one snapshot at one instant, so the JWT and the CWT, and the
 * JOSE and Data Integrity W3C credentials, show the same bits and the same validity window.
 */
export function createStatusListPublisher(deps: StatusListPublisherDeps) {
  const now = deps.now ?? (() => new Date());
  const marginMs = (deps.resignMarginSeconds ?? deps.validitySeconds / 2) * 1000;
  /** The read itself re-signs a token this close to its `exp` (the Schedule did not come). */
  const lastResortMs = Math.min(deps.ttlSeconds * 1000, marginMs);
  const cache = new Map<string, StoredStatusListToken>();
  const inflight = new Map<string, Promise<StoredStatusListToken | undefined>>();

  const known = new Set<string>();
  const signDataIntegrity = createDataIntegrityStatusListSigner({ issuerUrl: deps.issuerUrl, now });

  /** Every form of the list's family, signed from one snapshot at one instant (`iat`, `validFrom`). */
  async function build(list: StatusListRow, entries: { idx: number; status: number }[], mark: string): Promise<StoredStatusListToken[]> {
    const at = now();
    const iat = Math.floor(at.getTime() / 1000);
    const exp = iat + deps.validitySeconds;
    const uri = statusListUri(deps.issuerUrl, list.family, list.purpose, list.number);
    const common = (form: StatusListForm) => ({ listId: list.id, form, version: mark, signedAt: at, expiresAt: new Date(exp * 1000), contentType: STATUS_LIST_MEDIA_TYPES[form] });
    if (list.family === 'w3c') {
      const window = { purpose: list.purpose, encodedList: encodeBitstring(packBitstring(list.size, entries)), validFrom: new Date(iat * 1000), validUntil: new Date(exp * 1000), ttlMs: deps.ttlSeconds * 1000 };
      const signer = await deps.keyStore.signer('credential');
      return [
        { ...common('w3c'), body: await signBitstringStatusListCredential(signer, { ...window, url: uri, issuer: deps.issuerUrl }, () => at) },
        { ...common('w3c-di'), body: JSON.stringify(await signDataIntegrity(signer, { ...window, url: dataIntegrityStatusListUri(deps.issuerUrl, list.purpose, list.number) })) },
      ];
    }
    const lst = zlibStatusList(packTokenStatusList(list.size, list.bits, entries));
    const claims = { sub: uri, iat, exp, ttl: deps.ttlSeconds, bits: list.bits, lst, aggregationUri: statusListAggregationUri(deps.issuerUrl) };
    return [
      { ...common('jwt'), body: await signStatusListJwt(await deps.keyStore.signer('credential'), claims) },
      { ...common('cwt'), body: await signStatusListCwt(await deps.keyStore.signer('document_signer'), claims) },
    ];
  }

  const remember = (key: string, token: StoredStatusListToken) => {
    const current = cache.get(key);
    if (!current || BigInt(current.version) < BigInt(token.version) || (current.version === token.version && current.expiresAt < token.expiresAt)) cache.set(key, token);
    return cache.get(key)!;
  };
  const showsMark = (token: StoredStatusListToken | undefined, version: string) => token !== undefined && BigInt(token.version) >= BigInt(version);
  const expiresWithin = (token: StoredStatusListToken, ms: number) => token.expiresAt.getTime() - now().getTime() <= ms;

  /**
   * Signs the list's current snapshot in every form of its family and stores them; answers the
   * token of `form`, or undefined when there is no such list (or `form` is of another family).
   */
  async function sign(listId: string, form: StatusListForm): Promise<StoredStatusListToken | undefined> {
    const snapshot = await deps.lists.snapshot(listId);
    if (!snapshot || !FORMS_OF_FAMILY[snapshot.list.family].includes(form)) return undefined;
    let answer: StoredStatusListToken | undefined;
    for (const token of await build(snapshot.list, snapshot.entries, snapshot.mark)) {
      const stored = remember(`${listId}|${token.form}`, await deps.tokens.put(token));
      if (token.form === form) answer = stored;
    }
    return answer;
  }

  const toPublished = (token: StoredStatusListToken): PublishedStatusList => ({ body: token.body, contentType: token.contentType, ttlSeconds: deps.ttlSeconds, version: token.version });

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
      if (cached && showsMark(cached, version) && !expiresWithin(cached, marginMs)) return toPublished(cached);
      let pending = inflight.get(key);
      if (!pending) {
        pending = (async () => {
          // Signed by another process, or re-signed by the Schedule?
          const stored = await deps.tokens.get(listId, form);
          if (stored && showsMark(stored, version) && !expiresWithin(stored, lastResortMs)) return remember(key, stored);
          return sign(listId, form);
        })().finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      const token = await pending;
      // A change committed while that signing read its snapshot: one more round for this reader.
      if (token && !showsMark(token, version)) return this.publish(listId, form);
      return token ? toPublished(token) : undefined;
    },

    /**
     * The re-signing Schedule's step: every form of every list whose stored token is missing or
     * expires within `marginSeconds` (default the publisher's margin) is signed anew and stored.
     * Idempotent: a second call right after finds nothing due. A form that fails to sign does not
     * hold up the others; the call then fails after them (the activity retries what is left).
     */
    async resignDue(marginSeconds?: number): Promise<{ checked: number; resigned: { listId: string; form: StatusListForm }[] }> {
      const horizon = (marginSeconds ?? marginMs / 1000) * 1000;
      const lists = [...(await deps.lists.lists('token')), ...(await deps.lists.lists('w3c'))];
      const resigned: { listId: string; form: StatusListForm }[] = [];
      const failed: string[] = [];
      let checked = 0;
      for (const list of lists) {
        const forms = FORMS_OF_FAMILY[list.family];
        checked += forms.length;
        const due = [];
        for (const form of forms) {
          const stored = await deps.tokens.get(list.id, form);
          if (!stored || expiresWithin(stored, horizon)) due.push(form);
        }
        if (due.length === 0) continue;
        // The forms are signed together, so one due form renews them all.
        try {
          if (await sign(list.id, forms[0]!)) resigned.push(...forms.map((form) => ({ listId: list.id, form })));
        } catch (err) {
          failed.push(`${list.id} (${due.join(', ')}): ${(err as Error).message}`);
        }
      }
      if (failed.length) throw new Error(`re-signed ${resigned.length} status-list tokens; failed: ${failed.join('; ')}`);
      return { checked, resigned };
    },
  };
}

export type StatusListPublisher = ReturnType<typeof createStatusListPublisher>;
