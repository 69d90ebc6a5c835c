// Issue 18, item 9: anonymous callers send thousands of distinct, valid, comment-padded documents;
// the server's heap must stay flat. Starts the built server on a fresh SQLite file (the flood
// never reaches the database), sends the documents and samples `nodejs_heap_size_used_bytes`
// from /metrics. Run: npm run build && node dist/bench/anonymous-flood.js
// FLOOD_REQUESTS (3000), FLOOD_QUERY_CHARS (15000), FLOOD_CONNECTIONS (8); FLOOD_SERVER_MAIN runs
// another build of the server (e.g. main's dist/src/main.js, for the numbers before the fix).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, startProcess, stopProcess, waitUntilReady } from "./processes";

const REQUESTS = Number(process.env.FLOOD_REQUESTS ?? 3000);
const QUERY_CHARS = Number(process.env.FLOOD_QUERY_CHARS ?? 15_000);
const CONNECTIONS = Number(process.env.FLOOD_CONNECTIONS ?? 8);
const PORT = 4700 + Math.floor(Math.random() * 200);

/** `{ me { id } }` padded with short comment lines, the costliest padding per character. */
function document(n: number): string {
  const head = `{ me { id } } # ${n}\n`;
  return head + "#\n".repeat(Math.max(0, Math.floor((QUERY_CHARS - head.length) / 2)));
}

async function heapMb(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const bytes = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]);
  return Math.round(bytes / 1024 / 1024);
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "plk-flood-"));
  const script = process.env.FLOOD_SERVER_MAIN
    ? path.relative(path.join(ROOT, "dist"), path.resolve(process.env.FLOOD_SERVER_MAIN))
    : "src/main.js";
  const server = startProcess(script, [], {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    PORT: String(PORT),
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    MASTER_KEY: randomBytes(32).toString("base64"),
  });
  const base = `http://127.0.0.1:${PORT}`;
  try {
    await waitUntilReady(`${base}/readyz`);
    const samples: [number, number][] = [[0, await heapMb(base)]];
    const outcomes = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const n = next++;
        const response = await fetch(`${base}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: document(n) }),
        });
        const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
        const outcome = body.errors?.[0]?.extensions?.code ?? "OK";
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if ((n + 1) % 500 === 0) samples.push([n + 1, await heapMb(base)]);
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    samples.push([REQUESTS, await heapMb(base)]);
    console.log(
      `${REQUESTS} documents of ${document(0).length} characters, ${CONNECTIONS} connections`,
    );
    console.log(`answers: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    console.log("| requests | heap used (MB) |\n| -------: | -------------: |");
    for (const [requests, mb] of samples) console.log(`| ${requests} | ${mb} |`);
  } finally {
    await stopProcess(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
