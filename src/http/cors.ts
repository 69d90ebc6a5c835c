// CORS for browser apps on the origins in CORS_ORIGINS (SPEC 16). Registered on the root instance,
// so /graphql and every later route answer preflights alike; other origins get no CORS headers.
import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

export const CORS_ALLOWED_HEADERS = ["authorization", "content-type", "x-zitadel-orgid"];

export async function registerCors(http: FastifyInstance, origins: string[]): Promise<void> {
  if (origins.length === 0) {
    // Without CORS an OPTIONS request (a browser's preflight, a probe) gets the methods and no
    // CORS headers, so browsers refuse the cross-origin call; not Apollo's CSRF paragraph, which
    // is about a request that was never going to be made.
    http.addHook("onRequest", (request, reply, done) => {
      if (request.method !== "OPTIONS") return done();
      void reply.code(204).header("allow", "GET, POST, PATCH, DELETE, OPTIONS").send();
    });
    return;
  }
  const allowed = new Set(origins);
  await http.register(cors, {
    // A function, not the list: with a list the plugin still answers other origins' preflights
    // with Allow-Methods and Allow-Headers; `false` makes it add nothing at all.
    origin: (origin, callback) =>
      callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    methods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    // A rate-limited browser app may read when to retry (SPEC 18).
    exposedHeaders: ["retry-after"],
    // Browsers may cache a preflight for 10 minutes instead of repeating it before every call.
    maxAge: 600,
  });
}
