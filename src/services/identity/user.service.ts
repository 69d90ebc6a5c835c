// Users: creation, lookup, state changes and removal, each with its events in one transaction.
import type { EntityManager } from "typeorm";
import { z } from "zod";
import { CompiledSelect } from "../../db/compiled-sql";
import type { Database } from "../../db/database";
import { isUniqueViolation } from "../../db/database";
import { MembershipEntity } from "../../entities/membership.entity";
import type { UserStateValue } from "../../entities/user.entity";
import { UserEntity } from "../../entities/user.entity";
import { ApiError } from "../../errors";
import type { Clock, IdGenerator } from "../../core/clock";
import type { EventStore, NewEvent, WriteDetails } from "../../core/event-store";
import type { OrganizationService } from "./organization.service";
import type { Permission, PermissionService } from "./permissions";
import type { Caller, RequestContext } from "../../core/request-context";
import { requireCaller, requireSelfService } from "../../core/request-context";
import {
  columnLength,
  email,
  isResourceId,
  languageTag,
  optionalTrimmed,
  parseInput,
  trimmed,
} from "../../core/validation";

const length = (property: keyof UserEntity) => columnLength(UserEntity, property);

const username = trimmed(length("username")).regex(/^[^\s]+$/, "must not contain white space");

const humanInput = z.object({
  organizationId: z.string().nullish(),
  username,
  email: email(length("email"))
    .nullish()
    .transform((value) => value ?? null),
  emailVerified: z
    .boolean()
    .nullish()
    .transform((value) => value ?? false),
  givenName: trimmed(length("givenName")),
  familyName: trimmed(length("familyName")),
  displayName: optionalTrimmed(length("displayName")),
  preferredLanguage: languageTag(length("preferredLanguage")),
});
export type AddHumanUserInput = z.input<typeof humanInput>;

