// Passkey link mails through the outbox, against a real SMTP sink: content in two languages, SMTP
// down, refusing or slow, the link wiped from the outbox, the .eml file transport, graceful stop.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { simpleParser } from "mailparser";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { createTestDatabase, startTestApp } from "./helpers/harness";
import { queryDatabase } from "./helpers/db-query";
import type { CodeInfo, Delivery } from "./helpers/passkey-mail";
import {
  CREATE_LINK,
  SEND_LINK,
  buttonHref,
  linkInText,
  listCodes,
  mailsTo,
} from "./helpers/passkey-mail";
import type { ReceivedMail } from "./helpers/smtp-sink";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually, sleep } from "./helpers/wait";

const EXTERNAL_URL = "https://id.example.com";
const fastOutbox = (smtpUrl?: string) => ({
  EXTERNAL_URL,
  OUTBOX_POLL_MS: "50",
  OUTBOX_RETRY_BASE_MS: "100",
  OUTBOX_RETRY_MAX_MS: "300",
  ...(smtpUrl ? { SMTP_URL: smtpUrl } : {}),
});

interface Recipient {
  userId: string;
  email: string;
}

async function recipient(t: TestApp, fields: Record<string, unknown> = {}): Promise<Recipient> {
  const email = `mail-${randomBytes(4).toString("hex")}@example.com`;
  const org = await addOrg(t);
  return { userId: await addHuman(t, org, { email, ...fields }), email };
}

async function onlyCode(t: TestApp, userId: string): Promise<CodeInfo> {
  const codes = await listCodes(t, userId);
  expect(codes).toHaveLength(1);
  return codes[0]!;
}

/** The delivery of the user's only code, once `done` holds for it. */
function deliveryWhen(
  t: TestApp,
  userId: string,
  what: string,
  done: (delivery: Delivery) => boolean,
): Promise<Delivery> {
  return eventually(what, async () => {
    const { delivery } = await onlyCode(t, userId);
    return delivery && done(delivery) ? delivery : undefined;
  });
}

