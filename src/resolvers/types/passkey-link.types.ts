// GraphQL shapes of the passkey-link operations (names and fields are the published contract).
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { DateTimeScalar, DetailsPayload, ObjectDetails } from "./common.types";

export enum PasskeyCodeState {
  ACTIVE = "ACTIVE",
  USED = "USED",
  EXPIRED = "EXPIRED",
  REVOKED = "REVOKED",
  LOCKED_OUT = "LOCKED_OUT",
}
export enum PasskeyCodeMedium {
  RETURNED = "RETURNED",
  LINK = "LINK",
  EMAIL = "EMAIL",
}
export enum DeliveryState {
  QUEUED = "QUEUED",
  SENT = "SENT",
  FAILED = "FAILED",
}
registerEnumType(PasskeyCodeState, {
  name: "PasskeyCodeState",
  description: "Where a registration code stands; only ACTIVE codes can register a passkey.",
  valuesConfig: {
    ACTIVE: { description: "Usable until expiresAt." },
    USED: { description: "Spent: a passkey was stored with it." },
    EXPIRED: { description: "Its lifetime passed before it was used." },
    REVOKED: {
      description:
        "Ended by revokePasskeyRegistrationCode, by locking, deactivating or removing the user, or by a role grant its minter could not make.",
    },
    LOCKED_OUT: { description: "Ended after too many checks with a wrong value." },
  },
});
registerEnumType(PasskeyCodeMedium, {
  name: "PasskeyCodeMedium",
  description: "How a registration code reached the user.",
  valuesConfig: {
    RETURNED: { description: "Returned bare by createPasskeyRegistrationLink with returnCode." },
    LINK: { description: "Returned inside a link by addPasskeyLink." },
    EMAIL: {
      description: "Emailed as a link by sendPasskeyLink or createPasskeyRegistrationLink.",
    },
  },
});
registerEnumType(DeliveryState, {
  name: "DeliveryState",
  description: "Where the email that carries a code stands in the outbox.",
  valuesConfig: {
    QUEUED: { description: "Waiting for its first attempt or for a retry after backoff." },
    SENT: { description: "Accepted by the mail server." },
    FAILED: {
      description: "Given up after the configured attempts, or cancelled because the code ended.",
    },
  },
});

@InputType({ description: "Whom addPasskeyLink mints a link for." })
export class AddPasskeyLinkInput {
  @Field(() => ID, { nullable: true, description: "Omitted: the authenticated user." })
  userId?: string | null;
}

@InputType({ description: "Whom sendPasskeyLink emails a link to." })
export class SendPasskeyLinkInput {
  @Field(() => ID, { nullable: true, description: "Omitted: the authenticated user." })
  userId?: string | null;
}

@ObjectType({ description: "A registration link minted by addPasskeyLink." })
export class AddPasskeyLinkPayload {
  @Field(() => ObjectDetails, { description: "What minting wrote on the user (v1 style)." })
  details!: ObjectDetails;

  @Field(() => String, { description: "The registration link, with the code in it." })
  link!: string;
  @Field(() => String, { description: 'Lifetime of the code, e.g. "3600s".' })
  expiration!: string;
}

@ObjectType({ description: "The result of sendPasskeyLink: the mail is queued, not yet sent." })
export class SendPasskeyLinkPayload extends DetailsPayload {}

@InputType({ description: "Email the link; optionally built from a custom URL template." })
export class SendLinkInput {
  @Field(() => String, {
    nullable: true,
    description:
      "1..200 characters with {{.UserID}} {{.OrgID}} {{.CodeID}} {{.Code}}; must yield an https URL on an allowed origin.",
  })
  urlTemplate?: string | null;
}

@InputType({ description: "Whom to mint a registration code for, and how to deliver it." })
export class CreatePasskeyRegistrationLinkInput {
  @Field(() => ID, { description: "The user who will register the passkey." })
  userId!: string;
  @Field(() => SendLinkInput, {
    nullable: true,
    description: "Email the link; the default when neither medium is given.",
  })
  sendLink?: SendLinkInput | null;
  @Field(() => Boolean, {
    nullable: true,
    description: "true: return the code, send nothing. Both media at once: INVALID_ARGUMENT.",
  })
  returnCode?: boolean | null;
}

@ObjectType({
  description: "A one-time registration code; pass both values to registerPasskey.",
})
export class PasskeyRegistrationCode {
  @Field(() => ID, { description: "The code's ID." })
  id!: string;

  @Field(() => String, {
    description: "The secret value (12 characters by default), shown only here, once.",
  })
  code!: string;
}

@ObjectType({ description: "The result of createPasskeyRegistrationLink." })
export class CreatePasskeyRegistrationLinkPayload {
  @Field(() => ObjectDetails, {
    description: "What minting wrote on the user (v2 style: creationDate is null).",
  })
  details!: ObjectDetails;

  @Field(() => PasskeyRegistrationCode, {
    nullable: true,
    description: "The code when returnCode was true; null when the link was emailed.",
  })
  code!: PasskeyRegistrationCode | null;
}

@ObjectType({ description: "The delivery of an emailed code through the outbox." })
export class PasskeyCodeDelivery {
  @Field(() => DeliveryState, { description: "Queued, sent or failed." })
  state!: DeliveryState;

  @Field(() => Int, { description: "Delivery attempts made so far (0 before the first)." })
  attempts!: number;

  @Field(() => String, {
    nullable: true,
    description:
      "Why the last attempt failed; null once sent or before any failure. The mail server's words only for callers with user.write, a generic line otherwise.",
  })
  lastError!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "When it was sent; null: not yet." })
  sentAt!: Date | null;
}

@ObjectType({ description: "A registration code as listed: never its value." })
export class PasskeyRegistrationCodeInfo {
  @Field(() => ID, { description: "The code's ID." })
  id!: string;

  @Field(() => ID, { description: "The user the code registers a passkey for." })
  userId!: string;

  @Field(() => PasskeyCodeState, { description: "Its state now (EXPIRED once expiresAt passed)." })
  state!: PasskeyCodeState;

  @Field(() => PasskeyCodeMedium, { description: "How the code reached the user." })
  medium!: PasskeyCodeMedium;

  @Field(() => DateTimeScalar, { description: "When the code was minted." })
  createdAt!: Date;

  @Field(() => DateTimeScalar, {
    description: "When the code stops working; fixed at minting, nothing extends it.",
  })
  expiresAt!: Date;

  @Field(() => PasskeyCodeDelivery, { nullable: true, description: "null unless emailed" })
  delivery!: PasskeyCodeDelivery | null;
}

@InputType({ description: "The active code to end." })
export class RevokePasskeyRegistrationCodeInput {
  @Field(() => ID, { description: "The code's user." })
  userId!: string;
  @Field(() => ID, { description: "The code's ID." })
  codeId!: string;
}

@ObjectType({ description: "The result of revokePasskeyRegistrationCode." })
export class RevokePasskeyRegistrationCodePayload extends DetailsPayload {}
