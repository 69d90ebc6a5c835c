// The command line as the root of trust and as a newcomer's shortcut, run as its own process:
// `token` (audited), `demo` (a first registration link on a fresh database), `mail` (file mail).
import fs from "node:fs";
import path from "node:path";
import { simpleParser } from "mailparser";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp, TestDatabase } from "./helpers/harness";
import { createTestDatabase, startTestApp } from "./helpers/harness";
import { cli } from "./helpers/cli";
import { SEND_LINK, codeOf } from "./helpers/passkey-mail";
import { queryDatabase } from "./helpers/db-query";
import { registerWithCode } from "./helpers/passkeys";
import { eventually } from "./helpers/wait";

// Each CLI run is a fresh Node process that loads the whole app: slow on a busy machine.
jest.setTimeout(240_000);
const TOKENS = `query($userId: ID!) { personalAccessTokens(userId: $userId) { id createdBy expirationDate } }`;

describe("npm run cli -- token", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("mints a working token for the admin (a lost admin.pat) and audits it as the CLI", async () => {
    const adminId = (await t.ok(`{ me { id } }`)).me.id;
    const result = cli(t.database, ["token", "--user", adminId, "--expires", "2999-01-01"]);
    expect(result.status).toBe(0);
    const token = result.stdout.trim();
    expect(token).toMatch(/^plk_/);
    expect(result.stderr).not.toContain(token);
    expect((await t.ok(`{ me { id } }`, {}, { token })).me.id).toBe(adminId);
    const listed = (await t.ok(TOKENS, { userId: adminId })).personalAccessTokens;
    expect(listed).toContainEqual(
      expect.objectContaining({ createdBy: "CLI", expirationDate: "2999-01-01T00:00:00.000Z" }),
    );
    const events = await queryDatabase<{ creator: string; payload: string }>(
      t.database,
      "SELECT creator, payload FROM events WHERE aggregate_id = ? AND event_type = ?",
      [adminId, "user.personal.token.added"],
    );
    const audit = events.filter((event) => event.creator === "CLI");
    expect(audit).toHaveLength(1);
    expect(audit[0]!.payload).not.toContain(token);
  });

  it("prints JSON on request; the token survives the user's promotion", async () => {
    const org = await addOrg(t);
    const userId = await addHuman(t, org);
    const result = cli(t.database, ["token", "--user", userId, "--json"]);
    expect(result.status).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({ userId, expirationDate: null });
    await t.ok(
      `mutation($input: AddMemberInput!) { addMember(input: $input) { details { sequence } } }`,
      { input: { organizationId: org, userId, roles: ["ORG_OWNER"] } },
    );
    expect((await t.ok(`{ me { id } }`, {}, { token: printed.token })).me.id).toBe(userId);
  });

  it("refuses an unknown or inactive user, a past or malformed date, and a missing --user", async () => {
    const org = await addOrg(t);
    const locked = await addHuman(t, org);
    await t.ok(
      `mutation($input: UserIdInput!) { lockUser(input: $input) { details { sequence } } }`,
      {
        input: { userId: locked },
      },
    );
    const cases: [string[], string][] = [
      [["token", "--user", "00000000-0000-7000-8000-000000000000"], "user not found"],
      [["token", "--user", locked], "not active"],
      [["token", "--user", locked.toUpperCase()], "user not found"],
      [["token", "--user", await addHuman(t, org), "--expires", "2001-01-01"], "in the future"],
      [["token", "--user", await addHuman(t, org), "--expires", "soon"], "not a date"],
      [["token"], "needs --user"],
    ];
    for (const [args, message] of cases) {
      const result = cli(t.database, args);
      expect([result.status, result.stdout]).toEqual([1, ""]);
      expect(result.stderr).toContain(message);
    }
  });
});

describe("npm run cli -- demo", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it("on a fresh database: creates the owner (admin.pat) and prints a link that registers a passkey", async () => {
    const result = cli(database, ["demo"], { EXTERNAL_URL: "http://localhost:4000" });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain("admin.pat");
    const link = /^ {2}(http:\/\/localhost:4000\/ui\/login\/login\/passwordless\/init\?\S+)$/m.exec(
      result.stdout,
    )?.[1];
    expect(link).toBeDefined();
    const query = new URL(link!).searchParams;
    const t = await startTestApp({}, { database });
    try {
      expect(t.adminToken).toMatch(/^plk_/);
      const page = await fetch(`${t.url}${new URL(link!).pathname}${new URL(link!).search}`);
      expect(page.status).toBe(200);
      const userId = query.get("userID")!;
      const { codeId, code } = codeOf(link!);
      await registerWithCode(t, userId, { id: codeId, code });
      const user = (
        await t.ok(`query($id: ID!) { user(id: $id) { username organizationId } }`, {
          id: userId,
        })
      ).user;
      expect(user.organizationId).toBe(query.get("orgID"));
      expect(user.username).toMatch(/^demo-/);
      // A second run reuses the owner and makes another user.
      const again = cli(database, ["demo", "--json"]);
      expect(again.status).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({
        organizationId: user.organizationId,
        expiration: "3600s",
      });
      expect(fs.readFileSync(path.join(database.dataDir, "admin.pat"), "utf8").trim()).toBe(
        t.adminToken,
      );
    } finally {
      await t.close();
    }
  });
});

describe("npm run cli -- mail", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ OUTBOX_POLL_MS: "50" });
  });
  afterAll(() => t.close());

  it("prints the newest file mails: recipient, subject, date and the decoded link", async () => {
    const org = await addOrg(t);
    const ada = await addHuman(t, org, { email: "ada@example.com", preferredLanguage: "de" });
    const bob = await addHuman(t, org, { email: "bob@example.com" });
    const directory = path.join(t.database.dataDir, "mail");
    const files = () => (fs.existsSync(directory) ? fs.readdirSync(directory).sort() : []);
    await t.ok(SEND_LINK, { input: { userId: ada } });
    await eventually("ada's mail", () => (files().length === 1 ? true : undefined));
    await t.ok(SEND_LINK, { input: { userId: bob } });
    await eventually("bob's mail", () => (files().length === 2 ? true : undefined));

    const result = cli(t.database, ["mail", "--last", "1"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("To:      bob@example.com");
    expect(result.stdout).not.toContain("ada@example.com");

    const both = cli(t.database, ["mail"]).stdout;
    const [bobFile, adaFile] = files().reverse();
    const parsedAda = await simpleParser(fs.readFileSync(path.join(directory, adaFile!)));
    const adaBlock = both.slice(both.indexOf("To:      ada@example.com"));
    expect(both.indexOf("bob@example.com")).toBeLessThan(both.indexOf("ada@example.com"));
    expect(adaBlock).toContain(`Subject: ${parsedAda.subject}`);
    expect(adaBlock).toContain(parsedAda.text!.trim());
    // The link comes out whole (quoted-printable would break it and write = as =3D).
    const link = /(http:\/\/\S+passwordless\/init\?\S+)/.exec(parsedAda.text!)![1]!;
    expect(adaBlock).toContain(link);
    expect(codeOf(link).codeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(bobFile).toBeDefined();
  });

  it("says where it looked when there is no mail, and refuses a bad --last", () => {
    const empty = cli(t.database, ["mail"], { DATA_DIR: path.join(t.database.dataDir, "none") });
    expect(empty.status).toBe(0);
    expect(empty.stderr).toContain("no mail in");
    expect(cli(t.database, ["mail", "--last", "0"]).status).toBe(1);
  });
});