function outboxRow(t: TestApp, codeId: string) {
  return t.app.services.db.read(async (db) => {
    const rows = await db.query<{ state: string; link_ciphertext: string | null }[]>(
      "SELECT state, link_ciphertext FROM mail_outbox WHERE code_id = ?",
      [codeId],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  });
}

/** An attempt has failed: counting attempts alone would also match one still in flight. */
const failedOnce = (delivery: Delivery) => delivery.lastError !== null;

async function oneMailTo(sink: SmtpSink, address: string): Promise<ReceivedMail> {
  const [mail] = await eventually("a mail to " + address, () => {
    const mails = mailsTo(sink.mails, address);
    return mails.length > 0 ? mails : undefined;
  });
  return mail!;
}

/** No second copy shows up after several poll and retry intervals. */
async function expectNoDuplicate(sink: SmtpSink, address: string): Promise<void> {
  await sleep(600);
  expect(mailsTo(sink.mails, address)).toHaveLength(1);
}

describe("over SMTP", () => {
  let sink: SmtpSink;
  let t: TestApp;
  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await startTestApp(fastOutbox(sink.url));
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });
  beforeEach(() => {
    sink.mode = "accept";
    sink.attempts = 0;
  });

  it("sends English and German mails with the link as button and text, to the user's address", async () => {
    const ada = await recipient(t, { givenName: "Ada", familyName: "Lovelace" });
    const jurgen = await recipient(t, {
      givenName: "Jürgen",
      familyName: "Groß",
      preferredLanguage: "de",
    });
    await t.ok(SEND_LINK, { input: { userId: ada.userId } });
    await t.ok(CREATE_LINK, {
      input: {
        userId: jurgen.userId,
        sendLink: {
          urlTemplate: `${EXTERNAL_URL}/passkey?user={{.UserID}}&codeID={{.CodeID}}&code={{.Code}}`,
        },
      },
    });

    const expected = [
      {
        who: ada,
        subject: "Your link to register a passkey",
        greeting: "Hello Ada Lovelace,",
        validity: "valid for 1 hour",
        linkStart: `${EXTERNAL_URL}/ui/login/login/passwordless/init?userID=${ada.userId}&`,
      },
      {
        who: jurgen,
        subject: "Ihr Link zum Einrichten eines Passkeys",
        greeting: "Guten Tag Jürgen Groß,",
        validity: "1 Stunde lang gültig",
        linkStart: `${EXTERNAL_URL}/passkey?user=${jurgen.userId}&`,
      },
    ];
    for (const { who, subject, greeting, validity, linkStart } of expected) {
      const mail = await oneMailTo(sink, who.email);
      // The outcome is recorded once the worker's batch has been sent.
      const code = await eventually("the delivery to be recorded", async () => {
        const listed = await onlyCode(t, who.userId);
        return listed.delivery?.state === "SENT" ? listed : undefined;
      });
      expect(mail.subject).toBe(subject);
      expect(mail.to).toEqual([who.email]);
      expect(mail.parsed.to).toMatchObject({ value: [{ address: who.email }] });
      expect(mail.messageId).toMatch(/^<[^<>@\s]+@[^<>@\s]+>$/);

      const { link, codeId } = linkInText(mail.text);
      expect(link.startsWith(linkStart)).toBe(true);
      expect(link).toMatch(/[?&]code=[A-Za-z0-9]{12}(&|$)/);
      expect(codeId).toBe(code.id);
      expect(buttonHref(mail.html)).toBe(link);
      for (const part of [mail.text, mail.html]) {
        expect(part).toContain(greeting);
        expect(part).toContain(validity);
      }
      expect(code.delivery).toMatchObject({ state: "SENT", attempts: 1, lastError: null });
    }
  });

  it("succeeds while SMTP is down and delivers once when it is back", async () => {
    const user = await recipient(t);
    await sink.stop();
    try {
      await t.ok(SEND_LINK, { input: { userId: user.userId } });
      const waiting = await deliveryWhen(t, user.userId, "a failed attempt", failedOnce);
      expect(waiting.state).toBe("QUEUED");
      expect(waiting.lastError).toEqual(expect.any(String));
      expect(waiting.sentAt).toBeNull();
    } finally {
      await sink.restart();
    }
    await oneMailTo(sink, user.email);
    await expectNoDuplicate(sink, user.email);
    const sent = await deliveryWhen(t, user.userId, "SENT", (d) => d.state === "SENT");
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
    expect(sent.sentAt).toEqual(expect.any(String));
  });

  it("gives up after one attempt when the server refuses permanently (550)", async () => {
    const user = await recipient(t);
    sink.mode = "reject-permanent";
    await t.ok(SEND_LINK, { input: { userId: user.userId } });
    const failed = await deliveryWhen(t, user.userId, "FAILED", (d) => d.state === "FAILED");
    await sleep(600);
    expect(sink.attempts).toBe(1);
    expect(failed).toMatchObject({ state: "FAILED", attempts: 1, sentAt: null });
    expect(failed.lastError).toContain("550");
    expect(mailsTo(sink.mails, user.email)).toEqual([]);
    expect((await onlyCode(t, user.userId)).delivery).toEqual(failed);
  });

  it("retries a temporary refusal (451) and then delivers once", async () => {
    const user = await recipient(t);
    sink.mode = "reject-temporary";
    await t.ok(SEND_LINK, { input: { userId: user.userId } });
    await eventually("two refusals", () => (sink.attempts >= 2 ? true : undefined));
    sink.mode = "accept";
    const refused = (await onlyCode(t, user.userId)).delivery;
    expect(refused).toMatchObject({ state: "QUEUED", sentAt: null });
    expect(refused!.lastError).toContain("451");
    await oneMailTo(sink, user.email);
    await expectNoDuplicate(sink, user.email);
    const sent = await deliveryWhen(t, user.userId, "SENT", (d) => d.state === "SENT");
    expect(sent.attempts).toBeGreaterThanOrEqual(3);
    expect(sink.attempts).toBe(sent.attempts);
  });

  it("keeps the link only encrypted while queued and wipes it once sent or given up", async () => {
    const user = await recipient(t);
    await sink.stop();
    let queued;
    try {
      await t.ok(SEND_LINK, { input: { userId: user.userId } });
      await deliveryWhen(t, user.userId, "a failed attempt", failedOnce);
      queued = await outboxRow(t, (await onlyCode(t, user.userId)).id);
    } finally {
      await sink.restart();
    }
    const { link, code, codeId } = linkInText((await oneMailTo(sink, user.email)).text);
    expect(queued.state).toBe("QUEUED");
    expect(queued.link_ciphertext).toEqual(expect.any(String));
    const ciphertext = queued.link_ciphertext!;
    const decoded = Buffer.from(ciphertext, "base64").toString("latin1");
    for (const secret of [code, link, encodeURIComponent(link)]) {
      expect(ciphertext).not.toContain(secret);
      expect(decoded).not.toContain(secret);
    }
    await deliveryWhen(t, user.userId, "SENT", (d) => d.state === "SENT");
    expect(await outboxRow(t, codeId)).toEqual({ state: "SENT", link_ciphertext: null });

    const refused = await recipient(t);
    sink.mode = "reject-permanent";
    await t.ok(SEND_LINK, { input: { userId: refused.userId } });
    await deliveryWhen(t, refused.userId, "FAILED", (d) => d.state === "FAILED");
    const failedCode = (await onlyCode(t, refused.userId)).id;
    expect(await outboxRow(t, failedCode)).toEqual({ state: "FAILED", link_ciphertext: null });
  });
});

