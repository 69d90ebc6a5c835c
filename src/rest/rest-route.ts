// One REST route: its method and URL, its JSON schemas (they validate, document /openapi.json and
// name the fields that also accept snake_case), its success status, and a handler that calls one
// service method.
import type { RequestContext } from "../core/request-context";

export type JsonSchema = Record<string, unknown>;

export type RestMethod = "GET" | "POST" | "PATCH" | "DELETE";

export interface RestCall<Params, Body, Query = Record<string, unknown>> {
  ctx: RequestContext;
  params: Params;
  body: Body;
  /** The query string, snake_case names renamed as the body's are (GET routes). */
  query: Query;
}

export interface RestRoute<
  Params = Record<string, string>,
  Body = Record<string, unknown>,
  Query = Record<string, unknown>,
> {
  /** The HTTP method, as ZITADEL's gateway maps the RPC (default POST). */
  method?: RestMethod;
  /** Fastify syntax: `/v2/users/:userId/passkeys`. */
  url: string;
  operationId: string;
  summary: string;
  tags: string[];
  params?: JsonSchema;
  /** The query string's fields (GET routes). */
  query?: JsonSchema;
  /** The JSON body; GET routes have none. */
  body?: JsonSchema;
  /** The success status (default 200; ZITADEL answers 201 to CreateSession). */
  status?: number;
  /** The success response. */
  response: JsonSchema;
  /** Headers every success carries (e.g. `Cache-Control: no-store` on a read of secrets). */
  headers?: Record<string, string>;
  /**
   * Documents the bearer token as optional (e.g. registering with a code). Anonymous callers reach
   * every handler: the service decides whether it needs a caller.
   */
  anonymous?: boolean;
  handle(call: RestCall<Params, Body, Query>): Promise<unknown>;
}

/** Keeps each route's own parameter and body types while the table holds them side by side. */
export function restRoute<Params, Body, Query = Record<string, unknown>>(
  route: RestRoute<Params, Body, Query>,
): RestRoute {
  return route as unknown as RestRoute;
}

export const userIdParams = {
  type: "object",
  required: ["userId"],
  properties: { userId: { type: "string", minLength: 1, maxLength: 200 } },
} as const;
