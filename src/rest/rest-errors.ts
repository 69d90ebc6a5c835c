// ZITADEL's REST error: HTTP status from the gRPC code, body {code, message, details}, for every
// failure on the REST routes, Fastify's own (bad JSON, body limit, media type, schema) included.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, GRPC_CODES, HTTP_STATUS } from "../errors";
import type { ErrorId } from "../error-ids";

const ERROR_DETAIL_TYPE = "type.googleapis.com/zitadel.v1.ErrorDetail";

export const errorBodySchema = {
  type: "object",
  description: "ZITADEL's error: the gRPC code and a detail whose id names the exact cause.",
  properties: {
    code: { type: "integer", description: "gRPC status code" },
    message: { type: "string", description: "the message, then the detail id in parentheses" },
    details: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: true,
        properties: {
          "@type": { type: "string", enum: [ERROR_DETAIL_TYPE] },
          id: { type: "string" },
          message: { type: "string" },
        },
      },
    },
  },
} as const;

/**
 * Fastify rejects some requests before any handler runs; they carry INVALID_ARGUMENT, as ZITADEL's
 * gateway answers a request it cannot decode, and so HTTP 400 (SPEC 15: status from the code).
 */
const FASTIFY_ERRORS: Record<string, { status: number; id: ErrorId; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 400,
    id: "REST-body-too-large",
    message: "request body is too large",
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    id: "REST-invalid-json",
    message: "request body is not valid JSON",
  },
};

interface Failure {
  status: number;
  error: ApiError;
}

function classify(error: FastifyError): Failure | undefined {
  if (error instanceof ApiError) return { status: HTTP_STATUS[error.code], error };
  if (error.validation) {
    return {
      status: 400,
      error: ApiError.invalidArgument("REST-invalid-request", `invalid request: ${error.message}`),
    };
  }
  const known =
    FASTIFY_ERRORS[error.code] ??
    (error instanceof SyntaxError ? FASTIFY_ERRORS.FST_ERR_CTP_INVALID_JSON_BODY : undefined);
  if (known)
    return { status: known.status, error: ApiError.invalidArgument(known.id, known.message) };
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { status, error: ApiError.invalidArgument("REST-bad-request", error.message) };
  }
  return undefined;
}

/** The REST plugin's error handler; anything unexpected is INTERNAL with its cause only logged. */
export function sendRestError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const failure = classify(error) ?? {
    status: 500,
    error: new ApiError("INTERNAL", "INTERNAL-1", "internal error"),
  };
  if (failure.status === 500) request.log.error({ err: error }, "unexpected error in REST route");
  const { code, id, message, extra } = failure.error;
  const retryAfter = extra.retryAfterSeconds;
  if (typeof retryAfter === "number") void reply.header("retry-after", String(retryAfter));
  return reply.code(failure.status).send({
    code: GRPC_CODES[code],
    message: `${message} (${id})`,
    details: [{ "@type": ERROR_DETAIL_TYPE, id, message, ...extra }],
  });
}
