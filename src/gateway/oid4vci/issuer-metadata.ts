import type { Config } from '../../config/config';
import { MAX_BATCH } from '../../../workflows/contracts/credential-offer';
import { DPOP_SIGNING_ALGS } from '../../oid4vci/dpop';
import { PROOF_SIGNING_ALGS } from '../../oid4vci/proof-jwt';


/**
 * Credential Issuer Metadata (OpenID4VCI 1.0 §12.2): one credential configuration per configured
 * type, its id the vct / doctype (docs/conventions.md, Ids), with `credential_metadata` display and
 * claims taken from the type metadata (VCTM).
 */
export function credentialIssuerMetadata(config: Config): Record<string, unknown> {
  const url = config.issuerUrl;
  const configurations: Record<string, unknown> = {};
  for (const [vct, type] of config.credentialTypes) {
    const metadata = type.vctm?.metadata;
    // Without type metadata the scope name is the display name: every configuration carries
    // `credential_metadata`, which is how 1.0 clients tell this metadata from draft versions.
    const display = (metadata?.display ?? [{ name: type.scope, lang: 'en' }]).map((d) => ({ name: d.name, locale: (d as { locale?: string; lang?: string }).locale ?? (d as { lang?: string }).lang, ...(d.description ? { description: d.description } : {}) }));
    const claims = metadata?.claims?.map((c) => ({ path: c.path, ...(c.mandatory ? { mandatory: true } : {}), ...(c.display ? { display: c.display.map((d) => ({ name: (d as { label?: string; name?: string }).label ?? (d as { name?: string }).name, locale: (d as { locale?: string; lang?: string }).locale ?? (d as { lang?: string }).lang })) } : {}) }));
    const common = {
      scope: type.scope,
      proof_types_supported: { jwt: { proof_signing_alg_values_supported: [...PROOF_SIGNING_ALGS] } },
      credential_metadata: { display, ...(claims ? { claims } : {}) },
    };
    switch (type.format) {
      case 'mso_mdoc':
        // Appendix A.2: COSE algorithm numbers for mdoc (-7 = ES256).
        configurations[vct] = { format: 'mso_mdoc', doctype: vct, cryptographic_binding_methods_supported: ['cose_key'], credential_signing_alg_values_supported: [-7], ...common };
        break;
      case 'jwt_vc_json':
        configurations[vct] = { format: 'jwt_vc_json', credential_definition: { type: ['VerifiableCredential', vct] }, cryptographic_binding_methods_supported: ['jwk', 'did:jwk'], credential_signing_alg_values_supported: ['ES256'], ...common };
        break;
      case 'ldp_vc':
        // Appendix A.1.2: W3C VC secured with Data Integrity; the suites stand where JOSE names algorithms.
        // The holder is bound as credentialSubject.id, a did:jwk of the proof key.
        configurations[vct] = {
          format: 'ldp_vc',
          credential_definition: { '@context': ['https://www.w3.org/ns/credentials/v2'], type: ['VerifiableCredential', vct] },
          cryptographic_binding_methods_supported: ['did:jwk'],
          credential_signing_alg_values_supported: ['ecdsa-rdfc-2019'],
          ...common,
        };
        break;
      case 'dc+sd-jwt':
        configurations[vct] = { format: 'dc+sd-jwt', vct, cryptographic_binding_methods_supported: ['jwk'], credential_signing_alg_values_supported: ['ES256'], ...common };
        break;
      default:
        throw new Error(`no credential configuration for format ${(type.format satisfies never) as string}`);
    }
  }
  return {
    credential_issuer: url,
    credential_endpoint: `${url}/credential`,
    // §12.2.4: where a deferred credential (seed 002 postponed interaction) is collected.
    deferred_credential_endpoint: `${url}/deferred_credential`,
    nonce_endpoint: `${url}/nonce`,
    notification_endpoint: `${url}/notification`,
    batch_credential_issuance: { batch_size: MAX_BATCH },
    display: [{ name: config.file.issuer.name }],
    credential_configurations_supported: configurations,
  };
}

/** OAuth 2.0 Authorization Server Metadata (RFC 8414) for the pre-authorized code grant (OpenID4VCI 1.0 §12.3). */
export function authorizationServerMetadata(config: Config): Record<string, unknown> {
  return {
    issuer: config.issuerUrl,
    token_endpoint: `${config.issuerUrl}/token`,
    grant_types_supported: ['urn:ietf:params:oauth:grant-type:pre-authorized_code'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['none'],
    'pre-authorized_grant_anonymous_access_supported': true,
    dpop_signing_alg_values_supported: DPOP_SIGNING_ALGS,
    // draft-ietf-oauth-status-list §9.3: where the issuer's Token Status Lists are listed.
    status_list_aggregation_endpoint: `${config.issuerUrl}/status-lists/token`,
  };
}
