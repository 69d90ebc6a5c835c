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
registerEnumType(PasskeyCodeState, { name: "PasskeyCodeState" });
registerEnumType(PasskeyCodeMedium, { name: "PasskeyCodeMedium" });
registerEnumType(DeliveryState, { name: "DeliveryState" });

@InputType()
export class AddPasskeyLinkInput {
  @Field(() => ID, { nullable: true, description: "Omitted: the authenticated user." })
  userId?: string | null;
}

@InputType()
export class SendPasskeyLinkInput {
  @Field(() => ID, { nullable: true, description: "Omitted: the authenticated user." })
  userId?: string | null;
}

@ObjectType()
export class AddPasskeyLinkPayload {
  @Field(() => ObjectDetails) details!: ObjectDetails;
  @Field(() => String, { description: "The registration link, with the code in it." })
  link!: string;
  @Field(() => String, { description: 'Lifetime of the code, e.g. "3600s".' })
  expiration!: string;
}

@ObjectType()
export class SendPasskeyLinkPayload extends DetailsPayload {}

@InputType()
export class SendLinkInput {
  @Field(() => String, {
    nullable: true,
    description:
      "1..200 characters with {{.UserID}} {{.OrgID}} {{.CodeID}} {{.Code}}; must yield an https URL on an allowed origin.",
  })
  urlTemplate?: string | null;
}

@InputType()
export class CreatePasskeyRegistrationLinkInput {
  @Field(() => ID) userId!: string;
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

@ObjectType()
export class PasskeyRegistrationCode {
  @Field(() => ID) id!: string;
  @Field(() => String) code!: string;
}

@ObjectType()
export class CreatePasskeyRegistrationLinkPayload {
  @Field(() => ObjectDetails) details!: ObjectDetails;
  @Field(() => PasskeyRegistrationCode, { nullable: true }) code!: PasskeyRegistrationCode | null;
}

@ObjectType()
export class PasskeyCodeDelivery {
  @Field(() => DeliveryState) state!: DeliveryState;
  @Field(() => Int) attempts!: number;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) sentAt!: Date | null;
}

@ObjectType({ description: "A registration code as listed: never its value." })
export class PasskeyRegistrationCodeInfo {
  @Field(() => ID) id!: string;
  @Field(() => ID) userId!: string;
  @Field(() => PasskeyCodeState) state!: PasskeyCodeState;
  @Field(() => PasskeyCodeMedium) medium!: PasskeyCodeMedium;
  @Field(() => DateTimeScalar) createdAt!: Date;
  @Field(() => DateTimeScalar) expiresAt!: Date;
  @Field(() => PasskeyCodeDelivery, { nullable: true, description: "null unless emailed" })
  delivery!: PasskeyCodeDelivery | null;
}

@InputType()
export class RevokePasskeyRegistrationCodeInput {
  @Field(() => ID) userId!: string;
  @Field(() => ID) codeId!: string;
}

@ObjectType()
export class RevokePasskeyRegistrationCodePayload extends DetailsPayload {}
