// The single row that marks an instance as set up: its primary key makes a second bootstrap fail.
import { Column, Entity, PrimaryColumn } from "typeorm";
import { idColumn, timestampColumn } from "./columns";

export const INSTANCE_ROW_ID = 1;

@Entity({ name: "instance" })
export class InstanceEntity {
  @PrimaryColumn({ name: "id", type: "integer" })
  id!: number;

  @Column(idColumn("owner_user_id"))
  ownerUserId!: string;

  @Column(idColumn("default_organization_id"))
  defaultOrganizationId!: string;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;
}
