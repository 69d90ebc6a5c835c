// Passkey-link operations: thin; each field calls one service method and shapes the payload.
import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { PasskeyCodeService } from "../services/passkey-code.service";
import type { PasskeyLinkService } from "../services/passkey-link.service";
import type { RequestContext } from "../services/request-context";
import { ObjectDetails } from "./types/common.types";
import {
  AddPasskeyLinkInput,
  AddPasskeyLinkPayload,
  CreatePasskeyRegistrationLinkInput,
  CreatePasskeyRegistrationLinkPayload,
  PasskeyRegistrationCodeInfo,
  RevokePasskeyRegistrationCodeInput,
  RevokePasskeyRegistrationCodePayload,
  SendPasskeyLinkInput,
  SendPasskeyLinkPayload,
} from "./types/passkey-link.types";

@Resolver()
export class PasskeyLinkResolver {
  constructor(
    private readonly links: PasskeyLinkService,
    private readonly codes: PasskeyCodeService,
  ) {}

  @Mutation(() => AddPasskeyLinkPayload, {
    description:
      "A one-time registration link for the caller, or (user.credential.write) another user.",
  })
  async addPasskeyLink(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddPasskeyLinkInput, { nullable: true }) input?: AddPasskeyLinkInput | null,
  ): Promise<AddPasskeyLinkPayload> {
    const { details, link } = await this.links.addLink(ctx, input?.userId);
    return { details: ObjectDetails.from(details), link, expiration: this.links.expiration };
  }

  @Mutation(() => SendPasskeyLinkPayload, {
    description: "Emails a registration link to the caller, or (user.write) another user.",
  })
  async sendPasskeyLink(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => SendPasskeyLinkInput, { nullable: true })
    input?: SendPasskeyLinkInput | null,
  ): Promise<SendPasskeyLinkPayload> {
    return SendPasskeyLinkPayload.of(await this.links.sendLink(ctx, input?.userId));
  }

  @Mutation(() => CreatePasskeyRegistrationLinkPayload, {
    description:
      "Emails a link (default) or returns the code; user.passkey.write unless for oneself.",
  })
  async createPasskeyRegistrationLink(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => CreatePasskeyRegistrationLinkInput)
    input: CreatePasskeyRegistrationLinkInput,
  ): Promise<CreatePasskeyRegistrationLinkPayload> {
    const { details, code } = await this.links.createRegistrationLink(ctx, input);
    return { details: ObjectDetails.from(details, "v2"), code };
  }

  @Query(() => [PasskeyRegistrationCodeInfo], {
    description: "A user's registration codes, newest first (at most 100), never their values.",
  })
  async passkeyRegistrationCodes(
    @Ctx() ctx: RequestContext,
    @Arg("userId", () => ID) userId: string,
  ): Promise<PasskeyRegistrationCodeInfo[]> {
    return (await this.codes.list(ctx, userId)) as PasskeyRegistrationCodeInfo[];
  }

  @Mutation(() => RevokePasskeyRegistrationCodePayload)
  async revokePasskeyRegistrationCode(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => RevokePasskeyRegistrationCodeInput)
    input: RevokePasskeyRegistrationCodeInput,
  ): Promise<RevokePasskeyRegistrationCodePayload> {
    return RevokePasskeyRegistrationCodePayload.of(
      await this.codes.revoke(ctx, input.userId, input.codeId),
    );
  }
}
