import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Config } from '../../src/config/config';
import { createDocumentSignerRenewal } from '../../src/credentials/document-signer-renewal';
import { createIssuanceService, type IssuanceService } from '../../src/credentials/issuance-service';
import { createKeyStore, keyStoreOptions, type KeyStore } from '../../src/credentials/key-store';
import { MDL_DOCTYPE, MDL_NAMESPACE } from '../../src/credentials/mdoc-issuer';
import { createX509CrlRepository } from '../../src/db/x509-crl-repository';
import { createCrlService } from '../../src/x509/crl-service';
import { issuerIacaId } from '../../src/x509/x509-support';
import { documentSignerRenewalScheduleId, ensureDocumentSignerRenewalSchedule } from '../../src/worker/document-signer-renewal-schedule';
import { DOCUMENT_SIGNER_RENEWAL_WORKFLOW_TYPE, type DocumentSignerRenewalWorkflow } from '../../workflows/contracts/document-signer-renewal';
import { checkValueDigests, decodeIssuerSigned, verifyIssuerAuth } from '../support/credential-verifiers';
import { openssl } from '../support/openssl';
import { fetchHistoryText } from '../support/history-text';
import { createTestDatabase, loadTestConfig, testConfigFile, testEnv, uniqueName } from '../support/test-services';
import { startTestWorker, type TestWorker } from '../support/test-worker';

/**
 * The Document Signer renewal Schedule (issue 20): a Temporal Schedule runs
 * `documentSignerRenewalWorkflow`, which replaces the issuer's active Document Signer when its
 * certificate expires within DOCUMENT_SIGNER_RENEWAL_MARGIN_DAYS (here 366 days, so the first run is
 * due): a new key and certificate under the same IACA, the old one retired but kept, never revoked.
 * An mdoc signed before and one signed after the renewal both verify against the IACA with the
 * independent verifier of test/support/credential-verifiers.ts (ISO/IEC 18013-5 §9.1.2: COSE_Sign1
 * over the MSO, x5chain to the IACA), and both Document Signers pass `openssl verify -crl_check`
 * with the IACA's CRL (RFC 5280 §6.3).
 */
