// Who is calling, from the request headers: one function for both API layers (GraphQL and REST),
// so bearer tokens and x-zitadel-orgid mean exactly the same on every route.
import type { IncomingHttpHeaders } from "node:http";
import type { Database } from "../db/database";
import { ApiError } from "../errors";
import type { OrganizationService } from "../services/identity/organization.service";
import type { RequestContext } from "../core/request-context";
import type { TokenService } from "../services/identity/token.service";
import type { SessionService } from "../services/sessions/session.service";
import { isSessionToken } from "../services/sessions/session-token";
import type { Config } from "../config";
import { clientAddress } from "./client-address";

export interface Authenticator {
  config: Pick<Config, "sessions">;
  db: Database;
  tokens: TokenService;
  sessions: SessionService;
  organizations: OrganizationService;
}

/**
 * No Authorization header: anonymous. A bad or expired token, or a header that is not
 * "Bearer <token>", throws UNAUTHENTICATED; an unknown x-zitadel-orgid throws NOT_FOUND (for
 * anonymous callers too: username-first sign-in names the organization with it). A `pls_` bearer
 * is a session token (SPEC 18), anything else a PAT; each costs one query. Each layer formats the
 * ApiError its own way.
 */
export async function authenticateRequest(
  services: Authenticator,
  headers: IncomingHttpHeaders,
  remoteAddress?: string,
): Promise<RequestContext> {
  const address = clientAddress(remoteAddress, headers, services.config.sessions.trustProxy);
  const token = bearerToken(headers.authorization);
  const caller =
    token === null
      ? null
      : isSessionToken(token)
        ? await services.sessions.authenticate(token)
        : await services.tokens.authenticate(token);
  const header = headers["x-zitadel-orgid"];
  const orgId = typeof header === "string" && header.trim() !== "" ? header.trim() : null;
  if (orgId !== null)
    await services.db.read((db) => services.organizations.requireExists(db, orgId));
  return {
    caller,
    orgId: orgId ?? caller?.organizationId ?? null,
    ...(address === undefined ? {} : { clientAddress: address }),
  };
}

function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header.trim() === "") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw ApiError.unauthenticated(
      "AUTH-header-malformed",
      "authorization header must be: Bearer <token>",
    );
  }
  return match[1];
}
