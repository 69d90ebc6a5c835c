// First run: a default organization, a machine user holding IAM_OWNER, and a token for it.
import type { Database } from "../../db/database";
import { isUniqueViolation } from "../../db/database";
import { InstanceEntity, INSTANCE_ROW_ID } from "../../entities/instance.entity";
import { INSTANCE_SCOPE, MembershipEntity } from "../../entities/membership.entity";
import { ApiError } from "../../errors";
import type { Clock, IdGenerator } from "../../core/clock";
import type { EventStore } from "../../core/event-store";
import type { OrganizationService } from "./organization.service";
import type { TokenService } from "./token.service";
import type { UserService } from "./user.service";

export interface BootstrapResult {
  organizationId: string;
  userId: string;
  token: string;
}

export class BootstrapService {
  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly organizations: OrganizationService,
    private readonly users: UserService,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {}

  async isBootstrapped(): Promise<boolean> {
    const count = await this.db.read((db) => db.createQueryBuilder(InstanceEntity, "i").getCount());
    return count > 0;
  }

  /** The organization bootstrap created (null before bootstrap): where `demo` puts its user. */
  async defaultOrganizationId(): Promise<string | null> {
    const row = await this.db.read((db) =>
      db
        .createQueryBuilder(InstanceEntity, "i")
        .select("i.defaultOrganizationId", "id")
        .getRawOne<{ id: string }>(),
    );
    return row?.id ?? null;
  }

  /**
   * Creates the instance owner. The single `instance` row is inserted first, so of two processes
   * bootstrapping at once exactly one succeeds; the other gets FAILED_PRECONDITION. `keep` stores
   * the token (the server writes DATA_DIR/admin.pat) before the transaction commits: if it
   * throws, nothing is committed, so an owner whose only token was lost can never exist.
   */
  async bootstrap(
    orgName: string,
    keep?: (result: BootstrapResult) => void,
  ): Promise<BootstrapResult> {
    const name = orgName.trim();
    if (name.length === 0 || name.length > 200) {
      throw ApiError.invalidArgument(
        "BOOTSTRAP-org-name",
        "the organization name must have 1 to 200 characters",
      );
    }
    try {
      return await this.db.transaction(async (tx) => {
        if ((await tx.createQueryBuilder(InstanceEntity, "i").getCount()) > 0) throw alreadyOwned();
        const organizationId = await this.organizations.insert(tx, name);
        const userId = this.ids.next();
        const now = this.clock.now();
        await tx
          .createQueryBuilder()
          .insert()
          .into(InstanceEntity)
          .values({
            id: INSTANCE_ROW_ID,
            ownerUserId: userId,
            defaultOrganizationId: organizationId,
            createdAt: now,
          })
          .updateEntity(false)
          .execute();
        await this.users.insertUser(tx, userId, organizationId, {
          type: "MACHINE",
          username: "admin",
          email: null,
          emailVerified: false,
          givenName: null,
          familyName: null,
          displayName: "Instance administrator",
          preferredLanguage: null,
        });
        await tx
          .createQueryBuilder()
          .insert()
          .into(MembershipEntity)
          .values({ userId, scopeId: INSTANCE_SCOPE, role: "IAM_OWNER", createdAt: now })
          .updateEntity(false)
          .execute();
        const { token, tokenId } = await this.tokens.insert(tx, userId, null, userId);
        await this.events.append(
          tx,
          { type: "org", id: organizationId, resourceOwner: organizationId },
          userId,
          [{ type: "org.added", payload: { name } }],
        );
        await this.events.append(
          tx,
          { type: "user", id: userId, resourceOwner: organizationId },
          userId,
          [
            { type: "user.machine.added", payload: { username: "admin" } },
            { type: "user.member.added", payload: { organizationId: null, roles: ["IAM_OWNER"] } },
            { type: "user.personal.token.added", payload: { tokenId, expiration: null } },
          ],
        );
        const result = { organizationId, userId, token };
        keep?.(result);
        return result;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyOwned();
      throw error;
    }
  }
}

function alreadyOwned(): ApiError {
  return ApiError.failedPrecondition(
    "BOOTSTRAP-exists",
    "the instance already has an owner; bootstrap runs only once",
  );
}
