// Signing in with a stored passkey (SPEC 18) over HTTP, with a software authenticator that keeps
// its keys, so each attack can bend exactly one field: the flows, the token and what it may do,
// replay, binding, counters and clones, ending sessions, limits, events and logs.
import { createHash, generateKeyPairSync } from "node:crypto";
import { actor, addHuman, addOrg, grant, tokenFor } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import { LIST_PASSKEYS, REMOVE_PASSKEY } from "./helpers/passkeys";
import {
  CREATE_SESSION,
  DELETE_SESSION,
  GET_SESSION,
  LIST_SESSIONS,
  SET_SESSION,
  WEBAUTHN_CHALLENGE,
  checkSession,
  enrol,
  signIn,
  softAuthenticator,
  startSession,
} from "./helpers/sessions";
import { SmtpSink } from "./helpers/smtp-sink";
import { eventually, sleep } from "./helpers/wait";

let t: TestApp;
let org: string;
let sink: SmtpSink;

const ME = `{ me { id } }`;
const ADD_LINK = `mutation($input: AddPasskeyLinkInput) { addPasskeyLink(input: $input) { link } }`;
const ADD_PAT = `mutation($input: AddPersonalAccessTokenInput!) { addPersonalAccessToken(input: $input) { token } }`;
const USER = `query($id: ID!) { user(id: $id) { id } }`;
const LOCK = `mutation($input: UserIdInput!) { lockUser(input: $input) { details { sequence } } }`;

beforeAll(async () => {
  sink = await SmtpSink.start();
  // Every request comes from 127.0.0.1: the per-address budgets are tested on their own app.
  t = await startTestApp({
    NODE_ENV: "production",
    EXTERNAL_URL: "http://localhost:4000",
    SIGNIN_RATE_LIMIT: "100000",
    SIGNIN_FAILURE_LIMIT: "100000",
    SMTP_URL: sink.url,
    OUTBOX_POLL_MS: "50",
    OUTBOX_RETRY_BASE_MS: "100",
    OUTBOX_RETRY_MAX_MS: "200",
  });
  org = await addOrg(t);
});
afterAll(async () => {
  await t?.close();
  await sink?.stop();
});

/** A human with one passkey on a fresh software authenticator. */
async function userWithPasskey(organizationId = org) {
  const userId = await addHuman(t, organizationId);
  const authenticator = softAuthenticator(t);
  const passkeyId = await enrol(t, userId, authenticator);
  return { userId, authenticator, passkeyId };
}

async function rows<T>(sql: string, params: unknown[]): Promise<T[]> {
  return t.app.services.db.read((db) => db.query(sql, params));
}

const sessionView = async (sessionId: string, sessionToken: string) =>
  t.gql(GET_SESSION, { sessionId, sessionToken }, { token: null });

