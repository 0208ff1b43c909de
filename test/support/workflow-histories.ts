import { join } from 'node:path';
import proto from '@temporalio/proto';

const { temporal } = proto;

/** Where recorded workflow histories live: written by `npm run record-histories`, replayed by test/integration/workflow-replay.test.ts. */
export const HISTORIES_DIR = join(process.cwd(), 'test/fixtures/workflow-histories');

type History = proto.temporal.api.history.v1.IHistory;

// Plain protobuf JSON (enums as names, 64-bit ints and bytes as strings). The SDK's historyToJSON
// trips over the two protobufjs copies its packages bring, so the generated classes do the work.
export const historyToPlain = (history: History): unknown =>
  temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), { longs: String, enums: String, bytes: String });

export const historyFromPlain = (plain: unknown): proto.temporal.api.history.v1.History =>
  temporal.api.history.v1.History.fromObject(plain as Record<string, unknown>);
