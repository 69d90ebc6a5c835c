// ZITADEL session v2 over REST (SPEC 18 "REST", SPEC 15): both sign-in flows with a software
// authenticator over real HTTP, token rotation, GetSession's no-store, DeleteSession twice,
// ListSessions' queries and who may list, ZITADEL's error bodies (bad bodies, unknown routes and
// methods, rate limits, unknown credentials), and the token in GET's query string kept out of logs.
import { actor, addHuman, addOrg, tokenFor } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";
import type { RestOptions, RestResponse } from "./helpers/rest-client";
import { call, expectRestError, post } from "./helpers/rest-client";
import { enrol, signIn, softAuthenticator } from "./helpers/sessions";
import type { SoftAuthenticator } from "./helpers/soft-authenticator";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UV_REQUIRED = "USER_VERIFICATION_REQUIREMENT_REQUIRED";
const CHALLENGE = { webAuthN: { domain: "localhost", userVerificationRequirement: UV_REQUIRED } };
const MISSING = "00000000-0000-7000-8000-000000000000";

/** Every request comes from 127.0.0.1: the per-address budgets are tested on their own app. */
const SIGNIN_ENV = {
  NODE_ENV: "production",
  EXTERNAL_URL: "http://localhost:4000",
  SIGNIN_RATE_LIMIT: "100000",
  SIGNIN_FAILURE_LIMIT: "100000",
};

let t: TestApp;
let org: string;

beforeAll(async () => {
  t = await startTestApp(SIGNIN_ENV);
  org = await addOrg(t);
});
afterAll(() => t.close());

const anonymous: RestOptions = { token: null };
const createSession = (body: unknown, options: RestOptions = anonymous) =>
  post(t, "/v2/sessions", body, options);
const setSession = (sessionId: string, body: unknown, options: RestOptions = anonymous) =>
  call(t, "PATCH", `/v2/sessions/${sessionId}`, body, options);
const getSession = (sessionId: string, sessionToken?: string, options: RestOptions = anonymous) =>
  call(
    t,
    "GET",
    `/v2/sessions/${sessionId}${sessionToken === undefined ? "" : `?sessionToken=${encodeURIComponent(sessionToken)}`}`,
    undefined,
    options,
  );
const deleteSession = (sessionId: string, body?: unknown, options: RestOptions = anonymous) =>
  call(t, "DELETE", `/v2/sessions/${sessionId}`, body, options);
const searchSessions = (body: unknown, options: RestOptions = {}) =>
  post(t, "/v2/sessions/search", body, options);

/** A human with one passkey on a fresh software authenticator. */
async function userWithPasskey(organizationId = org) {
  const userId = await addHuman(t, organizationId);
  const authenticator = softAuthenticator(t);
  const passkeyId = await enrol(t, userId, authenticator);
  return { userId, authenticator, passkeyId };
}

const optionsOf = (created: RestResponse) =>
  created.body.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey;

/** A discoverable sign-in entirely over REST; returns the session and its rotated token. */
async function restSignIn(authenticator: SoftAuthenticator, lifetime?: string) {
  const created = await createSession({ challenges: CHALLENGE, ...(lifetime ? { lifetime } : {}) });
  expect(created.status).toBe(201);
  const checked = await setSession(created.body.sessionId, {
    sessionToken: created.body.sessionToken,
    checks: { webAuthN: { credentialAssertionData: authenticator.get(optionsOf(created)) } },
  });
  expect(checked.status).toBe(200);
  return { sessionId: created.body.sessionId as string, sessionToken: checked.body.sessionToken };
}

