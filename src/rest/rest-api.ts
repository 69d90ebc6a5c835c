// The ZITADEL-compatible REST layer as one encapsulated Fastify plugin: its JSON parser, its error
// handler and its OpenAPI document apply to its own routes only, never to /graphql.
import fastifySwagger from "@fastify/swagger";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Authenticator } from "../http/authentication";
import { authenticateRequest } from "../http/authentication";
import type { PasskeyLinkService } from "../services/links/passkey-link.service";
import type { PasskeyService } from "../services/passkeys/passkey.service";
import type { SessionService } from "../services/sessions/session.service";
import type { RequestContext } from "../core/request-context";
import { ApiError } from "../errors";
import { pathOnly } from "../http/logger";
import { camelCaseFields } from "./json-names";
import { passkeyLinkRoutes } from "./passkey-link.routes";
import { passkeyRoutes } from "./passkey.routes";
import { errorBodySchema, sendRestError } from "./rest-errors";
import type { RestRoute } from "./rest-route";
import { sessionRoutes } from "./session.routes";

export interface RestServices extends Authenticator {
  passkeyLinks: PasskeyLinkService;
  passkeys: PasskeyService;
  sessions: SessionService;
}

/** Every REST route; a new feature adds its table here. */
function restRoutes(services: RestServices): RestRoute[] {
  return [
    ...passkeyLinkRoutes(services.passkeyLinks),
    ...passkeyRoutes(services.passkeys),
    ...sessionRoutes(services.sessions),
  ];
}

/** The path prefixes of ZITADEL's APIs: anything unknown under them answers in ZITADEL's shape. */
export const REST_PREFIXES = ["/v2", "/auth/v1", "/management/v1"];

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
    const routes = restRoutes(services);
    for (const route of routes) addRoute(api, services, route);
    api.get("/openapi.json", { schema: { hide: true } }, () => api.swagger());
    for (const prefix of REST_PREFIXES) {
      await api.register(
        (scope, _options, done) => {
          scope.setNotFoundHandler(routeNotFound(routes));
          done();
        },
        { prefix },
      );
    }
  });
}

/**
 * ZITADEL's gateway (grpc-gateway) answers a path it does not know NOT_FOUND (404), and a known
 * path called with another method UNIMPLEMENTED (code 12, HTTP 501: its routing error handler maps
 * 405 Method Not Allowed to codes.Unimplemented); both in the REST error body, with our ids.
 */
function routeNotFound(routes: RestRoute[]) {
  const patterns = routes.map((route) => ({
    method: route.method ?? "POST",
    pattern: urlPattern(route.url),
  }));
  return (request: FastifyRequest, reply: FastifyReply) => {
    const path = pathOnly(request.url);
    const allowed = [...new Set(patterns.filter((p) => p.pattern.test(path)).map((p) => p.method))];
    if (allowed.length === 0) {
      return sendRestError(
        ApiError.notFound("REST-not-found", `no route ${request.method} ${path}`),
        request,
        reply,
      );
    }
    void reply.header("allow", allowed.join(", "));
    return sendRestError(
      new ApiError(
        "UNIMPLEMENTED",
        "REST-method-not-allowed",
        `${request.method} is not served on ${path}: use ${allowed.join(" or ")}`,
      ),
      request,
      reply,
    );
  };
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

/** A Fastify URL (`/v2/sessions/:sessionId`) as a regular expression for concrete paths. */
function urlPattern(url: string): RegExp {
  const escaped = url.replace(/[.*+?^$|()[\]{}\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/:[A-Za-z]+/g, "[^/]+")}$`);
}

function addRoute(api: FastifyInstance, services: RestServices, route: RestRoute) {
  const status = route.status ?? 200;
  api.route({
    method: route.method ?? "POST",
    url: route.url,
    schema: {
      operationId: route.operationId,
      summary: route.summary,
      tags: route.tags,
      ...(route.params ? { params: route.params } : {}),
      ...(route.query ? { querystring: route.query } : {}),
      headers: orgHeader,
      ...(route.body ? { body: route.body } : {}),
      response: { [status]: route.response, default: errorBodySchema },
      security: route.anonymous ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }],
    },
    onRequest: async (request, reply) => {
      // Before authentication, so a failure carries them too.
      for (const [name, value] of Object.entries(route.headers ?? {}))
        void reply.header(name, value);
      callers.set(
        request,
        await authenticateRequest(services, request.headers, request.socket.remoteAddress),
      );
    },
    // Before schema validation, so snake_case names are checked as their camelCase fields.
    preValidation: (request, _reply, done) => {
      try {
        if (route.body) request.body = camelCaseFields(request.body ?? {}, route.body);
        if (route.query) request.query = camelCaseFields(request.query ?? {}, route.query);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    handler: async (request, reply) => {
      const result = await route.handle({
        ctx: callerOf(request),
        params: request.params as Record<string, string>,
        body: (request.body ?? {}) as Record<string, unknown>,
        query: (request.query ?? {}) as Record<string, unknown>,
      });
      return reply.code(status).send(result);
    },
  });
}
