import { createHash, randomBytes } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import type { DocumentSignerRecord, IacaRecord, NewIacaRecord, X509CrlRepository } from '../db/x509-crl-repository';
import { keyTypeInfo } from '../kms/kms-key-types';
import type { KmsService, SigningKey } from '../kms/kms-service';
import { crlPath, DAY_MS, keyIdentifierOf, normaliseSerialHex, wholeSeconds, x509, x509Crypto } from './x509-support';

/**
 * CRLs of the X.509 service (docs/conventions.md, X.509 service: CRLs): one CRL per recorded IACA,
 * served at `$ISSUER_URL/x509/crls/<iaca id>.crl`, signed by the IACA's key with @peculiar/x509
 * (RFC 5280 §5: v2, authorityKeyIdentifier and cRLNumber extensions, nextUpdate). The latest CRL is
 * kept in `x509_iacas`; a new one is signed when a Document Signer is revoked, or when the kept one
 * is older than `reissueAfterMs` (so `nextUpdate` is always ahead while the service runs).
 *
 * Recorded IACAs: those `POST .../iso/iacas` issues with a KMS-hosted key (the service can open the
 * key later) and the issuer's own IACAs (`signing_keys`). An IACA issued with a JWK key is not
 * recorded: the service does not keep a JWK it was handed, so it cannot sign that IACA's CRLs.
 */
export type RevocationReason = 'unspecified' | 'keyCompromise' | 'affiliationChanged' | 'superseded' | 'cessationOfOperation' | 'privilegeWithdrawn';
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'] as const satisfies readonly RevocationReason[];

export interface SignedCrl {
  der: Buffer;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
}

/** Where the key of a recorded IACA comes from. */
export type IacaKeySource = { client: string; keyIdPath: string } | { signingKeyKid: string };

export interface CrlServiceDeps {
  repo: X509CrlRepository;
  kms: Pick<KmsService, 'open'>;
  /** Opens the issuer's own IACA key (`signing_keys`) by kid; without it, the issuer's IACAs get no CRL here. */
  issuerIacaKey?: (kid: string) => Promise<SigningKey | undefined>;
  issuerUrl: string;
  now?: () => Date;
  /** nextUpdate - thisUpdate; default 7 days. */
  crlValidityMs?: number;
  /** A kept CRL older than this is replaced on the next read; default 1 day. */
  reissueAfterMs?: number;
}

export type RevokeOutcome =
  | { outcome: 'revoked'; documentSigner: DocumentSignerRecord; revokedAt: Date; crl: SignedCrl; crlUri: string }
  | { outcome: 'already_revoked'; documentSigner: DocumentSignerRecord }
  | { outcome: 'not_found' }
  | { outcome: 'ambiguous'; iacaIds: string[] };

export interface CrlService {
  /** A fresh IACA id (22 base64url characters), chosen before the IACA is signed so its certificate can name its CRL. */
  newIacaId(): string;
  crlUri(iacaId: string): string;
  /** Records an IACA (idempotent on its certificate); answers the record, whose id may be an earlier one. */
  recordIaca(id: string, key: IacaKeySource, certificatePem: string): Promise<IacaRecord>;
  /** The recorded IACA a Document Signer request names: by its PEM, else by the client's key identifier and subject. */
  findIaca(client: string, ref: { certificatePem?: string | undefined; keyIdentifier: string; subject: string }): Promise<IacaRecord | undefined>;
  issuerIaca(kid: string): Promise<IacaRecord | undefined>;
  /** The record id of the issuer's active IACA, if any. */
  issuerActiveIacaId(): Promise<string | undefined>;
  recordDocumentSigner(iacaId: string, client: string | null, issued: { certificatePem: string; serialNumber: string; notAfter: Date }): Promise<void>;
  /** Revokes the client's Document Signer `serialNumber` (hex) and signs the IACA's next CRL at once. */
  revoke(client: string | null, serialNumber: string, reason: RevocationReason): Promise<RevokeOutcome>;
  /** The current CRL of an IACA (signing a new one when the kept one is missing or stale); undefined for an unknown id. */
  currentCrl(iacaId: string): Promise<SignedCrl | undefined>;
}

export const certificateSha256 = (pem: string): string => createHash('sha256').update(Buffer.from(new x509.X509Certificate(pem).rawData)).digest('hex');


/** The `x509_iacas` row of an IACA certificate. */
export async function iacaRecordOf(id: string, key: IacaKeySource, certificatePem: string): Promise<NewIacaRecord> {
  const certificate = new x509.X509Certificate(certificatePem);
  return {
    id,
    client: 'client' in key ? key.client : null,
    keyIdPath: 'client' in key ? key.keyIdPath : null,
    signingKeyKid: 'signingKeyKid' in key ? key.signingKeyKid : null,
    certificatePem,
    certificateSha256: certificateSha256(certificatePem),
    keyIdentifier: await keyIdentifierOf(await certificate.publicKey.export(x509Crypto)),
    subject: certificate.subjectName.toString(),
    notAfter: certificate.notAfter,
  };
}

/** Hex authorityKeyIdentifier of a certificate (which IACA key signed it), if it has one. */
export const authorityKeyIdentifierOf = (pem: string): string | undefined => new x509.X509Certificate(pem).getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;