describe("signing in over REST", () => {
  it("discoverable: 201 on create with an empty allow-list, the assertion binds the user, the old token stops working", async () => {
    const { userId, authenticator, passkeyId } = await userWithPasskey();
    const created = await createSession({
      challenges: CHALLENGE,
      metadata: { key: "dmFsdWU=" },
      userAgent: { fingerprintId: "fp", description: "curl" },
    });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual([
      "challenges",
      "details",
      "sessionId",
      "sessionToken",
    ]);
    // Anonymous and without x-zitadel-orgid: the instance's default organization owns it.
    expect(created.body.details).toEqual({
      sequence: expect.stringMatching(/^\d+$/),
      changeDate: expect.stringMatching(ISO),
      resourceOwner: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(created.body.sessionToken).toMatch(/^pls_/);
    const options = optionsOf(created);
    expect(options).toMatchObject({ rpId: "localhost", userVerification: "required" });
    expect(options.allowCredentials ?? []).toEqual([]);

    const checked = await setSession(created.body.sessionId, {
      sessionToken: created.body.sessionToken,
      checks: { webAuthN: { credentialAssertionData: authenticator.get(options) } },
    });
    expect(checked.status).toBe(200);
    expect(checked.body.sessionToken).toMatch(/^pls_/);
    expect(checked.body.sessionToken).not.toBe(created.body.sessionToken);
    expect(checked.body.details.sequence).toMatch(/^[1-9]\d*$/);
    expect(checked.body.challenges).toBeUndefined();
    expect(checked.body.signals).toEqual({
      rpId: "localhost",
      userId: Buffer.from(userId, "utf8").toString("base64url"),
      allAcceptedCredentialIds: [[...authenticator.credentials.keys()][0]],
      name: expect.any(String),
      displayName: expect.any(String),
    });

    // Rotation: the first token is refused, whatever it asks for.
    const stale = await setSession(created.body.sessionId, {
      sessionToken: created.body.sessionToken,
      challenges: CHALLENGE,
    });
    expectRestError(stale, 403, 7, "SESSION-token-invalid");
    expectRestError(
      await getSession(created.body.sessionId, created.body.sessionToken),
      403,
      7,
      "SESSION-token-invalid",
    );

    const read = await getSession(created.body.sessionId, checked.body.sessionToken);
    expect(read.status).toBe(200);
    expect(read.body.session).toEqual({
      id: created.body.sessionId,
      creationDate: expect.stringMatching(ISO),
      changeDate: expect.stringMatching(ISO),
      sequence: checked.body.details.sequence,
      factors: {
        user: {
          verifiedAt: expect.stringMatching(ISO),
          id: userId,
          loginName: expect.any(String),
          displayName: expect.any(String),
          organizationId: org,
        },
        webAuthN: { verifiedAt: expect.stringMatching(ISO), userVerified: true, passkeyId },
      },
      expirationDate: expect.stringMatching(ISO),
    });
  });

  it("username-first with snake_case fields: checks.user by login name, then the named user's passkey", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const { user } = await t.ok(`query($id: ID!) { user(id: $id) { username } }`, { id: userId });
    const created = await createSession(
      {
        checks: { user: { login_name: user.username } },
        challenges: { web_auth_n: { user_verification_requirement: UV_REQUIRED } },
        lifetime: "18000s",
        user_agent: { fingerprint_id: "fp" },
      },
      { token: null, orgId: org },
    );
    expect(created.status).toBe(201);
    const checked = await setSession(created.body.sessionId, {
      session_token: created.body.sessionToken,
      checks: {
        web_auth_n: { credential_assertion_data: authenticator.get(optionsOf(created)) },
      },
    });
    expect(checked.status).toBe(200);
    const { session } = (await getSession(created.body.sessionId, checked.body.sessionToken)).body;
    expect(session.factors.user).toMatchObject({ id: userId, loginName: user.username });
    // lifetime counts from the creation: 18000 s.
    expect(Date.parse(session.expirationDate) - Date.parse(session.creationDate)).toBe(18000_000);
  });

  it("username-first refuses another user's passkey (400 SESSION-webauthn-user-mismatch)", async () => {
    const named = await userWithPasskey();
    const other = await userWithPasskey();
    const created = await createSession({
      checks: { user: { userId: named.userId } },
      challenges: CHALLENGE,
    });
    const refused = await setSession(created.body.sessionId, {
      sessionToken: created.body.sessionToken,
      checks: {
        webAuthN: { credentialAssertionData: other.authenticator.get(optionsOf(created)) },
      },
    });
    expectRestError(refused, 400, 3, "SESSION-webauthn-user-mismatch");
  });

  it("an unknown credential is 404 with its signal in the details entry", async () => {
    const stranger = softAuthenticator(t);
    stranger.create({ challenge: "AAAA", rp: { id: "localhost" }, user: { id: "dXNlcg" } });
    const created = await createSession({ challenges: CHALLENGE });
    const refused = await setSession(created.body.sessionId, {
      sessionToken: created.body.sessionToken,
      checks: { webAuthN: { credentialAssertionData: stranger.get(optionsOf(created)) } },
    });
    const detail = expectRestError(refused, 404, 5, "SESSION-webauthn-unknown-credential");
    expect(detail.signal).toEqual({
      rpId: "localhost",
      credentialId: [...stranger.credentials.keys()][0],
    });
  });

  it("a PATCH without sessionToken is 403 SESSION-token-invalid (the token is required here)", async () => {
    const created = await createSession({ challenges: CHALLENGE });
    expectRestError(
      await setSession(created.body.sessionId, { challenges: CHALLENGE }),
      403,
      7,
      "SESSION-token-invalid",
    );
    expectRestError(
      await setSession(MISSING, { sessionToken: created.body.sessionToken }),
      404,
      5,
      "SESSION-not-found",
    );
  });
});

describe("GetSession and DeleteSession", () => {
  it("GET answers Cache-Control: no-store, on success and on failure", async () => {
    const { authenticator } = await userWithPasskey();
    const session = await restSignIn(authenticator);
    const read = await getSession(session.sessionId, session.sessionToken);
    expect(read.status).toBe(200);
    expect(read.headers.get("cache-control")).toBe("no-store");
    const refused = await getSession(session.sessionId, "pls_wrong");
    expectRestError(refused, 403, 7, "SESSION-token-invalid");
    expect(refused.headers.get("cache-control")).toBe("no-store");
    // Reads accept snake_case in the query too, and its own user's PAT instead of the token.
    const snake = await call(
      t,
      "GET",
      `/v2/sessions/${session.sessionId}?session_token=${session.sessionToken}`,
      undefined,
      anonymous,
    );
    expect(snake.status).toBe(200);
  });

  it("reads a session signed in over GraphQL: one service behind both layers", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const session = await signIn(t, authenticator);
    const read = await getSession(session.sessionId, session.sessionToken);
    expect(read.body.session.factors.user.id).toBe(userId);
  });

  it("DELETE twice is no error; the session then answers SESSION-terminated", async () => {
    const { authenticator } = await userWithPasskey();
    const session = await restSignIn(authenticator);
    const first = await deleteSession(session.sessionId, { sessionToken: session.sessionToken });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      details: {
        sequence: expect.stringMatching(/^\d+$/),
        changeDate: expect.stringMatching(ISO),
        resourceOwner: org,
      },
    });
    const second = await deleteSession(session.sessionId, { session_token: session.sessionToken });
    expect(second.status).toBe(200);
    expect(second.body.details.sequence).toBe(first.body.details.sequence);
    expectRestError(
      await getSession(session.sessionId, session.sessionToken),
      400,
      9,
      "SESSION-terminated",
    );
  });

  it("DELETE without a body: the session's own user (a PAT) may end it, a stranger may not", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const session = await restSignIn(authenticator);
    const stranger = await actor(t, org);
    expectRestError(
      await deleteSession(session.sessionId, undefined, { token: stranger.token }),
      403,
      7,
      "AUTHZ-denied",
    );
    expectRestError(await deleteSession(session.sessionId), 403, 7, "SESSION-token-invalid");
    const token = await tokenFor(t, userId);
    expect((await deleteSession(session.sessionId, undefined, { token })).status).toBe(200);
  });
});

