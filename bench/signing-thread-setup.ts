import type { IssuanceService } from '../src/credentials/issuance-service';
import { createSigningFixture, type SigningKeys } from './signing-fixture';

/** The issuance service of a signing thread of the benchmark's gRPC server: the fixture, over the server's keys. */
export async function createThreadIssuance(keys: SigningKeys): Promise<IssuanceService> {
  return (await createSigningFixture(keys)).issuance;
}
