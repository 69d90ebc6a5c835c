// SPEC 14, what errors disclose: no SQL, parameters or personal data in logs from driver errors,
// and no SMTP detail for a user reading its own codes.
import { actor, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import { SEND_LINK, listCodes } from "./helpers/passkey-mail";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

it("logs a failing statement without its SQL, parameters or quoted values", async () => {
  const t = await startTestApp();
  try {
    await t.app.services.db.dataSource.query("DROP TABLE events");
    const name = "Zed Secret Org 4711";
    expectError(
      await t.gql(`mutation { addOrganization(input: {name: "${name}"}) { organizationId } }`),
      "INTERNAL",
    );
    const logs = t.logs.join("");
    expect(logs).toMatch(/events/);
    expect(logs).not.toContain(name);
    expect(logs).not.toMatch(/INSERT INTO|"parameters"|"query"/i);
  } finally {
    await t.close();
  }
});

describe("delivery errors", () => {
  let t: TestApp;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await SmtpSink.start();
    sink.mode = "reject-permanent";
    t = await startTestApp({ SMTP_URL: sink.url, OUTBOX_POLL_MS: "50" });
  });
  afterAll(async () => {
    await t.close();
    await sink.stop();
  });

  it("shows the SMTP answer only to callers holding user.write on the user", async () => {
    const org = await addOrg(t);
    const me = await actor(t, org);
    await t.ok(SEND_LINK, {}, { token: me.token });
    const failed = await eventually("a failed delivery", async () => {
      const [code] = await listCodes(t, me.userId);
      return code?.delivery?.state === "FAILED" ? code.delivery : undefined;
    });
    expect(failed.lastError).toContain("550");
    const own = (
      await t.ok(
        `query($userId: ID!) { passkeyRegistrationCodes(userId: $userId) { delivery { state lastError } } }`,
        { userId: me.userId },
        { token: me.token },
      )
    ).passkeyRegistrationCodes;
    expect(own).toEqual([
      { delivery: { state: "FAILED", lastError: "the mail could not be delivered" } },
    ]);
  });
});
