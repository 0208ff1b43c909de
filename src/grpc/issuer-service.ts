import { fileURLToPath } from 'node:url';
import { endServerSpan, withServerSpan } from '../telemetry/tracing';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import type { Logger } from 'pino';

/**
 * The seed's IssuerService (`proto/issuer/v1/issuer.proto`) as typed handlers, and the adapter that
 * turns them into a grpc-js service. Transport only translates: handlers hold the use cases, this
 * file maps messages and errors to and from the wire.
 */

/**
 * Fully qualified service name, also the name the health service reports under: SUNET/vc's
 * package `v1.issuer`, which seed 000's generated Go client (`apiv1_issuer`) calls.
 */
export const ISSUER_SERVICE_NAME = 'v1.issuer.IssuerService';
/** This issuer's earlier name for the same service; served as an alias so its earlier clients keep working. */
export const ISSUER_SERVICE_ALIAS = 'issuer.v1.IssuerService';

const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));
const PROTO_FILE = 'issuer/v1/issuer.proto';

/**
 * Options the generated-type conventions assume: field names as in the proto, 64-bit integers as
 * strings, absent scalars as their proto3 defaults, and a virtual field naming the set oneof member.
 */
const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

// ---------------------------------------------------------------------------------------------
// Message types, as proto-loader hands them over with LOADER_OPTIONS. Requests are what a handler
// receives (every scalar present, empty when unset); replies are what a handler returns (proto3
// defaults may be left out).
// ---------------------------------------------------------------------------------------------

/** A public JWK; an empty string means the member is absent. There is deliberately no `d`. */
export interface Jwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  kid: string;
  alg: string;
  use: string;
  n: string;
  e: string;
}

export type Empty = Record<string, never>;

export interface MakeSDJWTRequest {
  scope: string;
  /** UTF-8 JSON claims. */
  documentData: Buffer;
  /** Holder key; null when the caller sent none. */
  jwk: Jwk | null;
  integrity: string;
  /** UTF-8 JSON type metadata; empty when none. */
  vctm: Buffer;
}

export interface Credential {
  /** Compact SD-JWT VC with its disclosures. */
  credential: string;
  disclosures?: string[];
}

/** Upstream's StatusAllocation, by name (LOADER_OPTIONS `enums: String`). */
export type StatusAllocation = 'STATUS_ALLOCATION_UNSPECIFIED' | 'STATUS_ALLOCATION_NONE' | 'STATUS_ALLOCATION_ALLOCATED';

export interface MakeSDJWTReply {
  credentials: Credential[];
  token_status_list_section?: number;
  token_status_list_index?: number;
  token_status_list_uri?: string;
  token_status_list_backend?: string;
  status_allocation?: StatusAllocation;
  valid_from?: string;
  valid_until?: string;
}

export interface MakeMDocRequest {
  scope: string;
  doc_type: string;
  /** UTF-8 JSON data elements. */
  document_data: Buffer;
  device_public_key: Buffer;
  /** "cose" (also when empty), "jwk" or "x509". */
  device_key_format: string;
  /** Upstream's mso_mdoc description (UTF-8 JSON) naming the doctype; empty when none. */
  mddl: Buffer;
}

export interface MakeMDocReply {
  /** IssuerSigned as CBOR. */
  mdoc: Uint8Array;
  status_list_section?: number;
  status_list_index?: number;
  valid_from?: string;
  valid_until?: string;
  status_list_uri?: string;
  status_list_backend?: string;
  status_allocation?: StatusAllocation;
}

export interface MakeVC20Request {
  scope: string;
  /** UTF-8 JSON credentialSubject claims. */
  document_data: Buffer;
  credential_types: string[];
  /** Which member of the `holder` oneof is set, if any. */
  holder?: 'subject_did' | 'jwk';
  subject_did?: string;
  jwk?: Jwk;
  valid_from: string;
  valid_until: string;
  /** Data Integrity cryptosuite (upstream's field 5); empty: JOSE. */
  cryptosuite: string;
  mandatory_pointers: string[];
}

export interface MakeVC20Reply {
  /** A compact JWS (`application/vc+jwt`), or with a cryptosuite the Data Integrity credential as JSON. */
  credential: string;
  credential_id?: string;
  status_list_section?: number;
  status_list_index?: number;
  valid_from?: string;
  valid_until?: string;
  status_list_uri?: string;
  status_list_backend?: string;
  status_allocation?: StatusAllocation;
}

