// Shutdown in production mode (issue 20): SIGTERM while a slow SMTP server holds a send lets the
// worker record it and exits 0, so the mail goes out exactly once, also after a restart past the
// lease; and a claim is renewed while a send is in flight, so a second worker never sends the
// same mail while the first still waits for a slow SMTP server.
import type { TestApp, TestDatabase } from "./helpers/harness";
import { createTestDatabase, productionEnv, startTestApp } from "./helpers/harness";
import { addHuman, addOrg } from "./helpers/fixtures";
import { listCodes, SEND_LINK } from "./helpers/passkey-mail";
import { ServerProcess } from "./helpers/server-process";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually, sleep } from "./helpers/wait";

const LEASE_MS = 1500;

/** A ServerProcess as the fixtures' client, with the instance owner's token. */
const asClient = (server: ServerProcess, token: string) =>
  ({
    ok: (query: string, variables?: Record<string, unknown>) =>
      server.ok(query, variables ?? {}, token),
  }) as unknown as TestApp;

describe("SIGTERM in production during a slow send", () => {
  let sink: SmtpSink;
  let database: TestDatabase;
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    sink = await SmtpSink.start();
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.kill("SIGKILL")));
    await sink.stop();
    await database.drop();
  });

  it("records the send, exits 0, and the mail goes out exactly once", async () => {
    const env = productionEnv({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      SMTP_URL: sink.url,
      OUTBOX_POLL_MS: "50",
      OUTBOX_LEASE_MS: String(LEASE_MS),
    });
    const first = await ServerProcess.start(env);
    servers.push(first);
    const token = first.adminToken();
    const client = asClient(first, token);
    const userId = await addHuman(client, await addOrg(client));
    sink.delayMs = 3000;
    await first.ok(SEND_LINK, { input: { userId } }, token);
    await eventually("the send in flight", () => (sink.attempts >= 1 ? true : undefined));
    expect(sink.mails).toHaveLength(0);

    expect(await first.kill("SIGTERM", 20_000)).toBe(0);
    expect(sink.mails).toHaveLength(1);
    expect(first.log).toContain("passkey link mail sent");

    sink.delayMs = 0;
    const second = await ServerProcess.start(env);
    servers.push(second);
    await sleep(LEASE_MS * 2);
    expect(sink.mails).toHaveLength(1);
    expect(sink.attempts).toBe(1);
    const [code] = await listCodes(asClient(second, token), userId);
    expect(code?.delivery?.state).toBe("SENT");
    expect(await second.kill("SIGINT")).toBe(0);
  }, 90_000);
});

describe("a send slower than the outbox lease", () => {
  let sink: SmtpSink;
  let database: TestDatabase;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    sink = await SmtpSink.start();
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await sink.stop();
    await database.drop();
  });

  it("is not sent again by a second worker while the first still waits", async () => {
    const env = productionEnv({
      SMTP_URL: sink.url,
      OUTBOX_POLL_MS: "50",
      OUTBOX_LEASE_MS: "1000",
    });
    const first = await startTestApp(env, { database });
    apps.push(first);
    const second = await startTestApp(env, { database });
    apps.push(second);
    const userId = await addHuman(first, await addOrg(first));
    sink.delayMs = 3500;
    await first.ok(SEND_LINK, { input: { userId } });
    await sink.waitFor(1, 20_000);
    await sleep(1500);
    expect(sink.mails).toHaveLength(1);
    expect(sink.attempts).toBe(1);
    const [code] = await listCodes(second, userId);
    expect(code?.delivery).toMatchObject({ state: "SENT", attempts: 1 });
  }, 60_000);
});
