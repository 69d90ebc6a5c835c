// Two server processes on two nodes of a Galera cluster (npm run test:galera; on one MariaDB
// server both use it): concurrent sends to one user through both keep the per-user rate limit and
// the user's event sequence exact, although row locks do not reach across nodes (SPEC 17).
import { randomBytes } from "node:crypto";
import { queryDatabase } from "./helpers/db-query";
import { TEST_DB } from "./helpers/harness";
import { SEND_LINK } from "./helpers/passkey-mail";
import type { ServerProcess } from "./helpers/server-process";
import { TwoProcesses, addUserThrough } from "./helpers/two-processes";
import { eventually } from "./helpers/wait";

const LIMIT = 5;
const SENDS = 24;

/** The GraphQL error code of a send, or "OK". */
async function send(server: ServerProcess, token: string, userId: string): Promise<string> {
  const response = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: SEND_LINK, variables: { input: { userId } } }),
  });
  const body = (await response.json()) as { errors?: { extensions: { code: string } }[] };
  return body.errors?.[0]?.extensions.code ?? "OK";
}

(TEST_DB === "mariadb" ? describe : describe.skip)("two server processes on two nodes", () => {
  const nodes = new TwoProcesses();
  afterAll(() => nodes.stop());

  it("keep one user's send limit and event sequence exact under concurrent sends", async () => {
    const servers = await nodes.start({
      MASTER_KEY: randomBytes(32).toString("base64"),
      EXTERNAL_URL: "https://id.example.com",
      SEND_RATE_LIMIT: String(LIMIT),
      OUTBOX_POLL_MS: "50",
    });
    const database = nodes.database!;
    const token = servers[0].adminToken();
    const userId = await addUserThrough(servers[0], token, true);

    const outcomes = await Promise.all(
      Array.from({ length: SENDS }, (_, i) => send(servers[i % 2]!, token, userId)),
    );
    expect(outcomes.filter((code) => code === "OK")).toHaveLength(LIMIT);
    expect(outcomes.filter((code) => code === "RESOURCE_EXHAUSTED")).toHaveLength(SENDS - LIMIT);

    // Once every mail is recorded as sent (each a "sent" event on the user), nothing else writes.
    await eventually("every mail sent", async () => {
      const rows = await queryDatabase<{ state: string }>(
        database,
        "SELECT state FROM mail_outbox WHERE user_id = ?",
        [userId],
      );
      return rows.length === LIMIT && rows.every((row) => row.state === "SENT") ? true : undefined;
    });
    const codes = await queryDatabase<{ n: number }>(
      database,
      "SELECT COUNT(*) AS n FROM passkey_codes WHERE user_id = ?",
      [userId],
    );
    expect(Number(codes[0]!.n)).toBe(LIMIT);
    const events = await queryDatabase<{ sequence: number | string }>(
      database,
      "SELECT sequence FROM events WHERE aggregate_type = 'user' AND aggregate_id = ? ORDER BY sequence",
      [userId],
    );
    const sequences = events.map((row) => Number(row.sequence));
    // Added, then per mail: requested and sent.
    expect(sequences).toEqual(Array.from({ length: 1 + 2 * LIMIT }, (_, i) => i + 1));
    const [user] = await queryDatabase<{ sequence: number | string }>(
      database,
      "SELECT sequence FROM users WHERE id = ?",
      [userId],
    );
    expect(Number(user!.sequence)).toBe(sequences.length);
  }, 60_000);
});