describe("discoverable sign-in", () => {
  it("anonymous createSession gives options with an empty allow-list; the assertion binds the user", async () => {
    const { userId, authenticator, passkeyId } = await userWithPasskey();
    const started = await startSession(t);
    expect(started.sessionToken).toMatch(/^pls_[A-Za-z0-9_-]{43}$/);
    expect(started.options).toMatchObject({ rpId: "localhost", userVerification: "required" });
    expect(started.options.allowCredentials ?? []).toEqual([]);
    expect(Buffer.from(started.options.challenge, "base64url").length).toBeGreaterThanOrEqual(32);
    const checked = await checkSession(t, started, authenticator.get(started.options));
    expect(checked.errors).toBeUndefined();
    const { sessionToken, signals } = checked.data.setSession;
    expect(sessionToken).not.toBe(started.sessionToken);
    expect(signals).toMatchObject({
      rpId: "localhost",
      userId: Buffer.from(userId).toString("base64url"),
      allAcceptedCredentialIds: [...authenticator.credentials.keys()],
    });
    const view = await sessionView(started.sessionId, sessionToken);
    expect(view.errors).toBeUndefined();
    expect(view.data.session.factors.user).toMatchObject({ id: userId, organizationId: org });
    expect(view.data.session.factors.webAuthN).toMatchObject({ userVerified: true, passkeyId });
    // The previous token stops working.
    expectError(
      await sessionView(started.sessionId, started.sessionToken),
      "PERMISSION_DENIED",
      "SESSION-token-invalid",
    );
    const passkeys = (await t.ok(LIST_PASSKEYS, { userId })).passkeys;
    expect(passkeys[0]).toBeDefined();
    const [stored] = await rows<{ last_used_at: unknown; sign_count: number | string }>(
      "SELECT last_used_at, sign_count FROM passkeys WHERE id = ?",
      [passkeyId],
    );
    expect(stored!.last_used_at).not.toBeNull();
    expect(Number(stored!.sign_count)).toBe(1);
  });

  it("writes no event before the first successful check, then ZITADEL's session events", async () => {
    const { authenticator } = await userWithPasskey();
    const started = await startSession(t);
    const none = await rows("SELECT event_type FROM events WHERE aggregate_id = ?", [
      started.sessionId,
    ]);
    expect(none).toEqual([]);
    const failed = await checkSession(
      t,
      started,
      authenticator.get(started.options, { challenge: "x".repeat(43) }),
    );
    expectError(failed, "INVALID_ARGUMENT", "SESSION-webauthn-invalid");
    expect(
      await rows("SELECT event_type FROM events WHERE aggregate_id = ?", [started.sessionId]),
    ).toEqual([]);
    const session = await signIn(t, authenticator);
    const types = (
      await rows<{ event_type: string }>(
        "SELECT event_type FROM events WHERE aggregate_id = ? ORDER BY sequence",
        [session.sessionId],
      )
    ).map((row) => row.event_type);
    expect(types).toEqual([
      "session.added",
      "session.user.checked",
      "session.webAuthN.challenged",
      "session.webAuthN.checked",
      "session.lifetime.set",
      "session.token.set",
    ]);
    const [lifetime] = await rows<{ payload: string }>(
      "SELECT payload FROM events WHERE aggregate_id = ? AND event_type = 'session.lifetime.set'",
      [session.sessionId],
    );
    expect(JSON.parse(lifetime!.payload)).toEqual({ lifetime: "86400s" });
  });

  it("records the lifetime createSession set with the first successful check", async () => {
    const { authenticator } = await userWithPasskey();
    const session = await signIn(t, authenticator, {}, { lifetime: "3600s" });
    const payloads = await rows<{ payload: string }>(
      "SELECT payload FROM events WHERE aggregate_id = ? AND event_type = 'session.lifetime.set'",
      [session.sessionId],
    );
    expect(payloads.map((row) => JSON.parse(row.payload))).toEqual([{ lifetime: "3600s" }]);
  });

  it("writes session.webAuthN.challenged for the challenge the first check answered, and for each later one", async () => {
    const { authenticator } = await userWithPasskey();
    const started = await startSession(t);
    // Before the first successful check: a replaced challenge and a failed check leave no event.
    const failed = await checkSession(
      t,
      started,
      authenticator.get(started.options, { origin: "https://evil.example" }),
    );
    expectError(failed, "INVALID_ARGUMENT", "SESSION-webauthn-invalid");
    const replaced = await t.gql(
      SET_SESSION,
      {
        input: {
          sessionId: started.sessionId,
          sessionToken: started.sessionToken,
          challenges: WEBAUTHN_CHALLENGE,
        },
      },
      { token: null },
    );
    expect(replaced.errors).toBeUndefined();
    let token = replaced.data.setSession.sessionToken;
    let options =
      replaced.data.setSession.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey;
    expect(
      await rows("SELECT event_type FROM events WHERE aggregate_id = ?", [started.sessionId]),
    ).toEqual([]);
    const challengeRow = async (challenge: string) =>
      (
        await rows<{ id: string }>(
          "SELECT id FROM session_challenges WHERE session_id = ? AND challenge_hash = ?",
          [started.sessionId, createHash("sha256").update(challenge).digest("hex")],
        )
      )[0]!;
    const answered = await challengeRow(options.challenge);
    // The first successful check also asks for the next challenge (a later re-authentication).
    const checked = await checkSession(
      t,
      { sessionId: started.sessionId, sessionToken: token },
      authenticator.get(options),
      { challenges: WEBAUTHN_CHALLENGE },
    );
    expect(checked.errors).toBeUndefined();
    token = checked.data.setSession.sessionToken;
    options =
      checked.data.setSession.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey;
    const next = await challengeRow(options.challenge);
    const again = await checkSession(
      t,
      { sessionId: started.sessionId, sessionToken: token },
      authenticator.get(options),
    );
    expect(again.errors).toBeUndefined();
    const events = await rows<{ event_type: string; payload: string | null }>(
      "SELECT event_type, payload FROM events WHERE aggregate_id = ? ORDER BY sequence",
      [started.sessionId],
    );
    expect(events.map((e) => e.event_type)).toEqual([
      "session.added",
      "session.user.checked",
      "session.webAuthN.challenged",
      "session.webAuthN.checked",
      "session.lifetime.set",
      "session.webAuthN.challenged",
      "session.token.set",
      "session.webAuthN.checked",
      "session.token.set",
    ]);
    const challenged = events
      .filter((e) => e.event_type === "session.webAuthN.challenged")
      .map((e) => JSON.parse(e.payload!));
    expect(challenged[0]).toMatchObject({
      challengeId: answered.id,
      rpId: "localhost",
      userVerification: "required",
    });
    expect(challenged[1]).toMatchObject({ challengeId: next.id });
    // Never the challenge itself.
    for (const payload of challenged) {
      expect(JSON.stringify(payload)).not.toContain(options.challenge);
      expect(Object.keys(payload).sort()).toEqual([
        "challengeId",
        "issuedAt",
        "rpId",
        "userVerification",
      ]);
    }
  });
});

