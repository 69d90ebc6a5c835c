// The sign-in floor: what our discoverable sign-in does (src/services/sessions/session.service.ts,
// createSession {challenges.webAuthN} then setSession {checks.webAuthN}), statement for statement
// and with the same hashing and the same @simplewebauthn/server calls and options, in bare
// mysql2 with no GraphQL, ORM or framework in between, in the same exchanges (batched, as the
// server batches them: createSession 2 round trips, setSession 8). Only the path the benchmark takes is
// here: every refusal just rolls back with an error (the server commits a counted failure).
import { timingSafeEqual } from "node:crypto";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import {
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
} from "@simplewebauthn/server";
import type mysql from "mysql2/promise";
import { uuidV7 } from "../src/core/clock";
import { PASSKEY_TOKEN_EVENTS, SESSION_EVENTS } from "../src/core/event-names";
import { newChallenge, newSessionToken, sha256Hex } from "../src/services/sessions/session-token";
import { clientKey } from "../src/services/sessions/signin-rate-limit";
import { credentialHash } from "../src/services/passkeys/relying-party";

export interface SigninSettings {
  rpId: string;
  origins: string[];
  /** WEBAUTHN_TIMEOUT_SECONDS, SESSION_LIFETIME_SECONDS, SIGNIN_RATE_LIMIT, SIGNIN_FAILURE_LIMIT */
  timeoutSeconds: number;
  lifetimeSeconds: number;
  rateLimit: number;
  failureLimit: number;
}

type Row = mysql.RowDataPacket;
type Header = mysql.ResultSetHeader;

class Refused extends Error {}

const windowStart = (now: Date) => new Date(now.getTime() - (now.getTime() % 60_000));

/**
 * One transaction on a connection of the multi-statement pool, in exchanges as the server's
 * src/db/statement-batch.ts sends them: START TRANSACTION goes out with the first statement, a
 * deferred statement (whose result nobody reads) with the next exchange, the last ones with COMMIT
 * (and the same savepoint around them).
 */
class Batch {
  private pending: { sql: string; params: unknown[] }[] = [
    { sql: "START TRANSACTION", params: [] },
    { sql: "SAVEPOINT plk_whole", params: [] },
  ];
  started = false;

  constructor(private readonly connection: mysql.PoolConnection) {}

  /** Sends what is pending and then `sql` in one exchange; resolves to `sql`'s result. */
  async query<T extends Row[] | Header>(sql: string, params: unknown[]): Promise<T> {
    const results = await this.send([...this.take(), { sql, params }]);
    return results[results.length - 1] as T;
  }

  defer(sql: string, params: unknown[]): void {
    this.pending.push({ sql, params });
  }

  async commit(): Promise<void> {
    await this.send([
      ...this.take(),
      { sql: "RELEASE SAVEPOINT plk_whole", params: [] },
      { sql: "COMMIT", params: [] },
    ]);
  }

  private take() {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  private async send(statements: { sql: string; params: unknown[] }[]): Promise<unknown[]> {
    this.started = true;
    const [result] = await this.connection.query(
      statements.map((statement) => statement.sql).join(";\n"),
      statements.flatMap((statement) => statement.params),
    );
    return statements.length === 1 ? [result] : (result as unknown[]);
  }
}

/** As the server runs its transactions: a deadlock victim runs again (DATABASE_RETRIES 8). */
async function transaction<T>(pool: mysql.Pool, work: (batch: Batch) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const connection = await pool.getConnection();
    const batch = new Batch(connection);
    try {
      const result = await work(batch);
      await batch.commit();
      return result;
    } catch (error) {
      if (batch.started) await connection.query("ROLLBACK");
      if ((error as { errno?: number }).errno !== 1213 || attempt >= 8) throw error;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.random() * Math.min(250, 5 * 2 ** attempt)),
      );
    } finally {
      connection.release();
    }
  }
}

const RAISE =
  "UPDATE `signin_budgets` SET `used` = `used` + 1 WHERE `client_key` = ? AND `kind` = ? AND `window_start` = ? AND `used` < ?";

