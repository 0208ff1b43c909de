/**
 * The compose deployment and the Dockerfile agree with the code: the commands our image runs,
 * the environment variables it reads (src/config/env.ts), its ports, the services it talks to,
 * the start order, and the Temporal search attributes the workflows set. Docker is not run here;
 * these checks catch the drift that would only show on a user's machine (a renamed variable,
 * a renamed service, a folder missing from the image).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ENV_NAMES, EnvSchema } from '../../src/config/env';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes';
import { registry } from '../../src/metrics/metrics';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { target: number | string; published?: number | string; host_ip?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
  volumes?: string[];
}

// `merge: true` resolves the `<<: *issuer-service` merge keys as Docker Compose does.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const dockerfile = read('Dockerfile');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
const defaults = EnvSchema.parse({});

/** Compose variable interpolation: `${X:-default}` gives the default, `${X:?msg}` a stand-in secret. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (_, fallback: string | undefined) => fallback ?? '')
    .replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}/g, 'a-required-secret-of-enough-length')
    .replace(/\$\$/g, '$');
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)] as const)
    : Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)] as const);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v)]));
}

const words = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : value.trim().split(/\s+/);

/** Everything a service runs, as one text (entrypoint, command and healthcheck), for content checks. */
const scriptOf = (service: Service) => [...words(service.entrypoint), ...words(service.command)].join('\n');

function containerPorts(service: Service): number[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return Number(port.target);
    // [ip:][host:]container[/protocol]
    const spec = String(port).split('/')[0]!;
    return Number(spec.split(':').at(-1));
  });
}

function publishedPort(service: Service, containerPort: number): number | undefined {
  for (const port of service.ports ?? []) {
    if (typeof port === 'object') {
      if (Number(port.target) === containerPort) return Number(port.published ?? port.target);
      continue;
    }
    const parts = String(port).split('/')[0]!.split(':');
    if (Number(parts.at(-1)) === containerPort) return Number(parts.length > 1 ? parts.at(-2) : parts[0]);
  }
  return undefined;
}

function dependenciesOf(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d?.condition ?? 'service_started']));
}

/** The one service whose image matches, so a rename in compose is caught by the host checks. */
function serviceNamed(describe: string, matches: (image: string) => boolean): string {
  const found = Object.entries(services).filter(([, s]) => s.image !== undefined && matches(s.image));
  assert.equal(found.length, 1, `exactly one ${describe} service, found ${found.map(([n]) => n).join(', ') || 'none'}`);
  return found[0]![0];
}

const ours = Object.entries(services).filter(([, s]) => s.build !== undefined);
const commandOf = (name: string) => words(services[name]?.command)[0];
const ourServiceRunning = (command: string) => {
  const found = ours.filter(([name]) => commandOf(name) === command);
  assert.equal(found.length, 1, `exactly one service built from the Dockerfile runs \`${command}\``);
  return found[0]!;
};

/** How package.json runs the CLI (`start`: `node --import tsx src/cli.ts`), and the commands its scripts use. */
const CLI_RUN = (pkg.scripts.start ?? '').trim().split(/\s+/);
const CLI_ENTRY = CLI_RUN.at(-1);
const CLI_COMMANDS = new Set(
  Object.values(pkg.scripts).flatMap((script) => {
    const m = /\bsrc\/cli\.ts ([a-z-]+)/.exec(script);
    return m ? [m[1]!] : [];
  }),
);

test('the CLI commands known from package.json are the ones the deployment relies on', () => {
  assert.equal(CLI_ENTRY, 'src/cli.ts');
  assert.ok(existsSync(join(ROOT, CLI_ENTRY)), 'src/cli.ts exists');
  for (const command of ['dev', 'gateway', 'worker', 'grpc', 'migrate']) {
    assert.ok(CLI_COMMANDS.has(command), `package.json has a script running \`tsx src/cli.ts ${command}\``);
  }
});

test('every service built from our Dockerfile runs a command the CLI knows', () => {
  assert.ok(ours.length >= 4, 'migrate, gateway, worker and grpc are built from the Dockerfile');
  for (const [name, service] of ours) {
    assert.equal(service.entrypoint, undefined, `${name} keeps the image's entrypoint (the CLI)`);
    const command = words(service.command);
    assert.equal(command.length, 1, `${name} runs exactly one CLI command`);
    assert.ok(CLI_COMMANDS.has(command[0]!), `${name} runs \`${command[0]}\`, which the CLI does not know`);
  }
  for (const command of ['migrate', 'gateway', 'worker', 'grpc']) ourServiceRunning(command);
});