describe("the session token as a bearer", () => {
  it("answers me and mints a link for itself, recording the passkey's authority", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const { sessionToken, sessionId } = await signIn(t, authenticator);
    expect((await t.ok(ME, {}, { token: sessionToken })).me.id).toBe(userId);
    const minted = await t.gql(ADD_LINK, {}, { token: sessionToken });
    expect(minted.errors).toBeUndefined();
    const codes = await rows<{ granted_by: string; session_id: string; state: string }>(
      "SELECT granted_by, session_id, state FROM passkey_codes WHERE user_id = ? ORDER BY created_at",
      [userId],
    );
    const [passkey] = await rows<{ granted_by: string }>(
      "SELECT granted_by FROM passkeys WHERE user_id = ?",
      [userId],
    );
    const last = codes[codes.length - 1]!;
    expect(last).toMatchObject({ session_id: sessionId, granted_by: passkey!.granted_by });
    // A second self-minted code from the same session revokes the first one it minted.
    await t.ok(ADD_LINK, {}, { token: sessionToken });
    const after = await rows<{ state: string }>(
      "SELECT state FROM passkey_codes WHERE session_id = ? ORDER BY created_at",
      [sessionId],
    );
    expect(after.map((row) => row.state)).toEqual(["REVOKED", "ACTIVE"]);
    // Signing out revokes the codes the session minted.
    await t.ok(DELETE_SESSION, { input: { sessionId, sessionToken } }, { token: null });
    const ended = await rows<{ state: string }>(
      "SELECT state FROM passkey_codes WHERE session_id = ?",
      [sessionId],
    );
    expect(ended.map((row) => row.state)).toEqual(["REVOKED", "REVOKED"]);
  });

  it("cannot read another user, mint a PAT or act for others: SESSION-scope before the target is read", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const other = await addHuman(t, org);
    const { sessionToken } = await signIn(t, authenticator);
    const as = { token: sessionToken };
    expectError(await t.gql(USER, { id: other }, as), "PERMISSION_DENIED", "SESSION-scope");
    // A user that does not exist answers the same: no existence oracle.
    const missing = "01900000-0000-7000-8000-000000000000";
    expectError(await t.gql(USER, { id: missing }, as), "PERMISSION_DENIED", "SESSION-scope");
    expectError(
      await t.gql(ADD_PAT, { input: { userId } }, as),
      "PERMISSION_DENIED",
      "SESSION-scope",
    );
    expectError(
      await t.gql(ADD_LINK, { input: { userId: other } }, as),
      "PERMISSION_DENIED",
      "SESSION-scope",
    );
    expectError(
      await t.gql(LIST_PASSKEYS, { userId: other }, as),
      "PERMISSION_DENIED",
      "SESSION-scope",
    );
    expectError(
      await t.gql(
        `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { details { sequence } } }`,
        { input: { userId, returnCode: true } },
        as,
      ),
      "PERMISSION_DENIED",
      "SESSION-scope",
    );
    expectError(
      await t.gql(LIST_SESSIONS, { userId: other }, as),
      "PERMISSION_DENIED",
      "SESSION-scope",
    );
    // Its own passkeys and sessions it may read.
    expect((await t.ok(LIST_PASSKEYS, { userId }, as)).passkeys).toHaveLength(1);
    expect((await t.ok(LIST_SESSIONS, {}, as)).sessions.totalResult).toBeGreaterThanOrEqual(1);
  });

  it("a rotated, unknown or unverified token is 401 like a bad PAT", async () => {
    const { authenticator } = await userWithPasskey();
    const started = await startSession(t);
    const unverified = await t.gql(ME, {}, { token: started.sessionToken });
    expect(unverified.status).toBe(401);
    const checked = await checkSession(t, started, authenticator.get(started.options));
    const rotated = await t.gql(ME, {}, { token: started.sessionToken });
    expect(rotated.status).toBe(401);
    expect(rotated.errors![0]!.extensions.code).toBe("UNAUTHENTICATED");
    expect((await t.gql(ME, {}, { token: checked.data.setSession.sessionToken })).status).toBe(200);
    expect((await t.gql(ME, {}, { token: `pls_${"A".repeat(43)}` })).status).toBe(401);
  });

  it("credential changes need a recent check; a fresh check on the same session satisfies it", async () => {
    const { authenticator } = await userWithPasskey();
    const started = await startSession(t);
    const first = await checkSession(t, started, authenticator.get(started.options));
    let token = first.data.setSession.sessionToken as string;
    t.clock.advance(301_000);
    expectError(
      await t.gql(ADD_LINK, {}, { token }),
      "FAILED_PRECONDITION",
      "SESSION-reauth-required",
    );
    // Reading is still fine.
    expect((await t.gql(ME, {}, { token })).errors).toBeUndefined();
    const challenged = await t.gql(
      SET_SESSION,
      {
        input: {
          sessionId: started.sessionId,
          sessionToken: token,
          challenges: WEBAUTHN_CHALLENGE,
        },
      },
      { token: null },
    );
    token = challenged.data.setSession.sessionToken;
    const options =
      challenged.data.setSession.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey;
    const fresh = await checkSession(
      t,
      { sessionId: started.sessionId, sessionToken: token },
      authenticator.get(options),
    );
    expect(fresh.errors).toBeUndefined();
    token = fresh.data.setSession.sessionToken;
    expect((await t.gql(ADD_LINK, {}, { token })).errors).toBeUndefined();
  });
});

