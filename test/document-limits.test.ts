// SPEC 14, bounded documents: aliases, depth including introspection, no suggestions in production.
import type { TestApp } from "./helpers/harness";
import { expectError, onlyError, productionEnv, startTestApp } from "./helpers/harness";

const aliases = (n: number) =>
  `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(" ")} }`;

function expectValidationError(result: Awaited<ReturnType<TestApp["gql"]>>, pattern: RegExp) {
  const error = expectError(result, "GRAPHQL_VALIDATION_FAILED");
  expect(error.extensions.grpcCode).toBe(3);
  expect(error.message).toMatch(pattern);
  expect(error.message).not.toMatch(/syntax/i);
  return error;
}

const ADD_LINK = `mutation($input: AddPasskeyLinkInput) { addPasskeyLink(input: $input) { link } }`;
const REGISTER = `mutation($input: RegisterPasskeyInput!) { registerPasskey(input: $input) { passkeyId } }`;
const registerLiteral = (fields: string) =>
  `mutation { registerPasskey(input: { userId: "x", ${fields} }) { passkeyId } }`;

/** Mistyped names graphql-js would suggest a correction for, in each kind of error message. */
const MISTYPED: [string, string, Record<string, unknown>, RegExp][] = [
  ["a field", `{ me { usernam } }`, {}, /"username"/],
  ["an input field in a variable", ADD_LINK, { input: { userI: "x" } }, /"userId"/],
  [
    "an input field in the document",
    `mutation { addPasskeyLink(input: { userI: "x" }) { link } }`,
    {},
    /"userId"/,
  ],
  [
    "an enum value in a variable",
    REGISTER,
    { input: { userId: "x", authenticator: "PLATFOR" } },
    /"PLATFORM"/,
  ],
  ["an enum value in the document", registerLiteral("authenticator: PLATFOR"), {}, /PLATFORM/],
  ["an argument", `{ user(id: "x", i: "y") { id } }`, {}, /"id"/],
  ["a type", `query($id: IDD!) { user(id: $id) { id } }`, { id: "x" }, /"ID"/],
];

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

  it.each(MISTYPED)("suggests the name for %s", async (_kind, query, variables, suggestion) => {
    const error = onlyError(await t.gql(query, variables));
    expect(error.message).toMatch(/Did you mean/);
    expect(error.message).toMatch(suggestion);
  });
});

describe("in production", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(productionEnv());
  });
  afterAll(() => t.close());

  // README: NODE_ENV=production disables introspection. The server's configuration decides, not
  // whatever NODE_ENV the process that built it happens to run under (here jest's "test").
  it("refuses introspection", async () => {
    const error = onlyError(await t.gql(`{ __schema { types { name } } }`));
    expect(error.extensions.grpcCode).toBe(3);
    expect(error.message).toMatch(/introspection is not allowed/i);
  });

  it.each(MISTYPED)(
    "does not suggest a name for %s",
    async (_kind, query, variables, suggestion) => {
      const error = onlyError(await t.gql(query, variables));
      expect(error.extensions.grpcCode).toBe(3);
      expect(error.message).toMatch(/\S/);
      for (const message of [error.message, error.extensions.details[0].message]) {
        expect(message).not.toMatch(/did you mean/i);
        expect(message).not.toMatch(suggestion);
      }
    },
  );
});
