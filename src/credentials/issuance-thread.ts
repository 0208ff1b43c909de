import { workerData } from 'node:worker_threads';
import { CredentialInputError, type CredentialInputErrorCode } from './credential-errors';
import type { IssuanceService } from './issuance-service';

/**
 * Inside an issuance pool thread (issuance-pool.ts): builds this thread's IssuanceService once and
 * runs the calls the pool hands over. Input errors are answered as data (a structured clone keeps an
 * error's message but not its class); anything else is thrown and reaches the caller as a failure.
 */

export type IssuanceTask =
  | { method: 'makeSdJwt'; request: Parameters<IssuanceService['makeSdJwt']>[0] }
  | { method: 'makeMdoc'; request: Parameters<IssuanceService['makeMdoc']>[0] }
  | { method: 'makeVc20'; request: Parameters<IssuanceService['makeVc20']>[0] }
  | { method: 'makeVc20DataIntegrity'; request: Parameters<IssuanceService['makeVc20DataIntegrity']>[0] }
  | { method: 'signMetadata'; request: Parameters<IssuanceService['signMetadata']>[0] }
  | { method: 'iacaCertificates'; request?: undefined }
  | { method: 'jwks'; request?: undefined };

export type IssuanceTaskResult = { value: unknown } | { inputError: { code: CredentialInputErrorCode; message: string; path?: string } };

interface ThreadSetup {
  createThreadIssuance(data: unknown): Promise<IssuanceService>;
}

const { setupModule, setupData } = workerData as { setupModule: string; setupData: unknown };

// A failed setup is kept, not thrown: every call then fails with it, and the pool reports it at start.
const issuance: Promise<IssuanceService> = import(setupModule).then((setup: ThreadSetup) => setup.createThreadIssuance(setupData));
issuance.catch(() => undefined);

export async function runIssuanceTask(task: IssuanceTask): Promise<IssuanceTaskResult> {
  const service = await issuance;
  try {
    switch (task.method) {
      case 'makeSdJwt':
        return { value: await service.makeSdJwt(task.request) };
      case 'makeMdoc':
        return { value: await service.makeMdoc(task.request) };
      case 'makeVc20':
        return { value: await service.makeVc20(task.request) };
      case 'makeVc20DataIntegrity':
        return { value: await service.makeVc20DataIntegrity(task.request) };
      case 'jwks':
        return { value: await service.jwks() };
      case 'signMetadata':
        return { value: await service.signMetadata(task.request) };
      case 'iacaCertificates':
        return { value: await service.iacaCertificates() };
    }
  } catch (err) {
    if (err instanceof CredentialInputError) return { inputError: { code: err.code, message: err.message, ...(err.path !== undefined ? { path: err.path } : {}) } };
    throw err;
  }
}
