// GraphQL shapes of the identity surface: users, organizations, memberships, tokens.
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import type { UserProfile } from "../../services/identity/user.service";
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
registerEnumType(UserType, {
  name: "UserType",
  description: "Whether a user is a person or a service account.",
  valuesConfig: {
    HUMAN: { description: "A person: has a name, may have an email address and passkeys." },
    MACHINE: {
      description:
        "A service account: authenticates with personal access tokens; gets no passkey codes.",
    },
  },
});
registerEnumType(UserState, {
  name: "UserState",
  description: "Whether a user may act and receive credentials (removed users are not found).",
  valuesConfig: {
    ACTIVE: { description: "Usable: its tokens work and it can receive passkey codes." },
    INACTIVE: {
      description:
        "Deactivated: its tokens, codes, pending registrations and queued mails ended; reactivateUser revives none of them.",
    },
    LOCKED: {
      description:
        "Locked: its tokens stop working until unlockUser; its codes, pending registrations and queued mails ended.",
    },
  },
});

@ObjectType({ description: "A user of an organization: a person (HUMAN) or a service account." })
export class User {
  @Field(() => ID, { description: "The user's ID." })
  id!: string;

  @Field(() => ID, { description: "The organization the user belongs to." })
  organizationId!: string;

  @Field(() => UserType, { description: "A person or a service account." })
  type!: UserType;

  @Field(() => UserState, { description: "Whether the user may act and receive credentials." })
  state!: UserState;

  @Field(() => String, {
    description: "Unique in the organization (compared case-insensitively), no white space.",
  })
  username!: string;

  @Field(() => String, {
    nullable: true,
    description: "Where links are emailed; null: none (always null for MACHINE users).",
  })
  email!: string | null;

  @Field(() => Boolean, {
    description:
      "Whether the address was verified when set; links are emailed to unverified addresses too.",
  })
  emailVerified!: boolean;

  @Field(() => String, { nullable: true, description: "Null for MACHINE users." })
  givenName!: string | null;

  @Field(() => String, { nullable: true, description: "Null for MACHINE users." })
  familyName!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "BCP-47 tag for mails, e.g. de or en-GB; null: English.",
  })
  preferredLanguage!: string | null;

  @Field(() => String, {
    description: "The name shown to people: given and family name unless set; a MACHINE's name.",
  })
  displayName!: string;

  static from(entity: UserProfile): User {
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

@InputType({ description: "A new organization." })
export class AddOrganizationInput {
  @Field(() => String, { description: "The organization's display name." })
  name!: string;
}
@ObjectType({ description: "The organization created by addOrganization." })
export class AddOrganizationPayload {
  @Field(() => ObjectDetails, { description: "What the creation wrote." })
  details!: ObjectDetails;

  @Field(() => ID, { description: "The new organization's ID." })
  organizationId!: string;
}

@InputType({ description: "A new person in an organization." })
export class AddHumanUserInput {
  @Field(() => ID, { nullable: true, description: "Omitted: the caller's organization context." })
  organizationId?: string | null;
  @Field(() => String, {
    description: "Unique in the organization (case-insensitive); no white space.",
  })
  username!: string;
  @Field(() => String, {
    nullable: true,
    description:
      "Needed to email passkey links; optional for users who only receive links directly.",
  })
  email?: string | null;
  @Field(() => Boolean, {
    nullable: true,
    description: "Whether the address is known to be the user's. Omitted: false.",
  })
  emailVerified?: boolean | null;
  @Field(() => String, { description: "The person's given name." })
  givenName!: string;
  @Field(() => String, { description: "The person's family name." })
  familyName!: string;
  @Field(() => String, { nullable: true, description: "Omitted: given and family name." })
  displayName?: string | null;
  @Field(() => String, { nullable: true, description: "BCP-47 tag, e.g. de or en-GB." })
  preferredLanguage?: string | null;
}

@InputType({ description: "A new service account in an organization." })
export class AddMachineUserInput {
  @Field(() => ID, { nullable: true, description: "Omitted: the caller's organization context." })
  organizationId?: string | null;
  @Field(() => String, {
    description: "Unique in the organization (case-insensitive); no white space.",
  })
  username!: string;
  @Field(() => String, { description: "The account's display name." })
  name!: string;
}

@ObjectType({ description: "The user created by addHumanUser or addMachineUser." })
export class AddUserPayload {
  @Field(() => ObjectDetails, { description: "What the creation wrote." })
  details!: ObjectDetails;

  @Field(() => ID, { description: "The new user's ID." })
  userId!: string;
}

@InputType({ description: "A personal access token to mint." })
export class AddPersonalAccessTokenInput {
  @Field(() => ID, { description: "The user the token authenticates as." })
  userId!: string;
  @Field(() => DateTimeScalar, {
    nullable: true,
    description:
      "Omitted: the token does not expire. Must be in the future, and no later than the calling token's own expiry when that has one.",
  })
  expirationDate?: Date | null;
}
@ObjectType({ description: "A minted personal access token, with its value this once." })
export class AddPersonalAccessTokenPayload {
  @Field(() => ObjectDetails, { description: "What minting wrote on the user." })
  details!: ObjectDetails;

  @Field(() => ID, { description: "The token's ID, for listing and removing it." })
  tokenId!: string;

  @Field(() => String, { description: "Shown only here, once; only its hash is stored." })
  token!: string;
}

@ObjectType({ description: "A personal access token as listed: never its value." })
export class PersonalAccessToken {
  @Field(() => ID, { description: "The token's ID." })
  id!: string;

  @Field(() => DateTimeScalar, { description: "When the token was minted." })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "Null: the token does not expire." })
  expirationDate!: Date | null;
  @Field(() => ID, {
    description: "The user who minted it: the token's user, or an administrator.",
  })
  createdBy!: string;

  @Field(() => ID, {
    description:
      "Whose authority it was minted under: createdBy, or for a token the user minted itself, the authority of the token it minted it with. A promotion this user could not grant ends the token.",
  })
  grantedBy!: string;

  static from(info: {
    id: string;
    createdAt: Date;
    expiresAt: Date | null;
    createdBy: string;
    grantedBy: string;
  }): PersonalAccessToken {
    return Object.assign(new PersonalAccessToken(), {
      id: info.id,
      createdAt: info.createdAt,
      expirationDate: info.expiresAt,
      createdBy: info.createdBy,
      grantedBy: info.grantedBy,
    });
  }
}

