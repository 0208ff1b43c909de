import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import { ConfigError } from '../config/env';
import {
  createSigningKeysRepository,
  type NewSigningKey,
  type SigningKeyPurpose,
  type SigningKeyQueries,
  type SigningKeyRow,
} from '../db/signing-keys-repository';
import type { Db } from '../db/knex';
import { createX509CrlRepository } from '../db/x509-crl-repository';
import { importSigningJwk, type SigningKey } from '../kms/kms-service';
import { authorityKeyIdentifierOf, iacaRecordOf } from '../x509/crl-service';
import { issuerIacaId, normaliseSerialHex } from '../x509/x509-support';
import { createDevPki, createDocumentSigner, pemToBase64Der, type CertifiedKey } from './dev-pki';
import { deriveKekSubkeys, type KeySealingKeys } from './kek-subkeys';
import { KekTextSchema, decryptAnyPrivateKey, decryptPrivateKey, encryptPrivateKey, formatKek, generateKek, isLegacyEnvelope } from './key-encryption';
import {
  createEd25519Signer,
  createLocalSigner,
  createWebhookSigner,
  ed25519Thumbprint,
  es256Thumbprint,
  generateEd25519PrivateJwk,
  generateEs256PrivateJwk,
  publicJwkOf,
  type CredentialSigner,
  type Ed25519PublicJwk,
  type Ed25519Signer,
  type Es256PrivateJwk,
  type PublishedJwk,
  type WebhookSigner,
} from './signer';

/**
 * The issuer's signing keys, kept in PostgreSQL (`signing_keys`, migration 0003) with their private
 * parts sealed under the KEK (key-encryption.ts), and handed to the formats only as `CredentialSigner`s.
 *
 * - `ensureProvisioned()` creates, on first start, an ES256 credential key and, in development only
 *   (`devPki`), a development IACA with a Document Signer (dev-pki.ts) whose country is the first
 *   authentic source's. It runs under a PostgreSQL advisory lock in one transaction, so processes
 *   starting together provision once. Where the process holds the KEK itself, it then reseals
 *   envelopes sealed under the raw KEK (`v1`) under the key-sealing subkey (`v2`, kek-subkeys.ts).
 * - `signer(purpose)` decrypts a key once per process and caches the signer. Every `refreshIntervalMs`
 *   it re-reads which kid is active, in the background, so a rotation made by another process is
 *   picked up without a restart (the old key stays published meanwhile, so nothing breaks).
 * - `rotate(purpose)` makes a new active key; the old one is retired and stays in the JWKS (or the IACA
 *   list) until `not_after` = now + the longest credential validity, so credentials it signed verify
 *   to their end (issue 4: "old keys stay in the JWKS while credentials signed by them are valid").
 *
 * Private keys are never logged, returned or put in an error message.
 */

/** Purposes an ES256 format signs with; the IACA only certifies Document Signers. */
export type SignerPurpose = Exclude<SigningKeyPurpose, 'iaca' | 'credential_ed25519' | 'webhooks'>;

/** Purposes with an active key that signs (ES256 ones and the Ed25519 Data Integrity key). */
type ActivePurpose = SignerPurpose | 'credential_ed25519' | 'webhooks';

/** The public keys of the issuer's credential keys that verifiers may need, as listed in its DID document. */
export interface VerificationKeys {
  /** P-256 `credential` keys (ES256, `ecdsa-rdfc-2019`): newest first, retired ones while their `not_after` is ahead. */
  p256: PublishedJwk[];
  /** Ed25519 `credential_ed25519` keys (`eddsa-rdfc-2022`), in the same order. */
  ed25519: (Ed25519PublicJwk & { kid: string })[];
}

export interface KeyStoreOptions {
  db: Db;
  /** The 32-byte KEK (see `resolveKek`; its key-sealing subkey is derived), or the key-sealing keys alone. */
  kek: Uint8Array | KeySealingKeys;
  /**
   * Whether a missing IACA and Document Signer are created as a development PKI. Default true; false in
   * production (`keyStoreOptions`), where a missing IACA fails `ensureProvisioned` if `mdocTypes` is not empty.
   */
  devPki?: boolean;
  /** The configured mso_mdoc credential types, named in the error when they cannot be signed. */
  mdocTypes?: string[];
  /** Base URL for the certificates' issuerAltName and CRL distribution point. */
  issuerUrl: string;
  /** ISO 3166-1 alpha-2 country of the dev IACA and Document Signer (an mDL's issuing_country must equal it). */
  country: string;
  /** Organisation in the dev certificates' subjects. */
  organization?: string;
  /** How long a retired key stays published: the longest validity of a credential it may have signed. Default 365 days. */
  maxCredentialValidityDays?: number;
  /** How often a cached signer re-checks which key is active. Default 60 000 ms. */
  refreshIntervalMs?: number;
  now?: () => Date;
  logger?: Logger;
}

