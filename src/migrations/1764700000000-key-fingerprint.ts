// The fingerprint of the master key the data is written with, so a start with another key is
// refused instead of every code failing as invalid (issue 20). Stored at the next start.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { Table } from "typeorm";
import { timestamp } from "./columns";

export class KeyFingerprint1764700000000 implements MigrationInterface {
  name = "KeyFingerprint1764700000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: "key_fingerprint",
        columns: [
          { name: "id", type: "integer", isPrimary: true },
          { name: "fingerprint", type: "varchar", length: "64" },
          timestamp("created_at"),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable("key_fingerprint");
  }
}
