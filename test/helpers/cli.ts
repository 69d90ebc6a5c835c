// The built command line (npm run build first), run as its own process on a test database.
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { TestDatabase } from "./harness";

const CLI = path.resolve(__dirname, "../../dist/src/cli.js");

/** Runs `cli.js args` on `database` in the test environment, plus `env`; waits for it to exit. */
export function cli(database: TestDatabase, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      NODE_ENV: "test",
      ...env,
    },
    encoding: "utf8",
  });
}
