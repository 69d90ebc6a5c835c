// Indexes for the abuse limits: mails per recipient address, and the purge of ended codes.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { TableColumn, TableIndex } from "typeorm";

export class AbuseLimits1763950000000 implements MigrationInterface {
  name = "AbuseLimits1763950000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      "mail_outbox",
      new TableColumn({ name: "recipient_key", type: "varchar", length: "320", isNullable: true }),
    );
    await queryRunner.query("UPDATE mail_outbox SET recipient_key = LOWER(recipient)");
    await queryRunner.createIndex(
      "mail_outbox",
      new TableIndex({
        name: "ix_mail_outbox_recipient",
        columnNames: ["recipient_key", "created_at"],
      }),
    );
    await queryRunner.createIndex(
      "passkey_codes",
      new TableIndex({ name: "ix_passkey_codes_expires", columnNames: ["expires_at"] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex("passkey_codes", "ix_passkey_codes_expires");
    await queryRunner.dropIndex("mail_outbox", "ix_mail_outbox_recipient");
    await queryRunner.dropColumn("mail_outbox", "recipient_key");
  }
}
