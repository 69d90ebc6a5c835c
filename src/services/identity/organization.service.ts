// Organizations: creation and lookup.
import type { EntityManager } from "typeorm";
import { z } from "zod";
import type { Database } from "../../db/database";
import { InstanceEntity } from "../../entities/instance.entity";
import { OrganizationEntity } from "../../entities/organization.entity";
import { ApiError } from "../../errors";
import type { Clock, IdGenerator } from "../../core/clock";
import type { EventStore, WriteDetails } from "../../core/event-store";
import type { PermissionService } from "./permissions";
import type { RequestContext } from "../../core/request-context";
import { requireCaller } from "../../core/request-context";
import { columnLength, identifyingName, isResourceId, parseInput } from "../../core/validation";

const addOrganizationInput = z.object({
  name: identifyingName(columnLength(OrganizationEntity, "name"), "ORG-name-invisible"),
});

export type OrganizationInfo = Pick<OrganizationEntity, "id" | "name" | "createdAt">;

export class OrganizationService {
  constructor(
    private readonly db: Database,
    private readonly events: EventStore,
    private readonly permissions: PermissionService,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {}

  /** Creates an organization; instance owners only (`org.write` at instance level). */
  async add(
    ctx: RequestContext,
    input: { name: string },
  ): Promise<{ details: WriteDetails; organizationId: string }> {
    const caller = requireCaller(ctx);
    return this.db.transaction(async (tx) => {
      this.permissions.require(caller, "org.write", null);
      const { name } = parseInput(addOrganizationInput, input, "ORG-input");
      const organizationId = await this.insert(tx, name);
      const details = await this.events.append(
        tx,
        { type: "org", id: organizationId, resourceOwner: organizationId },
        caller.userId,
        [{ type: "org.added", payload: { name } }],
      );
      return { details, organizationId };
    });
  }

  /** Inserts the row only; the caller appends the creation event in the same transaction. */
  async insert(tx: EntityManager, name: string): Promise<string> {
    const id = this.ids.next();
    const now = this.clock.now();
    await tx
      .createQueryBuilder()
      .insert()
      .into(OrganizationEntity)
      .values({ id, name, sequence: 0, createdAt: now, updatedAt: now })
      .updateEntity(false)
      .execute();
    return id;
  }

  /**
   * The instance's default organization (created by bootstrap); null before bootstrap. Once
   * read it is kept: bootstrap writes the single instance row once, nothing updates or deletes
   * it, and organizations are never deleted. Before bootstrap (null) it is read every time.
   */
  async defaultOrganizationId(db: EntityManager): Promise<string | null> {
    if (this.defaultOrganization !== null) return this.defaultOrganization;
    const row = await db
      .createQueryBuilder(InstanceEntity, "i")
      .select("i.defaultOrganizationId", "id")
      .getRawOne<{ id: string }>();
    this.defaultOrganization = row?.id ?? null;
    return this.defaultOrganization;
  }

  private defaultOrganization: string | null = null;

  /**
   * The organizations whose users the caller may read (`user.read`): every one for a holder of an
   * instance role that grants it, otherwise those where its organization roles grant it. Oldest
   * first (then by ID), so the order is stable.
   */
  async list(ctx: RequestContext): Promise<OrganizationInfo[]> {
    const readable = this.permissions.organizationsWith(requireCaller(ctx), "user.read");
    if (readable !== "all" && readable.length === 0) return [];
    return this.db.read((db) => {
      const query = db
        .createQueryBuilder(OrganizationEntity, "o")
        .select(["o.id", "o.name", "o.createdAt"])
        .orderBy("o.createdAt", "ASC")
        .addOrderBy("o.id", "ASC");
      if (readable !== "all") query.where("o.id IN (:...readable)", { readable });
      return query.getMany();
    });
  }

  /** Throws NOT_FOUND unless the organization exists. */
  async requireExists(db: EntityManager, id: string): Promise<void> {
    const found =
      isResourceId(id) &&
      (await db
        .createQueryBuilder(OrganizationEntity, "o")
        .select("o.id", "id")
        .where("o.id = :id", { id })
        .getRawOne<{ id: string }>());
    if (!found) throw ApiError.notFound("ORG-not-found", "organization not found");
  }
}
