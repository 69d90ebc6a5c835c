// The one gateway to the database: transactions, engine-specific statements, and the health ping.
import type {
  DataSource,
  EntityManager,
  EntityTarget,
  ObjectLiteral,
  SelectQueryBuilder,
} from "typeorm";
import type { IsolationLevel } from "typeorm/driver/types/IsolationLevel";
import { In, QueryFailedError } from "typeorm";
import { ApiError } from "../errors";
import type { BatchedTransaction, StatementBatches } from "./statement-batch";

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
export type AggregateTable = "users" | "organizations" | "sessions";

export interface TransactionOptions {
  /** MySQL/MariaDB only (SQLite transactions are serializable). */
  isolation?: IsolationLevel;
  /**
   * MySQL/MariaDB: run on the write batches' pool (statement-batch.ts), fewer exchanges for the
   * same statements. Only `query`/`execute` with fixed SQL, the compiled statements and the
   * event store may run in such a transaction; anything else (a query builder, `tx.query`)
   * makes it roll back and run again unbatched, so it stays correct, only slower.
   */
  batched?: boolean;
}

/** Raised by a batched transaction's EntityManager for anything but the hot path's statements. */
class NotBatchable extends Error {
  constructor() {
    super("this statement cannot run in a batched transaction");
  }
}

/** What a batched transaction knows beyond its connection. */
interface BatchState {
  batch: BatchedTransaction;
  /** Aggregate sequences read under this transaction's row lock, kept current by its bumps. */
  sequences: Map<string, number>;
  /** Whether its EntityManager refused a statement (NotBatchable). */
  refused: boolean;
}