/**
 * SigninRateLimit.spend: one unit of the address's budget in this minute (the row's UPDATE; else
 * its INSERT IGNORE; else the UPDATE once more, as a row added meanwhile may have units left).
 */
async function spend(connection: Batch, kind: string, address: string, limit: number, now: Date) {
  const key = [clientKey(address), kind, windowStart(now)];
  const raised = await connection.query<Header>(RAISE, [...key, limit]);
  if (raised.affectedRows === 1) return;
  const opened = await connection.query<Header>(
    "INSERT IGNORE INTO `signin_budgets` (`client_key`, `kind`, `window_start`, `used`) VALUES (?, ?, ?, ?)",
    [...key, 1],
  );
  if (opened.affectedRows === 1) return;
  const again = await connection.query<Header>(RAISE, [...key, limit]);
  if (again.affectedRows !== 1) throw new Refused("SESSION-rate-limited");
}

/**
 * The instance's default organization: read once per process, as OrganizationService keeps it
 * (the instance row is written once, by bootstrap).
 */
let defaultOrganization: string | null = null;

/** createSession {challenges.webAuthN}, anonymous: a session in the default organization. */
export async function createSession(pool: mysql.Pool, settings: SigninSettings, address: string) {
  const token = newSessionToken();
  const sessionId = uuidV7.next();
  const { now, organizationId, challenge } = await transaction(pool, async (connection) => {
    const now = new Date();
    await spend(connection, "attempt", address, settings.rateLimit, now);
    if (defaultOrganization === null) {
      const instance = await connection.query<Row[]>(
        "SELECT `i`.`default_organization_id` AS `id` FROM `instance` `i`",
        [],
      );
      defaultOrganization = (instance[0]?.id as string | undefined) ?? null;
    }
    const organizationId = defaultOrganization;
    if (!organizationId) throw new Refused("ORG-not-found");
    // The session's and the challenge's INSERTs: results unread, they go out with COMMIT.
    connection.defer(
      "INSERT INTO `sessions` (`id`, `user_id`, `organization_id`, `token_hash`, `check_user_id`, `login_name_key`, `user_checked_at`, `passkey_id`, `granted_by`, `webauthn_checked_at`, `user_verified`, `failed_checks`, `sequence`, `created_at`, `changed_at`, `expires_at`, `pending_until`, `terminated_at`) VALUES (?, NULL, ?, ?, NULL, NULL, NULL, NULL, NULL, NULL, ?, ?, ?, ?, ?, ?, ?, NULL)",
      [
        sessionId,
        organizationId,
        sha256Hex(token),
        0,
        0,
        0,
        now,
        now,
        new Date(now.getTime() + settings.lifetimeSeconds * 1000),
        new Date(now.getTime() + settings.timeoutSeconds * 1000),
      ],
    );
    // A session created in this transaction has no challenge to replace (the server skips it).
    const challenge = newChallenge();
    connection.defer(
      "INSERT INTO `session_challenges` (`id`, `session_id`, `challenge_hash`, `created_at`, `expires_at`, `consumed_at`) VALUES (?, ?, ?, ?, ?, NULL)",
      [
        uuidV7.next(),
        sessionId,
        sha256Hex(challenge),
        now,
        new Date(now.getTime() + settings.timeoutSeconds * 1000),
      ],
    );
    return { now, organizationId, challenge };
  });
  const publicKey = await generateAuthenticationOptions({
    rpID: settings.rpId,
    challenge: Buffer.from(challenge, "base64url"),
    timeout: settings.timeoutSeconds * 1000,
    userVerification: "required",
    allowCredentials: [],
  });
  return {
    createSession: {
      details: { sequence: "0", changeDate: now.toISOString(), resourceOwner: organizationId },
      sessionId,
      sessionToken: token,
      challenges: { webAuthN: { publicKeyCredentialRequestOptions: { publicKey } } },
    },
  };
}

