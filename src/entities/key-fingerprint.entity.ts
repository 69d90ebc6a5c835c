// The one row that names the master key the data was written with: a keyed hash, never the key.
import { Column, Entity, PrimaryColumn } from "typeorm";
import { timestampColumn } from "./columns";

export const KEY_FINGERPRINT_ROW_ID = 1;

@Entity({ name: "key_fingerprint" })
export class KeyFingerprintEntity {
  @PrimaryColumn({ name: "id", type: "integer" })
  id!: number;

  @Column({ name: "fingerprint", type: "varchar", length: 64 })
  fingerprint!: string;

  @Column(timestampColumn("created_at"))
  createdAt!: Date;
}
