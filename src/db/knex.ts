import knexFactory, { type Knex } from 'knex';
import { migrations } from './migrations';

export type Db = Knex;

/** One pool per process; every repository receives it. */
export function createDb(databaseUrl: string, opts: { poolMax?: number } = {}): Db {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: databaseUrl, application_name: 'durable-issuer' },
    pool: { min: 0, max: opts.poolMax ?? Number(process.env.DB_POOL_MAX ?? 10) },
    // Migrations are code (TypeScript modules listed in ./migrations), not files found at run time.
    migrations: { migrationSource: migrationSource(), tableName: 'knex_migrations' },
  });
}

function migrationSource(): Knex.MigrationSource<(typeof migrations)[number]> {
  return {
    getMigrations: async () => migrations,
    getMigrationName: (m) => m.name,
    getMigration: async (m) => m,
  };
}

/** Applies pending migrations; safe to run from several processes at once (knex takes a lock). */
export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

/** Creates the database named in `databaseUrl` when it does not exist (embedded and test setups). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unsupported database name: ${name}`);
  url.pathname = '/postgres';
  const admin = createDb(url.toString(), { poolMax: 1 });
  try {
    const exists = await admin.raw('select 1 from pg_database where datname = ?', [name]);
    if (exists.rowCount === 0) {
      await admin.raw(`create database "${name}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently by another process
      });
    }
  } finally {
    await admin.destroy();
  }
}

/**
 * Runs a named prepared statement on a pooled connection: PostgreSQL parses and plans it once per
 * connection instead of on every call, which matters for the hot path's multi-CTE statement.
 * Given a transaction, it runs on the transaction's connection (knex's transaction client hands out
 * only that one). `text` uses $1..$n placeholders; one name, one text.
 */
export async function preparedQuery<Row>(db: Db, name: string, text: string, values: unknown[]): Promise<Row[]> {
  const client = db.client as { acquireConnection(): Promise<PgConnection>; releaseConnection(c: PgConnection): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    return (await connection.query({ name, text, values })).rows as Row[];
  } finally {
    await client.releaseConnection(connection);
  }
}

interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}
