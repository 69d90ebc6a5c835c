// GraphQL shapes of passkey registration (SPEC section 11, mirroring ZITADEL user v2).
import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeScalar, DetailsPayload, JSONObjectScalar, ObjectDetails } from "./common.types";

export enum PasskeyAuthenticator {
  UNSPECIFIED = "UNSPECIFIED",
  PLATFORM = "PLATFORM",
  CROSS_PLATFORM = "CROSS_PLATFORM",
}
registerEnumType(PasskeyAuthenticator, {
  name: "PasskeyAuthenticator",
  description: "Which kind of authenticator the browser should offer.",
  valuesConfig: {
    UNSPECIFIED: { description: "Any: the browser lets the user choose." },
    PLATFORM: { description: "Built into the device (Face ID, Windows Hello, Android)." },
    CROSS_PLATFORM: { description: "A roaming authenticator (security key, another phone)." },
  },
});

@InputType({ description: "A registration code: the ID and the value from the link." })
export class PasskeyRegistrationCodeInput {
  @Field(() => ID, { description: "The code's ID (codeID in the link)." })
  id!: string;
  @Field(() => String, { description: "The code's value (code in the link)." })
  code!: string;
}

@InputType({ description: "Opens a passkey registration for a user." })
export class RegisterPasskeyInput {
  @Field(() => ID, { description: "The user the passkey is for (userID in the link)." })
  userId!: string;

  @Field(() => PasskeyRegistrationCodeInput, {
    nullable: true,
    description: "Required unless the caller is the user itself; with a code no token is needed.",
  })
  code?: PasskeyRegistrationCodeInput | null;

  @Field(() => PasskeyAuthenticator, {
    nullable: true,
    description: "Default UNSPECIFIED; PLATFORM / CROSS_PLATFORM set authenticatorAttachment.",
  })
  authenticator?: PasskeyAuthenticator | null;

  @Field(() => String, {
    nullable: true,
    description: "When given, must equal the configured relying party ID.",
  })
  domain?: string | null;
}

@ObjectType({
  description: "A pending registration: pass the options to navigator.credentials.create().",
})
export class RegisterPasskeyPayload {
  @Field(() => ObjectDetails, { description: "v2 style: creationDate is null." })
  details!: ObjectDetails;

  @Field(() => ID, { description: "The pending registration; verify it within the timeout." })
  passkeyId!: string;

  @Field(() => JSONObjectScalar, {
    description:
      "{ publicKey: PublicKeyCredentialCreationOptionsJSON } — binary fields base64url, as ZITADEL returns it",
  })
  publicKeyCredentialCreationOptions!: Record<string, unknown>;
}

@InputType({ description: "The browser's answer to a pending registration." })
export class VerifyPasskeyRegistrationInput {
  @Field(() => ID, { description: "The user the registration was opened for." })
  userId!: string;
  @Field(() => ID, { description: "The pending registration, from registerPasskey." })
  passkeyId!: string;

  @Field(() => JSONObjectScalar, {
    description: "The browser's RegistrationResponseJSON (PublicKeyCredential.toJSON()).",
  })
  publicKeyCredential!: Record<string, unknown>;

  @Field(() => String, { description: "1..200 characters, shown in listings and the notice mail." })
  passkeyName!: string;
}

@ObjectType({ description: "The result of verifyPasskeyRegistration: the passkey is stored." })
export class VerifyPasskeyRegistrationPayload extends DetailsPayload {}

@ObjectType({ description: "A stored passkey; never its key material." })
export class Passkey {
  @Field(() => ID, { description: "The passkey's ID (the passkeyId it was registered under)." })
  id!: string;

  @Field(() => String, { description: "The name given at verification." })
  name!: string;

  @Field(() => DateTimeScalar, { description: "When the passkey was stored." })
  createdAt!: Date;

  @Field(() => ID, {
    nullable: true,
    description:
      "The code that authorised the registration; null when the user registered it while signed in.",
  })
  registeredWithCodeId!: string | null;

  @Field(() => Boolean, {
    description: "Whether the authenticator reported a synced (backed-up) key.",
  })
  backedUp!: boolean;

  @Field(() => Boolean, {
    description: "Whether the authenticator said at registration that the key may be synced.",
  })
  backupEligible!: boolean;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "When the passkey last signed its user in (null: never).",
  })
  lastUsedAt!: Date | null;

  @Field(() => Boolean, {
    description:
      "A sign-in presented a signature counter that did not rise: the key may have been copied.",
  })
  cloneWarning!: boolean;
}

@ObjectType({
  description:
    "WebAuthn Signal API payloads (ours); userId is the user handle, base64url. Pass them to PublicKeyCredential.signalAllAcceptedCredentials and signalCurrentUserDetails.",
})
export class PasskeySignals {
  @Field(() => String, { description: "The relying party ID." })
  rpId!: string;
  @Field(() => String, { description: "The user handle, base64url (what registration set)." })
  userId!: string;
  @Field(() => [String], { description: "The user's stored passkeys' credential IDs, base64url." })
  allAcceptedCredentialIds!: string[];
  @Field(() => String, { description: "The user's username." })
  name!: string;
  @Field(() => String, { description: "The user's display name." })
  displayName!: string;
}

@InputType({ description: "The stored passkey to delete." })
export class RemovePasskeyInput {
  @Field(() => ID, { description: "The passkey's user." })
  userId!: string;
  @Field(() => ID, { description: "The passkey's ID (from passkeys)." })
  passkeyId!: string;

  @Field(() => Boolean, {
    nullable: true,
    description: "Through a session: true to remove one's last passkey (else PASSKEY-last).",
  })
  confirmLast?: boolean | null;
}

@ObjectType({ description: "The result of removePasskey." })
export class RemovePasskeyPayload extends DetailsPayload {
  @Field(() => PasskeySignals, {
    description: "The user's remaining passkeys, for signalAllAcceptedCredentials.",
  })
  signals!: PasskeySignals;
}
