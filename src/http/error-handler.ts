// Failures outside resolvers (body parsing, unknown routes, a database outage) in the same error
// shape as GraphQL errors: { errors: [{ message, extensions: { code, grpcCode, details } }] }.
import type { ApolloServerPlugin } from "@apollo/server";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, HTTP_STATUS, formatApiError } from "../errors";
import { pathOnly } from "./logger";

/** The HTTP status of an error answered outside a GraphQL execution. */
/** The HTTP status a gRPC code maps to (the same table the REST routes use). */
export const httpStatusOf = (error: ApiError): number => HTTP_STATUS[error.code];

/** Fastify's request errors, by their code, as API errors a client can act on. */
function requestError(error: FastifyError): ApiError | undefined {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return ApiError.invalidArgument("HTTP-body-too-large", "the request body is too large");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return ApiError.invalidArgument("HTTP-content-type", "send the request as application/json");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return ApiError.invalidArgument("HTTP-invalid-json", "the request body is not valid JSON");
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return ApiError.invalidArgument("HTTP-invalid-json", "the request body is not valid JSON");
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return ApiError.invalidArgument("HTTP-bad-request", "the request is malformed");
  }
  return undefined;
}

function send(reply: FastifyReply, error: ApiError, status = httpStatusOf(error)) {
  return reply
    .code(status)
    .type("application/json")
    .send({ errors: [formatApiError(error)] });
}

/** For the scope that serves /graphql: everything its routes fail with outside Apollo. */
export function graphqlErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof ApiError) return send(reply, error);
  const known = requestError(error);
  if (known) return send(reply, known, error.statusCode ?? httpStatusOf(known));
  request.log.error({ err: error }, "unexpected error outside a GraphQL operation");
  return send(reply, new ApiError("INTERNAL", "INTERNAL-1", "internal error"));
}

/** Unknown routes answer NOT_FOUND in the same shape. */
export function registerNotFound(http: FastifyInstance): void {
  http.setNotFoundHandler((request, reply) =>
    send(
      reply,
      ApiError.notFound(
        "HTTP-route-not-found",
        `no route ${request.method} ${pathOnly(request.url)}`,
      ),
    ),
  );
}

/** A GraphQL response with an UNAVAILABLE error answers HTTP 503, so proxies and clients retry. */
export function unavailableStatus(): ApolloServerPlugin {
  return {
    requestDidStart: () =>
      Promise.resolve({
        willSendResponse: ({ response }) => {
          const errors = response.body.kind === "single" ? response.body.singleResult.errors : [];
          if (errors?.some((e) => e.extensions?.code === "UNAVAILABLE")) {
            response.http.status = 503;
          }
          return Promise.resolve();
        },
      }),
  };
}
