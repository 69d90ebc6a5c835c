// pino options for Fastify's logger: secrets are redacted wherever they could appear.
import type { FastifyServerOptions } from "fastify";
import type { Config } from "./config";

export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  "headers.authorization",
  "token",
  "link",
  "password",
  "*.token",
  "*.link",
  "*.password",
  "*.masterKey",
  "*.smtpUrl",
];

export function loggerOptions(
  config: Config,
  stream?: NodeJS.WritableStream,
): FastifyServerOptions["logger"] {
  if (config.logLevel === "silent") return false;
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    ...(stream ? { stream } : {}),
  };
}