const SESSION_COLUMNS = [
  "id",
  "user_id",
  "organization_id",
  "token_hash",
  "check_user_id",
  "login_name_key",
  "user_checked_at",
  "passkey_id",
  "granted_by",
  "webauthn_checked_at",
  "user_verified",
  "failed_checks",
  "sequence",
  "created_at",
  "changed_at",
  "expires_at",
  "pending_until",
  "terminated_at",
]
  .map((column) => `\`sessions\`.\`${column}\` AS \`s_${column}\``)
  .join(", ");

const USER_COLUMNS = [
  "id",
  "organization_id",
  "type",
  "state",
  "username",
  "username_key",
  "email",
  "email_verified",
  "given_name",
  "family_name",
  "display_name",
  "preferred_language",
  "sequence",
  "created_at",
  "updated_at",
]
  .map((column) => `\`users\`.\`${column}\``)
  .join(", ");

/** setSession {checks.webAuthN} on a fresh discoverable session: verify, bind, rotate. */
export async function setSession(
  pool: mysql.Pool,
  settings: SigninSettings,
  address: string,
  input: {
    sessionId: string;
    sessionToken: string;
    checks: { webAuthN: { credentialAssertionData: Record<string, unknown> } };
  },
) {
  const response = input.checks.webAuthN.credentialAssertionData;
  const presented = sha256Hex(input.sessionToken);
  const token = newSessionToken();
  const clientData = JSON.parse(
    Buffer.from(
      (response.response as { clientDataJSON: string }).clientDataJSON,
      "base64url",
    ).toString("utf8"),
  ) as { challenge: string; type: string; crossOrigin?: boolean };
  const challengeHash = sha256Hex(clientData.challenge);
  return transaction(pool, async (connection) => {
    const now = new Date();
    const failureWindow = windowStart(now);
    // The session FOR UPDATE, with the address's failures this minute (SigninRateLimit's probe)
    // and the challenge the assertion names (for its event) read, unlocked, in the same statement.
    const sessions = await connection.query<Row[]>(
      `SELECT ${SESSION_COLUMNS}, (SELECT b.\`used\` FROM \`signin_budgets\` b WHERE b.\`client_key\` = ? AND b.\`kind\` = ? AND b.\`window_start\` = ?) AS x0, (SELECT c.\`id\` FROM \`session_challenges\` c WHERE c.\`session_id\` = \`sessions\`.\`id\` AND c.\`challenge_hash\` = ? LIMIT 1) AS x1, (SELECT c.\`created_at\` FROM \`session_challenges\` c WHERE c.\`session_id\` = \`sessions\`.\`id\` AND c.\`challenge_hash\` = ? LIMIT 1) AS x2 FROM \`sessions\` WHERE \`sessions\`.\`id\` = ? FOR UPDATE`,
      [clientKey(address), "failure", failureWindow, challengeHash, challengeHash, input.sessionId],
    );
    const session = sessions[0];
    if (!session) throw new Refused("SESSION-not-found");
    const stored = Buffer.from(session.s_token_hash as string, "hex");
    const given = Buffer.from(presented, "hex");
    if (stored.length !== given.length || !timingSafeEqual(stored, given))
      throw new Refused("SESSION-token-invalid");
    if (session.s_terminated_at !== null) throw new Refused("SESSION-terminated");
    const pendingUntil = new Date(session.s_pending_until as Date);
    const expiresAt = new Date(session.s_expires_at as Date);
    if (Math.min(pendingUntil.getTime(), expiresAt.getTime()) <= now.getTime())
      throw new Refused("SESSION-expired");
    if (session.x0 !== null && Number(session.x0) >= settings.failureLimit)
      throw new Refused("SESSION-rate-limited");
    const consumed = await connection.query<Header>(
      "UPDATE `session_challenges` SET `consumed_at` = ? WHERE `session_id` = ? AND `consumed_at` IS NULL AND `expires_at` > ? AND `challenge_hash` = ?",
      [now, session.s_id, now, challengeHash],
    );
    if (consumed.affectedRows !== 1) throw new Refused("SESSION-webauthn-no-challenge");
    if (clientData.crossOrigin === true || clientData.type !== "webauthn.get")
      throw new Refused("SESSION-webauthn-invalid");
    const credentialId = response.id as string;
    const passkeys = await connection.query<Row[]>(
      "SELECT `passkeys`.`id` AS `p_id`, `passkeys`.`user_id` AS `p_user_id`, `passkeys`.`credential_id` AS `p_credential_id`, `passkeys`.`public_key` AS `p_public_key`, `passkeys`.`sign_count` AS `p_sign_count`, `passkeys`.`transports` AS `p_transports`, `passkeys`.`granted_by` AS `p_granted_by`, `passkeys`.`clone_warning` AS `p_clone_warning`, `passkeys`.`clone_notified_at` AS `p_clone_notified_at`, `passkeys`.`name` AS `p_name`, `passkeys`.`aaguid` AS `p_aaguid` FROM `passkeys` WHERE `passkeys`.`credential_hash` = ?",
      [credentialHash(credentialId)],
    );
    const passkey = passkeys[0];
    if (!passkey) throw new Refused("SESSION-webauthn-unknown-credential");
    const users = await connection.query<Row[]>(
      `SELECT ${USER_COLUMNS}, m.scope_id AS \`roleScope\` FROM \`users\` LEFT JOIN memberships m ON m.user_id = \`users\`.\`id\` WHERE \`users\`.\`id\` = ? FOR UPDATE`,
      [passkey.p_user_id],
    );
    const user = users[0];
    if (!user || user.state === "REMOVED") throw new Refused("SESSION-webauthn-unknown-credential");
    const userHandle = (response.response as { userHandle?: string }).userHandle;
    if (userHandle && userHandle !== Buffer.from(user.id as string, "utf8").toString("base64url"))
      throw new Refused("SESSION-webauthn-invalid");
    const { verified, authenticationInfo } = await verifyAuthenticationResponse({
      response: response as unknown as AuthenticationResponseJSON,
      expectedChallenge: clientData.challenge,
      expectedOrigin: settings.origins,
      expectedRPID: settings.rpId,
      expectedType: "webauthn.get",
      requireUserVerification: true,
      credential: {
        id: passkey.p_credential_id as string,
        publicKey: Buffer.from(passkey.p_public_key as string, "base64url"),
        counter: 0,
        transports: passkey.p_transports
          ? (JSON.parse(passkey.p_transports as string) as never[])
          : [],
      },
    });
    if (!verified || !authenticationInfo.userVerified)
      throw new Refused("SESSION-webauthn-invalid");
    const storedCount = Number(passkey.p_sign_count);
    const counted = authenticationInfo.newCounter;
    if (counted !== 0 && counted <= storedCount) throw new Refused("SESSION-webauthn-clone");
    if (user.state !== "ACTIVE") throw new Refused("SESSION-user-inactive");
    const rose = counted > storedCount;
    const recorded = await connection.query<Header>(
      rose
        ? "UPDATE `passkeys` SET `backed_up` = ?, `last_used_at` = ?, `sign_count` = ? WHERE `id` = ?"
        : "UPDATE `passkeys` SET `backed_up` = ?, `last_used_at` = ? WHERE `id` = ?",
      [
        authenticationInfo.credentialBackedUp ? 1 : 0,
        now,
        ...(rose ? [counted] : []),
        passkey.p_id,
      ],
    );
    if (recorded.affectedRows !== 1) throw new Refused("SESSION-webauthn-unknown-credential");
    // The user's event (EventStore.append in a batched transaction: numbered from the sequence
    // the locking read returned, the bump and the insert deferred).
    const userSequence = Number(user.sequence) + 1;
    connection.defer("UPDATE users SET sequence = sequence + ? WHERE id = ?", [1, user.id]);
    const eventDate = new Date();
    connection.defer(
      "INSERT INTO `events` (`aggregate_type`, `aggregate_id`, `sequence`, `event_type`, `payload`, `creator`, `resource_owner`, `created_at`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      [
        "user",
        user.id,
        userSequence,
        rose ? PASSKEY_TOKEN_EVENTS.signCountChanged : PASSKEY_TOKEN_EVENTS.checkSucceeded,
        JSON.stringify(
          rose ? { passkeyId: passkey.p_id, signCount: counted } : { passkeyId: passkey.p_id },
        ),
        user.id,
        user.organization_id,
        eventDate,
      ],
    );
    // Which passkeys verified the session (one statement; an existing link stays).
    connection.defer(
      "INSERT IGNORE INTO `session_passkeys` (`session_id`, `passkey_id`) VALUES (?, ?)",
      [session.s_id, passkey.p_id],
    );
    // The compare-and-set on the token, with the session's new state.
    const rotated = await connection.query<Header>(
      "UPDATE `sessions` SET `user_id` = ?, `organization_id` = ?, `check_user_id` = ?, `login_name_key` = ?, `user_checked_at` = ?, `passkey_id` = ?, `granted_by` = ?, `webauthn_checked_at` = ?, `user_verified` = ?, `changed_at` = ?, `token_hash` = ? WHERE `id` = ? AND `token_hash` = ?",
      [
        user.id,
        user.organization_id,
        null,
        null,
        session.s_user_checked_at ?? now,
        passkey.p_id,
        passkey.p_granted_by,
        now,
        1,
        now,
        sha256Hex(token),
        session.s_id,
        presented,
      ],
    );
    if (rotated.affectedRows !== 1) throw new Refused("SESSION-token-invalid");
    // The session's first events: added, user.checked, the answered challenge, webAuthN.checked,
    // the lifetime createSession set, token.set.
    const createdAt = new Date(session.s_created_at as Date);
    const lifetime = Math.round((expiresAt.getTime() - createdAt.getTime()) / 1000);
    const events: [string, Record<string, unknown>][] = [
      [SESSION_EVENTS.added, {}],
      [SESSION_EVENTS.userChecked, { userId: user.id }],
      ...(session.x1
        ? [
            [
              SESSION_EVENTS.webAuthNChallenged,
              {
                challengeId: session.x1 as string,
                issuedAt: new Date(session.x2 as Date).toISOString(),
                rpId: settings.rpId,
                userVerification: "required",
              },
            ] as [string, Record<string, unknown>],
          ]
        : []),
      [SESSION_EVENTS.webAuthNChecked, { passkeyId: passkey.p_id, userVerified: true }],
      [SESSION_EVENTS.lifetimeSet, { lifetime: `${lifetime}s` }],
      [SESSION_EVENTS.tokenSet, {}],
    ];
    // The Signal API payloads, read before the session's events so those go out with COMMIT.
    const accepted = await connection.query<Row[]>(
      "SELECT `passkeys`.`credential_id` AS `p_credential_id` FROM `passkeys` WHERE `passkeys`.`user_id` = ? ORDER BY `passkeys`.`created_at` ASC",
      [user.id],
    );
    const last = Number(session.s_sequence) + events.length;
    connection.defer("UPDATE sessions SET sequence = sequence + ? WHERE id = ?", [
      events.length,
      session.s_id,
    ]);
    const sessionEventDate = new Date();
    connection.defer(
      `INSERT INTO \`events\` (\`aggregate_type\`, \`aggregate_id\`, \`sequence\`, \`event_type\`, \`payload\`, \`creator\`, \`resource_owner\`, \`created_at\`) VALUES ${events.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
      events.flatMap(([type, payload], index) => [
        "session",
        session.s_id,
        last - events.length + 1 + index,
        type,
        JSON.stringify(payload),
        user.id,
        user.organization_id,
        sessionEventDate,
      ]),
    );
    return {
      setSession: {
        details: {
          sequence: String(last),
          changeDate: sessionEventDate.toISOString(),
          resourceOwner: user.organization_id as string,
        },
        sessionToken: token,
        signals: {
          rpId: settings.rpId,
          userId: Buffer.from(user.id as string, "utf8").toString("base64url"),
          allAcceptedCredentialIds: accepted.map((row) => row.p_credential_id as string),
          name: user.username as string,
          displayName: user.display_name as string,
        },
      },
    };
  });
}
