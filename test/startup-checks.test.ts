// Start-up checks the mail templates and the database before it writes anything (SPEC 16): a failed
// start leaves no master.key, no admin.pat, no owner and no schema behind, and says why.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { TestDatabase } from "./helpers/harness";
import { TEST_DB, createTestDatabase, productionEnv } from "./helpers/harness";
import { queryDatabase } from "./helpers/db-query";
import { freePort } from "./helpers/ports";
import { ServerProcess } from "./helpers/server-process";
import { eventually } from "./helpers/wait";

const MAIN = path.resolve(__dirname, "../dist/src/main.js");

/** The server's environment: a free port on loopback, then `env`. */
async function serverEnv(env: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: process.env.PATH,
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: String(await freePort()),
    ...env,
  };
}

/** Starts the server and waits for it to exit (a failed start). */
async function start(env: Record<string, string>) {
  return spawnSync(process.execPath, [MAIN], {
    env: await serverEnv(env),
    encoding: "utf8",
    timeout: 60_000,
  });
}

/** Tables in the test database; a SQLite file that was never opened has none. */
async function tableCount(database: TestDatabase): Promise<number> {
  if (TEST_DB === "sqlite") {
    const file = database.url.slice("sqlite:".length);
    if (!fs.existsSync(file)) return 0;
    const rows = await queryDatabase<{ n: number }>(
      database,
      "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'",
    );
    return Number(rows[0]!.n);
  }
  const rows = await queryDatabase<{ n: number }>(
    database,
    "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE()",
  );
  return Number(rows[0]!.n);
}

const written = (dataDir: string) =>
  ["master.key", "admin.pat"].filter((name) => fs.existsSync(path.join(dataDir, name)));

