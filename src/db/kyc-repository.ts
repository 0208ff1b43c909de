import { createHash } from 'node:crypto';
import type { OnboardingState } from '../../workflows/contracts/onboarding';
import type { Db } from './knex';

export interface KycFileRecord {
  file_id: string;
  wallet: string;
  media_type: string;
  size: number;
  sha256: string;
  created_at: Date;
}

export interface KycApplicationRecord {
  application_id: string;
  wallet: string;
  template_id: string;
  attributes: KycAttribute[];
  file_ids: string[];
  email: string | null;
  state: OnboardingState;
  decision_reason: string | null;
  decided_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** One attribute as the wallet sends it (seed 004): `{id, data: {value}}`, file references resolved to `file:<fileId>`. */
export interface KycAttribute {
  id: string;
  data: { value: unknown };
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** The KYC tables of migration 0017: challenges, users, files, applications. */
export function createKycRepository(db: Db) {
  return {
    async addChallenge(nonce: string, clientIp: string, expiresAt: Date): Promise<void> {
      await db('kyc_challenges').insert({ nonce_hash: sha256Hex(nonce), client_ip: clientIp, expires_at: expiresAt });
    },
    /** Marks the challenge used; false when unknown, expired or used already (one statement: two answers cannot both win). */
    async consumeChallenge(nonce: string): Promise<boolean> {
      const rows = await db('kyc_challenges')
        .where({ nonce_hash: sha256Hex(nonce) })
        .whereNull('used_at')
        .where('expires_at', '>', db.fn.now())
        .update({ used_at: db.fn.now() })
        .returning('nonce_hash');
      return rows.length === 1;
    },

    async upsertUser(wallet: string, attributes: KycAttribute[], trx: Db = db): Promise<void> {
      await trx('kyc_users')
        .insert({ wallet, attributes: JSON.stringify(attributes) })
        .onConflict('wallet')
        .merge({ attributes: JSON.stringify(attributes), updated_at: trx.fn.now() });
    },
    async user(wallet: string): Promise<{ wallet: string; attributes: KycAttribute[] } | undefined> {
      return db('kyc_users').where({ wallet }).first('wallet', 'attributes');
    },

    async addFile(file: { file_id: string; wallet: string; media_type: string; content: Buffer }, trx: Db = db): Promise<void> {
      await trx('kyc_files').insert({ ...file, size: file.content.length, sha256: sha256Hex(file.content) });
    },
    /** Metadata of files (never their content). */
    async files(fileIds: string[]): Promise<KycFileRecord[]> {
      if (fileIds.length === 0) return [];
      return db('kyc_files').whereIn('file_id', fileIds).select('file_id', 'wallet', 'media_type', 'size', 'sha256', 'created_at');
    },
    /** One file with its content, for the admin API. */
    async fileContent(fileId: string): Promise<(KycFileRecord & { content: Buffer }) | undefined> {
      return db('kyc_files').where({ file_id: fileId }).first();
    },

    async createApplication(app: Pick<KycApplicationRecord, 'application_id' | 'wallet' | 'template_id' | 'attributes' | 'file_ids' | 'email'>): Promise<void> {
      await db('kyc_applications').insert({ ...app, attributes: JSON.stringify(app.attributes), file_ids: JSON.stringify(app.file_ids), state: 'CHECKING' });
    },
    async application(applicationId: string): Promise<KycApplicationRecord | undefined> {
      return db('kyc_applications').where({ application_id: applicationId }).first();
    },
    /** The wallet's applications for a template, newest first. */
    async applicationsOf(wallet: string, templateId: string): Promise<KycApplicationRecord[]> {
      return db('kyc_applications').where({ wallet, template_id: templateId }).orderBy('created_at', 'desc');
    },
    async removeApplication(applicationId: string): Promise<void> {
      await db('kyc_applications').where({ application_id: applicationId }).delete();
    },
    async setState(applicationId: string, state: OnboardingState): Promise<void> {
      await db('kyc_applications').where({ application_id: applicationId }).update({ state, updated_at: db.fn.now() });
    },
    async recordDecision(applicationId: string, decidedBy: string, reason: string | null): Promise<void> {
      await db('kyc_applications').where({ application_id: applicationId }).update({ decided_by: decidedBy, decision_reason: reason, updated_at: db.fn.now() });
    },
  };
}

export type KycRepository = ReturnType<typeof createKycRepository>;
