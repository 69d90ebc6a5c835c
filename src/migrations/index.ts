// Every migration, in order. New schema changes are new files here; committed ones never change.
import { Identity1763700000000 } from "./1763700000000-identity";
import { PasskeyCodesAndOutbox1763800000000 } from "./1763800000000-passkey-codes-and-outbox";
import { AbuseLimits1763950000000 } from "./1763950000000-abuse-limits";
import { TokenCreator1763900000000 } from "./1763900000000-token-creator";
import { Passkeys1764000000000 } from "./1764000000000-passkeys";
import { OutboxShards1764100000000 } from "./1764100000000-outbox-shards";
import { MailRecipients1764200000000 } from "./1764200000000-mail-recipients";
import { GrantedBy1764300000000 } from "./1764300000000-granted-by";
import { PasskeyLifecycle1764350000000 } from "./1764350000000-passkey-lifecycle";
import { Sessions1764400000000 } from "./1764400000000-sessions";

export const MIGRATIONS = [
  Identity1763700000000,
  PasskeyCodesAndOutbox1763800000000,
  AbuseLimits1763950000000,
  TokenCreator1763900000000,
  Passkeys1764000000000,
  OutboxShards1764100000000,
  MailRecipients1764200000000,
  GrantedBy1764300000000,
  PasskeyLifecycle1764350000000,
  Sessions1764400000000,
];
