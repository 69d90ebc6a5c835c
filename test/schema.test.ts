// schema.graphql is generated from the code; the committed migrations match the entities.
import fs from "node:fs";
import path from "node:path";
import type { GraphQLSchema } from "graphql";
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isSpecifiedScalarType,
  printSchema,
} from "graphql";
import { buildGraphQLSchema } from "../src/server";
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";

it("matches the committed schema.graphql (regenerate with `npm run schema`)", async () => {
  const committed = fs.readFileSync(path.resolve(__dirname, "../schema.graphql"), "utf8");
  expect(`${printSchema(await buildGraphQLSchema())}\n`).toBe(committed);
});

/** Every type, field, argument and enum value without a description, as `Type.field(arg)`. */
function undescribed(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const need = (what: string, description: string | null | undefined) => {
    if (!description?.trim()) missing.push(what);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__") || isSpecifiedScalarType(type)) continue;
    need(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        need(`${type.name}.${field.name}`, field.description);
        for (const arg of "args" in field ? field.args : []) {
          need(`${type.name}.${field.name}(${arg.name})`, arg.description);
        }
      }
    }
    if (isEnumType(type)) {
      for (const value of type.getValues()) need(`${type.name}.${value.name}`, value.description);
    }
  }
  return missing;
}

it("describes every type, field, argument and enum value (for codegen consumers)", async () => {
  expect(undescribed(await buildGraphQLSchema())).toEqual([]);
});

it("names the specification of each custom scalar", async () => {
  const schema = await buildGraphQLSchema();
  expect(schema.getType("DateTime")).toMatchObject({
    specifiedByURL: "https://datatracker.ietf.org/doc/html/rfc3339",
  });
  expect(schema.getType("JSONObject")).toMatchObject({ specifiedByURL: expect.any(String) });
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