export interface JwksReply {
  issuer?: string;
  /** Upstream's layout: a `keys` message whose field 1 is the keys. */
  jwks: { keys: Partial<Jwk>[] };
  /** The same keys, flat, for this issuer's earlier clients. */
  keys: Partial<Jwk>[];
}

export interface SignMetadataRequest {
  /** UTF-8 JSON object. */
  metadata_json: Buffer;
  metadata_type: string;
  iss: string;
  sub: string;
}

export interface SignMetadataReply {
  signed_metadata: string;
}

export interface GetIACAsReply {
  /** DER certificates. */
  certificates: Uint8Array[];
}

export interface SetCredentialStatusRequest {
  backend: string;
  status_list_uri: string;
  /** int64 as a decimal string (LOADER_OPTIONS `longs: String`). */
  section: string;
  index: string;
  status: number;
}

export type SetCredentialStatusReply = Record<string, never>;

/** What a handler may know about the call besides its message. */
export interface CallContext {
  /** Remote address, e.g. `ipv4:127.0.0.1:51234`. */
  peer: string;
  /** Request metadata (headers). */
  metadata: grpc.Metadata;
  /** Subject of the verified client certificate under mTLS, when there is one. */
  clientCertificateSubject?: string;
  /** The same subject's attributes as node parses them (`{ CN: 'apigw', O: 'Example' }`), for matching. */
  clientCertificateAttributes?: Readonly<Record<string, string | string[]>>;
  /** Aborted when the client cancels or the deadline passes, so work can stop early. */
  signal: AbortSignal;
}

/** One async function per RPC. A handler throws GrpcError for an expected failure; anything else is INTERNAL. */
export interface IssuerServiceHandlers {
  MakeSDJWT(request: MakeSDJWTRequest, context: CallContext): Promise<MakeSDJWTReply>;
  MakeMDoc(request: MakeMDocRequest, context: CallContext): Promise<MakeMDocReply>;
  MakeVC20(request: MakeVC20Request, context: CallContext): Promise<MakeVC20Reply>;
  JWKS(request: Empty, context: CallContext): Promise<JwksReply>;
  SignMetadata(request: SignMetadataRequest, context: CallContext): Promise<SignMetadataReply>;
  GetIACAs(request: Empty, context: CallContext): Promise<GetIACAsReply>;
  SetCredentialStatus(request: SetCredentialStatusRequest, context: CallContext): Promise<SetCredentialStatusReply>;
}

export type IssuerMethod = keyof IssuerServiceHandlers;

export const ISSUER_METHODS = ['MakeSDJWT', 'MakeMDoc', 'MakeVC20', 'JWKS', 'SignMetadata', 'GetIACAs', 'SetCredentialStatus'] as const satisfies readonly IssuerMethod[];

/** An error whose status code and message are meant for the caller. */
export class GrpcError extends Error {
  override readonly name = 'GrpcError';

