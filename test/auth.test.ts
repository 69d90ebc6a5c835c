// Authentication and organization context: bearer tokens, expiry, 401s, x-zitadel-orgid.
import { actor, addOrg, tokenFor } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const ME = `{ me { id } }`;

it("answers a valid token", async () => {
  const result = await t.gql(ME);
  expect(result.status).toBe(200);
  expect(result.data.me.id).toMatch(/^[0-9a-f-]{36}$/);
});

it.each([
  [
    "an unknown token",
    "Bearer plk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AUTH-token-invalid",
  ],
  ["a non-bearer scheme", "Basic dXNlcjpwYXNz", "AUTH-header-malformed"],
  ["an empty bearer", "Bearer ", "AUTH-header-malformed"],
])("fails the whole request with HTTP 401 for %s", async (_name, header, id) => {
  const result = await t.gql(ME, {}, { token: null, headers: { authorization: header } });
  expect(result.status).toBe(401);
  expect(result.data).toBeUndefined();
  expectError(result, "UNAUTHENTICATED", id);
  expect(result.errors![0]!.extensions.grpcCode).toBe(16);
});

it("rejects an expired token with 401, and accepts it before expiry", async () => {
  const org = await addOrg(t);
  const { userId } = await actor(t, org);
  const expires = new Date(t.clock.now().getTime() + 60 * 60 * 1000).toISOString();
  const token = await tokenFor(t, userId, expires);
  expect((await t.ok(ME, {}, { token })).me.id).toBe(userId);
  t.clock.advance(2 * 60 * 60 * 1000);
  try {
    const result = await t.gql(ME, {}, { token });
    expect(result.status).toBe(401);
    expectError(result, "UNAUTHENTICATED", "AUTH-token-expired");
  } finally {
    t.clock.advance(-2 * 60 * 60 * 1000);
  }
});

it("treats a request without a token as anonymous: operations needing a caller answer UNAUTHENTICATED", async () => {
  const result = await t.gql(ME, {}, { token: null });
  expect(result.status).toBe(200);
  expectError(result, "UNAUTHENTICATED", "AUTH-required");
});

it("answers NOT_FOUND for an unknown x-zitadel-orgid and accepts a known one", async () => {
  const org = await addOrg(t);
  expect((await t.ok(ME, {}, { orgId: org })).me.id).toBeTruthy();
  const result = await t.gql(ME, {}, { orgId: "00000000-0000-7000-8000-00000000dead" });
  expectError(result, "NOT_FOUND", "ORG-not-found");
});

it("never writes the token or the authorization header to the log", async () => {
  await t.gql(ME);
  await t.gql(ME, {}, { token: "plk_not-a-real-token-but-secret" });
  const logs = t.logs.join("");
  expect(logs).toContain("request completed");
  expect(logs).not.toContain(t.adminToken);
  expect(logs).not.toContain("plk_not-a-real-token-but-secret");
});
