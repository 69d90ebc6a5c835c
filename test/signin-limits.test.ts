// Sign-in budgets and retention (SPEC 18) over HTTP, on an app behind one trusted proxy hop
// (TRUST_PROXY=1), so each request can present its own client address in X-Forwarded-For: the
// hop count, IPv6 by /64, the failure budget per address, and the purge of ended sessions.
import { clientAddress } from "../src/http/client-address";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { GqlOptions, TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";
import {
  CREATE_SESSION,
  DELETE_SESSION,
  SET_SESSION,
  WEBAUTHN_CHALLENGE,
  checkSession,
  enrol,
  softAuthenticator,
  startSession,
} from "./helpers/sessions";

const RATE_LIMIT = 3;
const FAILURE_LIMIT = 3;
const RETENTION_DAYS = 2;
const DAY = 86_400_000;
const ME = `{ me { id } }`;

let t: TestApp;
let org: string;

beforeAll(async () => {
  t = await startTestApp({
    NODE_ENV: "production",
    EXTERNAL_URL: "http://localhost:4000",
    TRUST_PROXY: "1",
    SIGNIN_RATE_LIMIT: String(RATE_LIMIT),
    SIGNIN_FAILURE_LIMIT: String(FAILURE_LIMIT),
    SESSION_RETENTION_DAYS: String(RETENTION_DAYS),
  });
  org = await addOrg(t);
});
afterAll(() => t?.close());

/** A request as the proxy forwards it: `chain` is the X-Forwarded-For it received and appended to. */
const via = (chain: string): GqlOptions => ({
  token: null,
  headers: { "x-forwarded-for": chain },
});

const create = (options: GqlOptions) => t.gql(CREATE_SESSION, { input: {} }, options);

/**
 * Moves the test clock to the start of the next minute: the budgets count per clock minute, and
 * a test's requests must not straddle two windows.
 */
function startOfMinute(app: TestApp): void {
  const now = app.clock.now().getTime();
  app.clock.advance(60_000 - (now % 60_000) + 5);
}

async function rows<T>(sql: string, params: unknown[]): Promise<T[]> {
  return t.app.services.db.read((db) => db.query(sql, params));
}

function expectRateLimited(result: Awaited<ReturnType<typeof create>>) {
  const error = expectError(result, "RESOURCE_EXHAUSTED", "SESSION-rate-limited");
  expect(error.extensions.details[0].retryAfterSeconds).toBeGreaterThan(0);
  expect(error.extensions.details[0].retryAfterSeconds).toBeLessThanOrEqual(60);
}

async function userWithPasskey() {
  const userId = await addHuman(t, org);
  const authenticator = softAuthenticator(t);
  const passkeyId = await enrol(t, userId, authenticator);
  return { userId, authenticator, passkeyId };
}

describe("TRUST_PROXY: the client address", () => {
  it("with one trusted hop, the last X-Forwarded-For entry counts: entries left of it cannot dodge the limit", async () => {
    startOfMinute(t);
    const client = "198.51.100.10";
    for (let i = 0; i < RATE_LIMIT; i++) {
      // What the client wrote itself comes first; the proxy appended the address it saw.
      expect((await create(via(`10.9.9.${i}, ${client}`))).errors).toBeUndefined();
    }
    expectRateLimited(await create(via(`10.9.9.99, ${client}`)));
    expectRateLimited(await create(via(client)));
    // Another client behind the same proxy has its own budget, whatever it claims to be.
    expect((await create(via(`${client}, 198.51.100.11`))).errors).toBeUndefined();
    // No header: the socket's peer (the proxy, here 127.0.0.1) is the client.
    expect((await create({ token: null })).errors).toBeUndefined();
  });

  it("counts the right entry for any hop count (the rightmost not added by a trusted hop)", () => {
    const headers = { "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.2" };
    expect(clientAddress("10.0.0.3", headers, 0)).toBe("10.0.0.3");
    expect(clientAddress("10.0.0.3", headers, 1)).toBe("10.0.0.2");
    expect(clientAddress("10.0.0.3", headers, 2)).toBe("203.0.113.7");
    // More hops than entries: the leftmost entry, never undefined.
    expect(clientAddress("10.0.0.3", headers, 9)).toBe("6.6.6.6");
    expect(clientAddress("10.0.0.3", {}, 1)).toBe("10.0.0.3");
    // A port some proxies append is not part of the address (else every connection is new).
    expect(clientAddress("10.0.0.3", { "x-forwarded-for": "203.0.113.7:51234" }, 1)).toBe(
      "203.0.113.7",
    );
    expect(clientAddress("10.0.0.3", { "x-forwarded-for": "[2001:db8::1]:443" }, 1)).toBe(
      "2001:db8::1",
    );
    expect(clientAddress("10.0.0.3", { "x-forwarded-for": "2001:db8::1" }, 1)).toBe("2001:db8::1");
    // Repeated headers are one list, in order.
    expect(
      clientAddress("10.0.0.3", { "x-forwarded-for": ["6.6.6.6", "203.0.113.8"] as never }, 1),
    ).toBe("203.0.113.8");
  });

  it("IPv6 addresses count by their /64: two in the same /64 share the budget, another /64 does not", async () => {
    startOfMinute(t);
    const sameSubnet = [
      "2001:db8:aa:1::1",
      "2001:db8:aa:1:ffff:ffff:ffff:ffff",
      "2001:0db8:00aa:0001:0000:0000:0000:abcd",
    ];
    for (const address of sameSubnet) {
      expect((await create(via(address))).errors).toBeUndefined();
    }
    expectRateLimited(await create(via("2001:db8:aa:1:1234::5")));
    expectRateLimited(await create(via("[2001:db8:aa:1::77]:50123")));
    expect((await create(via("2001:db8:aa:2::1"))).errors).toBeUndefined();
    // An IPv4-mapped IPv6 address is its IPv4 address.
    for (let i = 0; i < RATE_LIMIT; i++) {
      expect((await create(via("::ffff:203.0.113.9"))).errors).toBeUndefined();
    }
    expectRateLimited(await create(via("203.0.113.9")));
  });
});

describe("SIGNIN_FAILURE_LIMIT: failed checks per client address", () => {
  it("refuses checks after the budget with retryAfterSeconds; wrong tokens never count; other addresses go on", async () => {
    const { authenticator } = await userWithPasskey();
    startOfMinute(t);
    const checker = "198.51.100.20";
    // Sessions opened from other addresses (the creation budget is separate).
    const sessions = [];
    for (let i = 0; i < FAILURE_LIMIT + 1; i++) {
      sessions.push(await startSession(t, {}, via(`198.51.100.${30 + i}`)));
    }
    // Wrong or missing tokens are refused before any check, and spend nothing.
    for (let i = 0; i < 2 * FAILURE_LIMIT; i++) {
      expectError(
        await checkSession(
          t,
          { sessionId: sessions[0]!.sessionId, sessionToken: `pls_wrong${i}` },
          authenticator.get(sessions[0]!.options),
          {},
          via(checker),
        ),
        "PERMISSION_DENIED",
        "SESSION-token-invalid",
      );
    }
    for (let i = 0; i < FAILURE_LIMIT; i++) {
      expectError(
        await checkSession(
          t,
          sessions[i]!,
          authenticator.get(sessions[i]!.options, { origin: "https://evil.example" }),
          {},
          via(checker),
        ),
        "INVALID_ARGUMENT",
        "SESSION-webauthn-invalid",
      );
    }
    const last = sessions[FAILURE_LIMIT]!;
    const forged = authenticator.get(last.options, { origin: "https://evil.example" });
    expectRateLimited(await checkSession(t, last, forged, {}, via(checker)));
    // Refused before the check: even a genuine assertion from that address waits.
    const genuine = authenticator.get(last.options);
    expectRateLimited(await checkSession(t, last, genuine, {}, via(`10.1.1.1, ${checker}`)));
    // The refusal consumed nothing: the same challenge still signs in from another address.
    const [before] = await rows<{ failed_checks: number }>(
      "SELECT failed_checks FROM sessions WHERE id = ?",
      [last.sessionId],
    );
    expect(Number(before!.failed_checks)).toBe(0);
    const other = await checkSession(t, last, genuine, {}, via("198.51.100.21"));
    expect(other.errors).toBeUndefined();
    // The next minute brings a new budget.
    t.clock.advance(60_000);
    try {
      const fresh = await startSession(t, {}, via("198.51.100.40"));
      expect(
        (await checkSession(t, fresh, authenticator.get(fresh.options), {}, via(checker))).errors,
      ).toBeUndefined();
    } finally {
      t.clock.advance(-60_000);
    }
  });
});

describe("SESSION_RETENTION_DAYS", () => {
  it("purges ended, expired and never-verified sessions with their challenges; events of verified sessions stay", async () => {
    const { authenticator } = await userWithPasskey();
    let address = 0;
    const nextAddress = () => via(`192.0.2.${++address}`);
    const signIn = async (lifetime?: string) => {
      const started = await startSession(t, lifetime ? { lifetime } : {}, nextAddress());
      const checked = await checkSession(
        t,
        started,
        authenticator.get(started.options),
        {},
        nextAddress(),
      );
      expect(checked.errors).toBeUndefined();
      return { sessionId: started.sessionId, sessionToken: checked.data.setSession.sessionToken };
    };
    const ended = await signIn();
    await t.ok(
      DELETE_SESSION,
      { input: { sessionId: ended.sessionId, sessionToken: ended.sessionToken } },
      nextAddress(),
    );
    const expired = await signIn("60s");
    const pending = await startSession(t, {}, nextAddress());
    const live = await signIn(`${30 * 86_400}s`);
    // A live session's consumed challenge goes too; its open one (not yet expired) is its own.
    const rechallenged = await t.gql(
      SET_SESSION,
      {
        input: {
          sessionId: live.sessionId,
          sessionToken: live.sessionToken,
          challenges: WEBAUTHN_CHALLENGE,
        },
      },
      nextAddress(),
    );
    expect(rechallenged.errors).toBeUndefined();
    const liveToken = rechallenged.data.setSession.sessionToken;
    const ids = [ended, expired, pending, live].map((s) => s.sessionId);
    const count = async (table: string, column = "session_id") =>
      Object.fromEntries(
        await Promise.all(
          ids.map(async (id) => {
            const [row] = await rows<{ n: number | string }>(
              `SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`,
              [id],
            );
            return [id, Number(row!.n)] as const;
          }),
        ),
      );
    const eventsBefore = await count("events", "aggregate_id");
    expect(eventsBefore[pending.sessionId]).toBe(0);
    for (const session of [ended, expired, live]) {
      expect(eventsBefore[session.sessionId]).toBeGreaterThan(0);
    }
    expect((await count("session_passkeys"))[ended.sessionId]).toBe(1);

    // The job's own timer would purge on its own at any moment (and runOnce counts only its own
    // rows): only the test's runs purge from here on.
    await t.app.codeRetention.stop();
    t.clock.advance(RETENTION_DAYS * DAY - 3_600_000);
    try {
      await t.app.codeRetention.runOnce();
      expect(Object.values(await count("sessions", "id"))).toEqual([1, 1, 1, 1]);
      t.clock.advance(2 * 3_600_000);
      expect(await t.app.codeRetention.runOnce()).toBeGreaterThanOrEqual(3);
      const sessions = await count("sessions", "id");
      expect(sessions).toEqual({
        [ended.sessionId]: 0,
        [expired.sessionId]: 0,
        [pending.sessionId]: 0,
        [live.sessionId]: 1,
      });
      const challenges = await count("session_challenges");
      expect(challenges[ended.sessionId]).toBe(0);
      expect(challenges[expired.sessionId]).toBe(0);
      expect(challenges[pending.sessionId]).toBe(0);
      // The live session's consumed challenge and its expired open one are purged as well.
      expect(challenges[live.sessionId]).toBe(0);
      const links = await count("session_passkeys");
      expect(links[ended.sessionId]).toBe(0);
      expect(links[live.sessionId]).toBe(1);
      expect(await count("events", "aggregate_id")).toEqual(eventsBefore);
      // The live session still signs its user in.
      expect((await t.gql(ME, {}, { token: liveToken })).status).toBe(200);
    } finally {
      t.clock.advance(-(RETENTION_DAYS * DAY + 3_600_000));
    }
  });
});
