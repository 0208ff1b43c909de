import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import type { KycRepository } from '../../db/kyc-repository';
import { onboardingStateQuery, onboardingWorkflowId, reofferSignal, reviewDecisionSignal } from '../../../workflows/contracts/onboarding';
import { ConflictError, RouteNotFoundError } from '../api-errors';
import { type AnyRouteSpec, defineRoute } from '../route-registry';

export interface KycAdminDeps {
  kyc: KycRepository;
  temporal: Client;
}

const TAG = ['Admin KYC'];
const ApplicationParams = z.object({ application_id: z.uuid() });
const FileParams = z.object({ file_id: z.uuid() });
const ReviewBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  /** Told to the applicant by e-mail on rejection; kept in kyc_applications, never in the workflow history. */
  reason: z.string().min(1).max(2000).optional(),
});
const FileMeta = z.object({ file_id: z.string(), media_type: z.string(), size: z.number(), sha256: z.string() });
const ApplicationResponse = z
  .object({
    application_id: z.string(),
    workflow_id: z.string(),
    template_id: z.string(),
    wallet: z.string(),
    state: z.string(),
    attributes: z.array(z.object({ id: z.string(), data: z.object({ value: z.unknown() }) })),
    files: z.array(FileMeta),
    decided_by: z.string().nullable(),
    decision_reason: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'KycApplication' });
const FileResponse = FileMeta.extend({ content_base64: z.string() });
const ActionResponse = z.object({ application_id: z.string(), state: z.string() });

/**
 * The operator's side of KYC onboarding (issue 19), under the admin API: read an application and
 * its files (the only way files leave PostgreSQL), decide it, re-offer an expired offer. Admin
 * tokens and roles as src/gateway/admin/admin-routes.ts; the gateway audits every call with the
 * action and application id (never attribute values or the reason).
 */
export function kycAdminRoutes({ kyc, temporal }: KycAdminDeps): AnyRouteSpec[] {
  const load = async (applicationId: string) => {
    const app = await kyc.application(applicationId);
    if (!app) throw new RouteNotFoundError('No such application', { application_id: applicationId });
    return app;
  };
  const workflowState = async (applicationId: string) => {
    try {
      return (await temporal.workflow.getHandle(onboardingWorkflowId(applicationId)).query(onboardingStateQuery)).state;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };
  return [
    defineRoute({
      method: 'get',
      path: '/admin/v1/kyc/applications/:application_id',
      operationId: 'adminGetKycApplication',
      summary: 'A KYC application: its attributes, its files\' metadata and its state',
      description: 'Role read. Attribute values are personal data: this is for reviewers.',
      tags: TAG,
      security: 'admin:read',
      params: ApplicationParams,
      response: ApplicationResponse,
      errors: [401, 403, 404],
      handler: async ({ params, res }) => {
        res.locals.auditAction = 'admin.kyc.application.get';
        res.locals.auditTarget = { application_id: params.application_id! };
        const app = await load(params.application_id!);
        const files = await kyc.files(app.file_ids);
        return {
          application_id: app.application_id,
          workflow_id: onboardingWorkflowId(app.application_id),
          template_id: app.template_id,
          wallet: app.wallet,
          state: app.state,
          attributes: app.attributes,
          files: files.map((f) => ({ file_id: f.file_id, media_type: f.media_type, size: f.size, sha256: f.sha256 })),
          decided_by: app.decided_by,
          decision_reason: app.decision_reason,
          created_at: new Date(app.created_at).toISOString(),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/admin/v1/kyc/files/:file_id',
      operationId: 'adminGetKycFile',
      summary: 'One uploaded KYC file, with its content (base64) and SHA-256',
      description: 'Role read. The only way a file leaves the issuer.',
      tags: TAG,
      security: 'admin:read',
      params: FileParams,
      response: FileResponse,
      errors: [401, 403, 404],
      handler: async ({ params, res }) => {
        res.locals.auditAction = 'admin.kyc.file.get';
        res.locals.auditTarget = { file_id: params.file_id! };
        const file = await kyc.fileContent(params.file_id!);
        if (!file) throw new RouteNotFoundError('No such file', { file_id: params.file_id });
        return { file_id: file.file_id, media_type: file.media_type, size: file.size, sha256: file.sha256, content_base64: Buffer.from(file.content).toString('base64') };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/admin/v1/kyc/applications/:application_id/review',
      operationId: 'adminReviewKycApplication',
      summary: 'Approve or reject a KYC application in review',
      description: 'Role operate. Records the decision and reason, then signals the onboarding workflow (`review`). Approval offers the credential (PIN by e-mail); rejection e-mails the applicant the reason. 409 CONFLICT unless the application is IN_REVIEW.',
      tags: TAG,
      security: 'admin:operate',
      params: ApplicationParams,
      body: ReviewBody,
      response: ActionResponse,
      errors: [400, 401, 403, 404, 409],
      handler: async ({ params, body, principal, res }) => {
        const applicationId = params.application_id!;
        res.locals.auditAction = `admin.kyc.application.${body.decision}`;
        res.locals.auditTarget = { application_id: applicationId };
        await load(applicationId);
        const state = await workflowState(applicationId);
        if (state !== 'IN_REVIEW') throw new ConflictError(`The application is ${state ?? 'not running'}, not IN_REVIEW`, { application_id: applicationId, state: state ?? null });
        await kyc.recordDecision(applicationId, `admin:${principal.admin}`, body.reason ?? null);
        await temporal.workflow.getHandle(onboardingWorkflowId(applicationId)).signal(reviewDecisionSignal, { decision: body.decision, reviewer: `admin:${principal.admin}` });
        return { application_id: applicationId, state: body.decision === 'approve' ? 'APPROVED' : 'REJECTED' };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/admin/v1/kyc/applications/:application_id/reoffer',
      operationId: 'adminReofferKycApplication',
      summary: 'Offer the credential again after an approved application\'s offer expired uncollected',
      description: 'Role operate. No new review. 409 CONFLICT unless the application is OFFER_EXPIRED.',
      tags: TAG,
      security: 'admin:operate',
      params: ApplicationParams,
      response: ActionResponse,
      errors: [401, 403, 404, 409],
      handler: async ({ params, res }) => {
        const applicationId = params.application_id!;
        res.locals.auditAction = 'admin.kyc.application.reoffer';
        res.locals.auditTarget = { application_id: applicationId };
        await load(applicationId);
        const state = await workflowState(applicationId);
        if (state !== 'OFFER_EXPIRED') throw new ConflictError(`The application is ${state ?? 'not running'}, not OFFER_EXPIRED`, { application_id: applicationId, state: state ?? null });
        await temporal.workflow.getHandle(onboardingWorkflowId(applicationId)).signal(reofferSignal);
        return { application_id: applicationId, state: 'OFFERED' };
      },
    }),
  ];
}
