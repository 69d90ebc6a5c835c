// The three passkey-link operations over HTTP: self-service, permissions in the target's
// organization, target states, payloads, media, mail content, rate limit and headers.
import http from "node:http";
import { DETAILS, actor, addHuman, addMachine, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import { mailsTo as mailsToAddress } from "./helpers/passkey-mail";
import { registerPasskey } from "./helpers/passkeys";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

const EXTERNAL = "https://id.example.com";

let t: TestApp;
let sink: SmtpSink;
let org: string;
let otherOrg: string;

beforeAll(async () => {
  sink = await SmtpSink.start();
  t = await startTestApp({
    SMTP_URL: sink.url,
    OUTBOX_POLL_MS: "50",
    EXTERNAL_URL: EXTERNAL,
    LINK_ALLOWED_ORIGINS: "https://app.example.com,http://127.0.0.1:3000",
    // The code-distribution test holds 200 codes of one user at once.
    PASSKEY_CODE_MAX_ACTIVE: "200",
  });
  org = await addOrg(t);
  otherOrg = await addOrg(t);
});
afterAll(async () => {
  await t.close();
  await sink.stop();
});

const ADD = `mutation($input: AddPasskeyLinkInput) { addPasskeyLink(input: $input) { ${DETAILS} link expiration } }`;
const SEND = `mutation($input: SendPasskeyLinkInput) { sendPasskeyLink(input: $input) { ${DETAILS} } }`;
const CREATE = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { ${DETAILS} code { id code } } }`;
const LIST = `query($userId: ID!) { passkeyRegistrationCodes(userId: $userId) { id userId state medium createdAt expiresAt delivery { state attempts lastError sentAt } } }`;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Mails to `address` received so far. */
const mailsTo = (address: string) => mailsToAddress(sink.mails, address);

function waitForMailTo(address: string, count = 1) {
  return eventually(`a mail for ${address}`, () => {
    const received = mailsTo(address);
    return received.length >= count ? received : undefined;
  });
}

async function emailOf(userId: string): Promise<string> {
  return (await t.ok(`query($id: ID!) { user(id: $id) { email } }`, { id: userId })).user.email;
}

function parseLink(link: string) {
  const url = new URL(link);
  return {
    origin: url.origin,
    path: url.pathname,
    userID: url.searchParams.get("userID"),
    orgID: url.searchParams.get("orgID"),
    codeID: url.searchParams.get("codeID"),
    code: url.searchParams.get("code"),
  };
}

describe("self-service needs no permission", () => {
  it("addPasskeyLink returns the default link on EXTERNAL_URL with v1 details", async () => {
    const alice = await actor(t, org);
    const data = await t.ok(ADD, {}, { token: alice.token });
    const { link, expiration, details } = data.addPasskeyLink;
    expect(expiration).toBe("3600s");
    const parts = parseLink(link);
    expect(parts).toMatchObject({
      origin: EXTERNAL,
      path: "/ui/login/login/passwordless/init",
      userID: alice.userId,
      orgID: org,
    });
    expect(parts.code).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(parts.codeID).toMatch(/^[0-9a-f-]{36}$/);
    expect(details.resourceOwner).toBe(org);
    expect(details.creationDate).toMatch(ISO);
    expect(details.changeDate).toBe(details.creationDate);
  });

  it("sendPasskeyLink emails the default link, in HTML and text, to the user's address", async () => {
    const alice = await actor(t, org);
    const address = await emailOf(alice.userId);
    const data = await t.ok(SEND, {}, { token: alice.token });
    expect(data.sendPasskeyLink.details.creationDate).toMatch(ISO);
    expect(data.sendPasskeyLink.details.resourceOwner).toBe(org);
    const [mail] = await waitForMailTo(address);
    const link = /https:\/\/id\.example\.com\/ui\/login\/login\/passwordless\/init\?[^\s"<]+/.exec(
      mail!.text,
    )?.[0];
    expect(link).toBeDefined();
    const parts = parseLink(link!);
    expect(parts).toMatchObject({ userID: alice.userId, orgID: org });
    expect(parts.code).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(mail!.html).toContain(`href="${link!.replace(/&/g, "&amp;").replace(/=/g, "&#x3D;")}"`);
    expect(mail!.subject).toMatch(/passkey/i);
  });

  it("createPasskeyRegistrationLink returns a code with v2 details (no creationDate)", async () => {
    const alice = await actor(t, org);
    const data = await t.ok(
      CREATE,
      { input: { userId: alice.userId, returnCode: true } },
      { token: alice.token },
    );
    const { details, code } = data.createPasskeyRegistrationLink;
    expect(code.code).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(code.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(details.creationDate).toBeNull();
    expect(details.changeDate).toMatch(ISO);
    expect(details.resourceOwner).toBe(org);
  });
});

