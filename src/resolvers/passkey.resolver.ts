// Passkey registration with a code, and stored passkeys. Thin: each field calls one service method.
import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { PasskeyService } from "../services/passkeys/passkey.service";
import type { RequestContext } from "../core/request-context";
import { ObjectDetails } from "./types/common.types";
import {
  Passkey,
  RegisterPasskeyInput,
  RegisterPasskeyPayload,
  RemovePasskeyInput,
  RemovePasskeyPayload,
  VerifyPasskeyRegistrationInput,
  VerifyPasskeyRegistrationPayload,
} from "./types/passkey.types";

@Resolver()
export class PasskeyResolver {
  constructor(private readonly service: PasskeyService) {}

  @Mutation(() => RegisterPasskeyPayload, {
    description:
      "Opens a passkey registration: with a code (no token needed), or for oneself. The code is not spent yet.",
  })
  async registerPasskey(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => RegisterPasskeyInput, {
      description: "The user, the code and the kind of authenticator.",
    })
    input: RegisterPasskeyInput,
  ): Promise<RegisterPasskeyPayload> {
    const opened = await this.service.register(ctx, input);
    return { ...opened, details: ObjectDetails.from(opened.details, "v2") };
  }

  @Mutation(() => VerifyPasskeyRegistrationPayload, {
    description:
      "Verifies the browser's response and stores the passkey; spends the code in the same transaction.",
  })
  async verifyPasskeyRegistration(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => VerifyPasskeyRegistrationInput, {
      description: "The pending registration and the browser's response.",
    })
    input: VerifyPasskeyRegistrationInput,
  ): Promise<VerifyPasskeyRegistrationPayload> {
    return VerifyPasskeyRegistrationPayload.of(await this.service.verify(ctx, input), "v2");
  }

  @Query(() => [Passkey], {
    description:
      "A user's stored passkeys, oldest first: oneself, or user.read in the user's organization.",
  })
  async passkeys(
    @Ctx() ctx: RequestContext,
    @Arg("userId", () => ID, { description: "The passkeys' user." }) userId: string,
  ): Promise<Passkey[]> {
    return this.service.list(ctx, userId);
  }

  @Mutation(() => RemovePasskeyPayload, {
    description:
      "Deletes a stored passkey: oneself, or user.passkey.write in the user's organization.",
  })
  async removePasskey(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => RemovePasskeyInput, { description: "The passkey to delete." })
    input: RemovePasskeyInput,
  ): Promise<RemovePasskeyPayload> {
    const { details, signals } = await this.service.remove(
      ctx,
      input.userId,
      input.passkeyId,
      input.confirmLast ?? false,
    );
    return Object.assign(RemovePasskeyPayload.of(details, "v2"), { signals });
  }
}
