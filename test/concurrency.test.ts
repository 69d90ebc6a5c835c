// Concurrent manipulations of one user: every one succeeds and gets its own sequence.
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";

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
