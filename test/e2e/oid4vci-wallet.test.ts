import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, type JWK, type JSONWebKeySet, jwtVerify } from 'jose';
import { preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';
import { type IssuerMetadataResult, Openid4vciVersion } from '@openid4vc/openid4vci';
import type { Client } from '@temporalio/client';
import { createLogger } from '../../src/logger';
import { type RunningPart, startGateway } from '../../src/main/issuer-parts';
import { freePort } from '../../src/runtime/free-port';
import { offerStateQuery } from '../../workflows/contracts/credential-offer';
import { checkValueDigests, decodeIssuerSigned, verifyIssuerAuth, verifySdJwtVc } from '../support/credential-verifiers';
import { createWallet } from '../support/oid4vci-wallet';
import { createTestDatabase, loadTestConfig, TEST_DEV_API_KEY, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startSmtpReceiver } from '../support/smtp-receiver';
import { startTestWorker, type TestWorker } from '../support/test-worker';

/**
 * The whole pre-authorized code flow of OpenID4VCI 1.0, driven by an independent wallet library —
 * the OpenWallet Foundation's `@openid4vc/openid4vci` (oid4vc-ts) in its V1 mode — against the
 * running gateway, worker, Temporal, PostgreSQL and a real SMTP receiver, for every credential
 * format the test configuration offers. Our own code only plays the authentic source (upload,
 * notification) and checks the credentials with independent verifiers.
 */
const bodyOf = (res: Response): Promise<any> => res.json();

const startSmtp = startSmtpReceiver;

const IDENTITY = { authentic_source_person_id: 'P-1', family_name: 'Smith', given_name: 'Alice', birth_date: '1990-05-15' };

/** One document per format of the test configuration; the credential configuration id is the vct / doctype (DESIGN §7). */
const FORMATS = [
  {
    configurationId: 'urn:eudi:diploma:1',
    format: 'dc+sd-jwt',
    documentId: 'wallet-diploma',
    email: 'diploma-holder@example.org',
    document_data: { degree_type: 'Bachelor of Science', field_of_study: 'Computer Science', issuing_institution: 'Example University', graduation_date: '2025-05-15' },
  },
  {
    configurationId: 'org.iso.18013.5.1.mDL',
    format: 'mso_mdoc',
    documentId: 'wallet-mdl',
    email: 'mdl-holder@example.org',
    document_data: {
      family_name: 'Smith',
      given_name: 'Alice',
      birth_date: '1990-05-15',
      issue_date: '2024-01-01',
      expiry_date: '2034-01-01',
      issuing_country: 'SE',
      issuing_authority: 'Transportstyrelsen',
      document_number: 'SE1234567',
      driving_privileges: [{ vehicle_category_code: 'B', issue_date: '2020-01-01', expiry_date: '2030-01-01' }],
      un_distinguishing_sign: 'S',
    },
  },
  {
    configurationId: 'EmploymentCredential',
    format: 'jwt_vc_json',
    documentId: 'wallet-employment',
    email: 'vc-holder@example.org',
    document_data: { employer: 'Example AB', jobTitle: 'Engineer' },
  },
] as const;
type Format = (typeof FORMATS)[number];

describe('an independent OpenID4VCI 1.0 wallet (@openid4vc/openid4vci, V1) against the running issuer', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let gateway: RunningPart;
  let worker: TestWorker;
  let temporal: Client;
  let issuerUrl: string;

  before(async () => {
    database = await createTestDatabase();
    smtp = await startSmtp();
    const port = await freePort();
    issuerUrl = `http://127.0.0.1:${port}`;
    const taskQueue = uniqueName('wallet');
    const config = loadTestConfig(
      testConfigFile((f) => {
        f.issuer = { pre_authorized_code: { enabled: true, pin_required: true, code_ttl: 300 } };
      }),
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, PORT: String(port), SMTP_URL: smtp.url, ISSUER_URL: issuerUrl },
    );
    worker = await startTestWorker(config, database.db);
    temporal = worker.client;
    gateway = await startGateway(config, createLogger('silent'));
    assert.equal(new URL(gateway.url!).port, String(port), 'the gateway listens on the port that ISSUER_URL names');
  });
  after(async () => {
    await gateway?.close();
    await worker?.close();
    await new Promise((r) => smtp?.server.close(() => r(undefined)));
    await database?.drop();
  });

  /** The authentic source's part (seed 000): upload the document, ask for an offer, hand the deep link to the wallet. */
  const offerDeepLink = async (f: Format): Promise<string> => {
    const upload = await fetch(`${issuerUrl}/api/v1/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({ meta: { authentic_source: 'hr.example.org', vct: f.configurationId, document_id: f.documentId }, identities: [{ ...IDENTITY, email: f.email }], document_data: f.document_data }),
    });
    assert.equal(upload.status, 200, JSON.stringify(await bodyOf(upload)));
    const notification = await fetch(`${issuerUrl}/api/v1/notification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_DEV_API_KEY },
      body: JSON.stringify({ authentic_source: 'hr.example.org', vct: f.configurationId, document_id: f.documentId }),
    });
    const body = await bodyOf(notification);
    assert.equal(notification.status, 200, JSON.stringify(body));
    assert.match(body.qr.deep_link, /^openid-credential-offer:\/\/\?credential_offer_uri=/);
    return body.qr.deep_link as string;
  };

  /** The holder reads the PIN from the e-mail the issuer sent (one per offer, to the identity's address). */
  const pinFromMail = async (to: string): Promise<string> => {
    for (let i = 0; i < 100; i++) {
      const mail = smtp.mails.find((m) => m.to.includes(to));
      const pin = mail && /\b(\d{6})\b/.exec(mail.text)?.[1];
      if (pin) return pin;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no PIN e-mail for ${to}`);
  };

  const jwks = async (): Promise<JSONWebKeySet> => bodyOf(await fetch(`${issuerUrl}/.well-known/jwks.json`));

  test('the library resolves our Credential Issuer Metadata (§12.2) and Authorization Server Metadata (RFC 8414) as OpenID4VCI V1, with every configuration valid for its format (Appendix A)', async () => {
    const wallet = createWallet();
    let metadata: IssuerMetadataResult;
    try {
      metadata = await wallet.client.resolveIssuerMetadata(issuerUrl);
    } catch (err) {
      assert.fail(`resolveIssuerMetadata rejected our metadata: ${(err as Error).message}\n${wallet.transcript()}`);
    }
    assert.equal(metadata.originalDraftVersion, Openid4vciVersion.V1);
    assert.equal(metadata.credentialIssuer.credential_issuer, issuerUrl);
    assert.equal(metadata.authorizationServers.length, 1);
    assert.equal(metadata.authorizationServers[0]!.issuer, issuerUrl);
    assert.equal(metadata.authorizationServers[0]!['pre-authorized_grant_anonymous_access_supported'], true);
    for (const f of FORMATS) {
      const known = metadata.knownCredentialConfigurations[f.configurationId];
      assert.ok(known, `the library drops configuration ${f.configurationId} as invalid for its format ${f.format}`);
      assert.equal(known.format, f.format);
    }
  });

  for (const f of FORMATS) {
    test(`the wallet takes an offer of ${f.configurationId} (${f.format}) by reference (§4.1.3), redeems the pre-authorized code with the e-mailed tx_code (§6.1), proves its key with a nonce (§7, Appendix F.1), receives the credential (§8) and reports credential_accepted (§11)`, async () => {
      const wallet = createWallet();
      const { client } = wallet;
      const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
        try {
          return await run();
        } catch (err) {
          const e = err as Error & { response?: unknown; errorResponse?: unknown };
          assert.fail(`${name} failed: ${e.message}${e.errorResponse ? ` ${JSON.stringify(e.errorResponse)}` : ''}\n--- exchanges ---\n${wallet.transcript()}`);
        }
      };

      // §4.1.3: the wallet dereferences credential_offer_uri from the deep link.
      const deepLink = await offerDeepLink(f);
      const offer = await step('resolveCredentialOffer', () => client.resolveCredentialOffer(deepLink));
      assert.equal(offer.credential_issuer, issuerUrl);
      assert.deepEqual(offer.credential_configuration_ids, [f.configurationId]);
      const grant = offer.grants?.[preAuthorizedCodeGrantIdentifier];
      assert.ok(grant, 'the offer has a pre-authorized code grant');
      assert.deepEqual(grant.tx_code, { input_mode: 'numeric', length: 6, description: 'Enter the PIN sent to your email' });

      // §12.2.2 and RFC 8414 §3: metadata from the issuer identifier in the offer.
      const issuerMetadata = await step('resolveIssuerMetadata', () => client.resolveIssuerMetadata(offer.credential_issuer));
      assert.equal(issuerMetadata.originalDraftVersion, Openid4vciVersion.V1);

      // §6.1: token request with the pre-authorized code and the PIN the holder read in the e-mail.
      const txCode = await pinFromMail(f.email);
      const { accessTokenResponse } = await step('retrievePreAuthorizedCodeAccessTokenFromOffer', () =>
        client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata, txCode }),
      );
      assert.equal(accessTokenResponse.token_type, 'Bearer');
      const handle = temporal.workflow.getHandle(`offer/hr.example.org/${f.configurationId}/${f.documentId}`);
      assert.equal((await handle.query(offerStateQuery)).state, 'REDEEMED');

      // §7: a fresh c_nonce from the nonce endpoint; Appendix F.1: the key proof the library builds.
      const { c_nonce } = await step('requestNonce', () => client.requestNonce({ issuerMetadata }));
      const signer = await wallet.newKey();
      const { jwt: proofJwt } = await step('createCredentialRequestJwtProof', () =>
        client.createCredentialRequestJwtProof({ issuerMetadata, credentialConfigurationId: f.configurationId, signer, nonce: c_nonce }),
      );
      assert.equal(decodeProtectedHeader(proofJwt).typ, 'openid4vci-proof+jwt');

      // §8.2: credential request by credential_configuration_id with proofs.jwt; §8.3: credentials[] and notification_id.
      const { credentialResponse } = await step('retrieveCredentials', () =>
        client.retrieveCredentials({ issuerMetadata, accessToken: accessTokenResponse.access_token, credentialConfigurationId: f.configurationId, proofs: { jwt: [proofJwt] } }),
      );
      const request = JSON.parse(wallet.exchanges.find((e) => e.url.endsWith('/credential'))!.requestBody!);
      assert.deepEqual(Object.keys(request).sort(), ['credential_configuration_id', 'proofs'], 'the library speaks the 1.0 request shape');
      assert.equal(credentialResponse.credentials?.length, 1, JSON.stringify(credentialResponse));
      assert.equal(typeof credentialResponse.notification_id, 'string');
      const entry = credentialResponse.credentials![0]!;
      assert.ok(typeof entry === 'object' && 'credential' in entry, '§8.3: each entry of credentials[] is an object with a credential');
      const credential = entry.credential;
      assert.equal(typeof credential, 'string');
      const holderThumbprint = await calculateJwkThumbprint(signer.publicJwk as JWK);

      if (f.format === 'dc+sd-jwt') {
        // SD-JWT VC: signature by a key the JWKS publishes, digests of every disclosure, bound to the proof key.
        const verified = await verifySdJwtVc(credential as string, await jwks(), { issuer: issuerUrl });
        assert.equal(verified.payload.vct, f.configurationId);
        assert.equal(verified.claims.field_of_study, 'Computer Science');
        assert.equal(await calculateJwkThumbprint((verified.payload.cnf as { jwk: JWK }).jwk), holderThumbprint);
      } else if (f.format === 'mso_mdoc') {
        // Appendix A.2: base64url IssuerSigned whose issuerAuth chains to a published IACA.
        const { iacas } = await bodyOf(await fetch(`${issuerUrl}/.well-known/iacas`));
        const { nameSpaces, issuerAuth, mso } = decodeIssuerSigned(Buffer.from(credential as string, 'base64url'));
        assert.equal(mso.get('docType'), f.configurationId);
        await verifyIssuerAuth(issuerAuth, iacas);
        const elements = checkValueDigests(nameSpaces, mso).get('org.iso.18013.5.1')!;
        assert.equal(elements.get('family_name'), 'Smith');
        assert.equal(elements.get('issuing_country'), 'SE');
        assert.equal(elements.get('document_number'), 'SE1234567');
        const deviceKey = mso.get('deviceKeyInfo').get('deviceKey') as Map<number, unknown>;
        assert.deepEqual(Buffer.from(deviceKey.get(-2) as Uint8Array).toString('base64url'), signer.publicJwk.x, 'the MSO device key is the proof key');
      } else {
        // Appendix A.1.1: a W3C VC secured as a JWT, signed by a key the JWKS publishes.
        assert.equal(decodeProtectedHeader(credential as string).typ, 'vc+jwt');
        const { payload } = await jwtVerify(credential as string, createLocalJWKSet(await jwks()));
        assert.deepEqual(payload.type, ['VerifiableCredential', 'EmploymentCredential']);
        assert.equal((payload.credentialSubject as Record<string, unknown>).employer, 'Example AB');
      }

      // §11: the wallet tells the issuer it accepted the credential; the offer's workflow completes with that event.
      await step('sendNotification', () =>
        client.sendNotification({ issuerMetadata, accessToken: accessTokenResponse.access_token, notification: { notificationId: credentialResponse.notification_id!, event: 'credential_accepted' } }),
      );
      const final = await handle.result();
      assert.equal(final.state, 'ISSUED');
      assert.equal(final.credentialsIssued, 1);
      assert.deepEqual(final.walletEvents, ['credential_accepted']);
    });
  }
});
