// How many exchanges with the database a request costs (issue 21). On MySQL/MariaDB every command
// a mysql2 connection sends is one network round trip (a multi-statement batch is one command);
// commands are counted where mysql2 queues them, for every connection of the process: the general
// pool's and the write batches' pool's (src/db/statement-batch.ts) alike. On SQLite the count is
// of statements TypeORM's runner sends (in process). The background jobs are stopped while
// counting, so only the request's own statements count.
import type { EntityManager } from "typeorm";
import type { TestApp } from "./helpers/harness";
import { startTestApp, TEST_DB } from "./helpers/harness";
import { addHuman, addOrg, DETAILS } from "./helpers/fixtures";
import { RoundTripCounter } from "./helpers/round-trip-counter";

const CREATE = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { ${DETAILS} code { id code } } }`;

/**
 * The counts, so they cannot silently grow. MySQL/MariaDB: the token with its roles; START
 * TRANSACTION with the user's locking read; the guarded code INSERT; the sequence bump, the
 * event and COMMIT. SQLite (no network) keeps one statement per exchange.
 */
const CREATE_ROUND_TRIPS = TEST_DB === "mariadb" ? 4 : 7;

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
      if (TEST_DB === "mariadb") {
        // The batches are the write pool's: were its commands not counted, these would fail.
        expect(sql[1]).toMatch(
          /^START TRANSACTION;\s*SAVEPOINT plk_whole;\s*SELECT [^;]* FOR UPDATE$/,
        );
        expect(sql[2]).toMatch(/^INSERT INTO `passkey_codes`[^;]*$/);
        expect(sql[3]).toMatch(
          /^UPDATE users SET sequence = sequence \+ 1 WHERE id = [^;]*;\s*INSERT INTO `events`[^;]*;\s*RELEASE SAVEPOINT plk_whole;\s*COMMIT$/,
        );
      }
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

  it("a batch failing midway writes nothing: the event's statement fails, the code is rolled back", async () => {
    const orgId = await addOrg(t);
    const userId = await addHuman(t, orgId);
    const { db } = t.app.services;
    const sequenceOf = async () =>
      Number(
        (
          await db.read((m) =>
            m.query<{ sequence: number | string }[]>("SELECT sequence FROM users WHERE id = ?", [
              userId,
            ]),
          )
        )[0]!.sequence,
      );
    const before = await sequenceOf();
    // An event already numbered where the next one goes: the event INSERT (sent with the bump
    // and COMMIT on MySQL/MariaDB) fails on the primary key, after the code's INSERT ran.
    await db.transaction((tx) =>
      tx.query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, payload, creator, resource_owner, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
          "user",
          userId,
          before + 1,
          "test.blocker",
          "{}",
          userId,
          orgId,
          new Date().toISOString().replace("T", " ").replace("Z", ""),
        ],
      ),
    );
    const sql = await counter.count(async () => {
      const refused = await t.gql(CREATE, { input: { userId, returnCode: true } });
      expect(refused.errors?.[0]?.extensions.grpcCode).toBe(13);
    });
    if (TEST_DB === "mariadb") expect(sql.at(-1)).toBe("ROLLBACK");
    const [codes] = await db.read((m) =>
      m.query<{ n: number | string }[]>(
        "SELECT COUNT(*) AS n FROM passkey_codes WHERE user_id = ?",
        [userId],
      ),
    );
    expect(Number(codes!.n)).toBe(0);
    expect(await sequenceOf()).toBe(before);
  });

  (TEST_DB === "mariadb" ? it : it.skip)(
    "a deadlock (or Galera certification failure) at COMMIT retries the whole transaction",
    async () => {
      const orgId = await addOrg(t);
      const userId = await addHuman(t, orgId);
      const deadlock = Object.assign(new Error("Deadlock found when trying to get lock"), {
        errno: 1213,
        code: "ER_LOCK_DEADLOCK",
      });
      counter.failNext = { matches: (sql) => /;\s*COMMIT$/.test(sql), error: deadlock };
      const sql = await counter.count(() =>
        t.ok(CREATE, { input: { userId, returnCode: true } }).then((data) => {
          expect(String(data.createPasskeyRegistrationLink.details.sequence)).toBe("2");
        }),
      );
      expect(counter.failNext).toBeUndefined();
      // The failed attempt (3 exchanges), its ROLLBACK, the second attempt (3): the token once.
      expect(sql).toHaveLength(1 + 3 + 1 + 3);
      expect(sql[4]).toBe("ROLLBACK");
      const { db } = t.app.services;
      const [row] = await db.read((m) =>
        m.query<{ codes: number | string; events: number | string; sequence: number | string }[]>(
          "SELECT (SELECT COUNT(*) FROM passkey_codes WHERE user_id = ?) AS codes, (SELECT COUNT(*) FROM events WHERE aggregate_id = ?) AS events, sequence FROM users WHERE id = ?",
          [userId, userId, userId],
        ),
      );
      expect([Number(row!.codes), Number(row!.events), Number(row!.sequence)]).toEqual([1, 2, 2]);
    },
  );

  (TEST_DB === "mariadb" ? it : it.skip)(
    "a failed exchange ends a batched transaction, even when the work caught the failure",
    async () => {
      // The failure of an exchange belongs to all it carried: here a deferred INSERT fails and
      // the statement the caller awaited never runs, yet the caller sees the failure as its own.
      // Going on from it would commit without the deferred write.
      const { db } = t.app.services;
      await db.read((m) => m.query("CREATE TABLE batch_probe (id INT PRIMARY KEY)"));
      try {
        await db.read((m) => m.query("INSERT INTO batch_probe VALUES (1)"));
        await expect(
          db.transaction(
            async (tx) => {
              await db.defer(tx, "INSERT INTO batch_probe VALUES (?)", [1]);
              await db.query(tx, "INSERT INTO batch_probe VALUES (?)", [2]).catch(() => undefined);
              await db.query(tx, "INSERT INTO batch_probe VALUES (?)", [3]);
            },
            { batched: true },
          ),
        ).rejects.toThrow(/Duplicate entry/);
        const rows = await db.read((m) =>
          m.query<{ id: number }[]>("SELECT id FROM batch_probe ORDER BY id"),
        );
        expect(rows.map((row) => row.id)).toEqual([1]);
      } finally {
        await db.read((m) => m.query("DROP TABLE batch_probe"));
      }
    },
  );

  (TEST_DB === "mariadb" ? it : it.skip)(
    "a batched transaction sends only fixed statements, and runs anything else unbatched",
    async () => {
      const { db } = t.app.services;
      const batched = <T>(work: (tx: EntityManager) => Promise<T>) =>
        db.transaction(work, { batched: true });
      // Twice each: texts that passed are remembered, refused ones never are.
      for (const text of [
        "SELECT 1; SELECT 2",
        "SELECT 'a'",
        "SELECT 1 -- x",
        "SELECT 1 /* x */",
        "SELECT 1; SELECT 2",
        "SELECT 'a'",
      ]) {
        await expect(batched((tx) => db.query(tx, text, []))).rejects.toThrow(/fixed SQL/);
      }
      // A value is a value, whatever it holds.
      const [echo] = await batched((tx) =>
        db.query<{ v: string }[]>(tx, "SELECT ? AS v", ["x'; DROP TABLE users; -- \\"]),
      );
      expect(echo!.v).toBe("x'; DROP TABLE users; -- \\");
      // A query builder (or tx.query) in a batched transaction: rolled back, run again unbatched.
      const sql = await counter.count(() =>
        batched((tx) => tx.query("SELECT 1 AS one")).then((rows) =>
          expect(rows).toEqual([{ one: 1 }]),
        ),
      );
      expect(sql).toEqual(["START TRANSACTION", "SELECT 1 AS one", "COMMIT"]);
      // Even when `work` catches the refusal and goes on: that attempt does not commit.
      const again = await counter.count(() =>
        batched(async (tx) => {
          await tx.query("SELECT 1 AS one").catch(() => undefined);
          return db.query<{ two: number }[]>(tx, "SELECT 2 AS two", []);
        }).then((rows) => expect(rows).toEqual([{ two: 2 }])),
      );
      expect(again).toEqual([
        "START TRANSACTION;\nSAVEPOINT plk_whole;\nSELECT 2 AS two",
        "ROLLBACK",
        "START TRANSACTION",
        "SELECT 1 AS one",
        "SELECT 2 AS two",
        "COMMIT",
      ]);
    },
  );
});

describe("round trips of the outbox drain", () => {
  /** The drain's own exchanges: on Galera the worker also refreshes its shards now and then. */
  const drainExchanges = async () =>
    (await counter.count(() => t.app.outboxWorker.drain().then(() => undefined))).filter(
      (sql) => !sql.includes("outbox_workers"),
    );

  it("an idle poll is 2 exchanges on MySQL/MariaDB; a batch is claimed in 2 and recorded in 4", async () => {
    await t.app.outboxWorker.drain(); // whatever earlier tests queued
    const idle = await drainExchanges();
    if (TEST_DB === "mariadb") {
      expect(idle).toEqual([
        expect.stringMatching(
          /^SET TRANSACTION ISOLATION LEVEL READ COMMITTED;\s*START TRANSACTION;\s*SAVEPOINT plk_whole;\s*SELECT [^;]* FOR UPDATE SKIP LOCKED$/,
        ),
        expect.stringMatching(/^RELEASE SAVEPOINT plk_whole;\s*COMMIT$/),
      ]);
    } else {
      expect(idle.length).toBeGreaterThan(0);
    }

    const orgId = await addOrg(t);
    const users: string[] = [];
    for (let i = 0; i < 3; i++) {
      const userId = await addHuman(t, orgId);
      users.push(userId);
      await t.ok(
        `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { ${DETAILS} } }`,
        { input: { userId, sendLink: {} } },
      );
    }
    const batch = await drainExchanges();
    if (TEST_DB === "mariadb") {
      expect(batch).toEqual([
        // The claim: the due rows, whole and locked, then their claim with COMMIT.
        expect.stringMatching(/ FOR UPDATE SKIP LOCKED$/),
        expect.stringMatching(
          /^UPDATE `mail_outbox` SET [^;]*;\s*RELEASE SAVEPOINT plk_whole;\s*COMMIT$/,
        ),
        // The record: the rows still held, locked; the outcome with the sequence bump; the
        // sequences; the events with COMMIT.
        expect.stringMatching(
          /^START TRANSACTION;\s*SAVEPOINT plk_whole;\s*SELECT [^;]* FOR UPDATE$/,
        ),
        expect.stringMatching(
          /^UPDATE `mail_outbox` SET [^;]*;\s*UPDATE users SET sequence [^;]*$/,
        ),
        expect.stringMatching(/^SELECT id, sequence FROM users [^;]*$/),
        expect.stringMatching(
          /^INSERT INTO `events` [^;]*;\s*RELEASE SAVEPOINT plk_whole;\s*COMMIT$/,
        ),
      ]);
    }
    // Each mail sent once, recorded, its event numbered after the user's create event.
    const { db } = t.app.services;
    const rows = await db.read((m) =>
      m.query<{ state: string; attempts: number | string; claim_token: string | null }[]>(
        `SELECT state, attempts, claim_token FROM mail_outbox WHERE user_id IN (?, ?, ?)`,
        users,
      ),
    );
    expect(rows.map((row) => [row.state, Number(row.attempts), row.claim_token])).toEqual([
      ["SENT", 1, null],
      ["SENT", 1, null],
      ["SENT", 1, null],
    ]);
    const events = await db.read((m) =>
      m.query<{ event_type: string; sequence: number | string }[]>(
        `SELECT event_type, sequence FROM events WHERE aggregate_id = ? ORDER BY sequence`,
        [users[0]],
      ),
    );
    expect(events.map((event) => [event.event_type, Number(event.sequence)])).toEqual([
      ["user.human.added", 1],
      ["user.human.passwordless.initialization.code.requested", 2],
      ["user.human.passwordless.initialization.code.sent", 3],
    ]);
  });
});
