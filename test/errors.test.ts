// The error contract of SPEC section 9, for domain errors and Apollo's own request errors, and the
// HTTP guards: CSRF prevention, body limit, depth and token limits.
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    GRAPHQL_MAX_DEPTH: "2",
    GRAPHQL_MAX_TOKENS: "200",
    BODY_LIMIT_BYTES: "4096",
  });
});
afterAll(() => t.close());

it("gives domain errors the ZITADEL shape: code, grpcCode and a detail with a stable id", async () => {
  const result = await t.gql(`query { user(id: "00000000-0000-7000-8000-000000000000") { id } }`);
  expect(result.status).toBe(200);
  expect(result.errors![0]).toEqual({
    message: "user not found",
    locations: [{ line: 1, column: 9 }],
    path: ["user"],
    extensions: {
      code: "NOT_FOUND",
      grpcCode: 5,
      details: [{ "@type": "ErrorDetail", id: "USER-not-found", message: "user not found" }],
    },
  });
});

it("keeps Apollo's code for a parse error and adds grpcCode 3", async () => {
  const result = await t.gql(`{ me { id `);
  expect(result.status).toBe(400);
  const error = expectError(result, "GRAPHQL_PARSE_FAILED");
  expect(error.extensions.grpcCode).toBe(3);
  expect(error.extensions.details[0]["@type"]).toBe("ErrorDetail");
});

it("keeps Apollo's code for a validation error and adds grpcCode 3", async () => {
  const result = await t.gql(`{ me { nonexistent } }`);
  const error = expectError(result, "GRAPHQL_VALIDATION_FAILED");
  expect(error.extensions.grpcCode).toBe(3);
});

it("keeps Apollo's code for a variable coercion error and adds grpcCode 3", async () => {
  const result = await t.gql(
    `mutation($input: AddOrganizationInput!) { addOrganization(input: $input) { organizationId } }`,
    {
      input: { name: 42 },
    },
  );
  expect(result.status).toBe(400);
  const error = expectError(result, "BAD_USER_INPUT");
  expect(error.extensions.grpcCode).toBe(3);
});

it("rejects a malformed DateTime variable as BAD_USER_INPUT", async () => {
  const result = await t.gql(
    `mutation($input: AddPersonalAccessTokenInput!) { addPersonalAccessToken(input: $input) { tokenId } }`,
    { input: { userId: "x", expirationDate: "tomorrow" } },
  );
  expectError(result, "BAD_USER_INPUT");
});

it("limits query depth", async () => {
  expect((await t.gql(`{ me { id } }`)).errors).toBeUndefined();
  const tooDeep = await t.gql(
    `mutation { addOrganization(input: {name: "x"}) { details { sequence } } }`,
  );
  const error = expectError(tooDeep, "GRAPHQL_VALIDATION_FAILED");
  expect(error.message).toMatch(/depth/i);
  expect(error.extensions.grpcCode).toBe(3);
});

it("limits the number of tokens in a document", async () => {
  const result = await t.gql(
    `{ ${Array.from({ length: 150 }, (_, i) => `a${i}: me { id }`).join(" ")} }`,
  );
  const error = expectError(result, "GRAPHQL_PARSE_FAILED");
  expect(error.message).toMatch(/tokens/);
});

it("blocks CSRF-prone simple requests", async () => {
  const response = await fetch(`${t.url}/graphql?query=${encodeURIComponent("{ me { id } }")}`);
  expect(response.status).toBe(400);
  expect(await response.text()).toMatch(/Cross-Site Request Forgery/);
});

it("refuses a body over the limit with 413", async () => {
  const response = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: `{ me { id } }`, variables: { pad: "x".repeat(8192) } }),
  });
  expect(response.status).toBe(413);
});

it("turns an unexpected failure into INTERNAL without SQL, stack or cause; the log has the cause", async () => {
  const broken = await startTestApp();
  try {
    await broken.app.services.db.dataSource.query("DROP TABLE memberships");
    const result = await broken.gql(
      `mutation { addOrganization(input: {name: "x"}) { organizationId } }`,
    );
    const error = expectError(result, "INTERNAL", "INTERNAL-1");
    expect(error.extensions.grpcCode).toBe(13);
    expect(error.message).toBe("internal error");
    const body = JSON.stringify(result.body);
    expect(body).not.toMatch(/memberships|SELECT|stack|QueryFailed/i);
    expect(broken.logs.join("")).toMatch(/memberships/);
  } finally {
    await broken.close();
  }
});