export interface KeyStore {
  /** Creates whatever keys are missing; idempotent and safe to call from several processes at once. */
  ensureProvisioned(): Promise<void>;
  /** The signer of the active key for `purpose`; the Document Signer's carries `x5c`. */
  signer(purpose: SignerPurpose): Promise<CredentialSigner>;
  /** The signer of the active Ed25519 key (Data Integrity `eddsa-rdfc-2022`, migration 0014). */
  ed25519Signer(): Promise<Ed25519Signer>;
  /** The signer of outgoing webhooks (`webhooks` key, migration 0016): X-Body-Signature and Bearer JWT. */
  webhookSigner(): Promise<WebhookSigner>;
  /** Public parts of the `webhooks` keys: the active one first, then retired ones inside their window. */
  webhookPublicKeys(): Promise<PublishedJwk[]>;
  /** Public parts of the P-256 and Ed25519 credential keys, for the issuer's DID document. */
  verificationKeys(): Promise<VerificationKeys>;
  /**
   * Replaces the active key of `purpose` (rotating `iaca` also issues a new Document Signer under it).
   * With `replacing`, only when that kid is still the active one (else nothing changes and `rotated`
   * is false, `kid` the active key): a retried or concurrent renewal rotates once.
   */
  rotate(purpose: SigningKeyPurpose, opts?: { replacing?: string }): Promise<{ kid: string; rotated: boolean }>;
  /** The credential keys verifiers may need: the active one and retired ones whose `not_after` is ahead. */
  jwks(): Promise<{ keys: PublishedJwk[] }>;
  /**
   * PEM certificates of the IACAs that current Document Signers chain to (active, and retired until
   * `not_after`), as the X.509 service records them (`x509_iacas`).
   */
  iacaCertificatesPem(): Promise<string[]>;
  /** The issuer's IACA `kid` opened for signing (its CRLs), or undefined when there is no such IACA. */
  openIaca(kid: string): Promise<SigningKey | undefined>;
  /**
   * Records the issuer's IACAs and Document Signers (`signing_keys`) in the X.509 service's tables
   * (`x509_iacas`, `x509_document_signers`), so it serves their CRLs; idempotent. `ensureProvisioned`
   * and `rotate` call it.
   */
  recordInX509Service(): Promise<void>;
}

const DAY_MS = 86_400_000;
const DEFAULT_MAX_CREDENTIAL_VALIDITY_DAYS = 365;
const DEFAULT_REFRESH_INTERVAL_MS = 60_000;

type AnySigner = CredentialSigner | Ed25519Signer | WebhookSigner;

interface ActiveEntry {
  kid: string;
  signer: Promise<AnySigner>;
  checkedAt: number;
  refreshing?: Promise<void>;
}