  constructor(
    readonly code: grpc.status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Handlers for a server that is up before the credential formats are: every RPC says so. */
export function unimplementedHandlers(): IssuerServiceHandlers {
  const unimplemented = (method: IssuerMethod) => async (): Promise<never> => {
    throw new GrpcError(grpc.status.UNIMPLEMENTED, `${method} arrives with the credential formats`);
  };
  return Object.fromEntries(ISSUER_METHODS.map((method) => [method, unimplemented(method)])) as unknown as IssuerServiceHandlers;
}

let packageDefinition: PackageDefinition | undefined;

/** Parses the proto once; the definition is immutable, so sharing it is safe. */
function issuerPackageDefinition(): PackageDefinition {
  packageDefinition ??= loadSync(PROTO_FILE, { ...LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
  return packageDefinition;
}

/** The loaded `v1.issuer` package, for clients in tests and benchmarks: `pkg.v1.issuer.IssuerService`. */
export function loadIssuerProto(): grpc.GrpcObject {
  return grpc.loadPackageDefinition(issuerPackageDefinition());
}

/** The service definition a server registers. */
export function issuerServiceDefinition(): grpc.ServiceDefinition {
  return issuerPackageDefinition()[ISSUER_SERVICE_NAME] as grpc.ServiceDefinition;
}

/** The same service under ISSUER_SERVICE_ALIAS: the same messages, method paths `/issuer.v1.IssuerService/<Method>`. */
export function issuerServiceAliasDefinition(): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(issuerServiceDefinition()).map(([name, method]) => [name, { ...method, path: `/${ISSUER_SERVICE_ALIAS}/${name}` }]),
  ) as grpc.ServiceDefinition;
}

/** Message shown to callers for unexpected failures: internals stay in the server log. */
const INTERNAL_MESSAGE = 'internal error';

/**
 * Turns the handlers into a grpc-js implementation. Logs method, status and duration per call,
 * never request or reply bodies (they carry personal data).
 */
export function issuerServiceImplementation(
  handlers: IssuerServiceHandlers,
  logger: Logger,
): grpc.UntypedServiceImplementation {
  const log = logger.child({ service: ISSUER_SERVICE_NAME });
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of ISSUER_METHODS) {
    const handler = handlers[method].bind(handlers) as (request: unknown, context: CallContext) => Promise<unknown>;
    implementation[method] = unaryCall(method, handler, log);
  }
  return implementation;
}

function unaryCall(
  method: IssuerMethod,
  handler: (request: unknown, context: CallContext) => Promise<unknown>,
  log: Logger,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) =>
    // With tracing on, one server span per call (a child of the caller's traceparent metadata), src/telemetry/tracing.ts.
    withServerSpan(`${ISSUER_SERVICE_NAME}/${method}`, () => call.metadata.getMap(), { 'rpc.system': 'grpc', 'rpc.service': ISSUER_SERVICE_NAME, 'rpc.method': method }, (span) => {
      const started = process.hrtime.bigint();
      // Built on first use: most handlers read neither, and these cost measurable time per call.
      let abort: AbortController | undefined;
      let cancelled = false;
      call.on('cancelled', () => {
        cancelled = true;
        abort?.abort(CALL_CANCELLED);
      });
      // The certificate is taken now (the call's auth context ends with it); its subject is rendered on first read.
      const certificate = call.getAuthContext().sslPeerCertificate;
      let subject: { value: string | undefined } | undefined;
      const context: CallContext = {
        peer: call.getPeer(),
        metadata: call.metadata,
        get clientCertificateSubject() {
          subject ??= { value: renderSubject(certificate) };
          return subject.value;
        },
        get clientCertificateAttributes() {
          return certificate && Object.keys(certificate).length > 0 ? (certificate.subject as Record<string, string | string[]> | undefined) : undefined;
        },
        get signal() {
          if (!abort) {
            abort = new AbortController();
            if (cancelled) abort.abort(CALL_CANCELLED);
          }
          return abort.signal;
        },
      };
      const done = (code: grpc.status, extra: Record<string, unknown> = {}) => {
        const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
        const traceId = span?.spanContext().traceId;
        const fields = { method, code: grpc.status[code], durationMs, peer: context.peer, ...(traceId ? { traceId } : {}), ...extra };
        endServerSpan(span, code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN, { 'rpc.grpc.status_code': code });
        if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN) log.error(fields, 'grpc call failed');
        else log.info(fields, 'grpc call');
      };

      handler(call.request, context).then(
        (reply) => {
          done(grpc.status.OK);
          callback(null, reply);
        },
        (err: unknown) => {
          if (err instanceof GrpcError) {
            done(err.code);
            callback({ code: err.code, details: err.message });
            return;
          }
          // Unexpected: the caller learns only that it failed; the log keeps the cause.
          done(grpc.status.INTERNAL, { err });
          callback({ code: grpc.status.INTERNAL, details: INTERNAL_MESSAGE });
        },
      );
    });
}

/** One shared abort reason: creating an error (and its stack) per cancelled call is wasted work. */
const CALL_CANCELLED = new GrpcError(grpc.status.CANCELLED, 'call cancelled');

function renderSubject(certificate: ReturnType<grpc.ServerUnaryCall<unknown, unknown>['getAuthContext']>['sslPeerCertificate']): string | undefined {
  if (!certificate || Object.keys(certificate).length === 0) return undefined;
  // node's PeerCertificate.subject is an object of RDN attributes; render it the usual way.
  return Object.entries(certificate.subject ?? {})
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}