describe("ListSessions (POST /v2/sessions/search)", () => {
  it("userIdQuery and idsQuery with totalResult; date queries; limit, offset and asc", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const older = await restSignIn(authenticator);
    const newer = await restSignIn(authenticator);
    await restSignIn((await userWithPasskey()).authenticator); // someone else's
    await createSession({ challenges: CHALLENGE }); // never verified: not listed

    const all = await searchSessions({ queries: [{ userIdQuery: { id: userId } }] });
    expect(all.status).toBe(200);
    expect(all.body.details).toEqual({
      totalResult: "2",
      processedSequence: expect.stringMatching(/^[1-9]\d*$/),
      timestamp: expect.stringMatching(ISO),
    });
    expect(all.body.sessions.map((s: any) => s.id)).toEqual([newer.sessionId, older.sessionId]);
    expect(all.body.sessions[0].factors.user.id).toBe(userId);

    const byId = await searchSessions({
      queries: [{ user_id_query: { id: userId } }, { ids_query: { ids: [older.sessionId] } }],
    });
    expect(byId.body.details.totalResult).toBe("1");
    expect(byId.body.sessions.map((s: any) => s.id)).toEqual([older.sessionId]);

    const paged = await searchSessions({
      query: { offset: "1", limit: 1, asc: true },
      queries: [{ userIdQuery: { id: userId } }],
    });
    expect(paged.body.details.totalResult).toBe("2");
    expect(paged.body.sessions.map((s: any) => s.id)).toEqual([newer.sessionId]);

    const { creationDate } = all.body.sessions[0];
    const dated = async (query: Record<string, unknown>) =>
      (
        await searchSessions({ queries: [{ userIdQuery: { id: userId } }, query] })
      ).body.sessions.map((s: any) => s.id);
    expect(await dated({ creationDateQuery: { creationDate } })).toEqual([newer.sessionId]);
    expect(
      await dated({
        creationDateQuery: { creationDate, method: "TIMESTAMP_QUERY_METHOD_LESS" },
      }),
    ).toEqual([older.sessionId]);
    const future = new Date(t.clock.now().getTime() + 3600_000).toISOString();
    expect(
      await dated({
        expirationDateQuery: {
          expirationDate: future,
          method: "TIMESTAMP_QUERY_METHOD_GREATER_OR_EQUALS",
        },
      }),
    ).toEqual([newer.sessionId, older.sessionId]);
    expect(
      await dated({
        expirationDateQuery: { expirationDate: future, method: "TIMESTAMP_QUERY_METHOD_LESS" },
      }),
    ).toEqual([]);
  });

  it("follows the sessions query's rules: own sessions without queries, never anonymous, session.read for others", async () => {
    const alice = await userWithPasskey();
    const session = await restSignIn(alice.authenticator);
    const bob = await userWithPasskey();
    const bobSession = await restSignIn(bob.authenticator);

    expectRestError(await searchSessions({}, anonymous), 401, 16, "AUTH-required");
    expectRestError(
      await searchSessions({ queries: [{ userIdQuery: { id: alice.userId } }] }, anonymous),
      401,
      16,
      "AUTH-required",
    );

    const own = await searchSessions({}, { token: session.sessionToken });
    expect(own.status).toBe(200);
    expect(own.body.sessions.map((s: any) => s.id)).toEqual([session.sessionId]);
    expectRestError(
      await searchSessions(
        { queries: [{ userIdQuery: { id: bob.userId } }] },
        { token: session.sessionToken },
      ),
      403,
      7,
      "SESSION-scope",
    );

    const stranger = await actor(t, org);
    expectRestError(
      await searchSessions(
        { queries: [{ userIdQuery: { id: bob.userId } }] },
        { token: stranger.token },
      ),
      403,
      7,
      "AUTHZ-denied",
    );
    const elsewhere = await actor(t, await addOrg(t), ["ORG_USER_MANAGER"]);
    expectRestError(
      await searchSessions(
        { queries: [{ userIdQuery: { id: bob.userId } }] },
        { token: elsewhere.token },
      ),
      403,
      7,
      "AUTHZ-denied",
    );
    const manager = await actor(t, org, ["ORG_USER_MANAGER"]);
    const managed = await searchSessions(
      { queries: [{ userIdQuery: { id: bob.userId } }] },
      { token: manager.token },
    );
    expect(managed.body.sessions.map((s: any) => s.id)).toEqual([bobSession.sessionId]);
    // idsQuery never reaches past the listed user: Bob's session is not Alice's.
    const crossed = await searchSessions(
      { queries: [{ idsQuery: { ids: [bobSession.sessionId] } }] },
      { token: session.sessionToken },
    );
    expect(crossed.body).toMatchObject({ details: { totalResult: "0" }, sessions: [] });
  });
});