export function createKeyStore(opts: KeyStoreOptions): KeyStore {
  const { issuerUrl, country, logger } = opts;
  const kek: KeySealingKeys = opts.kek instanceof Uint8Array ? deriveKekSubkeys(opts.kek).keySealing : opts.kek;
  if (kek.current.length !== 32) throw new TypeError('the key-sealing key must be 32 bytes');
  const devPki = opts.devPki ?? true;
  const repo = createSigningKeysRepository(opts.db);
  const now = opts.now ?? (() => new Date());
  const retentionMs = (opts.maxCredentialValidityDays ?? DEFAULT_MAX_CREDENTIAL_VALIDITY_DAYS) * DAY_MS;
  const refreshIntervalMs = opts.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
  const log = logger?.child({ component: 'key-store' });
  const x509Records = createX509CrlRepository(opts.db);

  async function recordInX509Service(): Promise<void> {
    const [iacas, signers] = await Promise.all([repo.all('iaca'), repo.all('document_signer')]);
    const recorded = new Map<string, string>();
    for (const iaca of iacas) {
      if (!iaca.certificatePem) continue;
      const record = await x509Records.insertIaca(await iacaRecordOf(issuerIacaId(iaca.kid), { signingKeyKid: iaca.kid }, iaca.certificatePem));
      recorded.set(record.keyIdentifier, record.id);
    }
    for (const ds of signers) {
      if (!ds.certificatePem) continue;
      const iacaId = recorded.get(authorityKeyIdentifierOf(ds.certificatePem) ?? '');
      if (!iacaId) continue;
      const certificate = new X509Certificate(ds.certificatePem);
      await x509Records.insertDocumentSigner({ iacaId, client: null, certificatePem: ds.certificatePem, serialNumber: normaliseSerialHex(certificate.serialNumber), notAfter: new Date(certificate.validTo) });
    }
  }

  /** Decrypted signers by kid: each key is opened once per process. */
  const signers = new Map<string, Promise<AnySigner>>();
  const active = new Map<ActivePurpose, ActiveEntry>();
  const loading = new Map<ActivePurpose, Promise<ActiveEntry>>();

  function signerFor(row: SigningKeyRow): Promise<AnySigner> {
    let signer = signers.get(row.kid);
    if (!signer) {
      signer = openSigner(row, kek);
      signers.set(row.kid, signer);
      // A failure (wrong KEK, tampered row) is not cached: the next call tries again.
      signer.catch(() => signers.delete(row.kid));
    }
    return signer;
  }

  /** Bumped by every local rotation, so a read that started before it cannot reinstate the old key. */
  let generation = 0;

  async function loadActive(purpose: ActivePurpose): Promise<ActiveEntry> {
    const startedAt = generation;
    const row = await repo.active(purpose);
    if (!row) throw new Error(`no active ${purpose} signing key: call ensureProvisioned() first`);
    const entry: ActiveEntry = { kid: row.kid, signer: signerFor(row), checkedAt: performance.now() };
    await entry.signer;
    if (startedAt === generation) active.set(purpose, entry);
    return entry;
  }

  function refreshInBackground(purpose: ActivePurpose, entry: ActiveEntry): void {
    entry.refreshing ??= loadActive(purpose).then(
      (fresh) => {
        if (fresh.kid !== entry.kid) log?.info({ purpose, kid: fresh.kid, previousKid: entry.kid }, 'signing key changed; using the new active key');
      },
      (err: unknown) => {
        // Keep signing with the key we have; try again at the next interval.
        entry.checkedAt = performance.now();
        entry.refreshing = undefined;
        log?.warn({ purpose, err: (err as Error).message }, 'could not re-read the active signing key');
      },
    );
  }

  function forget(purposes: readonly SigningKeyPurpose[]): void {
    generation++;
    for (const purpose of purposes) if (purpose !== 'iaca') active.delete(purpose);
  }

  const newRow = (purpose: Exclude<SigningKeyPurpose, 'credential_ed25519'>, kid: string, privateJwk: Es256PrivateJwk, certificatePem: string | null, createdAt: Date): NewSigningKey => ({
    kid,
    purpose,
    alg: 'ES256',
    publicJwk: { ...publicJwkOf(privateJwk), kid, use: 'sig', alg: 'ES256' },
    privateKeyEnvelope: encryptPrivateKey(privateJwk, kek, kid),
    certificatePem,
    createdAt,
  });

  async function newCredentialKey(at: Date): Promise<NewSigningKey> {
    const privateJwk = generateEs256PrivateJwk();
    return newRow('credential', await es256Thumbprint(privateJwk), privateJwk, null, at);
  }

  async function newWebhooksKey(at: Date): Promise<NewSigningKey> {
    const privateJwk = generateEs256PrivateJwk();
    return newRow('webhooks', await es256Thumbprint(privateJwk), privateJwk, null, at);
  }

  async function newEd25519Key(at: Date): Promise<NewSigningKey> {
    const privateJwk = generateEd25519PrivateJwk();
    const kid = await ed25519Thumbprint({ kty: 'OKP', crv: 'Ed25519', x: privateJwk.x });
    return {
      kid,
      purpose: 'credential_ed25519',
      alg: 'EdDSA',
      publicJwk: { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, kid, alg: 'EdDSA' },
      privateKeyEnvelope: encryptPrivateKey(privateJwk, kek, kid),
      certificatePem: null,
      createdAt: at,
    };
  }

  const certified = (purpose: Exclude<SigningKeyPurpose, 'credential_ed25519'>, key: CertifiedKey, at: Date) => newRow(purpose, key.kid, key.privateJwk, key.certificatePem, at);

  async function newDevPki(at: Date): Promise<{ iaca: NewSigningKey; documentSigner: NewSigningKey }> {
    const pki = await createDevPki({ country, issuerUrl, now: at, ...(opts.organization ? { organization: opts.organization } : {}) });
    return { iaca: certified('iaca', pki.iaca, at), documentSigner: certified('document_signer', pki.documentSigner, at) };
  }

  async function newDocumentSigner(iaca: SigningKeyRow, at: Date): Promise<NewSigningKey> {
    if (!iaca.certificatePem) throw new Error(`IACA ${iaca.kid} has no certificate`);
    const iacaKey = { certificatePem: iaca.certificatePem, privateJwk: decryptPrivateKey(iaca.privateKeyEnvelope, kek, iaca.kid) };
    return certified('document_signer', await createDocumentSigner(iacaKey, { issuerUrl, now: at }), at);
  }

  async function retire(keys: SigningKeyQueries, row: SigningKeyRow | undefined, at: Date): Promise<void> {
    if (row) await keys.retire(row.kid, { retiredAt: at, notAfter: new Date(at.getTime() + retentionMs) });
  }

  /** Reseals `v1` envelopes (raw KEK) as `v2` (key-sealing subkey); needs the KEK, so the gateway skips it. */
  async function resealLegacyEnvelopes(): Promise<void> {
    if (!kek.legacy) return;
    const rows: { kid: string; private_key_envelope: string }[] = await opts.db('signing_keys').where('private_key_envelope', 'like', 'v1.%').select('kid', 'private_key_envelope');
    for (const row of rows) {
      if (!isLegacyEnvelope(row.private_key_envelope)) continue;
      const resealed = encryptPrivateKey(decryptAnyPrivateKey(row.private_key_envelope, kek, row.kid), kek, row.kid);
      // Only if nobody changed the row meanwhile (another process resealing at the same time).
      await opts.db('signing_keys').where({ kid: row.kid, private_key_envelope: row.private_key_envelope }).update({ private_key_envelope: resealed });
      log?.info({ kid: row.kid }, 'signing key resealed under the key-sealing subkey');
    }
  }

  async function activeSigner(purpose: ActivePurpose): Promise<AnySigner> {
    const entry = active.get(purpose);
    if (entry) {
      if (performance.now() - entry.checkedAt >= refreshIntervalMs) refreshInBackground(purpose, entry);
      return entry.signer;
    }
    let pending = loading.get(purpose);
    if (!pending) {
      pending = loadActive(purpose).finally(() => loading.delete(purpose));
      loading.set(purpose, pending);
    }
    return (await pending).signer;
  }

  const noIacaError = () =>
    new ConfigError(
      `no IACA: the mso_mdoc credential types ${opts.mdocTypes!.join(', ')} need an IACA and a Document Signer in signing_keys, ` +
        'and a production configuration does not create a development one. Provision an IACA and Document Signer issued by your PKI, ' +
        'or remove the mso_mdoc types from the configuration (environment: development creates a development IACA).',
    );

  return {
    async ensureProvisioned() {
      await resealLegacyEnvelopes();
      const present = await Promise.all((['credential', 'document_signer', 'iaca', 'credential_ed25519', 'webhooks'] as const).map((p) => repo.active(p)));
      if (present.every(Boolean)) return recordInX509Service();
      if (!devPki && present[0] && !present[2] && present[3] && present[4]) {
        if (opts.mdocTypes?.length) throw noIacaError();
        return recordInX509Service();
      }
      const created = await repo.exclusive(async (keys) => {
        const at = now();
        const made: NewSigningKey[] = [];
        if (!(await keys.active('credential'))) made.push(await newCredentialKey(at));
        if (!(await keys.active('credential_ed25519'))) made.push(await newEd25519Key(at));
        if (!(await keys.active('webhooks'))) made.push(await newWebhooksKey(at));
        const iaca = await keys.active('iaca');
        if (!iaca && !devPki) {
          // Production: no development root. Without mdoc types nothing needs one.
          if (opts.mdocTypes?.length) throw noIacaError();
        } else if (!iaca) {
          // A Document Signer must chain to the active IACA: a new root comes with a new signer.
          const pki = await newDevPki(at);
          await retire(keys, await keys.active('document_signer'), at);
          made.push(pki.iaca, pki.documentSigner);
        } else if (!(await keys.active('document_signer'))) {
          made.push(await newDocumentSigner(iaca, at));
        }
        for (const row of made) await keys.insert(row);
        return made;
      });
      forget(created.map((r) => r.purpose));
      for (const row of created) log?.info({ purpose: row.purpose, kid: row.kid }, 'signing key provisioned');
      await recordInX509Service();
    },

    signer: (purpose) => activeSigner(purpose) as Promise<CredentialSigner>,

    ed25519Signer: () => activeSigner('credential_ed25519') as Promise<Ed25519Signer>,

    webhookSigner: () => activeSigner('webhooks') as Promise<WebhookSigner>,

    async webhookPublicKeys() {
      return publishedEs256(await repo.published('webhooks', now()));
    },

    async verificationKeys() {
      const [p256, ed25519] = await Promise.all([repo.published('credential', now()), repo.published('credential_ed25519', now())]);
      // Rebuilt member by member: only public members can reach a response.
      return {
        p256: publishedEs256(p256),
        ed25519: ed25519.flatMap(({ publicJwk: k }) => (k.kty === 'OKP' ? [{ kty: 'OKP' as const, crv: 'Ed25519' as const, x: k.x, kid: k.kid }] : [])),
      };
    },

    async rotate(purpose, rotateOpts = {}) {
      const { kid, affected } = await repo.exclusive(async (keys) => {
        const at = now();
        if (rotateOpts.replacing !== undefined) {
          const current = await keys.active(purpose);
          if (current && current.kid !== rotateOpts.replacing) return { kid: current.kid, affected: [] as SigningKeyPurpose[] };
        }
        if (purpose === 'credential') {
          const next = await newCredentialKey(at);
          await retire(keys, await keys.active('credential'), at);
          await keys.insert(next);
          return { kid: next.kid, affected: ['credential'] as SigningKeyPurpose[] };
        }
        if (purpose === 'credential_ed25519') {
          const next = await newEd25519Key(at);
          await retire(keys, await keys.active('credential_ed25519'), at);
          await keys.insert(next);
          return { kid: next.kid, affected: ['credential_ed25519'] as SigningKeyPurpose[] };
        }
        if (purpose === 'webhooks') {
          const next = await newWebhooksKey(at);
          await retire(keys, await keys.active('webhooks'), at);
          await keys.insert(next);
          return { kid: next.kid, affected: ['webhooks'] as SigningKeyPurpose[] };
        }
        if (purpose === 'document_signer') {
          const iaca = await keys.active('iaca');
          if (!iaca) throw new Error('no active IACA: call ensureProvisioned() first');
          const next = await newDocumentSigner(iaca, at);
          await retire(keys, await keys.active('document_signer'), at);
          await keys.insert(next);
          return { kid: next.kid, affected: ['document_signer'] as SigningKeyPurpose[] };
        }
        if (!devPki) throw new Error('rotating the IACA creates a development IACA, which a production configuration does not do');
        const pki = await newDevPki(at);
        await retire(keys, await keys.active('document_signer'), at);
        await retire(keys, await keys.active('iaca'), at);
        await keys.insert(pki.iaca);
        await keys.insert(pki.documentSigner);
        return { kid: pki.iaca.kid, affected: ['iaca', 'document_signer'] as SigningKeyPurpose[] };
      });
      if (affected.length === 0) return { kid, rotated: false };
      forget(affected);
      log?.info({ purpose, kid }, 'signing key rotated');
      await recordInX509Service();
      return { kid, rotated: true };
    },

    async jwks() {
      return { keys: publishedEs256(await repo.published('credential', now())) };
    },

    iacaCertificatesPem: () => x509Records.issuerIacaCertificates(now()),

    async openIaca(kid) {
      const row = await repo.byKid(kid);
      if (!row || row.purpose !== 'iaca') return undefined;
      return importSigningJwk(decryptPrivateKey(row.privateKeyEnvelope, kek, row.kid));
    },

    recordInX509Service,
  };
}

