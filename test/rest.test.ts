// ZITADEL's REST routes (SPEC section 15) over HTTP: the documented curl call, each route's success
// and failures with ZITADEL's status and error body, snake_case input, /openapi.json, and the same
// events from both API layers.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { actor, addHuman, addMachine, addOrg, tokenFor } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";
import { linkInText, mailsTo } from "./helpers/passkey-mail";
import { expectRestError, post } from "./helpers/rest-client";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually } from "./helpers/wait";

const EXTERNAL = "https://id.example.com";
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MISSING = "00000000-0000-7000-8000-000000000000";

const ME_LINK = "/auth/v1/users/me/passwordless/_link";
const ME_SEND = "/auth/v1/users/me/passwordless/_send_link";
const mgmtLink = (userId: string) => `/management/v1/users/${userId}/passwordless/_link`;
const mgmtSend = (userId: string) => `/management/v1/users/${userId}/passwordless/_send_link`;
const v2Link = (userId: string) => `/v2/users/${userId}/passkeys/registration_link`;

let t: TestApp;
let sink: SmtpSink;
let org: string;

beforeAll(async () => {
  sink = await SmtpSink.start();
  t = await startTestApp({
    SMTP_URL: sink.url,
    OUTBOX_POLL_MS: "50",
    EXTERNAL_URL: EXTERNAL,
    LINK_ALLOWED_ORIGINS: "https://app.example.com",
    SEND_RATE_LIMIT: "2",
    BODY_LIMIT_BYTES: "2048",
  });
  org = await addOrg(t);
});
afterAll(async () => {
  await t.close();
  await sink.stop();
});

async function emailOf(userId: string): Promise<string> {
  return (await t.ok(`query($id: ID!) { user(id: $id) { email } }`, { id: userId })).user.email;
}

function waitForMailTo(address: string) {
  return eventually(`a mail for ${address}`, () => mailsTo(sink.mails, address)[0]);
}

function expectV1Details(details: any) {
  expect(details).toEqual({
    sequence: expect.stringMatching(/^[1-9][0-9]*$/),
    creationDate: expect.stringMatching(ISO),
    changeDate: details.creationDate,
    resourceOwner: org,
  });
}

describe("ZITADEL's documented curl call", () => {
  it("answers with details, link and expiration 3600s when run with curl as written", async () => {
    const alice = await actor(t, org);
    const command =
      `curl -L '${t.url}${ME_LINK}' ` +
      `-H 'Content-Type: application/json' -H 'Accept: application/json' ` +
      `-H 'Authorization: Bearer ${alice.token}' -d '{}'`;
    const { stdout } = await promisify(execFile)("sh", ["-c", command]);
    const body = JSON.parse(stdout);
    expectV1Details(body.details);
    expect(body.expiration).toBe("3600s");
    const link = new URL(body.link);
    expect(link.origin + link.pathname).toBe(`${EXTERNAL}/ui/login/login/passwordless/init`);
    expect(link.searchParams.get("userID")).toBe(alice.userId);
    expect(link.searchParams.get("code")).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(Object.keys(body).sort()).toEqual(["details", "expiration", "link"]);
  });
});

describe("auth v1: the caller's own links", () => {
  it("_send_link emails the caller and answers {details}", async () => {
    const alice = await actor(t, org);
    const response = await post(t, ME_SEND, {}, { token: alice.token });
    expect(response.status).toBe(200);
    expect(Object.keys(response.body)).toEqual(["details"]);
    expectV1Details(response.body.details);
    const mail = await waitForMailTo(await emailOf(alice.userId));
    expect(linkInText(mail.text).link).toContain(`userID=${alice.userId}`);
  });

  it("answers 401 with ZITADEL's body without a token", async () => {
    const response = await post(t, ME_LINK, {}, { token: null });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      code: 16,
      message: "authentication required (AUTH-required)",
      details: [
        {
          "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
          id: "AUTH-required",
          message: "authentication required",
        },
      ],
    });
  });

  it.each([
    [
      "an unknown token",
      "Bearer plk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "AUTH-token-invalid",
    ],
    ["a non-bearer scheme", "Basic dXNlcjpwYXNz", "AUTH-header-malformed"],
  ])("answers 401 for %s", async (_name, authorization, id) => {
    const response = await post(t, ME_SEND, {}, { token: null, headers: { authorization } });
    expectRestError(response, 401, 16, id);
  });

  it("answers 401 for an expired token, as /graphql does", async () => {
    const { userId } = await actor(t, org);
    const expires = new Date(t.clock.now().getTime() + 60 * 60 * 1000).toISOString();
    const token = await tokenFor(t, userId, expires);
    t.clock.advance(2 * 60 * 60 * 1000);
    try {
      expectRestError(await post(t, ME_LINK, {}, { token }), 401, 16, "AUTH-token-expired");
    } finally {
      t.clock.advance(-2 * 60 * 60 * 1000);
    }
  });

  it("reads x-zitadel-orgid: unknown is 404, known is accepted", async () => {
    const alice = await actor(t, org);
    const unknown = await post(t, ME_LINK, {}, { token: alice.token, orgId: MISSING });
    expectRestError(unknown, 404, 5, "ORG-not-found");
    expect((await post(t, ME_LINK, {}, { token: alice.token, orgId: org })).status).toBe(200);
  });

  it("never writes the token or the link to the log", async () => {
    const alice = await actor(t, org);
    const { body } = await post(t, ME_LINK, {}, { token: alice.token });
    const logs = t.logs.join("");
    expect(logs).toContain(ME_LINK);
    expect(logs).not.toContain(alice.token);
    expect(logs).not.toContain(new URL(body.link).searchParams.get("code"));
  });
});

