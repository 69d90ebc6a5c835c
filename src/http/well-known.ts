// GET /.well-known/webauthn (WebAuthn related origin requests): the origins on other hosts that may
// use our RP ID, as {"origins": [...]}. Browsers fetch it from https://{RP ID}/ themselves, outside
// CORS: the route sends no CORS headers whatever CORS_ORIGINS says (no page needs to read it, and
// an intranet deployment's list is not every website's to read). The answer is the same for every
// requester (nothing reflected, no Vary), so a shared cache may keep it for a short while.
import type { FastifyInstance } from "fastify";

export const WELL_KNOWN_WEBAUTHN_PATH = "/.well-known/webauthn";

/** Long enough to spare the server, short enough that removing an origin takes effect soon. */
export const WELL_KNOWN_MAX_AGE_SECONDS = 300;

/**
 * Serves the related origins; with none configured there is no such route (404), so a deployment
 * without related origins does not claim to have a list.
 */
export function registerWellKnownWebauthn(
  http: FastifyInstance,
  relatedOrigins: readonly string[],
): void {
  if (relatedOrigins.length === 0) return;
  const body = JSON.stringify({ origins: relatedOrigins });
  http.get(WELL_KNOWN_WEBAUTHN_PATH, { config: { cors: false } }, (_request, reply) =>
    reply
      .headers({
        "content-type": "application/json; charset=utf-8",
        "cache-control": `public, max-age=${WELL_KNOWN_MAX_AGE_SECONDS}`,
        "x-content-type-options": "nosniff",
      })
      .send(body),
  );
}
