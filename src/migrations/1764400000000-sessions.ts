// Signing in with a passkey (SPEC 18): sessions, their webAuthN challenges, the passkeys that
// verified each session, the per-address sign-in budgets, and which session minted a code.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { Table, TableColumn, TableIndex } from "typeorm";
import { id, sequence, timestamp } from "./columns";

export class Sessions1764400000000 implements MigrationInterface {
  name = "Sessions1764400000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: "sessions",
        columns: [
          id("id", { isPrimary: true }),
          id("user_id", { isNullable: true }),
          id("organization_id"),
          { name: "token_hash", type: "varchar", length: "64" },
          id("check_user_id", { isNullable: true }),
          { name: "login_name_key", type: "varchar", length: "200", isNullable: true },
          timestamp("user_checked_at", { isNullable: true }),
          id("passkey_id", { isNullable: true }),
          id("granted_by", { isNullable: true }),
          timestamp("webauthn_checked_at", { isNullable: true }),
          { name: "user_verified", type: "boolean", default: 0 },
          { name: "failed_checks", type: "integer", default: 0 },
          sequence(),
          timestamp("created_at"),
          timestamp("changed_at"),
          timestamp("expires_at"),
          timestamp("pending_until"),
          timestamp("terminated_at", { isNullable: true }),
        ],
        indices: [
          new TableIndex({
            name: "uq_sessions_token",
            columnNames: ["token_hash"],
            isUnique: true,
          }),
          new TableIndex({ name: "ix_sessions_user", columnNames: ["user_id", "created_at"] }),
          new TableIndex({ name: "ix_sessions_expires", columnNames: ["expires_at"] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "session_challenges",
        columns: [
          id("id", { isPrimary: true }),
          id("session_id"),
          { name: "challenge_hash", type: "varchar", length: "64" },
          timestamp("created_at"),
          timestamp("expires_at"),
          timestamp("consumed_at", { isNullable: true }),
        ],
        indices: [
          new TableIndex({
            name: "ix_session_challenges_session",
            columnNames: ["session_id", "consumed_at"],
          }),
          new TableIndex({ name: "ix_session_challenges_expires", columnNames: ["expires_at"] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "session_passkeys",
        columns: [id("session_id", { isPrimary: true }), id("passkey_id", { isPrimary: true })],
        indices: [
          new TableIndex({ name: "ix_session_passkeys_passkey", columnNames: ["passkey_id"] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "signin_budgets",
        columns: [
          { name: "client_key", type: "varchar", length: "64", isPrimary: true },
          { name: "kind", type: "varchar", length: "16", isPrimary: true },
          timestamp("window_start", { isPrimary: true }),
          { name: "used", type: "integer", default: 0 },
        ],
        indices: [
          new TableIndex({ name: "ix_signin_budgets_window", columnNames: ["window_start"] }),
        ],
      }),
    );
    await queryRunner.addColumn(
      "passkey_codes",
      new TableColumn(id("session_id", { isNullable: true })),
    );
    await queryRunner.createIndex(
      "passkey_codes",
      new TableIndex({ name: "ix_passkey_codes_session", columnNames: ["session_id"] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex("passkey_codes", "ix_passkey_codes_session");
    await queryRunner.dropColumn("passkey_codes", "session_id");
    await queryRunner.dropTable("signin_budgets");
    await queryRunner.dropTable("session_passkeys");
    await queryRunner.dropTable("session_challenges");
    await queryRunner.dropTable("sessions");
  }
}