test('every environment variable set on our services is one the issuer reads (ENV_NAMES)', () => {
  const known = new Set<string>(ENV_NAMES);
  for (const [name, service] of ours) {
    const env = environmentOf(service);
    assert.ok(Object.keys(env).length > 0, `${name} sets its environment`);
    for (const variable of Object.keys(env)) {
      assert.ok(known.has(variable), `${name} sets ${variable}, which src/config/env.ts does not read`);
    }
  }
});

test('the environment of each of our services passes EnvSchema', () => {
  for (const [name, service] of ours) {
    const result = EnvSchema.safeParse(environmentOf(service));
    assert.ok(result.success, `${name}: ${result.error?.message}`);
    for (const required of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL', 'ISSUER_URL', 'ISSUER_CONFIG']) {
      assert.ok(environmentOf(service)[required], `${name} sets ${required} (otherwise dev-only fallbacks apply)`);
    }
  }
});

test('the gateway publishes the PORT it listens on and grpc the GRPC_PORT', () => {
  const [gatewayName, gateway] = ourServiceRunning('gateway');
  const port = Number(environmentOf(gateway).PORT ?? defaults.PORT);
  assert.equal(port, 8080);
  assert.deepEqual(containerPorts(gateway), [port], `${gatewayName} publishes container port ${port}`);
  assert.equal(publishedPort(gateway, port), 8080);

  const [grpcName, grpc] = ourServiceRunning('grpc');
  const grpcPort = Number(environmentOf(grpc).GRPC_PORT ?? defaults.GRPC_PORT);
  assert.equal(grpcPort, 9090);
  assert.deepEqual(containerPorts(grpc), [grpcPort], `${grpcName} publishes container port ${grpcPort}`);
  assert.equal(publishedPort(grpc, grpcPort), 9090);

  const exposed = /^EXPOSE\s+(.+)$/m.exec(dockerfile)?.[1]?.split(/\s+/).map(Number) ?? [];
  assert.ok(exposed.includes(port) && exposed.includes(grpcPort), 'the Dockerfile EXPOSEs PORT and GRPC_PORT');
});

test('grpc listens on every interface inside its container (GRPC_HOST) and, plaintext with the dev configuration, is published on the host\'s loopback only', () => {
  const [grpcName, grpc] = ourServiceRunning('grpc');
  const env = environmentOf(grpc);
  assert.equal(env.GRPC_HOST, '0.0.0.0', `${grpcName}: the container's published port must reach the server`);
  if (!env.GRPC_TLS_CA) {
    const published = (grpc.ports ?? []).map((port) => (typeof port === 'object' ? String(port.host_ip ?? '') : String(port).split(':').slice(0, -2).join(':')));
    assert.deepEqual(published, ['127.0.0.1'], `${grpcName}: without GRPC_TLS_CA the signing service must not be published beyond the host`);
  }
});

test('the gateway healthcheck probes /readyz on PORT and the grpc one the health service on GRPC_PORT', () => {
  const [, gateway] = ourServiceRunning('gateway');
  const gatewayProbe = words(gateway.healthcheck?.test).join(' ');
  assert.match(gatewayProbe, new RegExp(`http://127\\.0\\.0\\.1:${defaults.PORT}/readyz`));

  const [, grpc] = ourServiceRunning('grpc');
  const grpcProbe = words(grpc.healthcheck?.test).join(' ');
  assert.match(grpcProbe, new RegExp(`127\\.0\\.0\\.1:${defaults.GRPC_PORT}`));
  assert.match(grpcProbe, /grpc\.health\.v1/);
  // Names the probe resolves inside the image must be runtime dependencies.
  const deps = (JSON.parse(read('package.json')) as { dependencies: Record<string, string> }).dependencies;
  for (const module of ['@grpc/grpc-js', '@grpc/proto-loader', 'grpc-health-check']) {
    assert.ok(deps[module], `${module} is a runtime dependency (the image omits devDependencies)`);
  }
});

