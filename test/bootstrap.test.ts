// First-run bootstrap (admin.pat) and `npm run cli -- bootstrap`, with its refusal.
import fs from "node:fs";
import path from "node:path";
import type { TestDatabase } from "./helpers/harness";
import { createTestDatabase, startTestApp } from "./helpers/harness";
import { cli } from "./helpers/cli";

describe("first run", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it("creates the owner once, writes admin.pat with mode 0600 and names it in the log", async () => {
    const first = await startTestApp({}, { database });
    try {
      const file = path.join(database.dataDir, "admin.pat");
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(first.logs.join("")).toContain(file);
      expect(first.logs.join("")).not.toContain(first.adminToken);
      const me = await first.ok(`{ me { id type username } }`);
      expect(me.me).toMatchObject({ type: "MACHINE", username: "admin" });
    } finally {
      await first.close();
    }
    const token = fs.readFileSync(path.join(database.dataDir, "admin.pat"), "utf8");
    const second = await startTestApp({}, { database });
    try {
      expect(second.adminToken).toBe(token.trim());
      expect(second.logs.join("")).not.toContain("first run");
    } finally {
      await second.close();
    }
  });

  it("refuses the CLI bootstrap once the instance has an owner, with exit code 2", () => {
    const result = cli(database, ["bootstrap", "--org-name", "Second", "--json"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("already has an owner");
    expect(result.stdout).toBe("");
  });
});

describe("npm run cli -- bootstrap", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it("bootstraps an empty database and prints organizationId, userId and token as JSON", async () => {
    const result = cli(database, ["bootstrap", "--org-name", "Acme Corp", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(Object.keys(printed).sort()).toEqual(["organizationId", "token", "userId"]);
    const t = await startTestApp({}, { database });
    try {
      expect(fs.existsSync(path.join(database.dataDir, "admin.pat"))).toBe(false);
      const me = await t.ok(`{ me { id organizationId } }`, {}, { token: printed.token });
      expect(me.me).toEqual({ id: printed.userId, organizationId: printed.organizationId });
    } finally {
      await t.close();
    }
    const again = cli(database, ["bootstrap", "--org-name", "Again", "--json"]);
    expect(again.status).toBe(2);
  });

  it("explains a missing --org-name", () => {
    const result = cli(database, ["bootstrap"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("--org-name");
  });
});
