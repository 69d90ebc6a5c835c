// Stored passkeys, pending registrations, and notification mails in the outbox.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { Table, TableColumn, TableIndex } from "typeorm";
import { id, timestamp } from "./columns";

export class Passkeys1764000000000 implements MigrationInterface {
  name = "Passkeys1764000000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: "passkeys",
        columns: [
          id("id", { isPrimary: true }),
          id("user_id"),
          id("organization_id"),
          { name: "credential_id", type: "text" },
          { name: "credential_hash", type: "varchar", length: "64" },
          { name: "public_key", type: "text" },
          { name: "sign_count", type: "bigint", default: 0 },
          { name: "transports", type: "varchar", length: "200", isNullable: true },
          { name: "aaguid", type: "varchar", length: "36" },
          { name: "backed_up", type: "boolean", default: 0 },
          { name: "name", type: "varchar", length: "200" },
          id("registered_with_code_id", { isNullable: true }),
          timestamp("created_at"),
        ],
        indices: [
          new TableIndex({ name: "ix_passkeys_user", columnNames: ["user_id"] }),
          new TableIndex({
            name: "uq_passkeys_credential",
            columnNames: ["credential_hash"],
            isUnique: true,
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "passkey_registrations",
        columns: [
          id("id", { isPrimary: true }),
          id("user_id"),
          id("organization_id"),
          id("code_id", { isNullable: true }),
          { name: "challenge", type: "varchar", length: "128" },
          { name: "state", type: "varchar", length: "16" },
          timestamp("created_at"),
          timestamp("expires_at"),
          timestamp("ended_at", { isNullable: true }),
        ],
        indices: [
          new TableIndex({
            name: "ix_passkey_registrations_user",
            columnNames: ["user_id", "state"],
          }),
          new TableIndex({ name: "ix_passkey_registrations_code", columnNames: ["code_id"] }),
        ],
      }),
    );
    await queryRunner.addColumn(
      "mail_outbox",
      new TableColumn({ name: "kind", type: "varchar", length: "16", default: "'PASSKEY_LINK'" }),
    );
    await queryRunner.addColumn(
      "mail_outbox",
      new TableColumn({ name: "variables", type: "text", isNullable: true }),
    );
    await setCodeIdNullable(queryRunner, true);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("DELETE FROM mail_outbox WHERE code_id IS NULL");
    await setCodeIdNullable(queryRunner, false);
    await queryRunner.dropColumn("mail_outbox", "variables");
    await queryRunner.dropColumn("mail_outbox", "kind");
    await queryRunner.dropTable("passkey_registrations");
    await queryRunner.dropTable("passkeys");
  }
}

/**
 * MySQL changes the column in place (TypeORM's changeColumn would drop its unique index there);
 * SQLite cannot alter a column, so TypeORM rebuilds the table with its indices.
 */
async function setCodeIdNullable(queryRunner: QueryRunner, nullable: boolean): Promise<void> {
  if (queryRunner.connection.driver.options.type === "better-sqlite3") {
    await queryRunner.changeColumn(
      "mail_outbox",
      "code_id",
      new TableColumn(id("code_id", { isNullable: nullable })),
    );
    return;
  }
  await queryRunner.query(
    `ALTER TABLE \`mail_outbox\` MODIFY \`code_id\` varchar(36) ${nullable ? "NULL" : "NOT NULL"}`,
  );
}
