import type { AuditEntry, AuditLogRepository } from '../src/db/audit-log-repository';

export const createAuditActivities = ({ audit }: { audit: AuditLogRepository }) => ({
  /** Records what a workflow did in the append-only audit log (ids only). */
  async appendAudit(entry: AuditEntry): Promise<void> {
    await audit.append(entry);
  },
});
