// SPEC 14, one error shape: failures outside resolvers and a database outage answer like GraphQL
// errors, with code, grpcCode and details.
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";
import { withDatabaseOutage } from "./helpers/outage";

async function post(t: TestApp, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: response.status, body: await response.json() };
}

function expectShape(body: any, code: string, grpcCode: number, id: string) {
  expect(body).toEqual({
    errors: [
      {
        message: expect.any(String),
        extensions: {
          code,
          grpcCode,
          details: [{ "@type": "ErrorDetail", id, message: expect.any(String) }],
        },
      },
    ],
  });
}

describe("outside resolvers", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ BODY_LIMIT_BYTES: "4096" });
  });
  afterAll(() => t.close());

  it("answers invalid JSON as INVALID_ARGUMENT", async () => {
    const { status, body } = await post(t, `{"query": "{ me { id } }"`);
    expect(status).toBe(400);
    expectShape(body, "INVALID_ARGUMENT", 3, "HTTP-invalid-json");
  });

  it("answers a body over the limit as INVALID_ARGUMENT with 413", async () => {
    const { status, body } = await post(t, JSON.stringify({ query: "x".repeat(8192) }));
    expect(status).toBe(413);
    expectShape(body, "INVALID_ARGUMENT", 3, "HTTP-body-too-large");
  });

  it("answers a wrong content type as INVALID_ARGUMENT with 415", async () => {
    const { status, body } = await post(t, "{ me { id } }", { "content-type": "application/xml" });
    expect(status).toBe(415);
    expectShape(body, "INVALID_ARGUMENT", 3, "HTTP-content-type");
  });

  it("answers an unknown route as NOT_FOUND without echoing its query string", async () => {
    const response = await fetch(`${t.url}/nowhere?token=secret`);
    expect(response.status).toBe(404);
    const body = await response.json();
    expectShape(body, "NOT_FOUND", 5, "HTTP-route-not-found");
    expect(JSON.stringify(body)).not.toContain("secret");
  });
});

it("answers UNAVAILABLE with 503 while the database cannot be reached", async () => {
  await withDatabaseOutage(async (t, cut) => {
    expect((await t.gql(`{ me { id } }`)).errors).toBeUndefined();
    await cut();
    const result = await t.gql(`{ me { id } }`);
    expect(result.status).toBe(503);
    expectShape(result.body, "UNAVAILABLE", 14, "DB-unavailable");
  });
});
