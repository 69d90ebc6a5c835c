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
  @Field(() => CheckUserInput, { nullable: true })
  user?: CheckUserInput | null;
  @Field(() => CheckWebAuthNInput, { nullable: true })
  webAuthN?: CheckWebAuthNInput | null;
}

@InputType({ description: "Asks for a passkey challenge." })
export class WebAuthNChallengeInput {
  @Field(() => String, {
    nullable: true,
    description: "When given and not empty, must equal the configured relying party ID.",
  })
  domain?: string | null;
  @Field(() => UserVerificationRequirement)
  userVerificationRequirement!: UserVerificationRequirement;
}

@InputType({ description: "The challenges to open on the session." })
export class RequestChallengesInput {
  @Field(() => WebAuthNChallengeInput, { nullable: true })
  webAuthN?: WebAuthNChallengeInput | null;
}

@InputType({ description: "Starts a sign-in." })
export class CreateSessionInput {
  @Field(() => ChecksInput, { nullable: true })
  checks?: ChecksInput | null;
  @Field(() => RequestChallengesInput, { nullable: true })
  challenges?: RequestChallengesInput | null;
  @Field(() => String, {
    nullable: true,
    description: 'Seconds from creation, e.g. "18000s"; default SESSION_LIFETIME_SECONDS.',
  })
  lifetime?: string | null;
}

@InputType({ description: "Checks, challenges or a shorter lifetime, with the current token." })
export class SetSessionInput {
  @Field(() => ID)
  sessionId!: string;
  @Field(() => String, { description: "The session's current token (rotated by every success)." })
  sessionToken!: string;
  @Field(() => ChecksInput, { nullable: true })
  checks?: ChecksInput | null;
  @Field(() => RequestChallengesInput, { nullable: true })
  challenges?: RequestChallengesInput | null;
  @Field(() => String, {
    nullable: true,
    description: 'Seconds from creation, e.g. "3600s", at most SESSION_MAX_LIFETIME_SECONDS.',
  })
  lifetime?: string | null;
}

@InputType({ description: "Ends a session (signs out)." })
export class DeleteSessionInput {
  @Field(() => ID)
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
  @Field(() => WebAuthNChallenge, { nullable: true })
  webAuthN!: WebAuthNChallenge | null;
}

@ObjectType({ description: "A new session and its first token." })
export class CreateSessionPayload {
  @Field(() => ObjectDetails)
  details!: ObjectDetails;
  @Field(() => ID)
  sessionId!: string;
  @Field(() => String, { description: "The session token (pls_…): shown once, keep it secret." })
  sessionToken!: string;
  @Field(() => Challenges, { nullable: true })
  challenges!: Challenges | null;
}

@ObjectType({ description: "The session's new token; the previous one no longer works." })
export class SetSessionPayload {
  @Field(() => ObjectDetails)
  details!: ObjectDetails;
  @Field(() => String)
  sessionToken!: string;
  @Field(() => Challenges, { nullable: true })
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
  @Field(() => DateTimeScalar)
  verifiedAt!: Date;
  @Field(() => ID)
  id!: string;
  @Field(() => String)
  loginName!: string;
  @Field(() => String)
  displayName!: string;
  @Field(() => ID)
  organizationId!: string;
}

@ObjectType({ description: "The latest successful passkey check." })
export class WebAuthNFactor {
  @Field(() => DateTimeScalar)
  verifiedAt!: Date;
  @Field(() => Boolean)
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
  @Field(() => WebAuthNFactor, { nullable: true })
  webAuthN!: WebAuthNFactor | null;
}

@ObjectType({ description: "A sign-in session; never its token." })
export class Session {
  @Field(() => ID)
  id!: string;
  @Field(() => DateTimeScalar)
  creationDate!: Date;
  @Field(() => DateTimeScalar)
  changeDate!: Date;
  @Field(() => String, { description: "The session aggregate's sequence (decimal string)." })
  sequence!: string;
  @Field(() => Factors)
  factors!: Factors;
  @Field(() => DateTimeScalar)
  expirationDate!: Date;
}

@ObjectType({ description: "Sessions, newest first." })
export class SessionList {
  @Field(() => Int)
  totalResult!: number;
  @Field(() => [Session])
  sessions!: Session[];
}
