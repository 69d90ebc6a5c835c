// Users: creation, lookup, state changes and removal, each with its events in one transaction.
import type { EntityManager } from "typeorm";
import { z } from "zod";
import { CompiledSelect } from "../db/compiled-sql";
import type { Database } from "../db/database";
import { isUniqueViolation } from "../db/database";
import { INSTANCE_SCOPE, MembershipEntity } from "../entities/membership.entity";
import { PersonalAccessTokenEntity } from "../entities/personal-access-token.entity";
import type { UserStateValue } from "../entities/user.entity";
import { UserEntity } from "../entities/user.entity";
import { ApiError } from "../errors";
import type { Clock, IdGenerator } from "./clock";
import type { EventStore, NewEvent, WriteDetails } from "./event-store";
import type { OrganizationService } from "./organization.service";
import type { Permission, PermissionService } from "./permissions";
import type { Caller, RequestContext } from "./request-context";
import { requireCaller } from "./request-context";
import { email, languageTag, optionalTrimmed, parseInput, trimmed } from "./validation";

const username = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(200)
  .regex(/^[^\s]+$/, "must not contain white space");

const humanInput = z.object({
  organizationId: z.string().nullish(),
  username,
  email: email.nullish().transform((value) => value ?? null),
  emailVerified: z
    .boolean()
    .nullish()
    .transform((value) => value ?? false),
  givenName: trimmed(200),
  familyName: trimmed(200),
  displayName: optionalTrimmed(200),
  preferredLanguage: languageTag,
});
export type AddHumanUserInput = z.input<typeof humanInput>;

const machineInput = z.object({
  organizationId: z.string().nullish(),
  username,
  name: trimmed(200),
});
export type AddMachineUserInput = z.input<typeof machineInput>;

/** What a caller chooses about a new user; IDs, state and timestamps are the service's. */
export type NewUserFields = Pick<
  UserEntity,
  | "type"
  | "username"
  | "email"
  | "emailVerified"
  | "givenName"
  | "familyName"
  | "displayName"
  | "preferredLanguage"
>;

export type StateChange = "deactivate" | "reactivate" | "lock" | "unlock" | "remove";

/** Which state each change needs and yields; `from` lists the states it applies to. */
const TRANSITIONS: Record<
  StateChange,
  { from: UserStateValue[]; to: UserStateValue; event: string }
> = {
  deactivate: { from: ["ACTIVE", "LOCKED"], to: "INACTIVE", event: "user.deactivated" },
  reactivate: { from: ["INACTIVE"], to: "ACTIVE", event: "user.reactivated" },
  lock: { from: ["ACTIVE"], to: "LOCKED", event: "user.locked" },
  unlock: { from: ["LOCKED"], to: "ACTIVE", event: "user.unlocked" },
  remove: { from: ["ACTIVE", "INACTIVE", "LOCKED"], to: "REMOVED", event: "user.removed" },
};

/** Hooks other features register to end what belongs to a removed user, in the same transaction. */
export type UserRemovalHook = (tx: EntityManager, userId: string) => Promise<void>;

export class UserService {
  private readonly removalHooks: UserRemovalHook[] = [];

  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly permissions: PermissionService,
    private readonly organizations: OrganizationService,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {}

  private readonly selectUser = new CompiledSelect(
    this.db,
    UserEntity,
    [
      "id",
      "organizationId",
      "type",
      "state",
      "username",
      "usernameKey",
      "email",
      "emailVerified",
      "givenName",
      "familyName",
      "displayName",
      "preferredLanguage",
      "sequence",
      "createdAt",
      "updatedAt",
    ] as const,
    (column) => `WHERE ${column("id")} = ?`,
  );

  onRemoval(hook: UserRemovalHook): void {
    this.removalHooks.push(hook);
  }

  /** The user unless missing or removed (both NOT_FOUND); `lock` holds its row until commit. */
  async findExisting(db: EntityManager, id: string, lock = false): Promise<UserEntity> {
    const suffix = lock && this.db.dialect === "mysql" ? " FOR UPDATE" : "";
    const user = await this.selectUser.one(db, [id], suffix);
    if (!user || user.state === "REMOVED")
      throw ApiError.notFound("USER-not-found", "user not found");
    return user;
  }

  /**
   * Resolves the target user, then checks the caller's permission in the *target's*
   * organization (acting on oneself needs none when `allowSelf`). NOT_FOUND comes before
   * PERMISSION_DENIED, as ZITADEL clients expect.
   *
   * Writes on a user who holds instance roles also need `iam.member.write`: otherwise an
   * organization owner could mint a token or a passkey code for the instance owner (who belongs
   * to some organization too) and become it. `readOnly` operations skip that check.
   */
  async authorizeOnUser(
    db: EntityManager,
    caller: Caller,
    targetId: string,
    permission: Permission,
    options: { allowSelf: boolean; lock?: boolean; readOnly?: boolean },
  ): Promise<UserEntity> {
    const target = await this.findExisting(db, targetId, options.lock ?? false);
    if (options.allowSelf && target.id === caller.userId) return target;
    this.permissions.require(caller, permission, target.organizationId);
    if (
      !options.readOnly &&
      !this.permissions.has(caller, "iam.member.write", null) &&
      (await this.holdsInstanceRole(db, target.id))
    ) {
      throw ApiError.permissionDenied(
        "AUTHZ-target-privileged",
        "only instance owners may act on a user holding instance roles",
      );
    }
    return target;
  }

  private async holdsInstanceRole(db: EntityManager, userId: string): Promise<boolean> {
    const count = await db
      .createQueryBuilder(MembershipEntity, "m")
      .where("m.userId = :userId AND m.scopeId = :instance", { userId, instance: INSTANCE_SCOPE })
      .getCount();
    return count > 0;
  }

