// A deadlock rolls a MySQL/MariaDB transaction back whole at the statement that meets it (on
// Galera, so does a conflict with another node). Code that catches that statement's failure and
// goes on would run its later statements outside any transaction, each committing on its own.
// Database.transaction fails such a transaction whatever the work did with the error, and runs
// it again. (A sign-in once answered "unknown credential" this way on Galera.)
import mysql from "mysql2/promise";
import type { TestApp, TestDatabase } from "./helpers/harness";
import { TEST_DB, createTestDatabase, startTestApp } from "./helpers/harness";

const mariadb = TEST_DB === "mariadb" ? describe : describe.skip;

mariadb("a transaction that met a deadlock", () => {
  let database: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp({}, { database });
    await t.app.services.db.read((db) =>
      db.query("CREATE TABLE guard_rows (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"),
    );
  });
  afterAll(async () => {
    await t.close();
    await database.drop();
  });

  it("is run again even when its work swallowed the failure", async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `(${i + 1}, 0)`).join(", ");
    await t.app.services.db.read((db) => db.query(`INSERT INTO guard_rows VALUES ${rows}`));
    const other = await mysql.createConnection(database.url);
    let attempts = 0;
    const swallowed: string[] = [];
    try {
      await t.app.services.db.transaction(async (tx) => {
        attempts += 1;
        await tx.query("UPDATE guard_rows SET v = v + 1 WHERE id = 1");
        if (attempts === 1) {
          // The other transaction is the heavier one (many changed rows), so InnoDB picks this
          // one as the deadlock victim.
          await other.query("BEGIN");
          await other.query("UPDATE guard_rows SET v = v + 1 WHERE id >= 2");
          const blocked = other.query("UPDATE guard_rows SET v = v + 1 WHERE id = 1");
          await new Promise((resolve) => setTimeout(resolve, 200));
          try {
            await tx.query("UPDATE guard_rows SET v = v + 1 WHERE id = 2");
          } catch (error) {
            swallowed.push((error as { driverError?: { code?: string } }).driverError?.code ?? "");
          }
          await blocked;
          await other.query("COMMIT");
        } else {
          await tx.query("UPDATE guard_rows SET v = v + 1 WHERE id = 2");
        }
        await tx.query("INSERT INTO guard_rows VALUES (1000, ?)", [attempts]);
      });
    } finally {
      await other.end();
    }
    expect(swallowed).toEqual(["ER_LOCK_DEADLOCK"]);
    expect(attempts).toBe(2);
    const [one, two, inserted] = await t.app.services.db.read((db) =>
      db.query<{ id: number; v: number }[]>(
        "SELECT id, v FROM guard_rows WHERE id IN (1, 2, 1000) ORDER BY id",
      ),
    );
    // Row 1 once by the other transaction and once by the retry; row 2 likewise; the insert
    // only from the retry (the first attempt's was rolled back, not committed on its own).
    expect([one, two, inserted]).toEqual([
      { id: 1, v: 2 },
      { id: 2, v: 2 },
      { id: 1000, v: 2 },
    ]);
  });
});
