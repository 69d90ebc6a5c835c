// Personal access tokens: minting (shown once, stored as SHA-256) and authenticating requests.
import { hash, randomBytes } from "node:crypto";
import type { EntityManager } from "typeorm";
import { z } from "zod";
import type { Database } from "../../db/database";
import { MembershipEntity } from "../../entities/membership.entity";
import { PersonalAccessTokenEntity } from "../../entities/personal-access-token.entity";
import { UserEntity } from "../../entities/user.entity";
import { ApiError } from "../../errors";
import type { Clock, IdGenerator } from "../../core/clock";
import type { EventStore, NewEvent, WriteDetails } from "../../core/event-store";
import { mintedWithoutGrantRight } from "./member.service";
import type { Caller, RequestContext } from "../../core/request-context";
import { CLI_CREATOR, mintingAuthority, requireCaller } from "../../core/request-context";
import type { DisablingChange, UserService } from "./user.service";
import { userAggregate } from "./user.service";
import { isResourceId, parseInput, storableDate } from "../../core/validation";

/** Recognisable prefix so secret scanners can find leaked tokens. */
const TOKEN_PREFIX = "plk_";

/**
 * A token carries 256 random bits, so an unkeyed SHA-256 is enough to make the stored value
 * useless to a reader of the table, and tokens survive a change of MASTER_KEY.
 */
export function hashToken(token: string): string {
  return hash("sha256", token, "hex");
}

export interface TokenInfo {
  id: string;
  createdAt: Date;
  expiresAt: Date | null;
  createdBy: string;
  grantedBy: string;
}

const TOKEN_EVENTS = { added: "user.personal.token.added", removed: "user.personal.token.removed" };

export class TokenService {
  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly users: UserService,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {
    users.onDisable((tx, userId, change) => this.endOnDisable(tx, userId, change));
    users.onRoleGranted((tx, userId, scopeId) =>
      this.endMintedWithoutGrantRight(tx, userId, scopeId),
    );
  }

  /**
   * Mints a token for the caller itself, or for a user the caller has authority over with
   * `user.credential.write` (SPEC 13). A caller whose own token expires cannot mint one that
   * outlives it: otherwise a short-lived token would buy permanent access.
   */
  async add(
    ctx: RequestContext,
    input: { userId: string; expirationDate?: Date | null },
  ): Promise<{ details: WriteDetails; tokenId: string; token: string }> {
    const caller = requireCaller(ctx);
    return this.db.transaction(async (tx) => {
      const user = await this.users.authorizeOnUser(
        tx,
        caller,
        input.userId,
        "user.credential.write",
        {
          allowSelf: true,
          lock: true,
        },
      );
      if (user.state !== "ACTIVE") {
        throw ApiError.failedPrecondition("PAT-user-state", "the user is not active");
      }
      const expirationDate = this.parseExpiration(input);
      const limit = caller.tokenExpiresAt;
      if (limit && (!expirationDate || expirationDate.getTime() > limit.getTime())) {
        throw ApiError.invalidArgument(
          "PAT-outlives-caller",
          `expirationDate must be set and not later than the calling token's (${limit.toISOString()})`,
        );
      }
      const minted = await this.insert(
        tx,
        user.id,
        expirationDate,
        caller.userId,
        mintingAuthority(caller, user.id),
        caller.tokenId,
      );
      const details = await this.events.append(tx, userAggregate(user), caller.userId, [
        {
          type: TOKEN_EVENTS.added,
          payload: { tokenId: minted.tokenId, expiration: expirationDate?.toISOString() ?? null },
        },
      ]);
      return { details, ...minted };
    });
  }

  /**
   * `npm run cli -- token`: a token for an active user on the command line's authority, which
   * holds database access and so is the root of trust (the way back from a lost admin.pat).
   * Audited like any minting, with CLI_CREATOR as the event's creator and the token's. It counts
   * as the user's own (granted_by: the user), so no later promotion ends it: whoever runs the CLI
   * could grant any role anyway.
   */
  async mintFromCommandLine(
    userId: string,
    expirationDate: Date | null,
  ): Promise<{ details: WriteDetails; tokenId: string; token: string }> {
    return this.db.transaction(async (tx) => {
      const user = await this.users.findExisting(tx, userId, true);
      if (user.state !== "ACTIVE") {
        throw ApiError.failedPrecondition("PAT-user-state", "the user is not active");
      }
      const expiration = this.parseExpiration({ expirationDate });
      const minted = await this.insert(tx, user.id, expiration, CLI_CREATOR, user.id);
      const details = await this.events.append(tx, userAggregate(user), CLI_CREATOR, [
        {
          type: TOKEN_EVENTS.added,
          payload: { tokenId: minted.tokenId, expiration: expiration?.toISOString() ?? null },
        },
      ]);
      return { details, ...minted };
    });
  }

