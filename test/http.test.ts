// HTTP surface: /healthz, /readyz (503 once the database is gone), graceful shutdown.
import { addHuman, addOrg } from "./helpers/fixtures";
import { TEST_DB, startTestApp } from "./helpers/harness";
import { withDatabaseOutage } from "./helpers/outage";

it("answers /healthz and /readyz while the database is up", async () => {
  const t = await startTestApp();
  try {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready" });
  } finally {
    await t.close();
  }
});

it("turns /readyz to 503 when the database goes away, while /healthz stays 200", async () => {
  await withDatabaseOutage(async (t, cut) => {
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    await cut();
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "database unavailable" });
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});

it("finishes in-flight requests on shutdown and then refuses new ones", async () => {
  const t = await startTestApp();
  const org = await addOrg(t);
  const victim = await addHuman(t, org);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  // Hold the user's row (MariaDB) or the SQLite writer queue, so the mutation below is
  // provably still running when shutdown begins. The mutation is sent only once the lock is
  // held: otherwise it could take the row first (a Galera node's reads wait for the cluster,
  // so the holder's SELECT is the slower one there) and finish before shutdown begins.
  const holder = t.app.services.db.transaction(async (tx) => {
    await tx.query(
      `SELECT id FROM users WHERE id = ?${TEST_DB === "mariadb" ? " FOR UPDATE" : ""}`,
      [victim],
    );
    holding();
    await released;
  });
  await held;
  const requestsBefore = t.logs.filter((line) => line.includes("incoming request")).length;
  const inFlight = t.gql(
    `mutation($input: UserIdInput!) { lockUser(input: $input) { details { sequence } } }`,
    {
      input: { userId: victim },
    },
  );
  while (t.logs.filter((line) => line.includes("incoming request")).length === requestsBefore) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const stopping = Date.now();
  const stopped = t.app.stop();
  await new Promise((resolve) => setTimeout(resolve, 200));
  release();
  await holder;
  const result = await inFlight;
  expect(result.status).toBe(200);
  expect(result.data.lockUser.details.sequence).toBe("2");
  await stopped;
  // Keep-alive connections do not hold shutdown up until the 10 s SHUTDOWN_TIMEOUT_MS.
  expect(Date.now() - stopping).toBeLessThan(5000);
  const after = await fetch(`${t.url}/healthz`).then(
    (response) => response.status,
    () => "refused",
  );
  expect([503, "refused"]).toContain(after);
  await t.close();
});
