// The outbox across real server processes: two processes sharing one database (each on its own
// node of a Galera cluster under npm run test:galera) send every mail exactly once, and a process
// killed mid-batch leaves nothing undelivered after a restart.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { queryDatabase } from "./helpers/db-query";
import type { TestDatabase } from "./helpers/harness";
import { TEST_DB, createTestDatabase } from "./helpers/harness";
import { SEND_LINK, linkInText, listCodes } from "./helpers/passkey-mail";
import { ServerProcess } from "./helpers/server-process";
import type { ReceivedMail } from "./helpers/smtp-sink";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually, sleep } from "./helpers/wait";

const ADD_ORG = `mutation($input: AddOrganizationInput!) { addOrganization(input: $input) { organizationId } }`;
const ADD_HUMAN = `mutation($input: AddHumanUserInput!) { addHumanUser(input: $input) { userId } }`;

interface Setup {
  sink: SmtpSink;
  database: TestDatabase;
  servers: ServerProcess[];
  extraDirs: string[];
}

async function setUp(): Promise<Setup> {
  return {
    sink: await SmtpSink.start(),
    database: await createTestDatabase(),
    servers: [],
    extraDirs: [],
  };
}

async function tearDown(setup: Setup | undefined): Promise<void> {
  if (!setup) return;
  await Promise.all(setup.servers.map((server) => server.kill("SIGKILL")));
  await setup.sink.stop();
  await setup.database.drop();
  for (const dir of setup.extraDirs) fs.rmSync(dir, { recursive: true, force: true });
}

/** Server settings: one database and key for every process, fast polling and retries. */
function serverEnv(setup: Setup, masterKey: string, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: setup.database.url,
    DATA_DIR: setup.database.dataDir,
    MASTER_KEY: masterKey,
    SMTP_URL: setup.sink.url,
    EXTERNAL_URL: "https://id.example.com",
    OUTBOX_POLL_MS: "50",
    OUTBOX_RETRY_BASE_MS: "100",
    OUTBOX_RETRY_MAX_MS: "500",
    OUTBOX_MAX_ATTEMPTS: "100",
    SEND_RATE_LIMIT: "10",
    ...extra,
  };
}

async function addUsers(server: ServerProcess, token: string, count: number): Promise<string[]> {
  const suffix = randomBytes(4).toString("hex");
  const org = (await server.ok(ADD_ORG, { input: { name: `org-${suffix}` } }, token))
    .addOrganization.organizationId;
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const username = `user-${i}-${suffix}`;
      const input = {
        organizationId: org,
        username,
        email: `${username}@example.com`,
        givenName: "Ada",
        familyName: "Lovelace",
      };
      return (await server.ok(ADD_HUMAN, { input }, token)).addHumanUser.userId as string;
    }),
  );
}

/** Queues `count` mails, round-robin over the users and the servers. */
async function queueMails(
  servers: ServerProcess[],
  token: string,
  users: string[],
  count: number,
): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      servers[i % servers.length]!.ok(
        SEND_LINK,
        { input: { userId: users[i % users.length] } },
        token,
      ),
    ),
  );
}

/** Received mails per code; every copy of one code must be the same message. */
function byCode(mails: ReceivedMail[]): Map<string, ReceivedMail[]> {
  const codes = new Map<string, ReceivedMail[]>();
  for (const mail of mails) {
    const { code } = linkInText(mail.text);
    codes.set(code, [...(codes.get(code) ?? []), mail]);
  }
  return codes;
}

const retried = (server: ServerProcess) =>
  server.log.includes("mail delivery failed; will retry") ? true : undefined;

