// Personal access tokens record who minted them (SPEC 13: credentials that someone without the
// right to grant a user's new role minted end when the user gains it).
import type { MigrationInterface, QueryRunner } from "typeorm";
import { TableColumn } from "typeorm";
import { id } from "./columns";

export class TokenCreator1763900000000 implements MigrationInterface {
  name = "TokenCreator1763900000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      "personal_access_tokens",
      new TableColumn(id("created_by", { isNullable: true })),
    );
    // The minter of an existing token is the creator of its "added" event; a token without one
    // (seeded outside the API) counts as the user's own.
    const pattern =
      queryRunner.connection.driver.options.type === "better-sqlite3"
        ? `'%"tokenId":"' || t.id || '"%'`
        : `CONCAT('%"tokenId":"', t.id, '"%')`;
    await queryRunner.query(
      `UPDATE personal_access_tokens AS t SET created_by = COALESCE(
         (SELECT MIN(e.creator) FROM events e
           WHERE e.aggregate_type = 'user' AND e.aggregate_id = t.user_id
             AND e.event_type = 'user.personal.token.added' AND e.payload LIKE ${pattern}),
         t.user_id)`,
    );
    await queryRunner.changeColumn(
      "personal_access_tokens",
      "created_by",
      new TableColumn(id("created_by")),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn("personal_access_tokens", "created_by");
  }
}
