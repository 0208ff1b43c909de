import { createRequire } from 'node:module';
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor, OpenTelemetryWorkflowClientInterceptor, makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';

/**
 * OpenTelemetry tracing (issue 21), on only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: spans go over
 * OTLP/HTTP to `<endpoint>/v1/traces`, named by `OTEL_SERVICE_NAME` (default `durable-issuer`).
 * One trace follows a request: the gateway's HTTP server span → the Temporal client interceptor
 * (start, signal, Update) → the workflow interceptor in the worker (run, handlers, activity
 * scheduling; its spans leave the sandbox through the `exporter` sink) → the activity interceptor.
 * The gRPC service opens a server span per call. Context travels in Temporal headers (W3C
 * traceparent), never in workflow inputs. Span attributes are methods, route templates, statuses
 * and workflow/activity types: the interceptors add workflow ids (business keys), no payloads.
 *
 * Without the variable nothing is installed: no tracer provider, no interceptors, no sink, and the
 * workflow bundle is the one without the interceptor module, so the worker runs as before.
 */
export interface Tracing {
  readonly serviceName: string;
  readonly tracer: Tracer;
  /** Where every span ends up (the OTLP exporter's batch processor, or a test's in-memory one). */
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
  /** Flushes and stops the exporter. */
  shutdown(): Promise<void>;
}

export interface TracingEnv {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
}

let active: Tracing | undefined;

/**
 * Installs tracing for this process if `env.OTEL_EXPORTER_OTLP_ENDPOINT` is set (or a test passes
 * `spanProcessor`); idempotent: the first call decides, later calls return what it installed. Every
 * part (gateway, worker, gRPC) calls it at start, so in `dev`, where they share a process, one
 * provider serves them all.
 */
export function configureTracing(env: TracingEnv, override?: { spanProcessor: SpanProcessor }): Tracing | undefined {
  if (active) return active;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint && !override) return undefined;
  const serviceName = env.OTEL_SERVICE_NAME || 'durable-issuer';
  const resource = new Resource({ 'service.name': serviceName });
  const spanProcessor = override?.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint!.replace(/\/+$/, '')}/v1/traces` }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  active = {
    serviceName,
    tracer: trace.getTracer('durable-issuer'),
    spanProcessor,
    resource,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
      active = undefined;
    },
  };
  return active;
}

/** The installed tracing, if any. */
export const activeTracing = (): Tracing | undefined => active;

/** The Temporal client interceptors (empty when tracing is off). */
export function temporalClientInterceptors(): { workflow: OpenTelemetryWorkflowClientInterceptor[] } | undefined {
  return active ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
}

const require = createRequire(import.meta.url);

/** The workflow interceptor module the workflow bundle includes when tracing is on. */
export const WORKFLOW_TRACING_MODULE = (): string => require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** Worker options for tracing: the activity interceptors and the sink that exports workflow spans (nothing when off). */
export function workerTracingOptions() {
  if (!active) return undefined;
  return {
    activityInterceptors: [(ctx: ConstructorParameters<typeof OpenTelemetryActivityInboundInterceptor>[0]) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
    sinks: { exporter: makeWorkflowExporter(active.spanProcessor, active.resource) },
  };
}

/**
 * Runs `fn` inside a server span `name` (a child of the W3C `traceparent` in `carrier`, if any;
 * a function is called only when tracing is on). The caller ends the span (endServerSpan) when its
 * answer is sent. Without tracing it just runs `fn`.
 */
export function withServerSpan<T>(name: string, carrier: Record<string, unknown> | (() => Record<string, unknown>), attributes: Record<string, string | number>, fn: (span: Span | undefined) => T): T {
  if (!active) return fn(undefined);
  const parent = propagation.extract(context.active(), typeof carrier === 'function' ? carrier() : carrier);
  const span = active.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  return context.with(trace.setSpan(parent, span), () => fn(span));
}

/** Ends a server span with its status (an error status for 5xx / failed calls). */
export function endServerSpan(span: Span | undefined, failed: boolean, attributes: Record<string, string | number> = {}): void {
  if (!span) return;
  span.setAttributes(attributes);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** The current trace id, for log lines (undefined without tracing or outside a span). */
export function currentTraceId(): string | undefined {
  if (!active) return undefined;
  const ctx = trace.getSpan(context.active())?.spanContext();
  return ctx && trace.isSpanContextValid(ctx) ? ctx.traceId : undefined;
}
