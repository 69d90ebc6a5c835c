// The floor: a bare node:http + mysql2 server that runs, per request, the same SQL statements our
// createPasskeyRegistrationLink (returnCode) runs, batched as the server batches them — the
// caller with its roles; then in one transaction, on a connection of a second pool that allows
// multi-statement batches (as src/db/statement-batch.ts), START TRANSACTION with the target user
// FOR UPDATE, the code, then the sequence bump, the event and COMMIT — with no GraphQL, ORM or
// framework in between. createSession and setSession run the sign-in floor
// (bench/floor-signin.ts).
// Started as its own process by bench/run.ts, with the server's environment (for the sign-in
// settings: RP ID, origins, timeouts, limits, TRUST_PROXY):
//   node dist/bench/floor-server.js <port> <databaseUrl>
import { createHash, createHmac, randomBytes } from "node:crypto";
import type http from "node:http";
import type mysql from "mysql2/promise";
import { loadConfig } from "../src/config";
import { uuidV7 } from "../src/core/clock";
import { clientAddress } from "../src/http/client-address";
import { generateCode } from "../src/services/links/code-generator";
import {
  BUMP_EVENT_COMMIT,
  CALLER_WITH_ROLES,
  GUARDED_CODE_INSERT,
  START_AND_LOCK_USER,
} from "./create-sql";
import { createSession, setSession } from "./floor-signin";
import type { SigninSettings } from "./floor-signin";
import { createPools, jsonServer } from "./json-server";

const [, , portArg, databaseUrl] = process.argv;
/** The general pool, and the second one for batched write transactions. */
const { pool, batches } = createPools(databaseUrl!);
const codeKey = randomBytes(32);
const config = process.env.EXTERNAL_URL ? loadConfig(process.env) : undefined;
const signin: SigninSettings | undefined = config && {
  rpId: config.webauthn.rpId,
  origins: [...new Set([...config.webauthn.origins, ...config.webauthn.relatedOrigins])],
  timeoutSeconds: config.webauthn.timeoutSeconds,
  lifetimeSeconds: config.sessions.lifetimeSeconds,
  rateLimit: config.sessions.rateLimit,
  failureLimit: config.sessions.failureLimit,
};

/** As the server does (DATABASE_RETRIES, default 8): a deadlock victim runs again. */
async function createRegistrationCode(token: string, userId: string) {
  for (let attempt = 0; ; attempt++) {
    const result = await createRegistrationCodeOnce(token, userId);
    if (result.deadlock && attempt < 8) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.random() * Math.min(250, 5 * 2 ** attempt)),
      );
      continue;
    }
    return result;
  }
}

async function createRegistrationCodeOnce(token: string, userId: string) {
  const tokenHash = createHash("sha256").update(token).digest("hex");
  const [callers] = await pool.query<mysql.RowDataPacket[]>(CALLER_WITH_ROLES, [tokenHash]);
  const caller = callers[0];
  if (!caller || caller.state !== "ACTIVE")
    return { status: 401, body: { errors: [{ message: "invalid token" }] } };
  const connection = await batches.getConnection();
  try {
    const [results] = await connection.query<mysql.RowDataPacket[][]>(START_AND_LOCK_USER, [
      userId,
    ]);
    const user = results.at(-1)![0];
    if (!user) throw new Error("user not found");
    const permitted = callers.some(
      (row) =>
        (row.scopeId === "" || row.scopeId === user.organization_id) &&
        (row.role === "IAM_OWNER" || row.role === "ORG_OWNER"),
    );
    if (user.id !== caller.userId && !permitted) throw new Error("denied");
    const code = generateCode(12);
    // The server's IDs (UUIDv7, time-ordered): the same values land in the same index pages.
    const codeId = uuidV7.next();
    const now = new Date();
    const expiresAt = new Date(now.getTime() + 3_600_000);
    // The server's insert carries the active-code cap as its guard (PASSKEY_CODE_MAX_ACTIVE).
    const [inserted] = await connection.query<mysql.ResultSetHeader>(GUARDED_CODE_INSERT, [
      codeId,
      user.id,
      user.organization_id,
      createHmac("sha256", codeKey).update(code).digest("hex"),
      "RETURNED",
      "ACTIVE",
      0,
      caller.userId,
      caller.userId,
      now,
      expiresAt,
      user.id,
      "ACTIVE",
      now,
      1_000_000,
    ]);
    if (inserted.affectedRows !== 1) throw new Error("too many active codes");
    // Numbered from the sequence read under the row lock; bump, event and COMMIT in one batch.
    const sequence = Number(user.sequence) + 1;
    await connection.query(BUMP_EVENT_COMMIT, [
      1,
      user.id,
      "user",
      user.id,
      sequence,
      "user.human.passwordless.initialization.code.added",
      JSON.stringify({ codeId, expiry: "3600s", medium: "RETURNED" }),
      caller.userId,
      user.organization_id,
      now,
    ]);
    return {
      status: 200,
      body: {
        data: {
          createPasskeyRegistrationLink: {
            details: {
              sequence: String(sequence),
              changeDate: now.toISOString(),
              resourceOwner: user.organization_id,
            },
            code: { id: codeId, code },
          },
        },
      },
    };
  } catch (error) {
    await connection.query("ROLLBACK");
    return {
      status: 200,
      deadlock: (error as { errno?: number }).errno === 1213,
      body: { errors: [{ message: (error as Error).message }] },
    };
  } finally {
    connection.release();
  }
}

interface GraphqlRequest {
  query: string;
  variables: { input: Record<string, unknown> };
}

/** Routes by the mutation the body names; sign-in failures answer 200 with `errors`, as GraphQL does. */
function handle(request: http.IncomingMessage, { query, variables }: GraphqlRequest) {
  if (query.includes("createSession(") || query.includes("setSession(")) {
    if (!signin) throw new Error("the floor was started without the server's environment");
    const address =
      clientAddress(request.socket.remoteAddress, request.headers, config!.sessions.trustProxy) ??
      "";
    const run = query.includes("createSession(")
      ? createSession(batches, signin, address)
      : setSession(batches, signin, address, variables.input as Parameters<typeof setSession>[3]);
    return run.then(
      (data) => ({ status: 200, body: { data } }),
      (error: Error) => ({ status: 200, body: { errors: [{ message: error.message }] } }),
    );
  }
  const token = (request.headers.authorization ?? "").replace(/^Bearer /, "");
  return createRegistrationCode(token, variables.input.userId as string);
}

const server = jsonServer((request, body) => handle(request, body as GraphqlRequest));
server.listen(Number(portArg), "127.0.0.1", () => process.send?.("ready"));
process.on("SIGTERM", () => {
  server.close();
  void pool.end();
  void batches.end();
});
