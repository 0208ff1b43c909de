import type { Client } from '@temporalio/client';
import type proto from '@temporalio/proto';

type History = proto.temporal.api.history.v1.IHistory;

/**
 * A workflow history as text a test can search for secrets. Payloads (inputs, results, Update and
 * signal arguments, search attributes, markers) hold their content as bytes: `JSON.stringify` of a
 * fetched history prints them as numbers and a recorded fixture as base64, so searching either for
 * a secret can never fail. Here every payload's `data` is decoded to UTF-8, wherever it sits.
 */
export function historyText(history: History | unknown): string {
  return JSON.stringify(decodePayloads(history));
}

/** Each payload of a history decoded to text, alone: for short secrets (a 6-digit PIN) that any event id or time could contain. */
export function historyPayloadTexts(history: History | unknown): string[] {
  const texts: string[] = [];
  decodePayloads(history, undefined, texts);
  return texts;
}

/** The decoded text of a workflow's history (historyText), fetched through `client`. */
export async function fetchHistoryText(client: Client, workflowId: string, runId?: string): Promise<string> {
  return historyText(await client.workflow.getHandle(workflowId, runId).fetchHistory());
}

/** Whether `digits` (a PIN) appears in a payload of the history as a number of its own, not inside a longer one. */
export function historyHasNumber(history: History | unknown, digits: string): boolean {
  const pattern = new RegExp(`(?<![0-9A-Za-z])${digits}(?![0-9A-Za-z])`);
  return historyPayloadTexts(history).some((text) => pattern.test(text));
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodePayloads(value: unknown, key?: string, texts?: string[]): unknown {
  // A payload's bytes: a Uint8Array (a fetched history) or a base64 string (protobuf JSON, the recorded fixtures).
  if (key === 'data' && (value instanceof Uint8Array || (typeof value === 'string' && BASE64.test(value)))) {
    const text = Buffer.from(value instanceof Uint8Array ? value : Buffer.from(value, 'base64')).toString('utf8');
    texts?.push(text);
    return text;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map((v) => decodePayloads(v, undefined, texts));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodePayloads(v, k, texts)]));
  return value;
}
