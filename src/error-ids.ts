// Every detail id a client can receive, with its meaning. ApiError accepts only these, so a new
// cause must be named here, and the error table of docs/errors.md is generated from this list.
export const ERROR_IDS = {
  "AUTH-required": "The operation needs a caller: send `Authorization: Bearer <token>`.",
  "AUTH-header-malformed": "The Authorization header is not `Bearer <token>`.",
  "AUTH-token-invalid": "The bearer token is unknown or was removed.",
  "AUTH-token-expired": "The bearer token has expired.",
  "AUTH-user-inactive": "The token's user is not active (locked, deactivated or removed).",
  "AUTHZ-denied": "The caller lacks the permission in the target user's organization.",
  "AUTHZ-target-privileged":
    "The target holds roles in a scope where the caller could not grant them (SPEC 13).",
  "BOOTSTRAP-exists": "The instance already has an owner.",
  "BOOTSTRAP-org-name": "The organization name for bootstrap is invalid.",
  "CODE-invalid": "The registration code is wrong, or no such code exists for this user.",
  "CODE-expired": "The registration code has expired: ask for a new link.",
  "CODE-used": "The registration code was already used: ask for a new link.",
  "CODE-revoked": "The registration code was revoked: ask for a new link.",
  "CODE-locked_out": "Too many wrong attempts locked the code out: ask for a new link.",
  "CODE-ended": "The code was ended by a concurrent request.",
  "CODE-not-found": "No such code for this user (revoking).",
  "CODE-max-active":
    "The user already holds PASSKEY_CODE_MAX_ACTIVE active codes: revoke one to free a slot, or retry when one expires.",
  "DB-unavailable": "The database cannot be reached; retry later.",
  "GQL-PARSE": "The GraphQL document does not parse.",
  "GQL-VALIDATION":
    "The GraphQL document is invalid (unknown field, too deep, too many aliases, ...).",
  "GQL-INPUT": "A variable or argument has the wrong type.",
  "GQL-REQUEST": "The GraphQL request is malformed.",
  "GQL-OPERATION": "The operation to run could not be determined.",
  "GQL-PQ-NOT-FOUND": "Persisted queries are not supported.",
  "GQL-PQ-UNSUPPORTED": "Persisted queries are not supported.",
  "GQL-query-too-long": "The query text is longer than GRAPHQL_MAX_QUERY_LENGTH characters.",
  "HTTP-bad-request": "The HTTP request is malformed.",
  "HTTP-body-too-large": "The request body is larger than BODY_LIMIT_BYTES.",
  "HTTP-content-type": "The request body must be application/json.",
  "HTTP-invalid-json": "The request body is not valid JSON.",
  "HTTP-route-not-found": "No such route.",
  "INTERNAL-1": "An unexpected failure; the server log has the cause.",
  "LINK-medium-both": "Choose one medium: sendLink or returnCode, not both.",
  "LINK-send-rate-limited":
    "Too many links emailed to this user in the window; retry later (revoking does not free a slot).",
  "LINK-recipient-rate-limited":
    "Too many links emailed to this address in the window; retry later (revoking does not free a slot).",
  "LINK-user-machine": "Machine users cannot register passkeys.",
  "LINK-user-not-active": "The user is locked or deactivated.",
  "LINK-user-no-email": "The user has no email address to send the link to.",
  "LINK-template-empty": "urlTemplate is empty.",
  "LINK-template-too-long": "urlTemplate is longer than 200 characters.",
  "LINK-template-malformed": "urlTemplate has an unclosed or malformed placeholder.",
  "LINK-template-unknown-placeholder":
    "urlTemplate uses a placeholder other than {{.UserID}} {{.OrgID}} {{.CodeID}} {{.Code}}.",
  "LINK-template-invalid-character":
    "urlTemplate has spaces, backslashes, quotes, angle brackets or non-ASCII around placeholders.",
  "LINK-template-placeholder-in-origin": "urlTemplate puts a placeholder in the scheme or host.",
  "LINK-template-placeholder-in-path":
    "urlTemplate puts a placeholder in the path: only the query string or fragment may hold one.",
  "LINK-template-not-absolute": "urlTemplate does not yield an absolute URL.",
  "LINK-template-not-https": "urlTemplate does not yield https (http only for loopback hosts).",
  "LINK-template-credentials": "urlTemplate carries user information.",
  "LINK-template-origin-not-allowed":
    "urlTemplate points at an origin that is not EXTERNAL_URL's or in LINK_ALLOWED_ORIGINS.",
  "MEMBER-exists": "The user already holds roles at that level.",
  "MEMBER-input": "The roles are empty or unknown.",
  "ORG-input": "The organization name is invalid.",
  "ORG-name-invisible":
    "The organization name contains an invisible character (soft hyphen, zero-width, bidi).",
  "ORG-not-found": "No such organization.",
  "PASSKEY-code-required":
    "Registering a passkey for another user needs a registration code; mint one instead.",
  "PASSKEY-credential-exists": "This authenticator's credential is already registered.",
  "PASSKEY-credential-id-too-long": "The credential ID is longer than 1023 bytes.",
  "PASSKEY-cross-origin":
    "The response was made in a cross-origin frame (clientDataJSON.crossOrigin is true).",
  "PASSKEY-domain": "domain is not the configured relying party ID.",
  "PASSKEY-max-per-user":
    "The user already holds PASSKEY_MAX_PER_USER passkeys; remove one before adding another.",
  "PASSKEY-name": "passkeyName is empty, too long or contains control characters.",
  "PASSKEY-not-found": "No such stored passkey for this user.",
  "PASSKEY-not-own": "Only the user who opened this registration may verify it.",
  "PASSKEY-public-key":
    "The credential's public key cannot be used: an unsupported algorithm or curve, or not a key.",
  "PASSKEY-registration-ended":
    "The registration was already verified, superseded or ended: start a new one.",
  "PASSKEY-registration-expired": "The registration timed out: start a new one.",
  "PASSKEY-registration-not-found": "No such pending registration for this user.",
  "PASSKEY-verification-failed":
    "The browser's response did not verify (challenge, origin, RP ID or user verification).",
  "PAT-input": "The token's expiration date is invalid.",
  "PAT-not-found": "No such token for this user.",
  "PAT-outlives-caller":
    "A token minted with an expiring token must expire no later than the caller's.",
  "PAT-user-state": "Tokens can be minted only for active users.",
  "REST-bad-request": "The REST request is malformed.",
  "REST-body-too-large": "The request body is larger than BODY_LIMIT_BYTES.",
  "REST-duplicate-field": "A field was sent in both lowerCamelCase and snake_case.",
  "REST-invalid-json": "The request body is not valid JSON.",
  "REST-invalid-request": "The request body does not match the route's schema.",
  "REST-method-not-allowed":
    "UNIMPLEMENTED (12, HTTP 501, as ZITADEL's gateway): the path exists, with another method (see `Allow`).",
  "REST-not-found": "NOT_FOUND (5, HTTP 404): no REST route has this path.",
  "PASSKEY-last":
    "Removing one's last passkey through a session needs confirmLast: true (else no way back in).",
  "SESSION-not-found": "No such session (or it was purged).",
  "SESSION-token-invalid":
    "The session token is wrong, rotated or missing, or the caller may not act on this session.",
  "SESSION-terminated": "The session was ended (signed out, user locked, passkey removed, ...).",
  "SESSION-expired": "The session has expired: sign in again.",
  "SESSION-check-user": "checks.user needs exactly one of userId and loginName.",
  "SESSION-domain": "domain is not the configured relying party ID.",
  "SESSION-lifetime": 'lifetime must be a positive duration like "18000s", within the maximum.',
  "SESSION-uv-required": "Only USER_VERIFICATION_REQUIREMENT_REQUIRED is supported (passkeys).",
  "SESSION-webauthn-no-challenge":
    "The session has no open webAuthN challenge (never requested, consumed or expired).",
  "SESSION-webauthn-unknown-credential": "No stored passkey has this credential ID.",
  "SESSION-webauthn-user-mismatch":
    "The assertion comes from a passkey of another user than the session's.",
  "SESSION-webauthn-invalid":
    "The assertion did not verify (signature, origin, RP ID, user verification, challenge, user handle, cross-origin).",
  "SESSION-webauthn-clone":
    "The passkey's signature counter did not rise: a suspected clone; the passkey was flagged.",
  "SESSION-max-age": "maxAge must be a positive number of seconds.",
  "SESSION-too-old": "The session's webAuthN check is older than maxAge, or there is none.",
  "SESSION-reauth-required":
    "This operation through a session needs a webAuthN check younger than SESSION_REAUTH_SECONDS.",
  "SESSION-scope": "A session token may call only the self-service operations (SPEC 18).",
  "SESSION-rate-limited": "Too many sign-in attempts from this client address; retry later.",
  "SESSION-user-locked": "The passkey's user is locked.",
  "SESSION-user-inactive": "The passkey's user is deactivated.",
  "USER-not-found": "No such user (or it was removed).",
  "USER-human-input": "A field of the human user (new or updated) is invalid.",
  "USER-list-input": "The users query is invalid (limit 1 to 1000, offset from 0, a known state).",
  "USER-not-human": "Only a person's profile can be updated; this is a machine user.",
  "USER-machine-input": "A field of the new machine user is invalid.",
  "USER-self": "Users cannot deactivate, lock or remove themselves.",
  "USER-username-taken":
    "The username is taken in that organization (compared after NFKC and case folding, RFC 8265).",
  "USER-username-invisible":
    "The username contains an invisible character (soft hyphen, zero-width, bidi).",
  "USER-state-deactivate": "Only active or locked users can be deactivated.",
  "USER-state-reactivate": "Only deactivated users can be reactivated.",
  "USER-state-lock": "Only active users can be locked.",
  "USER-state-unlock": "Only locked users can be unlocked.",
  "USER-state-remove": "The user was already removed.",
} as const;

export type ErrorId = keyof typeof ERROR_IDS;

/** docs/errors.md's table of detail ids (between its error-ids markers). */
export function errorIdTable(): string {
  const rows = Object.entries(ERROR_IDS)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, meaning]) => `| \`${id}\` | ${meaning} |`);
  return ["| detail id | meaning |", "| --- | --- |", ...rows].join("\n");
}

const START = "<!-- error-ids:start (generated by `npm run docs`) -->";
const END = "<!-- error-ids:end -->";

/** `markdown` with the table between the error-ids markers replaced by the current one. */
export function withErrorTable(markdown: string): string {
  const start = markdown.indexOf(START);
  const end = markdown.indexOf(END);
  if (start === -1 || end < start) throw new Error(`the markers ${START} and ${END} are missing`);
  return `${markdown.slice(0, start + START.length)}\n\n${errorIdTable()}\n\n${markdown.slice(end)}`;
}
