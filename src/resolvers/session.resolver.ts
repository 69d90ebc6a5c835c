// Sign-in sessions (SPEC 18). Thin: each field calls one service method and shapes the payload.
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../core/request-context";
import type { SessionService, SessionView } from "../services/sessions/session.service";
import { ObjectDetails } from "./types/common.types";
import {
  CreateSessionInput,
  CreateSessionPayload,
  DeleteSessionInput,
  DeleteSessionPayload,
  Session,
  SessionList,
  SetSessionInput,
  SetSessionPayload,
} from "./types/session.types";

@Resolver()
export class SessionResolver {
  constructor(private readonly service: SessionService) {}

  @Mutation(() => CreateSessionPayload, {
    description:
      "Starts a sign-in; no token needed. Ask for challenges.webAuthN and pass its options to the browser.",
  })
  async createSession(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => CreateSessionInput) input: CreateSessionInput,
  ): Promise<CreateSessionPayload> {
    const created = await this.service.create(ctx, input);
    return { ...created, details: ObjectDetails.from(created.details, "v2") };
  }

  @Mutation(() => SetSessionPayload, {
    description:
      "Checks a passkey assertion, opens a challenge or shortens the lifetime; needs the current session token and returns the next.",
  })
  async setSession(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => SetSessionInput) input: SetSessionInput,
  ): Promise<SetSessionPayload> {
    const set = await this.service.set(ctx, input);
    return { ...set, details: ObjectDetails.from(set.details, "v2") };
  }

  @Mutation(() => DeleteSessionPayload, {
    description:
      "Ends a session: its token, its own user, or session.delete. A second delete is no error.",
  })
  async deleteSession(
    @Ctx() ctx: RequestContext,
    @Arg("input", () => DeleteSessionInput) input: DeleteSessionInput,
  ): Promise<DeleteSessionPayload> {
    return DeleteSessionPayload.of(
      await this.service.delete(ctx, input.sessionId, input.sessionToken),
      "v2",
    );
  }

  @Query(() => Session, {
    description:
      "A session: with its token, as its own user, or with session.read. maxAge (seconds): its passkey check must be at most that old.",
  })
  async session(
    @Ctx() ctx: RequestContext,
    @Arg("sessionId", () => ID) sessionId: string,
    @Arg("sessionToken", () => String, { nullable: true }) sessionToken?: string | null,
    @Arg("maxAge", () => Int, { nullable: true }) maxAge?: number | null,
  ): Promise<Session> {
    return toSession(await this.service.get(ctx, sessionId, sessionToken, maxAge));
  }

  @Query(() => SessionList, {
    description:
      "A user's active, verified sessions, newest first: one's own (userId omitted), or with session.read.",
  })
  async sessions(
    @Ctx() ctx: RequestContext,
    @Arg("userId", () => ID, { nullable: true }) userId?: string | null,
    @Arg("limit", () => Int, { nullable: true }) limit?: number | null,
    @Arg("offset", () => Int, { nullable: true }) offset?: number | null,
  ): Promise<SessionList> {
    const { totalResult, sessions } = await this.service.list(ctx, userId, { limit, offset });
    return { totalResult, sessions: sessions.map(toSession) };
  }
}

function toSession(view: SessionView): Session {
  return { ...view, sequence: String(view.sequence) };
}
