// Issue 18, item 4 (second half): no secret at rest readable by other local users. A fresh start
// of the real server process creates DATA_DIR 0700, and the SQLite file with its -wal and -shm
// files, master.key, admin.pat and the mail files 0600, under the usual umask of 022.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TEST_DB, createTestDatabase } from "./helpers/harness";
import type { TestDatabase } from "./helpers/harness";
import { ServerProcess } from "./helpers/server-process";
import { eventually } from "./helpers/wait";

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

let parent: string;
let database: TestDatabase | undefined;
let server: ServerProcess | undefined;

beforeAll(async () => {
  expect(process.umask() & 0o077).toBe(0o022 & 0o077);
  parent = fs.mkdtempSync(path.join(os.tmpdir(), "plk-modes-"));
  // MariaDB: the database is elsewhere; DATA_DIR still holds the key, the token and the mails.
  database = TEST_DB === "mariadb" ? await createTestDatabase() : undefined;
  // Development mode: only there does the server generate master.key into DATA_DIR (production
  // refuses to start without MASTER_KEY), and that file is one of those whose mode matters.
  server = await ServerProcess.start({
    NODE_ENV: "development",
    DATA_DIR: path.join(parent, "data"),
    ...(database ? { DATABASE_URL: database.url } : {}),
  });
});
afterAll(async () => {
  await server?.kill();
  await database?.drop();
  fs.rmSync(parent, { recursive: true, force: true });
});

it("creates DATA_DIR 0700 and every file in it 0600", async () => {
  const dataDir = path.join(parent, "data");
  const token = server!.adminToken();
  const org = await server!.ok<any>(
    `mutation { addOrganization(input: { name: "Modes" }) { organizationId } }`,
    {},
    token,
  );
  const user = await server!.ok<any>(
    `mutation($input: AddHumanUserInput!) { addHumanUser(input: $input) { userId } }`,
    {
      input: {
        organizationId: org.addOrganization.organizationId,
        username: "ada",
        email: "ada@example.com",
        givenName: "Ada",
        familyName: "Lovelace",
      },
    },
    token,
  );
  await server!.ok(
    `mutation($input: SendPasskeyLinkInput) { sendPasskeyLink(input: $input) { details { sequence } } }`,
    { input: { userId: user.addHumanUser.userId } },
    token,
  );
  const mailDir = path.join(dataDir, "mail");
  const [mail] = await eventually("the mail file", () => {
    const files = fs.existsSync(mailDir) ? fs.readdirSync(mailDir) : [];
    return files.length > 0 ? files : undefined;
  });

  const expected: Record<string, string> = { ".": "700", mail: "700" };
  for (const file of ["master.key", "admin.pat", path.join("mail", mail!)]) expected[file] = "600";
  if (!database) {
    for (const suffix of ["", "-wal", "-shm"]) expected[`passkey-links.sqlite${suffix}`] = "600";
  }
  const actual = Object.fromEntries(
    Object.keys(expected).map((file) => [file, modeOf(path.join(dataDir, file)).toString(8)]),
  );
  expect(actual).toEqual(expected);
});
