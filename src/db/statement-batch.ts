// Write transactions that send several statements in one exchange with MySQL/MariaDB (issue 21).
//
// The general pool never accepts multi-statement text: a future SQL-injection bug there stays one
// statement. Batching needs `multipleStatements`, so it has a pool of its own, reached only
// through this module, and this module only ever joins statements it checked itself:
// - every statement text must be fixed SQL: no `;`, no string literal or quoted identifier
//   (`'`, `"`), no backslash and no comment (`#`, `--`, `/*`). Values travel only as `?`
//   placeholders, escaped client-side by mysql2's `format` (SqlString) as on the general pool. So
//   no statement text can carry a second statement, and only the `;` this module puts between
//   the statements it checked separate statements. Backticks (identifiers) are allowed;
// - its sessions run with NO_BACKSLASH_ESCAPES off, the mode mysql2's escaping assumes (with it on,
//   an escaped quote would end a literal);
// - a transaction's statements go out in order on one connection: `START TRANSACTION` with the
//   first statement, statements whose results nobody needs (`defer`) with the next exchange, the
//   last of them with `COMMIT`. MariaDB and MySQL stop a multi-statement batch at the first
//   statement that fails: the rest (the `COMMIT` included) never run. The transaction is then
//   open with whatever ran before, so every failure ends in `ROLLBACK`, and nothing is half
//   written;
// - on Galera, a write replicated from another node can abort the transaction while an exchange
//   is executing. MariaDB then rolls it back after the statement running at that moment, which
//   reports no error, and runs the exchange's later statements outside the transaction: with
//   autocommit on, each commits on its own and the COMMIT answers OK for nothing
//   (test/galera-batch-abort.test.ts). So the connections run with `autocommit = 0`: those
//   statements then open a new transaction, and the abort is reported as a deadlock at the end of
//   the exchange (seen on MariaDB 10.11 with Galera 26.4), but that exchange's COMMIT would still
//   commit them. So every transaction also sets a savepoint as it starts, and its COMMIT follows
//   `RELEASE SAVEPOINT`, which fails, stopping the exchange, when the transaction that set it is
//   gone. Such a failure is a deadlock's: the transaction was rolled back whole and runs again.
import type { IsolationLevel } from "typeorm/driver/types/IsolationLevel";
import type { DataSource } from "typeorm";
import { QueryFailedError } from "typeorm";
import type { Mysql2Pool } from "./galera";
import { configurePoolSessions } from "./galera";

