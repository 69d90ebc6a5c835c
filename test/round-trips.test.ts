// How many exchanges with the database a request costs (issue 21). On MySQL/MariaDB every call of
// a pooled mysql2 connection's `query`/`execute` is one network round trip (a multi-statement
// batch is one call); on SQLite the count is of statements TypeORM's runner sends (in process).
// The background jobs are stopped while counting, so only the request's own statements count.
import type { TestApp } from "./helpers/harness";
import { startTestApp, TEST_DB } from "./helpers/harness";
import { addHuman, addOrg, DETAILS } from "./helpers/fixtures";

const CREATE = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { ${DETAILS} code { id code } } }`;

/** Today's counts, so they cannot silently grow (issue 21 brings MySQL/MariaDB to 4). */
const CREATE_ROUND_TRIPS = TEST_DB === "mariadb" ? 7 : 7;

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** Records the SQL of every round trip the app's database connections make while `recording`. */
class RoundTripCounter {
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

let t: TestApp;
const counter = new RoundTripCounter();

beforeAll(async () => {
  t = await startTestApp({ NODE_ENV: "production", PASSKEY_CODE_MAX_ACTIVE: "3" });
  await t.app.outboxWorker.stop();
  await t.app.codeRetention.stop();
  await counter.install(t);
});

afterAll(async () => {
  counter.uninstall();
  await t?.close();
});

describe("round trips per request", () => {
  it(`createPasskeyRegistrationLink(returnCode) by the owner: at most ${CREATE_ROUND_TRIPS}`, async () => {
    const orgId = await addOrg(t);
    const users = [];
    for (let i = 0; i < 4; i++) users.push(await addHuman(t, orgId));
    // Warm-up: the first request may open pool connections (their session settings are theirs).
    await t.ok(CREATE, { input: { userId: users[0], returnCode: true } });
    for (const userId of users) {
      const sql = await counter.count(() =>
        t.ok(CREATE, { input: { userId, returnCode: true } }).then((data) => {
          expect(data.createPasskeyRegistrationLink.code.code).toMatch(/^[A-Za-z0-9]{12}$/);
        }),
      );
      expect({ count: sql.length, sql }).toEqual({
        count: CREATE_ROUND_TRIPS,
        sql: expect.any(Array),
      });
    }
  });

  it("a refused create (active-code limit) commits nothing: no code, no event, no sequence", async () => {
    const orgId = await addOrg(t);
    const userId = await addHuman(t, orgId);
    const created = [];
    for (let i = 0; i < t.config.code.maxActive; i++) {
      created.push(
        await t
          .ok(CREATE, { input: { userId, returnCode: true } })
          .then((data) => String(data.createPasskeyRegistrationLink.details.sequence)),
      );
    }
    const refused = await t.gql(CREATE, { input: { userId, returnCode: true } });
    expect(refused.errors?.[0]?.extensions.details[0].id).toBe("CODE-max-active");
    const { db } = t.app.services;
    const [codes] = await db.read((m) =>
      m.query<{ n: number | string }[]>(
        "SELECT COUNT(*) AS n FROM passkey_codes WHERE user_id = ?",
        [userId],
      ),
    );
    const [user] = await db.read((m) =>
      m.query<{ sequence: number | string }[]>("SELECT sequence FROM users WHERE id = ?", [userId]),
    );
    const [events] = await db.read((m) =>
      m.query<{ n: number | string; top: number | string }[]>(
        "SELECT COUNT(*) AS n, MAX(sequence) AS top FROM events WHERE aggregate_id = ?",
        [userId],
      ),
    );
    expect(Number(codes!.n)).toBe(t.config.code.maxActive);
    expect(String(user!.sequence)).toBe(created.at(-1));
    expect(String(events!.top)).toBe(created.at(-1));
    // The next mint after the refusal still numbers its event right after the last one.
    expect(Number(events!.n)).toBe(Number(user!.sequence));
  });
});
