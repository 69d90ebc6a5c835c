// The ZITADEL-compatible REST layer as one encapsulated Fastify plugin: its JSON parser, its error
// handler and its OpenAPI document apply to its own routes only, never to /graphql.
import fastifySwagger from "@fastify/swagger";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Authenticator } from "../http/authentication";
import { authenticateRequest } from "../http/authentication";
import type { PasskeyLinkService } from "../services/links/passkey-link.service";
import type { PasskeyService } from "../services/passkeys/passkey.service";
import type { RequestContext } from "../core/request-context";
import { camelCaseFields } from "./json-names";
import { passkeyLinkRoutes } from "./passkey-link.routes";
import { passkeyRoutes } from "./passkey.routes";
import { errorBodySchema, sendRestError } from "./rest-errors";
import type { RestRoute } from "./rest-route";

export interface RestServices extends Authenticator {
  passkeyLinks: PasskeyLinkService;
  passkeys: PasskeyService;
}

/** Every REST route; a new feature adds its table here. */
function restRoutes(services: RestServices): RestRoute[] {
  return [...passkeyLinkRoutes(services.passkeyLinks), ...passkeyRoutes(services.passkeys)];
}

const orgHeader = {
  type: "object",
  properties: {
    "x-zitadel-orgid": {
      type: "string",
      description: "Organization context; default: the caller's organization.",
    },
  },
} as const;

export async function registerRestApi(http: FastifyInstance, services: RestServices) {
  await http.register(async (api) => {
    await api.register(fastifySwagger, {
      openapi: {
        openapi: "3.0.3",
        info: {
          title: "passkey-link-api: ZITADEL-compatible REST routes",
          description: "ZITADEL's passkey-link routes; errors use ZITADEL's body and HTTP status.",
          version: "1",
        },
        components: {
          securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
        },
      },
    });
    acceptJsonOnly(api);
    api.setErrorHandler(sendRestError);
    for (const route of restRoutes(services)) addRoute(api, services, route);
    api.get("/openapi.json", { schema: { hide: true } }, () => api.swagger());
  });
}

/**
 * Every body is read as JSON whatever its Content-Type, as ZITADEL's gateway does, so curl's `-d`
 * without `-H 'Content-Type: application/json'` works unchanged. An empty body is `{}`, so
 * `curl -X POST` without `-d` works too.
 */
function acceptJsonOnly(api: FastifyInstance) {
  api.removeAllContentTypeParsers();
  const parseJson = api.getDefaultJsonParser("error", "error");
  api.addContentTypeParser("*", { parseAs: "string" }, (request, body, done) => {
    if (String(body).trim() === "") done(null, {});
    else void parseJson(request, String(body), done);
  });
}

/**
 * Each request's caller. Authentication runs in onRequest, before the body is parsed or validated:
 * a bad token fails the whole request with 401 whatever the body holds (SPEC 4 and 5).
 */
const callers = new WeakMap<FastifyRequest, RequestContext>();

function callerOf(request: FastifyRequest): RequestContext {
  const ctx = callers.get(request);
  if (!ctx) throw new Error("REST request reached its handler without authentication");
  return ctx;
}

function addRoute(api: FastifyInstance, services: RestServices, route: RestRoute) {
  api.post(route.url, {
    schema: {
      operationId: route.operationId,
      summary: route.summary,
      tags: route.tags,
      ...(route.params ? { params: route.params } : {}),
      headers: orgHeader,
      body: route.body,
      response: { 200: route.response, default: errorBodySchema },
      security: route.anonymous ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }],
    },
    onRequest: async (request) => {
      callers.set(
        request,
        await authenticateRequest(services, request.headers, request.socket.remoteAddress),
      );
    },
    // Before schema validation, so snake_case names are checked as their camelCase fields.
    preValidation: (request, _reply, done) => {
      try {
        request.body = camelCaseFields(request.body ?? {}, route.body);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    handler: (request) =>
      route.handle({
        ctx: callerOf(request),
        params: request.params as Record<string, string>,
        body: request.body as Record<string, unknown>,
      }),
  });
}