test('DATABASE_URL, TEMPORAL_ADDRESS and SMTP_URL point at the PostgreSQL, Temporal and mail services', () => {
  const postgres = serviceNamed('PostgreSQL', (image) => /^postgres:/.test(image));
  const temporal = serviceNamed('Temporal server', (image) => /^temporalio\/(server|auto-setup):/.test(image));
  const mail = serviceNamed('mail', (image) => /mailpit/.test(image));
  const postgresEnv = environmentOf(services[postgres]!);

  for (const [name, service] of ours) {
    const env = environmentOf(service);

    const db = new URL(env.DATABASE_URL!);
    assert.equal(db.hostname, postgres, `${name}: DATABASE_URL host is the ${postgres} service`);
    assert.equal(db.port || '5432', '5432');
    assert.equal(decodeURIComponent(db.username), postgresEnv.POSTGRES_USER ?? 'postgres');
    assert.equal(decodeURIComponent(db.password), postgresEnv.POSTGRES_PASSWORD);
    assert.equal(db.pathname, `/${postgresEnv.POSTGRES_DB ?? postgresEnv.POSTGRES_USER}`);

    const [temporalHost, temporalPort] = env.TEMPORAL_ADDRESS!.split(':');
    assert.equal(temporalHost, temporal, `${name}: TEMPORAL_ADDRESS host is the ${temporal} service`);
    assert.equal(temporalPort, '7233');

    const smtp = new URL(env.SMTP_URL!);
    assert.equal(smtp.hostname, mail, `${name}: SMTP_URL host is the ${mail} service`);
    assert.equal(smtp.port, '1025', 'Mailpit accepts SMTP on 1025');
  }
});

