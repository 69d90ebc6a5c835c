// Compiles the app once so tests can also start it as a separate process (CLI, multi-process runs),
// and stops a run that includes the mariadb project at once when MariaDB does not answer.
const { execFileSync } = require("node:child_process");
const path = require("node:path");
const mysql = require("mysql2/promise");

/** The first MariaDB server the harness would use (see test/helpers/harness.ts). */
const MARIADB_URL = (
  process.env.TEST_MARIADB_URLS ??
  process.env.TEST_MARIADB_URL ??
  "mysql://root@127.0.0.1:3306"
)
  .split(",")[0]
  .trim();

async function assertMariadbReachable(globalConfig) {
  const selected = globalConfig.selectProjects;
  const ignored = globalConfig.ignoreProjects ?? [];
  if ((selected && !selected.includes("mariadb")) || ignored.includes("mariadb")) return;
  try {
    const connection = await mysql.createConnection({ uri: MARIADB_URL, connectTimeout: 5000 });
    await connection.end();
  } catch (error) {
    const where = new URL(MARIADB_URL).host;
    const message =
      `MariaDB is not reachable at ${where} (${error.code ?? error.message}): start it or set ` +
      "TEST_MARIADB_URL, or run the tests without it: npm run test:sqlite";
    const failure = new Error(message);
    failure.stack = message;
    throw failure;
  }
}

module.exports = async (globalConfig) => {
  await assertMariadbReachable(globalConfig);
  const root = path.resolve(__dirname, "../..");
  execFileSync(
    process.execPath,
    [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
};
