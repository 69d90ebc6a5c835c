// Issue 18, items 8 and 9: no code reaches the log through a path (templates keep placeholders
// in the query or fragment; unknown paths are logged redacted), the query text is capped apart
// from the body, and automatic persisted queries are off.
import { createHash } from "node:crypto";
import { loadConfig } from "../src/config";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { expectError, startTestApp } from "./helpers/harness";

let t: TestApp;
let org: string;

beforeAll(async () => {
  t = await startTestApp({ NODE_ENV: "production", GRAPHQL_MAX_QUERY_LENGTH: "4096" });
  org = await addOrg(t);
});
afterAll(() => t.close());

const CREATE = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { code { id } } }`;

describe("placeholders stay out of the path", () => {
  it.each([
    ["the review's template", (base: string) => `${base}/r/{{.CodeID}}/{{.Code}}`],
    ["a code in the path before a query", (base: string) => `${base}/r/{{.Code}}?x=1`],
    ["a path parameter", (base: string) => `${base}/r;c={{.Code}}`],
  ])("refuses %s on the server's own origin", async (_name, template) => {
    const userId = await addHuman(t, org);
    const urlTemplate = template(new URL(t.config.externalUrl).origin);
    const result = await t.gql(CREATE, { input: { userId, sendLink: { urlTemplate } } });
    expectError(result, "INVALID_ARGUMENT", "LINK-template-placeholder-in-path");
  });

  it.each([
    ["the query", (base: string) => `${base}/r?id={{.CodeID}}&c={{.Code}}`],
    ["the fragment", (base: string) => `${base}/r#{{.CodeID}}/{{.Code}}`],
  ])("accepts placeholders in %s", async (_name, template) => {
    const userId = await addHuman(t, org);
    const urlTemplate = template(new URL(t.config.externalUrl).origin);
    await t.ok(CREATE, { input: { userId, sendLink: { urlTemplate } } });
  });

  it("refuses a configured default template with a placeholder in the path at start-up", () => {
    expect(() =>
      loadConfig({ LINK_URL_TEMPLATE: "http://localhost:4000/r/{{.CodeID}}/{{.Code}}" }),
    ).toThrow(/LINK_URL_TEMPLATE: placeholders may appear only in the query string or fragment/);
  });
});

describe("the request log", () => {
  it("never records an unknown route's path", async () => {
    const secret = "Zq7XwLm3Kp9R";
    const response = await fetch(`${t.url}/r/0f3c9a1e-codeid/${secret}?code=${secret}`);
    expect(response.status).toBe(404);
    await response.text();
    const lines = t.logs.join("");
    expect(lines).toContain('"url":"[unknown route]"');
    expect(lines).not.toContain(secret);
    expect(lines).not.toContain("0f3c9a1e-codeid");
  });

  it("still names the path of a known route", async () => {
    await fetch(`${t.url}/healthz`).then((r) => r.text());
    await t.gql(`{ me { id } }`);
    expect(t.logs.join("")).toContain('"url":"/graphql"');
  });
});

describe("GraphQL query text", () => {
  const padded = (length: number) => {
    const query = `{ me { id } }`;
    return `${query}\n${"#".repeat(length - query.length - 2)}\n`;
  };

  it("accepts a query of GRAPHQL_MAX_QUERY_LENGTH characters", async () => {
    const query = padded(4096);
    expect(query).toHaveLength(4096);
    expect((await t.gql(query)).errors).toBeUndefined();
  });

  it("refuses a longer query, though the body is within its limit, in the GraphQL shape", async () => {
    const result = await t.gql(padded(4097));
    expect(result.status).toBe(400);
    const error = expectError(result, "INVALID_ARGUMENT", "GQL-query-too-long");
    expect(error.extensions.grpcCode).toBe(3);
    expect(error.message).toMatch(/4096/);
  });

  it("refuses an over-long query sent with GET too", async () => {
    const query = padded(5000);
    const response = await fetch(`${t.url}/graphql?query=${encodeURIComponent(query)}`, {
      headers: { "apollo-require-preflight": "true" },
    });
    const body = (await response.json()) as any;
    expect(body.data).toBeUndefined();
    expect(body.errors[0].extensions.details[0].id).toBe("GQL-query-too-long");
  });
});

describe("automatic persisted queries", () => {
  const query = `{ me { id } }`;
  const sha256Hash = createHash("sha256").update(query).digest("hex");
  const send = (body: Record<string, unknown>) =>
    fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.adminToken}` },
      body: JSON.stringify(body),
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as any,
    }));

  it("are refused when registering a query", async () => {
    const { body } = await send({
      query,
      extensions: { persistedQuery: { version: 1, sha256Hash } },
    });
    expect(body.data).toBeUndefined();
    expect(body.errors[0].extensions.code).toBe("PERSISTED_QUERY_NOT_SUPPORTED");
    expect(body.errors[0].extensions.grpcCode).toBe(3);
  });

  it("are refused when sending only the hash", async () => {
    const { body } = await send({ extensions: { persistedQuery: { version: 1, sha256Hash } } });
    expect(body.data).toBeUndefined();
    expect(body.errors[0].extensions.code).toBe("PERSISTED_QUERY_NOT_SUPPORTED");
  });
});
