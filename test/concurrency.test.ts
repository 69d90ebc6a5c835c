// Concurrent manipulations of one user: every one succeeds and gets its own sequence.
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { TEST_DB, startTestApp } from "./helpers/harness";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

it("gives 30 concurrent manipulations of one user 30 distinct, consecutive sequences", async () => {
  const org = await addOrg(t);
  const userId = await addHuman(t, org);
  const results = await Promise.all(
    Array.from({ length: 30 }, () =>
      t.ok(
        `mutation($input: AddPersonalAccessTokenInput!) { addPersonalAccessToken(input: $input) { details { sequence } } }`,
        { input: { userId } },
      ),
    ),
  );
  const sequences = results
    .map((data) => Number(data.addPersonalAccessToken.details.sequence))
    .sort((a, b) => a - b);
  expect(sequences).toEqual(Array.from({ length: 30 }, (_, i) => i + 2));
  const events = await t.app.services.db.read((db) =>
    db.query<{ sequence: number | string }[]>(
      "SELECT sequence FROM events WHERE aggregate_type = 'user' AND aggregate_id = ? ORDER BY sequence",
      [userId],
    ),
  );
  expect(events.map((row) => Number(row.sequence))).toEqual(
    Array.from({ length: 31 }, (_, i) => i + 1),
  );
});

it("keeps the active-code cap exact under 30 concurrent mints for one user", async () => {
  const org = await addOrg(t);
  const userId = await addHuman(t, org);
  const results = await Promise.all(
    Array.from({ length: 30 }, () =>
      t.gql(
        `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { code { id } } }`,
        { input: { userId, returnCode: true } },
      ),
    ),
  );
  const refused = results.filter(
    (r) => r.errors?.[0]?.extensions.details[0].id === "CODE-max-active",
  );
  expect(results.length - refused.length).toBe(10);
  expect(refused).toHaveLength(20);
});

const onMysql = TEST_DB === "mariadb" ? it : it.skip;

onMysql("runs every pooled MySQL session at READ COMMITTED", async () => {
  const levels = await Promise.all(
    Array.from({ length: 12 }, () =>
      t.app.services.db.read((db) =>
        db.query<{ level: string }[]>("SELECT @@SESSION.tx_isolation AS level"),
      ),
    ),
  );
  expect(new Set(levels.map((rows) => rows[0]!.level))).toEqual(new Set(["READ-COMMITTED"]));
});