/** What a statement sent in a batch may not contain (see the head of this file). */
const NOT_FIXED = /[;'"\\#]|--|\/\*/;

/**
 * Texts that passed the check. Fixed statements are few (the compiled ones, one per shape), so
 * the hot path tests each once; past the bound, texts are checked every time.
 */
const checked = new Set<string>();
const CHECKED_MAX = 1000;

/** Throws unless `sql` is fixed statement text that cannot carry a second statement. */
export function assertFixedStatement(sql: string): void {
  if (checked.has(sql)) return;
  if (NOT_FIXED.test(sql)) {
    throw new Error(
      "a batched statement must be fixed SQL with ? placeholders: no ;, quotes, backslashes or comments",
    );
  }
  if (checked.size < CHECKED_MAX) checked.add(sql);
}

/**
 * The savepoint every batched transaction sets as it starts: it lasts as long as the transaction,
 * whatever ends it (see the head of this file).
 */
const SET_WHOLE: Statement = { sql: "SAVEPOINT plk_whole", params: [] };
const RELEASE_WHOLE: Statement = { sql: "RELEASE SAVEPOINT plk_whole", params: [] };
/** "SAVEPOINT … does not exist" (ER_SP_DOES_NOT_EXIST) on MariaDB and MySQL. */
const NO_SUCH_SAVEPOINT = 1305;
const DEADLOCK = 1213;

const ISOLATION: Partial<Record<IsolationLevel, string>> = {
  "READ UNCOMMITTED": "SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
  "READ COMMITTED": "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
  "REPEATABLE READ": "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
  SERIALIZABLE: "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
};

/** mysql2's escaping is right only without NO_BACKSLASH_ESCAPES: each session turns it off. */
const BACKSLASH_ESCAPES =
  "SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), " +
  "',NO_BACKSLASH_ESCAPES,', ','))";

interface Statement {
  sql: string;
  params: readonly unknown[];
}

interface BatchConnection {
  query(
    sql: string,
    values: readonly unknown[],
    callback: (error: Error | null, result: unknown) => void,
  ): void;
  release(): void;
  destroy(): void;
}

interface BatchPool extends Mysql2Pool {
  getConnection(callback: (error: Error | null, connection: BatchConnection) => void): void;
  end(callback: (error?: Error | null) => void): void;
}

/** The driver internals the pool is built from: the general pool's exact options. */
interface MysqlDriverInternals {
  options: object;
  mysql: { createPool(options: object): BatchPool };
  createConnectionOptions(options: object, credentials: object): Record<string, unknown>;
}

/** The pool of multi-statement connections; one per Database on MySQL/MariaDB. */
export class StatementBatches {
  private closed = false;

  private constructor(private readonly pool: BatchPool) {}

  /**
   * A pool of at most `size` connections with the general pool's options (server, credentials,
   * charset, time zone, number handling: values convert exactly as there) and its session
   * settings (READ COMMITTED, `wsrep_sync_wait` on Galera), plus `multipleStatements`.
   * Connections open on first use.
   */
  static open(dataSource: DataSource, size: number, galera: boolean): StatementBatches {
    const driver = dataSource.driver as unknown as MysqlDriverInternals;
    const options = {
      ...driver.createConnectionOptions(driver.options, driver.options),
      connectionLimit: size,
      multipleStatements: true,
    };
    const pool = driver.mysql.createPool(options);
    configurePoolSessions(pool, galera, [BACKSLASH_ESCAPES, "SET SESSION autocommit = 0"]);
    // A connection that dies while idle must not take the process with it (the pool drops it).
    pool.on("connection", (connection) =>
      (connection as unknown as { on(event: "error", listener: () => void): void }).on(
        "error",
        () => undefined,
      ),
    );
    return new StatementBatches(pool);
  }

  /** The mysql2 pool, for the session-wide statement limits (statement-timeout.ts) only. */
  get mysqlPool(): object {
    return this.pool;
  }

  /** Takes a connection for one transaction; nothing is sent until its first statement. */
  async begin(isolation?: IsolationLevel): Promise<BatchedTransaction> {
    if (this.closed) throw new Error("the pool is closed");
    if (isolation && !ISOLATION[isolation]) throw new Error(`no isolation level ${isolation} here`);
    const connection = await new Promise<BatchConnection>((resolve, reject) =>
      this.pool.getConnection((error, connection) => (error ? reject(error) : resolve(connection))),
    );
    return new BatchedTransaction(connection, isolation);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.pool.end(() => resolve()));
  }
}

/** One transaction on one connection of the batch pool; see the head of this file. */
export class BatchedTransaction {
  private pending: Statement[];
  /** Whether START TRANSACTION went out (so the end must be sent). */
  private started = false;
  private released = false;
  /**
   * The failure of an exchange. It may have rolled the whole transaction back (a deadlock) or
   * dropped deferred statements sent with it, so nothing may be sent after it but ROLLBACK, even
   * when the caller caught it.
   */
  private failure: QueryFailedError | undefined;

  constructor(
    private readonly connection: BatchConnection,
    isolation?: IsolationLevel,
  ) {
    const setIsolation = isolation && ISOLATION[isolation];
    this.pending = [
      ...(setIsolation ? [{ sql: setIsolation, params: [] }] : []),
      { sql: "START TRANSACTION", params: [] },
      SET_WHOLE,
    ];
  }

