import { condition, setHandler } from '@temporalio/workflow';
import { finishProbeUpdate } from './contracts/ceiling-probe';

/**
 * A workflow that does nothing but wait for `updates` Updates (default one) and complete: start +
 * Updates + completion is the smallest round trip an issuance can make through Temporal (an offer
 * takes two: redeem and issue). Benchmarks run it to print Temporal's own ceiling on the machine
 * beside their figures (docs/architecture.md, workflows).
 */
export async function ceilingProbeWorkflow(input: { updates?: number } = {}): Promise<string> {
  const wanted = input.updates ?? 1;
  let received = 0;
  setHandler(finishProbeUpdate, (value) => {
    received++;
    return value;
  });
  await condition(() => received >= wanted);
  return 'ok';
}
