// pino options for Fastify's logger: secrets are redacted wherever they could appear.
import type { FastifyRequest, FastifyServerOptions } from "fastify";
import { QueryFailedError } from "typeorm";
import type { Config } from "../config";

export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  "headers.authorization",
  "token",
  "sessionToken",
  "link",
  "password",
  "*.token",
  "*.sessionToken",
  "*.link",
  "*.password",
  "*.masterKey",
  "*.smtpUrl",
];

/** Development (the default for `npm start`): readable lines; production and tests keep JSON. */
const PRETTY = {
  target: "pino-pretty",
  options: { translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", singleLine: true },
};

export function loggerOptions(
  config: Config,
  stream?: NodeJS.WritableStream,
): FastifyServerOptions["logger"] {
  if (config.logLevel === "silent") return false;
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    serializers: { req: serializeRequest, err: serializeError },
    ...(stream ? { stream } : config.env === "development" ? { transport: PRETTY } : {}),
  };
}

/** What the log says of a path that matched no route. */
export const UNKNOWN_ROUTE = "[unknown route]";

/**
 * Request lines name the path only: a query string can carry a registration code (the link's
 * `code=`) or a session token (GetSession's `sessionToken=`), so it never reaches a log line, on
 * any route. The path of a request that matched no
 * route is not written either: anyone can send any path, including a link whose template put a
 * code in it, or a mistyped one that did.
 */
export function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: request.is404 ? UNKNOWN_ROUTE : pathOnly(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

export function pathOnly(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/** Values quoted in driver messages ("Duplicate entry 'ada@example.com' for key ..."). */
const QUOTED_VALUE = /\b(entry|value:?) '[^']*'/gi;

/**
 * Errors as log fields: type, message, code and stack. A TypeORM QueryFailedError also carries
 * the SQL and its parameters (usernames, emails, names), and mysql2 errors the SQL and the
 * values it quotes; none of that is written.
 */
export function serializeError(error: Error): SerializedError {
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  const cause = error instanceof QueryFailedError ? (error.driverError as unknown) : undefined;
  return {
    type: error.name,
    message: error.message.replace(QUOTED_VALUE, "$1 '[redacted]'"),
    stack: (error.stack ?? "").replace(QUOTED_VALUE, "$1 '[redacted]'"),
    ...(code === undefined ? {} : { code }),
    ...(errno === undefined ? {} : { errno }),
    ...(cause instanceof Error ? { cause: serializeError(cause) } : {}),
  };
}

interface SerializedError {
  type: string;
  message: string;
  stack: string;
  [field: string]: unknown;
}
