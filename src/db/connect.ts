// Opening the database in two steps, so start-up can check that it answers before writing
// anything (SPEC 16) and only then migrate.
import type { QueryRunner } from "typeorm";
import { MigrationExecutor } from "typeorm";
import type { DatabaseConfig } from "../config";
import { DEFAULT_STATEMENT_TIMEOUT_MS, createDataSource, detectMysqlFlavor } from "./data-source";
import { Database, deadlockPause, isDeadlock } from "./database";
import { configureSessions } from "./galera";
import { cachePromiseWrappers } from "./mysql2-promise-wrapper";
import { StatementBatches } from "./statement-batch";
import { limitStatements } from "./statement-timeout";

export class DatabaseUnreachableError extends Error {
  constructor(where: string, cause: unknown) {
    super(`cannot reach the database at ${where}: ${describe(cause)}`, { cause });
    this.name = "DatabaseUnreachableError";
  }
}

/** Connects (no schema change yet); a failure names the server but never the password. */
export async function connectDatabase(config: DatabaseConfig): Promise<Database> {
  try {
    const flavor = config.kind === "mysql" ? await detectMysqlFlavor(config.url) : undefined;
    const dataSource = createDataSource(config, flavor);
    await dataSource.initialize();
    await cachePromiseWrappers(dataSource);
    const galera = await configureSessions(dataSource);
    if (config.kind !== "mysql") return new Database(dataSource, 0, galera);
    // The write batches' pool (statement-batch.ts), as large as the general one; it opens its
    // connections on first use and closes with the data source (whoever destroys it).
    const batches = StatementBatches.open(dataSource, config.poolSize, galera);
    const destroy = dataSource.destroy.bind(dataSource);
    dataSource.destroy = async () => {
      await batches.close();
      await destroy();
    };
    return new Database(dataSource, config.retries, galera, batches);
  } catch (error) {
    throw new DatabaseUnreachableError(location(config), error);
  }
}

/**
 * Brings the schema up to date with the committed migrations. On SQLite each migration runs in
 * a transaction: its schema changes are transactional. MySQL/MariaDB commit each schema change as
 * it runs, so a transaction around a migration would undo nothing; its statements run on their
 * own, and one picked as a deadlock victim is run again (see `retryDeadlockedStatements`).
 */
export async function migrateDatabase(db: Database): Promise<void> {
  if (db.dialect === "sqlite") {
    await db.dataSource.runMigrations({ transaction: "each" });
    return;
  }
  const runner = db.dataSource.createQueryRunner();
  try {
    retryDeadlockedStatements(runner);
    const migrations = new MigrationExecutor(db.dataSource, runner);
    migrations.transaction = "none";
    await migrations.executePendingMigrations();
  } finally {
    await runner.release();
  }
}

/** How often a migration's statement is tried before its deadlock fails the start. */
const MIGRATION_STATEMENT_ATTEMPTS = 8;

/**
 * Makes `runner` run a statement again when it fails as a deadlock victim outside a transaction:
 * on its own, the statement was rolled back whole (schema changes too, which are atomic in
 * MariaDB 10.6+ and MySQL 8), so running it again is safe. On Galera a schema change replicated
 * from any node, even to another database, aborts a local statement holding metadata locks it
 * needs, reads of information_schema included. Failing there instead, a migration stopped
 * halfway: its earlier schema changes stayed, it was not recorded, and every later start failed
 * on them. The pause before each new attempt is the transactions' (`deadlockPause`).
 */
export function retryDeadlockedStatements(
  runner: QueryRunner,
  attempts = MIGRATION_STATEMENT_ATTEMPTS,
): void {
  const query = runner.query.bind(runner);
  runner.query = (async (...args: Parameters<QueryRunner["query"]>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await query(...args)) as unknown;
      } catch (error) {
        if (attempt >= attempts || runner.isTransactionActive || !isDeadlock(error)) throw error;
        await deadlockPause(attempt);
      }
    }
  }) as QueryRunner["query"];
}

/**
 * Bounds every later statement by DATABASE_STATEMENT_TIMEOUT_MS (see statement-timeout.ts); call
 * it after `migrateDatabase`, whose schema changes may run longer.
 */
export function limitStatementTime(db: Database, config: DatabaseConfig): void {
  limitStatements(
    db.dataSource,
    config.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
    db.batches ? [db.batches.mysqlPool] : [],
  );
}

function location(config: DatabaseConfig): string {
  if (config.kind === "sqlite") return config.path;
  const url = new URL(config.url);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Node reports a refused connection to a name with several addresses as an AggregateError with no message. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : String(error);
  return typeof code === "string" && !text.includes(code) ? `${code} ${text}`.trim() : text;
}