/** The public JWKs of ES256 rows, rebuilt member by member so that only public members can reach a response. */
function publishedEs256(rows: SigningKeyRow[]): PublishedJwk[] {
  return rows.flatMap(({ publicJwk: k }) => (k.kty === 'EC' ? [{ kty: 'EC', crv: 'P-256', x: k.x, y: k.y, kid: k.kid, use: 'sig', alg: 'ES256' } satisfies PublishedJwk] : []));
}

/** Opens a sealed key into a signer, checking that the row's kid is the key's thumbprint. */
async function openSigner(row: SigningKeyRow, kek: KeySealingKeys): Promise<AnySigner> {
  if (row.purpose === 'credential_ed25519') {
    const jwk = decryptAnyPrivateKey(row.privateKeyEnvelope, kek, row.kid);
    if (jwk.kty !== 'OKP') throw new Error(`signing key ${row.kid}: not an Ed25519 key`);
    const signer = await createEd25519Signer(jwk);
    if (signer.kid !== row.kid) throw new Error(`signing key ${row.kid}: the stored key's thumbprint is ${signer.kid}`);
    return signer;
  }
  const privateJwk = decryptPrivateKey(row.privateKeyEnvelope, kek, row.kid);
  if (row.purpose === 'webhooks') {
    const signer = await createWebhookSigner(privateJwk);
    if (signer.kid !== row.kid) throw new Error(`signing key ${row.kid}: the stored key's thumbprint is ${signer.kid}`);
    return signer;
  }
  const x5c = row.purpose === 'document_signer' && row.certificatePem ? [pemToBase64Der(row.certificatePem)] : undefined;
  const signer = await createLocalSigner(privateJwk, x5c ? { x5c } : {});
  if (signer.kid !== row.kid) throw new Error(`signing key ${row.kid}: the stored key's thumbprint is ${signer.kid}`);
  return signer;
}

