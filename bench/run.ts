// `npm run bench`: seeds MariaDB, starts the server and the floor as separate processes (and, for
// the create path, the independent check's bare and naive references), drives them with
// autocannon over loopback (interleaved, several rounds), measures the outbox drain, and prints
// the tables that bench/REPORT.md quotes. `--quick` makes a few-second smoke run.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import { loadConfig } from "../src/config";
import { cpuMs, databasePid, load } from "./load";
import type { LoadResult, RequestFactory } from "./load";
import {
  LINK_TABLES,
  SIGNIN_TABLES,
  emptyWrittenTables,
  queueLinkMails,
  recreateDatabase,
  seed,
} from "./seed";
import type { Seeded } from "./seed";
import { loadSignIns, seedPasskeys } from "./signin";
import type { SigninCredential } from "./signin";
import { CountingSink } from "./sink";
import type { BarePoolJob, BarePoolResult } from "./bare-pool";
import {
  ROOT,
  benchServerEnv,
  median,
  readyMessage,
  startProcess,
  stopProcess,
  waitUntilReady,
} from "./processes";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    "drain-mails": { type: "string" },
    profile: { type: "boolean", default: false },
    only: { type: "string" },
    connections: { type: "string" },
    // Where sign-ins come from: "many" (default), each user its own address (X-Forwarded-For,
    // TRUST_PROXY=1), as real users on their own devices; "one": all from 127.0.0.1, so every
    // createSession spends from the same rate-limit row.
    "signin-from": { type: "string", default: "many" },
  },
});
if (!["one", "many"].includes(args["signin-from"])) throw new Error("--signin-from one|many");
const QUICK = args.quick;
const ROUNDS = Number(args.rounds ?? (QUICK ? 1 : 3));
const DURATION = Number(args.duration ?? (QUICK ? 1 : 5));
const WARMUP = QUICK ? 1 : 2;
const CONNECTIONS = args.connections
  ? args.connections.split(",").map(Number)
  : QUICK
    ? [1, 16]
    : [1, 16, 64];
const DRAIN_MAILS = Number(args["drain-mails"] ?? (QUICK ? 200 : 5000));
const ORGS = 10;
const USERS_PER_ORG = QUICK ? 100 : 1000;
/** Users who get a passkey for the sign-in scenario. */
const SIGNIN_USERS = QUICK ? 200 : 2000;

const MARIADB = process.env.BENCH_MARIADB_URL ?? "mysql://root@127.0.0.1:3306";
// Overridable so two checkouts on one machine can bench side by side.
const DATABASE = process.env.BENCH_DATABASE ?? "plk_bench";
const SERVER_PORT = Number(process.env.BENCH_PORT ?? 4411);
const FLOOR_PORT = SERVER_PORT + 1;
/** The independent check's references (bench/reference-bare.ts, bench/reference-naive.ts). */
const BARE_PORT = SERVER_PORT + 2;
const NAIVE_PORT = SERVER_PORT + 3;

type Target = "server" | "floor" | "bare" | "naive";

