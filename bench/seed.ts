// Seeds a fresh benchmark database: the instance owner, 10 organizations and 10,000 human users,
// each with a personal access token (kept in memory for the self-service scenarios).
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import type { Config } from "../src/config";
import { MembershipEntity } from "../src/entities/membership.entity";
import { OrganizationEntity } from "../src/entities/organization.entity";
import { PersonalAccessTokenEntity } from "../src/entities/personal-access-token.entity";
import { UserEntity } from "../src/entities/user.entity";
import { createServices, openDatabase } from "../src/server";
import { uuidV7 } from "../src/core/clock";
import { KeyRing } from "../src/core/key-ring";
import { hashToken } from "../src/services/identity/token.service";

export interface Seeded {
  adminToken: string;
  users: { id: string; organizationId: string; token: string }[];
}

export async function recreateDatabase(serverUrl: string, name: string): Promise<void> {
  const connection = await mysql.createConnection(serverUrl);
  await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await connection.query(
    `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
  );
  await connection.end();
}

/** What the link scenarios write: codes and events. */
export const LINK_TABLES = ["passkey_codes", "events"] as const;
/** What a sign-in writes: the session, its challenge and passkey, the address's budget, events. */
export const SIGNIN_TABLES = [
  "sessions",
  "session_challenges",
  "session_passkeys",
  "signin_budgets",
  "events",
] as const;

/**
 * Empties the tables a scenario writes into between measured runs. Every link scenario (and the
 * independent check's references, at several thousand inserts a second) adds codes to the same
 * 10,000 users; without this the code table outgrew MariaDB's 128 MiB buffer pool within one run
 * (about 450 MB with its indexes), so each run measured a bigger table than the one before, and
 * the runs late in a round paid for page misses the earlier ones had caused. Sign-in leaves a
 * session, a consumed challenge and a session passkey behind per sign-in, fewer but for the same
 * reason. Nothing a scenario runs reads them back: the outbox does not read codes (queued mails
 * still go out), events are numbered from the aggregates' sequence columns, every sign-in starts
 * its own session, and the passkeys (with their signature counters) stay.
 */
export async function emptyWrittenTables(
  serverUrl: string,
  name: string,
  tables: readonly string[] = LINK_TABLES,
): Promise<void> {
  const connection = await mysql.createConnection(`${serverUrl}/${name}`);
  try {
    for (const table of tables) await connection.query(`TRUNCATE TABLE \`${table}\``);
  } finally {
    await connection.end();
  }
}

export async function seed(
  config: Config,
  organizations: number,
  usersPerOrg: number,
): Promise<Seeded> {
  const db = await openDatabase(config);
  try {
    const services = createServices(config, db, new KeyRing(config.masterKey!));
    const { token: adminToken } = await services.bootstrap.bootstrap("Bench");
    const now = new Date();
    const users: Seeded["users"] = [];
    for (let o = 0; o < organizations; o++) {
      const organizationId = uuidV7.next();
      await db.dataSource
        .createQueryBuilder()
        .insert()
        .into(OrganizationEntity)
        .values({
          id: organizationId,
          name: `Org ${o}`,
          sequence: 0,
          createdAt: now,
          updatedAt: now,
        })
        .execute();
      const batch = Array.from({ length: usersPerOrg }, (_, u) => {
        const id = uuidV7.next();
        const username = `user-${o}-${u}`;
        return {
          entity: {
            id,
            organizationId,
            type: "HUMAN" as const,
            state: "ACTIVE" as const,
            username,
            usernameKey: username,
            email: `${username}@bench.example`,
            emailVerified: true,
            givenName: "Bench",
            familyName: `User ${u}`,
            displayName: `Bench User ${o}-${u}`,
            preferredLanguage: u % 2 === 0 ? "en" : "de",
            sequence: 0,
            createdAt: now,
            updatedAt: now,
          },
          token: `plk_${randomBytes(32).toString("base64url")}`,
        };
      });
      for (let i = 0; i < batch.length; i += 500) {
        const slice = batch.slice(i, i + 500);
        await db.dataSource
          .createQueryBuilder()
          .insert()
          .into(UserEntity)
          .values(slice.map((b) => b.entity))
          .execute();
        await db.dataSource
          .createQueryBuilder()
          .insert()
          .into(PersonalAccessTokenEntity)
          .values(
            slice.map((b) => ({
              id: uuidV7.next(),
              userId: b.entity.id,
              tokenHash: hashToken(b.token),
              expiresAt: null,
              createdBy: b.entity.id,
              grantedBy: b.entity.id,
              createdAt: now,
            })),
          )
          .execute();
      }
      // One organization owner per organization, so membership lookups see realistic rows.
      await db.dataSource
        .createQueryBuilder()
        .insert()
        .into(MembershipEntity)
        .values({
          userId: batch[0]!.entity.id,
          scopeId: organizationId,
          role: "ORG_OWNER",
          createdAt: now,
        })
        .execute();
      for (const b of batch) users.push({ id: b.entity.id, organizationId, token: b.token });
    }
    return { adminToken, users };
  } finally {
    await db.dataSource.destroy();
  }
}

/** Queues one link mail for each of `users` (as themselves), with no server running. */
export async function queueLinkMails(config: Config, users: Seeded["users"]): Promise<void> {
  const db = await openDatabase(config);
  try {
    const services = createServices(config, db, new KeyRing(config.masterKey!));
    for (let i = 0; i < users.length; i += 32) {
      await Promise.all(
        users.slice(i, i + 32).map((user) =>
          services.passkeyLinks.sendLink(
            {
              caller: {
                userId: user.id,
                organizationId: user.organizationId,
                tokenId: "bench",
                tokenExpiresAt: null,
                tokenGrantedBy: user.id,
                roles: [],
              },
              orgId: null,
            },
            user.id,
          ),
        ),
      );
    }
  } finally {
    await db.dataSource.destroy();
  }
}
