// Persistence shape of an organization (a tenant); also the "org" event aggregate.
import { Column, Entity, PrimaryColumn } from "typeorm";
import { idColumn, sequenceColumn, timestampColumn } from "./columns";

@Entity({ name: "organizations" })
export class OrganizationEntity {
  @PrimaryColumn(idColumn("id"))
  id!: string;

  @Column({ name: "name", type: "varchar", length: 200 })
  name!: string;

  @Column(sequenceColumn())
  sequence!: number;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;

  @Column(timestampColumn("updated_at"))
  updatedAt!: Date;
}