const CREATE = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { details { sequence changeDate resourceOwner } code { id code } } }`;
const ADD = `mutation { addPasskeyLink { details { sequence changeDate resourceOwner } link expiration } }`;
const SEND = `mutation { sendPasskeyLink { details { sequence changeDate resourceOwner } } }`;
const ME = `{ me { id } }`;

interface Scenario {
  name: string;
  floor: boolean;
  /** Also run against the independent check's bare and naive references (issue 21, item 1). */
  references?: true;
  /** One GraphQL request per unit; or `signin`: one unit is a whole sign-in (two requests). */
  requests?: (seeded: Seeded) => RequestFactory;
  signin?: true;
}

type Bench = Seeded & { credentials: SigninCredential[]; rpId: string; origin: string };

/** Rotates through the seeded users so concurrent requests rarely wait on one user's row lock. */
function rotating<T>(items: T[]): () => T {
  let next = Math.floor(Math.random() * items.length);
  return () => items[next++ % items.length]!;
}

const SCENARIOS: Scenario[] = [
  {
    name: "createPasskeyRegistrationLink (returnCode, admin)",
    floor: true,
    references: true,
    requests: (seeded) => {
      const user = rotating(seeded.users);
      return () => ({
        token: seeded.adminToken,
        body: JSON.stringify({
          query: CREATE,
          variables: { input: { userId: user().id, returnCode: true } },
        }),
      });
    },
  },
  {
    name: "addPasskeyLink (self)",
    floor: false,
    requests: (seeded) => {
      const user = rotating(seeded.users);
      return () => ({ token: user().token, body: JSON.stringify({ query: ADD }) });
    },
  },
  {
    name: "sendPasskeyLink (self, mail to a local sink)",
    floor: false,
    requests: (seeded) => {
      const user = rotating(seeded.users);
      return () => ({ token: user().token, body: JSON.stringify({ query: SEND }) });
    },
  },
  {
    name: "{ me { id } }",
    floor: false,
    requests: (seeded) => {
      const user = rotating(seeded.users);
      return () => ({ token: user().token, body: JSON.stringify({ query: ME }) });
    },
  },
  {
    // createSession + setSession, but no "create" in the name: `--only create` keeps meaning
    // the link scenario.
    name: "signin: discoverable passkey sign-in (2 requests: new session, passkey check)",
    floor: true,
    signin: true,
  },
];

const selected = (scenario: Scenario) => !args.only || scenario.name.includes(args.only);

function run(
  scenario: Scenario,
  bench: Bench,
  pid: number,
  port: number,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  if (scenario.signin) {
    return loadSignIns(pid, port, bench.credentials, connections, seconds, {
      rpId: bench.rpId,
      origin: bench.origin,
      forwardedFor: args["signin-from"] === "many",
    });
  }
  return load(pid, port, scenario.requests!(bench), connections, seconds);
}

function serverEnv(sinkUrl: string, masterKey: string): NodeJS.ProcessEnv {
  return {
    ...benchServerEnv({
      port: SERVER_PORT,
      dataDir: path.join(ROOT, ".bench/data"),
      databaseUrl: `${MARIADB}/${DATABASE}`,
      sinkUrl,
      masterKey,
    }),
    // Outbox settings to try (OUTBOX_BATCH_SIZE=50 npm run bench -- --only drain) reach the server.
    ...Object.fromEntries(
      Object.entries(process.env).filter(([name]) => /^(OUTBOX_|SMTP_MAX_CONNECTIONS$)/.test(name)),
    ),
  };
}

function startProfiled(script: string, argv: string[], env: NodeJS.ProcessEnv) {
  return startProcess(
    script,
    argv,
    env,
    args.profile ? path.join(ROOT, ".bench/profiles") : undefined,
  );
}

/** Peak (VmHWM) or current (VmRSS) resident set size of a process, in MB. */
function rssMb(pid: number, field: "VmHWM" | "VmRSS" = "VmHWM"): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function measureDrain(
  config: ReturnType<typeof loadConfig>,
  seeded: Seeded,
  sink: CountingSink,
  env: NodeJS.ProcessEnv,
) {
  const users = seeded.users.slice(0, DRAIN_MAILS);
  // The last round's sent mails too: each round claims from the same table size.
  await emptyWrittenTables(MARIADB, DATABASE, [...LINK_TABLES, "mail_outbox"]);
  await queueLinkMails(config, users);
  const before = sink.count;
  const server = startProfiled("src/main.js", [], env);
  await waitUntilReady(`http://127.0.0.1:${SERVER_PORT}/readyz`);
  const ready = Date.now();
  const database = databasePid();
  const [serverCpu0, databaseCpu0] = [cpuMs(server.pid!), cpuMs(database)];
  let firstMail: number | undefined;
  while (sink.count - before < users.length) {
    if (Date.now() - ready > 300_000) throw new Error("outbox drain took over 5 minutes");
    if (firstMail === undefined && sink.count > before) firstMail = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const seconds = (Date.now() - ready) / 1000;
  const steady = (Date.now() - (firstMail ?? ready)) / 1000;
  // CPU per mail from readiness to the last mail: the server's, and MariaDB's for the claims and
  // records (the bare pool has no database).
  const serverCpuPerMail = (cpuMs(server.pid!) - serverCpu0) / users.length;
  const databaseCpuPerMail = (cpuMs(database) - databaseCpu0) / users.length;
  const rss = rssMb(server.pid!);
  await stopProcess(server);
  return {
    mails: users.length,
    seconds,
    perSecond: users.length / seconds,
    steady,
    rss,
    serverCpuPerMail,
    databaseCpuPerMail,
  };
}

