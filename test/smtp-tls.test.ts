// SMTP_REQUIRE_TLS (issue 20, on by default): a password for an SMTP server that is not on
// loopback never crosses the network in clear. Against a real SMTP server on this machine's
// non-loopback address that offers no STARTTLS, nothing is sent and the mail is retried.
import os from "node:os";
import type { TestApp } from "./helpers/harness";
import { productionEnv, startTestApp } from "./helpers/harness";
import { addHuman, addOrg } from "./helpers/fixtures";
import { SEND_LINK } from "./helpers/passkey-mail";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

const external = Object.values(os.networkInterfaces())
  .flat()
  .find((address) => address && !address.internal && address.family === "IPv4")?.address;

(external ? describe : describe.skip)("an SMTP password to a host that is not loopback", () => {
  let sink: SmtpSink;
  let t: TestApp;
  beforeAll(async () => {
    sink = await SmtpSink.start(external);
    t = await startTestApp(
      productionEnv({
        SMTP_URL: `smtp://app:s3cret-pw@${external}:${sink.port}`,
        OUTBOX_POLL_MS: "50",
        OUTBOX_RETRY_BASE_MS: "100",
        OUTBOX_RETRY_MAX_MS: "300",
      }),
    );
  });
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
  });

  it("is not sent without STARTTLS: the mail waits for a retry instead", async () => {
    const userId = await addHuman(t, await addOrg(t));
    await t.ok(SEND_LINK, { input: { userId } });
    await eventually("a failed attempt", () =>
      t.logs.join("").includes("mail delivery failed; will retry") ? true : undefined,
    );
    expect(sink.attempts).toBe(0);
    expect(sink.mails).toHaveLength(0);
    expect(t.logs.join("")).toContain("Error upgrading connection with STARTTLS");
    expect(t.logs.join("")).not.toContain("mail delivery given up");
    expect(t.logs.join("")).not.toContain("s3cret-pw");
  });
});
