// Columns every event aggregate's row carries: its ID, the sequence of its last event, timestamps.
import { Column, PrimaryColumn } from "typeorm";
import { idColumn, sequenceColumn, timestampColumn } from "./columns";

export abstract class AggregateRoot {
  @PrimaryColumn(idColumn("id"))
  id!: string;

  @Column(sequenceColumn())
  sequence!: number;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;

  @Column(timestampColumn("updated_at"))
  updatedAt!: Date;
}
