// Command line: bootstrap the instance owner, run migrations, print the GraphQL schema.
import "reflect-metadata";
import fs from "node:fs";
import { parseArgs } from "node:util";
import { printSchema } from "graphql";
import { ConfigError, loadConfig } from "./config";
import { ApiError } from "./errors";
import { systemClock } from "./core/clock";
import { openKeyRing } from "./core/key-fingerprint";
import { withErrorTable } from "./error-ids";
import { buildGraphQLSchema, createServices, openDatabase } from "./server";

const USAGE = `usage: npm run cli -- <command>

commands:
  bootstrap --org-name NAME [--json]   create the instance owner (a machine user with IAM_OWNER)
                                       and print its personal access token; refuses (exit 2)
                                       when the instance already has an owner
  migrate                              apply pending database migrations
  print-schema                         print the GraphQL schema (SDL)
  write-error-table FILE               put the table of error detail ids into FILE (the README)`;

/** Runs one command; resolves to the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "print-schema") {
    process.stdout.write(`${printSchema(await buildGraphQLSchema())}\n`);
    return 0;
  }
  if (command === "write-error-table" && rest[0]) {
    const file = rest[0];
    fs.writeFileSync(file, withErrorTable(fs.readFileSync(file, "utf8")));
    return 0;
  }
  if (command !== "bootstrap" && command !== "migrate") {
    console.error(USAGE);
    return command === undefined || command === "help" || command === "--help" ? 0 : 1;
  }
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    if (command === "migrate") {
      console.error("migrations are up to date");
      return 0;
    }
    const { values } = parseArgs({
      args: rest,
      options: { "org-name": { type: "string" }, json: { type: "boolean", default: false } },
    });
    const orgName = values["org-name"];
    if (!orgName) {
      console.error("bootstrap needs --org-name NAME");
      return 1;
    }
    const services = createServices(config, db, (await openKeyRing(config, db, systemClock)).keys);
    const result = await services.bootstrap.bootstrap(orgName);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(
        `organization: ${result.organizationId}\nuser:         ${result.userId}\ntoken:        ${result.token}\n` +
          "Keep the token safe: it is shown only now.\n",
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof ApiError && error.id === "BOOTSTRAP-exists") {
      console.error(`refused: ${error.message}`);
      return 2;
    }
    if (error instanceof ApiError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await db.dataSource.destroy();
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(
        error instanceof ConfigError
          ? error.message
          : `error: ${error instanceof Error ? error.message : String(error)}`,
      );
      process.exit(1);
    },
  );
}
