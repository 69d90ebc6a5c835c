// Who is calling, from the request headers: one function for both API layers (GraphQL and REST),
// so bearer tokens and x-zitadel-orgid mean exactly the same on every route.
import type { IncomingHttpHeaders } from "node:http";
import type { Database } from "../db/database";
import { ApiError } from "../errors";
import type { OrganizationService } from "../services/identity/organization.service";
import type { RequestContext } from "../core/request-context";
import type { TokenService } from "../services/identity/token.service";

export interface Authenticator {
  db: Database;
  tokens: TokenService;
  organizations: OrganizationService;
}

/**
 * No Authorization header: anonymous. A bad or expired token, or a header that is not
 * "Bearer <token>", throws UNAUTHENTICATED; an unknown x-zitadel-orgid throws NOT_FOUND. Each layer
 * formats the ApiError its own way.
 */
export async function authenticateRequest(
  services: Authenticator,
  headers: IncomingHttpHeaders,
): Promise<RequestContext> {
  const token = bearerToken(headers.authorization);
  if (token === null) return { caller: null, orgId: null };
  const caller = await services.tokens.authenticate(token);
  const header = headers["x-zitadel-orgid"];
  const orgId = typeof header === "string" && header.trim() !== "" ? header.trim() : null;
  if (orgId !== null)
    await services.db.read((db) => services.organizations.requireExists(db, orgId));
  return { caller, orgId: orgId ?? caller.organizationId };
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
