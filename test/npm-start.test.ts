// `npm start` hands SIGTERM and SIGINT to the server (SPEC 16): the request in flight completes, the
// port closes and npm exits 0 — no node process left serving, reparented.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { TestDatabase } from "./helpers/harness";
import { createTestDatabase } from "./helpers/harness";
import { freePort } from "./helpers/ports";
import { eventually } from "./helpers/wait";

const ROOT = path.resolve(__dirname, "..");

interface NpmStart {
  child: ChildProcess;
  port: number;
  output: string[];
  exit: Promise<number | null>;
}

/** `npm start` without its prestart build (globalSetup has built dist/ already). */
async function npmStart(database: TestDatabase): Promise<NpmStart> {
  const port = await freePort();
  const child = spawn("npm", ["start", "--ignore-scripts", "--silent"], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      PORT: String(port),
      DATA_DIR: database.dataDir,
      DATABASE_URL: database.url,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
  }
  const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
  await eventually(
    "npm start to answer /readyz",
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return response?.status === 200 ? true : undefined;
    },
    20_000,
  );
  return { child, port, output, exit };
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

describe("npm start", () => {
  let database: TestDatabase;
  let server: NpmStart | undefined;
  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    if (server && server.child.exitCode === null) server.child.kill("SIGKILL");
    await database.drop();
  });

  it("passes SIGTERM to the server, which finishes the request in flight and exits 0", async () => {
    server = await npmStart(database);
    const { port, output } = server;
    const token = fs.readFileSync(path.join(database.dataDir, "admin.pat"), "utf8").trim();
    const body = JSON.stringify({ query: "query InFlight { me { id } }" });
    const socket = net.connect(port, "127.0.0.1");
    const response = new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
    // Headers and half the body now, the rest after the signal: the request is in flight.
    socket.write(
      [
        "POST /graphql HTTP/1.1",
        `host: 127.0.0.1:${port}`,
        "content-type: application/json",
        `authorization: Bearer ${token}`,
        `content-length: ${Buffer.byteLength(body)}`,
        "connection: close",
        "",
        body.slice(0, 10),
      ].join("\r\n"),
    );
    await eventually("the server to see the request", () =>
      output.join("").includes('"url":"/graphql"') ? true : undefined,
    );
    server.child.kill("SIGTERM");
    await eventually("the listener to close", async () =>
      (await accepts(port)) ? undefined : true,
    );
    // write, not end: Node aborts a request whose client half-closes before the response.
    socket.write(body.slice(10));
    const raw = await response;
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4))).toMatchObject({
      data: { me: { id: expect.any(String) } },
    });
    expect(await server.exit).toBe(0);
    expect(output.join("")).toContain('"signal":"SIGTERM"');
    expect(await accepts(port)).toBe(false);
  });

  it("passes SIGINT to the server too", async () => {
    server = await npmStart(database);
    server.child.kill("SIGINT");
    expect(await server.exit).toBe(0);
    expect(server.output.join("")).toContain('"signal":"SIGINT"');
    expect(await accepts(server.port)).toBe(false);
  });
});
