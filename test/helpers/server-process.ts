// The built server (dist/src/main.js) as a process of its own, for tests with several processes
// sharing one database or a process killed mid-work. Talks only to 127.0.0.1.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort } from "./ports";
import { eventually } from "./wait";

const MAIN = path.resolve(__dirname, "../../dist/src/main.js");

export class ServerProcess {
  /** stdout and stderr, as written. */
  readonly output: string[] = [];
  private readonly exited: Promise<void>;
  private exitCode: number | null | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly dataDir: string,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on("data", (chunk: Buffer) => this.output.push(chunk.toString("utf8")));
    }
    this.exited = new Promise((resolve) => {
      child.once("exit", (code) => {
        this.exitCode = code;
        resolve();
      });
    });
  }

  /** Starts the server with `env` (DATA_DIR required; PORT picked when absent) and waits for /readyz. */
  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const port = env.PORT ?? String(await freePort());
    const dataDir = env.DATA_DIR;
    if (!dataDir) throw new Error("DATA_DIR is required");
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "test",
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
        ...env,
        PORT: port,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const server = new ServerProcess(child, `http://127.0.0.1:${port}`, dataDir);
    try {
      await server.waitReady();
    } catch (error) {
      await server.kill("SIGKILL");
      throw error;
    }
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get log(): string {
    return this.output.join("");
  }

  /** The instance owner's token, written by whichever process bootstrapped the database. */
  adminToken(): string {
    return fs.readFileSync(path.join(this.dataDir, "admin.pat"), "utf8").trim();
  }

  /** Runs one GraphQL operation and returns `data`, failing on any error. */
  async ok<T = any>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
    const response = await fetch(`${this.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data: T; errors?: unknown };
    if (body.errors) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const serverErrors = this.log.split("\n").filter((line) => line.includes('"level":50'));
      throw new Error(
        `GraphQL errors: ${JSON.stringify(body.errors)}\nserver errors:\n${serverErrors.join("\n")}`,
      );
    }
    return body.data;
  }

  /**
   * Sends `signal` and waits for the process to exit (SIGKILL after `forceAfterMs`); resolves to
   * its exit code, null when a signal ended it.
   */
  async kill(signal: NodeJS.Signals = "SIGTERM", forceAfterMs = 10_000): Promise<number | null> {
    if (this.exitCode === undefined) {
      this.child.kill(signal);
      const force = setTimeout(() => this.child.kill("SIGKILL"), forceAfterMs);
      await this.exited;
      clearTimeout(force);
    }
    return this.exitCode ?? null;
  }

  private async waitReady(timeoutMs = 60_000): Promise<void> {
    await eventually(
      `${this.url}/readyz`,
      async () => {
        if (this.exitCode !== undefined) {
          throw new Error(`server exited with ${this.exitCode}:\n${this.log}`);
        }
        const response = await fetch(`${this.url}/readyz`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      },
      timeoutMs,
    );
  }
}
