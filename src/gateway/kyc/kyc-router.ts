import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../config/config';
import type { Db } from '../../db/knex';
import type { KycAttribute, KycRepository } from '../../db/kyc-repository';
import { MEDIA_TYPES, sniffFileType } from '../../kyc/file-types';
import type { KycTemplates } from '../../kyc/kyc-templates';
import { resolveFileRefs } from '../../kyc/kyc-templates';
import type { KycTokens } from '../../kyc/kyc-tokens';
import { verifyWalletSignature } from '../../kyc/wallet-signature';
import { offerDeepLink } from '../../oid4vci/offer-preparation';
import type { OfferSecrets } from '../../oid4vci/offer-secrets';
import { FINAL_ONBOARDING_STATES, ONBOARDING_WORKFLOW_TYPE, type OnboardingWorkflow, onboardingStateQuery, onboardingWorkflowId, withdrawApplicationSignal } from '../../../workflows/contracts/onboarding';
import { ConflictError, InvalidFormatError, invalidFormatFrom, RateLimitedError, RouteNotFoundError, UnauthorizedError } from '../api-errors';
import { addressBucket, TokenBuckets } from '../rate-limit';
import { readMultipart } from './kyc-multipart';

export interface KycRouterDeps {
  config: Config;
  db: Db;
  kyc: KycRepository;
  templates: KycTemplates;
  tokens: KycTokens;
  temporal: Client;
  /** Derives the offer's deep link for the applicant (src/oid4vci/offer-preparation.ts). */
  secrets: Pick<OfferSecrets, 'offerUriToken'>;
}

/** Seed 004's attribute: `{id, data: {value}}`. */
export const AttributeSchema = z.object({ id: z.string().min(1).max(512), data: z.object({ value: z.unknown() }) });
export const AttributesSchema = z.array(AttributeSchema).max(100);
export const ChallengeAnswer = z.strictObject({ signature: z.string().min(1).max(4096) });
export const LoginBody = z.strictObject({ token: z.string().min(1).max(4096) });
export const FileBody = z.strictObject({ file: z.base64().min(1) });
export const ApplicationBody = z.strictObject({
  templateId: z.union([z.string(), z.number()]).transform(String),
  attributes: AttributesSchema.default([]),
  files: z.array(z.uuid()).max(20).default([]),
});

/** Failed challenge answers and wallet tokens per address, as the gateway limits API keys (src/gateway/rate-limit.ts). */
const FAILED_BURST = 20;
const FAILED_PER_SECOND = 0.2;
const MAX_FILES = 10;

const bearer = (req: Request): string | undefined => /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.get('authorization') ?? '')?.[1];
const parseBody = <T extends z.ZodType>(schema: T, body: unknown): z.infer<T> => {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidFormatFrom(parsed.error);
  return parsed.data;
};
/** The client's address as the challenge's `sub` names it: an IPv4-mapped IPv6 address as plain IPv4. */
const clientAddress = (req: Request): string => (req.ip ?? 'unknown').replace(/^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i, '$1');
const wrap =
  (handler: (req: Request, res: Response) => Promise<void>): RequestHandler =>
  (req, res, next: NextFunction) => {
    handler(req, res).catch(next);
  };

/**
 * The wallet-facing KYC API of seed 004 under `/kyc` (issue 19). Errors are the REST error format
 * (`{"error":{"code","message","details"}}`, src/gateway/api-errors.ts) with the seed's statuses:
 * 400 INVALID_FORMAT, 401 UNAUTHORIZED, 404 NOT_FOUND (409 CONFLICT for a second live application).
 * Multipart bodies are read with busboy; file contents go to PostgreSQL and nowhere else.
 */