/**
 * The drain's baseline (issue 21): a bare nodemailer pool with our transport's options and pool
 * size sends as many mails of the same shape (the sink's first drained mail, parsed) to the sink,
 * from a process of its own as the server is.
 */
async function measureBarePool(sink: CountingSink, count: number, maxConnections: number) {
  const { simpleParser } = await import("mailparser");
  const first = await simpleParser(sink.first ?? "");
  const job: BarePoolJob = {
    url: sink.url,
    count,
    maxConnections,
    mail: {
      from: first.from?.text ?? "bench@bench.example",
      subject: first.subject ?? "",
      html: typeof first.html === "string" ? first.html : "",
      text: first.text ?? "",
    },
  };
  const before = sink.count;
  const child = startProfiled("bench/bare-pool.js", [], { PATH: process.env.PATH });
  const result = await new Promise<BarePoolResult>((resolve, reject) => {
    child.once("message", (message) => resolve(message as BarePoolResult));
    child.once("exit", (code) => reject(new Error(`bare pool exited with ${code}`)));
    child.send(job);
  });
  // It exits by itself once it has answered (a profile, under --profile, is written at that exit).
  if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve));
  if (result.failed > 0 || sink.count - before !== count) {
    throw new Error(`bare pool: ${result.failed} sends failed, ${sink.count - before} arrived`);
  }
  const seconds = (result.finishedAt - result.startedAt) / 1000;
  return {
    mails: count,
    maxConnections,
    seconds,
    perSecond: count / seconds,
    cpuPerMail: result.cpuMs / count,
  };
}

