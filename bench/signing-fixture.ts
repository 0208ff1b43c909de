import type { Config } from '../src/config/config';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/config';
import { createDevPki } from '../src/credentials/dev-pki';
import { createIssuanceService, type IssuanceService, type MakeMdocRequest, type MakeSdJwtRequest, type MakeVc20Request } from '../src/credentials/issuance-service';
import type { KeyStore } from '../src/credentials/key-store';
import { createLocalSigner, generateEs256PrivateJwk, type CredentialSigner, type Es256PrivateJwk } from '../src/credentials/signer';

/**
 * What the signing benchmark issues, identical in the measuring process and the gRPC server child:
 * a configuration with one SD-JWT VC type whose VCTM makes 10 claims selectively disclosable, the mDL
 * and a VC 2.0 type, and an in-memory key store over fresh development keys (no database: the
 * figures are about signing, not about PostgreSQL).
 */
export const SD_JWT_CLAIMS = {
  given_name: 'Erika',
  family_name: 'Mustermann',
  birth_date: '1984-01-26',
  email: 'erika@example.org',
  phone_number: '+46 70 123 45 67',
  nationality: 'SE',
  employee_id: 'E-000123',
  department: 'Research',
  job_title: 'Senior engineer',
  employment_start: '2019-03-01',
};

export const MDL_CLAIMS = {
  family_name: 'Andersson',
  given_name: 'Anna',
  birth_date: '1985-04-12',
  issue_date: '2024-01-15',
  expiry_date: '2034-01-14',
  issuing_country: 'SE',
  issuing_authority: 'Transportstyrelsen',
  document_number: 'SE1234567',
  driving_privileges: [{ vehicle_category_code: 'B', issue_date: '2004-05-01', expiry_date: '2034-01-14' }],
  un_distinguishing_sign: 'S',
};

export const VC20_SUBJECT = { givenName: 'Erika', familyName: 'Mustermann', birthDate: '1984-01-26', nationality: 'SE' };

/** The fixture's signing keys, so the signing threads of the benchmark's gRPC server sign with the same ones. */
export interface SigningKeys {
  credential: Es256PrivateJwk;
  documentSigner: { privateJwk: Es256PrivateJwk; x5c: string[] };
}

export interface SigningFixture {
  config: Config;
  issuance: IssuanceService;
  keys: SigningKeys;
  credentialSigner: CredentialSigner;
  holderJwk: { kty: string; crv: string; x: string; y: string };
  sdJwt: MakeSdJwtRequest;
  mdoc: MakeMdocRequest;
  vc20: MakeVc20Request;
}

export async function createSigningFixture(givenKeys?: SigningKeys): Promise<SigningFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'issuer-bench-'));
  const vctm = {
    vct: 'urn:example:bench-record:1',
    name: 'Benchmark record',
    claims: Object.keys(SD_JWT_CLAIMS).map((name) => ({ path: [name], sd: 'always' })),
  };
  writeFileSync(join(dir, 'vctm.json'), JSON.stringify(vctm));
  writeFileSync(
    join(dir, 'issuer.yaml'),
    stringify({
      environment: 'development',
      authentic_sources: {
        'bench.example.org': {
          identifier: 'bench.example.org',
          country_code: 'SE',
          api_key_hash: `sha256:${'0'.repeat(64)}`,
          credential_types: {
            bench_record: { vct: vctm.vct, vctm_path: 'vctm.json', format: 'dc+sd-jwt' },
            mdl: { vct: 'org.iso.18013.5.1.mDL', format: 'mso_mdoc' },
            identity_credential: { vct: 'IdentityCredential', format: 'jwt_vc_json' },
          },
        },
      },
    }),
  );
  const config = loadConfig({ ISSUER_CONFIG: join(dir, 'issuer.yaml'), ISSUER_DATA_DIR: join(dir, 'data'), ISSUER_URL: 'https://issuer.example.org', LOG_LEVEL: 'silent' });

  const keys = givenKeys ?? (await newSigningKeys(config.issuerUrl));
  const credentialSigner = await createLocalSigner(keys.credential);
  const documentSigner = await createLocalSigner(keys.documentSigner.privateJwk, { x5c: keys.documentSigner.x5c });
  const keyStore: Pick<KeyStore, 'signer' | 'jwks'> = {
    signer: async (purpose) => (purpose === 'credential' ? credentialSigner : documentSigner),
    jwks: async () => ({ keys: [credentialSigner.publicJwk] }),
  };
  const issuance = createIssuanceService({ config, keyStore });

  const { kty, crv, x, y } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const holderJwk = { kty: kty!, crv: crv!, x: x!, y: y! };
  return {
    config,
    issuance,
    keys,
    credentialSigner,
    holderJwk,
    sdJwt: { scope: 'bench_record', documentData: SD_JWT_CLAIMS, holderJwk },
    mdoc: { docType: 'org.iso.18013.5.1.mDL', documentData: MDL_CLAIMS, holderJwk },
    vc20: { types: ['IdentityCredential'], documentData: VC20_SUBJECT, subjectDid: 'did:example:ebfeb1f712ebc6f1c276e12ec21' },
  };
}

async function newSigningKeys(issuerUrl: string): Promise<SigningKeys> {
  const pki = await createDevPki({ country: 'SE', issuerUrl });
  return { credential: generateEs256PrivateJwk(), documentSigner: { privateJwk: pki.documentSigner.privateJwk, x5c: pki.documentSigner.x5c } };
}
