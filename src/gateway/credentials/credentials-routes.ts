import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/config';
import { CredentialInputError } from '../../credentials/credential-errors';
import type { IssuanceService } from '../../credentials/issuance-service';
import { bitstringStatusListEntry } from '../../credentials/vc20-jose-issuer';
import { type AuditLogRepository, auditRow } from '../../db/audit-log-repository';
import type { W3cCredentialRecord, W3cCredentialsRepository } from '../../db/w3c-credentials-repository';
import { type StatusListsRepository, w3cCredentialRef } from '../../db/status-lists-repository';
import { w3cStatusListUri } from '../../credentials/status-list-publisher';
import { credentialEventSource, type StatusEventsRepository } from '../../db/status-events-repository';
import type { StatusEventDeliveries } from '../../temporal/status-event-deliveries';
import { AlreadyRevokedError, ConflictError, InvalidFormatError, RouteNotFoundError } from '../api-errors';
import { type AnyRouteSpec, defineRoute } from '../route-registry';
import { CreateCredentialRequest, CredentialIdParams, CredentialResponse, RevokeCredentialRequest, RevokeCredentialResponse } from './credentials-schemas';

export interface CredentialsDeps {
  config: Config;
  issuance: Pick<IssuanceService, 'makeVc20' | 'makeVc20DataIntegrity'>;
  credentials: W3cCredentialsRepository;
  statusLists: Pick<StatusListsRepository, 'reserve' | 'release' | 'markIssued' | 'announceChange'>;
  /** Where a revocation's status event is recorded, in its transaction (the outbox of its webhooks). */
  statusEvents: Pick<StatusEventsRepository, 'revokeOwnedCredential'>;
  /** Starts its webhook deliveries after the commit (retried; the outbox sweep takes what fails). */
  deliveries: Pick<StatusEventDeliveries, 'start' | 'recordOptions'>;
  audit: AuditLogRepository;
  now?: () => Date;
}

/** Puts `first` keys first (in that order), `last` keys last, the rest between in their order. */
function reorder(value: unknown, first: readonly string[], last: readonly string[] = []): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const obj = value as Record<string, unknown>;
  const keys = [...first.filter((k) => k in obj), ...Object.keys(obj).filter((k) => !first.includes(k) && !last.includes(k)), ...last.filter((k) => k in obj)];
  return Object.fromEntries(keys.map((k) => [k, obj[k]]));
}

/**
 * The stored credential (a jsonb column, which keeps no key order) in the order VC DM 2.0's examples
 * use, `@context` first and `proof` last. Only the presentation changes: a Data Integrity proof
 * signs the RDF canonical form, which member order does not affect, and the JOSE form is one string.
 */
function readableOrder(data: unknown): unknown {
  const credential = reorder(data, ['@context', 'id', 'type', 'issuer', 'validFrom', 'validUntil', 'onboardingId', 'credentialSubject', 'credentialStatus'], ['proof']) as Record<string, unknown>;
  if (typeof credential !== 'object' || credential === null) return credential;
  if ('credentialSubject' in credential) credential.credentialSubject = reorder(credential.credentialSubject, ['id', 'type']);
  if ('credentialStatus' in credential) credential.credentialStatus = reorder(credential.credentialStatus, ['id', 'type', 'statusPurpose', 'statusListIndex', 'statusListCredential']);
  if ('proof' in credential) credential.proof = reorder(credential.proof, ['type', 'cryptosuite', 'created', 'verificationMethod', 'proofPurpose'], ['proofValue']);
  return credential;
}

/** Bits per published revocation list (Bitstring Status List §6.1: at least 131,072 for herd privacy). */
const STATUS_LIST_BITS = 131_072;
const YEAR_MS = 365 * 86_400_000;
const TAG = ['Credentials'];

/**
 * Seed 001 Create Credential API: W3C VC 2.0 credentials created on request. By default `data` is the
 * credential document with a Data Integrity proof, as the seed's clients read it
 * (`data.credentialSubject.*`, `data.issuer`, `data.onboardingId`, `data.proof`); the JOSE form
 * (an EnvelopedVerifiableCredential) when the body says `format: "vc+jwt"`, or when it names neither
 * `format` nor `cryptosuite` and the request prefers `Accept: application/vc+jwt`.
 */
