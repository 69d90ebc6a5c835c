// Admin basics over HTTP: the users listing, organizations, updateHumanUser (a changed address ends
// the links mailed to the old one), and the messages of the issuance limits.
import { actor, addHuman, addMachine, addOrg, grant, tokenFor } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import { SEND_LINK, linkInText, listCodes, mailsTo } from "./helpers/passkey-mail";
import { queryDatabase } from "./helpers/db-query";
import { registerPasskey } from "./helpers/passkeys";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

const USERS = `query($query: UserQueryInput, $limit: Int, $offset: Int) {
  users(query: $query, limit: $limit, offset: $offset) { totalResult users { id organizationId username email state } } }`;
const ORGS = `{ organizations { id name createdAt } }`;
const UPDATE = `mutation($input: UpdateHumanUserInput!) { updateHumanUser(input: $input) { details { sequence changeDate resourceOwner } } }`;
const USER = `query($id: ID!) { user(id: $id) { email emailVerified givenName familyName displayName preferredLanguage } }`;
const ADD_LINK = `mutation($input: AddPasskeyLinkInput) { addPasskeyLink(input: $input) { link } }`;
const REMOVE = `mutation($input: UserIdInput!) { removeUser(input: $input) { details { sequence } } }`;
const LOCK = `mutation($input: UserIdInput!) { lockUser(input: $input) { details { sequence } } }`;

let t: TestApp;
let sink: SmtpSink;
beforeAll(async () => {
  sink = await SmtpSink.start();
  t = await startTestApp({
    NODE_ENV: "production",
    EXTERNAL_URL: "http://localhost:4000",
    SMTP_URL: sink.url,
    OUTBOX_POLL_MS: "50",
    OUTBOX_RETRY_BASE_MS: "60000",
    PASSKEY_CODE_MAX_ACTIVE: "3",
    SEND_RATE_LIMIT: "2",
  });
});
afterAll(async () => {
  await t.close();
  await sink.stop();
});

describe("users", () => {
  let orgA: string;
  let orgB: string;
  let owner: { userId: string; token: string };
  beforeAll(async () => {
    orgA = await addOrg(t);
    orgB = await addOrg(t);
    owner = await actor(t, orgA, ["ORG_OWNER"]);
    for (let i = 0; i < 4; i++) await addHuman(t, orgA);
    await addHuman(t, orgB);
  });

  it("shows an organization owner its organization's users only, oldest first", async () => {
    const { users } = await t.ok(USERS, {}, { token: owner.token });
    expect(users.totalResult).toBe(5);
    expect(users.users.every((user: any) => user.organizationId === orgA)).toBe(true);
    const all = await t.ok(USERS, { query: { organizationId: orgA } });
    expect(users.users.map((user: any) => user.id)).toEqual(
      all.users.users.map((user: any) => user.id),
    );
    // Another organization's filter gives nothing away.
    const other = await t.ok(USERS, { query: { organizationId: orgB } }, { token: owner.token });
    expect(other.users).toEqual({ totalResult: 0, users: [] });
  });

  it("shows an instance role every organization's users; a plain user only itself", async () => {
    const { users } = await t.ok(USERS, { limit: 1000 });
    const orgs = new Set(users.users.map((user: any) => user.organizationId));
    expect(orgs.has(orgA) && orgs.has(orgB)).toBe(true);
    expect(users.totalResult).toBe(users.users.length);
    const plain = await actor(t, orgA);
    const mine = await t.ok(USERS, {}, { token: plain.token });
    expect(mine.users).toEqual({
      totalResult: 1,
      users: [expect.objectContaining({ id: plain.userId })],
    });
  });

  it("pages with limit and offset and counts before paging", async () => {
    const first = await t.ok(USERS, { query: { organizationId: orgA }, limit: 2 });
    const second = await t.ok(USERS, { query: { organizationId: orgA }, limit: 2, offset: 2 });
    const whole = await t.ok(USERS, { query: { organizationId: orgA } });
    expect(first.users.totalResult).toBe(whole.users.totalResult);
    expect(first.users.users).toHaveLength(2);
    expect([...first.users.users, ...second.users.users]).toEqual(whole.users.users.slice(0, 4));
  });

  it("filters by username and email (exact, any case) and state; never lists removed users", async () => {
    const userId = await addHuman(t, orgA, {
      username: "Grace.Hopper",
      email: "Grace@Example.com",
    });
    for (const query of [{ username: "grace.hopper" }, { email: "grace@example.COM" }]) {
      const { users } = await t.ok(USERS, { query });
      expect(users.users.map((user: any) => user.id)).toEqual([userId]);
    }
    expect((await t.ok(USERS, { query: { username: "grace" } })).users.totalResult).toBe(0);
    await t.ok(LOCK, { input: { userId } });
    const locked = await t.ok(USERS, { query: { organizationId: orgA, state: "LOCKED" } });
    expect(locked.users.users.map((user: any) => user.id)).toEqual([userId]);
    await t.ok(REMOVE, { input: { userId } });
    expect((await t.ok(USERS, { query: { username: "grace.hopper" } })).users.totalResult).toBe(0);
  });

  it("refuses a limit above 1000 or below 1, and a negative offset", async () => {
    for (const variables of [{ limit: 1001 }, { limit: 0 }, { offset: -1 }]) {
      expectError(await t.gql(USERS, variables), "INVALID_ARGUMENT", "USER-list-input");
    }
    expect((await t.gql(USERS, {}, { token: null })).errors?.[0]?.extensions.code).toBe(
      "UNAUTHENTICATED",
    );
  });
});

