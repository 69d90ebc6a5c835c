// Identity surface: organizations, users, memberships and tokens. Thin: each field calls one service.
import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { MemberService } from "../services/member.service";
import type { OrganizationService } from "../services/organization.service";
import type { RequestContext } from "../services/request-context";
import { requireCaller } from "../services/request-context";
import type { TokenService } from "../services/token.service";
import type { StateChange, UserService } from "../services/user.service";
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
  User,
  UserIdInput,
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

  @Query(() => User, { description: "The authenticated user." })
  async me(@Ctx() ctx: RequestContext): Promise<User> {
    return User.from(await this.users.get(ctx, requireCaller(ctx).userId));
  }

  @Query(() => User, {
    description: "A user: oneself, or with user.read in the user's organization.",
  })
  async user(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string): Promise<User> {
    return User.from(await this.users.get(ctx, id));
  }

  @Mutation(() => AddOrganizationPayload, { description: "Instance owners only." })
  async addOrganization(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddOrganizationInput) input: AddOrganizationInput,
  ): Promise<AddOrganizationPayload> {
    const { details, organizationId } = await this.organizations.add(ctx, input);
    return { details: ObjectDetails.from(details), organizationId };
  }

  @Mutation(() => AddUserPayload)
  async addHumanUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddHumanUserInput) input: AddHumanUserInput,
  ): Promise<AddUserPayload> {
    const { details, userId } = await this.users.addHuman(ctx, input);
    return { details: ObjectDetails.from(details), userId };
  }

  @Mutation(() => AddUserPayload)
  async addMachineUser(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddMachineUserInput) input: AddMachineUserInput,
  ): Promise<AddUserPayload> {
    const { details, userId } = await this.users.addMachine(ctx, input);
    return { details: ObjectDetails.from(details), userId };
  }

  @Mutation(() => AddPersonalAccessTokenPayload, {
    description: "Oneself, or with user.credential.write in the user's organization.",
  })
  async addPersonalAccessToken(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddPersonalAccessTokenInput) input: AddPersonalAccessTokenInput,
  ): Promise<AddPersonalAccessTokenPayload> {
    const { details, tokenId, token } = await this.tokens.add(ctx, input);
    return { details: ObjectDetails.from(details), tokenId, token };
  }

  @Mutation(() => AddMemberPayload)
  async addMember(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddMemberInput) input: AddMemberInput,
  ): Promise<AddMemberPayload> {
    return AddMemberPayload.of(await this.members.add(ctx, input));
  }

  @Mutation(() => UserStatePayload)
  deactivateUser(@Ctx() ctx: RequestContext, @Arg("input", () => UserIdInput) input: UserIdInput) {
    return this.changeState(ctx, input, "deactivate");
  }

  @Mutation(() => UserStatePayload)
  reactivateUser(@Ctx() ctx: RequestContext, @Arg("input", () => UserIdInput) input: UserIdInput) {
    return this.changeState(ctx, input, "reactivate");
  }

  @Mutation(() => UserStatePayload)
  lockUser(@Ctx() ctx: RequestContext, @Arg("input", () => UserIdInput) input: UserIdInput) {
    return this.changeState(ctx, input, "lock");
  }

  @Mutation(() => UserStatePayload)
  unlockUser(@Ctx() ctx: RequestContext, @Arg("input", () => UserIdInput) input: UserIdInput) {
    return this.changeState(ctx, input, "unlock");
  }

  @Mutation(() => UserStatePayload)
  removeUser(@Ctx() ctx: RequestContext, @Arg("input", () => UserIdInput) input: UserIdInput) {
    return this.changeState(ctx, input, "remove");
  }

  private async changeState(ctx: RequestContext, input: UserIdInput, change: StateChange) {
    return UserStatePayload.of(await this.users.changeState(ctx, input.userId, change));
  }
}
