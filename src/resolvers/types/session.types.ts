// GraphQL shapes of sign-in sessions (SPEC 18, mirroring ZITADEL session v2).
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeScalar, DetailsPayload, JSONObjectScalar, ObjectDetails } from "./common.types";
import { PasskeySignals } from "./passkey.types";

export enum UserVerificationRequirement {
  USER_VERIFICATION_REQUIREMENT_REQUIRED = "USER_VERIFICATION_REQUIREMENT_REQUIRED",
}
registerEnumType(UserVerificationRequirement, {
  name: "UserVerificationRequirement",
  description: "Passkeys only (no U2F): the authenticator must verify the user.",
  valuesConfig: {
    USER_VERIFICATION_REQUIREMENT_REQUIRED: {
      description: "The authenticator must verify the user (biometrics or PIN).",
    },
  },
});

@InputType({ description: "Names the user to sign in (username-first): exactly one field." })
export class CheckUserInput {
  @Field(() => ID, { nullable: true, description: "The user's ID." })
  userId?: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      "A username in the organization of x-zitadel-orgid, else the caller's, else the default one.",
  })
  loginName?: string | null;
}

@InputType({ description: "A passkey check." })
export class CheckWebAuthNInput {
  @Field(() => JSONObjectScalar, {
    description:
      "startAuthentication()'s AuthenticationResponseJSON (PublicKeyCredential.toJSON()).",
  })
  credentialAssertionData!: Record<string, unknown>;
}

@InputType({ description: "The checks to run on the session, in order: user, then webAuthN." })
export class ChecksInput {
  @Field(() => CheckUserInput, {
    nullable: true,
    description: "Username-first: the user to sign in.",
  })
  user?: CheckUserInput | null;
  @Field(() => CheckWebAuthNInput, {
    nullable: true,
    description: "A passkey assertion answering the session's open challenge.",
  })
  webAuthN?: CheckWebAuthNInput | null;
}

@InputType({ description: "Asks for a passkey challenge." })
export class WebAuthNChallengeInput {
  @Field(() => String, {
    nullable: true,
    description: "When given and not empty, must equal the configured relying party ID.",
  })
  domain?: string | null;
  @Field(() => UserVerificationRequirement, {
    description: "Must be USER_VERIFICATION_REQUIREMENT_REQUIRED.",
  })
  userVerificationRequirement!: UserVerificationRequirement;
}

@InputType({ description: "The challenges to open on the session." })
export class RequestChallengesInput {
  @Field(() => WebAuthNChallengeInput, {
    nullable: true,
    description: "A passkey challenge (replaces an open one).",
  })
  webAuthN?: WebAuthNChallengeInput | null;
}

@InputType({ description: "Starts a sign-in." })
export class CreateSessionInput {
  @Field(() => ChecksInput, {
    nullable: true,
    description:
      "checks.user names the user (username-first); no webAuthN check before a challenge.",
  })
  checks?: ChecksInput | null;
  @Field(() => RequestChallengesInput, { nullable: true, description: "The challenges to open." })
  challenges?: RequestChallengesInput | null;
  @Field(() => String, {
    nullable: true,
    description: 'Seconds from creation, e.g. "18000s"; default SESSION_LIFETIME_SECONDS.',
  })
  lifetime?: string | null;
}

@InputType({ description: "Checks, challenges or a shorter lifetime, with the current token." })
export class SetSessionInput {
  @Field(() => ID, { description: "The session, from createSession." })
  sessionId!: string;
  @Field(() => String, { description: "The session's current token (rotated by every success)." })
  sessionToken!: string;
  @Field(() => ChecksInput, { nullable: true, description: "The checks to run." })
  checks?: ChecksInput | null;
  @Field(() => RequestChallengesInput, { nullable: true, description: "The challenges to open." })
  challenges?: RequestChallengesInput | null;
  @Field(() => String, {
    nullable: true,
    description: 'Seconds from creation, e.g. "3600s", at most SESSION_MAX_LIFETIME_SECONDS.',
  })
  lifetime?: string | null;
}

@InputType({ description: "Ends a session (signs out)." })
export class DeleteSessionInput {
  @Field(() => ID, { description: "The session to end." })
  sessionId!: string;
  @Field(() => String, {
    nullable: true,
    description: "The session's token; without it, its own user or session.delete.",
  })
  sessionToken?: string | null;
}

