// SPEC 14, issuance bounds: ACTIVE codes per user, mails per recipient address, purge of ended codes.
import { actor, addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import { CREATE_LINK, SEND_LINK, listCodes } from "./helpers/passkey-mail";
import { queryDatabase } from "./helpers/db-query";
import { registerWithCode, returnedCode } from "./helpers/passkeys";
import { eventually } from "./helpers/wait";

const ADD = `mutation($input: AddPasskeyLinkInput) { addPasskeyLink(input: $input) { link } }`;
const REVOKE = `mutation($input: RevokePasskeyRegistrationCodeInput!) { revokePasskeyRegistrationCode(input: $input) { details { sequence } } }`;

let t: TestApp;
let org: string;
beforeAll(async () => {
  t = await startTestApp({ PASSKEY_CODE_MAX_ACTIVE: "4", PASSKEY_CODE_RETENTION_DAYS: "30" });
  org = await addOrg(t);
});
afterAll(() => t.close());

describe("active codes per user", () => {
  it("counts every medium; one more is RESOURCE_EXHAUSTED with the retry time", async () => {
    const me = await actor(t, org);
    await t.ok(ADD, {}, { token: me.token });
    await t.ok(SEND_LINK, {}, { token: me.token });
    await t.ok(
      CREATE_LINK,
      { input: { userId: me.userId, returnCode: true } },
      { token: me.token },
    );
    await t.ok(CREATE_LINK, { input: { userId: me.userId } }, { token: me.token });
    for (const [query, input] of [
      [ADD, {}],
      [SEND_LINK, {}],
      [CREATE_LINK, { input: { userId: me.userId, returnCode: true } }],
    ] as const) {
      const error = expectError(
        await t.gql(query, input, { token: me.token }),
        "RESOURCE_EXHAUSTED",
        "CODE-max-active",
      );
      expect(error.extensions.grpcCode).toBe(8);
      const retry = error.extensions.details[0].retryAfterSeconds;
      expect(retry).toBeGreaterThan(3500);
      expect(retry).toBeLessThanOrEqual(3600);
      expect(error.extensions.details[0].retryDelay).toBe(`${retry}s`);
    }
    expect(await listCodes(t, me.userId)).toHaveLength(4);
  });

  it("stops a document of aliases at the limit", async () => {
    const me = await actor(t, org);
    const aliases = Array.from({ length: 6 }, (_, i) => `a${i}: addPasskeyLink { link }`);
    const result = await t.gql(`mutation { ${aliases.join(" ")} }`, {}, { token: me.token });
    // Mutation fields run in order and a failed non-null field ends the document.
    expect(result.errors?.map((e) => [e.path, e.extensions.details[0].id])).toEqual([
      [["a4"], "CODE-max-active"],
    ]);
    expect(await listCodes(t, me.userId)).toHaveLength(4);
  });

  it("frees a place when a code ends or expires", async () => {
    const me = await actor(t, org);
    for (let i = 0; i < 4; i++) await t.ok(ADD, {}, { token: me.token });
    expectError(await t.gql(ADD, {}, { token: me.token }), "RESOURCE_EXHAUSTED");
    const [newest] = await listCodes(t, me.userId);
    await t.ok(REVOKE, { input: { userId: me.userId, codeId: newest!.id } });
    await t.ok(ADD, {}, { token: me.token });
    t.clock.advance(3601 * 1000);
    try {
      for (let i = 0; i < 4; i++) await t.ok(ADD, {}, { token: me.token });
    } finally {
      t.clock.advance(-3601 * 1000);
    }
  });
});

describe("mails per recipient address", () => {
  it("limits mails to one address across the users sharing it", async () => {
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const shared = `Shared-${Date.now()}@example.com`;
    const users = [];
    for (const email of [shared, shared.toLowerCase(), shared.toUpperCase()]) {
      users.push(await addHuman(t, org, { email }, manager.token));
    }
    for (const userId of [users[0], users[0], users[0], users[1], users[1]]) {
      await t.ok(SEND_LINK, { input: { userId } }, { token: manager.token });
    }
    const error = expectError(
      await t.gql(SEND_LINK, { input: { userId: users[2] } }, { token: manager.token }),
      "RESOURCE_EXHAUSTED",
      "LINK-recipient-rate-limited",
    );
    expect(error.extensions.details[0].retryAfterSeconds).toBeGreaterThan(3500);
    expectError(
      await t.gql(CREATE_LINK, { input: { userId: users[1] } }),
      "RESOURCE_EXHAUSTED",
      "LINK-recipient-rate-limited",
    );
    // Another address is not affected.
    await t.ok(SEND_LINK, { input: { userId: await addHuman(t, org) } });
  });

  it("counts links only, not the notices of passkeys added", async () => {
    const shared = `notices-${Date.now()}@example.com`;
    const ada = await addHuman(t, org, { email: shared });
    const bob = await addHuman(t, org, { email: shared });
    for (let i = 0; i < 2; i++) await registerWithCode(t, ada, await returnedCode(t, ada));
    for (const userId of [ada, ada, ada, bob, bob]) await t.ok(SEND_LINK, { input: { userId } });
    expectError(
      await t.gql(SEND_LINK, { input: { userId: bob } }),
      "RESOURCE_EXHAUSTED",
      "LINK-recipient-rate-limited",
    );
  });

  it("holds under concurrent sends to one address from many users", async () => {
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const shared = `race-${Date.now()}@example.com`;
    const users: string[] = [];
    for (let i = 0; i < 12; i++)
      users.push(await addHuman(t, org, { email: shared }, manager.token));
    const results = await Promise.all(
      users.map((userId) => t.gql(SEND_LINK, { input: { userId } }, { token: manager.token })),
    );
    const sent = results.filter((result) => !result.errors);
    expect(sent).toHaveLength(5);
    for (const refused of results.filter((result) => result.errors)) {
      expectError(refused, "RESOURCE_EXHAUSTED", "LINK-recipient-rate-limited");
    }
  });
});

describe("retention", () => {
  it("purges ended codes after PASSKEY_CODE_RETENTION_DAYS and keeps their events", async () => {
    const me = await actor(t, org);
    await t.ok(SEND_LINK, {}, { token: me.token });
    await t.ok(ADD, {}, { token: me.token });
    const codes = await listCodes(t, me.userId);
    const linkCode = codes.find((code) => code.medium === "LINK");
    const mailCode = codes.find((code) => code.medium === "EMAIL");
    await t.ok(REVOKE, { input: { userId: me.userId, codeId: linkCode!.id } });
    // The worker writes the mail's outcome event on its own time: wait for it before counting.
    await eventually("the mail's outcome", async () =>
      (await listCodes(t, me.userId)).find((code) => code.id === mailCode!.id)?.delivery?.state ===
      "QUEUED"
        ? undefined
        : true,
    );
    const eventsBefore = await eventsOf(me.userId);
    // Only the test's runs purge (the job's timer could run between them, and runOnce counts
    // only its own rows).
    await t.app.codeRetention.stop();
    t.clock.advance(29 * 86_400_000);
    try {
      await t.app.codeRetention.runOnce();
      expect(await listCodes(t, me.userId)).toHaveLength(2);
      t.clock.advance(2 * 86_400_000);
      expect(await t.app.codeRetention.runOnce()).toBeGreaterThanOrEqual(2);
      expect(await listCodes(t, me.userId)).toEqual([]);
      const mails = await queryDatabase<{ n: number }>(
        t.database,
        "SELECT COUNT(*) AS n FROM mail_outbox WHERE code_id = ?",
        [mailCode!.id],
      );
      expect(Number(mails[0]!.n)).toBe(0);
      expect(await eventsOf(me.userId)).toBe(eventsBefore);
    } finally {
      t.clock.advance(-31 * 86_400_000);
    }
  });
});

describe("retention shorter than the send window", () => {
  const DAY = 86_400_000;
  let short: TestApp;
  beforeAll(async () => {
    short = await startTestApp({
      PASSKEY_CODE_RETENTION_DAYS: "1",
      SEND_RATE_WINDOW_SECONDS: String(7 * 86_400),
      SEND_RATE_LIMIT: "2",
    });
  });
  afterAll(() => short.close());

  it("keeps ended codes and their mails while the send limits still count them", async () => {
    const shortOrg = await addOrg(short);
    const shared = `window-${Date.now()}@example.com`;
    const ada = await addHuman(short, shortOrg, { email: shared });
    const bob = await addHuman(short, shortOrg, { email: shared });
    for (let i = 0; i < 2; i++) await short.ok(SEND_LINK, { input: { userId: ada } });
    // The codes expired an hour in; two days later they are past the retention, not the window.
    // Only the test's runs purge (see above).
    await short.app.codeRetention.stop();
    short.clock.advance(3 * DAY);
    try {
      await short.app.codeRetention.runOnce();
      expect(await listCodes(short, ada)).toHaveLength(2);
      const toAda = await short.gql(SEND_LINK, { input: { userId: ada } });
      expectError(toAda, "RESOURCE_EXHAUSTED", "LINK-send-rate-limited");
      const toBob = await short.gql(SEND_LINK, { input: { userId: bob } });
      expectError(toBob, "RESOURCE_EXHAUSTED", "LINK-recipient-rate-limited");
      short.clock.advance(5 * DAY);
      expect(await short.app.codeRetention.runOnce()).toBeGreaterThanOrEqual(2);
      expect(await listCodes(short, ada)).toEqual([]);
      await short.ok(SEND_LINK, { input: { userId: bob } });
    } finally {
      short.clock.advance(-8 * DAY);
    }
  });
});

async function eventsOf(userId: string): Promise<number> {
  const rows = await queryDatabase<{ n: number }>(
    t.database,
    "SELECT COUNT(*) AS n FROM events WHERE aggregate_id = ?",
    [userId],
  );
  return Number(rows[0]!.n);
}
