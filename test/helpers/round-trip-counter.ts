// Counts a request's exchanges with the database (issue 21). On MySQL/MariaDB every call of a
// pooled mysql2 connection's `query`/`execute` is one network round trip (a multi-statement batch
// is one call); on SQLite the count is of statements TypeORM's runner sends (in process). The
// same counter as test/round-trips.test.ts uses for the create path.
import type { TestApp } from "./harness";

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Records the SQL of every round trip the app's database connections make while `recording`. */
export class RoundTripCounter {
  recording = false;
  readonly sql: string[] = [];
  private readonly restore: (() => void)[] = [];

  async install(t: TestApp): Promise<void> {
    const { db } = t.app.services;
    if (db.dialect === "mysql") {
      const pool = (
        db.dataSource.driver as unknown as {
          pool: { getConnection(cb: (e: Error | null, c: object) => void): void };
        }
      ).pool;
      const connection = await new Promise<{ release(): void }>((resolve, reject) =>
        pool.getConnection((e, c) => (e ? reject(e) : resolve(c as { release(): void }))),
      );
      connection.release();
      for (const name of ["query", "execute"]) this.wrap(connection, name);
    } else {
      const runner = db.dataSource.createQueryRunner();
      this.wrap(runner, "query");
      await runner.release();
    }
  }

  /** Wraps `name` where the prototype chain of `instance` defines it. */
  private wrap(instance: object, name: string): void {
    let owner: object | null = instance;
    while (owner && !Object.prototype.hasOwnProperty.call(owner, name)) {
      owner = Object.getPrototypeOf(owner) as object | null;
    }
    if (!owner) throw new Error(`no ${name} on the connection`);
    const target = owner as Record<string, Method>;
    const original = target[name]!;
    const record = (first: unknown) => {
      if (!this.recording) return;
      this.sql.push(typeof first === "string" ? first : String((first as { sql?: string }).sql));
    };
    target[name] = function (this: unknown, ...args: unknown[]) {
      record(args[0]);
      return original.apply(this, args);
    };
    this.restore.push(() => {
      target[name] = original;
    });
  }

  async count(work: () => Promise<unknown>): Promise<string[]> {
    this.sql.length = 0;
    this.recording = true;
    try {
      await work();
    } finally {
      this.recording = false;
    }
    return [...this.sql];
  }

  uninstall(): void {
    for (const restore of this.restore.reverse()) restore();
  }
}