test('every depends_on target exists, and every service_healthy target has a healthcheck', () => {
  for (const [name, service] of Object.entries(services)) {
    for (const [target, condition] of Object.entries(dependenciesOf(service))) {
      const dependency = services[target];
      assert.ok(dependency, `${name} depends on ${target}, which is not a service`);
      assert.ok(
        ['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition),
        `${name} -> ${target}: unknown condition ${condition}`,
      );
      if (condition === 'service_healthy') {
        assert.ok(dependency.healthcheck?.test && !dependency.healthcheck.disable, `${target} has a healthcheck (${name} waits for it)`);
      }
      if (condition === 'service_completed_successfully') {
        assert.ok(
          !['always', 'unless-stopped'].includes(dependency.restart ?? 'no'),
          `${target} is a one-shot (${name} waits for it to exit), so it must not restart always`,
        );
      }
    }
  }
});

test('the migrate one-shot runs to completion before gateway, worker and grpc start', () => {
  const [migrate, migrateService] = ourServiceRunning('migrate');
  assert.ok(!['always', 'unless-stopped'].includes(migrateService.restart ?? 'no'), 'migrate exits and stays down');
  for (const command of ['gateway', 'worker', 'grpc']) {
    const [name, service] = ourServiceRunning(command);
    assert.equal(dependenciesOf(service)[migrate], 'service_completed_successfully', `${name} waits for ${migrate} to succeed`);
  }
});

test('the search attribute registration covers every key of SEARCH_ATTRIBUTES, in our namespace, before our services start', () => {
  const registrars = Object.entries(services).filter(([, s]) => scriptOf(s).includes('search-attribute create'));
  assert.equal(registrars.length, 1, 'one one-shot service registers the search attributes');
  const [registrar, service] = registrars[0]!;
  const script = scriptOf(service);

  for (const [key, type] of Object.entries(SEARCH_ATTRIBUTES)) {
    assert.match(script, new RegExp(`\\bregister\\s+${key}\\s+${type}\\b`), `${registrar} registers ${key} as ${type}`);
  }
  const registered = [...script.matchAll(/\bregister\s+([A-Za-z]+)\s+[A-Za-z]+\s*$/gm)].map((m) => m[1]);
  assert.deepEqual(registered.sort(), Object.keys(SEARCH_ATTRIBUTES).sort(), 'no stale attribute is registered');

  const temporal = serviceNamed('Temporal server', (image) => /^temporalio\/(server|auto-setup):/.test(image));
  assert.equal(dependenciesOf(service)[temporal], 'service_healthy', `${registrar} waits for a healthy ${temporal}`);
  assert.equal(environmentOf(service).TEMPORAL_ADDRESS?.split(':')[0], temporal);

  for (const [name, ourService] of ours) {
    const namespace = environmentOf(ourService).TEMPORAL_NAMESPACE ?? defaults.TEMPORAL_NAMESPACE;
    const namespaces = new Set([...script.matchAll(/--namespace\s+(\S+)/g)].map((m) => m[1]));
    assert.deepEqual([...namespaces], [namespace], `${registrar} works in ${name}'s namespace ${namespace}`);
    if (commandOf(name) !== 'migrate') {
      assert.equal(dependenciesOf(ourService)[registrar], 'service_completed_successfully', `${name} waits for ${registrar}`);
    }
  }
});

test('Temporal keeps its state in the PostgreSQL service, with both schemas set up first', () => {
  const postgres = serviceNamed('PostgreSQL', (image) => /^postgres:/.test(image));
  const temporal = serviceNamed('Temporal server', (image) => /^temporalio\/(server|auto-setup):/.test(image));
  const env = environmentOf(services[temporal]!);
  assert.equal(env.DB, 'postgres12');
  assert.equal(env.POSTGRES_SEEDS, postgres);
  assert.equal(env.POSTGRES_PWD, environmentOf(services[postgres]!).POSTGRES_PASSWORD);

  const schemaSetups = Object.entries(services).filter(([, s]) => scriptOf(s).includes('temporal-sql-tool'));
  assert.equal(schemaSetups.length, 1, 'one one-shot service sets up the Temporal schemas');
  const [setup, setupService] = schemaSetups[0]!;
  const script = scriptOf(setupService);
  for (const db of [env.DBNAME ?? 'temporal', env.VISIBILITY_DBNAME ?? 'temporal_visibility']) {
    for (const step of ['create', 'setup-schema', 'update-schema']) {
      assert.match(script, new RegExp(`--db ${db} ${step}\\b`), `${setup} runs ${step} on ${db}`);
    }
  }
  assert.match(script, new RegExp(`--ep ${postgres}\\b`));
  assert.equal(dependenciesOf(services[temporal]!)[setup], 'service_completed_successfully');
});

test('the UIs are published where docs/conventions.md says: Temporal UI on 8233, mail on 8025', () => {
  const ui = serviceNamed('Temporal UI', (image) => /^temporalio\/ui:/.test(image));
  assert.equal(publishedPort(services[ui]!, 8080), 8233);
  const temporal = serviceNamed('Temporal server', (image) => /^temporalio\/(server|auto-setup):/.test(image));
  assert.equal(environmentOf(services[ui]!).TEMPORAL_ADDRESS, `${temporal}:7233`);
  assert.equal(publishedPort(services[temporal]!, 7233), 7233);
  const mail = serviceNamed('mail', (image) => /mailpit/.test(image));
  assert.equal(publishedPort(services[mail]!, 8025), 8025);
});

test('the Dockerfile installs without npm ci and copies every top-level folder the CLI needs', () => {
  const instructions = dockerfile
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const run = instructions.filter((line) => /^RUN\b/.test(line)).join('\n');
  assert.doesNotMatch(run, /npm\s+ci\b/, 'npm ci rejects these lock files (CONTRIBUTING.md)');
  assert.match(run, /npm install\b.*--omit=dev/);

  const froms = instructions.filter((line) => /^FROM\b/.test(line));
  assert.ok(froms.length >= 2, 'multi-stage build');
  for (const from of froms) assert.match(from, /^FROM node:20-bookworm-slim\b/);

  const copied = new Set(
    instructions
      .filter((line) => /^COPY\b/.test(line) && !/--from=/.test(line))
      .flatMap((line) => line.split(/\s+/).slice(1, -1))
      .map((source) => source.replace(/\/$/, '')),
  );
  for (const folder of ['src', 'workflows', 'activities', 'proto', 'config', 'metadata']) {
    assert.ok(copied.has(folder), `the Dockerfile copies ${folder}/`);
    assert.ok(existsSync(join(ROOT, folder)), `${folder}/ exists in the repository (the COPY would fail otherwise)`);
  }
  for (const file of ['package.json', 'package-lock.json']) assert.ok(copied.has(file), `the Dockerfile copies ${file}`);

  const user = instructions.filter((line) => /^USER\b/.test(line)).at(-1);
  assert.ok(user && !/^USER\s+(root|0)\b/.test(user), 'the image runs as a non-root user');

  // The image runs the CLI exactly as `npm start` does.
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])$/m.exec(dockerfile)?.[1];
  assert.deepEqual(JSON.parse(entrypoint ?? 'null'), CLI_RUN);
  assert.ok(/\btsx\b/.test(CLI_RUN.join(' ')), 'the CLI runs through tsx');
  const deps = (JSON.parse(read('package.json')) as { dependencies: Record<string, string> }).dependencies;
  assert.ok(deps.tsx, 'tsx is a runtime dependency (the image omits devDependencies)');
  const cmd = /^CMD\s+(\[.*\])$/m.exec(dockerfile)?.[1];
  assert.deepEqual(JSON.parse(cmd ?? 'null'), ['gateway']);
});

test('.dockerignore keeps local state, dependencies and secrets out of the build context', () => {
  const ignored = new Set(
    read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#')),
  );
  for (const entry of ['node_modules', '.data', '.git', '.env']) assert.ok(ignored.has(entry), `.dockerignore lists ${entry}`);
  for (const folder of ['src', 'workflows', 'activities', 'proto', 'config', 'metadata']) {
    assert.ok(!ignored.has(folder), `.dockerignore must not hide ${folder}/ from the build`);
  }
});