export function createCrlService(deps: CrlServiceDeps): CrlService {
  const { repo, kms, issuerUrl } = deps;
  const now = deps.now ?? (() => new Date());
  const validityMs = deps.crlValidityMs ?? 7 * DAY_MS;
  const reissueAfterMs = deps.reissueAfterMs ?? DAY_MS;
  const crlUri = (iacaId: string) => `${issuerUrl.replace(/\/+$/, '')}${crlPath(iacaId)}`;

  async function keyOf(iaca: IacaRecord): Promise<SigningKey> {
    const key = iaca.signingKeyKid ? await deps.issuerIacaKey?.(iaca.signingKeyKid) : iaca.client && iaca.keyIdPath ? await kms.open(iaca.client, iaca.keyIdPath) : undefined;
    if (!key) throw new Error(`IACA ${iaca.id}: its key is not available to sign a CRL`);
    return key;
  }

  /** Signs CRL number `iaca.crlNumber + 1` listing `revoked`. */
  async function sign(iaca: IacaRecord, revoked: DocumentSignerRecord[], at: Date): Promise<SignedCrl> {
    const key = await keyOf(iaca);
    const certificate = new x509.X509Certificate(iaca.certificatePem);
    const number = iaca.crlNumber + 1n;
    const thisUpdate = wholeSeconds(at);
    const nextUpdate = new Date(thisUpdate.getTime() + validityMs);
    const crl = await x509.X509CrlGenerator.create(
      {
        issuer: certificate.subjectName,
        thisUpdate,
        nextUpdate,
        signingKey: key.privateKey,
        signingAlgorithm: keyTypeInfo(key.keyType).signingAlgorithm,
        extensions: [
          // RFC 5280 §5.2.1 (MUST) and §5.2.3 (MUST): which key signed it, and a monotonically increasing number.
          new x509.AuthorityKeyIdentifierExtension(await keyIdentifierOf(key.publicKey), false),
          new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(Number(number)))),
        ],
        entries: revoked.map((ds) => ({
          serialNumber: ds.serialNumber,
          revocationDate: wholeSeconds(ds.revokedAt!),
          reason: x509.X509CrlReason[ds.revocationReason as RevocationReason],
        })),
      },
      x509Crypto,
    );
    return { der: Buffer.from(crl.rawData), number, thisUpdate, nextUpdate };
  }

  const stale = (iaca: IacaRecord, at: Date) =>
    !iaca.crlDer || !iaca.crlThisUpdate || !iaca.crlNextUpdate || at.getTime() - iaca.crlThisUpdate.getTime() >= reissueAfterMs || iaca.crlNextUpdate <= at;

  return {
    newIacaId: () => randomBytes(16).toString('base64url'),
    crlUri,
    recordIaca: async (id, key, certificatePem) => repo.insertIaca(await iacaRecordOf(id, key, certificatePem)),
    async findIaca(client, ref) {
      if (ref.certificatePem) return repo.iacaByCertificate(client, certificateSha256(ref.certificatePem));
      return repo.iacaByKey(client, ref.keyIdentifier, ref.subject, now());
    },
    issuerIaca: (kid) => repo.iacaBySigningKey(kid),
    issuerActiveIacaId: () => repo.issuerActiveIacaId(),
    recordDocumentSigner: (iacaId, client, issued) =>
      repo.insertDocumentSigner({ iacaId, client, certificatePem: issued.certificatePem, serialNumber: normaliseSerialHex(issued.serialNumber), notAfter: issued.notAfter }),
    async revoke(client, serialNumber, reason) {
      const serial = normaliseSerialHex(serialNumber);
      const matches = await repo.documentSigners(client, serial);
      if (matches.length === 0) return { outcome: 'not_found' };
      if (matches.length > 1) return { outcome: 'ambiguous', iacaIds: matches.map((m) => m.iacaId) };
      const documentSigner = matches[0]!;
      const result = await repo.withCrlLock(documentSigner.iacaId, async (t): Promise<RevokeOutcome> => {
        const at = now();
        if (!(await t.revoke(serial, at, reason))) return { outcome: 'already_revoked', documentSigner };
        const crl = await sign(t.iaca, await t.revoked(at), at);
        await t.saveCrl(crl);
        return { outcome: 'revoked', documentSigner, revokedAt: at, crl, crlUri: crlUri(t.iaca.id) };
      });
      return result ?? { outcome: 'not_found' };
    },
    async currentCrl(iacaId) {
      const kept = await repo.iaca(iacaId);
      if (!kept) return undefined;
      const at = now();
      if (!stale(kept, at)) return { der: kept.crlDer!, number: kept.crlNumber, thisUpdate: kept.crlThisUpdate!, nextUpdate: kept.crlNextUpdate! };
      return repo.withCrlLock(iacaId, async (t) => {
        // Another request may have signed one while this one waited for the lock.
        if (!stale(t.iaca, at)) return { der: t.iaca.crlDer!, number: t.iaca.crlNumber, thisUpdate: t.iaca.crlThisUpdate!, nextUpdate: t.iaca.crlNextUpdate! };
        const crl = await sign(t.iaca, await t.revoked(at), at);
        await t.saveCrl(crl);
        return crl;
      });
    },
  };
}
