// How many exchanges with the database a sign-in costs (issue 21, item 3): createSession
// {challenges.webAuthN} and setSession {checks.webAuthN}, the discoverable flow of SPEC 18, as
// test/round-trips.test.ts counts the create path. The counts are today's, so they cannot grow
// unnoticed; bench/floor-signin.ts runs the same statements.
import { addHuman, addOrg } from "./helpers/fixtures";
import type { GqlOptions, TestApp } from "./helpers/harness";
import { startTestApp, TEST_DB } from "./helpers/harness";
import { RoundTripCounter } from "./helpers/round-trip-counter";
import { checkSession, enrol, softAuthenticator, startSession } from "./helpers/sessions";

/**
 * createSession, a batched transaction (src/db/statement-batch.ts): START with the attempt
 * budget's UPDATE; the session's and the challenge's INSERTs (results unread) with COMMIT. The
 * first attempt of an address in a minute adds the budget row (one INSERT that leaves a row added
 * meanwhile alone). The default organization is read once per process. SQLite (no network)
 * keeps one statement per exchange, START and COMMIT included.
 */
const CREATE_SESSION_ROUND_TRIPS = TEST_DB === "mariadb" ? 2 : 5;
const CREATE_SESSION_NEW_ADDRESS_ROUND_TRIPS = TEST_DB === "mariadb" ? 3 : 6;
/**
 * setSession with a passkey, the session's first check, batched: START with the session FOR
 * UPDATE (the address's failure budget and the named challenge read in the same statement); the
 * conditional challenge UPDATE; the passkey; the user FOR UPDATE; the passkey's UPDATE; the
 * user's event (its sequence bump and INSERT, numbered from the locked read) and the
 * session-passkey link with the token compare-and-set; the signals' passkeys; the session's
 * events with COMMIT. SQLite: one statement per exchange.
 */
const SET_SESSION_ROUND_TRIPS = TEST_DB === "mariadb" ? 8 : 14;

let t: TestApp;
let org: string;
let address = 0;
const counter = new RoundTripCounter();

beforeAll(async () => {
  t = await startTestApp({ NODE_ENV: "production", TRUST_PROXY: "1" });
  await t.app.outboxWorker.stop();
  await t.app.codeRetention.stop();
  org = await addOrg(t);
  await counter.install(t);
});

afterAll(async () => {
  counter.uninstall();
  await t?.close();
});

/** An anonymous request from its own client address (one trusted proxy hop). */
const from = (ip: string): GqlOptions => ({ token: null, headers: { "x-forwarded-for": ip } });
const nextAddress = () => `10.77.${Math.floor(++address / 250)}.${(address % 250) + 1}`;

/** Waits for the next minute when this one is nearly over: the budgets count per clock minute. */
async function sameMinute(): Promise<void> {
  const left = 60_000 - (t.clock.now().getTime() % 60_000);
  if (left < 5_000) await new Promise((resolve) => setTimeout(resolve, left + 10));
}

describe("round trips per sign-in (discoverable passkey)", () => {
  it(`createSession: ${CREATE_SESSION_ROUND_TRIPS}, ${CREATE_SESSION_NEW_ADDRESS_ROUND_TRIPS} for an address's first attempt in a minute; setSession: ${SET_SESSION_ROUND_TRIPS}`, async () => {
    const authenticator = softAuthenticator(t);
    const users = [];
    for (let i = 0; i < 3; i++) {
      const userId = await addHuman(t, org);
      await enrol(t, userId, authenticator);
      users.push(userId);
    }
    // Warm-up: the first requests may open pool connections (their session settings are theirs)
    // and read the default organization.
    for (let i = 0; i < 2; i++) {
      const ip = nextAddress();
      const started = await startSession(t, {}, from(ip));
      const checked = await checkSession(
        t,
        started,
        authenticator.get(started.options),
        {},
        from(ip),
      );
      expect(checked.errors).toBeUndefined();
    }
    for (let i = 0; i < users.length; i++) {
      await sameMinute();
      const ip = nextAddress();
      const first = await counter.count(() => startSession(t, {}, from(ip)));
      expect({ count: first.length, sql: first }).toEqual({
        count: CREATE_SESSION_NEW_ADDRESS_ROUND_TRIPS,
        sql: expect.any(Array),
      });
      let started: Awaited<ReturnType<typeof startSession>> | undefined;
      const created = await counter.count(async () => {
        started = await startSession(t, {}, from(ip));
      });
      expect({ count: created.length, sql: created }).toEqual({
        count: CREATE_SESSION_ROUND_TRIPS,
        sql: expect.any(Array),
      });
      const assertion = authenticator.get(started!.options);
      let signedInAs: string | undefined;
      const set = await counter.count(async () => {
        const checked = await checkSession(t, started!, assertion, {}, from(ip));
        expect(checked.errors).toBeUndefined();
        signedInAs = checked.data.setSession.signals.userId;
      });
      expect({ count: set.length, sql: set }).toEqual({
        count: SET_SESSION_ROUND_TRIPS,
        sql: expect.any(Array),
      });
      expect(typeof signedInAs).toBe("string");
    }
  });
});
