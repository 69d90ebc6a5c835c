// Session settings of every pooled MySQL/MariaDB connection: READ COMMITTED everywhere, and on
// Galera, reads that wait for the cluster (read-your-writes across nodes, SPEC 17).
import type { DataSource } from "typeorm";

const SYNC_READS = "SET SESSION wsrep_sync_wait = 1";

/**
 * READ COMMITTED: no gap locks, and an `INSERT … SELECT` (the active-code guard) reads its source
 * without locking it. Every limit stays exact because it is counted under the user's row lock,
 * which READ COMMITTED keeps, and each statement then reads the latest committed rows.
 */
const READ_COMMITTED = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

interface PooledConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
}

export interface Mysql2Pool {
  on(event: "connection", listener: (connection: PooledConnection) => void): void;
  /** mysql2's internal list of every open pooled connection (a ring queue). */
  _allConnections?: { toArray(): PooledConnection[] };
}

/** True when the MySQL/MariaDB server behind `dataSource` is a Galera node with wsrep on. */
export async function isGaleraNode(dataSource: DataSource): Promise<boolean> {
  if (dataSource.options.type === "better-sqlite3") return false;
  const rows = await dataSource.query<{ Value?: string }[]>("SHOW VARIABLES LIKE 'wsrep_on'");
  return rows[0]?.Value === "ON";
}

/**
 * Applies the session settings to every connection of the pool, those already open and those it
 * opens later (the pool runs a connection's statements in order, so the settings precede its
 * first use). Resolves to whether the node is a Galera node.
 */
export async function configureSessions(dataSource: DataSource): Promise<boolean> {
  if (dataSource.options.type === "better-sqlite3") return false;
  const galera = await isGaleraNode(dataSource);
  configurePoolSessions((dataSource.driver as unknown as { pool: Mysql2Pool }).pool, galera);
  return galera;
}

/**
 * The same session settings on another mysql2 pool of this process (the write batches' pool,
 * statement-batch.ts), plus `extra` statements of its own, run on each connection first.
 */
export function configurePoolSessions(
  pool: Mysql2Pool,
  galera: boolean,
  extra: readonly string[] = [],
): void {
  const statements = [...extra, READ_COMMITTED, ...(galera ? [SYNC_READS] : [])];
  const set = (connection: PooledConnection) => {
    for (const sql of statements) connection.query(sql, () => undefined);
  };
  pool.on("connection", set);
  for (const connection of pool._allConnections?.toArray() ?? []) set(connection);
}
