// CORS for browser apps on the origins in CORS_ORIGINS (SPEC 16). Registered on the root instance,
// so /graphql and every later route answer preflights alike; other origins get no CORS headers.
import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

export const CORS_ALLOWED_HEADERS = ["authorization", "content-type", "x-zitadel-orgid"];

export async function registerCors(http: FastifyInstance, origins: string[]): Promise<void> {
  if (origins.length === 0) return;
  const allowed = new Set(origins);
  await http.register(cors, {
    // A function, not the list: with a list the plugin still answers other origins' preflights
    // with Allow-Methods and Allow-Headers; `false` makes it add nothing at all.
    origin: (origin, callback) =>
      callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    methods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    // Browsers may cache a preflight for 10 minutes instead of repeating it before every call.
    maxAge: 600,
  });
}