/** The host file a service mounts at `target` (a `./path:target[:ro]` bind mount). */
function mountedFile(service: Service, target: string): string {
  const mount = (service.volumes ?? []).find((v) => v.split(':')[1] === target);
  assert.ok(mount?.startsWith('./'), `a bind mount at ${target}`);
  return mount!.split(':')[0]!.slice(2);
}

test('Prometheus scrapes the gateway on PORT, worker and grpc on the METRICS_PORT they listen on, and the worker\'s Temporal SDK exporter (issue 21)', () => {
  const prometheus = serviceNamed('Prometheus', (image) => /^prom\/prometheus:/.test(image));
  const config = parse(read(mountedFile(services[prometheus]!, '/etc/prometheus/prometheus.yml'))) as { scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] };
  const targets = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets.map((t) => ({ job: job.job_name, path: job.metrics_path ?? '/metrics', target: t }))));
  assert.ok(targets.every((t) => t.path === '/metrics'));
  const [gatewayName, gateway] = ourServiceRunning('gateway');
  assert.ok(targets.some((t) => t.target === `${gatewayName}:${environmentOf(gateway).PORT ?? defaults.PORT}`), 'the gateway, on its HTTP port');
  for (const command of ['worker', 'grpc']) {
    const [name, service] = ourServiceRunning(command);
    const env = environmentOf(service);
    assert.ok(env.METRICS_PORT, `${name} sets METRICS_PORT (without it there is no listener)`);
    assert.equal(env.METRICS_HOST, '0.0.0.0', `${name} listens on every interface inside its container, so Prometheus reaches it`);
    assert.ok(targets.some((t) => t.target === `${name}:${env.METRICS_PORT}`), `${name} is scraped on ${env.METRICS_PORT}`);
  }
  const [workerName, worker] = ourServiceRunning('worker');
  const sdk = environmentOf(worker).TEMPORAL_SDK_METRICS_ADDRESS;
  assert.match(sdk ?? '', /^0\.0\.0\.0:\d+$/, 'the SDK exporter binds every interface');
  assert.ok(targets.some((t) => t.target === `${workerName}:${sdk!.split(':')[1]}`), 'the SDK exporter is scraped');
  for (const { target } of targets) assert.ok(services[target.split(':')[0]!], `${target} is a compose service`);
  assert.equal(publishedPort(services[prometheus]!, 9090), 9091, 'Prometheus on the host\'s 9091 (9090 is gRPC)');
});

test('Grafana provisions Prometheus and a dashboard whose every query names a metric the issuer exports, covering the issue 21 figures', () => {
  const grafana = serviceNamed('Grafana', (image) => /^grafana\/grafana:/.test(image));
  const prometheus = serviceNamed('Prometheus', (image) => /^prom\/prometheus:/.test(image));
  assert.equal(publishedPort(services[grafana]!, 3000), 3000);
  const provisioning = mountedFile(services[grafana]!, '/etc/grafana/provisioning');
  const datasource = parse(read(`${provisioning}/datasources/prometheus.yml`)) as { datasources: { type: string; url: string; uid: string }[] };
  assert.equal(datasource.datasources[0]!.type, 'prometheus');
  assert.equal(datasource.datasources[0]!.url, `http://${prometheus}:9090`);
  const provider = parse(read(`${provisioning}/dashboards/issuer.yml`)) as { providers: { options: { path: string } }[] };
  const dashboardsDir = mountedFile(services[grafana]!, provider.providers[0]!.options.path);
  const dashboard = JSON.parse(read(`${dashboardsDir}/issuer.json`)) as { panels: { datasource: { uid: string }; targets: { expr: string }[] }[] };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  assert.ok(dashboard.panels.every((p) => p.datasource.uid === datasource.datasources[0]!.uid), 'every panel reads the provisioned data source');
  const named = new Set(exprs.flatMap((e) => e.match(/\bissuer_[a-z_]+/g) ?? []));
  for (const name of named) {
    const metric = name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(registry.getSingleMetric(metric), `${name} is a metric of src/metrics/metrics.ts`);
  }
  for (const figure of ['issuer_http_requests_total', 'issuer_http_request_duration_seconds_bucket', 'issuer_offers_ended_total', 'issuer_credentials_issued_total', 'issuer_pin_failures_total', 'issuer_webhook_attempts_total', 'issuer_webhook_retries_total', 'issuer_webhook_dead_letters_total', 'issuer_signing_duration_seconds_bucket']) {
    assert.ok(named.has(figure), `the dashboard shows ${figure}`);
  }
  assert.ok(exprs.some((e) => /\btemporal_/.test(e)), 'and the Temporal SDK\'s worker metrics');
});
