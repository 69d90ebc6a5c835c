// Reads a test database over a connection of its own, e.g. after the server using it has stopped.
import type { DatabaseConfig } from "../../src/config";
import { createDataSource } from "../../src/db/data-source";
import { configureSessions } from "../../src/db/galera";
import type { TestDatabase } from "./harness";

export async function queryDatabase<T>(
  database: TestDatabase,
  sql: string,
  parameters: unknown[] = [],
): Promise<T[]> {
  const config: DatabaseConfig = database.url.startsWith("sqlite:")
    ? { kind: "sqlite", path: database.url.slice("sqlite:".length) }
    : { kind: "mysql", url: database.url, poolSize: 1, retries: 0 };
  const dataSource = createDataSource(config);
  await dataSource.initialize();
  try {
    await configureSessions(dataSource);
    return await dataSource.query<T[]>(sql, parameters);
  } finally {
    await dataSource.destroy();
  }
}
