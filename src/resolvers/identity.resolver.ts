// Identity surface: organizations, users, memberships and tokens. Thin: each field calls one service.
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { MemberService } from "../services/identity/member.service";
import type { OrganizationService } from "../services/identity/organization.service";
import type { RequestContext } from "../core/request-context";
import { requireSelfService } from "../core/request-context";
import type { TokenService } from "../services/identity/token.service";
import type { StateChange, UserService } from "../services/identity/user.service";
import { ObjectDetails } from "./types/common.types";
import {
  AddHumanUserInput,
  AddMachineUserInput,
  AddMemberInput,
  AddMemberPayload,
  AddOrganizationInput,
  AddOrganizationPayload,
  AddPersonalAccessTokenInput,
  AddPersonalAccessTokenPayload,
  AddUserPayload,
  PersonalAccessToken,
  RemovePersonalAccessTokenInput,
  Organization,
  RemovePersonalAccessTokenPayload,
  UpdateHumanUserInput,
  UpdateHumanUserPayload,
  User,
  UserIdInput,
  UserList,
  UserQueryInput,
  UserStatePayload,
} from "./types/identity.types";

@Resolver()
export class IdentityResolver {
  constructor(
    private readonly organizations: OrganizationService,
    private readonly users: UserService,
    private readonly members: MemberService,
    private readonly tokens: TokenService,
  ) {}

  @Query(() => User, { description: "The authenticated user (UNAUTHENTICATED without a token)." })
  async me(@Ctx() ctx: RequestContext): Promise<User> {
    return User.from(await this.users.get(ctx, requireSelfService(ctx, null).userId));
  }

  @Query(() => User, {
    description: "A user: oneself, or with user.read in the user's organization.",
  })
  async user(
    @Ctx() ctx: RequestContext,
    @Arg("id", () => ID, { description: "The user's ID." }) id: string,
  ): Promise<User> {
    return User.from(await this.users.get(ctx, id));
  }

  @Query(() => UserList, {
    name: "users",
    description:
      "The users the caller may read: itself, and those of the organizations where it holds user.read (an instance role: all). Oldest first; removed users never.",
  })
  async listUsers(
    @Ctx() ctx: RequestContext,
    @Arg("query", () => UserQueryInput, { nullable: true, description: "Filters; omitted: none." })
    query: UserQueryInput | null,
    @Arg("limit", () => Int, { nullable: true, description: "Page size: 1 to 1000; omitted: 100." })
    limit: number | null,
    @Arg("offset", () => Int, { nullable: true, description: "Users to skip; omitted: 0." })
    offset: number | null,
  ): Promise<UserList> {
    const page = await this.users.list(ctx, { ...query, limit, offset });
    return Object.assign(new UserList(), {
      totalResult: page.totalResult,
      users: page.users.map((user) => User.from(user)),
    });
  }

  @Query(() => [Organization], {
    name: "organizations",
    description:
      "The organizations whose users the caller may read (user.read): all for an instance role, otherwise those of its organization roles. Oldest first.",
  })
  async listOrganizations(@Ctx() ctx: RequestContext): Promise<Organization[]> {
    return (await this.organizations.list(ctx)).map((info) => Organization.from(info));
  }