describe("permissions are checked in the target user's organization", () => {
  it("addPasskeyLink for another user needs user.credential.write", async () => {
    const bob = await addHuman(t, org);
    const owner = await actor(t, org, ["ORG_OWNER"]);
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const iamManager = await actor(t, org, ["IAM_USER_MANAGER"], null);
    expect(
      parseLink(
        (await t.ok(ADD, { input: { userId: bob } }, { token: owner.token })).addPasskeyLink.link,
      ).userID,
    ).toBe(bob);
    expectError(
      await t.gql(ADD, { input: { userId: bob } }, { token: manager.token }),
      "PERMISSION_DENIED",
    );
    expectError(
      await t.gql(ADD, { input: { userId: bob } }, { token: iamManager.token }),
      "PERMISSION_DENIED",
    );
  });

  it("sendPasskeyLink for another user needs user.write", async () => {
    const bob = await addHuman(t, org);
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const plain = await actor(t, org);
    await t.ok(SEND, { input: { userId: bob } }, { token: manager.token });
    await waitForMailTo(await emailOf(bob));
    expectError(
      await t.gql(SEND, { input: { userId: bob } }, { token: plain.token }),
      "PERMISSION_DENIED",
    );
  });

  it("createPasskeyRegistrationLink for another user needs user.passkey.write", async () => {
    const bob = await addHuman(t, org);
    const iamManager = await actor(t, org, ["IAM_USER_MANAGER"], null);
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const created = await t.ok(
      CREATE,
      { input: { userId: bob, returnCode: true } },
      { token: iamManager.token },
    );
    expect(created.createPasskeyRegistrationLink.code.code).toMatch(/^[A-Za-z0-9]{12}$/);
    expectError(
      await t.gql(CREATE, { input: { userId: bob, returnCode: true } }, { token: manager.token }),
      "PERMISSION_DENIED",
    );
  });

  it("mints nothing for a user holding instance roles unless the caller is an instance owner", async () => {
    const iamOwner = await actor(t, org, ["IAM_OWNER"], null);
    const iamManager = await actor(t, org, ["IAM_USER_MANAGER"], null);
    const orgOwner = await actor(t, org, ["ORG_OWNER"]);
    const target = { userId: iamOwner.userId };
    expectError(
      await t.gql(CREATE, { input: { ...target, returnCode: true } }, { token: iamManager.token }),
      "PERMISSION_DENIED",
      "AUTHZ-target-privileged",
    );
    expectError(
      await t.gql(ADD, { input: target }, { token: orgOwner.token }),
      "PERMISSION_DENIED",
    );
    expectError(
      await t.gql(SEND, { input: target }, { token: orgOwner.token }),
      "PERMISSION_DENIED",
    );
    const created = await t.ok(CREATE, { input: { ...target, returnCode: true } });
    expect(created.createPasskeyRegistrationLink.code.code).toMatch(/^[A-Za-z0-9]{12}$/);
  });

  it("an owner of one organization gets nothing for a user of another", async () => {
    const ownerA = await actor(t, org, ["ORG_OWNER"]);
    const victim = await addHuman(t, otherOrg);
    const address = await emailOf(victim);
    expectError(
      await t.gql(ADD, { input: { userId: victim } }, { token: ownerA.token }),
      "PERMISSION_DENIED",
    );
    expectError(
      await t.gql(SEND, { input: { userId: victim } }, { token: ownerA.token }),
      "PERMISSION_DENIED",
    );
    expectError(
      await t.gql(CREATE, { input: { userId: victim } }, { token: ownerA.token }),
      "PERMISSION_DENIED",
    );
    // Also with the victim's organization in the header: the header does not grant anything.
    expectError(
      await t.gql(
        CREATE,
        { input: { userId: victim, returnCode: true } },
        { token: ownerA.token, orgId: otherOrg },
      ),
      "PERMISSION_DENIED",
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(mailsTo(address)).toHaveLength(0);
    const codes = (await t.ok(LIST, { userId: victim })).passkeyRegistrationCodes;
    expect(codes).toEqual([]);
  });
});

describe("the target user", () => {
  const MISSING = "00000000-0000-7000-8000-000000000000";

  it.each([
    ["addPasskeyLink", ADD, { userId: MISSING }],
    ["sendPasskeyLink", SEND, { userId: MISSING }],
    ["createPasskeyRegistrationLink", CREATE, { userId: MISSING, returnCode: true }],
  ])(
    "%s: a missing user is NOT_FOUND, even for a caller without permission",
    async (_name, query, input) => {
      expectError(await t.gql(query, { input }), "NOT_FOUND", "USER-not-found");
      const plain = await actor(t, org);
      expectError(
        await t.gql(query, { input }, { token: plain.token }),
        "NOT_FOUND",
        "USER-not-found",
      );
    },
  );

  it("a removed user is NOT_FOUND and its pending codes end", async () => {
    const carol = await addHuman(t, org);
    const { code } = (await t.ok(CREATE, { input: { userId: carol, returnCode: true } }))
      .createPasskeyRegistrationLink;
    await t.ok(`mutation { removeUser(input: {userId: "${carol}"}) { details { sequence } } }`);
    expectError(await t.gql(ADD, { input: { userId: carol } }), "NOT_FOUND");
    expectError(await t.gql(SEND, { input: { userId: carol } }), "NOT_FOUND");
    expectError(await t.gql(CREATE, { input: { userId: carol, returnCode: true } }), "NOT_FOUND");
    // With a code, a removed user answers like a wrong code: a code holder learns nothing about
    // which users exist (issue 18, item 11).
    expectError(await registerPasskey(t, carol, code), "INVALID_ARGUMENT", "CODE-invalid");
    const rows = await t.app.services.db.read((db) =>
      db.query<{ state: string }[]>("SELECT state FROM passkey_codes WHERE id = ?", [code.id]),
    );
    expect(rows[0]!.state).toBe("REVOKED");
  });

  it.each([
    ["a machine user", "LINK-user-machine", async () => addMachine(t, org)],
    ["a locked user", "LINK-user-not-active", async () => stateChanged("lockUser")],
    ["an inactive user", "LINK-user-not-active", async () => stateChanged("deactivateUser")],
  ])("%s is FAILED_PRECONDITION in all three operations", async (_name, id, makeUser) => {
    const userId = await makeUser();
    expectError(await t.gql(ADD, { input: { userId } }), "FAILED_PRECONDITION", id);
    expectError(await t.gql(SEND, { input: { userId } }), "FAILED_PRECONDITION", id);
    expectError(
      await t.gql(CREATE, { input: { userId, returnCode: true } }),
      "FAILED_PRECONDITION",
      id,
    );
  });

  it("sending to a user without an email address is FAILED_PRECONDITION; returning still works", async () => {
    const dave = await addHuman(t, org, { email: null });
    expectError(
      await t.gql(SEND, { input: { userId: dave } }),
      "FAILED_PRECONDITION",
      "LINK-user-no-email",
    );
    expectError(
      await t.gql(CREATE, { input: { userId: dave } }),
      "FAILED_PRECONDITION",
      "LINK-user-no-email",
    );
    expect((await t.ok(ADD, { input: { userId: dave } })).addPasskeyLink.link).toContain(dave);
  });

  it("checks permission before the target's state", async () => {
    const machine = await addMachine(t, org);
    const plain = await actor(t, org);
    expectError(
      await t.gql(ADD, { input: { userId: machine } }, { token: plain.token }),
      "PERMISSION_DENIED",
    );
  });

  async function stateChanged(mutation: string) {
    const userId = await addHuman(t, org);
    await t.ok(`mutation { ${mutation}(input: {userId: "${userId}"}) { details { sequence } } }`);
    return userId;
  }
});

describe("media of createPasskeyRegistrationLink", () => {
  it("rejects both media at once", async () => {
    const erin = await addHuman(t, org);
    const result = await t.gql(CREATE, { input: { userId: erin, returnCode: true, sendLink: {} } });
    expectError(result, "INVALID_ARGUMENT", "LINK-medium-both");
  });

  it("sends the default link when no medium is given", async () => {
    const erin = await addHuman(t, org);
    const data = await t.ok(CREATE, { input: { userId: erin } });
    expect(data.createPasskeyRegistrationLink.code).toBeNull();
    const [mail] = await waitForMailTo(await emailOf(erin));
    expect(mail!.text).toContain(`${EXTERNAL}/ui/login/login/passwordless/init?userID=${erin}`);
  });

  it("returnCode sends nothing and queues nothing", async () => {
    const erin = await addHuman(t, org);
    await t.ok(CREATE, { input: { userId: erin, returnCode: true } });
    await t.app.outboxWorker.drain();
    expect(mailsTo(await emailOf(erin))).toHaveLength(0);
    const queued = await t.app.services.db.read((db) =>
      db.query<unknown[]>("SELECT id FROM mail_outbox WHERE user_id = ?", [erin]),
    );
    expect(queued).toHaveLength(0);
    const [info] = (await t.ok(LIST, { userId: erin })).passkeyRegistrationCodes;
    expect(info).toMatchObject({ medium: "RETURNED", delivery: null, state: "ACTIVE" });
  });

  it("renders a valid urlTemplate into the mail, URL-encoding the values", async () => {
    const frank = await addHuman(t, org);
    const urlTemplate =
      "https://app.example.com/passkey?u={{.UserID}}&o={{ .OrgID }}&id={{.CodeID}}&c={{.Code}}";
    const data = await t.ok(CREATE, { input: { userId: frank, sendLink: { urlTemplate } } });
    expect(data.createPasskeyRegistrationLink.code).toBeNull();
    const [mail] = await waitForMailTo(await emailOf(frank));
    const link = /https:\/\/app\.example\.com\/passkey\?[^\s"<]+/.exec(mail!.text)?.[0];
    const url = new URL(link!);
    expect(url.searchParams.get("u")).toBe(frank);
    expect(url.searchParams.get("o")).toBe(org);
    expect(url.searchParams.get("c")).toMatch(/^[A-Za-z0-9]{12}$/);
    const [info] = (await t.ok(LIST, { userId: frank })).passkeyRegistrationCodes;
    expect(url.searchParams.get("id")).toBe(info.id);
  });

  it("allows plain http for a loopback origin on the allow-list", async () => {
    const gus = await addHuman(t, org);
    await t.ok(CREATE, {
      input: { userId: gus, sendLink: { urlTemplate: "http://127.0.0.1:3000/r?c={{.Code}}" } },
    });
    const [mail] = await waitForMailTo(await emailOf(gus));
    expect(mail!.text).toMatch(/http:\/\/127\.0\.0\.1:3000\/r\?c=[A-Za-z0-9]{12}/);
  });

  it.each([
    ["empty", "", "LINK-template-empty"],
    [
      "over 200 characters",
      `https://app.example.com/${"a".repeat(180)}?c={{.Code}}`,
      "LINK-template-too-long",
    ],
    ["an unclosed placeholder", "https://app.example.com/r?c={{.Code", "LINK-template-malformed"],
    [
      "a placeholder without the dot",
      "https://app.example.com/r?c={{Code}}",
      "LINK-template-malformed",
    ],
    ["a stray closing brace pair", "https://app.example.com/r?c=}}", "LINK-template-malformed"],
    ["an empty placeholder", "https://app.example.com/r?c={{ }}", "LINK-template-malformed"],
    [
      "an unknown placeholder",
      "https://app.example.com/r?c={{.Password}}",
      "LINK-template-unknown-placeholder",
    ],
    ["a relative URL", "/r?c={{.Code}}", "LINK-template-placeholder-in-origin"],
    ["a relative URL without placeholders", "r/c", "LINK-template-not-absolute"],
    [
      "plain http on a public host",
      "http://app.example.com/r?c={{.Code}}",
      "LINK-template-not-https",
    ],
    ["another scheme", "javascript:alert(1)//{{.Code}}", "LINK-template-placeholder-in-origin"],
    [
      "an origin not on the allow-list",
      "https://evil.example.net/r?c={{.Code}}",
      "LINK-template-origin-not-allowed",
    ],
    [
      "a look-alike host",
      "https://app.example.com.evil.net/r?c={{.Code}}",
      "LINK-template-origin-not-allowed",
    ],
    [
      "user information hiding the host",
      "https://app.example.com@evil.net/r?c={{.Code}}",
      "LINK-template-credentials",
    ],
    [
      "a placeholder in the host",
      "https://{{.UserID}}.example.com/r?c={{.Code}}",
      "LINK-template-placeholder-in-origin",
    ],
    [
      "http on a loopback port not allowed",
      "http://127.0.0.1:9999/r?c={{.Code}}",
      "LINK-template-origin-not-allowed",
    ],
    [
      "a space hiding a second URL",
      "https://app.example.com/ https://evil.example.net/?c={{.Code}}",
      "LINK-template-invalid-character",
    ],
    [
      "a backslash that RFC 3986 parsers read as user information",
      "https://app.example.com\\@evil.example.net/?c={{.Code}}",
      "LINK-template-invalid-character",
    ],
    ["a line break", "https://app.example.com/\n?c={{.Code}}", "LINK-template-invalid-character"],
    [
      "an invisible character",
      "https://app.example.com/\u200b?c={{.Code}}",
      "LINK-template-invalid-character",
    ],
    [
      "angle brackets",
      "https://app.example.com/<b>?c={{.Code}}",
      "LINK-template-invalid-character",
    ],
  ])("rejects a urlTemplate with %s", async (_name, urlTemplate, id) => {
    const henry = await addHuman(t, org);
    const result = await t.gql(CREATE, { input: { userId: henry, sendLink: { urlTemplate } } });
    expectError(result, "INVALID_ARGUMENT", id);
    const codes = (await t.ok(LIST, { userId: henry })).passkeyRegistrationCodes;
    expect(codes).toEqual([]);
  });

  it("accepts a template of exactly 200 characters", async () => {
    const ivy = await addHuman(t, org);
    const prefix = "https://app.example.com/";
    const suffix = "?c={{.Code}}";
    const urlTemplate = `${prefix}${"a".repeat(200 - prefix.length - suffix.length)}${suffix}`;
    expect(urlTemplate).toHaveLength(200);
    await t.ok(CREATE, { input: { userId: ivy, sendLink: { urlTemplate } } });
  });
});

describe("mail language", () => {
  it.each([
    ["de", /Passkey/, /Guten Tag/],
    ["de-CH", /Passkey/, /Guten Tag/],
    ["fr", /passkey/, /Hello/],
    [null, /passkey/, /Hello/],
  ])("a user preferring %s gets the matching mail", async (language, subject, greeting) => {
    const userId = await addHuman(t, org, {
      preferredLanguage: language,
      givenName: "Jo",
      familyName: "Doe",
    });
    await t.ok(SEND, { input: { userId } });
    const [mail] = await waitForMailTo(await emailOf(userId));
    expect(mail!.subject).toMatch(subject);
    expect(mail!.text).toMatch(greeting);
    expect(mail!.text).toContain("Jo Doe");
    expect(mail!.html).toContain("Jo Doe");
  });
});

describe("rate limit", () => {
  it("allows 5 sends to one user an hour, then RESOURCE_EXHAUSTED with the retry time", async () => {
    const kim = await addHuman(t, org);
    for (let i = 0; i < 5; i++) await t.ok(SEND, { input: { userId: kim } });
    const error = expectError(
      await t.gql(SEND, { input: { userId: kim } }),
      "RESOURCE_EXHAUSTED",
      "LINK-send-rate-limited",
    );
    expect(error.extensions.grpcCode).toBe(8);
    const retry = error.extensions.details[0].retryAfterSeconds;
    expect(retry).toBeGreaterThan(3500);
    expect(retry).toBeLessThanOrEqual(3600);
    expect(error.extensions.details[0].retryDelay).toBe(`${retry}s`);
    expectError(await t.gql(CREATE, { input: { userId: kim } }), "RESOURCE_EXHAUSTED");
    // Returning a code is not sending: still allowed.
    await t.ok(CREATE, { input: { userId: kim, returnCode: true } });
    await t.ok(ADD, { input: { userId: kim } });
    // The window slides: an hour later the user can receive mail again.
    t.clock.advance(3601 * 1000);
    try {
      await t.ok(SEND, { input: { userId: kim } });
    } finally {
      t.clock.advance(-3601 * 1000);
    }
  });
});

describe("codes", () => {
  it("are 12 characters, distinct, and use the whole alphabet over 200 draws", async () => {
    const lee = await addHuman(t, org);
    const codes: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          t.ok(CREATE, { input: { userId: lee, returnCode: true } }),
        ),
      );
      for (const data of results) codes.push(data.createPasskeyRegistrationLink.code.code);
    }
    expect(new Set(codes).size).toBe(200);
    for (const code of codes) expect(code).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(new Set(codes.join("")).size).toBe(62);
  });

  it("grow the user's sequence with every manipulation", async () => {
    const mia = await actor(t, org);
    const sequences = [
      (await t.ok(ADD, {}, { token: mia.token })).addPasskeyLink.details.sequence,
      (await t.ok(SEND, {}, { token: mia.token })).sendPasskeyLink.details.sequence,
      (
        await t.ok(
          CREATE,
          { input: { userId: mia.userId, returnCode: true } },
          { token: mia.token },
        )
      ).createPasskeyRegistrationLink.details.sequence,
      (await t.ok(ADD, {}, { token: mia.token })).addPasskeyLink.details.sequence,
    ].map(Number);
    for (let i = 1; i < sequences.length; i++)
      expect(sequences[i]).toBeGreaterThan(sequences[i - 1]!);
  });
});

