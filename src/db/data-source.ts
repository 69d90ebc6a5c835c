// Builds the TypeORM DataSource for the configured engine: MySQL/MariaDB (mysql2) or SQLite.
import fs from "node:fs";
import path from "node:path";
import mysql from "mysql2/promise";
import { DataSource } from "typeorm";
import type { DatabaseConfig } from "../config";
import { ENTITIES } from "../entities";
import { MIGRATIONS } from "../migrations";

export type MysqlFlavor = "mysql" | "mariadb";

/** DATABASE_STATEMENT_TIMEOUT_MS's default, for data sources built without a Config. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/**
 * MariaDB and MySQL describe columns differently (MariaDB reports a nullable column's default as
 * the text 'NULL'); TypeORM reads the catalog right only when told which one it talks to.
 */
export async function detectMysqlFlavor(url: string): Promise<MysqlFlavor> {
  const connection = await mysql.createConnection({ uri: toMysqlUrl(url), connectTimeout: 5000 });
  try {
    const [rows] = await connection.query("SELECT VERSION() AS version");
    const version = (rows as { version: string }[])[0]?.version ?? "";
    return /mariadb/i.test(version) ? "mariadb" : "mysql";
  } finally {
    await connection.end();
  }
}

/**
 * The SQLite file holds hashes, sealed links and personal data: its directory is created 0700
 * and the file 0600 before SQLite opens it, in the one open() call that creates it (no window in
 * which it exists with wider permissions). SQLite creates the -wal and -shm files with the
 * database file's permissions. Files of an older install are narrowed to 0600 here too.
 */
function createPrivately(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, "a", 0o600));
  for (const own of [file, `${file}-wal`, `${file}-shm`]) {
    if (fs.existsSync(own)) fs.chmodSync(own, 0o600);
  }
}

const toMysqlUrl = (url: string) => url.replace(/^mariadb:/, "mysql:");

/** `flavor` defaults to the URL's scheme: mariadb://... or mysql://... */
export function createDataSource(database: DatabaseConfig, flavor?: MysqlFlavor): DataSource {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: "migrations",
    synchronize: false,
    logging: false,
  } as const;
  if (database.kind === "sqlite") {
    if (database.path !== ":memory:") createPrivately(database.path);
    return new DataSource({
      ...common,
      type: "better-sqlite3",
      database: database.path,
      enableWAL: database.path !== ":memory:",
      // The busy timeout: how long a statement waits for another connection's write lock.
      timeout: database.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      prepareDatabase: (db: { pragma(source: string): unknown }) => {
        db.pragma("foreign_keys = ON");
        db.pragma("synchronous = NORMAL");
      },
    });
  }
  return new DataSource({
    ...common,
    type: flavor ?? (database.url.startsWith("mariadb:") ? "mariadb" : "mysql"),
    url: toMysqlUrl(database.url),
    timezone: "Z",
    charset: "utf8mb4_unicode_ci",
    poolSize: database.poolSize,
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectTimeout: 5000,
    // trace: false skips the stack capture mysql2 does on every query (a visible share of CPU in
    // the benchmark); errors still carry the SQL error code and message.
    extra: { enableKeepAlive: true, trace: false },
  });
}
