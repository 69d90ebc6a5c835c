// The statements of a create (createPasskeyRegistrationLink, returnCode) as the server sends them,
// shared by the floor (bench/floor-server.ts), the bare reference's one statement
// (bench/reference-bare.ts) and the database's own cost per statement
// (bench/database-cost.ts).

/** The caller's token with its user and roles: one query on the general pool. */
export const CALLER_WITH_ROLES =
  "SELECT t.id AS tokenId, t.expires_at AS expiresAt, t.granted_by AS grantedBy, u.id AS userId, u.organization_id AS organizationId, u.state AS state, m.scope_id AS scopeId, m.role AS role FROM personal_access_tokens t INNER JOIN users u ON u.id = t.user_id LEFT JOIN memberships m ON m.user_id = u.id WHERE t.token_hash = ?";

/**
 * The first exchange of the transaction: its start, the savepoint that tells its COMMIT it is
 * still whole (src/db/statement-batch.ts), and the target user's locking read.
 */
export const START_AND_LOCK_USER =
  "START TRANSACTION;\nSAVEPOINT plk_whole;\nSELECT users.id, users.organization_id, users.type, users.state, users.username, users.username_key, users.email, users.email_verified, users.given_name, users.family_name, users.display_name, users.preferred_language, users.sequence, users.created_at, users.updated_at, m.scope_id AS roleScope FROM users LEFT JOIN memberships m ON m.user_id = users.id WHERE users.id = ? FOR UPDATE";

/**
 * The code's INSERT, guarded by the active-code cap (PASSKEY_CODE_MAX_ACTIVE). Parameters: the
 * eleven columns, then user ID, "ACTIVE", now and the cap.
 */
export const GUARDED_CODE_INSERT =
  "INSERT INTO passkey_codes (id, user_id, organization_id, code_hash, medium, state, failed_checks, creator, granted_by, created_at, expires_at, ended_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL FROM (SELECT COUNT(*) AS n FROM passkey_codes WHERE user_id = ? AND state = ? AND expires_at > ?) AS active WHERE active.n < ?";

/** The last exchange: the sequence bump, the event numbered from it, the savepoint's check, COMMIT. */
export const BUMP_EVENT_COMMIT =
  "UPDATE users SET sequence = sequence + ? WHERE id = ?;\nINSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, payload, creator, resource_owner, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?);\nRELEASE SAVEPOINT plk_whole;\nCOMMIT";

/**
 * The bare reference's whole create: one autocommitted INSERT … SELECT that reads the user's
 * organization. Parameters: code ID, code HMAC, now, expiry, user ID.
 */
export const BARE_CODE_INSERT =
  "INSERT INTO passkey_codes (id, user_id, organization_id, code_hash, medium, state, failed_checks, creator, granted_by, created_at, expires_at, ended_at) SELECT ?, id, organization_id, ?, 'RETURNED', 'ACTIVE', 0, id, id, ?, ?, NULL FROM users WHERE id = ?";
