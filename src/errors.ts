// The API error type (gRPC status + stable id) and the one place errors are shaped for clients.
import type { GraphQLFormattedError } from "graphql";
import { GraphQLError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import type { ErrorId } from "./error-ids";

export const GRPC_CODES = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  /** REST only: a known path called with another method (grpc-gateway's 405, HTTP 501). */
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export type ErrorCode = keyof typeof GRPC_CODES;

/** HTTP status of each code: grpc-gateway's mapping, as ZITADEL answers. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  UNAUTHENTICATED: 401,
};

export interface ErrorDetail {
  "@type": string;
  id: string;
  message: string;
  [extra: string]: unknown;
}

/**
 * An error a client may see. `id` names the exact cause and never changes once published;
 * `message` must not contain secrets (codes, tokens, keys) or SQL.
 */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly id: ErrorId,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  static invalidArgument(id: ErrorId, message: string, extra?: Record<string, unknown>) {
    return new ApiError("INVALID_ARGUMENT", id, message, extra);
  }
  static notFound(id: ErrorId, message: string) {
    return new ApiError("NOT_FOUND", id, message);
  }
  static alreadyExists(id: ErrorId, message: string) {
    return new ApiError("ALREADY_EXISTS", id, message);
  }
  static permissionDenied(id: ErrorId, message = "permission denied") {
    return new ApiError("PERMISSION_DENIED", id, message);
  }
  static failedPrecondition(id: ErrorId, message: string) {
    return new ApiError("FAILED_PRECONDITION", id, message);
  }
  static unavailable(id: ErrorId, message: string) {
    return new ApiError("UNAVAILABLE", id, message);
  }
  static unauthenticated(id: ErrorId, message: string) {
    return new ApiError("UNAUTHENTICATED", id, message);
  }
  /** A limit was reached; it frees up at `retryAt` (reported in seconds, as gRPC's RetryInfo). */
  static resourceExhausted(id: ErrorId, message: string, retryAt: Date, now: Date) {
    const retryAfterSeconds = Math.max(1, Math.ceil((retryAt.getTime() - now.getTime()) / 1000));
    return new ApiError("RESOURCE_EXHAUSTED", id, `${message}; retry in ${retryAfterSeconds}s`, {
      retryDelay: `${retryAfterSeconds}s`,
      retryAfterSeconds,
    });
  }
}

/** Builds the GraphQLError a client receives for an ApiError (also used outside resolvers). */
export function toGraphQLError(error: ApiError, httpStatus?: number): GraphQLError {
  return new GraphQLError(error.message, {
    originalError: error,
    extensions: {
      ...errorExtensions(error.code, error.id, error.message, error.extra),
      ...(httpStatus ? { http: { status: httpStatus } } : {}),
    },
  });
}

/** The client's view of an ApiError: its message and the ZITADEL extensions. */
export function formatApiError(error: ApiError): GraphQLFormattedError {
  return {
    message: error.message,
    extensions: errorExtensions(error.code, error.id, error.message, error.extra),
  };
}

function errorExtensions(
  code: string,
  id: string,
  message: string,
  extra: Record<string, unknown> = {},
) {
  const grpcCode = (GRPC_CODES as Record<string, number>)[code] ?? GRPC_CODES.INVALID_ARGUMENT;
  // The extras (retryAfterSeconds, signal) stand in the extensions, where SPEC 18 puts them, and
  // in the detail, where ZITADEL clients look for what belongs to one error.
  return {
    ...extra,
    code,
    grpcCode,
    details: [{ "@type": "ErrorDetail", id, message, ...extra }],
  };
}

/** Apollo's own request-error codes: they keep their name and map to INVALID_ARGUMENT. */
const APOLLO_REQUEST_ERRORS: Record<string, ErrorId> = {
  GRAPHQL_PARSE_FAILED: "GQL-PARSE",
  GRAPHQL_VALIDATION_FAILED: "GQL-VALIDATION",
  BAD_USER_INPUT: "GQL-INPUT",
  BAD_REQUEST: "GQL-REQUEST",
  PERSISTED_QUERY_NOT_FOUND: "GQL-PQ-NOT-FOUND",
  PERSISTED_QUERY_NOT_SUPPORTED: "GQL-PQ-UNSUPPORTED",
  OPERATION_RESOLUTION_FAILURE: "GQL-OPERATION",
};

export type ErrorLogger = (error: unknown, message: string) => void;

/**
 * graphql-js ends some messages with a correction ("Did you mean "userId"?", "Did you mean the enum
 * value …?", "Did you mean to use an inline fragment on …?"): in validation, variable coercion and
 * enum errors alike. GraphQL names never contain "?".
 */
const SUGGESTION = / ?Did you mean [^?]*\?/g;

export interface FormatErrorOptions {
  /** Production: no message names a field, argument, type or value the caller did not write. */
  hideSuggestions: boolean;
}

/**
 * Apollo `formatError`: ApiErrors keep their code and id; Apollo's request errors keep their code
 * and gain grpcCode 3; anything else becomes INTERNAL without its message, stack or SQL (the log
 * gets the cause). Every error of /graphql passes here, so suggestions are removed here.
 */
export function createFormatError(logUnexpected: ErrorLogger, options: FormatErrorOptions) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const message = options.hideSuggestions
      ? formatted.message.replace(SUGGESTION, "")
      : formatted.message;
    const base = { message, locations: formatted.locations, path: formatted.path };
    if (original instanceof ApiError) return { ...base, ...formatApiError(original) };
    const apolloCode = formatted.extensions?.code;
    if (typeof apolloCode === "string" && apolloCode in APOLLO_REQUEST_ERRORS) {
      return {
        ...base,
        extensions: errorExtensions(
          apolloCode,
          APOLLO_REQUEST_ERRORS[apolloCode] ?? "GQL-REQUEST",
          message,
        ),
      };
    }
    if (
      typeof apolloCode === "string" &&
      apolloCode in GRPC_CODES &&
      formatted.extensions?.details
    ) {
      return { ...base, extensions: formatted.extensions };
    }
    logUnexpected(original, "unexpected error in GraphQL operation");
    return {
      message: "internal error",
      path: formatted.path,
      locations: formatted.locations,
      extensions: errorExtensions("INTERNAL", "INTERNAL-1", "internal error"),
    };
  };
}
