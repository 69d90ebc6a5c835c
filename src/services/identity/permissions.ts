// Roles, the permissions they grant, and the check "may this caller do X in organization O".
import { INSTANCE_SCOPE } from "../../entities/membership.entity";
import { ApiError } from "../../errors";
import type { Caller } from "../../core/request-context";

export const INSTANCE_ROLES = ["IAM_OWNER", "IAM_USER_MANAGER", "IAM_LOGIN_CLIENT"] as const;
export const ORG_ROLES = ["ORG_OWNER", "ORG_USER_MANAGER"] as const;
export type Role = (typeof INSTANCE_ROLES)[number] | (typeof ORG_ROLES)[number];

export type Permission =
  | "org.write"
  | "iam.member.write"
  | "org.member.write"
  | "user.read"
  | "user.write"
  | "user.credential.write"
  | "user.passkey.write"
  | "session.read"
  | "session.write"
  | "session.delete";

/** SPEC section 5, plus the read and membership permissions the identity surface needs. */
const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  IAM_OWNER: [
    "org.write",
    "iam.member.write",
    "org.member.write",
    "user.read",
    "user.write",
    "user.credential.write",
    "user.passkey.write",
    "session.read",
    "session.write",
    "session.delete",
  ],
  IAM_USER_MANAGER: [
    "user.read",
    "user.write",
    "user.passkey.write",
    "session.read",
    "session.delete",
  ],
  // A login application's service account (SPEC 5): it runs sign-ins, nothing else.
  IAM_LOGIN_CLIENT: ["session.read", "session.write"],
  ORG_OWNER: [
    "org.member.write",
    "user.read",
    "user.write",
    "user.credential.write",
    "user.passkey.write",
    "session.read",
    "session.delete",
  ],
  ORG_USER_MANAGER: ["user.read", "user.write", "session.read", "session.delete"],
};

/** The permission that grants roles in `scopeId`: an organization, or INSTANCE_SCOPE. */
export function grantPermission(scopeId: string): Permission {
  return scopeId === INSTANCE_SCOPE ? "iam.member.write" : "org.member.write";
}

/**
 * Who may grant roles in `scopeId`, as membership rows: a role among `roles` held in one of
 * `scopes` (instance roles count everywhere). The SQL twin of `PermissionService.mayGrantIn`.
 */
export function grantorsOf(scopeId: string): { scopes: string[]; roles: string[] } {
  const permission = grantPermission(scopeId);
  return {
    scopes: scopeId === INSTANCE_SCOPE ? [INSTANCE_SCOPE] : [INSTANCE_SCOPE, scopeId],
    roles: Object.keys(ROLE_PERMISSIONS).filter((role) => roleGrants(role, permission)),
  };
}

export function roleGrants(role: string, permission: Permission): boolean {
  return (
    (ROLE_PERMISSIONS as Record<string, readonly Permission[] | undefined>)[role]?.includes(
      permission,
    ) ?? false
  );
}

export class PermissionService {
  /**
   * True when the caller holds `permission` in `organizationId` (instance roles count in every
   * organization), or at instance level when `organizationId` is null. The roles come with the
   * caller's token (one query per request), so checking costs no round trip.
   */
  has(caller: Caller, permission: Permission, organizationId: string | null): boolean {
    return caller.roles.some(
      ({ scopeId, role }) =>
        (scopeId === INSTANCE_SCOPE || (organizationId !== null && scopeId === organizationId)) &&
        roleGrants(role, permission),
    );
  }

  /**
   * Where the caller holds `permission`: "all" when an instance role grants it (instance roles
   * apply in every organization), otherwise the organizations whose roles grant it.
   */
  organizationsWith(caller: Caller, permission: Permission): "all" | string[] {
    if (this.has(caller, permission, null)) return "all";
    const organizations = caller.roles
      .filter(({ scopeId, role }) => scopeId !== INSTANCE_SCOPE && roleGrants(role, permission))
      .map(({ scopeId }) => scopeId);
    return [...new Set(organizations)];
  }

  /** True when the caller may grant roles in `scopeId` (an organization, or INSTANCE_SCOPE). */
  mayGrantIn(caller: Caller, scopeId: string): boolean {
    return this.has(caller, grantPermission(scopeId), scopeId === INSTANCE_SCOPE ? null : scopeId);
  }

  /**
   * SPEC 13: minting a credential for a user or changing its state needs, besides the operation's
   * permission, the right to grant roles in every scope where the target holds roles. Otherwise
   * an owner of organization A could mint a token for a user of A who owns B (or the instance)
   * and act as that user there.
   */
  requireAuthorityOver(caller: Caller, targetRoleScopes: readonly string[]): void {
    if (targetRoleScopes.every((scopeId) => this.mayGrantIn(caller, scopeId))) return;
    throw ApiError.permissionDenied(
      "AUTHZ-target-privileged",
      "acting on this user needs the right to grant roles wherever it holds them",
    );
  }

  /**
   * Throws PERMISSION_DENIED unless the caller holds `permission` in `organizationId`. Callers
   * pass the *target's* organization, never the header's, so an owner of one organization gets
   * nothing in another.
   */
  require(caller: Caller, permission: Permission, organizationId: string | null): void {
    if (!this.has(caller, permission, organizationId)) {
      throw ApiError.permissionDenied("AUTHZ-denied", `permission ${permission} is missing`);
    }
  }
}