describe("ZITADEL's error bodies", () => {
  const uv = (userVerificationRequirement: string) => ({
    challenges: { webAuthN: { userVerificationRequirement } },
  });

  it.each([
    [
      "another user verification",
      uv("USER_VERIFICATION_REQUIREMENT_PREFERRED"),
      "SESSION-uv-required",
    ],
    [
      "no user verification",
      { challenges: { webAuthN: { domain: "localhost" } } },
      "SESSION-uv-required",
    ],
    [
      "a foreign domain",
      { challenges: { webAuthN: { ...CHALLENGE.webAuthN, domain: "evil.example" } } },
      "SESSION-domain",
    ],
    ["a bad lifetime", { lifetime: "5 hours" }, "SESSION-lifetime"],
    ["an empty user check", { checks: { user: {} } }, "SESSION-check-user"],
    ["a challenge of the wrong type", { challenges: { webAuthN: "yes" } }, "REST-invalid-request"],
    [
      "a field in both spellings",
      { checks: {}, checks_: 1, web_auth_n: 1, lifetime: "60s", user_agent: {}, userAgent: {} },
      "REST-duplicate-field",
    ],
  ])("POST /v2/sessions with %s is 400", async (_name, body, id) => {
    expectRestError(await createSession(body), 400, 3, id);
  });

  it("a body that is not JSON is 400 REST-invalid-json", async () => {
    const response = await createSession(undefined, { token: null, raw: "{not json" });
    expectRestError(response, 400, 3, "REST-invalid-json");
  });

  it.each([
    ["a query it does not serve", { queries: [{ creatorQuery: { id: "x" } }] }],
    [
      "two queries in one entry",
      { queries: [{ idsQuery: { ids: [] }, userIdQuery: { id: "x" } }] },
    ],
    [
      "an unknown comparison",
      {
        queries: [
          { creationDateQuery: { creationDate: "2025-01-01T00:00:00Z", method: "BEFORE" } },
        ],
      },
    ],
    ["a date that is not one", { queries: [{ creationDateQuery: { creationDate: "yesterday" } }] }],
    ["two users", { queries: [{ userIdQuery: { id: "a" } }, { userIdQuery: { id: "b" } }] }],
    ["a negative limit", { query: { limit: -1 } }],
  ])("POST /v2/sessions/search with %s is 400 REST-invalid-request", async (_name, body) => {
    expectRestError(await searchSessions(body), 400, 3, "REST-invalid-request");
  });

  it.each([
    ["GET", "/v2/nothing"],
    ["POST", "/v2/sessions/x/y"],
    ["POST", "/auth/v1/users/me/nothing"],
    ["GET", "/management/v1/users"],
    ["DELETE", "/v2"],
  ])("an unknown route (%s %s) is 404 REST-not-found in ZITADEL's body", async (method, path) => {
    const response = await call(t, method, path, method === "GET" ? undefined : {});
    expect(response.body).toEqual({
      code: 5,
      message: `no route ${method} ${path} (REST-not-found)`,
      details: [
        {
          "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
          id: "REST-not-found",
          message: `no route ${method} ${path}`,
        },
      ],
    });
    expect(response.status).toBe(404);
  });

  it.each([
    ["PUT", "/v2/sessions/abc", "PATCH, GET, DELETE"],
    ["GET", "/v2/sessions", "POST"],
    ["GET", "/v2/sessions/search", null],
    ["PATCH", "/v2/users/u1/passkeys", "POST"],
  ])(
    "a known path with another method (%s %s) is 501 UNIMPLEMENTED, as ZITADEL's gateway answers",
    async (method, path, allow) => {
      const response = await call(t, method, path, method === "GET" ? undefined : {});
      if (allow === null) {
        // GET /v2/sessions/search is GetSession of a session named "search", as in ZITADEL.
        expectRestError(response, 404, 5, "SESSION-not-found");
        return;
      }
      expectRestError(response, 501, 12, "REST-method-not-allowed");
      expect(response.headers.get("allow")).toBe(allow);
    },
  );

  it("leaves other unknown paths to the GraphQL-shaped 404", async () => {
    const response = await call(t, "GET", "/v3/sessions");
    expect(response.status).toBe(404);
    expect(response.body.errors[0].extensions.details[0].id).toBe("HTTP-route-not-found");
  });
});

