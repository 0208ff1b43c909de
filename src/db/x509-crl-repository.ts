import type { Knex } from 'knex';
import type { Db } from './knex';

/** An IACA the X.509 service signs CRLs for (`x509_iacas`, migration 0018). */
export interface IacaRecord {
  id: string;
  /** The API client that issued it; null for the issuer's own IACA. */
  client: string | null;
  /** Its KMS key (of `client`), or the issuer's own `signing_keys` kid. */
  keyIdPath: string | null;
  signingKeyKid: string | null;
  certificatePem: string;
  certificateSha256: string;
  keyIdentifier: string;
  subject: string;
  notAfter: Date;
  crlNumber: bigint;
  crlDer: Buffer | null;
  crlThisUpdate: Date | null;
  crlNextUpdate: Date | null;
  createdAt: Date;
}

export type NewIacaRecord = Pick<IacaRecord, 'id' | 'client' | 'keyIdPath' | 'signingKeyKid' | 'certificatePem' | 'certificateSha256' | 'keyIdentifier' | 'subject' | 'notAfter'>;

/** A Document Signer issued under a recorded IACA (`x509_document_signers`). */
export interface DocumentSignerRecord {
  iacaId: string;
  serialNumber: string;
  client: string | null;
  certificatePem: string;
  notAfter: Date;
  revokedAt: Date | null;
  revocationReason: string | null;
  createdAt: Date;
}

interface IacaRow {
  id: string;
  client: string | null;
  key_id_path: string | null;
  signing_key_kid: string | null;
  certificate_pem: string;
  certificate_sha256: string;
  key_identifier: string;
  subject: string;
  not_after: Date;
  crl_number: string;
  crl_der: Buffer | null;
  crl_this_update: Date | null;
  crl_next_update: Date | null;
  created_at: Date;
}

interface DsRow {
  iaca_id: string;
  serial_number: string;
  client: string | null;
  certificate_pem: string;
  not_after: Date;
  revoked_at: Date | null;
  revocation_reason: string | null;
  created_at: Date;
}

const iacaFromRow = (r: IacaRow): IacaRecord => ({
  id: r.id,
  client: r.client,
  keyIdPath: r.key_id_path,
  signingKeyKid: r.signing_key_kid,
  certificatePem: r.certificate_pem,
  certificateSha256: r.certificate_sha256,
  keyIdentifier: r.key_identifier,
  subject: r.subject,
  notAfter: r.not_after,
  crlNumber: BigInt(r.crl_number),
  crlDer: r.crl_der,
  crlThisUpdate: r.crl_this_update,
  crlNextUpdate: r.crl_next_update,
  createdAt: r.created_at,
});

const dsFromRow = (r: DsRow): DocumentSignerRecord => ({
  iacaId: r.iaca_id,
  serialNumber: r.serial_number,
  client: r.client,
  certificatePem: r.certificate_pem,
  notAfter: r.not_after,
  revokedAt: r.revoked_at,
  revocationReason: r.revocation_reason,
  createdAt: r.created_at,
});

/** What `withCrlLock` hands its callback: the locked IACA row, its revoked signers, and a way to store the new CRL. */
export interface CrlTransaction {
  iaca: IacaRecord;
  /** Revoked Document Signers of the IACA that have not expired at `at`. */
  revoked(at: Date): Promise<DocumentSignerRecord[]>;
  /** Marks a signer revoked; false when it was already revoked. */
  revoke(serialNumber: string, at: Date, reason: string): Promise<boolean>;
  saveCrl(crl: { der: Buffer; number: bigint; thisUpdate: Date; nextUpdate: Date }): Promise<void>;
}