  @Mutation(() => UpdateHumanUserPayload, {
    description:
      "Changes a person's email, names or language: oneself, or user.write in its organization and the right to grant roles wherever it holds them. Machine users: FAILED_PRECONDITION.",
  })
  async updateHumanUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => UpdateHumanUserInput, { description: "The person and the new values." })
    input: UpdateHumanUserInput,
  ): Promise<UpdateHumanUserPayload> {
    return UpdateHumanUserPayload.of(await this.users.updateHuman(ctx, input), "v2");
  }

  @Mutation(() => AddOrganizationPayload, {
    description: "Creates an organization. Instance owners only (org.write on the instance).",
  })
  async addOrganization(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddOrganizationInput, { description: "The organization to create." })
    input: AddOrganizationInput,
  ): Promise<AddOrganizationPayload> {
    const { details, organizationId } = await this.organizations.add(ctx, input);
    return { details: ObjectDetails.from(details), organizationId };
  }

  @Mutation(() => AddUserPayload, {
    description:
      "Creates a person; user.write in the target organization. A taken username: ALREADY_EXISTS.",
  })
  async addHumanUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddHumanUserInput, { description: "The person to create." })
    input: AddHumanUserInput,
  ): Promise<AddUserPayload> {
    const { details, userId } = await this.users.addHuman(ctx, input);
    return { details: ObjectDetails.from(details), userId };
  }

  @Mutation(() => AddUserPayload, {
    description:
      "Creates a service account; user.write in the target organization. A taken username: ALREADY_EXISTS.",
  })
  async addMachineUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddMachineUserInput, { description: "The service account to create." })
    input: AddMachineUserInput,
  ): Promise<AddUserPayload> {
    const { details, userId } = await this.users.addMachine(ctx, input);
    return { details: ObjectDetails.from(details), userId };
  }

  @Mutation(() => AddPersonalAccessTokenPayload, {
    description:
      "Oneself, or with user.credential.write in the user's organization and the right to grant roles wherever the user holds them.",
  })
  async addPersonalAccessToken(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddPersonalAccessTokenInput, {
      description: "The user and the token's expiry.",
    })
    input: AddPersonalAccessTokenInput,
  ): Promise<AddPersonalAccessTokenPayload> {
    const { details, tokenId, token } = await this.tokens.add(ctx, input);
    return { details: ObjectDetails.from(details), tokenId, token };
  }

  @Query(() => [PersonalAccessToken], {
    description: "A user's tokens, never their values: oneself, or as for minting one.",
  })
  async personalAccessTokens(
    @Ctx() ctx: RequestContext,
    @Arg("userId", () => ID, { description: "The tokens' user." }) userId: string,
  ): Promise<PersonalAccessToken[]> {
    return (await this.tokens.list(ctx, userId)).map((info) => PersonalAccessToken.from(info));
  }

  @Mutation(() => RemovePersonalAccessTokenPayload, {
    description: "Ends a token: oneself, or as for minting one.",
  })
  async removePersonalAccessToken(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => RemovePersonalAccessTokenInput, { description: "The token to end." })
    input: RemovePersonalAccessTokenInput,
  ): Promise<RemovePersonalAccessTokenPayload> {
    return RemovePersonalAccessTokenPayload.of(
      await this.tokens.remove(ctx, input.userId, input.tokenId),
    );
  }

  @Mutation(() => AddMemberPayload, {
    description:
      "Grants roles: org.member.write in the organization, or iam.member.write for instance roles. Ends the user's codes and tokens that others minted without the right to grant them.",
  })
  async addMember(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddMemberInput, { description: "The user, the scope and the roles." })
    input: AddMemberInput,
  ): Promise<AddMemberPayload> {
    return AddMemberPayload.of(await this.members.add(ctx, input));
  }

  @Mutation(() => UserStatePayload, {
    description:
      "ACTIVE or LOCKED to INACTIVE; ends the user's tokens, codes, pending registrations and queued mails. user.write in the user's organization and the right to grant roles wherever it holds them; not oneself.",
  })
  deactivateUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => UserIdInput, { description: "The user whose state changes." })
    input: UserIdInput,
  ) {
    return this.changeState(ctx, input, "deactivate");
  }

  @Mutation(() => UserStatePayload, {
    description:
      "INACTIVE to ACTIVE; revives nothing that deactivation ended. user.write in the user's organization and the right to grant roles wherever it holds them.",
  })
  reactivateUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => UserIdInput, { description: "The user whose state changes." })
    input: UserIdInput,
  ) {
    return this.changeState(ctx, input, "reactivate");
  }

  @Mutation(() => UserStatePayload, {
    description:
      "ACTIVE to LOCKED: its tokens stop working; its codes, pending registrations and queued mails end. user.write in the user's organization and the right to grant roles wherever it holds them; not oneself.",
  })
  lockUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => UserIdInput, { description: "The user whose state changes." })
    input: UserIdInput,
  ) {
    return this.changeState(ctx, input, "lock");
  }

  @Mutation(() => UserStatePayload, {
    description:
      "LOCKED to ACTIVE: its tokens work again. user.write in the user's organization and the right to grant roles wherever it holds them.",
  })
  unlockUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => UserIdInput, { description: "The user whose state changes." })
    input: UserIdInput,
  ) {
    return this.changeState(ctx, input, "unlock");
  }

  @Mutation(() => UserStatePayload, {
    description:
      "Removes the user for good (then NOT_FOUND; the username is free again); ends everything it held. user.write in the user's organization and the right to grant roles wherever it holds them; not oneself.",
  })
  removeUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => UserIdInput, { description: "The user whose state changes." })
    input: UserIdInput,
  ) {
    return this.changeState(ctx, input, "remove");
  }

  private async changeState(ctx: RequestContext, input: UserIdInput, change: StateChange) {
    return UserStatePayload.of(await this.users.changeState(ctx, input.userId, change));
  }
}
