// `npm run bench:galera`: the create-link mutation and the outbox drain with the server on one
// Galera node and with one server process per node on three, interleaved round by round, with the
// cluster's conflict counters. Needs the local cluster (scripts/galera-cluster.sh start).
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { loadConfig } from "../src/config";
import { load } from "./load";
import type { LoadResult } from "./load";
import {
  ROOT,
  benchServerEnv,
  median,
  startProcess,
  stopProcess,
  waitUntilReady,
} from "./processes";
import { queueLinkMails, recreateDatabase, seed } from "./seed";
import type { Seeded } from "./seed";
import { CountingSink } from "./sink";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    "drain-mails": { type: "string", default: "1000" },
    connections: { type: "string", default: "15" },
  },
});
const ROUNDS = Number(args.rounds);
const DURATION = Number(args.duration);
const DRAIN_MAILS = Number(args["drain-mails"]);
const CONNECTIONS = Number(args.connections);
const NODES = (
  process.env.BENCH_GALERA_URLS ??
  "mysql://root@127.0.0.1:3311,mysql://root@127.0.0.1:3312,mysql://root@127.0.0.1:3313"
).split(",");
const DATABASE = "plk_bench_galera";
const FIRST_PORT = 4421;
const CREATE = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { details { sequence } code { id } } }`;

type Setup = "1 node" | "3 nodes";
type Seeding = Seeded & { masterKey: string };
interface Conflicts {
  certFailures: number;
  bfAborts: number;
}
interface Row {
  setup: Setup;
  round: number;
  load: LoadResult;
  loadConflicts: Conflicts;
  drainPerSecond: number;
  drainConflicts: Conflicts;
}

/** Cluster-wide sums of the counters of conflicts between nodes. */
async function conflicts(): Promise<Conflicts> {
  const sum = { certFailures: 0, bfAborts: 0 };
  for (const url of NODES) {
    const connection = await mysql.createConnection(url);
    const [rows] = await connection.query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')",
    );
    for (const { Variable_name: name, Value: value } of rows as {
      Variable_name: string;
      Value: string;
    }[]) {
      if (name === "wsrep_local_cert_failures") sum.certFailures += Number(value);
      else sum.bfAborts += Number(value);
    }
    await connection.end();
  }
  return sum;
}

const since = (before: Conflicts, after: Conflicts): Conflicts => ({
  certFailures: after.certFailures - before.certFailures,
  bfAborts: after.bfAborts - before.bfAborts,
});

function env(node: number, port: number, sinkUrl: string, masterKey: string): NodeJS.ProcessEnv {
  return benchServerEnv({
    port,
    dataDir: path.join(ROOT, `.bench/galera-${node}`),
    databaseUrl: `${NODES[node]}/${DATABASE}`,
    sinkUrl,
    masterKey,
  });
}

async function startServers(count: number, sinkUrl: string, key: string): Promise<ChildProcess[]> {
  const servers = Array.from({ length: count }, (_, node) =>
    startProcess("src/main.js", [], env(node, FIRST_PORT + node, sinkUrl, key)),
  );
  for (let node = 0; node < count; node++) {
    await waitUntilReady(`http://127.0.0.1:${FIRST_PORT + node}/readyz`);
  }
  return servers;
}

