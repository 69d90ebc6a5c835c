// A server whose database goes away mid-test: MariaDB behind a TCP proxy that is cut, or a
// SQLite data source that is closed.
import type { TestApp } from "./harness";
import { TEST_DB, createTestDatabase, startTestApp } from "./harness";
import { startTcpProxy } from "./tcp-proxy";

export async function withDatabaseOutage(
  run: (t: TestApp, cut: () => Promise<void>) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const database = await createTestDatabase();
  let t: TestApp | undefined;
  const server = TEST_DB === "mariadb" ? new URL(database.url) : undefined;
  const proxy = server
    ? await startTcpProxy(server.hostname, Number(server.port || 3306))
    : undefined;
  try {
    const url = proxy
      ? database.url.replace(`@${server!.host}/`, `@127.0.0.1:${proxy.port}/`)
      : database.url;
    const app = await startTestApp({ ...env, DATABASE_URL: url }, { database });
    t = app;
    await run(app, () => (proxy ? proxy.cut() : app.app.services.db.dataSource.destroy()));
  } finally {
    await proxy?.close();
    await t?.close().catch(() => undefined);
    await database.drop();
  }
}