const machineInput = z.object({
  organizationId: z.string().nullish(),
  username,
  name: trimmed(length("displayName")),
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

/** The state changes that end a user's pending work (SPEC 13); the others revive none of it. */
export type DisablingChange = Extract<StateChange, "lock" | "deactivate" | "remove">;

/**
 * Ends what belongs to a user that is being locked, deactivated or removed (codes, queued mails,
 * tokens, pending registrations), in the state change's transaction, which holds the user's row.
 */
export type UserDisableHook = (
  tx: EntityManager,
  userId: string,
  change: DisablingChange,
) => Promise<void>;

/**
 * Ends the credentials of a user who was just granted roles in `scopeId` that were minted by
 * someone else who may not grant roles there; returns the events to write on the user.
 */
export type RoleGrantHook = (
  tx: EntityManager,
  userId: string,
  scopeId: string,
) => Promise<NewEvent[]>;

/** A user as `findExisting` reads it, with the scopes it holds roles in ("" for the instance). */
/** What the API layers read of a user: the profile, never the row's bookkeeping columns. */
export type UserProfile = Pick<
  UserEntity,
  | "id"
  | "organizationId"
  | "type"
  | "state"
  | "username"
  | "email"
  | "emailVerified"
  | "givenName"
  | "familyName"
  | "preferredLanguage"
  | "displayName"
>;

export type ExistingUser = UserEntity & { roleScopes: readonly string[] };

export class UserService {
  private readonly disableHooks: UserDisableHook[] = [];
  private readonly roleGrantHooks: RoleGrantHook[] = [];

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
    // One row per role: the authority check needs the target's scopes, read in the same round trip.
    (column) => `LEFT JOIN memberships m ON m.user_id = ${column("id")} WHERE ${column("id")} = ?`,
    { roleScope: "m.scope_id" },
  );

  /** Registers a hook run by lock, deactivate and remove (see UserDisableHook). */
  onDisable(hook: UserDisableHook): void {
    this.disableHooks.push(hook);
  }

  /** Registers a hook run by `roleGranted` (see RoleGrantHook). */
  onRoleGranted(hook: RoleGrantHook): void {
    this.roleGrantHooks.push(hook);
  }

  /** Runs the role-grant hooks for a membership just added in `tx`; returns their events. */
  async roleGranted(tx: EntityManager, userId: string, scopeId: string): Promise<NewEvent[]> {
    const events: NewEvent[] = [];
    for (const hook of this.roleGrantHooks) events.push(...(await hook(tx, userId, scopeId)));
    return events;
  }

  /**
   * The user unless missing or removed (both NOT_FOUND), with the scopes it holds roles in;
   * `lock` holds its row (and its memberships) until commit.
   */
  async findExisting(db: EntityManager, id: string, lock = false): Promise<ExistingUser> {
    const suffix = lock && this.db.dialect === "mysql" ? " FOR UPDATE" : "";
    const rows = isResourceId(id) ? await this.selectUser.all(db, [id], suffix) : [];
    const first = rows[0];
    if (!first || first.state === "REMOVED")
      throw ApiError.notFound("USER-not-found", "user not found");
    const roleScopes = new Set<string>();
    for (const { roleScope } of rows) if (typeof roleScope === "string") roleScopes.add(roleScope);
    const { roleScope: _, ...user } = first;
    return { ...user, roleScopes: [...roleScopes] };
  }

  /** The ID of the existing user with this username (any letter case) in `organizationId`. */
  async idByLoginName(
    db: EntityManager,
    organizationId: string,
    loginName: string,
  ): Promise<string | null> {
    const row = await db
      .createQueryBuilder(UserEntity, "u")
      .select("u.id", "id")
      .where("u.organizationId = :organizationId AND u.usernameKey = :key", {
        organizationId,
        key: loginName.trim().toLowerCase(),
      })
      .getRawOne<{ id: string }>();
    return row?.id ?? null;
  }

  /**
   * Resolves the target user, then checks the caller's permission in the *target's*
   * organization (acting on oneself needs none when `allowSelf`). NOT_FOUND comes before
   * PERMISSION_DENIED, as ZITADEL clients expect.
   *
   * Writes on another user also need the authority of SPEC 13 (the right to grant roles in every
   * scope the target holds roles in, see `PermissionService.requireAuthorityOver`): otherwise a
   * minted credential would carry the target's power elsewhere. `readOnly` operations skip it.
   */
  async authorizeOnUser(
    db: EntityManager,
    caller: Caller,
    targetId: string,
    permission: Permission,
    options: { allowSelf: boolean; lock?: boolean; readOnly?: boolean },
  ): Promise<ExistingUser> {
    const target = await this.findExisting(db, targetId, options.lock ?? false);
    if (options.allowSelf && target.id === caller.userId) return target;
    this.permissions.require(caller, permission, target.organizationId);
    if (!options.readOnly) this.permissions.requireAuthorityOver(caller, target.roleScopes);
    return target;
  }

  async get(ctx: RequestContext, id: string): Promise<UserEntity> {
    const caller = requireSelfService(ctx, id);
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
          `USER-state-${change}` as const,
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
      if (isDisabling(change)) {
        for (const hook of this.disableHooks) await hook(tx, user.id, change);
      }
      if (change === "remove") await this.endMemberships(tx, user.id);
      return this.events.append(tx, userAggregate(user), caller.userId, [
        { type: transition.event },
      ]);
    });
  }

  private async endMemberships(tx: EntityManager, userId: string): Promise<void> {
    await tx
      .createQueryBuilder()
      .delete()
      .from(MembershipEntity)
      .where("userId = :userId", { userId })
      .execute();
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

function isDisabling(change: StateChange): change is DisablingChange {
  return change === "lock" || change === "deactivate" || change === "remove";
}

export function userAggregate(user: Pick<UserEntity, "id" | "organizationId">) {
  return { type: "user" as const, id: user.id, resourceOwner: user.organizationId };
}
