// The bare servers of the benchmark (the floor, the bare reference): node:http, a JSON body in,
// a JSON answer out, kept alive as autocannon expects; a handler that throws answers 500. And the
// mysql2 pool options and pools they share with the server.
import http from "node:http";
import mysql from "mysql2/promise";
import { configurePoolSessions } from "../src/db/galera";

export interface JsonAnswer {
  status: number;
  body: unknown;
}

export function jsonServer(
  handle: (request: http.IncomingMessage, body: unknown) => Promise<JsonAnswer>,
): http.Server {
  const server = http.createServer((request, response) => {
    let raw = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (raw += chunk));
    request.on("end", () => {
      Promise.resolve()
        .then(() => handle(request, JSON.parse(raw)))
        .then(
          ({ status, body }) => {
            response.writeHead(status, { "content-type": "application/json" });
            response.end(JSON.stringify(body));
          },
          () => {
            response.writeHead(500);
            response.end();
          },
        );
    });
  });
  server.keepAliveTimeout = 72_000;
  return server;
}

/** The server's driver options (src/db/data-source.ts) and pool size, for a mysql2 pool. */
export function poolOptions(uri: string) {
  return {
    uri,
    connectionLimit: 10,
    timezone: "Z",
    supportBigNumbers: true,
    enableKeepAlive: true,
    trace: false,
  };
}

/**
 * The server's two pools for a create: the general one and the one that sends write transactions
 * in batches (src/db/statement-batch.ts), both with the server's session settings, set by its own
 * `configurePoolSessions` (READ COMMITTED on every connection; without it the INSERT … SELECT guard
 * takes next-key locks and concurrent creates deadlock), and the batches' without autocommit.
 */
export function createPools(uri: string, connectionLimit?: number) {
  const options = { ...poolOptions(uri), ...(connectionLimit ? { connectionLimit } : {}) };
  const pool = mysql.createPool(options);
  const batches = mysql.createPool({ ...options, multipleStatements: true });
  configurePoolSessions(pool.pool, false);
  configurePoolSessions(batches.pool, false, ["SET SESSION autocommit = 0"]);
  return { pool, batches };
}