  /** Sends what is pending and then `sql`, in one exchange; resolves to `sql`'s result. */
  async query<T>(sql: string, params: readonly unknown[]): Promise<T> {
    assertFixedStatement(sql);
    this.assertUsable();
    const results = await this.send([...this.take(), { sql, params }]);
    return results[results.length - 1] as T;
  }

  /**
   * Queues a statement whose result nobody needs: it goes out with the next exchange (at the
   * latest with COMMIT), and a failure fails that exchange.
   */
  defer(sql: string, params: readonly unknown[]): void {
    assertFixedStatement(sql);
    this.assertUsable();
    this.pending.push({ sql, params });
  }

  /**
   * Sends the deferred statements and COMMIT in one exchange, COMMIT only once the transaction is
   * known to be whole (see the head of this file). One that ended under its statements fails as
   * a deadlock and commits nothing.
   */
  async commit(): Promise<void> {
    this.assertUsable();
    if (!this.started && this.pending.every((statement) => !isDeferred(statement))) {
      this.pending = [];
      return;
    }
    const statements = [...this.take(), RELEASE_WHOLE, { sql: "COMMIT", params: [] }];
    try {
      await this.send(statements);
    } catch (error) {
      if (!isNoSuchSavepoint(error)) throw error;
      throw (this.failure = lostTransaction(joined(statements), error));
    }
  }

  /**
   * Ends the transaction without writing (deferred statements are dropped). Never throws: a
   * connection that cannot roll back is destroyed instead, which rolls back on the server.
   */
  async rollback(): Promise<void> {
    this.pending = [];
    if (!this.started) return;
    try {
      await this.send([{ sql: "ROLLBACK", params: [] }]);
    } catch {
      this.destroy();
    }
  }

  /** Returns the connection to the pool; after a rollback or a commit only. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.connection.release();
  }

  private destroy(): void {
    if (this.released) return;
    this.released = true;
    this.connection.destroy();
  }

  private assertUsable(): void {
    if (this.failure) throw this.failure;
  }

  private take(): Statement[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  /** One exchange; resolves to one result per statement. Failures are QueryFailedErrors. */
  private send(statements: Statement[]): Promise<unknown[]> {
    const sql = joined(statements);
    // Loops, not flatMap: V8's flatMap cost more CPU here than the rest of the exchange's setup.
    const params: unknown[] = [];
    for (const statement of statements) for (const param of statement.params) params.push(param);
    this.started = true;
    return new Promise((resolve, reject) =>
      this.connection.query(sql, params, (error, result) => {
        if (error) {
          const failure = new QueryFailedError(sql, params, error);
          if (!statements.every((statement) => statement.sql === "ROLLBACK")) {
            this.failure ??= failure;
          }
          return reject(failure);
        }
        resolve(statements.length === 1 ? [result] : (result as unknown[]));
      }),
    );
  }
}

function joined(statements: Statement[]): string {
  return statements.map((statement) => statement.sql).join(";\n");
}

function isDeferred(statement: Statement): boolean {
  return (
    statement.sql !== "START TRANSACTION" &&
    statement !== SET_WHOLE &&
    !statement.sql.startsWith("SET TRANSACTION")
  );
}

/** The failure of RELEASE_WHOLE: its transaction is gone. */
function isNoSuchSavepoint(error: unknown): boolean {
  return (
    error instanceof QueryFailedError &&
    (error.driverError as { errno?: number }).errno === NO_SUCH_SAVEPOINT
  );
}

/** A deadlock's failure (1213, which Database runs again) for a transaction that was lost. */
function lostTransaction(sql: string, cause: unknown): QueryFailedError {
  const error = Object.assign(
    new Error(
      "the transaction was rolled back under its statements (a conflict with another node)",
      {
        cause,
      },
    ),
    { errno: DEADLOCK, code: "ER_LOCK_DEADLOCK" },
  );
  return new QueryFailedError(sql, [], error);
}