describe("organizations", () => {
  it("lists every organization for an instance role, its own for an organization role", async () => {
    const orgA = await addOrg(t, "Alpha");
    const orgB = await addOrg(t, "Beta");
    const all = (await t.ok(ORGS)).organizations.map((org: any) => org.id);
    expect(all).toEqual(expect.arrayContaining([orgA, orgB]));
    const manager = await actor(t, orgA, ["ORG_USER_MANAGER"]);
    expect((await t.ok(ORGS, {}, { token: manager.token })).organizations).toEqual([
      { id: orgA, name: "Alpha", createdAt: expect.any(String) },
    ]);
    const plain = await actor(t, orgB);
    expect((await t.ok(ORGS, {}, { token: plain.token })).organizations).toEqual([]);
  });
});

describe("updateHumanUser", () => {
  let org: string;
  beforeAll(async () => {
    org = await addOrg(t);
  });

  it("lets a user change its names and language; a default display name follows", async () => {
    const me = await actor(t, org);
    const before = await t.ok(USER, { id: me.userId });
    expect(before.user.displayName).toBe("Ada Lovelace");
    const updated = await t.ok(
      UPDATE,
      { input: { userId: me.userId, familyName: "King", preferredLanguage: "de-CH" } },
      { token: me.token },
    );
    expect(updated.updateHumanUser.details.resourceOwner).toBe(org);
    expect((await t.ok(USER, { id: me.userId })).user).toMatchObject({
      givenName: "Ada",
      familyName: "King",
      displayName: "Ada King",
      preferredLanguage: "de-CH",
      emailVerified: before.user.emailVerified,
    });
    await t.ok(UPDATE, { input: { userId: me.userId, displayName: "Countess" } });
    await t.ok(UPDATE, {
      input: { userId: me.userId, givenName: "Augusta", preferredLanguage: "" },
    });
    expect((await t.ok(USER, { id: me.userId })).user).toMatchObject({
      givenName: "Augusta",
      displayName: "Countess",
      preferredLanguage: null,
    });
    const events = await queryDatabase<{ event_type: string; creator: string }>(
      t.database,
      "SELECT event_type, creator FROM events WHERE aggregate_id = ? AND event_type = ? ORDER BY sequence",
      [me.userId, "user.human.profile.changed"],
    );
    expect(events.map((event) => event.creator)).toEqual([
      me.userId,
      expect.any(String),
      expect.any(String),
    ]);
  });

  it("grows the sequence with each change and writes nothing when nothing changes", async () => {
    const userId = await addHuman(t, org);
    const first = await t.ok(UPDATE, { input: { userId, givenName: "Grace" } });
    const same = await t.ok(UPDATE, { input: { userId, givenName: "Grace" } });
    const next = await t.ok(UPDATE, { input: { userId, givenName: "Ada" } });
    const sequence = (r: any) => Number(r.updateHumanUser.details.sequence);
    expect(sequence(same)).toBe(sequence(first));
    expect(sequence(next)).toBeGreaterThan(sequence(first));
  });

  it("validates like addHumanUser and refuses machine users", async () => {
    const userId = await addHuman(t, org);
    for (const input of [
      { email: "not-an-address" },
      { givenName: "  " },
      { familyName: "Line\nbreak" },
      { displayName: "x".repeat(201) },
      { preferredLanguage: "x".repeat(40) },
    ]) {
      expectError(
        await t.gql(UPDATE, { input: { userId, ...input } }),
        "INVALID_ARGUMENT",
        "USER-human-input",
      );
    }
    expectError(
      await t.gql(UPDATE, { input: { userId: await addMachine(t, org), givenName: "Robo" } }),
      "FAILED_PRECONDITION",
      "USER-not-human",
    );
  });

  it("needs user.write in the user's organization and authority over its roles", async () => {
    const userId = await addHuman(t, org);
    const stranger = await actor(t, await addOrg(t), ["ORG_OWNER"]);
    expectError(
      await t.gql(UPDATE, { input: { userId, givenName: "Eve" } }, { token: stranger.token }),
      "PERMISSION_DENIED",
      "AUTHZ-denied",
    );
    const plain = await actor(t, org);
    expectError(
      await t.gql(UPDATE, { input: { userId, givenName: "Eve" } }, { token: plain.token }),
      "PERMISSION_DENIED",
    );
    // An owner of this organization must not redirect the mail of a user who owns another one.
    const owner = await actor(t, org, ["ORG_OWNER"]);
    const otherOrg = await addOrg(t);
    await grant(t, userId, ["ORG_OWNER"], otherOrg);
    expectError(
      await t.gql(UPDATE, { input: { userId, email: "eve@example.com" } }, { token: owner.token }),
      "PERMISSION_DENIED",
      "AUTHZ-target-privileged",
    );
    expectError(
      await t.gql(UPDATE, { input: { userId: "00000000-0000-7000-8000-000000000000" } }),
      "NOT_FOUND",
      "USER-not-found",
    );
  });

  it("makes a new address unverified and ends the links mailed to the old one", async () => {
    const old = `old-${Date.now()}@example.com`;
    const userId = await addHuman(t, org, { email: old, emailVerified: true });
    const userToken = await tokenFor(t, userId);
    await t.ok(SEND_LINK, { input: { userId } });
    const [sentMail] = mailsTo(await sink.waitFor(sink.mails.length + 1), old);
    await eventually("the first mail recorded", async () =>
      (await listCodes(t, userId))[0]?.delivery?.state === "SENT" ? true : undefined,
    );
    sink.mode = "reject-temporary";
    try {
      await t.ok(SEND_LINK, { input: { userId } });
      const returned = (await t.ok(ADD_LINK, { input: { userId } })).addPasskeyLink.link;
      await t.ok(UPDATE, { input: { userId, email: "New@Example.com" } }, { token: userToken });
      expect((await t.ok(USER, { id: userId })).user).toMatchObject({
        email: "New@Example.com",
        emailVerified: false,
      });
      const codes = await listCodes(t, userId);
      expect(codes.map((code) => [code.medium, code.state, code.delivery?.state])).toEqual([
        ["LINK", "ACTIVE", undefined],
        ["EMAIL", "REVOKED", "FAILED"],
        ["EMAIL", "REVOKED", "SENT"],
      ]);
      expect(codes[1]!.delivery!.lastError).toContain("cancelled");
      expect(returned).toContain(codes[0]!.id);
      // The link in the old mailbox no longer registers a passkey.
      expectError(
        await registerPasskey(t, userId, {
          id: linkInText(sentMail!.text).codeId,
          code: linkInText(sentMail!.text).code,
        }),
        "FAILED_PRECONDITION",
        "CODE-revoked",
      );
      const events = await queryDatabase<{ event_type: string; payload: string }>(
        t.database,
        "SELECT event_type, payload FROM events WHERE aggregate_id = ? ORDER BY sequence DESC",
        [userId],
      );
      const revoked = events.filter((event) => event.payload.includes("email.changed"));
      expect(revoked.map((event) => event.event_type)).toEqual([
        "user.human.passwordless.initialization.code.revoked",
        "user.human.passwordless.initialization.code.revoked",
      ]);
      expect(events.some((event) => event.event_type === "user.human.email.changed")).toBe(true);
    } finally {
      sink.mode = "accept";
    }
  });

  it("keeps the address verified and the links alive when only its letter case changes", async () => {
    const address = `case-${Date.now()}@example.com`;
    const userId = await addHuman(t, org, { email: address, emailVerified: true });
    await t.ok(SEND_LINK, { input: { userId } });
    await t.ok(UPDATE, { input: { userId, email: address.toUpperCase() } });
    expect((await t.ok(USER, { id: userId })).user).toMatchObject({
      email: address.toUpperCase(),
      emailVerified: true,
    });
    expect((await listCodes(t, userId)).map((code) => code.state)).toEqual(["ACTIVE"]);
  });
});

describe("the messages of the issuance limits", () => {
  it("say that revoking frees a slot of the active-code cap, and not of the send limit", async () => {
    const org = await addOrg(t);
    const me = await actor(t, org);
    for (let i = 0; i < 3; i++) await t.ok(ADD_LINK, {}, { token: me.token });
    const capped = expectError(
      await t.gql(ADD_LINK, {}, { token: me.token }),
      "RESOURCE_EXHAUSTED",
      "CODE-max-active",
    );
    expect(capped.message).toMatch(/revoking one .* frees a slot/);
    const other = await actor(t, org);
    for (let i = 0; i < 2; i++) await t.ok(SEND_LINK, {}, { token: other.token });
    const limited = expectError(
      await t.gql(SEND_LINK, {}, { token: other.token }),
      "RESOURCE_EXHAUSTED",
      "LINK-send-rate-limited",
    );
    expect(limited.message).toContain("revoking a code does not free a slot");
  });
});