export function createX509CrlRepository(db: Db) {
  const tx = (trx: Knex.Transaction, iaca: IacaRecord): CrlTransaction => ({
    iaca,
    async revoked(at) {
      const rows = (await trx('x509_document_signers').where({ iaca_id: iaca.id }).whereNotNull('revoked_at').where('not_after', '>', at).orderBy('revoked_at').select('*')) as DsRow[];
      return rows.map(dsFromRow);
    },
    async revoke(serialNumber, at, reason) {
      const n = await trx('x509_document_signers').where({ iaca_id: iaca.id, serial_number: serialNumber }).whereNull('revoked_at').update({ revoked_at: at, revocation_reason: reason });
      return n === 1;
    },
    async saveCrl({ der, number, thisUpdate, nextUpdate }) {
      await trx('x509_iacas').where({ id: iaca.id }).update({ crl_der: der, crl_number: number.toString(), crl_this_update: thisUpdate, crl_next_update: nextUpdate });
    },
  });

  return {
    /** Records an IACA; an IACA already recorded (same certificate) is left as it is. Answers the record in the table. */
    async insertIaca(record: NewIacaRecord): Promise<IacaRecord> {
      await db('x509_iacas')
        .insert({
          id: record.id,
          client: record.client,
          key_id_path: record.keyIdPath,
          signing_key_kid: record.signingKeyKid,
          certificate_pem: record.certificatePem,
          certificate_sha256: record.certificateSha256,
          key_identifier: record.keyIdentifier,
          subject: record.subject,
          not_after: record.notAfter,
        })
        .onConflict()
        .ignore();
      const row = (await db('x509_iacas').where({ certificate_sha256: record.certificateSha256 }).first()) as IacaRow;
      return iacaFromRow(row);
    },
    async iaca(id: string): Promise<IacaRecord | undefined> {
      const row = (await db('x509_iacas').where({ id }).first()) as IacaRow | undefined;
      return row ? iacaFromRow(row) : undefined;
    },
    async iacaByCertificate(client: string | null, certificateSha256: string): Promise<IacaRecord | undefined> {
      const row = (await db('x509_iacas').where({ certificate_sha256: certificateSha256 }).where(client === null ? { client: null } : { client }).first()) as IacaRow | undefined;
      return row ? iacaFromRow(row) : undefined;
    },
    /** The client's newest unexpired IACA with this key identifier and subject. */
    async iacaByKey(client: string, keyIdentifier: string, subject: string, at: Date): Promise<IacaRecord | undefined> {
      const row = (await db('x509_iacas').where({ client, key_identifier: keyIdentifier, subject }).where('not_after', '>', at).orderBy('created_at', 'desc').first()) as IacaRow | undefined;
      return row ? iacaFromRow(row) : undefined;
    },
    /** The issuer's own IACA of `signing_keys` row `kid`. */
    async iacaBySigningKey(kid: string): Promise<IacaRecord | undefined> {
      const row = (await db('x509_iacas').where({ signing_key_kid: kid }).first()) as IacaRow | undefined;
      return row ? iacaFromRow(row) : undefined;
    },
    /**
     * Certificates of the issuer's own IACAs whose `signing_keys` row is still published (active, or
     * retired with `not_after` ahead) and whose certificate has not expired, newest first.
     */
    async issuerIacaCertificates(at: Date): Promise<string[]> {
      const rows = (await db('x509_iacas as i')
        .join('signing_keys as k', 'k.kid', 'i.signing_key_kid')
        .whereNull('i.client')
        .where('i.not_after', '>', at)
        .andWhere((q) => q.where('k.state', 'active').orWhere('k.not_after', '>', at))
        .orderBy('k.created_at', 'desc')
        .select('i.certificate_pem')) as { certificate_pem: string }[];
      return rows.map((r) => r.certificate_pem);
    },
    /** The id of the issuer's active IACA (`signing_keys` purpose `iaca`, state `active`), if recorded. */
    async issuerActiveIacaId(): Promise<string | undefined> {
      const row = (await db('x509_iacas as i').join('signing_keys as k', 'k.kid', 'i.signing_key_kid').where({ 'k.purpose': 'iaca', 'k.state': 'active' }).first('i.id')) as { id: string } | undefined;
      return row?.id;
    },
    /** Records a Document Signer issued under `iacaId` (idempotent). */
    async insertDocumentSigner(ds: Pick<DocumentSignerRecord, 'iacaId' | 'serialNumber' | 'client' | 'certificatePem' | 'notAfter'>): Promise<void> {
      await db('x509_document_signers')
        .insert({ iaca_id: ds.iacaId, serial_number: ds.serialNumber, client: ds.client, certificate_pem: ds.certificatePem, not_after: ds.notAfter })
        .onConflict(['iaca_id', 'serial_number'])
        .ignore();
    },
    /** The Document Signers with this serial that `client` issued (null: the issuer's own). */
    async documentSigners(client: string | null, serialNumber: string): Promise<DocumentSignerRecord[]> {
      const rows = (await db('x509_document_signers').where({ serial_number: serialNumber }).where(client === null ? { client: null } : { client }).select('*')) as DsRow[];
      return rows.map(dsFromRow);
    },
    /** Runs `fn` with the IACA row locked (`select ... for update`), so CRL numbers never repeat; undefined when there is no such IACA. */
    async withCrlLock<T>(iacaId: string, fn: (t: CrlTransaction) => Promise<T>): Promise<T | undefined> {
      return db.transaction(async (trx) => {
        const row = (await trx('x509_iacas').where({ id: iacaId }).forUpdate().first()) as IacaRow | undefined;
        if (!row) return undefined;
        return fn(tx(trx, iacaFromRow(row)));
      });
    },
  };
}

export type X509CrlRepository = ReturnType<typeof createX509CrlRepository>;
