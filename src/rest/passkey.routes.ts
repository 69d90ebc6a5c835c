// ZITADEL user v2 RegisterPasskey and VerifyPasskeyRegistration over PasskeyService. With a code
// no token is needed (the code is the authority); the service decides.
import type {
  PasskeyAuthenticatorKind,
  PasskeyService,
} from "../services/passkeys/passkey.service";
import type { RestRoute } from "./rest-route";
import { restRoute, userIdParams } from "./rest-route";
import { detailsJson, v2DetailsSchema } from "./zitadel-json";

const AUTHENTICATOR_PREFIX = "PASSKEY_AUTHENTICATOR_";

/** A JSON object passed through untouched: no key renaming, nothing stripped. */
const freeForm = (description: string) =>
  ({ type: "object", additionalProperties: true, description }) as const;

const registerBody = {
  type: "object",
  properties: {
    code: {
      type: "object",
      nullable: true,
      description: "The registration code from the link; omit to register for yourself.",
      required: ["id", "code"],
      properties: { id: { type: "string" }, code: { type: "string" } },
    },
    authenticator: {
      type: "string",
      nullable: true,
      // null listed too: with an enum, "nullable" alone does not admit it.
      enum: [
        ...["UNSPECIFIED", "PLATFORM", "CROSS_PLATFORM"].map((k) => AUTHENTICATOR_PREFIX + k),
        null,
      ],
    },
    domain: {
      type: "string",
      nullable: true,
      description: "When given, must equal the relying party ID.",
    },
  },
} as const;

const registerResponse = {
  type: "object",
  required: ["details", "passkeyId", "publicKeyCredentialCreationOptions"],
  properties: {
    details: v2DetailsSchema,
    passkeyId: { type: "string" },
    publicKeyCredentialCreationOptions: freeForm(
      "{ publicKey: PublicKeyCredentialCreationOptionsJSON }, binary fields base64url",
    ),
  },
} as const;

const verifyBody = {
  type: "object",
  required: ["publicKeyCredential", "passkeyName"],
  properties: {
    publicKeyCredential: freeForm("The browser's RegistrationResponseJSON."),
    passkeyName: { type: "string", description: "1..200 characters." },
  },
} as const;

const passkeyParams = {
  type: "object",
  required: ["userId", "passkeyId"],
  properties: {
    ...userIdParams.properties,
    passkeyId: { type: "string", minLength: 1, maxLength: 200 },
  },
} as const;

interface RegisterBody {
  code?: { id: string; code: string } | null;
  authenticator?: string | null;
  domain?: string | null;
}

interface VerifyBody {
  publicKeyCredential: Record<string, unknown>;
  passkeyName: string;
}

export function passkeyRoutes(passkeys: PasskeyService): RestRoute[] {
  const tags = ["User Service v2"];
  return [
    restRoute<{ userId: string }, RegisterBody>({
      url: "/v2/users/:userId/passkeys",
      operationId: "RegisterPasskey",
      summary: "Opens a passkey registration with a code (no token needed) or for yourself.",
      tags,
      params: userIdParams,
      body: registerBody,
      response: registerResponse,
      anonymous: true,
      async handle({ ctx, params: { userId }, body }) {
        const opened = await passkeys.register(ctx, {
          userId,
          code: body.code ?? null,
          authenticator: body.authenticator
            ? (body.authenticator.slice(AUTHENTICATOR_PREFIX.length) as PasskeyAuthenticatorKind)
            : null,
          domain: body.domain ?? null,
        });
        return { ...opened, details: detailsJson(opened.details, "v2") };
      },
    }),
    restRoute<{ userId: string; passkeyId: string }, VerifyBody>({
      url: "/v2/users/:userId/passkeys/:passkeyId",
      operationId: "VerifyPasskeyRegistration",
      summary: "Verifies the browser's response and stores the passkey; spends the code.",
      tags,
      params: passkeyParams,
      body: verifyBody,
      response: { type: "object", required: ["details"], properties: { details: v2DetailsSchema } },
      anonymous: true,
      async handle({ ctx, params: { userId, passkeyId }, body }) {
        // Only the declared fields: a body's userId or passkeyId must not override the path's.
        const details = await passkeys.verify(ctx, {
          userId,
          passkeyId,
          publicKeyCredential: body.publicKeyCredential,
          passkeyName: body.passkeyName,
        });
        return { details: detailsJson(details, "v2") };
      },
    }),
  ];
}
