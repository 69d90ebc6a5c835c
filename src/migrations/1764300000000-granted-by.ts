// Credentials record whose authority they were minted under (SPEC 13), not only who called: a user
// minting for itself with a token someone else planted mints under the planter's authority, so
// the credential ends with the planted token when the user gains a role the planter cannot grant.
import type { MigrationInterface, QueryRunner } from "typeorm";
import { TableColumn } from "typeorm";
import { id } from "./columns";

const TABLES = [
  { table: "personal_access_tokens", minter: "created_by" },
  { table: "passkey_codes", minter: "creator" },
] as const;

export class GrantedBy1764300000000 implements MigrationInterface {
  name = "GrantedBy1764300000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const { table, minter } of TABLES) {
      await queryRunner.addColumn(table, new TableColumn(id("granted_by", { isNullable: true })));
      // What was minted before this column existed counts as minted under its minter's authority.
      await queryRunner.query(`UPDATE ${table} SET granted_by = ${minter}`);
      await queryRunner.changeColumn(table, "granted_by", new TableColumn(id("granted_by")));
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const { table } of TABLES) await queryRunner.dropColumn(table, "granted_by");
  }
}
