// One REST route: its URL, its JSON schemas (they validate, document /openapi.json and name the
// fields that also accept snake_case) and a handler that calls one service method.
import type { RequestContext } from "../core/request-context";

export type JsonSchema = Record<string, unknown>;

export interface RestCall<Params, Body> {
  ctx: RequestContext;
  params: Params;
  body: Body;
}

export interface RestRoute<Params = Record<string, string>, Body = Record<string, unknown>> {
  /** Fastify syntax: `/v2/users/:userId/passkeys`. Every route is a POST, as in ZITADEL. */
  url: string;
  operationId: string;
  summary: string;
  tags: string[];
  params?: JsonSchema;
  body: JsonSchema;
  /** The 200 response. */
  response: JsonSchema;
  /**
   * Documents the bearer token as optional (e.g. registering with a code). Anonymous callers reach
   * every handler: the service decides whether it needs a caller.
   */
  anonymous?: boolean;
  handle(call: RestCall<Params, Body>): Promise<unknown>;
}

/** Keeps each route's own parameter and body types while the table holds them side by side. */
export function restRoute<Params, Body>(route: RestRoute<Params, Body>): RestRoute {
  return route as unknown as RestRoute;
}

export const userIdParams = {
  type: "object",
  required: ["userId"],
  properties: { userId: { type: "string", minLength: 1, maxLength: 200 } },
} as const;
