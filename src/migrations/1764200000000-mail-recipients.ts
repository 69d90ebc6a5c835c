// The per-address lock row of the send limit (SPEC 14), and the index the notice purge reads.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { Table, TableIndex } from "typeorm";
import { timestamp } from "./columns";

export class MailRecipients1764200000000 implements MigrationInterface {
  name = "MailRecipients1764200000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: "mail_recipients",
        columns: [
          { name: "recipient_key", type: "varchar", length: "320", isPrimary: true },
          timestamp("last_queued_at"),
        ],
      }),
    );
    await queryRunner.createIndex(
      "mail_outbox",
      new TableIndex({ name: "ix_mail_outbox_kind_created", columnNames: ["kind", "created_at"] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex("mail_outbox", "ix_mail_outbox_kind_created");
    await queryRunner.dropTable("mail_recipients");
  }
}
