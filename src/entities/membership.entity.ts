// One role of one user at one level: an organization, or the whole instance (scope "").
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import { idColumn, timestampColumn } from "./columns";

export const INSTANCE_SCOPE = "";

@Entity({ name: "memberships" })
@Index("ix_memberships_scope", ["scopeId"])
export class MembershipEntity {
  @PrimaryColumn(idColumn("user_id"))
  userId!: string;

  /** An organization ID, or INSTANCE_SCOPE for an instance-level role. */
  @PrimaryColumn(idColumn("scope_id"))
  scopeId!: string;

  @PrimaryColumn({ name: "role", type: "varchar", length: 64 })
  role!: string;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;
}