describe("attacks on the check", () => {
  it("a replayed assertion fails on the same session and on a new one", async () => {
    const { authenticator } = await userWithPasskey();
    const started = await startSession(t);
    const assertion = authenticator.get(started.options);
    const first = await checkSession(t, started, assertion);
    expect(first.errors).toBeUndefined();
    const again = await checkSession(
      t,
      { sessionId: started.sessionId, sessionToken: first.data.setSession.sessionToken },
      assertion,
    );
    expectError(again, "FAILED_PRECONDITION", "SESSION-webauthn-no-challenge");
    const other = await startSession(t);
    expectError(
      await checkSession(t, other, assertion),
      "INVALID_ARGUMENT",
      "SESSION-webauthn-invalid",
    );
  });

  it("a failed check consumes the challenge, keeps the token and never spends a stolen session", async () => {
    const { authenticator } = await userWithPasskey();
    const started = await startSession(t);
    const wrongOrigin = authenticator.get(started.options, { origin: "https://evil.example" });
    expectError(
      await checkSession(t, started, wrongOrigin),
      "INVALID_ARGUMENT",
      "SESSION-webauthn-invalid",
    );
    // The genuine answer to the same challenge now fails: the challenge is spent.
    const genuine = authenticator.get(started.options);
    expectError(
      await checkSession(t, started, genuine),
      "FAILED_PRECONDITION",
      "SESSION-webauthn-no-challenge",
    );
    // A wrong token never counts (knowing a session ID must not let anyone end it).
    for (let i = 0; i < 6; i++) {
      expectError(
        await checkSession(t, { sessionId: started.sessionId, sessionToken: `pls_${i}` }, genuine),
        "PERMISSION_DENIED",
        "SESSION-token-invalid",
      );
    }
    const [row] = await rows<{ failed_checks: number; terminated_at: unknown }>(
      "SELECT failed_checks, terminated_at FROM sessions WHERE id = ?",
      [started.sessionId],
    );
    expect(Number(row!.failed_checks)).toBe(2);
    expect(row!.terminated_at).toBeNull();
  });

  it("cross-origin frames, missing user verification and foreign RP IDs are refused as INVALID_ARGUMENT", async () => {
    const { authenticator } = await userWithPasskey();
    for (const overrides of [
      { crossOrigin: true },
      { userVerified: false },
      { rpId: "evil.example" },
      { type: "webauthn.create" },
    ]) {
      const started = await startSession(t);
      expectError(
        await checkSession(t, started, authenticator.get(started.options, overrides)),
        "INVALID_ARGUMENT",
        "SESSION-webauthn-invalid",
      );
    }
  });

  it("a tampered userHandle binds nobody", async () => {
    const { authenticator } = await userWithPasskey();
    const victim = await addHuman(t, org);
    const started = await startSession(t);
    const response = authenticator.get(started.options, {
      userHandle: Buffer.from(victim).toString("base64url"),
    });
    expectError(
      await checkSession(t, started, response),
      "INVALID_ARGUMENT",
      "SESSION-webauthn-invalid",
    );
    const token = started.sessionToken;
    const view = await sessionView(started.sessionId, token);
    expect(view.data.session.factors).toEqual({ user: null, webAuthN: null });
  });

  it("five failed checks end the session and never lock the user", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const started = await startSession(t);
    let token = started.sessionToken;
    for (let i = 0; i < 5; i++) {
      const failed = await checkSession(
        t,
        { sessionId: started.sessionId, sessionToken: token },
        authenticator.get(started.options, { origin: "https://evil.example" }),
      );
      expect(failed.errors).toBeDefined();
    }
    expectError(
      await t.gql(
        SET_SESSION,
        {
          input: {
            sessionId: started.sessionId,
            sessionToken: token,
            challenges: WEBAUTHN_CHALLENGE,
          },
        },
        { token: null },
      ),
      "FAILED_PRECONDITION",
      "SESSION-terminated",
    );
    token = (await signIn(t, authenticator)).sessionToken;
    expect((await t.ok(ME, {}, { token })).me.id).toBe(userId);
  });

  it("five failed checks end a signed-in session too, with session.terminated; four do not", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const session = await signIn(t, authenticator);
    let token = session.sessionToken;
    for (let i = 1; i <= 5; i++) {
      // A fresh challenge (a successful call: the token rotates), then a failed check on it.
      const challenged = await t.gql(
        SET_SESSION,
        {
          input: {
            sessionId: session.sessionId,
            sessionToken: token,
            challenges: WEBAUTHN_CHALLENGE,
          },
        },
        { token: null },
      );
      expect(challenged.errors).toBeUndefined();
      token = challenged.data.setSession.sessionToken;
      const options =
        challenged.data.setSession.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey;
      expectError(
        await checkSession(
          t,
          { sessionId: session.sessionId, sessionToken: token },
          authenticator.get(options, { userVerified: false }),
        ),
        "INVALID_ARGUMENT",
        "SESSION-webauthn-invalid",
      );
      const [row] = await rows<{ failed_checks: number; terminated_at: unknown }>(
        "SELECT failed_checks, terminated_at FROM sessions WHERE id = ?",
        [session.sessionId],
      );
      expect(Number(row!.failed_checks)).toBe(i);
      expect(row!.terminated_at === null).toBe(i < 5);
      // Until the fifth, the failed checks leave the session signed in.
      expect((await t.gql(ME, {}, { token })).status).toBe(i < 5 ? 200 : 401);
    }
    const events = await rows<{ event_type: string; payload: string }>(
      "SELECT event_type, payload FROM events WHERE aggregate_id = ? ORDER BY sequence",
      [session.sessionId],
    );
    const last = events[events.length - 1]!;
    expect(last.event_type).toBe("session.terminated");
    expect(JSON.parse(last.payload)).toEqual({ reason: "too.many.failed.checks" });
    const [user] = await rows<{ state: string }>("SELECT state FROM users WHERE id = ?", [userId]);
    expect(user!.state).toBe("ACTIVE");
  });

  it("an unknown credential is NOT_FOUND with a signal for signalUnknownCredential", async () => {
    const stranger = softAuthenticator(t);
    stranger.create({ challenge: "x", rp: { id: "localhost" }, user: { id: "eA" } });
    const started = await startSession(t);
    const failed = await checkSession(t, started, stranger.get(started.options));
    const error = expectError(failed, "NOT_FOUND", "SESSION-webauthn-unknown-credential");
    expect(error.extensions.details[0].signal).toEqual({
      rpId: "localhost",
      credentialId: [...stranger.credentials.keys()][0],
    });
  });
});