  private parseExpiration(input: { expirationDate?: Date | null }): Date | null {
    const { expirationDate } = parseInput(
      z.object({
        expirationDate: storableDate()
          .nullish()
          .refine(
            (date) => !date || date.getTime() > this.clock.now().getTime(),
            "must be in the future",
          ),
      }),
      input,
      "PAT-input",
    );
    return expirationDate ?? null;
  }

  /** A user's tokens, newest first, never their values: oneself, or as for minting. */
  async list(ctx: RequestContext, userId: string): Promise<TokenInfo[]> {
    const caller = requireCaller(ctx);
    return this.db.read(async (db) => {
      await this.users.authorizeOnUser(db, caller, userId, "user.credential.write", {
        allowSelf: true,
      });
      return db
        .createQueryBuilder(PersonalAccessTokenEntity, "t")
        .select(["t.id", "t.createdAt", "t.expiresAt", "t.createdBy", "t.grantedBy"])
        .where("t.userId = :userId", { userId })
        .orderBy("t.createdAt", "DESC")
        .addOrderBy("t.id", "DESC")
        .getMany();
    });
  }

  /**
   * Ends one token of a user: oneself, or as for minting. The tokens minted with it end with it,
   * transitively and whoever's they are: a planted token's children must not outlive it.
   */
  async remove(ctx: RequestContext, userId: string, tokenId: string): Promise<WriteDetails> {
    const caller = requireCaller(ctx);
    return this.db.transaction(async (tx) => {
      const user = await this.users.authorizeOnUser(tx, caller, userId, "user.credential.write", {
        allowSelf: true,
        lock: true,
      });
      // IDs are compared exactly (SPEC 14): MariaDB's collation would match other letter cases.
      const result = isResourceId(tokenId)
        ? await tx
            .createQueryBuilder()
            .delete()
            .from(PersonalAccessTokenEntity)
            .where("id = :tokenId AND userId = :userId", { tokenId, userId: user.id })
            .execute()
        : { affected: 0 };
      if (result.affected !== 1) throw ApiError.notFound("PAT-not-found", "token not found");
      const details = await this.events.append(tx, userAggregate(user), caller.userId, [
        { type: TOKEN_EVENTS.removed, payload: { tokenId } },
      ]);
      await this.endMintedWith(tx, [tokenId], caller.userId);
      return details;
    });
  }

  /**
   * Deletes the tokens minted with `parents`, then theirs, and so on, with a removed event on
   * each token's user (whose sequence moves, so these events come after the caller's).
   */
  private async endMintedWith(
    tx: EntityManager,
    parents: string[],
    creator: string,
  ): Promise<void> {
    let frontier = parents;
    while (frontier.length > 0) {
      const children = await tx
        .createQueryBuilder(PersonalAccessTokenEntity, "t")
        .innerJoin(UserEntity, "u", "u.id = t.userId")
        .select("t.id", "tokenId")
        .addSelect("t.mintedWith", "mintedWith")
        .addSelect("u.id", "userId")
        .addSelect("u.organizationId", "organizationId")
        .where("t.mintedWith IN (:...frontier)", { frontier })
        .orderBy("t.createdAt", "ASC")
        .addOrderBy("t.id", "ASC")
        .getRawMany<{
          tokenId: string;
          mintedWith: string;
          userId: string;
          organizationId: string;
        }>();
      if (children.length === 0) return;
      const ids = children.map((child) => child.tokenId);
      await tx
        .createQueryBuilder()
        .delete()
        .from(PersonalAccessTokenEntity)
        .where("id IN (:...ids)", { ids })
        .execute();
      await this.events.appendToEach(
        tx,
        "user",
        creator,
        children.map(({ tokenId, mintedWith, userId, organizationId }) => ({
          aggregate: userAggregate({ id: userId, organizationId }),
          event: {
            type: TOKEN_EVENTS.removed,
            payload: { tokenId, reason: "minter.removed", mintedWith },
          },
        })),
      );
      frontier = ids;
    }
  }