/**
 * The KEK for this process: `ISSUER_KEK` when set. When unset, a development configuration gets one
 * generated once into `<ISSUER_DATA_DIR>/kek` (mode 0600) and reused on every start; a production
 * configuration fails to boot (a generated key would silently differ between machines).
 */
export function resolveKek(config: Pick<Config, 'env' | 'file' | 'dataDir'>): Uint8Array {
  const text = config.env.ISSUER_KEK;
  if (text && text.trim() !== '') return parseKek(text, 'ISSUER_KEK');
  if (config.file.environment !== 'development') {
    throw new ConfigError('ISSUER_KEK: required when the configuration\'s environment is production (32 bytes as 64 hex characters or base64, e.g. `openssl rand -hex 32`)');
  }
  return devKek(join(config.dataDir, 'kek'));
}

/** Reads the dev KEK file, or creates it. Several processes may start at once: the first link wins and all read it. */
function devKek(path: string): Uint8Array {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, `${formatKek(generateKek())}\n`, { mode: 0o600 });
    try {
      // link() fails with EEXIST when another process got there first: then its key is the one.
      linkSync(temporary, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(temporary);
    }
  }
  return parseKek(readFileSync(path, 'utf8'), path);
}

function parseKek(text: string, where: string): Uint8Array {
  const parsed = KekTextSchema.safeParse(text);
  if (!parsed.success) throw new ConfigError(`${where}: must be 32 bytes as 64 hex characters or base64/base64url`);
  return parsed.data;
}