describe("username-first", () => {
  const LOGIN = (loginName: string) => ({ checks: { user: { loginName } } });

  it("known and unknown login names get the same anonymous answer and no user factor", async () => {
    const { userId } = await userWithPasskey();
    const [username] = (
      await rows<{ username: string }>("SELECT username FROM users WHERE id = ?", [userId])
    ).map((row) => row.username);
    const known = await startSession(t, LOGIN(username!), { token: null, orgId: org });
    const unknown = await startSession(t, LOGIN("nobody-here"), { token: null, orgId: org });
    for (const started of [known, unknown]) {
      expect(started.options.allowCredentials ?? []).toEqual([]);
      expect(Object.keys(started.options).sort()).toEqual(Object.keys(known.options).sort());
      const view = await sessionView(started.sessionId, started.sessionToken);
      expect(view.data.session.factors.user).toBeNull();
    }
  });

  it("signs in the named user with its own passkey; another user's passkey is a mismatch", async () => {
    const alice = await userWithPasskey();
    const mallory = await userWithPasskey();
    const [name] = (
      await rows<{ username: string }>("SELECT username FROM users WHERE id = ?", [alice.userId])
    ).map((row) => row.username);
    const started = await startSession(t, LOGIN(name!.toUpperCase()), { token: null, orgId: org });
    expectError(
      await checkSession(t, started, mallory.authenticator.get(started.options)),
      "INVALID_ARGUMENT",
      "SESSION-webauthn-user-mismatch",
    );
    const again = await startSession(t, LOGIN(name!), { token: null, orgId: org });
    const checked = await checkSession(t, again, alice.authenticator.get(again.options));
    expect(checked.errors).toBeUndefined();
    const byId = await startSession(t, { checks: { user: { userId: alice.userId } } });
    expectError(
      await checkSession(t, byId, mallory.authenticator.get(byId.options)),
      "INVALID_ARGUMENT",
      "SESSION-webauthn-user-mismatch",
    );
    const unknownName = await startSession(t, LOGIN("nobody-here"), { token: null, orgId: org });
    expectError(
      await checkSession(t, unknownName, alice.authenticator.get(unknownName.options)),
      "INVALID_ARGUMENT",
      "SESSION-webauthn-user-mismatch",
    );
  });

  it("checks.user needs exactly one field; other user verification values are refused", async () => {
    expectError(
      await t.gql(CREATE_SESSION, { input: { checks: { user: {} } } }, { token: null }),
      "INVALID_ARGUMENT",
      "SESSION-check-user",
    );
    expectError(
      await t.gql(
        CREATE_SESSION,
        {
          input: {
            challenges: { webAuthN: { ...WEBAUTHN_CHALLENGE.webAuthN, domain: "evil.example" } },
          },
        },
        { token: null },
      ),
      "INVALID_ARGUMENT",
      "SESSION-domain",
    );
    expectError(
      await t.gql(CREATE_SESSION, { input: { lifetime: "0s" } }, { token: null }),
      "INVALID_ARGUMENT",
      "SESSION-lifetime",
    );
  });

  it("a session.write holder (IAM_LOGIN_CLIENT) gets the allow-list and the user factor", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const client = await addHuman(t, org);
    await grant(t, client, ["IAM_LOGIN_CLIENT"], null);
    const token = await tokenFor(t, client);
    const started = await startSession(t, { checks: { user: { userId } } }, { token });
    expect(started.options.allowCredentials).toEqual([
      expect.objectContaining({ id: [...authenticator.credentials.keys()][0], type: "public-key" }),
    ]);
    const view = await sessionView(started.sessionId, started.sessionToken);
    expect(view.data.session.factors.user).toMatchObject({ id: userId });
  });
});