describe("link base", () => {
  it("never comes from Host, Forwarded or X-Forwarded-* headers", async () => {
    const nina = await actor(t, org);
    const body = JSON.stringify({ query: `mutation { addPasskeyLink { link } }` });
    const response = await new Promise<string>((resolve, reject) => {
      const url = new URL(t.url);
      const request = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: "/graphql",
          method: "POST",
          headers: {
            host: "evil.example.net",
            forwarded: "for=1.2.3.4;host=evil.example.net;proto=https",
            "x-forwarded-host": "evil.example.net",
            "x-forwarded-proto": "https",
            origin: "https://evil.example.net",
            "content-type": "application/json",
            authorization: `Bearer ${nina.token}`,
          },
        },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => resolve(text));
        },
      );
      request.on("error", reject);
      request.end(body);
    });
    const link = JSON.parse(response).data.addPasskeyLink.link as string;
    expect(new URL(link).origin).toBe(EXTERNAL);
    expect(link).not.toContain("evil");
  });
});

describe("listing and revoking", () => {
  it("lists codes newest first with medium, state and delivery, never the code", async () => {
    const olga = await actor(t, org);
    const added = (await t.ok(ADD, {}, { token: olga.token })).addPasskeyLink.link;
    await t.ok(SEND, {}, { token: olga.token });
    const returned = (
      await t.ok(
        CREATE,
        { input: { userId: olga.userId, returnCode: true } },
        { token: olga.token },
      )
    ).createPasskeyRegistrationLink.code;
    await waitForMailTo(await emailOf(olga.userId));
    // The outcome is recorded right after the batch's sends complete.
    const result = await eventually("the delivery to be recorded", async () => {
      const listed = await t.gql(LIST, { userId: olga.userId }, { token: olga.token });
      return listed.data.passkeyRegistrationCodes[1]?.delivery?.state === "SENT"
        ? listed
        : undefined;
    });
    const codes = result.data.passkeyRegistrationCodes;
    expect(codes.map((code: { medium: string }) => code.medium)).toEqual([
      "RETURNED",
      "EMAIL",
      "LINK",
    ]);
    expect(codes[0]).toMatchObject({
      id: returned.id,
      userId: olga.userId,
      state: "ACTIVE",
      delivery: null,
    });
    expect(codes[1].delivery).toMatchObject({ state: "SENT", attempts: 1, lastError: null });
    expect(codes[1].delivery.sentAt).toMatch(ISO);
    expect(codes[2].id).toBe(parseLink(added).codeID);
    const text = JSON.stringify(result.body);
    expect(text).not.toContain(returned.code);
    expect(text).not.toContain(parseLink(added).code!);
  });

  it("needs user.passkey.write in the user's organization to list or revoke someone else's codes", async () => {
    const pat = await addHuman(t, org);
    const { code } = (await t.ok(CREATE, { input: { userId: pat, returnCode: true } }))
      .createPasskeyRegistrationLink;
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const foreignOwner = await actor(t, otherOrg, ["ORG_OWNER"]);
    for (const token of [manager.token, foreignOwner.token]) {
      expectError(await t.gql(LIST, { userId: pat }, { token }), "PERMISSION_DENIED");
      expectError(
        await t.gql(
          `mutation($input: RevokePasskeyRegistrationCodeInput!) { revokePasskeyRegistrationCode(input: $input) { details { sequence } } }`,
          { input: { userId: pat, codeId: code.id } },
          { token },
        ),
        "PERMISSION_DENIED",
      );
    }
    const owner = await actor(t, org, ["ORG_OWNER"]);
    expect(
      (await t.ok(LIST, { userId: pat }, { token: owner.token })).passkeyRegistrationCodes,
    ).toHaveLength(1);
  });

  it("revokes an active code, which then cannot be used or revoked again", async () => {
    const quinn = await actor(t, org);
    const REVOKE = `mutation($input: RevokePasskeyRegistrationCodeInput!) { revokePasskeyRegistrationCode(input: $input) { ${DETAILS} } }`;
    const first = (await t.ok(CREATE, { input: { userId: quinn.userId, returnCode: true } }))
      .createPasskeyRegistrationLink;
    const second = (await t.ok(CREATE, { input: { userId: quinn.userId, returnCode: true } }))
      .createPasskeyRegistrationLink;
    const revoked = await t.ok(
      REVOKE,
      { input: { userId: quinn.userId, codeId: first.code.id } },
      { token: quinn.token },
    );
    expect(Number(revoked.revokePasskeyRegistrationCode.details.sequence)).toBeGreaterThan(
      Number(second.details.sequence),
    );
    expectError(
      await t.gql(REVOKE, { input: { userId: quinn.userId, codeId: first.code.id } }),
      "FAILED_PRECONDITION",
      "CODE-revoked",
    );
    expectError(
      await t.gql(REVOKE, {
        input: { userId: quinn.userId, codeId: "00000000-0000-7000-8000-000000000000" },
      }),
      "NOT_FOUND",
      "CODE-not-found",
    );
    const other = await addHuman(t, org);
    expectError(
      await t.gql(REVOKE, { input: { userId: other, codeId: second.code.id } }),
      "NOT_FOUND",
    );
    const states = (await t.ok(LIST, { userId: quinn.userId })).passkeyRegistrationCodes.map(
      (code: { id: string; state: string }) => [code.id, code.state],
    );
    expect(states).toEqual([
      [second.code.id, "ACTIVE"],
      [first.code.id, "REVOKED"],
    ]);
    expectError(
      await registerPasskey(t, quinn.userId, first.code),
      "FAILED_PRECONDITION",
      "CODE-revoked",
    );
    expect((await registerPasskey(t, quinn.userId, second.code)).errors).toBeUndefined();
  });

  it("shows a code past its lifetime as EXPIRED", async () => {
    const rae = await addHuman(t, org);
    await t.ok(CREATE, { input: { userId: rae, returnCode: true } });
    t.clock.advance(3600 * 1000);
    try {
      const [info] = (await t.ok(LIST, { userId: rae })).passkeyRegistrationCodes;
      expect(info.state).toBe("EXPIRED");
    } finally {
      t.clock.advance(-3600 * 1000);
    }
  });
});