export function kycRouter({ config, db, kyc, templates, tokens, temporal, secrets }: KycRouterDeps): express.Router {
  const router = express.Router();
  const settings = config.file.kyc;
  if (!settings) return router;
  const failures = new TokenBuckets(FAILED_PER_SECOND, FAILED_BURST);
  const userAgent = settings.user_agent_pattern ? new RegExp(settings.user_agent_pattern) : undefined;
  const json = express.json({ limit: config.file.gateway.body_limit, strict: true });
  const fileJson = express.json({ limit: Math.ceil((settings.files.max_bytes * 4) / 3) + 1024, strict: true });

  /** Seed 004 headers: `User-Agent: SelfkeyIDW/<version>` and `Origin: <web page> | IDW`, as configured. */
  const checkClient = (req: Request) => {
    if (userAgent && !userAgent.test(req.get('user-agent') ?? '')) throw new InvalidFormatError('User-Agent is not an accepted wallet', { fields: [{ path: 'User-Agent', message: `must match ${settings.user_agent_pattern}` }] });
    if (settings.allowed_origins.length > 0 && !settings.allowed_origins.includes(req.get('origin') ?? '')) throw new UnauthorizedError('Origin is not allowed');
  };
  /** A failed authentication spends the address's budget; with it spent, the address waits (429). */
  const limited = async <T>(req: Request, check: () => Promise<T>): Promise<T> => {
    const key = `${addressBucket(req.ip)}|kyc`;
    const wait = failures.peek(key);
    if (wait > 0) throw new RateLimitedError(wait);
    try {
      return await check();
    } catch (err) {
      if (err instanceof UnauthorizedError) failures.take(key);
      throw err;
    }
  };
  /** The wallet JWT of `Authorization: Bearer` (seed 004: every call after the challenge). */
  const wallet = (req: Request): Promise<string> =>
    limited(req, async () => {
      checkClient(req);
      const token = bearer(req);
      if (!token) throw new UnauthorizedError('Authorization: Bearer <wallet JWT> is required');
      const verified = await tokens.verify('wallet', token);
      if (!verified.success) throw new UnauthorizedError(`Wallet JWT: ${verified.message}`);
      return verified.claims.sub;
    });

  router.get(
    '/kyc/auth/challenge',
    wrap(async (req, res) => {
      checkClient(req);
      const nonce = tokens.newNonce();
      const clientIp = clientAddress(req);
      await kyc.addChallenge(nonce, clientIp, new Date(Date.now() + settings.challenge_ttl * 1000));
      res.set('Cache-Control', 'no-store').json({ jwt: await tokens.sign('challenge', { sub: clientIp, nonce }, settings.challenge_ttl) });
    }),
  );

  router.post(
    '/kyc/auth/challenge',
    json,
    wrap(async (req, res) => {
      const walletId = await limited(req, async () => {
        checkClient(req);
        // Step 1: the challenge JWT, issued by us, unexpired, for this client address.
        const token = bearer(req);
        if (!token) throw new UnauthorizedError('Authorization: Bearer <challenge JWT> is required');
        const challenge = await tokens.verify('challenge', token);
        if (!challenge.success || !challenge.claims.nonce) throw new UnauthorizedError(`Challenge JWT: ${challenge.success ? 'no nonce' : challenge.message}`);
        if (challenge.claims.sub !== clientAddress(req)) throw new UnauthorizedError('Challenge JWT was issued to another address');
        const { signature } = parseBody(ChallengeAnswer, req.body);
        // Step 2: single use. Spent before the signature is checked, so each challenge allows one guess.
        if (!(await kyc.consumeChallenge(challenge.claims.nonce))) throw new UnauthorizedError('Challenge JWT has been used or has expired');
        // Step 3: the signature over the nonce proves the wallet's key.
        const verified = await verifyWalletSignature(signature, challenge.claims.nonce);
        if (!verified.success) throw new UnauthorizedError(`Signature: ${verified.message}`, { reason: verified.error });
        return verified.wallet;
      });
      res.set('Cache-Control', 'no-store').json({ jwt: await tokens.sign('wallet', { sub: walletId }, settings.wallet_token_ttl) });
    }),
  );

  router.post(
    '/kyc/users',
    wrap(async (req, res) => {
      const walletId = await wallet(req);
      const body = await readMultipart(req, { maxFileBytes: settings.files.max_bytes, maxFiles: MAX_FILES });
      const raw = body.fields.get('attributes');
      if (raw === undefined) throw new InvalidFormatError('The attributes part is required', { fields: [{ path: 'attributes', message: 'required' }] });
      let parsedJson: unknown;
      try {
        parsedJson = JSON.parse(raw);
        // Seed 004 shows the part as a JSON string holding the array; both forms are accepted.
        if (typeof parsedJson === 'string') parsedJson = JSON.parse(parsedJson);
      } catch {
        throw new InvalidFormatError('The attributes part is not JSON', { fields: [{ path: 'attributes', message: 'not JSON' }] });
      }
      const attributes = parseBody(AttributesSchema, parsedJson);
      const stored = body.files.map((f) => ({ ...f, fileId: randomUUID(), type: checkFile(f.name, f.content) }));
      const byPart = new Map(stored.map((f) => [f.name, f.fileId]));
      const referenced = new Set<string>();
      const resolved: KycAttribute[] = attributes.map((a, i) => {
        const value = resolveFileRefs(a.data.value, (s) => {
          if (!s.startsWith('$')) return undefined;
          const id = byPart.get(s);
          if (!id) throw new InvalidFormatError(`attributes.${i} references ${s}, which is no file part`, { fields: [{ path: `attributes.${i}.data.value`, message: `no file part named ${s}` }] });
          referenced.add(s);
          return id;
        });
        return { id: a.id, data: { value } };
      });
      const problems = templates.checkAttributes(resolved);
      if (problems.length > 0) throw new InvalidFormatError('Attributes do not match the templates', { fields: problems });
      // The referenced files and the user in one transaction (parts no attribute references are not kept).
      await db.transaction(async (trx) => {
        for (const f of stored.filter((s) => referenced.has(s.name))) await kyc.addFile({ file_id: f.fileId, wallet: walletId, media_type: MEDIA_TYPES[f.type], content: f.content }, trx);
        await kyc.upsertUser(walletId, resolved, trx);
      });
      res.status(201).json({ message: 'User Created Successfully', token: await tokens.sign('user', { sub: walletId }, settings.user_token_ttl) });
    }),
  );

  router.get(
    '/kyc/auth/token',
    wrap(async (req, res) => {
      const walletId = await wallet(req);
      if (!(await kyc.user(walletId))) throw new RouteNotFoundError('No user for this wallet: create one with POST /kyc/users');
      res.set('Cache-Control', 'no-store').json({ token: await tokens.sign('user', { sub: walletId }, settings.user_token_ttl) });
    }),
  );

  router.post(
    '/kyc/login',
    json,
    wrap(async (req, res) => {
      const walletId = await wallet(req);
      const { token } = parseBody(LoginBody, req.body);
      const user = await tokens.verify('user', token);
      if (!user.success || user.claims.sub !== walletId) throw new UnauthorizedError(`User token: ${user.success ? 'belongs to another wallet' : user.message}`);
      if (!(await kyc.user(walletId))) throw new RouteNotFoundError('No user for this wallet');
      res.json({ redirectUrl: settings.login_redirect_url });
    }),
  );

  router.get('/kyc/templates', (_req, res) => {
    res.json({ templates: templates.list().map((t) => ({ id: t.id, name: t.config.name, credentialType: t.config.credential_type })) });
  });
  router.get('/kyc/templates/:templateId/schema.json', (req, res, next) => {
    const template = templates.get(String(req.params.templateId));
    if (!template) return next(new RouteNotFoundError('No such template', { templateId: req.params.templateId }));
    res.json({ template: { id: template.id, name: template.config.name, credentialType: template.config.credential_type, schema: template.schema } });
  });

  /** A file's type by its content, among kyc.files.types; else 400 naming the part. */
  const checkFile = (part: string, content: Buffer) => {
    const type = sniffFileType(content);
    if (!type || !settings.files.types.includes(type)) throw new InvalidFormatError(`File ${part} is not an accepted type (${settings.files.types.join(', ')}) by its content`, { fields: [{ path: part, message: 'file type not accepted' }] });
    return type;
  };

  router.post(
    '/kyc/files',
    wrap(async (req, res) => {
      const walletId = await wallet(req);
      let content: Buffer;
      if (req.is('application/json')) {
        await new Promise<void>((resolve, reject) => fileJson(req, res, (err?: unknown) => (err ? reject(err as Error) : resolve())));
        content = Buffer.from(parseBody(FileBody, req.body).file, 'base64');
        if (content.length > settings.files.max_bytes) throw new InvalidFormatError(`File is larger than ${settings.files.max_bytes} bytes`, { fields: [{ path: 'file', message: `larger than ${settings.files.max_bytes} bytes` }] });
      } else {
        const body = await readMultipart(req, { maxFileBytes: settings.files.max_bytes, maxFiles: 1 });
        const part = body.files.find((f) => f.name === 'file');
        if (!part) throw new InvalidFormatError('The file part is required', { fields: [{ path: 'file', message: 'required' }] });
        content = part.content;
      }
      const type = checkFile('file', content);
      const fileId = randomUUID();
      await kyc.addFile({ file_id: fileId, wallet: walletId, media_type: MEDIA_TYPES[type], content });
      res.json({ fileId });
    }),
  );

  router.post(
    '/kyc/applications',
    json,
    wrap(async (req, res) => {
      const walletId = await wallet(req);
      const body = parseBody(ApplicationBody, req.body);
      const template = templates.get(body.templateId);
      if (!template) throw new InvalidFormatError(`No template ${body.templateId}`, { fields: [{ path: 'templateId', message: 'no such template' }] });
      // The files named in `files` must be this wallet's; attributes refer to them by fileId.
      const owned = await kyc.files(body.files);
      const missing = body.files.filter((id) => !owned.some((f) => f.file_id === id && f.wallet === walletId));
      if (missing.length > 0) throw new InvalidFormatError('Unknown files', { fields: missing.map((id) => ({ path: 'files', message: `no file ${id} of this wallet` })) });
      const listed = new Set(body.files);
      const given: KycAttribute[] = body.attributes.map((a) => ({ id: a.id, data: { value: resolveFileRefs(a.data.value, (s) => (listed.has(s) ? s : undefined)) } }));
      // The user's attributes from POST /kyc/users, overridden by the application's own.
      const user = await kyc.user(walletId);
      const attributes = [...(user?.attributes ?? []).filter((a) => !given.some((g) => g.id === a.id)), ...given];
      const problems = templates.checkApplication(template, attributes);
      if (problems.length > 0) throw new InvalidFormatError('Attributes do not match the template', { fields: problems });
      const live = (await kyc.applicationsOf(walletId, template.id)).find((a) => !FINAL_ONBOARDING_STATES.includes(a.state) || a.state === 'COLLECTED');
      if (live) throw new ConflictError(`This wallet has an application for template ${template.id} in state ${live.state}`, { applicationId: live.application_id });
      const applicationId = randomUUID();
      const claims = templates.claimsOf(template, attributes);
      const fileIds = [...new Set([...body.files, ...attributes.flatMap((a) => JSON.stringify(a.data.value).match(/file:[0-9a-f-]{36}/g) ?? []).map((r) => r.slice(5))])];
      await kyc.createApplication({ application_id: applicationId, wallet: walletId, template_id: template.id, attributes, file_ids: fileIds, email: typeof claims.email === 'string' ? claims.email : null });
      const review = settings.review;
      try {
        await temporal.workflow.start<OnboardingWorkflow>(ONBOARDING_WORKFLOW_TYPE, {
          taskQueue: config.env.TEMPORAL_TASK_QUEUE,
          workflowId: onboardingWorkflowId(applicationId),
          args: [{ applicationId, templateId: template.id, authenticSource: template.authenticSource, vct: template.config.credential_type, reminderAfterSeconds: review.reminder_after, expireAfterSeconds: review.expire_after }],
        });
      } catch (err) {
        await kyc.removeApplication(applicationId);
        throw err;
      }
      res.status(201).json({ message: 'Application Created', applicationId });
    }),
  );

  router.get(
    '/kyc/applications/:applicationId',
    wrap(async (req, res) => {
      const walletId = await wallet(req);
      const app = await kyc.application(String(req.params.applicationId));
      if (!app || app.wallet !== walletId) throw new RouteNotFoundError('No such application');
      // While an offer is open, the applicant's wallet gets its deep link here; the PIN comes by e-mail.
      let credentialOffer: string | undefined;
      if (app.state === 'OFFERED') {
        // Without a worker to answer the query the state is still answered, without the link; the wallet asks again.
        const status = await temporal.workflow
          .getHandle(onboardingWorkflowId(app.application_id))
          .query(onboardingStateQuery)
          .catch(() => undefined);
        if (status?.state === 'OFFERED' && status.offerId) credentialOffer = offerDeepLink(config.issuerUrl, secrets, status.offerId);
      }
      res.set('Cache-Control', 'no-store').json({ applicationId: app.application_id, templateId: app.template_id, state: app.state, ...(credentialOffer ? { credentialOffer } : {}) });
    }),
  );

  router.post(
    '/kyc/applications/:applicationId/withdraw',
    wrap(async (req, res) => {
      const walletId = await wallet(req);
      const app = await kyc.application(String(req.params.applicationId));
      if (!app || app.wallet !== walletId) throw new RouteNotFoundError('No such application');
      if (FINAL_ONBOARDING_STATES.includes(app.state)) throw new ConflictError(`The application is ${app.state}`);
      await temporal.workflow.getHandle(onboardingWorkflowId(app.application_id)).signal(withdrawApplicationSignal);
      res.json({ message: 'Application Withdrawn' });
    }),
  );

  return router;
}
