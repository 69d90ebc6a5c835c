// Builds the TypeORM DataSource for the configured engine: MySQL/MariaDB (mysql2) or SQLite.
import fs from "node:fs";
import path from "node:path";
import { DataSource } from "typeorm";
import type { DatabaseConfig } from "../config";
import { ENTITIES } from "../entities";
import { MIGRATIONS } from "../migrations";

export function createDataSource(database: DatabaseConfig): DataSource {
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
    type: "mysql",
    url: database.url.replace(/^mariadb:/, "mysql:"),
    timezone: "Z",
    charset: "utf8mb4_unicode_ci",
    poolSize: database.poolSize,
    supportBigNumbers: true,
    bigNumberStrings: false,
    connectTimeout: 5000,
    extra: { enableKeepAlive: true },
  });
}
