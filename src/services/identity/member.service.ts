// Memberships: granting roles in an organization or on the whole instance.
import type { ObjectLiteral, SelectQueryBuilder } from "typeorm";
import { z } from "zod";
import type { Database } from "../../db/database";
import { INSTANCE_SCOPE, MembershipEntity } from "../../entities/membership.entity";
import { ApiError } from "../../errors";
import type { Clock } from "../../core/clock";
import type { EventStore, WriteDetails } from "../../core/event-store";
import type { OrganizationService } from "./organization.service";
import type { PermissionService } from "./permissions";
import { INSTANCE_ROLES, ORG_ROLES, grantPermission, grantorsOf } from "./permissions";
import type { RequestContext } from "../../core/request-context";
import { requireCaller } from "../../core/request-context";
import type { UserService } from "./user.service";
import { userAggregate } from "./user.service";
import { parseInput } from "../../core/validation";

const rolesInput = (allowed: readonly string[]) =>
  z.object({
    roles: z
      .array(z.string().trim())
      .min(1, "at least one role is required")
      .transform((roles) => [...new Set(roles)])
      .pipe(
        z.array(
          z.enum(allowed as [string, ...string[]], {
            message: `roles must be among ${allowed.join(", ")}`,
          }),
        ),
      ),
  });

export class MemberService {
  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly permissions: PermissionService,
    private readonly organizations: OrganizationService,
    private readonly users: UserService,
    private readonly clock: Clock,
  ) {}

  /**
   * Grants roles to a user in an organization (ORG_* roles, needs `org.member.write` there) or,
   * with no organization, on the instance (IAM_* roles, needs `iam.member.write`). A user who
   * already holds roles at that level gets ALREADY_EXISTS. In the same transaction, the
   * credentials of the user that someone else minted without the right to grant these roles end
   * (SPEC 13): otherwise a token planted before the promotion would carry the new power. Since
   * that ends credentials, making a user of another organization a member also needs authority
   * over the user itself (`user.write` in its organization, under SPEC 13's rule): an owner of A
   * must not be able to end what B's owner minted for B's users.
   */
  async add(
    ctx: RequestContext,
    input: { organizationId?: string | null; userId: string; roles: string[] },
  ): Promise<WriteDetails> {
    const caller = requireCaller(ctx);
    const organizationId = input.organizationId ?? null;
    return this.db.transaction(async (tx) => {
      if (organizationId !== null) await this.organizations.requireExists(tx, organizationId);
      const user = await this.users.findExisting(tx, input.userId, true);
      const scopeId = organizationId ?? INSTANCE_SCOPE;
      this.permissions.require(caller, grantPermission(scopeId), organizationId);
      if (organizationId !== null && user.organizationId !== organizationId) {
        // authorizeOnUser's checks, on the user already read and locked above.
        this.permissions.require(caller, "user.write", user.organizationId);
        this.permissions.requireAuthorityOver(caller, user.roleScopes);
      }
      const { roles } = parseInput(
        rolesInput(organizationId === null ? INSTANCE_ROLES : ORG_ROLES),
        input,
        "MEMBER-input",
      );
      if (user.roleScopes.includes(scopeId))
        throw ApiError.alreadyExists("MEMBER-exists", "the user is already a member");
      const createdAt = this.clock.now();
      await tx
        .createQueryBuilder()
        .insert()
        .into(MembershipEntity)
        .values(roles.map((role) => ({ userId: user.id, scopeId, role, createdAt })))
        .updateEntity(false)
        .execute();
      const ended = await this.users.roleGranted(tx, user.id, scopeId);
      return this.events.append(tx, userAggregate(user), caller.userId, [
        { type: "user.member.added", payload: { organizationId, roles } },
        ...ended,
      ]);
    });
  }
}

/**
 * IDs of the credentials `query` selects (alias.id, filtered to one user) minted under the
 * authority of someone other than their owner (`grantedBy`: the minter, or for a user's own
 * minting, whoever granted its calling token) who may not grant roles in `scopeId` now (the
 * grantors: `grantorsOf`).
 */
export async function mintedWithoutGrantRight(
  query: SelectQueryBuilder<ObjectLiteral>,
  columns: { id: string; grantedBy: string; owner: string },
  scopeId: string,
): Promise<string[]> {
  const { scopes, roles } = grantorsOf(scopeId);
  const rows = await query
    .select(columns.id, "id")
    .andWhere(
      `${columns.grantedBy} <> ${columns.owner} AND ${columns.grantedBy} NOT IN (SELECT g.user_id ` +
        `FROM memberships g WHERE g.scope_id IN (:...grantScopes) AND g.role IN (:...grantRoles))`,
      { grantScopes: scopes, grantRoles: roles },
    )
    .getRawMany<{ id: string }>();
  return rows.map((row) => row.id);
}