describe("who may act on a session", () => {
  it("an organization owner cannot check or rotate a user's session, but may read and end it", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const owner = await actor(t, org, ["ORG_OWNER"]);
    const session = await signIn(t, authenticator);
    const sneaky = await startSession(t);
    expectError(
      await checkSession(
        t,
        { sessionId: session.sessionId, sessionToken: "" },
        authenticator.get(sneaky.options),
        {},
        { token: owner.token },
      ),
      "PERMISSION_DENIED",
      "SESSION-token-invalid",
    );
    const read = await t.gql(GET_SESSION, { sessionId: session.sessionId }, { token: owner.token });
    expect(read.data.session.factors.user.id).toBe(userId);
    const outsider = await actor(t, await addOrg(t), ["ORG_OWNER"]);
    expectError(
      await t.gql(GET_SESSION, { sessionId: session.sessionId }, { token: outsider.token }),
      "PERMISSION_DENIED",
    );
    await t.ok(DELETE_SESSION, { input: { sessionId: session.sessionId } }, { token: owner.token });
    expectError(
      await sessionView(session.sessionId, session.sessionToken),
      "FAILED_PRECONDITION",
      "SESSION-terminated",
    );
    // A second delete is no error.
    await t.ok(
      DELETE_SESSION,
      { input: { sessionId: session.sessionId, sessionToken: session.sessionToken } },
      { token: null },
    );
  });

  it("maxAge asks for a recent check", async () => {
    const { authenticator } = await userWithPasskey();
    const session = await signIn(t, authenticator);
    const fresh = await t.gql(GET_SESSION, { ...session, maxAge: 60 }, { token: null });
    expect(fresh.errors).toBeUndefined();
    t.clock.advance(61_000);
    expectError(
      await t.gql(GET_SESSION, { ...session, maxAge: 60 }, { token: null }),
      "FAILED_PRECONDITION",
      "SESSION-too-old",
    );
  });
});

