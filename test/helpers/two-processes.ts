// Two server processes on one database: on two Galera nodes in the cluster run (the second uses
// the database's second URL), on one MariaDB server otherwise. Each process has its own data
// directory, as two machines would.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { TestDatabase } from "./harness";
import { createTestDatabase } from "./harness";
import { ServerProcess } from "./server-process";

const ADD_ORG = `mutation($input: AddOrganizationInput!) { addOrganization(input: $input) { organizationId } }`;
const ADD_HUMAN = `mutation($input: AddHumanUserInput!) { addHumanUser(input: $input) { userId } }`;

export class TwoProcesses {
  database: TestDatabase | undefined;
  readonly servers: ServerProcess[] = [];
  private readonly dirs: string[] = [];

  /**
   * Creates the database, lets `prepare` work on it first (e.g. migrate in-process), then starts
   * both processes with `env`. Call stop() in afterAll, whether or not this finished.
   */
  async start(
    env: Record<string, string>,
    prepare?: (database: TestDatabase) => Promise<void>,
  ): Promise<[ServerProcess, ServerProcess]> {
    const database = await createTestDatabase();
    this.database = database;
    await prepare?.(database);
    const first = await ServerProcess.start({
      ...env,
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
    });
    this.servers.push(first);
    const secondDir = fs.mkdtempSync(path.join(os.tmpdir(), "plk-node2-"));
    this.dirs.push(secondDir);
    const second = await ServerProcess.start({
      ...env,
      DATABASE_URL: database.urls[1 % database.urls.length]!,
      DATA_DIR: secondDir,
    });
    this.servers.push(second);
    return [first, second];
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.kill("SIGKILL")));
    await this.database?.drop();
    for (const dir of this.dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A new organization and a human user "ada-<random>" (Ada Lovelace) in it, added through `server`
 * with the administrator's `token`; `withEmail` gives the user ada-<random>@example.com.
 */
export async function addUserThrough(
  server: ServerProcess,
  token: string,
  withEmail = false,
): Promise<string> {
  const suffix = randomBytes(4).toString("hex");
  const org = (await server.ok(ADD_ORG, { input: { name: `org-${suffix}` } }, token))
    .addOrganization.organizationId;
  const input = {
    organizationId: org,
    username: `ada-${suffix}`,
    ...(withEmail ? { email: `ada-${suffix}@example.com` } : {}),
    givenName: "Ada",
    familyName: "Lovelace",
  };
  return (await server.ok(ADD_HUMAN, { input }, token)).addHumanUser.userId as string;
}
