import { z } from 'zod';
import { ApplicationBody, ChallengeAnswer, FileBody, LoginBody } from './kyc-router';

const schema = (s: z.ZodType) => {
  const json = z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
};
const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const ok = (description: string, properties: Record<string, unknown>) => ({ description, content: { 'application/json': { schema: { type: 'object', properties, required: Object.keys(properties) } } } });
const WALLET_HEADERS = [
  { name: 'User-Agent', in: 'header', required: false, schema: { type: 'string' }, description: 'SelfkeyIDW/<wallet version>; checked against kyc.user_agent_pattern when configured' },
  { name: 'Origin', in: 'header', required: false, schema: { type: 'string' }, description: 'Web page origin or IDW; must be one of kyc.allowed_origins when that is not empty' },
];
const TAG = ['KYC (seed 004)'];
const COMMON = { 400: error('INVALID_FORMAT: malformed body, headers, file or attributes (details.fields)'), 401: error('UNAUTHORIZED: missing or invalid token, signature or Origin'), 429: error('RATE_LIMITED'), 500: error('INTERNAL_ERROR') };
const wallet = [{ kycWallet: [] }];
const multipartUser = {
  type: 'object',
  properties: { attributes: { type: 'string', contentMediaType: 'application/json', description: 'JSON array of {id, data: {value}}; a value string "$<part name>" references a file part' } },
  required: ['attributes'],
  additionalProperties: { type: 'string', contentMediaType: 'application/octet-stream', description: 'file parts named $document-1, ... (PDF, PNG or JPEG by content)' },
};

/** OpenAPI operations of the KYC router (src/gateway/kyc/kyc-router.ts), which reads multipart bodies and so sits outside the route registry. */
export function kycOpenApiPaths(): Record<string, Record<string, unknown>> {
  return {
    '/kyc/auth/challenge': {
      get: { operationId: 'kycGetChallenge', summary: 'A challenge JWT: sub the client IP, nbf, exp, a random base64 nonce (single use)', tags: TAG, security: [], parameters: WALLET_HEADERS, responses: { 200: ok('C-JWT', { jwt: { type: 'string' } }), ...COMMON } },
      post: {
        operationId: 'kycAnswerChallenge',
        summary: 'Answer the challenge with a signature over its nonce: EIP-191 personal_sign (hex) or a compact JWS (ES256, ES256K, EdDSA) with the public jwk in its header',
        tags: TAG,
        security: [{ kycChallenge: [] }],
        parameters: WALLET_HEADERS,
        requestBody: { required: true, content: { 'application/json': { schema: schema(ChallengeAnswer) } } },
        responses: { 200: ok('W-JWT; sub is the wallet: its Ethereum address, or urn:ietf:params:oauth:jwk-thumbprint:sha-256:<thumbprint>', { jwt: { type: 'string' } }), ...COMMON },
      },
    },
    '/kyc/users': {
      post: { operationId: 'kycCreateUser', summary: 'Create the wallet\'s user with attributes and files (multipart/form-data)', tags: TAG, security: wallet, parameters: WALLET_HEADERS, requestBody: { required: true, content: { 'multipart/form-data': { schema: multipartUser } } }, responses: { 201: ok('User created', { message: { type: 'string' }, token: { type: 'string' } }), ...COMMON } },
    },
    '/kyc/auth/token': {
      get: { operationId: 'kycUserToken', summary: 'The wallet\'s user token', tags: TAG, security: wallet, parameters: WALLET_HEADERS, responses: { 200: ok('User token', { token: { type: 'string' } }), 404: error('NOT_FOUND: no user for this wallet'), ...COMMON } },
    },
    '/kyc/login': {
      post: { operationId: 'kycLogin', summary: 'Exchange a user token for the browser redirect URL', tags: TAG, security: wallet, parameters: WALLET_HEADERS, requestBody: { required: true, content: { 'application/json': { schema: schema(LoginBody) } } }, responses: { 200: ok('Redirect', { redirectUrl: { type: 'string' } }), 404: error('NOT_FOUND: no user for this wallet'), ...COMMON } },
    },
    '/kyc/templates': {
      get: { operationId: 'kycTemplates', summary: 'The configured KYC templates', tags: TAG, security: [], responses: { 200: ok('Templates', { templates: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, credentialType: { type: 'string' } } } } }) } },
    },
    '/kyc/templates/{templateId}/schema.json': {
      get: { operationId: 'kycTemplateSchema', summary: 'One template with the JSON Schema of its attributes (keyed by attribute id)', tags: TAG, security: [], parameters: [{ name: 'templateId', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: ok('Template', { template: { type: 'object' } }), 404: error('NOT_FOUND: no such template') } },
    },
    '/kyc/files': {
      post: {
        operationId: 'kycUploadFile',
        summary: 'Upload a file (multipart part `file`, or JSON {"file": "<base64>"}); PDF, PNG or JPEG by content, at most kyc.files.max_bytes',
        tags: TAG,
        security: wallet,
        parameters: WALLET_HEADERS,
        requestBody: { required: true, content: { 'application/json': { schema: schema(FileBody) }, 'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'string', contentMediaType: 'application/octet-stream' } }, required: ['file'] } } } },
        responses: { 200: ok('Stored', { fileId: { type: 'string', format: 'uuid' } }), ...COMMON },
      },
    },
    '/kyc/applications': {
      post: {
        operationId: 'kycApply',
        summary: 'Apply with a template: attributes (merged over the user\'s) referring to uploaded files by fileId; starts the onboarding workflow',
        tags: TAG,
        security: wallet,
        parameters: WALLET_HEADERS,
        requestBody: { required: true, content: { 'application/json': { schema: schema(ApplicationBody) } } },
        responses: { 201: ok('Application created', { message: { type: 'string' }, applicationId: { type: 'string', format: 'uuid' } }), 409: error('CONFLICT: the wallet has a live application for this template'), ...COMMON },
      },
    },
    '/kyc/applications/{applicationId}': {
      get: { operationId: 'kycApplication', summary: 'The application\'s state; while OFFERED, the credential offer deep link (the PIN comes by e-mail)', tags: TAG, security: wallet, parameters: [{ name: 'applicationId', in: 'path', required: true, schema: { type: 'string' } }, ...WALLET_HEADERS], responses: { 200: ok('Application', { applicationId: { type: 'string' }, templateId: { type: 'string' }, state: { type: 'string' } }), 404: error('NOT_FOUND'), ...COMMON } },
    },
    '/kyc/applications/{applicationId}/withdraw': {
      post: { operationId: 'kycWithdraw', summary: 'Withdraw the application (an open offer is cancelled)', tags: TAG, security: wallet, parameters: [{ name: 'applicationId', in: 'path', required: true, schema: { type: 'string' } }, ...WALLET_HEADERS], responses: { 200: ok('Withdrawn', { message: { type: 'string' } }), 404: error('NOT_FOUND'), 409: error('CONFLICT: the application has ended'), ...COMMON } },
    },
  };
}

