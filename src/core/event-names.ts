// Event types written on the user aggregate by the passkey-link feature (ZITADEL's names where
// ZITADEL has the event, so its readers recognise them).
const PREFIX = "user.human.passwordless.initialization.code";

export const PASSKEY_EVENTS = {
  /** A code was created and returned (as a code or a link), nothing sent. */
  added: `${PREFIX}.added`,
  /** A code was created and its link queued for email. */
  requested: `${PREFIX}.requested`,
  sent: `${PREFIX}.sent`,
  sendFailed: `${PREFIX}.send.failed`,
  revoked: `${PREFIX}.revoked`,
  checkFailed: `${PREFIX}.check.failed`,
  checkSucceeded: `${PREFIX}.check.succeeded`,
} as const;

/** The passkey itself (ZITADEL's "passwordless token"): opened, stored, removed. */
const TOKEN = "user.human.passwordless.token";

export const PASSKEY_TOKEN_EVENTS = {
  /** A registration was opened (pending until verified). */
  added: `${TOKEN}.added`,
  verified: `${TOKEN}.verified`,
  removed: `${TOKEN}.removed`,
} as const;