/** The create-link mutation for rotating users, the connections split evenly over the servers. */
async function createLinks(servers: ChildProcess[], seeded: Seeded): Promise<LoadResult> {
  let next = Math.floor(Math.random() * seeded.users.length);
  const request = () => ({
    token: seeded.adminToken,
    body: JSON.stringify({
      query: CREATE,
      variables: {
        input: { userId: seeded.users[next++ % seeded.users.length]!.id, returnCode: true },
      },
    }),
  });
  const each = Math.max(1, Math.round(CONNECTIONS / servers.length));
  const results = await Promise.all(
    servers.map((server, i) => load(server.pid!, FIRST_PORT + i, request, each, DURATION)),
  );
  return {
    rps: results.reduce((sum, r) => sum + r.rps, 0),
    p50: median(results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    cpuMsPerRequest: median(results.map((r) => r.cpuMsPerRequest)),
    sysMsPerRequest: median(results.map((r) => r.sysMsPerRequest)),
  };
}

/** Queues mails with no server up, then times the servers' workers delivering all of them. */
async function drain(count: number, seeded: Seeded, sink: CountingSink, key: string) {
  const users = seeded.users.slice(0, DRAIN_MAILS);
  await queueLinkMails(loadConfig(env(0, FIRST_PORT, sink.url, key)), users);
  const before = await conflicts();
  const delivered = sink.count;
  const servers = await startServers(count, sink.url, key);
  const started = Date.now();
  while (sink.count - delivered < users.length) {
    if (Date.now() - started > 300_000) throw new Error("outbox drain took over 5 minutes");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const perSecond = users.length / ((Date.now() - started) / 1000);
  await Promise.all(servers.map(stopProcess));
  return { perSecond, conflicts: since(before, await conflicts()) };
}

async function measure(setup: Setup, round: number, seeded: Seeding, sink: CountingSink) {
  const key = seeded.masterKey;
  const count = setup === "1 node" ? 1 : NODES.length;
  const servers = await startServers(count, sink.url, key);
  let result: LoadResult;
  let loadConflicts: Conflicts;
  try {
    await createLinks(servers, seeded);
    const before = await conflicts();
    result = await createLinks(servers, seeded);
    loadConflicts = since(before, await conflicts());
  } finally {
    await Promise.all(servers.map(stopProcess));
  }
  const drained = await drain(count, seeded, sink, key);
  return {
    setup,
    round,
    load: result,
    loadConflicts,
    drainPerSecond: drained.perSecond,
    drainConflicts: drained.conflicts,
  };
}

function table(rows: Row[]): string {
  const lines = [
    "| setup | create-link req/s | p50 ms | p99 ms | errors | cert failures | BF aborts | drain mails/s | cert failures | BF aborts | req/s vs 1 node | drain vs 1 node |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const of = (setup: Setup) => rows.filter((row) => row.setup === setup);
  const base = of("1 node");
  for (const setup of ["1 node", "3 nodes"] as const) {
    const mine = of(setup);
    const m = (pick: (row: Row) => number) => median(mine.map(pick));
    const total = (pick: (row: Row) => number) => mine.reduce((sum, row) => sum + pick(row), 0);
    const rps = m((row) => row.load.rps);
    const drainRate = m((row) => row.drainPerSecond);
    lines.push(
      `| ${setup} | ${rps.toFixed(0)} | ${m((r) => r.load.p50).toFixed(1)} | ${m((r) => r.load.p99).toFixed(1)} | ${total((r) => r.load.errors)} | ${total((r) => r.loadConflicts.certFailures)} | ${total((r) => r.loadConflicts.bfAborts)} | ${drainRate.toFixed(0)} | ${total((r) => r.drainConflicts.certFailures)} | ${total((r) => r.drainConflicts.bfAborts)} | ${(rps / median(base.map((r) => r.load.rps))).toFixed(2)}x | ${(drainRate / median(base.map((r) => r.drainPerSecond))).toFixed(2)}x |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const masterKey = randomBytes(32).toString("base64");
  const sink = await CountingSink.start();
  fs.rmSync(path.join(ROOT, ".bench"), { recursive: true, force: true });
  console.log(`seeding ${DATABASE} through node 1 ...`);
  await recreateDatabase(NODES[0]!, DATABASE);
  const seeded = {
    ...(await seed(loadConfig(env(0, FIRST_PORT, sink.url, masterKey)), 10, 200)),
    masterKey,
  };
  const rows: Row[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order: Setup[] = round % 2 ? ["1 node", "3 nodes"] : ["3 nodes", "1 node"];
    for (const setup of order) {
      const row = await measure(setup, round, seeded, sink);
      rows.push(row);
      console.log(
        `round ${round} ${setup}: ${row.load.rps.toFixed(0)} req/s p99 ${row.load.p99} ms errors ${row.load.errors} conflicts ${JSON.stringify(row.loadConflicts)}; drain ${row.drainPerSecond.toFixed(0)} mails/s conflicts ${JSON.stringify(row.drainConflicts)}`,
      );
    }
  }
  await sink.stop();
  console.log(
    `\nmedians over ${ROUNDS} round(s); create-link: ${DURATION} s at ${CONNECTIONS} connections after a warm-up run; drain: ${DRAIN_MAILS} mails; conflict counts are totals over the rounds\n`,
  );
  console.log(table(rows));
  if (rows.some((row) => row.load.errors > 0)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