(TEST_DB === "mariadb" ? describe : describe.skip)("two server processes, one database", () => {
  let setup: Setup | undefined;
  afterAll(() => tearDown(setup));

  it("deliver 100 mails queued through both, each exactly once", async () => {
    setup = await setUp();
    const { sink, database, servers } = setup;
    const masterKey = randomBytes(32).toString("base64");
    // Small batches: one worker holds at most a tenth of the mails at once (two batches), so the
    // other one, polling every 50 ms, finds some due once SMTP is back. Measured: 45-55 mails each.
    // With batches of 50 it was 8-92, and one worker could claim all 100 in one poll and the other
    // send none, as a CI run did.
    const settings = { OUTBOX_BATCH_SIZE: "5" };
    const first = await ServerProcess.start(serverEnv(setup, masterKey, settings));
    servers.push(first);
    const token = first.adminToken();
    const secondDir = fs.mkdtempSync(path.join(os.tmpdir(), "plk-second-"));
    setup.extraDirs.push(secondDir);
    const secondNode = database.urls[1 % database.urls.length]!;
    servers.push(
      await ServerProcess.start(
        serverEnv(setup, masterKey, {
          ...settings,
          DATA_DIR: secondDir,
          DATABASE_URL: secondNode,
        }),
      ),
    );
    // On Galera each worker claims only in the shards it holds (every other one of two workers),
    // and a user's mails all fall in one shard: with 20 users, the chance that every user's shard
    // belongs to one worker, which would leave the other nothing to send, is 2 in a million.
    const users = await addUsers(first, token, 20);

    // With SMTP down while queuing, both workers claim rows and hold them for retries, so both
    // take part once it is back.
    await sink.stop();
    try {
      await queueMails(servers, token, users, 100);
      for (const server of servers) await eventually("a failed attempt", () => retried(server));
    } finally {
      await sink.restart();
    }
    await sink.waitFor(100, 30_000);
    await sleep(1000);

    expect(sink.mails).toHaveLength(100);
    expect(new Set(sink.mails.map((mail) => mail.messageId)).size).toBe(100);
    const codes = byCode(sink.mails);
    expect(codes.size).toBe(100);
    for (const [, [mail]] of codes) {
      const { link } = linkInText(mail!.text);
      expect(users).toContain(new URL(link).searchParams.get("userID"));
    }
    const states = await queryDatabase<{ state: string }>(
      database,
      "SELECT state FROM mail_outbox",
    );
    expect(states).toHaveLength(100);
    expect(states.every((row) => row.state === "SENT")).toBe(true);
    for (const server of servers) {
      expect(server.log).toContain("passkey link mail sent");
      expect(server.log).not.toContain('"level":50');
    }
  }, 90_000);
});

describe("a server killed in the middle of a batch", () => {
  let setup: Setup | undefined;
  afterAll(() => tearDown(setup));

  it("sends every queued mail after a restart, repeats only with the same Message-ID", async () => {
    setup = await setUp();
    const { sink, servers } = setup;
    // Claims run out after 1.5 s, so the restarted process takes over what the killed one held.
    const env = serverEnv(setup, randomBytes(32).toString("base64"), { OUTBOX_LEASE_MS: "1500" });
    const first = await ServerProcess.start(env);
    servers.push(first);
    const token = first.adminToken();
    const users = await addUsers(first, token, 4);

    await sink.stop();
    try {
      await queueMails([first], token, users, 40);
      await eventually("a failed attempt", () => retried(first));
    } finally {
      sink.delayMs = 200;
      await sink.restart();
    }
    await eventually("a few mails delivered and more in flight", () =>
      sink.mails.length >= 3 && sink.attempts > sink.mails.length ? true : undefined,
    );
    await first.kill("SIGKILL");
    expect(sink.mails.length).toBeLessThan(40);

    const second = await ServerProcess.start(env);
    servers.push(second);
    const codes = await eventually(
      "all 40 codes",
      () => {
        const received = byCode(sink.mails);
        return received.size >= 40 ? received : undefined;
      },
      25_000,
    );
    expect(codes.size).toBe(40);
    for (const [, copies] of codes) {
      expect(new Set(copies.map((mail) => mail.messageId)).size).toBe(1);
    }
    await eventually("the restarted process to record sends", () =>
      second.log.includes("passkey link mail sent") ? true : undefined,
    );
    const client = {
      ok: (query: string, variables?: Record<string, unknown>) =>
        second.ok(query, variables ?? {}, token),
    };
    await eventually("every listed delivery SENT", async () => {
      const listed = await Promise.all(users.map((userId) => listCodes(client, userId)));
      const states = listed.flat().map((code) => code.delivery?.state);
      return states.length === 40 && states.every((state) => state === "SENT") ? true : undefined;
    });
  }, 90_000);
});
