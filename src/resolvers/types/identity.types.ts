// GraphQL shapes of the identity surface: users, organizations, memberships, tokens.
import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import type { UserEntity } from "../../entities/user.entity";
import { DateTimeScalar, DetailsPayload, ObjectDetails } from "./common.types";

export enum UserType {
  HUMAN = "HUMAN",
  MACHINE = "MACHINE",
}
export enum UserState {
  ACTIVE = "ACTIVE",
  INACTIVE = "INACTIVE",
  LOCKED = "LOCKED",
}
registerEnumType(UserType, { name: "UserType" });
registerEnumType(UserState, { name: "UserState" });

@ObjectType()
export class User {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field(() => UserType) type!: UserType;
  @Field(() => UserState) state!: UserState;
  @Field(() => String) username!: string;
  @Field(() => String, { nullable: true }) email!: string | null;
  @Field(() => Boolean) emailVerified!: boolean;
  @Field(() => String, { nullable: true }) givenName!: string | null;
  @Field(() => String, { nullable: true }) familyName!: string | null;
  @Field(() => String, { nullable: true }) preferredLanguage!: string | null;
  @Field(() => String) displayName!: string;

  static from(entity: UserEntity): User {
    return Object.assign(new User(), {
      id: entity.id,
      organizationId: entity.organizationId,
      type: entity.type as UserType,
      state: entity.state as UserState,
      username: entity.username,
      email: entity.email,
      emailVerified: entity.emailVerified,
      givenName: entity.givenName,
      familyName: entity.familyName,
      preferredLanguage: entity.preferredLanguage,
      displayName: entity.displayName,
    });
  }
}

@InputType()
export class AddOrganizationInput {
  @Field(() => String) name!: string;
}
@ObjectType()
export class AddOrganizationPayload {
  @Field(() => ObjectDetails) details!: ObjectDetails;
  @Field(() => ID) organizationId!: string;
}

@InputType()
export class AddHumanUserInput {
  @Field(() => ID, { nullable: true, description: "Omitted: the caller's organization context." })
  organizationId?: string | null;
  @Field(() => String) username!: string;
  @Field(() => String, {
    nullable: true,
    description:
      "Needed to email passkey links; optional for users who only receive links directly.",
  })
  email?: string | null;
  @Field(() => Boolean, { nullable: true }) emailVerified?: boolean | null;
  @Field(() => String) givenName!: string;
  @Field(() => String) familyName!: string;
  @Field(() => String, { nullable: true, description: "Omitted: given and family name." })
  displayName?: string | null;
  @Field(() => String, { nullable: true, description: "BCP-47 tag, e.g. de or en-GB." })
  preferredLanguage?: string | null;
}

@InputType()
export class AddMachineUserInput {
  @Field(() => ID, { nullable: true, description: "Omitted: the caller's organization context." })
  organizationId?: string | null;
  @Field(() => String) username!: string;
  @Field(() => String) name!: string;
}

@ObjectType()
export class AddUserPayload {
  @Field(() => ObjectDetails) details!: ObjectDetails;
  @Field(() => ID) userId!: string;
}

@InputType()
export class AddPersonalAccessTokenInput {
  @Field(() => ID) userId!: string;
  @Field(() => DateTimeScalar, {
    nullable: true,
    description: "Omitted: the token does not expire.",
  })
  expirationDate?: Date | null;
}
@ObjectType()
export class AddPersonalAccessTokenPayload {
  @Field(() => ObjectDetails) details!: ObjectDetails;
  @Field(() => ID) tokenId!: string;
  @Field(() => String, { description: "Shown only here, once; only its hash is stored." })
  token!: string;
}

@InputType()
export class AddMemberInput {
  @Field(() => ID, { nullable: true, description: "Null: an instance-level membership." })
  organizationId?: string | null;
  @Field(() => ID) userId!: string;
  @Field(() => [String]) roles!: string[];
}
@ObjectType()
export class AddMemberPayload extends DetailsPayload {}

@InputType()
export class UserIdInput {
  @Field(() => ID) userId!: string;
}
@ObjectType()
export class UserStatePayload extends DetailsPayload {}