@InputType({ description: "The token to end." })
export class RemovePersonalAccessTokenInput {
  @Field(() => ID, { description: "The token's user." })
  userId!: string;
  @Field(() => ID, { description: "The token's ID (from personalAccessTokens)." })
  tokenId!: string;
}
@ObjectType({ description: "The result of removePersonalAccessToken." })
export class RemovePersonalAccessTokenPayload extends DetailsPayload {}

@InputType({ description: "Roles to grant a user in an organization or on the instance." })
export class AddMemberInput {
  @Field(() => ID, { nullable: true, description: "Null: an instance-level membership." })
  organizationId?: string | null;
  @Field(() => ID, { description: "The user to grant the roles to." })
  userId!: string;
  @Field(() => [String], {
    description:
      "At least one: ORG_OWNER, ORG_USER_MANAGER in an organization; IAM_OWNER, IAM_USER_MANAGER on the instance.",
  })
  roles!: string[];
}
@ObjectType({ description: "The result of addMember." })
export class AddMemberPayload extends DetailsPayload {}

@InputType({ description: "The user a state change applies to." })
export class UserIdInput {
  @Field(() => ID, {
    description: "The target user; never the caller for deactivate, lock, remove.",
  })
  userId!: string;
}
@ObjectType({ description: "The result of a user state change." })
export class UserStatePayload extends DetailsPayload {}

@InputType({
  description:
    "Filters of the users listing (ZITADEL ListUsers' queries, in short); every given one must match.",
})
export class UserQueryInput {
  @Field(() => ID, { nullable: true, description: "Only the users of this organization." })
  organizationId?: string | null;
  @Field(() => String, {
    nullable: true,
    description: "Only the user with this username (exact, case-insensitive).",
  })
  username?: string | null;
  @Field(() => String, {
    nullable: true,
    description: "Only the users with this email address (exact, case-insensitive).",
  })
  email?: string | null;
  @Field(() => UserState, { nullable: true, description: "Only the users in this state." })
  state?: UserState | null;
}

@ObjectType({ description: "One page of the users listing." })
export class UserList {
  @Field(() => Int, { description: "How many users match, before limit and offset." })
  totalResult!: number;

  @Field(() => [User], { description: "The page: oldest first, then by ID." })
  users!: User[];
}

@ObjectType({ description: "An organization (a tenant): its users, roles and passkeys." })
export class Organization {
  @Field(() => ID, { description: "The organization's ID." })
  id!: string;

  @Field(() => String, { description: "The organization's display name." })
  name!: string;

  @Field(() => DateTimeScalar, { description: "When the organization was created." })
  createdAt!: Date;

  static from(info: { id: string; name: string; createdAt: Date }): Organization {
    return Object.assign(new Organization(), {
      id: info.id,
      name: info.name,
      createdAt: info.createdAt,
    });
  }
}

@InputType({
  description:
    "A person's new profile values; an omitted or null field stays as it is (ZITADEL UpdateHumanUser).",
})
export class UpdateHumanUserInput {
  @Field(() => ID, { description: "The person to update: oneself, or with user.write." })
  userId!: string;
  @Field(() => String, {
    nullable: true,
    description:
      "A new address is unverified, and the links emailed to the old one end (their codes are revoked, queued mails cancelled).",
  })
  email?: string | null;
  @Field(() => String, { nullable: true, description: "The person's given name." })
  givenName?: string | null;
  @Field(() => String, { nullable: true, description: "The person's family name." })
  familyName?: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      "Omitted: unchanged, except that a display name that was the default follows a changed given or family name.",
  })
  displayName?: string | null;
  @Field(() => String, {
    nullable: true,
    description: "BCP-47 tag, e.g. de or en-GB; an empty string clears it (mails in English).",
  })
  preferredLanguage?: string | null;
}
@ObjectType({ description: "The result of updateHumanUser." })
export class UpdateHumanUserPayload extends DetailsPayload {}
