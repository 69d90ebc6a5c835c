// The outbox's record transaction locks only the rows of its own batch (by primary key): while it
// is open, another worker still claims due mails and a request still enqueues one (SPEC 17).
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { TEST_DB, startTestApp } from "./helpers/harness";
import { SEND_LINK } from "./helpers/passkey-mail";

/** Resolves to `work`'s result, or rejects once `ms` passed: a lock wait would last 50 s. */
function notBlocked<T>(what: string, work: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const blocked = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} waited on the record transaction`)), ms);
  });
  return Promise.race([work, blocked]).finally(() => clearTimeout(timer));
}

(TEST_DB === "mariadb" ? describe : describe.skip)("the outbox record lock", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ EXTERNAL_URL: "https://id.example.com" });
  });
  afterAll(() => t.close());

  it("lets a concurrent claim and an enqueue proceed while a record transaction is open", async () => {
    // The tests play the workers; the app's own worker must not take the rows.
    await t.app.outboxWorker.stop();
    const { outbox, db } = t.app.services;
    const org = await addOrg(t);
    const first = await addHuman(t, org);
    const second = await addHuman(t, org);
    for (let i = 0; i < 3; i++) await t.ok(SEND_LINK, { input: { userId: first } });

    const batch = await outbox.claimDue(2, 60_000);
    expect(batch).toHaveLength(2);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const recording = db.transaction(async (tx) => {
      const recorded = await outbox.recordBatch(
        tx,
        batch[0]!.claimToken,
        batch.map((mail) => ({ mail, outcome: { kind: "sent" } as const })),
      );
      opened();
      await released;
      return recorded;
    });
    await open;
    try {
      const other = await notBlocked("a claim", outbox.claimDue(10, 60_000));
      expect(other).toHaveLength(1);
      expect(batch.map((mail) => mail.id)).not.toContain(other[0]!.id);
      await notBlocked("an enqueue", t.ok(SEND_LINK, { input: { userId: second } }));
    } finally {
      release();
    }
    expect([...(await recording)].sort()).toEqual(batch.map((mail) => mail.id).sort());
    const states = await db.read((manager) =>
      manager.query<{ state: string; n: number }[]>(
        "SELECT state, COUNT(*) AS n FROM mail_outbox GROUP BY state ORDER BY state",
      ),
    );
    expect(states.map((row) => [row.state, Number(row.n)])).toEqual([
      ["QUEUED", 2],
      ["SENT", 2],
    ]);
  });
});