  /**
   * Deactivation and removal end every token, so reactivating revives none. Locking keeps them:
   * it is the reversible hold (the tokens stop working while locked and can be removed singly).
   */
  private async endOnDisable(
    tx: EntityManager,
    userId: string,
    change: DisablingChange,
  ): Promise<void> {
    if (change === "lock") return;
    await tx
      .createQueryBuilder()
      .delete()
      .from(PersonalAccessTokenEntity)
      .where("userId = :userId", { userId })
      .execute();
  }

  /** SPEC 13: a token someone minted for a user before its promotion must not carry the new role. */
  private async endMintedWithoutGrantRight(
    tx: EntityManager,
    userId: string,
    scopeId: string,
  ): Promise<NewEvent[]> {
    const ids = await mintedWithoutGrantRight(
      tx.createQueryBuilder(PersonalAccessTokenEntity, "t").where("t.userId = :userId", { userId }),
      { id: "t.id", grantedBy: "t.grantedBy", owner: "t.userId" },
      scopeId,
    );
    if (ids.length === 0) return [];
    await tx
      .createQueryBuilder()
      .delete()
      .from(PersonalAccessTokenEntity)
      .where("id IN (:...ids)", { ids })
      .execute();
    return ids.map((tokenId) => ({
      type: TOKEN_EVENTS.removed,
      payload: { tokenId, reason: "role.granted" },
    }));
  }

  /**
   * Inserts a new token row minted by `createdBy` under `grantedBy`'s authority (SPEC 13) and
   * returns the only copy of the token.
   */
  async insert(
    tx: EntityManager,
    userId: string,
    expiresAt: Date | null,
    createdBy: string,
    grantedBy: string = createdBy,
    mintedWith: string | null = null,
  ): Promise<{ tokenId: string; token: string }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
    const tokenId = this.ids.next();
    await tx
      .createQueryBuilder()
      .insert()
      .into(PersonalAccessTokenEntity)
      .values({
        id: tokenId,
        userId,
        tokenHash: hashToken(token),
        expiresAt,
        createdBy,
        grantedBy,
        mintedWith,
        createdAt: this.clock.now(),
      })
      .updateEntity(false)
      .execute();
    return { tokenId, token };
  }

  /**
   * The caller behind a bearer token, with its roles, in one query; UNAUTHENTICATED when the
   * token is unknown or expired or its user is not active.
   */
  async authenticate(token: string): Promise<Caller> {
    const rows = await this.db.read((db) =>
      this.db.query<CallerRow[]>(db, this.callerQuery, [hashToken(token)]),
    );
    const row = rows[0];
    if (!row) throw ApiError.unauthenticated("AUTH-token-invalid", "invalid token");
    const expiresAt = row.expiresAt === null ? null : parseDbDate(row.expiresAt);
    if (expiresAt !== null && expiresAt.getTime() <= this.clock.now().getTime()) {
      throw ApiError.unauthenticated("AUTH-token-expired", "token expired");
    }
    if (row.state !== "ACTIVE") {
      throw ApiError.unauthenticated("AUTH-user-inactive", "the token's user is not active");
    }
    const roles = rows
      .filter((r) => r.role !== null)
      .map((r) => ({ scopeId: r.scopeId!, role: r.role! }));
    return {
      userId: row.userId,
      organizationId: row.organizationId,
      tokenId: row.tokenId,
      tokenExpiresAt: expiresAt,
      tokenGrantedBy: row.grantedBy,
      roles,
    };
  }

  /** Built once by the query builder; only the token hash changes per request. */
  private readonly callerQuery = (() => {
    const [sql] = this.db.dataSource
      .createQueryBuilder(PersonalAccessTokenEntity, "t")
      .innerJoin(UserEntity, "u", "u.id = t.userId")
      .leftJoin(MembershipEntity, "m", "m.userId = u.id")
      .select([
        "t.id AS tokenId",
        "t.expiresAt AS expiresAt",
        "t.grantedBy AS grantedBy",
        "u.id AS userId",
        "u.organizationId AS organizationId",
        "u.state AS state",
        "m.scopeId AS scopeId",
        "m.role AS role",
      ])
      .where("t.tokenHash = :hash", { hash: "" })
      .getQueryAndParameters();
    return sql;
  })();
}

interface CallerRow {
  tokenId: string;
  expiresAt: Date | string | null;
  grantedBy: string;
  userId: string;
  organizationId: string;
  state: string;
  scopeId: string | null;
  role: string | null;
}

/** Raw selects return DATETIME as a Date (mysql2) or as UTC text (SQLite). */
export function parseDbDate(value: Date | string): Date {
  if (value instanceof Date) return value;
  return new Date(value.includes("T") ? value : `${value.replace(" ", "T")}Z`);
}
