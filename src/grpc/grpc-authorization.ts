import * as grpc from '@grpc/grpc-js';
import type { Config } from '../config/config';
import { GrpcError, type CallContext } from './issuer-service';

/**
 * Who may call the IssuerService, and for what (issue 15, finding 1). Decided on the gRPC thread
 * before any signing is dispatched to the signing threads.
 *
 * - `mapped` (the gRPC server requires client certificates, GRPC_TLS_CA): the certificate's subject
 *   must be listed under `grpc_clients.<name>.subjects`; that client may call the scopes it lists.
 *   No certificate: UNAUTHENTICATED (the TLS handshake already refuses most such callers); a
 *   certificate no client lists: PERMISSION_DENIED, as is a scope the client does not list.
 * - `open` (development without client certificates, which startGrpc refuses in production): every
 *   configured scope is served to whoever reaches the port, which is loopback unless GRPC_HOST says
 *   otherwise.
 *
 * In both modes a scope is a configured credential type (by name or vct): anything else is NOT_FOUND.
 */

export type GrpcAccessMode = 'mapped' | 'open';

/** The caller of one call, as the audit log records it. */
export interface GrpcCaller {
  /** `grpc:<client name>` for a mapped client, `grpc:local` in open mode. */
  actor: string;
  /** The client certificate's subject (RFC 4514 rendering), when there is one. */
  subject?: string;
  /** vcts this caller may issue; undefined means every configured type (open mode). */
  vcts?: ReadonlySet<string>;
  signMetadata: boolean;
}

export interface GrpcAccessPolicy {
  readonly mode: GrpcAccessMode;
  /** The caller, or UNAUTHENTICATED / PERMISSION_DENIED. */
  identify(context: CallContext): GrpcCaller;
  /** The vct of `scope` (a type name or vct) of `format`, when this caller may issue it. */
  authorizeScope(caller: GrpcCaller, scope: string, format: string, field?: string): string;
  /** For MakeVC20's explicit types: each must be a configured `jwt_vc_json` vct this caller may issue. */
  authorizeVct(caller: GrpcCaller, vct: string, format: string, field: string): string;
  authorizeSignMetadata(caller: GrpcCaller): void;
  /** For SetCredentialStatus: the caller must be one that may issue the entry's credential type (its scopes). */
  authorizeStatusChange(caller: GrpcCaller, vct: string): void;
}

type Subject = ReadonlyMap<string, string>;

/** "CN=apigw, O=Example" → Map{CN→apigw, O→Example} (the RFC 4514 subset `mtls_subjects` uses). */
export function parseSubject(subject: string): Subject {
  return new Map(
    subject.split(/\s*,\s*/).map((rdn) => {
      const eq = rdn.indexOf('=');
      return [rdn.slice(0, eq).trim().toUpperCase(), rdn.slice(eq + 1).trim()] as [string, string];
    }),
  );
}

/** A certificate's subject as node parses it (one member per attribute) in the same form. */
function certificateSubject(attributes: Readonly<Record<string, string | string[]>>): Subject {
  return new Map(Object.entries(attributes).map(([key, value]) => [key.toUpperCase(), Array.isArray(value) ? value.join('+') : value]));
}

/** Same attributes with the same values: a listed subject never matches a certificate with more or fewer. */
function sameSubject(a: Subject, b: Subject): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

export function createGrpcAccessPolicy(config: Pick<Config, 'file' | 'credentialTypes'>, mode: GrpcAccessMode): GrpcAccessPolicy {
  const { credentialTypes } = config;
  const byScopeName = new Map<string, string[]>();
  for (const [vct, type] of credentialTypes) byScopeName.set(type.scope, [...(byScopeName.get(type.scope) ?? []), vct]);

  /** A scope name or vct as the vct it names (NOT_FOUND when none, INVALID_ARGUMENT when ambiguous). */
  const vctOf = (scope: string, field: string): string => {
    if (credentialTypes.has(scope)) return scope;
    const vcts = byScopeName.get(scope) ?? [];
    if (vcts.length === 0) throw new GrpcError(grpc.status.NOT_FOUND, `${field}: no credential type "${scope}" is configured`);
    if (vcts.length > 1) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `${field}: "${scope}" is configured by several authentic sources; name it by vct (${vcts.join(', ')})`);
    return vcts[0]!;
  };

  const clients = Object.entries(config.file.grpc_clients).map(([name, client]) => ({
    name,
    subjects: client.subjects.map(parseSubject),
    vcts: new Set(client.scopes.map((scope) => vctOf(scope, `grpc_clients.${name}.scopes`))),
    signMetadata: client.sign_metadata,
  }));

  const LOCAL: GrpcCaller = { actor: 'grpc:local', signMetadata: true };

  const permitted = (caller: GrpcCaller, vct: string, field: string): string => {
    if (caller.vcts && !caller.vcts.has(vct)) throw new GrpcError(grpc.status.PERMISSION_DENIED, `${field}: ${caller.actor} may not issue "${vct}"`);
    return vct;
  };

  const ofFormat = (vct: string, format: string, field: string, given: string): string => {
    const type = credentialTypes.get(vct)!;
    if (type.format !== format) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `${field}: "${given}" is a ${type.format} credential type, not ${format}`);
    return vct;
  };

  return {
    mode,
    identify(context) {
      if (mode === 'open') return LOCAL;
      const attributes = context.clientCertificateAttributes;
      if (!attributes) throw new GrpcError(grpc.status.UNAUTHENTICATED, 'a client certificate is required');
      const subject = certificateSubject(attributes);
      const rendered = context.clientCertificateSubject;
      const client = clients.find((c) => c.subjects.some((listed) => sameSubject(listed, subject)));
      if (!client) throw new GrpcError(grpc.status.PERMISSION_DENIED, `client certificate "${rendered ?? ''}" is not listed under grpc_clients`);
      return { actor: `grpc:${client.name}`, ...(rendered ? { subject: rendered } : {}), vcts: client.vcts, signMetadata: client.signMetadata };
    },
    authorizeScope(caller, scope, format, field = 'scope') {
      if (!scope) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `${field}: required`);
      return permitted(caller, ofFormat(vctOf(scope, field), format, field, scope), field);
    },
    authorizeVct(caller, vct, format, field) {
      if (!credentialTypes.has(vct)) throw new GrpcError(grpc.status.INVALID_ARGUMENT, `${field}: "${vct}" is not a configured ${format} credential type`);
      return permitted(caller, ofFormat(vct, format, field, vct), field);
    },
    authorizeStatusChange(caller, vct) {
      permitted(caller, vct, 'status_list_uri');
    },
    authorizeSignMetadata(caller) {
      if (!caller.signMetadata) throw new GrpcError(grpc.status.PERMISSION_DENIED, `${caller.actor} may not sign metadata (grpc_clients.<name>.sign_metadata)`);
    },
  };
}
