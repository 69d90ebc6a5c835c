// The outbox partitioned by a shard derived from the user, and the registry of live outbox workers
// that share the shards out (SPEC 17: on Galera, SKIP LOCKED does not spread workers over nodes).
import type { MigrationInterface, QueryRunner } from "typeorm";
import { Table, TableColumn, TableIndex } from "typeorm";
import { crc32 } from "node:zlib";
import { id, timestamp } from "./columns";

export class OutboxShards1764100000000 implements MigrationInterface {
  name = "OutboxShards1764100000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      "mail_outbox",
      new TableColumn({ name: "shard", type: "smallint", default: 0 }),
    );
    const users = (await queryRunner.query("SELECT DISTINCT user_id FROM mail_outbox")) as {
      user_id: string;
    }[];
    for (const { user_id: userId } of users) {
      await queryRunner.query("UPDATE mail_outbox SET shard = ? WHERE user_id = ?", [
        crc32(userId) % 64, // shardOf() of mail/outbox-shards.ts, frozen as it was when this ran
        userId,
      ]);
    }
    await queryRunner.createIndex(
      "mail_outbox",
      new TableIndex({
        name: "ix_mail_outbox_shard_due",
        columnNames: ["state", "shard", "next_attempt_at"],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "outbox_workers",
        columns: [id("id", { isPrimary: true }), timestamp("seen_at")],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable("outbox_workers");
    await queryRunner.dropIndex("mail_outbox", "ix_mail_outbox_shard_due");
    await queryRunner.dropColumn("mail_outbox", "shard");
  }
}