describe("authentication comes first (SPEC 5), whatever the request holds", () => {
  const bogus = { token: null, headers: { authorization: "Bearer plk_bogus" } };

  it.each([
    ["a body of the wrong shape", v2Link(MISSING), { raw: JSON.stringify({ sendLink: 5 }) }],
    ["a body that is not JSON", ME_SEND, { raw: "{not json" }],
  ])("answers 401 for a bad token with %s", async (_name, path, request) => {
    const response = await post(t, path, undefined, { ...bogus, ...request });
    expectRestError(response, 401, 16, "AUTH-token-invalid");
  });

  it("answers 404 for an unknown x-zitadel-orgid before it validates the body", async () => {
    const alice = await actor(t, org);
    const response = await post(
      t,
      v2Link(alice.userId),
      { sendLink: 5 },
      { token: alice.token, orgId: MISSING },
    );
    expectRestError(response, 404, 5, "ORG-not-found");
  });

  it("still validates the body of an authenticated request", async () => {
    const alice = await actor(t, org);
    const response = await post(t, v2Link(alice.userId), { sendLink: 5 }, { token: alice.token });
    expectRestError(response, 400, 3, "REST-invalid-request");
  });
});

describe("management v1: links for a user", () => {
  it("_link for another user needs user.credential.write in the user's organization", async () => {
    const bob = await addHuman(t, org);
    const owner = await actor(t, org, ["ORG_OWNER"]);
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const ok = await post(t, mgmtLink(bob), {}, { token: owner.token });
    expect(ok.status).toBe(200);
    expectV1Details(ok.body.details);
    expect(new URL(ok.body.link).searchParams.get("userID")).toBe(bob);
    expectRestError(
      await post(t, mgmtLink(bob), {}, { token: manager.token }),
      403,
      7,
      "AUTHZ-denied",
    );
  });

  it("answers 404 for a missing user and 400 (FAILED_PRECONDITION) for a machine user", async () => {
    expectRestError(await post(t, mgmtLink(MISSING)), 404, 5, "USER-not-found");
    expectRestError(await post(t, mgmtSend(MISSING)), 404, 5, "USER-not-found");
    const machine = await addMachine(t, org);
    expectRestError(await post(t, mgmtLink(machine)), 400, 9, "LINK-user-machine");
  });

  it("_send_link emails the user, then answers 429 with the retry time past the rate limit", async () => {
    const carol = await addHuman(t, org);
    const first = await post(t, mgmtSend(carol));
    expect(first.status).toBe(200);
    expectV1Details(first.body.details);
    await waitForMailTo(await emailOf(carol));
    expect((await post(t, mgmtSend(carol))).status).toBe(200);
    const limited = await post(t, mgmtSend(carol));
    const detail = expectRestError(limited, 429, 8, "LINK-send-rate-limited");
    expect(detail.retryDelay).toMatch(/^\d+s$/);
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("_send_link to a user without an email address is 400 (FAILED_PRECONDITION)", async () => {
    const dave = await addHuman(t, org, { email: null });
    expectRestError(await post(t, mgmtSend(dave)), 400, 9, "LINK-user-no-email");
  });
});

describe("user v2: registration_link", () => {
  it("returnCode returns the code with v2 details (no creationDate)", async () => {
    const erin = await addHuman(t, org);
    const response = await post(t, v2Link(erin), { returnCode: {} });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      details: {
        sequence: expect.stringMatching(/^\d+$/),
        changeDate: expect.stringMatching(ISO),
        resourceOwner: org,
      },
      code: {
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        code: expect.stringMatching(/^[A-Za-z0-9]{12}$/),
      },
    });
  });

  it("{} emails the default link and returns no code", async () => {
    const erin = await addHuman(t, org);
    const response = await post(t, v2Link(erin), {});
    expect(response.status).toBe(200);
    expect(response.body.code).toBeUndefined();
    const mail = await waitForMailTo(await emailOf(erin));
    expect(linkInText(mail.text).link).toContain(
      `${EXTERNAL}/ui/login/login/passwordless/init?userID=${erin}`,
    );
  });

  it("accepts snake_case field names, as ZITADEL's gateway does", async () => {
    const frank = await addHuman(t, org);
    const urlTemplate = "https://app.example.com/r?u={{.UserID}}&c={{.Code}}";
    const sent = await post(t, v2Link(frank), { send_link: { url_template: urlTemplate } });
    expect(sent.status).toBe(200);
    const mail = await waitForMailTo(await emailOf(frank));
    expect(mail.text).toMatch(
      new RegExp(`https://app\\.example\\.com/r\\?u=${frank}&c=[A-Za-z0-9]{12}`),
    );
    const returned = await post(t, v2Link(frank), { return_code: {} });
    expect(returned.body.code.code).toMatch(/^[A-Za-z0-9]{12}$/);
  });

  it.each([
    ["both media", { sendLink: {}, returnCode: {} }, "LINK-medium-both"],
    [
      "a template on a foreign origin",
      { sendLink: { urlTemplate: "https://evil.example.net/r?c={{.Code}}" } },
      "LINK-template-origin-not-allowed",
    ],
    ["an empty template", { sendLink: { urlTemplate: "" } }, "LINK-template-empty"],
    [
      "a field given in both spellings",
      { returnCode: {}, return_code: {} },
      "REST-duplicate-field",
    ],
    ["a medium of the wrong type", { returnCode: "yes" }, "REST-invalid-request"],
  ])("answers 400 (INVALID_ARGUMENT) for %s", async (_name, body, id) => {
    const gus = await addHuman(t, org);
    expectRestError(await post(t, v2Link(gus), body), 400, 3, id);
  });

  it("needs user.passkey.write for another user (403) and finds no missing user (404)", async () => {
    const gus = await addHuman(t, org);
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const denied = await post(t, v2Link(gus), { returnCode: {} }, { token: manager.token });
    expectRestError(denied, 403, 7, "AUTHZ-denied");
    expectRestError(await post(t, v2Link(MISSING), { returnCode: {} }), 404, 5, "USER-not-found");
  });
});

