// Issue 18, items 3 and 7: the per-address send limit counts one key per mailbox (aliases fold
// together), and usernames are compared by their PRECIS UsernameCaseMapped key (RFC 8265) under a
// binary collation, so MariaDB/MySQL enforce uniqueness exactly as SQLite does (their default
// utf8mb4_unicode_ci would also merge "jose" and "josé"). Existing keys are recomputed with the
// rules frozen below (a migration keeps the logic of its day).
import { domainToASCII } from "node:url";
import type { MigrationInterface, QueryRunner } from "typeorm";

export class CanonicalKeys1764600000000 implements MigrationInterface {
  name = "CanonicalKeys1764600000000";

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type !== "better-sqlite3") {
      await queryRunner.query(
        "ALTER TABLE users MODIFY username_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL",
      );
    }
    await rekeyUsernames(queryRunner);
    await rekeyRecipients(queryRunner);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      "UPDATE users SET username_key = LOWER(username) WHERE username_key IS NOT NULL",
    );
    await queryRunner.query("UPDATE mail_outbox SET recipient_key = LOWER(recipient)");
    if (queryRunner.connection.driver.options.type !== "better-sqlite3") {
      await queryRunner.query(
        "ALTER TABLE users MODIFY username_key VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL",
      );
    }
  }
}

const usernameKey = (username: string) =>
  username.normalize("NFKC").toUpperCase().toLowerCase().normalize("NFKC");

/**
 * Oldest first, so where two existing users of one organization now share a key, the older one
 * gets it and the younger keeps its old key: both stay unique, and new look-alikes of either
 * are refused.
 */
async function rekeyUsernames(queryRunner: QueryRunner): Promise<void> {
  const users = (await queryRunner.query(
    "SELECT id, organization_id, username, username_key FROM users WHERE username_key IS NOT NULL ORDER BY created_at, id",
  )) as { id: string; organization_id: string; username: string; username_key: string }[];
  const taken = new Set(users.map((user) => `${user.organization_id}\n${user.username_key}`));
  for (const user of users) {
    const key = usernameKey(user.username);
    if (key === user.username_key || key.length > 200) continue;
    const scoped = `${user.organization_id}\n${key}`;
    if (taken.has(scoped)) continue;
    taken.delete(`${user.organization_id}\n${user.username_key}`);
    taken.add(scoped);
    await queryRunner.query("UPDATE users SET username_key = ? WHERE id = ?", [key, user.id]);
  }
}

function recipientKey(address: string): string {
  const at = address.lastIndexOf("@");
  if (at === -1) return address.trim().toLowerCase();
  const domain = address
    .slice(at + 1)
    .trim()
    .toLowerCase();
  const asciiDomain = domainToASCII(domain) || domain;
  let local = address.slice(0, at).trim().toLowerCase();
  const tag = local.indexOf("+");
  if (tag !== -1) local = local.slice(0, tag);
  if (asciiDomain === "gmail.com" || asciiDomain === "googlemail.com") {
    return `${local.replaceAll(".", "")}@gmail.com`;
  }
  return `${local}@${asciiDomain}`;
}

/** Outbox rows get their new key; the lock rows are keyed anew. */
async function rekeyRecipients(queryRunner: QueryRunner): Promise<void> {
  const rows = (await queryRunner.query(
    "SELECT DISTINCT recipient FROM mail_outbox WHERE recipient_key IS NOT NULL",
  )) as { recipient: string }[];
  for (const { recipient } of rows) {
    await queryRunner.query("UPDATE mail_outbox SET recipient_key = ? WHERE recipient = ?", [
      recipientKey(recipient),
      recipient,
    ]);
  }
  const locks = (await queryRunner.query(
    "SELECT recipient_key, last_queued_at FROM mail_recipients",
  )) as { recipient_key: string; last_queued_at: unknown }[];
  // Only the row matters (it is what sends to one address lock); its timestamp is informational.
  const latest = new Map<string, unknown>();
  for (const lock of locks) latest.set(recipientKey(lock.recipient_key), lock.last_queued_at);
  await queryRunner.query("DELETE FROM mail_recipients");
  for (const [key, lastQueuedAt] of latest) {
    await queryRunner.query(
      "INSERT INTO mail_recipients (recipient_key, last_queued_at) VALUES (?, ?)",
      [key, lastQueuedAt],
    );
  }
}
