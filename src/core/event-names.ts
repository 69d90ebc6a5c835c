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
  /** A sign-in stored a higher signature counter (ZITADEL's name). */
  signCountChanged: `${TOKEN}.signcount.changed`,
  /**
   * A sign-in verified without raising the stored counter (synced passkeys report 0): ZITADEL's
   * event for a successful passwordless check. It also orders the sign-in with state changes.
   */
  checkSucceeded: "user.human.passwordless.check.succeeded",
  /** A sign-in presented a counter that did not rise (SPEC 18). */
  cloneSuspected: `${TOKEN}.clone.suspected`,
} as const;

/** The session aggregate (ZITADEL's names); none is written before a session's first check. */
export const SESSION_EVENTS = {
  added: "session.added",
  userChecked: "session.user.checked",
  webAuthNChallenged: "session.webAuthN.challenged",
  webAuthNChecked: "session.webAuthN.checked",
  tokenSet: "session.token.set",
  lifetimeSet: "session.lifetime.set",
  terminated: "session.terminated",
} as const;