describe("requests that cannot be decoded get ZITADEL's error body too", () => {
  it.each([
    ["invalid JSON", { raw: "{not json" }, 400, "REST-invalid-json"],
    [
      "a body over the limit",
      { raw: JSON.stringify({ pad: "x".repeat(4096) }) },
      400,
      "REST-body-too-large",
    ],
    [
      "text that is not JSON",
      { raw: "hello", headers: { "content-type": "text/plain" } },
      400,
      "REST-invalid-json",
    ],
    ["a JSON array", { raw: "[]" }, 400, "REST-invalid-request"],
  ])("%s", async (_name, options, status, id) => {
    expectRestError(await post(t, ME_LINK, undefined, options), status, 3, id);
  });

  it("reads a body as JSON whatever its content type, as ZITADEL's gateway does (curl -d without -H)", async () => {
    const alice = await actor(t, org);
    for (const type of ["application/x-www-form-urlencoded", "text/plain"]) {
      const response = await post(t, ME_LINK, undefined, {
        token: alice.token,
        raw: "{}",
        headers: { "content-type": type },
      });
      expect(response.status).toBe(200);
      expect(response.body.expiration).toBe("3600s");
    }
  });

  it("reads an empty body as {}, as ZITADEL's gateway does", async () => {
    const alice = await actor(t, org);
    expect((await post(t, ME_LINK, undefined, { token: alice.token, raw: "" })).status).toBe(200);
    const response = await fetch(`${t.url}${ME_LINK}`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(response.status).toBe(200);
  });
});

describe("/openapi.json", () => {
  it("describes the REST routes, generated from their schemas", async () => {
    const response = await fetch(`${t.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as any;
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths).sort()).toEqual([
      "/auth/v1/users/me/passwordless/_link",
      "/auth/v1/users/me/passwordless/_send_link",
      "/management/v1/users/{userId}/passwordless/_link",
      "/management/v1/users/{userId}/passwordless/_send_link",
      "/v2/sessions",
      "/v2/sessions/search",
      "/v2/sessions/{sessionId}",
      "/v2/users/{userId}/passkeys",
      "/v2/users/{userId}/passkeys/registration_link",
      "/v2/users/{userId}/passkeys/{passkeyId}",
    ]);
    const create = document.paths["/v2/users/{userId}/passkeys/registration_link"].post;
    expect(create.operationId).toBe("CreatePasskeyRegistrationLink");
    expect(Object.keys(create.requestBody.content["application/json"].schema.properties)).toEqual([
      "sendLink",
      "returnCode",
    ]);
    expect(
      create.responses["200"].content["application/json"].schema.properties.details,
    ).toBeDefined();
    expect(
      create.responses.default.content["application/json"].schema.properties.code,
    ).toBeDefined();
    expect(document.components.securitySchemes.bearerAuth.scheme).toBe("bearer");
  });
});

describe("both API layers", () => {
  interface EventRow {
    sequence: number | string;
    type: string;
    payload: string;
    creator: string;
    owner: string;
  }
  async function eventsOf(userId: string) {
    const rows = await t.app.services.db.read((db) =>
      db.query<EventRow[]>(
        "SELECT sequence, event_type AS type, payload, creator, resource_owner AS owner FROM events WHERE aggregate_id = ? ORDER BY sequence",
        [userId],
      ),
    );
    return rows.map((row) => ({
      ...row,
      sequence: Number(row.sequence),
      payload: withoutIds(JSON.parse(row.payload) as Record<string, unknown>),
    }));
  }

  /** IDs minted per write (codeId, messageId) differ between any two writes. */
  const withoutIds = (payload: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(payload).map(([key, value]) => [key, key.endsWith("Id") ? "<id>" : value]),
    );

  const template = "https://app.example.com/p?c={{.Code}}";
  it.each([
    [
      "add a link",
      `mutation($id: ID!) { addPasskeyLink(input: {userId: $id}) { details { sequence } } }`,
      (id: string) => post(t, mgmtLink(id)),
    ],
    [
      "send a link",
      `mutation($id: ID!) { sendPasskeyLink(input: {userId: $id}) { details { sequence } } }`,
      (id: string) => post(t, mgmtSend(id)),
    ],
    [
      "return a code",
      `mutation($id: ID!) { createPasskeyRegistrationLink(input: {userId: $id, returnCode: true}) { details { sequence } } }`,
      (id: string) => post(t, v2Link(id), { returnCode: {} }),
    ],
    [
      "send a templated link",
      `mutation($id: ID!) { createPasskeyRegistrationLink(input: {userId: $id, sendLink: {urlTemplate: "${template}"}}) { details { sequence } } }`,
      (id: string) => post(t, v2Link(id), { sendLink: { urlTemplate: template } }),
    ],
  ])("write the same events and sequences to %s", async (_name, mutation, rest) => {
    const viaGraphql = await addHuman(t, org);
    const viaRest = await addHuman(t, org);
    const before = (await eventsOf(viaGraphql)).length;
    const data = await t.ok(mutation, { id: viaGraphql });
    const response = await rest(viaRest);
    expect(response.status).toBe(200);
    const graphqlSequence = (Object.values(data)[0] as any).details.sequence;
    expect(response.body.details.sequence).toBe(graphqlSequence);
    // Emailed codes gain a "sent" event once the outbox delivers them: compare after both have.
    const [graphqlEvents, restEvents] = await eventually(
      "both layers' events settled",
      async () => {
        const both = [await eventsOf(viaGraphql), await eventsOf(viaRest)];
        return both.every(
          (events) =>
            events.some((event) => event.type.endsWith(".requested")) ===
            events.some((event) => event.type.endsWith(".sent")),
        )
          ? both
          : undefined;
      },
    );
    const written = graphqlEvents!.slice(before);
    expect(written.length).toBeGreaterThan(0);
    expect(restEvents!.slice(before)).toEqual(written);
  });
});
