import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { activeTracing, configureTracing, currentTraceId, temporalClientInterceptors, withServerSpan, workerTracingOptions } from '../../src/telemetry/tracing';

/**
 * Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (issue 21; docs/conventions.md): no
 * tracer provider, no propagator, no Temporal interceptors, no workflow sink, no spans.
 */
test('without OTEL_EXPORTER_OTLP_ENDPOINT tracing is fully off', () => {
  assert.equal(configureTracing({ OTEL_SERVICE_NAME: 'ignored-without-endpoint' }), undefined);
  assert.equal(activeTracing(), undefined);
  assert.equal(temporalClientInterceptors(), undefined, 'the Temporal client gets no interceptor');
  assert.equal(workerTracingOptions(), undefined, 'the worker gets no activity interceptor, no sink, and the plain bundle');
  const span = trace.getTracer('probe').startSpan('probe');
  assert.equal(span.isRecording(), false, 'the global tracer is the no-op one');
  assert.equal(trace.isSpanContextValid(span.spanContext()), false);
  span.end();
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  assert.deepEqual(carrier, {}, 'no traceparent is sent anywhere');
  assert.equal(withServerSpan('GET /x', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }, {}, (s) => s), undefined, 'no server span');
  assert.equal(currentTraceId(), undefined);
});

test('with OTEL_EXPORTER_OTLP_ENDPOINT it is on, named by OTEL_SERVICE_NAME, and a shutdown turns it off again', async () => {
  // Nothing listens on port 9 (discard); no span is ended here, so nothing is sent.
  const tracing = configureTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/', OTEL_SERVICE_NAME: 'issuer-unit' });
  assert.ok(tracing);
  assert.equal(tracing.serviceName, 'issuer-unit');
  assert.equal(tracing.resource.attributes['service.name'], 'issuer-unit');
  assert.equal(configureTracing({}), tracing, 'the first call decides; later parts of the process share it');
  assert.ok(temporalClientInterceptors()?.workflow.length === 1);
  assert.ok(workerTracingOptions()?.sinks.exporter);
  const traceId = withServerSpan('GET /x', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }, {}, (s) => {
    assert.ok(s?.isRecording());
    return currentTraceId();
  });
  assert.equal(traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'the caller\'s traceparent is continued');
  await tracing.shutdown();
  assert.equal(activeTracing(), undefined);
  assert.equal(trace.getTracer('probe').startSpan('after').isRecording(), false);
});