describe("ending sessions", () => {
  it("locking the user ends its sessions", async () => {
    const { userId, authenticator } = await userWithPasskey();
    const session = await signIn(t, authenticator);
    await t.ok(LOCK, { input: { userId } });
    expect((await t.gql(ME, {}, { token: session.sessionToken })).status).toBe(401);
    expectError(
      await sessionView(session.sessionId, session.sessionToken),
      "FAILED_PRECONDITION",
      "SESSION-terminated",
    );
    const started = await startSession(t);
    expectError(
      await checkSession(t, started, authenticator.get(started.options)),
      "FAILED_PRECONDITION",
      "SESSION-user-locked",
    );
  });

  it("removing a passkey ends the sessions it verified; the last one through a session needs confirmLast", async () => {
    const { userId, authenticator, passkeyId } = await userWithPasskey();
    const session = await signIn(t, authenticator);
    const other = await signIn(t, authenticator);
    expectError(
      await t.gql(
        REMOVE_PASSKEY,
        { input: { userId, passkeyId } },
        { token: session.sessionToken },
      ),
      "FAILED_PRECONDITION",
      "PASSKEY-last",
    );
    const removed = await t.gql(
      `mutation($input: RemovePasskeyInput!) { removePasskey(input: $input) { signals { allAcceptedCredentialIds } } }`,
      { input: { userId, passkeyId, confirmLast: true } },
      { token: session.sessionToken },
    );
    expect(removed.errors).toBeUndefined();
    expect(removed.data.removePasskey.signals.allAcceptedCredentialIds).toEqual([]);
    for (const ended of [session, other]) {
      expect((await t.gql(ME, {}, { token: ended.sessionToken })).status).toBe(401);
    }
  });
});

describe("counters and clones", () => {
  it("a forged low-counter assertion without the key flags nothing", async () => {
    const { userId, authenticator, passkeyId } = await userWithPasskey();
    await signIn(t, authenticator, { signCount: 10 });
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const started = await startSession(t);
    expectError(
      await checkSession(
        t,
        started,
        authenticator.get(started.options, { signCount: 3, signWith: privateKey }),
      ),
      "INVALID_ARGUMENT",
      "SESSION-webauthn-invalid",
    );
    const passkeys = (
      await t.ok(`query($userId: ID!) { passkeys(userId: $userId) { id cloneWarning } }`, {
        userId,
      })
    ).passkeys;
    expect(passkeys).toEqual([{ id: passkeyId, cloneWarning: false }]);
  });

  it("a genuine counter that did not rise is a clone: refused, flagged, sessions ended, event written", async () => {
    const { userId, authenticator, passkeyId } = await userWithPasskey();
    const session = await signIn(t, authenticator, { signCount: 10 });
    const started = await startSession(t);
    expectError(
      await checkSession(t, started, authenticator.get(started.options, { signCount: 10 })),
      "PERMISSION_DENIED",
      "SESSION-webauthn-clone",
    );
    const passkeys = (
      await t.ok(
        `query($userId: ID!) { passkeys(userId: $userId) { id cloneWarning lastUsedAt backupEligible backedUp } }`,
        { userId },
      )
    ).passkeys;
    expect(passkeys[0]).toMatchObject({ id: passkeyId, cloneWarning: true });
    expect((await t.gql(ME, {}, { token: session.sessionToken })).status).toBe(401);
    const events = await rows<{ event_type: string }>(
      "SELECT event_type FROM events WHERE aggregate_id = ?",
      [userId],
    );
    expect(events.map((e) => e.event_type)).toContain(
      "user.human.passwordless.token.clone.suspected",
    );
    // A zero counter after a positive one is a passkey moved to a syncing provider: accepted.
    await signIn(t, authenticator, { signCount: 0 });
    // A rising counter keeps signing in (the refused side may have been the genuine device).
    await signIn(t, authenticator, { signCount: 11 });
  });
});