describe("over SMTP, refused until OUTBOX_MAX_ATTEMPTS", () => {
  let sink: SmtpSink;
  let t: TestApp;
  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await startTestApp({ ...fastOutbox(sink.url), OUTBOX_MAX_ATTEMPTS: "3" });
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it("gives a mail up after exactly that many temporary refusals (451), and tries no more", async () => {
    const user = await recipient(t);
    sink.mode = "reject-temporary";
    await t.ok(SEND_LINK, { input: { userId: user.userId } });
    const failed = await deliveryWhen(t, user.userId, "FAILED", (d) => d.state === "FAILED");
    expect(failed).toMatchObject({ state: "FAILED", attempts: 3, sentAt: null });
    expect(failed.lastError).toMatch(/^gave up after 3 attempts: .*451/);
    await sleep(600);
    expect(sink.attempts).toBe(3);
    expect(mailsTo(sink.mails, user.email)).toEqual([]);
  });
});

describe("without SMTP_URL", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(fastOutbox());
  });
  afterAll(() => t?.close());

  it("writes the mail as an .eml file under DATA_DIR/mail and names the file in the log", async () => {
    const user = await recipient(t, { givenName: "Ada", familyName: "Lovelace" });
    await t.ok(SEND_LINK, { input: { userId: user.userId } });
    await deliveryWhen(t, user.userId, "SENT", (d) => d.state === "SENT");
    const { id: codeId } = await onlyCode(t, user.userId);

    const directory = path.join(t.config.dataDir, "mail");
    const files = fs.readdirSync(directory).filter((name) => name.endsWith(".eml"));
    expect(files).toHaveLength(1);
    const file = path.join(directory, files[0]!);
    const parsed = await simpleParser(fs.readFileSync(file));
    expect(parsed.subject).toBe("Your link to register a passkey");
    expect(parsed.to).toMatchObject({ value: [{ address: user.email }] });
    const { link, code } = linkInText(parsed.text ?? "");
    expect(link.startsWith(`${EXTERNAL_URL}/ui/login/login/passwordless/init?`)).toBe(true);
    expect(link).toContain(`codeID=${codeId}&code=${code}`);
    expect(buttonHref(typeof parsed.html === "string" ? parsed.html : "")).toBe(link);

    const logs = t.logs.join("");
    expect(logs).toContain(file);
    expect(logs).not.toContain(code);
  });
});

