// SPEC 14, bounded documents: aliases, depth including introspection, no suggestions in production.
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";

const aliases = (n: number) =>
  `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(" ")} }`;

function expectValidationError(result: Awaited<ReturnType<TestApp["gql"]>>, pattern: RegExp) {
  const error = expectError(result, "GRAPHQL_VALIDATION_FAILED");
  expect(error.extensions.grpcCode).toBe(3);
  expect(error.message).toMatch(pattern);
  expect(error.message).not.toMatch(/syntax/i);
  return error;
}

describe("in development", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ GRAPHQL_MAX_DEPTH: "4" });
  });
  afterAll(() => t.close());

  it("allows GRAPHQL_MAX_ALIASES aliases and refuses one more", async () => {
    expect((await t.gql(aliases(15))).errors).toBeUndefined();
    expectValidationError(await t.gql(aliases(16)), /aliases/i);
  });

  it("counts aliased mutations toward the same limit", async () => {
    const fields = Array.from({ length: 16 }, (_, i) => `a${i}: addPasskeyLink { link }`);
    expectValidationError(await t.gql(`mutation { ${fields.join(" ")} }`), /aliases/i);
  });

  it("applies the depth limit to introspection, as a validation error", async () => {
    expect((await t.gql(`{ __schema { types { name } } }`)).errors).toBeUndefined();
    const deep = `{ __schema { types { fields { type { ofType { ofType { name } } } } } } }`;
    expectValidationError(await t.gql(deep), /depth/i);
  });
});

describe("in production", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: "production" });
  });
  afterAll(() => t.close());

  it("does not suggest field names", async () => {
    const error = expectValidationError(await t.gql(`{ me { usernam } }`), /usernam/);
    expect(error.message).not.toMatch(/did you mean|"username"/i);
  });
});