  async get(ctx: RequestContext, id: string): Promise<UserEntity> {
    const caller = requireCaller(ctx);
    return this.db.read((db) =>
      this.authorizeOnUser(db, caller, id, "user.read", { allowSelf: true, readOnly: true }),
    );
  }

  async addHuman(ctx: RequestContext, input: AddHumanUserInput) {
    const organizationId = await this.authorizeCreation(ctx, input.organizationId);
    const data = parseInput(humanInput, input, "USER-human-input");
    return this.create(ctx, organizationId, {
      type: "HUMAN",
      username: data.username,
      email: data.email,
      emailVerified: data.emailVerified,
      givenName: data.givenName,
      familyName: data.familyName,
      displayName: data.displayName ?? `${data.givenName} ${data.familyName}`,
      preferredLanguage: data.preferredLanguage,
    });
  }

  async addMachine(ctx: RequestContext, input: AddMachineUserInput) {
    const organizationId = await this.authorizeCreation(ctx, input.organizationId);
    const data = parseInput(machineInput, input, "USER-machine-input");
    return this.create(ctx, organizationId, {
      type: "MACHINE",
      username: data.username,
      email: null,
      emailVerified: false,
      givenName: null,
      familyName: null,
      displayName: data.name,
      preferredLanguage: null,
    });
  }

  /** Applies a state change; nobody can deactivate, lock or remove themselves. */
  async changeState(
    ctx: RequestContext,
    userId: string,
    change: StateChange,
  ): Promise<WriteDetails> {
    const caller = requireCaller(ctx);
    const transition = TRANSITIONS[change];
    return this.db.transaction(async (tx) => {
      const user = await this.authorizeOnUser(tx, caller, userId, "user.write", {
        allowSelf: false,
        lock: true,
      });
      if (user.id === caller.userId && change !== "reactivate" && change !== "unlock") {
        throw ApiError.failedPrecondition("USER-self", `a user cannot ${change} itself`);
      }
      if (!transition.from.includes(user.state)) {
        throw ApiError.failedPrecondition(
          `USER-state-${change}`,
          `user is ${user.state.toLowerCase()}; ${change} needs ${transition.from.join(" or ").toLowerCase()}`,
        );
      }
      await tx
        .createQueryBuilder()
        .update(UserEntity)
        .set({
          state: transition.to,
          updatedAt: this.clock.now(),
          ...(change === "remove" ? { usernameKey: null } : {}),
        })
        .where("id = :id", { id: user.id })
        .execute();
      if (change === "remove") await this.endBelongings(tx, user.id);
      return this.events.append(tx, userAggregate(user), caller.userId, [
        { type: transition.event },
      ]);
    });
  }

  private async endBelongings(tx: EntityManager, userId: string): Promise<void> {
    await tx
      .createQueryBuilder()
      .delete()
      .from(PersonalAccessTokenEntity)
      .where("userId = :userId", { userId })
      .execute();
    await tx
      .createQueryBuilder()
      .delete()
      .from(MembershipEntity)
      .where("userId = :userId", { userId })
      .execute();
    for (const hook of this.removalHooks) await hook(tx, userId);
  }

  /** Resolves the organization (input, else the request's context), then checks `user.write` there. */
  private async authorizeCreation(
    ctx: RequestContext,
    requested: string | null | undefined,
  ): Promise<string> {
    const caller = requireCaller(ctx);
    const organizationId = requested ?? ctx.orgId ?? caller.organizationId;
    await this.db.read((db) => this.organizations.requireExists(db, organizationId));
    this.permissions.require(caller, "user.write", organizationId);
    return organizationId;
  }

  private async create(
    ctx: RequestContext,
    organizationId: string,
    fields: NewUserFields,
  ): Promise<{ details: WriteDetails; userId: string }> {
    const caller = requireCaller(ctx);
    const userId = this.ids.next();
    return this.db.transaction(async (tx) => {
      await this.insertUser(tx, userId, organizationId, fields);
      const event: NewEvent = {
        type: fields.type === "HUMAN" ? "user.human.added" : "user.machine.added",
        payload: { username: fields.username, displayName: fields.displayName },
      };
      const details = await this.events.append(
        tx,
        { type: "user", id: userId, resourceOwner: organizationId },
        caller.userId,
        [event],
      );
      return { details, userId };
    });
  }

  /** Inserts the row only (ALREADY_EXISTS on a taken username); the caller appends the event. */
  async insertUser(
    tx: EntityManager,
    id: string,
    organizationId: string,
    fields: NewUserFields,
  ): Promise<void> {
    const usernameKey = fields.username.toLowerCase();
    const taken = await tx
      .createQueryBuilder(UserEntity, "u")
      .select("u.id", "id")
      .where("u.organizationId = :organizationId AND u.usernameKey = :usernameKey", {
        organizationId,
        usernameKey,
      })
      .getRawOne<{ id: string }>();
    if (taken) throw ApiError.alreadyExists("USER-username-taken", "username is already taken");
    const now = this.clock.now();
    try {
      await tx
        .createQueryBuilder()
        .insert()
        .into(UserEntity)
        .values({
          ...fields,
          id,
          organizationId,
          usernameKey,
          state: "ACTIVE",
          sequence: 0,
          createdAt: now,
          updatedAt: now,
        })
        .updateEntity(false)
        .execute();
    } catch (error) {
      if (isUniqueViolation(error))
        throw ApiError.alreadyExists("USER-username-taken", "username is already taken");
      throw error;
    }
  }
}

export function userAggregate(user: Pick<UserEntity, "id" | "organizationId">) {
  return { type: "user" as const, id: user.id, resourceOwner: user.organizationId };
}
