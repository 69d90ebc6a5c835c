// DATABASE_STATEMENT_TIMEOUT_MS on MySQL/MariaDB (issue 18, item 10): a database that stops
// answering must give UNAVAILABLE in seconds, not when TCP keep-alive gives up (27 s measured).
// Two guards, because one cannot see what the other sees:
// - server-side, per session: MariaDB's `max_statement_time` (seconds, every statement, lock waits
//   included) or MySQL's `MAX_EXECUTION_TIME` (milliseconds, SELECTs only). It ends a statement
//   that runs or waits too long, and keeps the connection.
// - client-side, per statement: a database host or network that stalls without closing the
//   socket answers nothing at all, so no server-side limit can fire. A statement without an
//   answer `GRACE_MS` after the server-side limit destroys its connection: the statement fails at
//   once as a connection failure (UNAVAILABLE), and the pool drops the connection. mysql2's own
//   per-query `timeout` is no use here: it fails the statement but keeps the connection busy
//   with it, so the ROLLBACK and every later statement on it queue behind an answer that never
//   comes.
// Applied after migrations: a schema change may rightly run longer.
import type { Socket } from "node:net";
import type { DataSource } from "typeorm";

/** How much later than the server-side limit the client gives up on the connection. */
export const GRACE_MS = 1000;

interface GuardedConnection {
  query: (
    this: GuardedConnection,
    ...args: unknown[]
  ) => { once(event: "end", listener: () => void): unknown } | undefined;
  stream?: Socket;
  [GUARDED]?: true;
}

interface Mysql2Pool {
  on(event: "connection", listener: (connection: GuardedConnection) => void): void;
  _allConnections?: { toArray(): GuardedConnection[] };
}

const GUARDED = Symbol("passkey-link-api.statementGuard");

/** Bounds every statement of `dataSource`'s pool, on the connections open now and those to come. */
export function limitStatements(
  dataSource: DataSource,
  timeoutMs: number,
  /** Other mysql2 pools of the same server to bound alike (the write batches' pool). */
  otherPools: readonly object[] = [],
): void {
  const type = dataSource.options.type;
  if (type === "better-sqlite3") return;
  const session =
    type === "mariadb"
      ? `SET SESSION max_statement_time = ${(timeoutMs / 1000).toFixed(3)}`
      : `SET SESSION MAX_EXECUTION_TIME = ${timeoutMs}`;
  const pools = [(dataSource.driver as unknown as { pool: Mysql2Pool }).pool, ...otherPools];
  for (const pool of pools as Mysql2Pool[]) limitPool(pool, session, timeoutMs);
}

function limitPool(pool: Mysql2Pool, session: string, timeoutMs: number): void {
  const guard = (connection: GuardedConnection) => {
    if (connection[GUARDED]) return;
    connection[GUARDED] = true;
    connection.query(session, () => undefined);
    const query = connection.query;
    connection.query = function (this: GuardedConnection, ...args: unknown[]) {
      const command = query.apply(this, args);
      const timer = setTimeout(() => {
        const error = Object.assign(
          new Error(`the database did not answer within ${timeoutMs + GRACE_MS} ms`),
          { code: "ETIMEDOUT" },
        );
        connection.stream?.destroy(error);
      }, timeoutMs + GRACE_MS);
      timer.unref();
      command?.once("end", () => clearTimeout(timer));
      return command;
    };
  };
  pool.on("connection", guard);
  for (const connection of pool._allConnections?.toArray() ?? []) guard(connection);
}
