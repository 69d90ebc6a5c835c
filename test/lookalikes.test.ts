// Issue 18, items 3 and 7: aliases of one mailbox share its send limit, and usernames that look
// alike are one username (NFKC and case folding, RFC 8265) on every engine; invisible characters
// are refused in usernames and organization names. Existing keys are migrated.
import { randomBytes } from "node:crypto";
import { recipientKey } from "../src/mail/outbox.service";
import { usernameKey } from "../src/services/identity/user.service";
import { actor, addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp, TestDatabase } from "./helpers/harness";
import { createTestDatabase, expectError, startTestApp } from "./helpers/harness";
import { queryDatabase } from "./helpers/db-query";
import { SEND_LINK } from "./helpers/passkey-mail";

const ADD_HUMAN = `mutation($input: AddHumanUserInput!) { addHumanUser(input: $input) { userId } }`;
const ADD_MACHINE = `mutation($input: AddMachineUserInput!) { addMachineUser(input: $input) { userId } }`;
const ADD_ORG = `mutation($input: AddOrganizationInput!) { addOrganization(input: $input) { organizationId } }`;
const MIGRATION = "CanonicalKeys1764600000000";

const unique = () => randomBytes(4).toString("hex");
const human = (organizationId: string, username: string) => ({
  input: { organizationId, username, givenName: "Ada", familyName: "Lovelace" },
});

describe("recipientKey", () => {
  it.each([
    ["Victim+2@Example.COM", "victim@example.com"],
    ["victim+a+b@example.com", "victim@example.com"],
    ["V.I.C.T.I.M+news@GMail.com", "victim@gmail.com"],
    ["victim@googlemail.com", "victim@gmail.com"],
    ["vic.tim@example.com", "vic.tim@example.com"],
    ["ada@Bücher.example", "ada@xn--bcher-kva.example"],
  ])("%s is the mailbox %s", (address, key) => {
    expect(recipientKey(address)).toBe(key);
  });
});

describe("usernameKey", () => {
  it.each([
    ["ＡＤＡ", "ada"],
    ["Straße", "strasse"],
    ["ﬁnn", "finn"],
    ["jose\u0301", "josé"],
    ["ΌΣΟΣ", "όσος"],
  ])("%s compares as %s", (username, key) => {
    expect(usernameKey(username)).toBe(key);
  });
});