describe("the clone notice", () => {
  const DAY = 86_400_000;
  const SUBJECT = "A passkey of your account may have been copied";
  const noticesTo = (address: string) =>
    sink.mails.filter((mail) => mail.to.includes(address) && mail.subject === SUBJECT);
  const cloneRows = async (userId: string) =>
    rows<{ state: string; variables: string }>(
      "SELECT state, variables FROM mail_outbox WHERE user_id = ? AND kind = 'PASSKEY_CLONE'",
      [userId],
    );

  /** A genuine assertion whose counter did not rise: refused as a clone. */
  async function detectClone(authenticator: ReturnType<typeof softAuthenticator>) {
    const started = await startSession(t);
    expectError(
      await checkSession(t, started, authenticator.get(started.options, { signCount: 5 })),
      "PERMISSION_DENIED",
      "SESSION-webauthn-clone",
    );
  }

  it("mails one notice a day per passkey through the outbox: which passkey, when, what to do, no secret", async () => {
    const { userId, authenticator, passkeyId } = await userWithPasskey();
    const email = `${(await t.ok(`query($id: ID!) { user(id: $id) { username } }`, { id: userId })).user.username}@example.com`;
    const session = await signIn(t, authenticator, { signCount: 10 });
    await detectClone(authenticator);
    // Queued in the detection's transaction: there when the request answers.
    expect(await cloneRows(userId)).toHaveLength(1);
    const [mail] = await eventually("the clone notice", () =>
      noticesTo(email).length > 0 ? noticesTo(email) : undefined,
    );
    const [stored] = await rows<{ name: string; clone_notified_at: unknown }>(
      "SELECT name, clone_notified_at FROM passkeys WHERE id = ?",
      [passkeyId],
    );
    expect(stored!.clone_notified_at).not.toBeNull();
    expect(mail!.text).toContain(`“${stored!.name}”`);
    expect(mail!.text).toMatch(/on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(mail!.text).toContain("remove the passkey");
    expect(mail!.html).not.toMatch(/href=/);
    for (const secret of [session.sessionToken, "pls_", passkeyId]) {
      expect(mail!.text).not.toContain(secret);
      expect(mail!.html).not.toContain(secret);
    }

    // A second detection within the day flags again but mails nothing.
    t.clock.advance(DAY - 60_000);
    try {
      await detectClone(authenticator);
      expect(await cloneRows(userId)).toHaveLength(1);
    } finally {
      t.clock.advance(-(DAY - 60_000));
    }
    await sleep(300);
    expect(noticesTo(email)).toHaveLength(1);

    // A day after the notice, the next detection mails again.
    t.clock.advance(DAY);
    try {
      await detectClone(authenticator);
      expect(await cloneRows(userId)).toHaveLength(2);
      await eventually("the second notice", () =>
        noticesTo(email).length === 2 ? true : undefined,
      );
    } finally {
      t.clock.advance(-DAY);
    }
  });

  it("is a security notice: a lock of the user does not cancel it; German for a German user", async () => {
    const userId = await addHuman(t, org, { preferredLanguage: "de" });
    const authenticator = softAuthenticator(t);
    await enrol(t, userId, authenticator);
    const email = `${(await t.ok(`query($id: ID!) { user(id: $id) { username } }`, { id: userId })).user.username}@example.com`;
    await signIn(t, authenticator, { signCount: 10 });
    // Hold the notice in the queue (the server answers "try again later"), then lock the user.
    sink.mode = "reject-temporary";
    try {
      await detectClone(authenticator);
      await t.ok(LOCK, { input: { userId } });
      const [row] = await cloneRows(userId);
      expect(row!.state).toBe("QUEUED");
    } finally {
      sink.mode = "accept";
    }
    const [mail] = await eventually("the German clone notice", () => {
      const mails = sink.mails.filter(
        (m) =>
          m.to.includes(email) &&
          m.subject === "Ein Passkey Ihres Kontos wurde möglicherweise kopiert",
      );
      return mails.length > 0 ? mails : undefined;
    });
    expect(mail!.text).toContain("entfernen Sie den Passkey");
  });
});

describe("limits, metrics and logs", () => {
  it("SIGNIN_RATE_LIMIT counts createSession per client address, with retryAfterSeconds; without TRUST_PROXY a spoofed X-Forwarded-For changes nothing", async () => {
    const limited = await startTestApp({
      NODE_ENV: "production",
      EXTERNAL_URL: "http://localhost:4000",
      SIGNIN_RATE_LIMIT: "3",
    });
    // The budget counts per clock minute: start at the beginning of one.
    limited.clock.advance(60_000 - (limited.clock.now().getTime() % 60_000) + 5);
    // TRUST_PROXY=0 (the default): the header is ignored, every request is 127.0.0.1's.
    const spoofed = (i: number) => ({
      token: null,
      headers: { "x-forwarded-for": `203.0.113.${i}, 198.51.100.${i}` },
    });
    try {
      for (let i = 0; i < 3; i++) {
        expect(
          (await limited.gql(CREATE_SESSION, { input: {} }, spoofed(i))).errors,
        ).toBeUndefined();
      }
      const refused = await limited.gql(CREATE_SESSION, { input: {} }, spoofed(9));
      const error = expectError(refused, "RESOURCE_EXHAUSTED", "SESSION-rate-limited");
      expect(error.extensions.details[0].retryAfterSeconds).toBeGreaterThan(0);
      expect(error.extensions.details[0].retryAfterSeconds).toBeLessThanOrEqual(60);
    } finally {
      await limited.close();
    }
  });

  it("exports the sign-in metrics and never logs a session token", async () => {
    const { authenticator } = await userWithPasskey();
    const session = await signIn(t, authenticator);
    await t.gql(ME, {}, { token: session.sessionToken });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^sessions_created_total \d+/m);
    for (const outcome of ["success", "failed", "clone"]) {
      expect(metrics).toContain(`passkey_signins_total{outcome="${outcome}"}`);
    }
    const logs = t.logs.join("");
    expect(logs).not.toContain("pls_");
    expect(logs).not.toContain(session.sessionToken);
  });
});
