// The append-only event log: one row per event, numbered per aggregate.
import { Column, Entity, PrimaryColumn } from "typeorm";
import { bigintAsNumber, idColumn, timestampColumn } from "./columns";

@Entity({ name: "events" })
export class EventEntity {
  @PrimaryColumn({ name: "aggregate_type", type: "varchar", length: 32 })
  aggregateType!: string;

  @PrimaryColumn(idColumn("aggregate_id"))
  aggregateId!: string;

  /** The composite primary key makes a duplicate sequence on one aggregate impossible. */
  @PrimaryColumn({ name: "sequence", type: "bigint", transformer: bigintAsNumber })
  sequence!: number;

  @Column({ name: "event_type", type: "varchar", length: 100 })
  eventType!: string;

  @Column({ name: "payload", type: "text" })
  payload!: string;

  @Column(idColumn("creator"))
  creator!: string;

  @Column(idColumn("resource_owner"))
  resourceOwner!: string;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;
}
