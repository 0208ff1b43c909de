import { defineUpdate } from '@temporalio/workflow';

/**
 * The contract of the ceiling probes (workflows/ceiling-probe.ts): the smallest shapes an issuance can
 * take through Temporal, which benchmarks run to print Temporal's own ceiling beside their figures.
 */
export const CEILING_PROBE_WORKFLOW_TYPE = 'ceilingProbeWorkflow';
export type CeilingProbeWorkflow = (input?: { updates?: number }) => Promise<string>;

/** Each Update answers its argument; the probe completes after `updates` of them (default 1). */
export const finishProbeUpdate = defineUpdate<string, [string]>('finish');
