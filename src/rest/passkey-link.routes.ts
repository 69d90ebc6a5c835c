// ZITADEL's passkey-link routes (auth v1, management v1, user v2) over PasskeyLinkService: each
// handler reads the request, calls one service method and shapes ZITADEL's JSON.
import type { PasskeyLinkService } from "../services/links/passkey-link.service";
import type { RestRoute } from "./rest-route";
import { restRoute, userIdParams } from "./rest-route";
import { detailsJson, v1DetailsSchema, v2DetailsSchema } from "./zitadel-json";

const emptyBody = { type: "object", description: "{} (no fields)" } as const;

const linkResponse = {
  type: "object",
  required: ["details", "link", "expiration"],
  properties: {
    details: v1DetailsSchema,
    link: { type: "string", description: "The registration link, with the code in it." },
    expiration: { type: "string", description: 'Lifetime of the code, e.g. "3600s".' },
  },
} as const;

const detailsResponse = {
  type: "object",
  required: ["details"],
  properties: { details: v1DetailsSchema },
} as const;

const registrationLinkBody = {
  type: "object",
  description: "One medium: sendLink (the default when neither is given) or returnCode.",
  properties: {
    sendLink: {
      type: "object",
      nullable: true,
      description: "Email the link.",
      properties: {
        urlTemplate: {
          type: "string",
          nullable: true,
          description:
            "1..200 characters with {{.UserID}} {{.OrgID}} {{.CodeID}} {{.Code}}; must yield an https URL on an allowed origin.",
        },
      },
    },
    returnCode: {
      type: "object",
      nullable: true,
      description: "Return the code, send nothing.",
    },
  },
} as const;

const registrationLinkResponse = {
  type: "object",
  required: ["details"],
  properties: {
    details: v2DetailsSchema,
    code: {
      type: "object",
      required: ["id", "code"],
      properties: { id: { type: "string" }, code: { type: "string" } },
    },
  },
} as const;

interface UserIdParams {
  userId?: string;
}

interface RegistrationLinkBody {
  sendLink?: { urlTemplate?: string | null } | null;
  returnCode?: Record<string, unknown> | null;
}

interface V1Api {
  url: string;
  tag: string;
  who: string;
  /** ZITADEL's operation names. */
  add: string;
  send: string;
}

const AUTH: V1Api = {
  url: "/auth/v1/users/me",
  tag: "Auth API v1",
  who: "the caller",
  add: "AddMyPasswordlessLink",
  send: "SendMyPasswordlessLink",
};

const MANAGEMENT: V1Api = {
  url: "/management/v1/users/:userId",
  tag: "Management API v1",
  who: "a user",
  add: "AddPasswordlessRegistration",
  send: "SendPasswordlessRegistration",
};

/** The v1 pair of one API; no `userId` in the URL (the `me` routes): the caller itself. */
function v1Routes(links: PasskeyLinkService, api: V1Api) {
  const shared = {
    tags: [api.tag],
    ...(api.url.includes(":userId") ? { params: userIdParams } : {}),
    body: emptyBody,
  };
  return [
    restRoute<UserIdParams, unknown>({
      ...shared,
      url: `${api.url}/passwordless/_link`,
      operationId: api.add,
      summary: `A one-time passkey registration link for ${api.who}.`,
      response: linkResponse,
      async handle({ ctx, params: { userId } }) {
        const { details, link } = await links.addLink(ctx, userId);
        return { details: detailsJson(details, "v1"), link, expiration: links.expiration };
      },
    }),
    restRoute<UserIdParams, unknown>({
      ...shared,
      url: `${api.url}/passwordless/_send_link`,
      operationId: api.send,
      summary: `Emails a one-time passkey registration link to ${api.who}.`,
      response: detailsResponse,
      async handle({ ctx, params: { userId } }) {
        return { details: detailsJson(await links.sendLink(ctx, userId), "v1") };
      },
    }),
  ];
}

export function passkeyLinkRoutes(links: PasskeyLinkService): RestRoute[] {
  return [
    ...v1Routes(links, AUTH),
    ...v1Routes(links, MANAGEMENT),
    restRoute<{ userId: string }, RegistrationLinkBody>({
      url: "/v2/users/:userId/passkeys/registration_link",
      operationId: "CreatePasskeyRegistrationLink",
      summary: "Emails a passkey registration link (default) or returns the code.",
      tags: ["User Service v2"],
      params: userIdParams,
      body: registrationLinkBody,
      response: registrationLinkResponse,
      async handle({ ctx, params: { userId }, body }) {
        const { details, code } = await links.createRegistrationLink(ctx, {
          userId,
          sendLink: body.sendLink ?? null,
          returnCode: body.returnCode ? true : null,
        });
        return { details: detailsJson(details, "v2"), ...(code ? { code } : {}) };
      },
    }),
  ];
}
