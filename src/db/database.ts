// The one gateway to the database: transactions, engine-specific statements, and the health ping.
import type { DataSource, EntityManager, ObjectLiteral, SelectQueryBuilder } from "typeorm";
import { QueryFailedError } from "typeorm";

export type Dialect = "mysql" | "sqlite";

/** TypeORM's MySQL query runner, as far as the fast path needs it. */
interface MysqlRunner {
  databaseConnection?: MysqlConnection;
  connect(): Promise<unknown>;
}

/** The part of a mysql2 connection or pool the fast path uses (callback API). */
interface MysqlConnection {
  query(
    sql: string,
    values: unknown[],
    callback: (error: Error | null, result: unknown) => void,
  ): void;
}

/** Tables whose rows are event aggregates and carry a `sequence` column. */
export type AggregateTable = "users" | "organizations";

export class Database {
  readonly dialect: Dialect;
  /**
   * SQLite has one connection, shared by TypeORM across callers: concurrent transactions on it
   * would nest or interleave. Every unit of work on SQLite therefore runs one after another.
   */
  private sqliteQueue: Promise<unknown> = Promise.resolve();

  constructor(readonly dataSource: DataSource) {
    this.dialect = dataSource.options.type === "better-sqlite3" ? "sqlite" : "mysql";
  }

  /**
   * Runs `work` in one transaction: everything it writes commits together or not at all. A
   * transaction MySQL/MariaDB picked as a deadlock victim was rolled back whole, so it is run
   * again (up to three times) instead of failing the request.
   */
  async transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.serialized(() => this.dataSource.transaction(work));
      } catch (error) {
        if (attempt >= 3 || !isDeadlock(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  /** Runs read-only work outside a transaction. */
  read<T>(work: (db: EntityManager) => Promise<T>): Promise<T> {
    return this.serialized(() => work(this.dataSource.manager));
  }

  /**
   * Runs one statement of the hot path in `db`'s transaction (or on the pool outside one). On
   * MySQL it goes straight to the transaction's mysql2 connection: TypeORM's per-query wrapper
   * (logger, subscribers, result objects) cost about as much CPU as the rest of a request's
   * statements together. Failures are still TypeORM QueryFailedErrors.
   */
  async query<T>(db: EntityManager, sql: string, params: unknown[]): Promise<T> {
    if (this.dialect !== "mysql") return db.query<T>(sql, params);
    const runner = db.queryRunner as unknown as MysqlRunner | undefined;
    const connection: MysqlConnection = runner
      ? (runner.databaseConnection ?? ((await runner.connect()) as MysqlConnection))
      : (this.dataSource.driver as unknown as { pool: MysqlConnection }).pool;
    return new Promise<T>((resolve, reject) =>
      connection.query(sql, params, (error, result) =>
        error ? reject(new QueryFailedError(sql, params, error)) : resolve(result as T),
      ),
    );
  }

  /** Locks the selected rows until the transaction ends (MySQL); SQLite's writer lock covers it. */
  forUpdate<T extends ObjectLiteral>(query: SelectQueryBuilder<T>): SelectQueryBuilder<T> {
    return this.dialect === "mysql" ? query.setLock("pessimistic_write") : query;
  }

  /**
   * Adds `by` to an aggregate's sequence and returns the new value, in one statement: the row
   * lock it takes orders concurrent writers, so no two of them get the same sequence.
   * Returns undefined when the row does not exist.
   */
  async bumpSequence(
    tx: EntityManager,
    table: AggregateTable,
    id: string,
    by: number,
  ): Promise<number | undefined> {
    if (this.dialect === "mysql") {
      const result = await this.query<{ affectedRows: number; insertId: number | string }>(
        tx,
        `UPDATE ${table} SET sequence = LAST_INSERT_ID(sequence + ?) WHERE id = ?`,
        [by, id],
      );
      return result.affectedRows === 1 ? Number(result.insertId) : undefined;
    }
    const rows = await this.query<{ sequence: number | string }[]>(
      tx,
      `UPDATE ${table} SET sequence = sequence + ? WHERE id = ? RETURNING sequence`,
      [by, id],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].sequence);
  }

  /**
   * Adds each aggregate's count to its sequence and returns the new values, in two statements
   * whatever the number of aggregates (one UPDATE locking the rows, one SELECT reading them).
   */
  async bumpSequences(
    tx: EntityManager,
    table: AggregateTable,
    increments: ReadonlyMap<string, number>,
  ): Promise<Map<string, number>> {
    const ids = [...increments.keys()].sort();
    const cases = ids.map(() => "WHEN ? THEN ?").join(" ");
    const placeholders = ids.map(() => "?").join(", ");
    await this.query(
      tx,
      `UPDATE ${table} SET sequence = sequence + CASE id ${cases} END WHERE id IN (${placeholders})`,
      [...ids.flatMap((id) => [id, increments.get(id)]), ...ids],
    );
    const rows = await this.query<{ id: string; sequence: number | string }[]>(
      tx,
      `SELECT id, sequence FROM ${table} WHERE id IN (${placeholders})`,
      ids,
    );
    return new Map(rows.map((row) => [row.id, Number(row.sequence)]));
  }

  /** True when the database answers a trivial query within `timeoutMs`. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    if (!this.dataSource.isInitialized) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const probe = this.dataSource.query("SELECT 1").then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (this.dialect === "mysql") return work();
    const run = this.sqliteQueue.then(work, work);
    this.sqliteQueue = run.catch(() => undefined);
    return run;
  }
}

function isDeadlock(error: unknown): boolean {
  return (
    error instanceof QueryFailedError && (error.driverError as { errno?: number }).errno === 1213
  );
}

/** True for a duplicate-key failure on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; errno?: number };
  return (
    driverError.errno === 1062 ||
    driverError.code === "SQLITE_CONSTRAINT_UNIQUE" ||
    driverError.code === "SQLITE_CONSTRAINT_PRIMARYKEY"
  );
}