describe("over the API", () => {
  let t: TestApp;
  let org: string;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: "production" });
    org = await addOrg(t);
  });
  afterAll(() => t.close());

  it("counts victim+1@, Victim+2@ and victim@ as one mailbox", async () => {
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const local = `victim${unique()}`;
    const users = [];
    for (const email of [`${local}+1@example.com`, `${local.toUpperCase()}+2@Example.com`]) {
      users.push(await addHuman(t, org, { email }, manager.token));
    }
    const plain = await addHuman(t, org, { email: `${local}@example.com` }, manager.token);
    for (const userId of [users[0], users[0], users[0], users[1], users[1]]) {
      await t.ok(SEND_LINK, { input: { userId } }, { token: manager.token });
    }
    expectError(
      await t.gql(SEND_LINK, { input: { userId: plain } }, { token: manager.token }),
      "RESOURCE_EXHAUSTED",
      "LINK-recipient-rate-limited",
    );
  });

  it("folds the dots of a Gmail address, and not of another provider's", async () => {
    const local = `vic${unique()}`;
    const dotted = [`${local.slice(0, 2)}.${local.slice(2)}@gmail.com`, `${local}@googlemail.com`];
    const gmail = [];
    for (const email of dotted) gmail.push(await addHuman(t, org, { email }));
    for (const userId of [gmail[0], gmail[0], gmail[0], gmail[0], gmail[0]]) {
      await t.ok(SEND_LINK, { input: { userId } });
    }
    expectError(
      await t.gql(SEND_LINK, { input: { userId: gmail[1] } }),
      "RESOURCE_EXHAUSTED",
      "LINK-recipient-rate-limited",
    );
    const other = await addHuman(t, org, { email: `${local}@example.com` });
    const otherDotted = await addHuman(t, org, {
      email: `${local.slice(0, 2)}.${local.slice(2)}@example.com`,
    });
    for (let i = 0; i < 5; i++) await t.ok(SEND_LINK, { input: { userId: other } });
    await t.ok(SEND_LINK, { input: { userId: otherDotted } });
  });

  it.each([
    ["fullwidth letters", "ada", "ＡＤＡ"],
    ["a ligature", "finn", "ﬁnn"],
    ["sharp s", "strasse", "Straße"],
    ["a combining accent", "josé", "jose\u0301"],
    ["case", "Linus", "LINUS"],
  ])("refuses a username differing by %s", async (_name, first, second) => {
    const organizationId = await addOrg(t);
    await t.ok(ADD_HUMAN, human(organizationId, first));
    expectError(
      await t.gql(ADD_HUMAN, human(organizationId, second)),
      "ALREADY_EXISTS",
      "USER-username-taken",
    );
  });

  it("keeps usernames differing by an accent apart, on every engine", async () => {
    const organizationId = await addOrg(t);
    await t.ok(ADD_HUMAN, human(organizationId, "jose"));
    await t.ok(ADD_HUMAN, human(organizationId, "josé"));
  });

  it.each([
    ["a soft hyphen", "ad\u00ada"],
    ["a zero-width space", "ada\u200b"],
    ["a zero-width joiner", "a\u200dda"],
    ["a bidi override", "\u202eada"],
    ["a bidi isolate", "ada\u2066"],
    ["a word joiner", "ad\u2060a"],
    ["a variation selector", "ada\ufe0f"],
    ["a Hangul filler", "ada\u3164"],
  ])("refuses a username with %s", async (_name, username) => {
    expectError(
      await t.gql(ADD_HUMAN, human(org, username)),
      "INVALID_ARGUMENT",
      "USER-username-invisible",
    );
    expectError(
      await t.gql(ADD_MACHINE, { input: { organizationId: org, username, name: "Bot" } }),
      "INVALID_ARGUMENT",
      "USER-username-invisible",
    );
  });

  it.each([
    ["a soft hyphen", "Ac\u00adme"],
    ["a zero-width space", "Acme\u200b"],
    ["a bidi override", "\u202eAcme"],
  ])("refuses an organization name with %s", async (_name, name) => {
    expectError(
      await t.gql(ADD_ORG, { input: { name } }),
      "INVALID_ARGUMENT",
      "ORG-name-invisible",
    );
  });

  it("keeps visible non-Latin names", async () => {
    const organizationId = (await t.ok(ADD_ORG, { input: { name: "Ärzte für Ümlaute 東京" } }))
      .addOrganization.organizationId;
    await t.ok(ADD_HUMAN, human(organizationId, "Ωμέγα"));
  });
});

describe("existing rows", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it("get their new keys when the migration runs", async () => {
    let t = await startTestApp({ NODE_ENV: "production" }, { database });
    const org = await addOrg(t);
    const local = `old${unique()}`;
    const tagged = await addHuman(t, org, { email: `${local}+tag@example.com` });
    const wide = (await t.ok(ADD_HUMAN, human(org, "ＡＤＡ"))).addHumanUser.userId as string;
    for (let i = 0; i < 4; i++) await t.ok(SEND_LINK, { input: { userId: tagged } });
    await t.close();
    // The keys as the code before this migration wrote them.
    await queryDatabase(database, "UPDATE mail_outbox SET recipient_key = LOWER(recipient)");
    await queryDatabase(database, "UPDATE mail_recipients SET recipient_key = ?", [
      `${local}+tag@example.com`,
    ]);
    await queryDatabase(database, "UPDATE users SET username_key = ? WHERE id = ?", [
      "ａｄａ",
      wide,
    ]);
    await queryDatabase(database, "DELETE FROM migrations WHERE name = ?", [MIGRATION]);

    t = await startTestApp({ NODE_ENV: "production" }, { database });
    try {
      const [row] = await queryDatabase<{ username_key: string }>(
        database,
        "SELECT username_key FROM users WHERE id = ?",
        [wide],
      );
      expect(row?.username_key).toBe("ada");
      expectError(
        await t.gql(ADD_HUMAN, human(org, "Ada")),
        "ALREADY_EXISTS",
        "USER-username-taken",
      );
      const plain = await addHuman(t, org, { email: `${local}@example.com` });
      await t.ok(SEND_LINK, { input: { userId: plain } });
      expectError(
        await t.gql(SEND_LINK, { input: { userId: plain } }),
        "RESOURCE_EXHAUSTED",
        "LINK-recipient-rate-limited",
      );
    } finally {
      await t.close();
    }
  });
});
