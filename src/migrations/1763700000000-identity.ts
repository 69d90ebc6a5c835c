// Identity foundation: organizations, users, memberships, tokens, the instance row, the event log.
// Written with TypeORM's portable Table API so the same migration serves MySQL/MariaDB and SQLite.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { Table, TableIndex } from "typeorm";
import { id, sequence, timestamp } from "./columns";

export class Identity1763700000000 implements MigrationInterface {
  name = "Identity1763700000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: "organizations",
        columns: [
          id("id", { isPrimary: true }),
          { name: "name", type: "varchar", length: "200" },
          sequence(),
          timestamp("created_at"),
          timestamp("updated_at"),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "users",
        columns: [
          id("id", { isPrimary: true }),
          id("organization_id"),
          { name: "type", type: "varchar", length: "16" },
          { name: "state", type: "varchar", length: "16" },
          { name: "username", type: "varchar", length: "200" },
          { name: "username_key", type: "varchar", length: "200", isNullable: true },
          { name: "email", type: "varchar", length: "320", isNullable: true },
          { name: "email_verified", type: "boolean", default: 0 },
          { name: "given_name", type: "varchar", length: "200", isNullable: true },
          { name: "family_name", type: "varchar", length: "200", isNullable: true },
          { name: "display_name", type: "varchar", length: "200" },
          { name: "preferred_language", type: "varchar", length: "35", isNullable: true },
          sequence(),
          timestamp("created_at"),
          timestamp("updated_at"),
        ],
        indices: [
          new TableIndex({
            name: "uq_users_org_username",
            columnNames: ["organization_id", "username_key"],
            isUnique: true,
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "memberships",
        columns: [
          id("user_id", { isPrimary: true }),
          id("scope_id", { isPrimary: true }),
          { name: "role", type: "varchar", length: "64", isPrimary: true },
          timestamp("created_at"),
        ],
        indices: [new TableIndex({ name: "ix_memberships_scope", columnNames: ["scope_id"] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "personal_access_tokens",
        columns: [
          id("id", { isPrimary: true }),
          id("user_id"),
          { name: "token_hash", type: "varchar", length: "64" },
          timestamp("expires_at", { isNullable: true }),
          timestamp("created_at"),
        ],
        indices: [
          new TableIndex({ name: "ix_pat_user", columnNames: ["user_id"] }),
          new TableIndex({ name: "uq_pat_hash", columnNames: ["token_hash"], isUnique: true }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "instance",
        columns: [
          { name: "id", type: "integer", isPrimary: true },
          id("owner_user_id"),
          id("default_organization_id"),
          timestamp("created_at"),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "events",
        columns: [
          { name: "aggregate_type", type: "varchar", length: "32", isPrimary: true },
          id("aggregate_id", { isPrimary: true }),
          { name: "sequence", type: "bigint", isPrimary: true },
          { name: "event_type", type: "varchar", length: "100" },
          { name: "payload", type: "text" },
          id("creator"),
          id("resource_owner"),
          timestamp("created_at"),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      "events",
      "instance",
      "personal_access_tokens",
      "memberships",
      "users",
      "organizations",
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}
