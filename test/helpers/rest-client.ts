// A small client for the ZITADEL-compatible REST routes, speaking real HTTP like a ZITADEL client.
import type { TestApp } from "./harness";

export interface RestOptions {
  /** undefined: the admin token; null: none. */
  token?: string | null;
  orgId?: string;
  headers?: Record<string, string>;
  /** Sent as is instead of JSON.stringify(body). */
  raw?: string;
}

export interface RestResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function post(
  t: TestApp,
  path: string,
  body: unknown = {},
  options: RestOptions = {},
): Promise<RestResponse> {
  return call(t, "POST", path, body, options);
}

/** Any method; `body` undefined (and no `raw`): no body at all, as a GET sends. */
export async function call(
  t: TestApp,
  method: string,
  path: string,
  body?: unknown,
  options: RestOptions = {},
): Promise<RestResponse> {
  const token = options.token === undefined ? t.adminToken : options.token;
  const hasBody = options.raw !== undefined || body !== undefined;
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers: {
      ...(hasBody ? { "content-type": "application/json" } : {}),
      accept: "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(options.orgId ? { "x-zitadel-orgid": options.orgId } : {}),
      ...options.headers,
    },
    ...(hasBody ? { body: options.raw ?? JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

/** Asserts ZITADEL's error: HTTP status, gRPC code, and the body with the detail id. */
export function expectRestError(
  response: RestResponse,
  status: number,
  grpcCode: number,
  id: string,
) {
  expect({
    status: response.status,
    code: response.body.code,
    id: response.body.details?.[0]?.id,
  }).toEqual({ status, code: grpcCode, id });
  const [detail] = response.body.details;
  expect(detail["@type"]).toBe("type.googleapis.com/zitadel.v1.ErrorDetail");
  expect(response.body.message).toBe(`${detail.message} (${id})`);
  return detail;
}
