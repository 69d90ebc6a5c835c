// Persistence shape of an organization (a tenant); also the "org" event aggregate.
import { Column, Entity } from "typeorm";
import { AggregateRoot } from "./aggregate-root";

@Entity({ name: "organizations" })
export class OrganizationEntity extends AggregateRoot {
  @Column({ name: "name", type: "varchar", length: 200 })
  name!: string;
}
