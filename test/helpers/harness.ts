// Test harness: the real app on an ephemeral port with a fresh database (MariaDB or a SQLite file,
// per jest project), and a small GraphQL client speaking real HTTP.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { createHash, randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import type { Config } from "../../src/config";
import { loadConfig } from "../../src/config";
import type { App, AppOptions } from "../../src/server";
import { createApp } from "../../src/server";
import type { Clock } from "../../src/core/clock";

export const TEST_DB = (process.env.TEST_DB ?? "sqlite") as "sqlite" | "mariadb";
/**
 * The MariaDB servers: TEST_MARIADB_URLS lists the nodes of a Galera cluster (npm run
 * test:galera), one URL per node; otherwise the one server of TEST_MARIADB_URL.
 */
const MARIADB_NODES = (
  process.env.TEST_MARIADB_URLS ??
  process.env.TEST_MARIADB_URL ??
  "mysql://root@127.0.0.1:3306"
)
  .split(",")
  .map((url) => url.trim().replace(/\/+$/, ""));
/** Whether the MariaDB tests run on a Galera cluster (more than one node). */
export const MARIADB_CLUSTER = MARIADB_NODES.length > 1;
/** Each new database starts on the next node, so a cluster run spreads the tests over all nodes. */
let nextNode = Math.floor(Math.random() * MARIADB_NODES.length);

/**
 * What production mode needs besides NODE_ENV (start-up refuses it without them): spread it into
 * the environment of a test that runs in production mode.
 */
export function productionEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "production",
    EXTERNAL_URL: "https://id.example.com",
    MASTER_KEY: randomBytes(32).toString("base64"),
    ...extra,
  };
}

/** A fresh, empty database: a new MariaDB schema or a new SQLite file. Dropped by `drop()`. */
export interface TestDatabase {
  url: string;
  /**
   * The same database through every node of a Galera cluster, `url`'s node first (just `url`
   * on a single server): tests with several server processes put each on its own node.
   */
  urls: string[];
  dataDir: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "plk-test-"));
  if (TEST_DB === "sqlite") {
    const url = `sqlite:${path.join(dataDir, "test.sqlite")}`;
    return {
      url,
      urls: [url],
      dataDir,
      drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `plk_test_${randomBytes(6).toString("hex")}`;
  const first = nextNode++ % MARIADB_NODES.length;
  const nodes = [...MARIADB_NODES.slice(first), ...MARIADB_NODES.slice(0, first)];
  const root = nodes[0]!;
  const admin = await mysql.createConnection(root);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const urls = nodes.map((node) => `${node}/${name}`);
  return {
    url: urls[0]!,
    urls,
    dataDir,
    drop: async () => {
      const conn = await mysql.createConnection(root);
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A clock tests can move forward. */
export class TestClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface GqlOptions {
  token?: string | null;
  orgId?: string;
  headers?: Record<string, string>;
}

export interface GqlResponse<T = any> {
  status: number;
  data: T;
  errors?: {
    message: string;
    path?: string[];
    extensions: { code: string; grpcCode: number; details: any[] };
  }[];
  body: any;
}

export interface TestApp {
  url: string;
  app: App;
  config: Config;
  database: TestDatabase;
  clock: TestClock;
  adminToken: string;
  /** Every log line the server wrote, as text. */
  logs: string[];
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    options?: GqlOptions,
  ): Promise<GqlResponse<T>>;
  /** Like gql, but fails the test on any error and returns `data`. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, options?: GqlOptions): Promise<T>;
  close(): Promise<void>;
}

export async function startTestApp(
  env: Record<string, string> = {},
  options: AppOptions & { database?: TestDatabase } = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  // Production mode refuses to start without these; a test that does not name them gets what a
  // deployment would set: the development default's URL, and one key per database (the database
  // remembers its key, so a restart on the same database must bring the same one).
  const deployment =
    env.NODE_ENV === "production"
      ? {
          EXTERNAL_URL: `http://localhost:${env.PORT ?? "0"}`,
          MASTER_KEY: createHash("sha256").update(`test key ${database.url}`).digest("base64"),
        }
      : {};
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    DATA_DIR: database.dataDir,
    DATABASE_URL: database.url,
    ...deployment,
    ...env,
  });
  const clock = (options.clock as TestClock | undefined) ?? new TestClock();
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const app = await createApp(config, { ...options, clock, logStream });
  const url = await app.listen();
  const adminToken = fs.existsSync(path.join(database.dataDir, "admin.pat"))
    ? fs.readFileSync(path.join(database.dataDir, "admin.pat"), "utf8").trim()
    : "";

  const gql = async (
    query: string,
    variables: Record<string, unknown> = {},
    opts: GqlOptions = {},
  ) => {
    const token = opts.token === undefined ? adminToken : opts.token;
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(opts.orgId ? { "x-zitadel-orgid": opts.orgId } : {}),
        ...opts.headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body: any = await response.json();
    return { status: response.status, data: body.data, errors: body.errors, body };
  };
  const ok = async (query: string, variables?: Record<string, unknown>, opts?: GqlOptions) => {
    const result = await gql(query, variables, opts);
    if (result.errors) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    return result.data;
  };
  let closed = false;
  return {
    url,
    app,
    config,
    database,
    clock,
    adminToken,
    logs,
    gql,
    ok,
    async close() {
      if (closed) return;
      closed = true;
      await app.stop();
      if (!options.database) await database.drop();
    },
  };
}

/** The error of a failed single-field operation, asserting there is exactly one. */
export function onlyError(result: GqlResponse) {
  expect(result.errors).toHaveLength(1);
  return result.errors![0]!;
}

export function expectError(result: GqlResponse, code: string, id?: string) {
  const error = onlyError(result);
  expect(error.extensions.code).toBe(code);
  if (id) expect(error.extensions.details[0].id).toBe(id);
  return error;
}
