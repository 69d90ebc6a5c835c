// Passkey-link operations: thin; each field calls one service method and shapes the payload.
import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { PasskeyCodeService } from "../services/links/passkey-code.service";
import type { PasskeyLinkService } from "../services/links/passkey-link.service";
import type { RequestContext } from "../core/request-context";
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
      "A one-time registration link for the caller, or for another user with user.credential.write in that user's organization.",
  })
  async addPasskeyLink(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => AddPasskeyLinkInput, {
      nullable: true,
      description: "Omitted: a link for the caller.",
    })
    input?: AddPasskeyLinkInput | null,
  ): Promise<AddPasskeyLinkPayload> {
    const { details, link } = await this.links.addLink(ctx, input?.userId);
    return { details: ObjectDetails.from(details), link, expiration: this.links.expiration };
  }

  @Mutation(() => SendPasskeyLinkPayload, {
    description:
      "Emails a registration link to the caller, or to another user with user.write in that user's organization. The user needs an email address.",
  })
  async sendPasskeyLink(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => SendPasskeyLinkInput, {
      nullable: true,
      description: "Omitted: a link for the caller.",
    })
    input?: SendPasskeyLinkInput | null,
  ): Promise<SendPasskeyLinkPayload> {
    return SendPasskeyLinkPayload.of(await this.links.sendLink(ctx, input?.userId));
  }

  @Mutation(() => CreatePasskeyRegistrationLinkPayload, {
    description:
      "Emails a link (default) or returns the code; user.passkey.write in the user's organization unless for oneself.",
  })
  async createPasskeyRegistrationLink(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => CreatePasskeyRegistrationLinkInput, {
      description: "The user and the medium.",
    })
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
    @Arg("userId", () => ID, { description: "The codes' user." }) userId: string,
  ): Promise<PasskeyRegistrationCodeInfo[]> {
    return (await this.codes.list(ctx, userId)) as PasskeyRegistrationCodeInfo[];
  }

  @Mutation(() => RevokePasskeyRegistrationCodePayload, {
    description:
      "Ends an ACTIVE code and cancels its queued mail; an ended code: FAILED_PRECONDITION. Oneself, or user.passkey.write in the user's organization and the right to grant roles wherever it holds them.",
  })
  async revokePasskeyRegistrationCode(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => RevokePasskeyRegistrationCodeInput, { description: "The code to end." })
    input: RevokePasskeyRegistrationCodeInput,
  ): Promise<RevokePasskeyRegistrationCodePayload> {
    return RevokePasskeyRegistrationCodePayload.of(
      await this.codes.revoke(ctx, input.userId, input.codeId),
    );
  }
}
