// schema.graphql is generated from the code; the committed migrations match the entities.
import fs from "node:fs";
import path from "node:path";
import { printSchema } from "graphql";
import { buildGraphQLSchema } from "../src/server";
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";

it("matches the committed schema.graphql (regenerate with `npm run schema`)", async () => {
  const committed = fs.readFileSync(path.resolve(__dirname, "../schema.graphql"), "utf8");
  expect(`${printSchema(await buildGraphQLSchema())}\n`).toBe(committed);
});

describe("migrations", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("leave no difference between the entities and the database schema", async () => {
    const pending = await t.app.services.db.dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it("are all applied at start-up", async () => {
    expect(await t.app.services.db.dataSource.showMigrations()).toBe(false);
  });
});
