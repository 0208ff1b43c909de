import type { Request, Response } from 'express';
import type { AuditEntry, AuditLogRepository } from '../db/audit-log-repository';
import type { ClientPrincipal } from './authenticate-source';

/**
 * Appends the audit row of a Bearer-authenticated call that changed something (`/v1/...` paths are
 * not audited by the gateway's request hook, which covers `/api`), and marks the response audited.
 * `target` carries ids only (key paths, certificate serials), never key material.
 */
export async function auditCall(audit: AuditLogRepository, call: { req: Request; res: Response; principal: ClientPrincipal }, action: string, target: AuditEntry['target']): Promise<void> {
  const { req, res, principal } = call;
  await audit.append({ requestId: res.locals.requestId, actor: `client:${principal.client}`, action, method: req.method, path: req.path, status: 200, ...(target ? { target } : {}), clientIp: req.ip });
  res.locals.audited = true;
}
