// Counts a request's exchanges with the database (issue 21). On MySQL/MariaDB every command a
// mysql2 connection sends is one network round trip (a multi-statement batch is one command);
// commands are counted where mysql2 queues them, for every connection of the process: the general
// pool's and the write batches' pool's (src/db/statement-batch.ts) alike. On SQLite the count is
// of statements TypeORM's runner sends (in process). Stop the background jobs while counting, so
// only the request's own statements count.
import type { TestApp } from "./harness";

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** A mysql2 command as queued: a Query carries its (formatted) SQL. */
interface Command {
  sql?: string;
  onResult?: (error: Error | null) => void;
  emit(event: string): boolean;
}

/** Records the SQL of every round trip the app's database connections make while `recording`. */
export class RoundTripCounter {
  recording = false;
  readonly sql: string[] = [];
  /** MySQL/MariaDB: fails the next command `failNext` matches with `error`, without sending it. */
  failNext?: { matches: (sql: string) => boolean; error: Error };
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
      // Every query, execute, prepare or ping of every connection (of any pool) goes through
      // mysql2's addCommand on this shared prototype.
      this.wrap(connection, "addCommand", (command) => {
        const cmd = command as Command;
        const sql = typeof cmd.sql === "string" ? cmd.sql : cmd.constructor.name;
        if (this.recording) this.sql.push(sql);
        const failure = this.failNext;
        if (failure && typeof cmd.sql === "string" && failure.matches(cmd.sql)) {
          this.failNext = undefined;
          setImmediate(() => {
            cmd.onResult?.(failure.error);
            cmd.emit("end");
          });
          return true;
        }
        return false;
      });
    } else {
      const runner = db.dataSource.createQueryRunner();
      this.wrap(runner, "query", (first) => {
        if (this.recording) {
          this.sql.push(
            typeof first === "string" ? first : String((first as { sql?: string }).sql),
          );
        }
        return false;
      });
      await runner.release();
    }
  }

  /**
   * Wraps `name` where the prototype chain of `instance` defines it; `before` sees the first
   * argument and returns true to swallow the call.
   */
  private wrap(instance: object, name: string, before: (first: unknown) => boolean): void {
    let owner: object | null = Object.getPrototypeOf(instance) as object | null;
    while (owner && !Object.prototype.hasOwnProperty.call(owner, name)) {
      owner = Object.getPrototypeOf(owner) as object | null;
    }
    if (!owner) throw new Error(`no ${name} on the connection's prototypes`);
    const target = owner as Record<string, Method>;
    const original = target[name]!;
    target[name] = function (this: unknown, ...args: unknown[]) {
      if (before(args[0])) return args[0];
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
