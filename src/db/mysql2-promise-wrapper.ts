// TypeORM's MySQL driver calls `connection.promise()` before every query, and mysql2 answers with
// a `require()` (module resolution, package.json lookups) plus a fresh wrapper each time: in the
// benchmark's profile that was several percent of the server's CPU. The wrapper holds no state of
// its own, so one per pooled connection is enough. Found with --cpu-prof; see bench/REPORT.md.
import type { DataSource } from "typeorm";

const CACHED = Symbol("passkey-link-api.promiseWrapper");
const PATCHED = Symbol("passkey-link-api.promiseWrapperPatched");

interface PoolConnectionLike {
  promise: (this: PoolConnectionLike, promiseImpl?: PromiseConstructor) => unknown;
  release(): void;
  [CACHED]?: unknown;
  [PATCHED]?: true;
}

export async function cachePromiseWrappers(dataSource: DataSource): Promise<void> {
  const pool = (
    dataSource.driver as unknown as {
      pool?: {
        getConnection(cb: (error: Error | null, connection: PoolConnectionLike) => void): void;
      };
    }
  ).pool;
  if (!pool) return;
  const connection = await new Promise<PoolConnectionLike>((resolve, reject) =>
    pool.getConnection((error, conn) => (error ? reject(error) : resolve(conn))),
  );
  const prototype = Object.getPrototypeOf(connection) as PoolConnectionLike;
  connection.release();
  if (prototype[PATCHED]) return;
  const original = prototype.promise;
  Object.defineProperty(prototype, PATCHED, { value: true });
  prototype.promise = function (this: PoolConnectionLike, promiseImpl?: PromiseConstructor) {
    if (promiseImpl !== undefined) return original.call(this, promiseImpl);
    return (this[CACHED] ??= original.call(this));
  };
}
