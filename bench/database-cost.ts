// What MariaDB itself spends on a create's statements (issue 21): each part of the transaction
// the server and the floor send, and the bare reference's one statement, run by 16 concurrent
// mysql2 connections with nothing in between, and the database process's CPU time per operation
// read from /proc. Needs the database `npm run bench` seeded, and MariaDB on this machine:
//   npm run build && node dist/bench/database-cost.js
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import type mysql from "mysql2/promise";
import { uuidV7 } from "../src/core/clock";
import {
  BARE_CODE_INSERT,
  BUMP_EVENT_COMMIT,
  CALLER_WITH_ROLES,
  GUARDED_CODE_INSERT,
  START_AND_LOCK_USER,
} from "./create-sql";
import { createPools } from "./json-server";
import { cpuMs, databasePid } from "./load";
import { median } from "./processes";
import { emptyWrittenTables } from "./seed";

const MARIADB = process.env.BENCH_MARIADB_URL ?? "mysql://root@127.0.0.1:3306";
const DATABASE = process.env.BENCH_DATABASE ?? "plk_bench";
const CONNECTIONS = 16;
const ROUNDS = 3;
const SECONDS = 4;

/** The code's INSERT without the active-code guard, to price the guard. */
const PLAIN_CODE_INSERT =
  "INSERT INTO passkey_codes (id, user_id, organization_id, code_hash, medium, state, failed_checks, creator, granted_by, created_at, expires_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)";

interface User {
  id: string;
  organization_id: string;
}

async function main(): Promise<void> {
  const { pool, batches } = createPools(`${MARIADB}/${DATABASE}`, CONNECTIONS);
  const [users] = await pool.query<(User & mysql.RowDataPacket)[]>(
    "SELECT id, organization_id FROM users WHERE type = 'HUMAN'",
  );
  const [[found]] = await pool.query<mysql.RowDataPacket[]>(
    "SELECT t.token_hash AS tokenHash, t.user_id AS userId FROM personal_access_tokens t INNER JOIN memberships m ON m.user_id = t.user_id WHERE m.role = 'IAM_OWNER' LIMIT 1",
  );
  if (users.length === 0 || !found) throw new Error(`seed ${DATABASE} first: npm run bench`);
  const owner = found;
  let next = 0;
  const user = () => users[next++ % users.length]!;
  const key = randomBytes(32);

  const callerLookup = () => pool.query(CALLER_WITH_ROLES, [owner.tokenHash]);
  async function transaction(parts: { insert?: "guarded" | "plain"; finish?: boolean }) {
    const target = user();
    const connection = await batches.getConnection();
    try {
      const [results] = await connection.query<mysql.RowDataPacket[][]>(START_AND_LOCK_USER, [
        target.id,
      ]);
      const sequence = Number(results.at(-1)![0]!.sequence) + 1;
      const now = new Date();
      const columns = [
        uuidV7.next(),
        target.id,
        target.organization_id,
        createHmac("sha256", key).update(randomUUID()).digest("hex"),
        "RETURNED",
        "ACTIVE",
        0,
        owner.userId,
        owner.userId,
        now,
        new Date(now.getTime() + 3_600_000),
      ];
      if (parts.insert === "guarded") {
        await connection.query(GUARDED_CODE_INSERT, [
          ...columns,
          target.id,
          "ACTIVE",
          now,
          1_000_000,
        ]);
      } else if (parts.insert === "plain") {
        await connection.query(PLAIN_CODE_INSERT, columns);
      }
      if (parts.finish === false) {
        await connection.query("COMMIT");
        return;
      }
      await connection.query(BUMP_EVENT_COMMIT, [
        1,
        target.id,
        "user",
        target.id,
        sequence,
        "user.human.passwordless.initialization.code.added",
        "{}",
        owner.userId,
        target.organization_id,
        now,
      ]);
    } catch (error) {
      await connection.query("ROLLBACK");
      throw error;
    } finally {
      connection.release();
    }
  }
  const variants: [string, () => Promise<unknown>][] = [
    [
      "create: caller lookup + transaction (4 exchanges)",
      async () => {
        await callerLookup();
        await transaction({ insert: "guarded" });
      },
    ],
    ["transaction alone (3 exchanges)", () => transaction({ insert: "guarded" })],
    ["transaction, code INSERT without its guard", () => transaction({ insert: "plain" })],
    ["START, locking read, COMMIT", () => transaction({ finish: false })],
    ["caller lookup alone", callerLookup],
    [
      "the bare reference's INSERT … SELECT (autocommit)",
      () => {
        const target = user();
        const now = new Date();
        return pool.query(BARE_CODE_INSERT, [
          randomUUID(),
          createHmac("sha256", key).update(randomUUID()).digest("hex"),
          now,
          new Date(now.getTime() + 3_600_000),
          target.id,
        ]);
      },
    ],
  ];

  const database = databasePid();
  const results = new Map<string, { rate: number; database: number; client: number }[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, operation] of variants) {
      await emptyWrittenTables(MARIADB, DATABASE);
      let stop = false;
      let count = 0;
      const worker = async () => {
        while (!stop) {
          await operation();
          count++;
        }
      };
      const drive = async (seconds: number) => {
        stop = false;
        const workers = Array.from({ length: CONNECTIONS }, worker);
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
        stop = true;
        await Promise.all(workers);
      };
      await drive(1);
      count = 0;
      const [database0, client0, started] = [cpuMs(database), cpuMs(process.pid), Date.now()];
      await drive(SECONDS);
      const elapsed = (Date.now() - started) / 1000;
      const run = {
        rate: count / elapsed,
        database: ((cpuMs(database) - database0) * 1000) / count,
        client: ((cpuMs(process.pid) - client0) * 1000) / count,
      };
      results.set(name, [...(results.get(name) ?? []), run]);
      console.log(
        `round ${round} ${name}: ${run.rate.toFixed(0)}/s, database ${run.database.toFixed(0)} µs/op, client ${run.client.toFixed(0)} µs/op`,
      );
    }
  }
  await emptyWrittenTables(MARIADB, DATABASE);
  await Promise.all([pool.end(), batches.end()]);

  console.log(
    `\nmedians over ${ROUNDS} rounds of ${SECONDS}s at ${CONNECTIONS} connections, tables emptied before each run\n`,
  );
  console.log("| operation | per second | database CPU µs/op | client CPU µs/op |");
  console.log("|---|---:|---:|---:|");
  for (const [name] of variants) {
    const runs = results.get(name)!;
    console.log(
      `| ${name} | ${median(runs.map((r) => r.rate)).toFixed(0)} | ${median(runs.map((r) => r.database)).toFixed(0)} | ${median(runs.map((r) => r.client)).toFixed(0)} |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
