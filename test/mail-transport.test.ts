// Pooled SMTP in its own thread (src/mail/mail-transport.ts), against a real SMTP server in the
// test process: mails go out, SMTP replies keep what the outbox decides by, an idle thread lets go
// of its connections and a later mail starts it again, and closing waits for the mails in flight.
import os from "node:os";
import type { FastifyBaseLogger } from "fastify";
import type { MailTransport, OutgoingMail } from "../src/mail/mail-transport";
import {
  createMailTransport,
  describeFailure,
  isPermanentFailure,
} from "../src/mail/mail-transport";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

let sink: SmtpSink;
let transport: MailTransport | undefined;

beforeAll(async () => {
  sink = await SmtpSink.start();
});
afterAll(() => sink?.stop());
beforeEach(() => {
  sink.mode = "accept";
  sink.delayMs = 0;
});
afterEach(() => transport?.close());

function open(idleMs = 10_000): MailTransport {
  transport = createMailTransport(
    {
      smtpUrl: sink.url,
      smtpRequireTls: false,
      smtpMaxConnections: 2,
      dataDir: os.tmpdir(),
      smtpThreadIdleMs: idleMs,
    },
    {} as FastifyBaseLogger,
  );
  return transport;
}

let sent = 0;
function mail(): OutgoingMail {
  sent += 1;
  return {
    messageId: `<transport-${sent}-${Date.now()}@test.example>`,
    from: "Passkeys <passkeys@test.example>",
    to: `user-${sent}@test.example`,
    subject: `Mail ${sent}`,
    html: `<p>Mail ${sent}</p>`,
    text: `Mail ${sent}`,
  };
}

it("sends through the pool; idle, it lets go of its connections, and the next mail goes out again", async () => {
  const smtp = open(300);
  const first = mail();
  await smtp.send(first);
  expect(sink.mails.find((m) => m.messageId === first.messageId)).toMatchObject({
    to: [first.to],
    subject: first.subject,
    text: first.text,
  });
  await eventually("the idle connection closed", () =>
    sink.openConnections === 0 ? true : undefined,
  );
  const second = mail();
  await smtp.send(second);
  expect(sink.mails.map((m) => m.messageId)).toContain(second.messageId);
});

it("keeps a connection for the next mail while it is not idle", async () => {
  const smtp = open(10_000);
  await smtp.send(mail());
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(sink.openConnections).toBe(1);
});

it("hands back the SMTP server's refusal: 550 is permanent, 451 is retried", async () => {
  const smtp = open();
  sink.mode = "reject-permanent";
  const permanent = await smtp.send(mail()).catch((error: unknown) => error);
  expect(permanent).toMatchObject({ responseCode: 550 });
  expect(isPermanentFailure(permanent)).toBe(true);
  expect(describeFailure(permanent)).toContain("550");

  sink.mode = "reject-temporary";
  const temporary = await smtp.send(mail()).catch((error: unknown) => error);
  expect(temporary).toMatchObject({ responseCode: 451 });
  expect(isPermanentFailure(temporary)).toBe(false);
});

it("a server that is away is a connection failure, retried", async () => {
  const away = await SmtpSink.start();
  await away.stop();
  transport = createMailTransport(
    { smtpUrl: away.url, smtpRequireTls: false, smtpMaxConnections: 1, dataDir: os.tmpdir() },
    {} as FastifyBaseLogger,
  );
  const failure = await transport.send(mail()).catch((error: unknown) => error);
  expect(failure).toMatchObject({ code: "ESOCKET" });
  expect(describeFailure(failure)).toContain("ECONNREFUSED");
  expect(isPermanentFailure(failure)).toBe(false);
});

it("closing waits for the mails in flight: they are delivered, not dropped", async () => {
  const smtp = open();
  sink.delayMs = 400;
  const inFlight = [mail(), mail()];
  const sends = inFlight.map((m) => smtp.send(m));
  await eventually("both mails arriving", () => (sink.attempts >= 2 ? true : undefined));
  smtp.close();
  await Promise.all(sends);
  const ids = sink.mails.map((m) => m.messageId);
  for (const m of inFlight) expect(ids).toContain(m.messageId);
});

it("a thread that dies fails its mails as retryable, and the next mail goes out on a new one", async () => {
  const smtp = open();
  await smtp.send(mail());
  sink.delayMs = 2_000;
  const inFlight = smtp.send(mail());
  await eventually("the mail arriving", () => (sink.attempts >= 2 ? true : undefined));
  // What a crash of the thread looks like from the main thread: it exits with mail in hand.
  const { thread } = smtp as unknown as { thread: { worker: { terminate(): Promise<number> } } };
  await thread.worker.terminate();
  const failure = await inFlight.catch((error: unknown) => error);
  expect(failure).toMatchObject({ code: "ECONNECTION" });
  expect(isPermanentFailure(failure)).toBe(false);

  sink.delayMs = 0;
  const after = mail();
  await smtp.send(after);
  expect(sink.mails.map((m) => m.messageId)).toContain(after.messageId);
});
