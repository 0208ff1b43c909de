import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

/**
 * A workflow that does nothing but wait for one Update and complete: start + Update + completion
 * is the smallest round trip an issuance can make through Temporal. Benchmarks run it to print
 * Temporal's own ceiling on the machine beside their figures (docs/architecture.md, workflows).
 */
export const finishProbeUpdate = defineUpdate<string, [string]>('finish');

export async function ceilingProbeWorkflow(): Promise<string> {
  let done = false;
  setHandler(finishProbeUpdate, (value) => {
    done = true;
    return value;
  });
  await condition(() => done);
  return 'ok';
}
