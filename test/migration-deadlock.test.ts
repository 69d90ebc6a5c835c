// Migrations on MySQL/MariaDB run each statement on its own, and one picked as a deadlock victim is
// run again (src/db/connect.ts). On Galera, schema changes replicated from another node abort
// local statements that way, reads of information_schema included; a CI run once stopped a
// migration halfway on it. Here a real InnoDB deadlock stands in: another connection holds row 2
// while the runner's statement holds row 1, then asks for row 1.
import mysql from "mysql2/promise";
import type { DataSource, QueryRunner } from "typeorm";
import { migrateDatabase, retryDeadlockedStatements } from "../src/db/connect";
import { createDataSource } from "../src/db/data-source";
import { Database, isDeadlock } from "../src/db/database";
import type { TestDatabase } from "./helpers/harness";
import { TEST_DB, createTestDatabase } from "./helpers/harness";
import { eventually } from "./helpers/wait";

const ROWS = 100;

(TEST_DB === "mariadb" ? describe : describe.skip)("a migration statement in a deadlock", () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let other: mysql.Connection;
  let runner: QueryRunner;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = createDataSource({ kind: "mysql", url: database.url, poolSize: 2, retries: 0 });
    await dataSource.initialize();
    other = await mysql.createConnection(database.url);
  });
  afterAll(async () => {
    await other?.end();
    await dataSource?.destroy();
    await database?.drop();
  });

  beforeEach(async () => {
    await other.query("DROP TABLE IF EXISTS t");
    await other.query("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB");
    const ids = Array.from({ length: ROWS }, (_, i) => [i + 1, 0]);
    await other.query("INSERT INTO t (id, v) VALUES ?", [ids]);
    runner = dataSource.createQueryRunner();
  });
  afterEach(async () => {
    await other.query("ROLLBACK");
    await runner.release();
  });

  /**
   * The runner's statement adds 10 to rows 1 and 2 while `other`, in a transaction, has added 1
   * to rows 2 to 100 and then asks for row 1: a cycle. InnoDB rolls back the lighter side, the
   * runner's statement, and `other` commits. Resolves to how the statement ended.
   */
  async function deadlockedStatement(): Promise<PromiseSettledResult<unknown>> {
    await other.query("BEGIN");
    await other.query("UPDATE t SET v = v + 1 WHERE id >= 2");
    const statement = Promise.allSettled([
      runner.query("UPDATE t SET v = v + 10 WHERE id IN (1, 2)"),
    ]);
    await eventually("the statement waiting for row 2", async () => {
      const [rows] = await other.query<mysql.RowDataPacket[]>(
        "SELECT 1 FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE t SET v = v + 10 %'",
      );
      return rows.length > 0 ? true : undefined;
    });
    await other.query("UPDATE t SET v = v + 1 WHERE id = 1");
    await other.query("COMMIT");
    const [settled] = await statement;
    return settled;
  }

  async function values(): Promise<number[]> {
    const [rows] = await other.query<mysql.RowDataPacket[]>("SELECT v FROM t ORDER BY id");
    return rows.map((row) => Number(row.v));
  }

  it("fails as the deadlock's victim on a plain runner (the case the retry is for)", async () => {
    const settled = await deadlockedStatement();
    expect(settled.status).toBe("rejected");
    expect(isDeadlock((settled as PromiseRejectedResult).reason)).toBe(true);
    expect(await values()).toEqual(Array(ROWS).fill(1));
  });

  it("is run again once the other transaction is done, and applies exactly once", async () => {
    retryDeadlockedStatements(runner);
    const settled = await deadlockedStatement();
    expect(settled.status).toBe("fulfilled");
    expect(await values()).toEqual([11, 11, ...Array(ROWS - 2).fill(1)]);
  });

  it("is not run again inside a transaction, whose earlier statements the deadlock undid", async () => {
    retryDeadlockedStatements(runner);
    await runner.startTransaction();
    // A row of its own (below the rows `other` locks), which the deadlock's rollback takes back.
    await runner.query("INSERT INTO t (id, v) VALUES (0, 0)");
    const settled = await deadlockedStatement();
    await runner.rollbackTransaction();
    expect(settled.status).toBe("rejected");
    expect(isDeadlock((settled as PromiseRejectedResult).reason)).toBe(true);
    expect(await values()).toEqual(Array(ROWS).fill(1));
  });

  it("leaves migrateDatabase bringing a fresh database up to date, then finding nothing to do", async () => {
    const fresh = await createTestDatabase();
    const source = createDataSource({ kind: "mysql", url: fresh.url, poolSize: 2, retries: 0 });
    await source.initialize();
    try {
      const db = new Database(source, 0);
      await migrateDatabase(db);
      const ran = await source.query<{ name: string }[]>("SELECT name FROM migrations");
      expect(ran.length).toBe(source.migrations.length);
      await migrateDatabase(db);
      expect(await source.query("SELECT name FROM migrations")).toHaveLength(ran.length);
    } finally {
      await source.destroy();
      await fresh.drop();
    }
  });
});
