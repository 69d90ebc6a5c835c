// Passkey registration codes (hashed) and the transactional mail outbox.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { Table, TableIndex } from "typeorm";
import { id, timestamp } from "./columns";

export class PasskeyCodesAndOutbox1763800000000 implements MigrationInterface {
  name = "PasskeyCodesAndOutbox1763800000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: "passkey_codes",
        columns: [
          id("id", { isPrimary: true }),
          id("user_id"),
          id("organization_id"),
          { name: "code_hash", type: "varchar", length: "64" },
          { name: "medium", type: "varchar", length: "16" },
          { name: "state", type: "varchar", length: "16" },
          { name: "failed_checks", type: "integer", default: 0 },
          id("creator"),
          timestamp("created_at"),
          timestamp("expires_at"),
          timestamp("ended_at", { isNullable: true }),
        ],
        indices: [
          new TableIndex({
            name: "ix_passkey_codes_user_created",
            columnNames: ["user_id", "created_at"],
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "mail_outbox",
        columns: [
          id("id", { isPrimary: true }),
          id("code_id"),
          id("user_id"),
          id("organization_id"),
          { name: "recipient", type: "varchar", length: "320" },
          { name: "display_name", type: "varchar", length: "200" },
          { name: "language", type: "varchar", length: "35", isNullable: true },
          { name: "link_ciphertext", type: "text", isNullable: true },
          { name: "message_id", type: "varchar", length: "255" },
          { name: "state", type: "varchar", length: "16" },
          { name: "attempts", type: "integer", default: 0 },
          timestamp("next_attempt_at"),
          { name: "claim_token", type: "varchar", length: "36", isNullable: true },
          { name: "last_error", type: "varchar", length: "500", isNullable: true },
          timestamp("code_expires_at"),
          timestamp("created_at"),
          timestamp("sent_at", { isNullable: true }),
        ],
        indices: [
          new TableIndex({ name: "ix_mail_outbox_due", columnNames: ["state", "next_attempt_at"] }),
          new TableIndex({ name: "uq_mail_outbox_code", columnNames: ["code_id"], isUnique: true }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable("mail_outbox");
    await queryRunner.dropTable("passkey_codes");
  }
}