@ObjectType({ description: "A passkey challenge." })
export class WebAuthNChallenge {
  @Field(() => JSONObjectScalar, {
    description:
      "{ publicKey: PublicKeyCredentialRequestOptionsJSON }: pass publicKey to startAuthentication()",
  })
  publicKeyCredentialRequestOptions!: Record<string, unknown>;
}

@ObjectType({ description: "The challenges opened by the call." })
export class Challenges {
  @Field(() => WebAuthNChallenge, {
    nullable: true,
    description: "Pass publicKeyCredentialRequestOptions.publicKey to the browser.",
  })
  webAuthN!: WebAuthNChallenge | null;
}

@ObjectType({ description: "A new session and its first token." })
export class CreateSessionPayload {
  @Field(() => ObjectDetails, {
    description: "v2 style; sequence 0 until the first successful check.",
  })
  details!: ObjectDetails;
  @Field(() => ID, { description: "The new session." })
  sessionId!: string;
  @Field(() => String, { description: "The session token (pls_…): shown once, keep it secret." })
  sessionToken!: string;
  @Field(() => Challenges, { nullable: true, description: "The challenges asked for." })
  challenges!: Challenges | null;
}

@ObjectType({ description: "The session's new token; the previous one no longer works." })
export class SetSessionPayload {
  @Field(() => ObjectDetails, { description: "v2 style: the session aggregate's sequence." })
  details!: ObjectDetails;
  @Field(() => String, {
    description: "The session's new token: the previous one no longer works.",
  })
  sessionToken!: string;
  @Field(() => Challenges, { nullable: true, description: "The challenges asked for." })
  challenges!: Challenges | null;
  @Field(() => PasskeySignals, {
    nullable: true,
    description: "After a successful passkey check: payloads for the WebAuthn Signal API.",
  })
  signals!: PasskeySignals | null;
}

@ObjectType({ description: "The result of deleteSession." })
export class DeleteSessionPayload extends DetailsPayload {}

@ObjectType({ description: "The user the session is bound to." })
export class UserFactor {
  @Field(() => DateTimeScalar, { description: "When the user was named or bound." })
  verifiedAt!: Date;
  @Field(() => ID, { description: "The user's ID." })
  id!: string;
  @Field(() => String, { description: "The user's username." })
  loginName!: string;
  @Field(() => String, { description: "The user's display name." })
  displayName!: string;
  @Field(() => ID, { description: "The user's organization." })
  organizationId!: string;
}

@ObjectType({ description: "The latest successful passkey check." })
export class WebAuthNFactor {
  @Field(() => DateTimeScalar, {
    description: "When the latest passkey check succeeded (the servers' clock).",
  })
  verifiedAt!: Date;
  @Field(() => Boolean, {
    description: "The authenticator verified the user (always true: required).",
  })
  userVerified!: boolean;
  @Field(() => ID, { description: "The passkey that made the check (ours)." })
  passkeyId!: string;
}

@ObjectType({ description: "What the session has proved." })
export class Factors {
  @Field(() => UserFactor, {
    nullable: true,
    description: "Null until a verified passkey binds the session (for anonymous callers).",
  })
  user!: UserFactor | null;
  @Field(() => WebAuthNFactor, {
    nullable: true,
    description: "Null until a passkey check succeeds.",
  })
  webAuthN!: WebAuthNFactor | null;
}

@ObjectType({ description: "A sign-in session; never its token." })
export class Session {
  @Field(() => ID, { description: "The session's ID." })
  id!: string;
  @Field(() => DateTimeScalar, {
    description: "When the session was created; its lifetime counts from here.",
  })
  creationDate!: Date;
  @Field(() => DateTimeScalar, { description: "When the session last changed." })
  changeDate!: Date;
  @Field(() => String, { description: "The session aggregate's sequence (decimal string)." })
  sequence!: string;
  @Field(() => Factors, { description: "What the session has proved." })
  factors!: Factors;
  @Field(() => DateTimeScalar, {
    description: "When the session ends (before its first check: when its challenge expires).",
  })
  expirationDate!: Date;
}

@ObjectType({ description: "Sessions, newest first." })
export class SessionList {
  @Field(() => Int, { description: "How many sessions match, over all pages." })
  totalResult!: number;
  @Field(() => [Session], { description: "This page of sessions, newest first." })
  sessions!: Session[];
}