describe("a failed start writes nothing", () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(() => database.drop());

  it("with a MAIL_TEMPLATE_DIR that cannot be read", async () => {
    const missing = path.join(database.dataDir, "no-such-templates");
    const result = await start({
      DATA_DIR: database.dataDir,
      DATABASE_URL: database.url,
      MAIL_TEMPLATE_DIR: missing,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`failed to start: cannot read mail templates`);
    expect(result.stderr).toContain(missing);
    expect(written(database.dataDir)).toEqual([]);
    expect(await tableCount(database)).toBe(0);
  });

  it("with a template that does not compile", async () => {
    const dir = path.join(database.dataDir, "templates");
    fs.mkdirSync(path.join(dir, "en"), { recursive: true });
    fs.writeFileSync(path.join(dir, "en", "subject.txt"), "Hello {{#if displayName}}");
    const result = await start({
      DATA_DIR: database.dataDir,
      DATABASE_URL: database.url,
      MAIL_TEMPLATE_DIR: dir,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("subject.txt");
    expect(written(database.dataDir)).toEqual([]);
    expect(await tableCount(database)).toBe(0);
  });

  it("with a database that does not answer, naming it without its password", async () => {
    const port = await freePort();
    const result = await start({
      DATA_DIR: database.dataDir,
      DATABASE_URL: `mysql://app:s3cret-pw@127.0.0.1:${port}/passkeys`,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `failed to start: cannot reach the database at mysql://127.0.0.1:${port}/passkeys: `,
    );
    expect(result.stderr).toContain("ECONNREFUSED");
    expect(result.stderr).not.toContain("s3cret-pw");
    expect(written(database.dataDir)).toEqual([]);
  });

  it("with a DATA_DIR that cannot be written: no owner whose token nobody has", async () => {
    // MASTER_KEY set and the database elsewhere: admin.pat is the only file DATA_DIR would hold.
    const blocker = path.join(database.dataDir, "a-file");
    fs.writeFileSync(blocker, "");
    const env = {
      DATABASE_URL: database.url,
      MASTER_KEY: Buffer.alloc(32, 9).toString("base64"),
    };
    const failed = await start({ ...env, DATA_DIR: path.join(blocker, "data") });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("failed to start:");
    const owners = () =>
      queryDatabase<{ n: number }>(database, "SELECT COUNT(*) AS n FROM users").then((rows) =>
        Number(rows[0]!.n),
      );
    expect(await owners()).toBe(0);
    // Once DATA_DIR can be written, the next start creates the owner and its token file.
    const dataDir = path.join(database.dataDir, "data");
    const started = spawn(process.execPath, [MAIN], {
      env: await serverEnv({ ...env, DATA_DIR: dataDir }),
      stdio: "ignore",
    });
    try {
      // A whole server start (migrations included) on a busy CI machine: give it time.
      await eventually(
        "admin.pat",
        () => (fs.existsSync(path.join(dataDir, "admin.pat")) ? true : undefined),
        45_000,
      );
      expect(await owners()).toBe(1);
    } finally {
      started.kill("SIGTERM");
      await new Promise((resolve) => started.once("exit", resolve));
    }
  }, 90_000);

  it.each(["PORT", "METRICS_PORT"])("with a %s another process listens on", async (name) => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const result = await start({
        DATA_DIR: database.dataDir,
        DATABASE_URL: database.url,
        [name]: String(port),
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`failed to start: ${name} ${port} on 127.0.0.1 is in use`);
      expect(written(database.dataDir)).toEqual([]);
      expect(await tableCount(database)).toBe(0);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe("the master key checked against the data", () => {
  let database: TestDatabase;
  const servers: ServerProcess[] = [];
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.kill("SIGKILL")));
    await database.drop();
  });

  const fingerprints = () =>
    queryDatabase<{ fingerprint: string }>(database, "SELECT fingerprint FROM key_fingerprint");
  const counts = async () =>
    (
      await queryDatabase<{ users: number; events: number }>(
        database,
        "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM events) AS events",
      )
    ).map((row) => ({ users: Number(row.users), events: Number(row.events) }))[0];

  it("refuses another MASTER_KEY before writing, and stores a missing fingerprint", async () => {
    const key = Buffer.alloc(32, 1).toString("base64");
    const env = productionEnv({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      MASTER_KEY: key,
    });
    const first = await ServerProcess.start(env);
    servers.push(first);
    expect(await first.kill("SIGTERM")).toBe(0);
    const [stored] = await fingerprints();
    expect(stored?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(stored?.fingerprint).not.toContain(Buffer.from(key, "base64").toString("hex"));
    const before = await counts();

    const other = await start({ ...env, MASTER_KEY: Buffer.alloc(32, 2).toString("base64") });
    expect(other.status).toBe(1);
    expect(other.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^failed to start: MASTER_KEY does not match the key the data in this database was written with \(key fingerprint [0-9a-f]{8}…, this key's [0-9a-f]{8}…\); start with the original key$/,
      ),
    ]);
    expect(other.stderr).not.toContain(key);
    expect(await counts()).toEqual(before);

    // A database from before fingerprints: the next start with a key stores it.
    await queryDatabase(database, "DELETE FROM key_fingerprint");
    const again = await ServerProcess.start(env);
    servers.push(again);
    expect(await again.kill("SIGTERM")).toBe(0);
    expect(await fingerprints()).toEqual([{ fingerprint: stored!.fingerprint }]);
  }, 240_000);

  it("does not replace a lost master.key with a new one", async () => {
    const env = { DATABASE_URL: database.url, DATA_DIR: database.dataDir };
    const first = await ServerProcess.start(env);
    servers.push(first);
    expect(await first.kill("SIGTERM")).toBe(0);
    const keyFile = path.join(database.dataDir, "master.key");
    fs.rmSync(keyFile);

    const result = await start(env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `failed to start: the key in ${database.dataDir}/master.key does not match the key the data in this database was written with`,
    );
    expect(fs.existsSync(keyFile)).toBe(false);
  }, 240_000);
});

(TEST_DB === "sqlite" ? describe : describe.skip)("two processes on one SQLite file", () => {
  let database: TestDatabase;
  const servers: ServerProcess[] = [];
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.kill("SIGKILL")));
    await database.drop();
  });

  it("are refused: the second says why; a stopped or killed first frees the file", async () => {
    const env = productionEnv({ DATABASE_URL: database.url, DATA_DIR: database.dataDir });
    const first = await ServerProcess.start(env);
    servers.push(first);
    const lockFile = `${database.url.slice("sqlite:".length)}.lock`;
    const otherDir = path.join(database.dataDir, "second");

    const second = await start({ ...env, DATA_DIR: otherDir });
    expect(second.status).toBe(1);
    expect(second.stderr.trim().split("\n")).toEqual([
      `failed to start: the SQLite database ${database.url.slice("sqlite:".length)} is in use by another server process (pid ${first.pid}, lock file ${lockFile}); SQLite serves one process, several need MySQL/MariaDB (DATABASE_URL=mysql://...)`,
    ]);
    expect(fs.existsSync(otherDir)).toBe(false);

    // A killed process leaves its lock behind; the next start sees that it is gone.
    expect(await first.kill("SIGKILL")).toBe(null);
    expect(fs.existsSync(lockFile)).toBe(true);
    const third = await ServerProcess.start(env);
    servers.push(third);
    expect(fs.readFileSync(lockFile, "utf8").trim()).toBe(String(third.pid));
    expect(await third.kill("SIGTERM")).toBe(0);
    expect(fs.existsSync(lockFile)).toBe(false);
  }, 240_000);
});
