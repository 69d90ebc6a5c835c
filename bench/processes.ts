// Child processes of a benchmark: the built server (or the floor) forked, its readiness, its stop,
// and the median the reports quote.
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");

const flags = (value: string | undefined) => value?.split(" ").filter(Boolean) ?? [];

/** Forks `script` (relative to dist/); `profileDir` turns on --cpu-prof. */
export function startProcess(
  script: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  profileDir?: string,
): ChildProcess {
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  return fork(path.join(ROOT, "dist", script), argv, {
    execArgv: [
      ...profile,
      ...flags(process.env.BENCH_NODE_FLAGS),
      // Flags to try on the server alone (BENCH_SERVER_NODE_FLAGS="--max-semi-space-size=32").
      ...(script === "src/main.js" ? flags(process.env.BENCH_SERVER_NODE_FLAGS) : []),
    ],
    env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

/**
 * Resolves when a bare server sends "ready" over IPC; rejects if it exits first. Call it right
 * after starting the process: a message sent before anyone listens is lost.
 */
export function readyMessage(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) =>
      reject(new Error(`${child.spawnargs.join(" ")} exited (${code}) before it was ready`));
    child.once("exit", exited);
    child.once("message", () => {
      child.off("exit", exited);
      resolve();
    });
  });
}

export async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become ready`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The server's settings in every benchmark: production mode, quiet, never rate-limited. */
export function benchServerEnv(server: {
  port: number;
  dataDir: string;
  databaseUrl: string;
  sinkUrl: string;
  masterKey: string;
}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    EXTERNAL_URL: "https://bench.example",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
    PORT: String(server.port),
    HOST: "127.0.0.1",
    DATA_DIR: server.dataDir,
    DATABASE_URL: server.databaseUrl,
    MASTER_KEY: server.masterKey,
    SMTP_URL: server.sinkUrl,
    MAIL_FROM: "Bench <bench@bench.example>",
    SEND_RATE_LIMIT: "10000",
    // The sign-in scenario: budgets no run comes near, and one trusted proxy hop so each
    // simulated user can sign in from its own address (X-Forwarded-For). Nothing else reads it.
    SIGNIN_RATE_LIMIT: "1000000",
    SIGNIN_FAILURE_LIMIT: "1000000",
    TRUST_PROXY: "1",
    PASSKEY_CODE_MAX_ACTIVE: "1000000",
    OUTBOX_POLL_MS: "100",
  };
}