/** Country of the dev IACA and Document Signer: the first authentic source's (docs/conventions.md, the dev configuration: SE). */
export function keyStoreCountry(config: Pick<Config, 'file'>): string {
  return Object.values(config.file.authentic_sources)[0]?.country_code ?? 'SE';
}

/** `vct` of every configured mso_mdoc credential type (the types that need an IACA and a Document Signer). */
export function mdocTypes(config: Pick<Config, 'file'>): string[] {
  const types = Object.values(config.file.authentic_sources).flatMap((source) => Object.values(source.credential_types));
  return [...new Set(types.filter((t) => t.format === 'mso_mdoc').map((t) => t.vct))];
}

/**
 * The key store options a process derives from its configuration. `kek` defaults to the resolved KEK
 * (whose key-sealing subkey is derived); the gateway passes its key-sealing keys without the KEK.
 * A development configuration creates a development IACA when there is none; production never does.
 */
export function keyStoreOptions(config: Config, db: Db, extra: Partial<Pick<KeyStoreOptions, 'logger' | 'now' | 'kek'>> = {}): KeyStoreOptions {
  const { kek = resolveKek(config), ...rest } = extra;
  return {
    db,
    kek,
    issuerUrl: config.issuerUrl,
    country: keyStoreCountry(config),
    organization: config.file.issuer.name,
    devPki: config.file.environment === 'development',
    mdocTypes: mdocTypes(config),
    ...rest,
  };
}

/** The key store of a process that signs or publishes keys; provisions the keys on first start (idempotent across processes). */
export async function openKeyStore(config: Config, db: Db, logger: Logger, kek?: KeySealingKeys): Promise<KeyStore> {
  const keyStore = createKeyStore(keyStoreOptions(config, db, { logger, ...(kek ? { kek } : {}) }));
  await keyStore.ensureProvisioned();
  return keyStore;
}
