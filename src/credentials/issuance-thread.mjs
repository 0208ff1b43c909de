// Entry of an issuance pool thread (issuance-pool.ts). Worker threads do not inherit the tsx loader
// the process started with (`node --import tsx`), so register it here before loading TypeScript.
import { register } from 'tsx/esm/api';

register();
const thread = await import('./issuance-thread.ts');

export default thread.runIssuanceTask;