const MDL_DOCUMENT = JSON.parse(readFileSync(new URL('../fixtures/credentials/mdl-document.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const derToPem = (der: Buffer) => `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`;

describe('Document Signer renewal by a Temporal Schedule, on a real Temporal server and PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let config: Config;
  let worker: TestWorker;
  let keyStore: KeyStore;
  let issuance: IssuanceService;
  let holderJwk: JWK;
  const taskQueue = uniqueName('ds-renewal');

  before(async () => {
    database = await createTestDatabase();
    config = loadTestConfig(testConfigFile(), { DATABASE_URL: database.url, TEMPORAL_ADDRESS: testEnv().temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, ISSUER_URL: 'https://issuer.example.org', DOCUMENT_SIGNER_RENEWAL_MARGIN_DAYS: '366' });
    worker = await startTestWorker(config, database.db);
    // A long-lived signing process of its own (as the gRPC service or another worker is), re-reading the active key often.
    keyStore = createKeyStore({ ...keyStoreOptions(config, database.db), refreshIntervalMs: 100 });
    await keyStore.ensureProvisioned();
    issuance = createIssuanceService({ config, keyStore });
    holderJwk = await exportJWK((await generateKeyPair('ES256')).publicKey);
  });
  after(async () => {
    await worker?.client.schedule.getHandle(documentSignerRenewalScheduleId(taskQueue)).delete().catch(() => undefined);
    await worker?.close();
    await database?.drop();
  });

  const activeDs = async () => (await database.db('signing_keys').where({ purpose: 'document_signer', state: 'active' }).first()) as { kid: string; certificate_pem: string };
  /** An mDL signed now by the issuance service, verified independently; answers its Document Signer certificate. */
  const signAndVerify = async () => {
    const issued = await issuance.makeMdoc({ docType: MDL_DOCTYPE, documentData: MDL_DOCUMENT, holderJwk });
    return verifyMdoc(issued.issuerSigned);
  };
  const verifyMdoc = async (issuerSigned: Uint8Array) => {
    const { nameSpaces, issuerAuth, mso } = decodeIssuerSigned(issuerSigned);
    assert.equal(mso.get('docType'), MDL_DOCTYPE);
    assert.equal(checkValueDigests(nameSpaces, mso).get(MDL_NAMESPACE)?.get('family_name'), MDL_DOCUMENT.family_name);
    return verifyIssuerAuth(issuerAuth, await keyStore.iacaCertificatesPem());
  };

  let first: { issuerSigned: Uint8Array; dsSerial: string; kid: string; pem: string };

  test('a run whose Document Signer is not due changes nothing (NOT_DUE) and an mdoc signed now verifies against the IACA', async () => {
    const ds = await activeDs();
    const issued = await issuance.makeMdoc({ docType: MDL_DOCTYPE, documentData: MDL_DOCUMENT, holderJwk });
    const leaf = await verifyMdoc(issued.issuerSigned);
    first = { issuerSigned: issued.issuerSigned, dsSerial: leaf.serialNumber, kid: ds.kid, pem: ds.certificate_pem };

    const result = await worker.client.workflow.execute<DocumentSignerRenewalWorkflow>(DOCUMENT_SIGNER_RENEWAL_WORKFLOW_TYPE, { taskQueue, workflowId: uniqueName('ds-renewal-not-due'), args: [{ marginDays: 30 }] });
    assert.equal(result.state, 'DONE');
    assert.equal(result.check?.decision, 'NOT_DUE');
    assert.equal(result.check?.kid, ds.kid);
    assert.equal(result.renewed, undefined);
    assert.equal((await activeDs()).kid, ds.kid);
  });

  test('the Schedule renews the Document Signer (margin from DOCUMENT_SIGNER_RENEWAL_MARGIN_DAYS): new key and certificate, the old one retired and kept; mdocs from before and after verify against the IACA', async () => {
    const { created } = await ensureDocumentSignerRenewalSchedule(worker.client, { taskQueue, every: '1s' });
    assert.ok(created);
    assert.equal((await ensureDocumentSignerRenewalSchedule(worker.client, { taskQueue, every: '1s' })).created, false, 'a second worker start leaves it');
    let renewed = first.kid;
    for (let i = 0; i < 200 && renewed === first.kid; i++, await sleep(100)) renewed = (await activeDs()).kid;
    await worker.client.schedule.getHandle(documentSignerRenewalScheduleId(taskQueue)).pause('test: one renewal is enough');
    assert.notEqual(renewed, first.kid, 'the scheduled run replaced the Document Signer');

    const old = await database.db('signing_keys').where({ kid: first.kid }).first();
    assert.equal(old.state, 'retired');
    assert.ok(new Date(old.not_after) >= new Date(new X509Certificate(first.pem).validTo), 'kept at least until its certificate expires');

    // The long-lived signer picks the new active Document Signer without a restart.
    let leaf = await signAndVerify();
    for (let i = 0; i < 50 && leaf.serialNumber === first.dsSerial; i++, await sleep(100)) leaf = await signAndVerify();
    assert.notEqual(leaf.serialNumber, first.dsSerial, 'signed with the new Document Signer');
    // The mdoc signed before the renewal still verifies, and both Document Signers are under the same IACA.
    const oldLeaf = await verifyMdoc(first.issuerSigned);
    assert.equal(oldLeaf.serialNumber, first.dsSerial);
    assert.equal(leaf.issuer, oldLeaf.issuer, 'under the same IACA');

    // Renewal never revokes: both Document Signers pass openssl verify -crl_check with the IACA's CRL.
    const iaca = (await database.db('signing_keys').where({ purpose: 'iaca', state: 'active' }).first()) as { kid: string; certificate_pem: string };
    const crls = createCrlService({ repo: createX509CrlRepository(database.db), kms: { open: async () => undefined }, issuerIacaKey: (kid) => keyStore.openIaca(kid), issuerUrl: config.issuerUrl });
    const crl = await crls.currentCrl(issuerIacaId(iaca.kid));
    assert.ok(crl);
    for (const pem of [first.pem, (await activeDs()).certificate_pem]) {
      const v = openssl(['verify', '-x509_strict', '-crl_check', '-CAfile', { file: 'iaca.pem', content: iaca.certificate_pem }, '-CRLfile', { file: 'crl.pem', content: derToPem(crl.der) }, { file: 'ds.pem', content: pem }]);
      assert.equal(v.status, 0, v.stdout + v.stderr);
    }
    // Both are records of the X.509 service under the IACA.
    const recorded = (await database.db('x509_document_signers').where({ iaca_id: issuerIacaId(iaca.kid) }).select('serial_number')) as { serial_number: string }[];
    assert.ok(recorded.length >= 2);
    assert.ok(recorded.some((r) => r.serial_number === first.dsSerial.toLowerCase()));

    const audit = await database.db('audit_log').where({ action: 'x509.document_signer.renew' }).orderBy('id').first();
    assert.equal(audit?.actor, 'worker:document-signer-renewal');
  });

  test('renewal is idempotent (a stale kid rotates nothing) and refuses to churn under an expiring IACA; the workflow history holds kids and serials, never key material', async () => {
    const current = (await activeDs()).kid;
    const renewal = createDocumentSignerRenewal({ db: database.db, keyStore });
    const again = await renewal.renew(first.kid);
    assert.equal(again.rotated, false);
    assert.equal(again.kid, current);
    assert.equal((await activeDs()).kid, current);

    // Near the IACA's own end a new Document Signer could not outlive it: the check says so and nothing rotates.
    const iaca = (await database.db('signing_keys').where({ purpose: 'iaca', state: 'active' }).first()) as { certificate_pem: string };
    const iacaEnd = new Date(new X509Certificate(iaca.certificate_pem).validTo).getTime();
    const late = await createDocumentSignerRenewal({ db: database.db, keyStore, now: () => new Date(iacaEnd - 10 * 86_400_000) }).check(90);
    assert.equal(late.decision, 'IACA_EXPIRING');
    assert.equal(late.kid, current);

    let runId: string | undefined;
    for await (const execution of worker.client.workflow.list({ query: `WorkflowType = '${DOCUMENT_SIGNER_RENEWAL_WORKFLOW_TYPE}' AND TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Completed'` })) {
      const result = (await worker.client.workflow.getHandle(execution.workflowId, execution.runId).result()) as Awaited<ReturnType<DocumentSignerRenewalWorkflow>>;
      if (result.renewed?.rotated) runId = execution.workflowId;
    }
    assert.ok(runId, 'a scheduled run rotated');
    const history = await fetchHistoryText(worker.client, runId);
    assert.match(history, /renewDocumentSigner/);
    assert.doesNotMatch(history, /PRIVATE KEY|"d":|BEGIN CERTIFICATE/);
  });
});