export function credentialsRoutes({ config, issuance, credentials, statusLists, audit, statusEvents, deliveries, now = () => new Date() }: CredentialsDeps): AnyRouteSpec[] {
  const toResponse = (r: W3cCredentialRecord) => ({
    id: r.id,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    type: r.credential_type as 'IdentityCredential' | 'DSCSAATPCredential',
    data: readableOrder(r.data) as never,
  });

  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/credentials',
      operationId: 'createCredential',
      summary: 'Create a W3C verifiable credential (IdentityCredential or DSCSAATPCredential)',
      description:
        'Issues a W3C VC 2.0 credential. By default `data` is the credential document secured with a Data Integrity proof (`ecdsa-rdfc-2019`, `cryptosuite: eddsa-rdfc-2022`, or `ecdsa-sd-2023` for selective disclosure), issued by the issuer\'s did:web (/.well-known/did.json). With `format: vc+jwt`, or `Accept: application/vc+jwt` when the body names neither format nor cryptosuite, it is secured with JOSE (application/vc+jwt) and returned as an EnvelopedVerifiableCredential; the response itself is JSON either way. Revocable by default: each credential gets an index in the issuer\'s BitstringStatusList, whose credential its credentialStatus names in the credential\'s own proof format (/status-lists/w3c/revocation/{n}/di for Data Integrity, /status-lists/w3c/revocation/{n} for JOSE), unless credentialStatusId names another list. Default expiry one year after issuance; a future issuanceDate is allowed.',
      tags: TAG,
      security: 'bearer',
      body: CreateCredentialRequest,
      response: CredentialResponse,
      errors: [400, 401, 409, 413, 415],
      handler: async ({ body, principal, req, res }) => {
        const validFrom = body.issuanceDate ? new Date(body.issuanceDate) : now();
        const validUntil = body.expirationDate ? new Date(body.expirationDate) : new Date(validFrom.getTime() + YEAR_MS);
        if (validUntil <= now()) throw new InvalidFormatError('Request body is malformed', { fields: [{ path: 'expirationDate', message: 'is already in the past' }] });
        const credentialId = body.credentialId ?? `urn:uuid:${randomUUID()}`;
        // A random free index of the current revocation list (status-lists-repository.ts), held by this
        // request; a failure before the credential is stored frees it again, so no index is burnt.
        const recordId = randomUUID();
        const requestKey = `w3c-credential/${recordId}`;
        const [allocation] = await statusLists.reserve('w3c', requestKey, 1);
        const statusListIndex = allocation!.number * STATUS_LIST_BITS + allocation!.idx;
        const jose = body.format === 'vc+jwt' || (body.format === undefined && body.cryptosuite === undefined && req.accepts(['application/json', 'application/vc+jwt']) === 'application/vc+jwt');
        // The list in the credential's own proof format (docs/conventions.md, Status lists).
        const credentialStatus = bitstringStatusListEntry({
          statusListCredential: body.credentialStatusId ?? w3cStatusListUri(config.issuerUrl, 'revocation', allocation!.number, jose ? 'jose' : 'data-integrity'),
          statusListIndex: allocation!.idx,
        });
        try {
          const request = {
            types: [body.credentialType],
            documentData: { type: body.credentialType, ...body.data },
            subjectDid: body.recipientDid,
            validFrom,
            validUntil,
            id: credentialId,
            credentialStatus,
            ...(body.onboardingId ? { extra: { onboardingId: body.onboardingId } } : {}),
          };
          let data: Record<string, unknown>;
          try {
            if (jose) {
              const jwt = (await issuance.makeVc20(request)).credential;
              data = { '@context': 'https://www.w3.org/ns/credentials/v2', id: `data:application/vc+jwt,${jwt}`, type: 'EnvelopedVerifiableCredential' };
            } else {
              data = (await issuance.makeVc20DataIntegrity({ ...request, ...(body.cryptosuite ? { cryptosuite: body.cryptosuite } : {}) })).credential;
            }
          } catch (err) {
            if (err instanceof CredentialInputError) throw new InvalidFormatError(err.message, { fields: [{ path: err.path ?? '(root)', message: err.message }] });
            throw err;
          }
          const record = await credentials.insert(
            {
              id: recordId,
              credential_id: credentialId,
              credential_type: body.credentialType,
              recipient_did: body.recipientDid,
              onboarding_id: body.onboardingId ?? null,
              client: principal.client,
              status_list_index: statusListIndex,
              valid_from: validFrom,
              valid_until: validUntil,
              data,
            },
            (trx, row) => statusLists.markIssued(trx, requestKey, [w3cCredentialRef(row.id)]),
          );
          if (!record) throw new ConflictError('A credential with this credentialId already exists', { credentialId });
          await audit.append({ requestId: res.locals.requestId, actor: `client:${principal.client}`, action: 'credential.create', method: req.method, path: req.path, status: 200, target: { id: record.id, credential_id: credentialId, type: body.credentialType }, clientIp: req.ip });
          res.locals.audited = true;
          return toResponse(record);
        } catch (err) {
          await statusLists.release(requestKey);
          throw err;
        }
      },
    }),

    defineRoute({
      method: 'get',
      path: '/api/v1/credentials/:id',
      operationId: 'getCredential',
      summary: 'Get a created credential by its id',
      description: 'Only the client that created the credential may read it; for any other client the id does not exist (404), so ids cannot be probed (OWASP API1:2023, broken object level authorization).',
      tags: TAG,
      security: 'bearer',
      params: CredentialIdParams,
      response: CredentialResponse,
      errors: [401, 404],
      handler: async ({ params, principal }) => {
        const record = await credentials.getOwned(params.id!, principal.client);
        if (!record) throw new RouteNotFoundError('No credential with this id', { id: params.id });
        return toResponse(record);
      },
    }),

    defineRoute({
      method: 'post',
      path: '/api/v1/credentials/:id/revoke',
      operationId: 'revokeCredential',
      summary: 'Revoke a created credential (its BitstringStatusList bit flips)',
      description:
        'Seed 001 credentials are revocable by default. Only the client that created the credential may revoke it (another client\'s id is 404). The bit of its `credentialStatus` entry in the served BitstringStatusListCredential (W3C Bitstring Status List v1.0; index 0 is the most significant bit of the first byte) is set within 2 seconds. Revocation is final: a second call is ALREADY_REVOKED (409). A credential created with its own `credentialStatusId` list is revoked on our list, which its credentialStatus does not name.',
      tags: TAG,
      security: 'bearer',
      params: CredentialIdParams,
      body: RevokeCredentialRequest,
      response: RevokeCredentialResponse,
      errors: [400, 401, 404, 409, 415],
      handler: async ({ params, body, principal, req, res }) => {
        const revokedAt = now();
        // The ownership check, the flip, its audit entry and its status event (the outbox of its webhooks): one atomic statement.
        const auditEntry = auditRow({ requestId: res.locals.requestId, actor: `client:${principal.client}`, action: 'credential.revoke', method: req.method, path: req.path, status: 200, target: { id: params.id!, ...(body?.reason ? { reason: body.reason } : {}) }, clientIp: req.ip });
        const outcome = await statusEvents.revokeOwnedCredential(params.id!, principal.client, auditEntry, revokedAt, deliveries.recordOptions(credentialEventSource(principal.client), 'credential.revoked'));
        if (!outcome) throw new RouteNotFoundError('No credential with this id', { id: params.id });
        const { credential, event } = outcome;
        if (!event) throw new AlreadyRevokedError('Credential already revoked', { id: credential.id });
        res.locals.audited = true;
        // The change mark after the commit (the statement above committed on its own).
        await statusLists.announceChange();
        // The `credential.revoked` webhook, to the issuer-wide subscribers that want it (ids only).
        await deliveries.start(event);
        const number = Math.floor(credential.status_list_index / STATUS_LIST_BITS);
        return { id: credential.id, status: 'revoked' as const, revokedAt: revokedAt.toISOString(), statusListCredential: w3cStatusListUri(config.issuerUrl, 'revocation', number, credential.data_integrity ? 'data-integrity' : 'jose'), statusListIndex: String(credential.status_list_index % STATUS_LIST_BITS) };
      },
    }),
  ];
}