describe("rate limits and CORS", () => {
  const APP = "https://app.example.com";
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp({
      ...SIGNIN_ENV,
      SIGNIN_RATE_LIMIT: "2",
      CORS_ORIGINS: APP,
    });
  });
  afterAll(() => limited.close());

  it("SESSION-rate-limited is 429 with Retry-After, exposed to the browser app", async () => {
    const create = () =>
      post(limited, "/v2/sessions", {}, { token: null, headers: { origin: APP } });
    expect((await create()).status).toBe(201);
    expect((await create()).status).toBe(201);
    const refused = await create();
    const detail = expectRestError(refused, 429, 8, "SESSION-rate-limited");
    expect(detail.retryDelay).toMatch(/^\d+s$/);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get("access-control-allow-origin")).toBe(APP);
    expect(refused.headers.get("access-control-expose-headers")).toMatch(/retry-after/i);
  });

  it("lets a browser app PATCH and DELETE sessions (preflight)", async () => {
    for (const method of ["PATCH", "DELETE"]) {
      const response = await fetch(`${limited.url}/v2/sessions/abc`, {
        method: "OPTIONS",
        headers: {
          origin: APP,
          "access-control-request-method": method,
          "access-control-request-headers": "content-type",
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-methods")).toContain(method);
    }
  });
});

describe("logs and /openapi.json", () => {
  it("never logs the session token GET carries in its query string", async () => {
    const { authenticator } = await userWithPasskey();
    const session = await restSignIn(authenticator);
    const before = t.logs.length;
    expect((await getSession(session.sessionId, session.sessionToken)).status).toBe(200);
    // Also when the route is unknown or the read fails.
    await call(t, "GET", `/v2/nothing?sessionToken=${session.sessionToken}`);
    await getSession(MISSING, session.sessionToken);
    const logs = t.logs.slice(before).join("");
    expect(logs).toContain(`/v2/sessions/${session.sessionId}`);
    expect(logs).toContain("[unknown route]");
    expect(logs).not.toContain(session.sessionToken);
    expect(logs).not.toContain("sessionToken=");
    expect(t.logs.join("")).not.toContain(session.sessionToken);
  });

  it("documents the session routes with their real status codes", async () => {
    const document = (await (await fetch(`${t.url}/openapi.json`)).json()) as any;
    const item = document.paths["/v2/sessions/{sessionId}"];
    expect(Object.keys(item).sort()).toEqual(["delete", "get", "patch"]);
    expect(item.get.operationId).toBe("GetSession");
    expect(item.get.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: "query", name: "sessionToken" }),
        expect.objectContaining({ in: "path", name: "sessionId", required: true }),
      ]),
    );
    expect(item.patch.operationId).toBe("SetSession");
    expect(item.delete.operationId).toBe("DeleteSession");
    const create = document.paths["/v2/sessions"].post;
    expect(create.operationId).toBe("CreateSession");
    expect(Object.keys(create.responses).sort()).toEqual(["201", "default"]);
    const schema = create.responses["201"].content["application/json"].schema;
    expect(schema.required).toEqual(["details", "sessionId", "sessionToken"]);
    const search = document.paths["/v2/sessions/search"].post;
    expect(search.operationId).toBe("ListSessions");
    expect(
      Object.keys(search.responses["200"].content["application/json"].schema.properties),
    ).toEqual(["details", "sessions"]);
  });
});
