// Roles, the permissions they grant, and the check "may this caller do X in organization O".
import { INSTANCE_SCOPE } from "../entities/membership.entity";
import { ApiError } from "../errors";
import type { Caller } from "./request-context";

export const INSTANCE_ROLES = ["IAM_OWNER", "IAM_USER_MANAGER"] as const;
export const ORG_ROLES = ["ORG_OWNER", "ORG_USER_MANAGER"] as const;
export type Role = (typeof INSTANCE_ROLES)[number] | (typeof ORG_ROLES)[number];

export type Permission =
  | "org.write"
  | "iam.member.write"
  | "org.member.write"
  | "user.read"
  | "user.write"
  | "user.credential.write"
  | "user.passkey.write";

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
  ],
  IAM_USER_MANAGER: ["user.read", "user.write", "user.passkey.write"],
  ORG_OWNER: [
    "org.member.write",
    "user.read",
    "user.write",
    "user.credential.write",
    "user.passkey.write",
  ],
  ORG_USER_MANAGER: ["user.read", "user.write"],
};

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
