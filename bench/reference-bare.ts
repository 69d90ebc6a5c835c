// The independent check's bare reference (issue 21, item 1): what minting a returned code costs
// with nothing but node:http and mysql2, and less work than ours — no token lookup, no
// permission, no lock, no event: the body's JSON parsed, a code generated and its HMAC stored in
// one autocommitted INSERT … SELECT (the user's organization read in the same statement), the
// answer in the shape of createPasskeyRegistrationLink's. Started by bench/run.ts:
//   node dist/bench/reference-bare.js <port> <databaseUrl>
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import mysql from "mysql2/promise";
import { generateCode } from "../src/services/links/code-generator";
import { BARE_CODE_INSERT } from "./create-sql";
import { jsonServer, poolOptions } from "./json-server";

const [, , portArg, databaseUrl] = process.argv;
const pool = mysql.createPool(poolOptions(databaseUrl!));
const codeKey = randomBytes(32);

interface Body {
  variables: { input: { userId: string } };
}

async function mint({ variables }: Body) {
  const { userId } = variables.input;
  const code = generateCode(12);
  const id = randomUUID();
  const now = new Date();
  const [inserted] = await pool.query<mysql.ResultSetHeader>(BARE_CODE_INSERT, [
    id,
    createHmac("sha256", codeKey).update(code).digest("hex"),
    now,
    new Date(now.getTime() + 3_600_000),
    userId,
  ]);
  if (inserted.affectedRows !== 1) return { errors: [{ message: "user not found" }] };
  return {
    data: {
      createPasskeyRegistrationLink: {
        details: { sequence: "1", changeDate: now.toISOString(), resourceOwner: userId },
        code: { id, code },
      },
    },
  };
}

const server = jsonServer(async (_request, body) => ({
  status: 200,
  body: await mint(body as Body),
}));
server.listen(Number(portArg), "127.0.0.1", () => process.send?.("ready"));
process.on("SIGTERM", () => {
  server.close();
  void pool.end();
});