async function main(): Promise<void> {
  const masterKey = randomBytes(32).toString("base64");
  const sink = await CountingSink.start();
  const env = serverEnv(sink.url, masterKey);
  fs.rmSync(path.join(ROOT, ".bench"), { recursive: true, force: true });
  const config = loadConfig(env);
  console.log(`seeding ${ORGS} organizations x ${USERS_PER_ORG} users into ${DATABASE} ...`);
  await recreateDatabase(MARIADB, DATABASE);
  const seeded = await seed(config, ORGS, USERS_PER_ORG);
  const bench: Bench = {
    ...seeded,
    credentials: SCENARIOS.some((s) => s.signin && selected(s))
      ? await seedPasskeys(`${MARIADB}/${DATABASE}`, seeded.users.slice(0, SIGNIN_USERS))
      : [],
    rpId: config.webauthn.rpId,
    origin: config.webauthn.origins[0]!,
  };

  const server = startProfiled("src/main.js", [], env);
  const floor = startProfiled(
    "bench/floor-server.js",
    [String(FLOOR_PORT), `${MARIADB}/${DATABASE}`],
    env,
  );
  const withReferences = SCENARIOS.some((s) => s.references && selected(s));
  const references = withReferences
    ? {
        bare: startProfiled(
          "bench/reference-bare.js",
          [String(BARE_PORT), `${MARIADB}/${DATABASE}`],
          env,
        ),
        naive: startProfiled(
          "bench/reference-naive.js",
          [String(NAIVE_PORT), `${MARIADB}/${DATABASE}`],
          env,
        ),
      }
    : undefined;
  // Listening from the start: a "ready" sent while the server is still starting is not lost.
  const others = [floor, references?.bare, references?.naive].flatMap((child) =>
    child ? [readyMessage(child)] : [],
  );
  await waitUntilReady(`http://127.0.0.1:${SERVER_PORT}/readyz`);
  await Promise.all(others);
  const processes = { server, floor, ...references };
  const portOf: Record<Target, number> = {
    server: SERVER_PORT,
    floor: FLOOR_PORT,
    bare: BARE_PORT,
    naive: NAIVE_PORT,
  };
  const targetsOf = (scenario: Scenario): Target[] => [
    ...(scenario.floor ? (["floor"] as const) : []),
    "server",
    ...(scenario.references ? (["bare", "naive"] as const) : []),
  ];

  let serverRss: number | undefined;
  const results: {
    scenario: string;
    target: Target;
    connections: number;
    round: number;
    result: LoadResult;
  }[] = [];
  try {
    // Warm every process up (JIT, pools, buffer pool) before anything is measured.
    for (const scenario of SCENARIOS.filter(selected)) {
      for (const target of targetsOf(scenario)) {
        const port = portOf[target];
        const pid = processes[target]!.pid!;
        await run(scenario, bench, pid, port, 16, QUICK ? 1 : 5);
      }
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const scenario of SCENARIOS.filter(selected)) {
        for (const connections of CONNECTIONS) {
          const targets = targetsOf(scenario);
          for (const target of round % 2 === 0 ? [...targets].reverse() : targets) {
            const port = portOf[target];
            const pid = processes[target]!.pid!;
            // Each run starts from the same tables, whatever ran before it.
            await emptyWrittenTables(
              MARIADB,
              DATABASE,
              scenario.signin ? SIGNIN_TABLES : LINK_TABLES,
            );
            await run(scenario, bench, pid, port, connections, WARMUP);
            const result = await run(scenario, bench, pid, port, connections, DURATION);
            results.push({ scenario: scenario.name, target, connections, round, result });
            console.log(
              `round ${round} ${target.padEnd(6)} ${scenario.name} c=${connections}: ${result.rps.toFixed(0)} req/s p50 ${result.p50} ms p99 ${result.p99} ms errors ${result.errors} cpu ${result.cpuMsPerRequest.toFixed(2)} ms/req (sys ${result.sysMsPerRequest.toFixed(2)}) rss ${rssMb(pid, "VmRSS")}/${rssMb(pid)} MB`,
            );
          }
        }
      }
    }
    serverRss = rssMb(server.pid!);
  } finally {
    await stopProcess(server);
    await stopProcess(floor);
    if (references) await Promise.all([references.bare, references.naive].map(stopProcess));
  }

  // The drain against the bare pool, interleaved as the load runs are (round 2 starts with the
  // bare pool): a single pair moved from 0.64x to 0.95x between runs minutes apart.
  const drains: Awaited<ReturnType<typeof measureDrain>>[] = [];
  const bares: Awaited<ReturnType<typeof measureBarePool>>[] = [];
  if (DRAIN_MAILS > 0) {
    console.log(`\nmeasuring the outbox drain of ${DRAIN_MAILS} mails, ${ROUNDS} round(s) ...`);
    for (let round = 1; round <= ROUNDS; round++) {
      // Round 1 drains first: the bare pool sends copies of the first mail the sink received.
      const order = round % 2 === 0 ? ["bare", "drain"] : ["drain", "bare"];
      for (const which of order) {
        if (which === "drain") {
          const drain = await measureDrain(config, seeded, sink, env);
          drains.push(drain);
          console.log(
            `round ${round} outbox drain: ${drain.mails} mails in ${drain.seconds.toFixed(1)} s from readiness = ${drain.perSecond.toFixed(0)} mails/s (first to last mail ${drain.steady.toFixed(1)} s; CPU per mail: server ${drain.serverCpuPerMail.toFixed(2)} ms, MariaDB ${drain.databaseCpuPerMail.toFixed(2)} ms; server peak RSS ${drain.rss} MB)`,
          );
        } else {
          const bare = await measureBarePool(sink, DRAIN_MAILS, config.smtpMaxConnections);
          bares.push(bare);
          console.log(
            `round ${round} bare nodemailer pool (${bare.maxConnections} connections), same mails and sink: ${bare.mails} mails in ${bare.seconds.toFixed(1)} s = ${bare.perSecond.toFixed(0)} mails/s (CPU per mail ${bare.cpuPerMail.toFixed(2)} ms)`,
          );
        }
      }
    }
  }
  await sink.stop();

  /** The measured runs of one cell (a scenario at a connection count, on one target). */
  const runsOf = (scenario: Scenario, connections: number, target: Target) =>
    results
      .filter(
        (r) => r.scenario === scenario.name && r.connections === connections && r.target === target,
      )
      .map((r) => r.result);
  const lines: string[] = [];
  lines.push(
    `| scenario | conns | server req/s | p50 ms | p99 ms | errors | CPU ms/req | floor req/s | floor p99 ms | floor CPU ms/req | throughput vs floor | p99 vs floor |`,
  );
  lines.push(`|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const scenario of SCENARIOS) {
    for (const connections of CONNECTIONS) {
      const server = runsOf(scenario, connections, "server");
      const floor = runsOf(scenario, connections, "floor");
      if (server.length === 0) continue;
      const rps = median(server.map((r) => r.rps));
      const p50 = median(server.map((r) => r.p50));
      const p99 = median(server.map((r) => r.p99));
      const errors = server.reduce((sum, r) => sum + r.errors, 0);
      const cells = [
        scenario.name,
        connections,
        rps.toFixed(0),
        p50.toFixed(1),
        p99.toFixed(1),
        errors,
        median(server.map((r) => r.cpuMsPerRequest)).toFixed(2),
      ];
      if (floor.length > 0) {
        const floorRps = median(floor.map((r) => r.rps));
        const floorP99 = median(floor.map((r) => r.p99));
        cells.push(
          floorRps.toFixed(0),
          floorP99.toFixed(1),
          median(floor.map((r) => r.cpuMsPerRequest)).toFixed(2),
          `${(rps / floorRps).toFixed(2)}x`,
          `${(p99 / floorP99).toFixed(2)}x`,
        );
      } else {
        cells.push("", "", "", "", "");
      }
      lines.push(`| ${cells.join(" | ")} |`);
    }
  }
  console.log(`\nmedians over ${ROUNDS} round(s) of ${DURATION}s after ${WARMUP}s warm-up\n`);
  console.log(lines.join("\n"));
  console.log(
    `(signin: the "req/s", latency and CPU columns are per sign-in, two requests; from ${args["signin-from"] === "many" ? "one address per user" : "one address"})`,
  );

  // The independent check (issue 21, item 1): the server against references that do less.
  const checks: string[] = [];
  for (const scenario of SCENARIOS.filter((s) => s.references)) {
    for (const connections of CONNECTIONS) {
      const of = (target: Target) => {
        const runs = runsOf(scenario, connections, target);
        return runs.length === 0
          ? undefined
          : {
              rps: median(runs.map((r) => r.rps)),
              cpu: median(runs.map((r) => r.cpuMsPerRequest)),
            };
      };
      const [server, bare, naive] = [of("server"), of("bare"), of("naive")];
      if (!server || !bare || !naive) continue;
      checks.push(
        `| ${connections} | ${server.rps.toFixed(0)} | ${bare.rps.toFixed(0)} | ${naive.rps.toFixed(0)} | ${(server.rps / bare.rps).toFixed(2)}x | ${(server.rps / naive.rps).toFixed(2)}x | ${server.cpu.toFixed(2)} | ${bare.cpu.toFixed(2)} | ${naive.cpu.toFixed(2)} |`,
      );
    }
  }
  if (checks.length > 0) {
    console.log(
      `\nindependent check, createPasskeyRegistrationLink (returnCode): the server against a bare node:http + mysql2 reference and a naive Apollo + type-graphql + TypeORM one, both doing less (no token, permission, lock or event)\n`,
    );
    console.log(
      `| conns | server req/s | bare req/s | naive req/s | vs bare | vs naive | server CPU ms/req | bare CPU ms/req | naive CPU ms/req |`,
    );
    console.log(`|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
    console.log(checks.join("\n"));
  }
  console.log(`\nserver peak RSS during the load runs: ${serverRss ?? "?"} MB`);
  if (drains.length > 0) {
    const range = (values: number[], digits = 0) =>
      `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
    const drainRates = drains.map((d) => d.perSecond);
    const bareRates = bares.map((b) => b.perSecond);
    const ratios = drains.map((d, i) => d.perSecond / bares[i]!.perSecond);
    console.log(
      `outbox drain, median of ${drains.length} round(s): ${median(drainRates).toFixed(0)} mails/s (${range(drainRates)}), CPU per mail: server ${median(drains.map((d) => d.serverCpuPerMail)).toFixed(2)} ms, MariaDB ${median(drains.map((d) => d.databaseCpuPerMail)).toFixed(2)} ms; server peak RSS ${Math.max(...drains.map((d) => d.rss))} MB`,
    );
    console.log(
      `bare nodemailer pool, median: ${median(bareRates).toFixed(0)} mails/s (${range(bareRates)}), CPU per mail ${median(bares.map((b) => b.cpuPerMail)).toFixed(2)} ms; outbox drain vs bare pool, median of the rounds' ratios ${median(ratios).toFixed(2)}x (${range(ratios, 2)})`,
    );
  }
  fs.mkdirSync(path.join(ROOT, ".bench"), { recursive: true });
  fs.writeFileSync(
    path.join(ROOT, ".bench/results.json"),
    JSON.stringify(
      { rounds: ROUNDS, duration: DURATION, results, serverRss, drains, bares },
      null,
      2,
    ),
  );
  const totalErrors = results.reduce((sum, r) => sum + r.result.errors, 0);
  if (totalErrors > 0) {
    console.error(`\n${totalErrors} requests failed`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
