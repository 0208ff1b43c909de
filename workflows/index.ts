// Every workflow the worker runs. Re-exports only.
export * from './webhook-delivery';
export * from './credential-offer';
export * from './batch-offer';
export * from './ceiling-probe';
export * from './upkeep-purge';
export * from './revocation';
export * from './document-signer-renewal';
export * from './onboarding';
export { interactionWorkflow } from './interaction';
export * from './status-list-resign';
