// Builds the TypeORM DataSource for the configured engine: MySQL/MariaDB (mysql2) or SQLite.
import fs from "node:fs";
import path from "node:path";
import mysql from "mysql2/promise";
import { DataSource } from "typeorm";
import type { DatabaseConfig } from "../config";
import { ENTITIES } from "../entities";
import { MIGRATIONS } from "../migrations";

export type MysqlFlavor = "mysql" | "mariadb";

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
    if (database.path !== ":memory:") {
      fs.mkdirSync(path.dirname(path.resolve(database.path)), { recursive: true });
    }
    return new DataSource({
      ...common,
      type: "better-sqlite3",
      database: database.path,
      enableWAL: database.path !== ":memory:",
      timeout: 5000,
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