describe("graceful shutdown", () => {
  it("lets the mails in flight finish and records them as sent", async () => {
    const sink = await SmtpSink.start();
    const database = await createTestDatabase();
    const t = await startTestApp(fastOutbox(sink.url), { database });
    try {
      sink.delayMs = 1000;
      const users = await Promise.all([1, 2, 3].map(() => recipient(t)));
      await Promise.all(users.map((u) => t.ok(SEND_LINK, { input: { userId: u.userId } })));
      await eventually("sends in flight", () => (sink.attempts >= 1 ? true : undefined));
      const inFlight = sink.attempts;
      expect(sink.mails).toHaveLength(0);

      await t.close();

      expect(sink.mails.length).toBeGreaterThanOrEqual(inFlight);
      const rows = await queryDatabase<{ state: string; message_id: string }>(
        database,
        "SELECT state, message_id FROM mail_outbox",
      );
      expect(rows).toHaveLength(users.length);
      const sent = rows.filter((row) => row.state === "SENT").map((row) => row.message_id);
      expect(sent.sort()).toEqual(sink.mails.map((mail) => mail.messageId).sort());
      for (const row of rows) expect(["SENT", "QUEUED"]).toContain(row.state);
    } finally {
      await t.close();
      await database.drop();
      await sink.stop();
    }
  });

  it("sends and records both batches in flight, each mail once, also past the lease", async () => {
    const sink = await SmtpSink.start();
    const database = await createTestDatabase();
    // One connection and batches of two: the second batch waits for the first's sends, longer
    // than its lease, so only the renewed claim keeps this worker from claiming it again.
    const t = await startTestApp(
      {
        ...fastOutbox(sink.url),
        OUTBOX_BATCH_SIZE: "2",
        SMTP_MAX_CONNECTIONS: "1",
        OUTBOX_LEASE_MS: "2000",
      },
      { database },
    );
    try {
      sink.delayMs = 1200;
      const users = await Promise.all([1, 2, 3, 4, 5].map(() => recipient(t)));
      await Promise.all(users.map((u) => t.ok(SEND_LINK, { input: { userId: u.userId } })));
      const claimed = () =>
        t.app.services.db.read((db) =>
          db.query<{ id: string; claim_token: string | null; state: string }[]>(
            "SELECT id, claim_token, state FROM mail_outbox WHERE claim_token IS NOT NULL OR state = 'SENT'",
          ),
        );
      const held = await eventually("two batches in flight", async () => {
        const rows = await claimed();
        const tokens = new Set(
          rows.filter((row) => row.state === "QUEUED").map((row) => row.claim_token),
        );
        return tokens.size >= 2 ? rows : undefined;
      });
      expect(sink.mails.length).toBeLessThan(users.length);

      await t.close();

      const rows = await queryDatabase<{ state: string; message_id: string; attempts: number }>(
        database,
        "SELECT state, message_id, attempts FROM mail_outbox",
      );
      expect(rows).toHaveLength(users.length);
      // Every batch claimed before the stop was sent and recorded, each mail once.
      const sent = rows.filter((row) => row.state === "SENT").map((row) => row.message_id);
      expect(sent.sort()).toEqual(sink.mails.map((mail) => mail.messageId).sort());
      expect(new Set(sent).size).toBe(sent.length);
      expect(sink.attempts).toBe(sink.mails.length);
      expect(sent.length).toBeGreaterThanOrEqual(held.length);
      for (const row of rows) {
        expect(["SENT", "QUEUED"]).toContain(row.state);
        expect(Number(row.attempts)).toBeLessThanOrEqual(1);
      }
    } finally {
      await t.close();
      await database.drop();
      await sink.stop();
    }
  });
});
