// Command line: bootstrap the instance owner, mint a token, make a demo user, read file mail, run
// migrations, print the GraphQL schema. It holds database access, so it is the root of trust.
import "reflect-metadata";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { printSchema } from "graphql";
import { ConfigError, loadConfig } from "./config";
import { ApiError } from "./errors";
import { systemClock } from "./core/clock";
import { openKeyRing } from "./core/key-fingerprint";
import { withErrorTable } from "./error-ids";
import { formatMail, latestMails } from "./mail/eml-reader";
import { commandLineContext } from "./core/request-context";
import type { Services } from "./server";
import { buildGraphQLSchema, createServices, ensureInstanceOwner, openDatabase } from "./server";

const USAGE = `usage: npm run cli -- <command>

commands:
  bootstrap --org-name NAME [--json]   create the instance owner (a machine user with IAM_OWNER)
                                       and print its personal access token; refuses (exit 2)
                                       when the instance already has an owner
  token --user ID [--expires DATE] [--json]
                                       mint a personal access token for a user (e.g. the admin
                                       whose admin.pat was lost); audited with the creator "CLI"
  demo [--email ADDRESS] [--json]      create a demo person in the default organization (and
                                       the instance owner on a fresh database) and print a
                                       passkey registration link for it
  mail [--last N]                      print the newest N (default 5) mails of DATA_DIR/mail
                                       (the file transport): recipient, subject, the text part
  migrate                              apply pending database migrations
  print-schema                         print the GraphQL schema (SDL)
  write-error-table FILE               put the table of error detail ids into FILE (docs/errors.md)`;

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
  if (command === "mail") return printMails(rest);
  const commands: Record<string, (services: Services, args: string[]) => Promise<number>> = {
    bootstrap,
    token: mintToken,
    demo,
    migrate: () => {
      console.error("migrations are up to date");
      return Promise.resolve(0);
    },
  };
  const action =
    command !== undefined && Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!action) {
    console.error(USAGE);
    return command === undefined || command === "help" || command === "--help" ? 0 : 1;
  }
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    const services = createServices(config, db, (await openKeyRing(config, db, systemClock)).keys);
    return await action(services, rest);
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

async function bootstrap(services: Services, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { "org-name": { type: "string" }, json: { type: "boolean", default: false } },
  });
  const orgName = values["org-name"];
  if (!orgName) {
    console.error("bootstrap needs --org-name NAME");
    return 1;
  }
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
}

/** Prints only the token (or JSON), so `TOKEN=$(npm run --silent cli -- token --user ID)` works. */
async function mintToken(services: Services, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: "string" },
      expires: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (!values.user) {
    console.error("token needs --user ID");
    return 1;
  }
  const expires = values.expires === undefined ? null : new Date(values.expires);
  if (expires && Number.isNaN(expires.getTime())) {
    console.error(
      `--expires: not a date: ${values.expires} (e.g. 2030-01-31 or 2030-01-31T12:00:00Z)`,
    );
    return 1;
  }
  const { tokenId, token } = await services.tokens.mintFromCommandLine(values.user, expires);
  process.stdout.write(
    values.json
      ? `${JSON.stringify({ userId: values.user, tokenId, token, expirationDate: expires?.toISOString() ?? null })}\n`
      : `${token}\n`,
  );
  console.error(`minted token ${tokenId} for user ${values.user}; it is shown only now.`);
  return 0;
}

/**
 * The shortest path to a first passkey: on a fresh database the instance owner is created as on
 * the server's first run (admin.pat), then a person in the default organization and a link.
 */
async function demo(services: Services, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { email: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const created = await ensureInstanceOwner(services);
  if (created) console.error(`created the instance owner; its token is in ${created.file}`);
  const organizationId = (await services.bootstrap.defaultOrganizationId())!;
  const ctx = commandLineContext(organizationId);
  const username = `demo-${Date.now().toString(36)}`;
  const { userId } = await services.users.addHuman(ctx, {
    organizationId,
    username,
    email: values.email ?? null,
    givenName: "Demo",
    familyName: "User",
  });
  const { link } = await services.passkeyLinks.addLink(ctx, userId);
  const expiration = services.passkeyLinks.expiration;
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ organizationId, userId, username, link, expiration })}\n`,
    );
    return 0;
  }
  process.stdout.write(
    [
      `Created the demo user ${username} (${userId}).`,
      `Open this link in a browser to register its passkey (valid for ${expiration}):`,
      "",
      `  ${link}`,
      "",
      "The server must be running with the same EXTERNAL_URL (npm start).",
      "",
    ].join("\n"),
  );
  return 0;
}

function printMails(args: string[]): number {
  const { values } = parseArgs({ args, options: { last: { type: "string", default: "5" } } });
  const count = Number(values.last);
  if (!Number.isInteger(count) || count < 1) {
    console.error("mail --last needs a positive whole number");
    return 1;
  }
  const directory = path.join(loadConfig().dataDir, "mail");
  const mails = latestMails(directory, count);
  if (mails.length === 0) {
    console.error(`no mail in ${directory} (mails are written there when SMTP_URL is not set)`);
    return 0;
  }
  process.stdout.write(`${mails.map(formatMail).join(`\n\n${"-".repeat(72)}\n\n`)}\n`);
  return 0;
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