describe("secrets at rest and in logs", () => {
  it("no code, link or token appears in any table or log line", async () => {
    const sam = await actor(t, org);
    const secrets: string[] = [sam.token, t.adminToken];
    const link = (await t.ok(ADD, {}, { token: sam.token })).addPasskeyLink.link as string;
    secrets.push(parseLink(link).code!);
    const returned = (await t.ok(CREATE, { input: { userId: sam.userId, returnCode: true } }))
      .createPasskeyRegistrationLink;
    secrets.push(returned.code.code);
    await t.ok(SEND, {}, { token: sam.token });
    const [mail] = await waitForMailTo(await emailOf(sam.userId));
    secrets.push(/code=([A-Za-z0-9]{12})/.exec(mail!.text)![1]!);
    await t.app.outboxWorker.drain();

    const tables = [
      "organizations",
      "users",
      "memberships",
      "personal_access_tokens",
      "events",
      "instance",
      "passkey_codes",
      "mail_outbox",
    ];
    let dump = "";
    for (const table of tables) {
      dump += JSON.stringify(
        await t.app.services.db.read((db) => db.query(`SELECT * FROM ${table}`)),
      );
    }
    const logs = t.logs.join("");
    for (const secret of secrets) {
      expect(dump).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    expect(dump).not.toContain("code=");
  });
});