export class Database {
  readonly dialect: Dialect;
  /**
   * SQLite has one connection, shared by TypeORM across callers: concurrent transactions on it
   * would nest or interleave. Every unit of work on SQLite therefore runs one after another.
   */
  private sqliteQueue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dataSource: DataSource,
    /** How often a deadlock victim is run again (MySQL/MariaDB). */
    private readonly retries = 8,
    /** A Galera node: conflicts with other nodes surface as deadlocks (SPEC 17). */
    readonly galera = false,
    /** MySQL/MariaDB: the pool of batched write transactions (statement-batch.ts). */
    readonly batches?: StatementBatches,
  ) {
    this.dialect = dataSource.options.type === "better-sqlite3" ? "sqlite" : "mysql";
  }

  /** The batched transactions in progress, by the EntityManager their work was given. */
  private readonly batched = new WeakMap<EntityManager, BatchState>();

  /**
   * Runs `work` in one transaction: everything it writes commits together or not at all. A
   * transaction MySQL/MariaDB picked as a deadlock victim was rolled back whole, so it is run
   * again (`retries` times at most, DATABASE_RETRIES) after an exponential backoff with full
   * jitter, so that the transactions that collided do not collide again at once. On Galera a
   * certification conflict with another node is the same error, raised at COMMIT. `work` must
   * therefore have no effect outside the database before it returns. `isolation` applies to
   * MySQL/MariaDB only (SQLite transactions are serializable). A `batched` transaction is retried
   * the same way: a deadlock or certification failure at any statement of a batch, or at its
   * COMMIT, rolls it back and runs `work` again (TransactionOptions).
   */
  async transaction<T>(
    work: (tx: EntityManager) => Promise<T>,
    isolationOrOptions?: IsolationLevel | TransactionOptions,
  ): Promise<T> {
    const options: TransactionOptions =
      typeof isolationOrOptions === "string"
        ? { isolation: isolationOrOptions }
        : (isolationOrOptions ?? {});
    const { isolation } = options;
    let batched = options.batched === true && this.batches !== undefined;
    // A deadlock (or a Galera conflict) rolls the whole transaction back at the statement that
    // meets it. Should `work` catch that failure and go on, its later statements would run
    // outside any transaction and commit on their own; so once a transaction met one, its next
    // statement and its end fail with it (and it is run again), whatever `work` did.
    // (SQLite has no deadlocks, and reuses one query runner for every transaction.)
    const guarded =
      this.dialect === "mysql"
        ? async (tx: EntityManager) => {
            const watch = watchRollbacks(tx);
            try {
              const result = await work(tx);
              if (watch.rolledBack) throw watch.rolledBack;
              return result;
            } finally {
              watch.stop();
            }
          }
        : work;
    const run =
      isolation && this.dialect === "mysql"
        ? () => this.dataSource.transaction(isolation, guarded)
        : () => this.dataSource.transaction(guarded);
    for (let attempt = 0; ; attempt++) {
      try {
        return batched
          ? await this.batchedTransaction(work, isolation)
          : await this.serialized(run);
      } catch (error) {
        if (error instanceof NotBatchable) {
          batched = false;
          attempt--;
          continue;
        }
        if (attempt >= this.retries || !isDeadlock(error)) throw asUnavailable(error);
        await deadlockPause(attempt);
      }
    }
  }

  /**
   * One attempt of a batched transaction: `work` gets an EntityManager whose own statements are
   * refused (NotBatchable); `query`, `execute`, `defer` and the sequence methods below run its
   * statements on the batch connection. Any failure, a refusal by `work` included, rolls back.
   */
  private async batchedTransaction<T>(
    work: (tx: EntityManager) => Promise<T>,
    isolation?: IsolationLevel,
  ): Promise<T> {
    const batch = await this.batches!.begin(isolation);
    const state: BatchState = { batch, sequences: new Map(), refused: false };
    const tx = this.dataSource.createEntityManager(this.refusing(state));
    this.batched.set(tx, state);
    try {
      const result = await work(tx);
      // A refusal that `work` caught and went on from must not commit what it did without it.
      if (state.refused) throw new NotBatchable();
      await batch.commit();
      return result;
    } catch (error) {
      await batch.rollback();
      throw error;
    } finally {
      this.batched.delete(tx);
      batch.release();
    }
  }

  /** A query runner that refuses every statement, marking `state` (one per transaction). */
  private refusing(state: { refused: boolean }): NonNullable<EntityManager["queryRunner"]> {
    const runner = this.dataSource.createQueryRunner();
    const refuse = () => {
      state.refused = true;
      return Promise.reject(new NotBatchable());
    };
    return Object.assign(runner, {
      connect: refuse,
      query: refuse,
      startTransaction: refuse,
      commitTransaction: refuse,
      rollbackTransaction: refuse,
      stream: refuse,
    });
  }

  /**
   * Deletes at most `limit` rows of `entity` matching `where` (on alias "e"), selected first and
   * then deleted by primary key: portable (SQLite has no DELETE … LIMIT) and each batch holds its
   * locks briefly. Resolves to the IDs deleted, so callers can delete what hangs off them.
   */
  async deleteBatch(
    tx: EntityManager,
    entity: EntityTarget<{ id: string }>,
    where: string,
    parameters: ObjectLiteral,
    limit: number,
  ): Promise<string[]> {
    const rows = await tx
      .createQueryBuilder(entity, "e")
      .select("e.id", "id")
      .where(where, parameters)
      .limit(limit)
      .getRawMany<{ id: string }>();
    const ids = rows.map((row) => row.id);
    if (ids.length > 0) {
      await tx
        .createQueryBuilder()
        .delete()
        .from(entity)
        .where({ id: In(ids) })
        .execute();
    }
    return ids;
  }

  /** Runs read-only work outside a transaction. */
  async read<T>(work: (db: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.serialized(() => work(this.dataSource.manager));
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  /**
   * Runs one statement of the hot path in `db`'s transaction (or on the pool outside one). On
   * MySQL it goes straight to the transaction's mysql2 connection: TypeORM's per-query wrapper
   * (logger, subscribers, result objects) cost about as much CPU as the rest of a request's
   * statements together. Failures are still TypeORM QueryFailedErrors.
   */
  async query<T>(db: EntityManager, sql: string, params: unknown[]): Promise<T> {
    if (this.dialect !== "mysql") return db.query<T>(sql, params);
    const batched = this.batched.get(db);
    if (batched) return batched.batch.query<T>(sql, params);
    const runner = db.queryRunner as unknown as MysqlRunner | undefined;
    const connection: MysqlConnection = runner
      ? (runner.databaseConnection ?? ((await runner.connect()) as MysqlConnection))
      : (this.dataSource.driver as unknown as { pool: MysqlConnection }).pool;
    if (runner) throwIfRolledBack(runner);
    return new Promise<T>((resolve, reject) =>
      connection.query(sql, params, (error, result) => {
        if (!error) return resolve(result as T);
        const failure = new QueryFailedError(sql, params, error);
        if (runner) noteRollback(runner, failure);
        reject(failure);
      }),
    );
  }

  /** Runs one INSERT, UPDATE or DELETE in `tx`'s transaction; resolves to the rows it changed. */
  async execute(tx: EntityManager, sql: string, params: unknown[]): Promise<number> {
    if (this.dialect === "mysql") {
      return (await this.query<{ affectedRows: number }>(tx, sql, params)).affectedRows;
    }
    const runner = tx.queryRunner ?? this.dataSource.manager.queryRunner;
    const result = runner
      ? await runner.query(sql, params, true)
      : await this.dataSource.createQueryRunner().query(sql, params, true);
    return (result as { affected?: number }).affected ?? 0;
  }

  /**
   * In a batched transaction, a statement whose result nobody needs: it goes out with the next
   * exchange or with COMMIT (see statement-batch.ts). Elsewhere it runs at once.
   */
  async defer(tx: EntityManager, sql: string, params: unknown[]): Promise<void> {
    const batched = this.batched.get(tx);
    if (batched) batched.batch.defer(sql, params);
    else await this.query(tx, sql, params);
  }

  /**
   * Records the sequence of aggregate `id` as a locking read (FOR UPDATE) in `tx` returned it, so
   * that a batched transaction can number its events without reading the bump's result. No-op
   * outside batched transactions.
   */
  holdSequence(tx: EntityManager, table: AggregateTable, id: string, sequence: number): void {
    this.batched.get(tx)?.sequences.set(`${table}:${id}`, sequence);
  }

  /**
   * In a batched transaction that holds aggregate `id` (see holdSequence): defers the bump by
   * `by` and returns the new sequence. Otherwise undefined, and the caller bumps with
   * `bumpSequence`. The held value is exact: the row stays locked until COMMIT (on Galera, a
   * write by another node aborts this transaction), and the events' primary key
   * (aggregate, sequence) would refuse a stale number anyway.
   */
  deferBump(tx: EntityManager, table: AggregateTable, id: string, by: number): number | undefined {
    const state = this.batched.get(tx);
    const held = state?.sequences.get(`${table}:${id}`);
    if (state === undefined || held === undefined) return undefined;
    state.batch.defer(`UPDATE ${table} SET sequence = sequence + ? WHERE id = ?`, [by, id]);
    state.sequences.set(`${table}:${id}`, held + by);
    return held + by;
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
      if (result.affectedRows !== 1) return undefined;
      this.batched.get(tx)?.sequences.set(`${table}:${id}`, Number(result.insertId));
      return Number(result.insertId);
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
    const held = this.batched.get(tx)?.sequences;
    for (const id of ids) held?.delete(`${table}:${id}`);
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

/** Driver codes of a database that cannot be reached (as opposed to a failing statement). */
const CONNECTION_FAILURES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "SQLITE_BUSY",
  "SQLITE_CANTOPEN",
]);

/**
 * A statement ended by DATABASE_STATEMENT_TIMEOUT_MS: MariaDB's max_statement_time (1969) and
 * MySQL's MAX_EXECUTION_TIME (3024). The database is too busy to answer in time: retry later.
 */
const STATEMENT_TIMEOUTS = new Set([1969, 3024]);

/**
 * An unreachable database becomes UNAVAILABLE, so clients can tell an outage (retry later) from
 * a bug (INTERNAL); anything else passes through unchanged.
 */
function asUnavailable(error: unknown): unknown {
  const cause = error instanceof QueryFailedError ? (error.driverError as unknown) : error;
  const { code, errno, fatal, message } = (cause ?? {}) as {
    code?: string;
    errno?: number;
    fatal?: boolean;
    message?: string;
  };
  const unreachable =
    (code !== undefined && CONNECTION_FAILURES.has(code)) ||
    (errno !== undefined && STATEMENT_TIMEOUTS.has(errno)) ||
    fatal === true ||
    /connection is not open|pool is closed|closed state|not (yet )?(established|connected)/i.test(
      message ?? "",
    );
  return unreachable
    ? ApiError.unavailable("DB-unavailable", "the database is unavailable; retry later")
    : error;
}

interface RollbackWatch {
  rolledBack?: Error;
  /** Stops watching (the runner's own query method again). */
  stop(): void;
}

const watches = new WeakMap<object, RollbackWatch>();

/** Remembers a failure of `runner`'s transaction that rolled all of it back. */
function noteRollback(runner: object, error: unknown): void {
  const watch = watches.get(runner);
  if (watch && watch.rolledBack === undefined && isDeadlock(error)) {
    watch.rolledBack = error as Error;
  }
}

/** Refuses to run a statement in a transaction that was rolled back under its work. */
function throwIfRolledBack(runner: object): void {
  const rolledBack = watches.get(runner)?.rolledBack;
  if (rolledBack !== undefined) throw rolledBack;
}

/** Watches every statement of `tx`'s transaction (TypeORM's and `Database.query`'s). */
function watchRollbacks(tx: EntityManager): RollbackWatch {
  const runner = tx.queryRunner;
  if (!runner) return { stop: () => undefined };
  const own = Object.getOwnPropertyDescriptor(runner, "query");
  const watch: RollbackWatch = {
    stop: () => {
      watches.delete(runner);
      if (own) Object.defineProperty(runner, "query", own);
      else delete (runner as Partial<typeof runner>).query;
    },
  };
  watches.set(runner, watch);
  const query = runner.query.bind(runner);
  runner.query = (async (...args: Parameters<typeof query>) => {
    if (args[0] !== "ROLLBACK") throwIfRolledBack(runner);
    try {
      return (await query(...args)) as unknown;
    } catch (error) {
      noteRollback(runner, error);
      throw error;
    }
  }) as typeof runner.query;
  return watch;
}

/**
 * The pause before running a deadlock victim again after its `attempt`-th retry (from 0): an
 * exponential backoff with full jitter, up to 250 ms, so that what collided does not collide
 * again at once.
 */
export function deadlockPause(attempt: number): Promise<void> {
  const ceiling = Math.min(250, 5 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** A statement (and on MySQL/MariaDB its transaction) rolled back as a deadlock victim (1213). */
export function isDeadlock(error: unknown): boolean {
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
