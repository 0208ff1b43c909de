import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';

type UnaryMethod = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, reply?: unknown) => void) => void;

/** Calls a unary RPC of a proto-loader client by its method name, with a deadline. */
export function callUnary<T>(client: grpc.Client, method: string, request: object, deadlineMs: number): Promise<T> {
  const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
  assert.ok(fn, `client has no method ${method}`);
  return new Promise<T>((resolve, reject) => {
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, reply) => (err ? reject(err) : resolve(reply as T)));
  });
}

/** Asserts that a call fails with `code`; returns the error for further checks. */
export async function expectGrpcStatus(call: Promise<unknown>, code: grpc.status): Promise<grpc.ServiceError> {
  const err = await call.then(
    () => assert.fail(`expected ${grpc.status[code]}, the call succeeded`),
    (e: unknown) => e as grpc.ServiceError,
  );
  assert.equal(err.code, code, `expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
  return err;
}
