// ZITADEL session v2 (CreateSession, SetSession, GetSession, DeleteSession, ListSessions) over
// SessionService: the same methods as the GraphQL session operations, ZITADEL's routes and JSON.
import { ApiError } from "../errors";
import type {
  DateComparison,
  SessionFilter,
  SessionService,
  SessionView,
} from "../services/sessions/session.service";
import type { PasskeySignals } from "../services/passkeys/passkey.service";
import type { RestRoute } from "./rest-route";
import { restRoute } from "./rest-route";
import { detailsJson, v2DetailsSchema } from "./zitadel-json";

const TAGS = ["Session Service v2"];

const timestamp = { type: "string", format: "date-time" } as const;
const uint64 = (description: string) =>
  ({ type: "string", pattern: "^[0-9]+$", description }) as const;

/** A JSON object passed through untouched: no key renaming, nothing stripped. */
const freeForm = (description: string) =>
  ({ type: "object", additionalProperties: true, description }) as const;

const sessionIdParams = {
  type: "object",
  required: ["sessionId"],
  properties: { sessionId: { type: "string", minLength: 1, maxLength: 200 } },
} as const;

const sessionToken = {
  type: "string",
  maxLength: 200,
  description: "The session's current token (pls_…), as CreateSession or SetSession returned it.",
} as const;

const checksSchema = {
  type: "object",
  nullable: true,
  properties: {
    user: {
      type: "object",
      nullable: true,
      description: "Exactly one of userId and loginName (username-first sign-in).",
      properties: {
        userId: { type: "string", maxLength: 200 },
        loginName: { type: "string", maxLength: 200 },
      },
    },
    webAuthN: {
      type: "object",
      nullable: true,
      required: ["credentialAssertionData"],
      properties: {
        credentialAssertionData: freeForm(
          "The browser's AuthenticationResponseJSON (startAuthentication()), keys as written.",
        ),
      },
    },
  },
} as const;

const challengesRequestSchema = {
  type: "object",
  nullable: true,
  properties: {
    webAuthN: {
      type: "object",
      nullable: true,
      properties: {
        domain: {
          type: "string",
          description: "When given and not empty, must equal the relying party ID.",
        },
        userVerificationRequirement: {
          type: "string",
          description:
            "USER_VERIFICATION_REQUIREMENT_REQUIRED: passkeys only; any other value is 400 SESSION-uv-required.",
        },
      },
    },
  },
} as const;

/** ZITADEL fields this server does not model: accepted and ignored. */
const ignored = {
  metadata: freeForm("Accepted and ignored (ZITADEL's custom key/value list)."),
  userAgent: freeForm("Accepted and ignored (ZITADEL's user agent information)."),
} as const;

const lifetime = {
  type: "string",
  description: 'A duration in seconds, as protobuf writes it: "18000s".',
} as const;

const createBody = {
  type: "object",
  properties: { checks: checksSchema, challenges: challengesRequestSchema, lifetime, ...ignored },
} as const;

const setBody = {
  type: "object",
  properties: {
    sessionToken,
    checks: checksSchema,
    challenges: challengesRequestSchema,
    lifetime,
    ...ignored,
  },
} as const;

const challengesSchema = {
  type: "object",
  properties: {
    webAuthN: {
      type: "object",
      required: ["publicKeyCredentialRequestOptions"],
      properties: {
        publicKeyCredentialRequestOptions: freeForm(
          "{ publicKey: PublicKeyCredentialRequestOptionsJSON }, binary fields base64url",
        ),
      },
    },
  },
} as const;

const signalsSchema = {
  type: "object",
  description: "WebAuthn Signal API payloads (ours); userId is the user handle, base64url.",
  required: ["rpId", "userId", "allAcceptedCredentialIds", "name", "displayName"],
  properties: {
    rpId: { type: "string" },
    userId: { type: "string" },
    allAcceptedCredentialIds: { type: "array", items: { type: "string" } },
    name: { type: "string" },
    displayName: { type: "string" },
  },
} as const;

const sessionSchema = {
  type: "object",
  required: ["id", "creationDate", "changeDate", "sequence", "factors", "expirationDate"],
  properties: {
    id: { type: "string" },
    creationDate: timestamp,
    changeDate: timestamp,
    sequence: uint64("The session's change sequence."),
    factors: {
      type: "object",
      properties: {
        user: {
          type: "object",
          required: ["verifiedAt", "id", "loginName", "displayName", "organizationId"],
          properties: {
            verifiedAt: timestamp,
            id: { type: "string" },
            loginName: { type: "string" },
            displayName: { type: "string" },
            organizationId: { type: "string" },
          },
        },
        webAuthN: {
          type: "object",
          required: ["verifiedAt", "userVerified", "passkeyId"],
          properties: {
            verifiedAt: timestamp,
            userVerified: { type: "boolean" },
            passkeyId: { type: "string", description: "The passkey that signed (ours)." },
          },
        },
      },
    },
    expirationDate: timestamp,
  },
} as const;

const TIMESTAMP_METHOD_PREFIX = "TIMESTAMP_QUERY_METHOD_";
const dateComparisons: DateComparison[] = [
  "EQUALS",
  "GREATER",
  "GREATER_OR_EQUALS",
  "LESS",
  "LESS_OR_EQUALS",
];
const dateQuery = (field: "creationDate" | "expirationDate") =>
  ({
    type: "object",
    required: [field],
    properties: {
      [field]: timestamp,
      method: {
        type: "string",
        enum: dateComparisons.map((method) => TIMESTAMP_METHOD_PREFIX + method),
        description: "Default TIMESTAMP_QUERY_METHOD_EQUALS.",
      },
    },
  }) as const;

const searchBody = {
  type: "object",
  properties: {
    query: {
      type: "object",
      nullable: true,
      properties: {
        offset: {
          ...uint64("Sessions to skip (uint64: a decimal string; a number is accepted)."),
          maxLength: 20,
        },
        limit: { type: "integer", minimum: 0, description: "Page size; 0: 100; at most 1000." },
        asc: { type: "boolean", description: "Oldest first (default: newest first)." },
      },
    },
    queries: {
      type: "array",
      nullable: true,
      maxItems: 20,
      description:
        "All must hold. Each entry holds one of idsQuery, userIdQuery, creationDateQuery, expirationDateQuery.",
      items: {
        type: "object",
        properties: {
          idsQuery: {
            type: "object",
            properties: {
              ids: { type: "array", maxItems: 1000, items: { type: "string", maxLength: 200 } },
            },
          },
          userIdQuery: {
            type: "object",
            required: ["id"],
            properties: { id: { type: "string", minLength: 1, maxLength: 200 } },
          },
          creationDateQuery: dateQuery("creationDate"),
          expirationDateQuery: dateQuery("expirationDate"),
        },
      },
    },
    sortingColumn: {
      type: "string",
      enum: ["SESSION_FIELD_NAME_UNSPECIFIED", "SESSION_FIELD_NAME_CREATION_DATE"],
      description: "Sessions are always sorted by creation date.",
    },
  },
} as const;

interface ChecksBody {
  user?: { userId?: string; loginName?: string } | null;
  webAuthN?: { credentialAssertionData: Record<string, unknown> } | null;
}

interface ChallengesBody {
  webAuthN?: { domain?: string; userVerificationRequirement?: string } | null;
}

interface CreateBody {
  checks?: ChecksBody | null;
  challenges?: ChallengesBody | null;
  lifetime?: string;
}

interface SetBody extends CreateBody {
  sessionToken?: string;
}

interface DateQuery {
  method?: string;
  creationDate?: string;
  expirationDate?: string;
}

interface SearchBody {
  query?: { offset?: string; limit?: number; asc?: boolean } | null;
  queries?:
    | {
        idsQuery?: { ids?: string[] };
        userIdQuery?: { id: string };
        creationDateQuery?: DateQuery;
        expirationDateQuery?: DateQuery;
      }[]
    | null;
}

/** The service's request from the body: the fields it models, nothing else. */
function sessionRequest(body: CreateBody) {
  const uv = body.challenges?.webAuthN?.userVerificationRequirement;
  return {
    checks: body.checks ?? null,
    challenges: body.challenges?.webAuthN
      ? {
          webAuthN: {
            domain: body.challenges.webAuthN.domain ?? null,
            userVerificationRequirement: uv ?? "USER_VERIFICATION_REQUIREMENT_UNSPECIFIED",
          },
        }
      : null,
    lifetime: body.lifetime ?? null,
  };
}

/** protojson omits unset messages: a null factor or challenge is left out. */
function sessionJson(view: SessionView) {
  const { user, webAuthN } = view.factors;
  return {
    id: view.id,
    creationDate: view.creationDate.toISOString(),
    changeDate: view.changeDate.toISOString(),
    sequence: String(view.sequence),
    factors: {
      ...(user ? { user: { ...user, verifiedAt: user.verifiedAt.toISOString() } } : {}),
      ...(webAuthN
        ? { webAuthN: { ...webAuthN, verifiedAt: webAuthN.verifiedAt.toISOString() } }
        : {}),
    },
    expirationDate: view.expirationDate.toISOString(),
  };
}

const optional = <T>(name: string, value: T | null) => (value ? { [name]: value } : {});

/** ZITADEL's creatorQuery and userAgentQuery are not served: this server records neither. */
const SEARCH_QUERIES = ["idsQuery", "userIdQuery", "creationDateQuery", "expirationDateQuery"];

/** ListSessions' queries as the service's filter, and whose sessions they ask for. */
function searchFilter(body: SearchBody): { userId: string | null; filter: SessionFilter } {
  let ids: string[] | null = null;
  const createdAt: ReturnType<typeof dateCondition>[] = [];
  const expiresAt: ReturnType<typeof dateCondition>[] = [];
  const userIds = new Set<string>();
  for (const entry of body.queries ?? []) {
    const given = Object.entries(entry).filter(
      ([, value]) => value !== undefined && value !== null,
    );
    if (given.length !== 1 || !SEARCH_QUERIES.includes(given[0]![0])) {
      throw ApiError.invalidArgument(
        "REST-invalid-request",
        `each entry of queries needs exactly one of ${SEARCH_QUERIES.join(", ")}`,
      );
    }
    if (entry.idsQuery) {
      // Several idsQuery entries must all hold: the sessions named by every one of them.
      const named = entry.idsQuery.ids ?? [];
      ids = ids ? ids.filter((id) => named.includes(id)) : named;
    } else if (entry.userIdQuery) {
      userIds.add(entry.userIdQuery.id);
    } else if (entry.creationDateQuery) {
      createdAt.push(dateCondition(entry.creationDateQuery, "creationDate"));
    } else if (entry.expirationDateQuery) {
      expiresAt.push(dateCondition(entry.expirationDateQuery, "expirationDate"));
    }
  }
  if (userIds.size > 1) {
    throw ApiError.invalidArgument(
      "REST-invalid-request",
      "userIdQuery may name one user: sessions of two users can never match both",
    );
  }
  return {
    userId: [...userIds][0] ?? null,
    filter: { ids, createdAt, expiresAt, ascending: body.query?.asc ?? false },
  };
}

function dateCondition(query: DateQuery, field: "creationDate" | "expirationDate") {
  const date = new Date(query[field]!);
  if (Number.isNaN(date.getTime())) {
    throw ApiError.invalidArgument("REST-invalid-request", `${field} is not an RFC 3339 date`);
  }
  const method = (query.method ?? `${TIMESTAMP_METHOD_PREFIX}EQUALS`).slice(
    TIMESTAMP_METHOD_PREFIX.length,
  ) as DateComparison;
  return { date, method };
}

function signalsJson(signals: PasskeySignals | null) {
  return optional("signals", signals);
}

export function sessionRoutes(sessions: SessionService): RestRoute[] {
  return [
    restRoute<unknown, CreateBody>({
      url: "/v2/sessions",
      operationId: "CreateSession",
      summary:
        "Starts a sign-in (no token needed); ask for challenges.webAuthN and pass its options to the browser.",
      tags: TAGS,
      body: createBody,
      status: 201,
      response: {
        type: "object",
        required: ["details", "sessionId", "sessionToken"],
        properties: {
          details: v2DetailsSchema,
          sessionId: { type: "string" },
          sessionToken: { type: "string" },
          challenges: challengesSchema,
        },
      },
      anonymous: true,
      async handle({ ctx, body }) {
        const created = await sessions.create(ctx, sessionRequest(body));
        return {
          details: detailsJson(created.details, "v2"),
          sessionId: created.sessionId,
          sessionToken: created.sessionToken,
          ...optional("challenges", created.challenges),
        };
      },
    }),
    restRoute<{ sessionId: string }, SetBody>({
      method: "PATCH",
      url: "/v2/sessions/:sessionId",
      operationId: "SetSession",
      summary:
        "Checks a passkey assertion, opens a challenge or shortens the lifetime; needs the current sessionToken and returns the next.",
      tags: TAGS,
      params: sessionIdParams,
      body: setBody,
      response: {
        type: "object",
        required: ["details", "sessionToken"],
        properties: {
          details: v2DetailsSchema,
          sessionToken: { type: "string" },
          challenges: challengesSchema,
          signals: signalsSchema,
        },
      },
      anonymous: true,
      async handle({ ctx, params: { sessionId }, body }) {
        // A missing token is a wrong token (403 SESSION-token-invalid), never a counted failure.
        const set = await sessions.set(ctx, {
          ...sessionRequest(body),
          sessionId,
          sessionToken: body.sessionToken ?? "",
        });
        return {
          details: detailsJson(set.details, "v2"),
          sessionToken: set.sessionToken,
          ...optional("challenges", set.challenges),
          ...signalsJson(set.signals),
        };
      },
    }),
    restRoute<{ sessionId: string }, unknown, { sessionToken?: string }>({
      method: "GET",
      url: "/v2/sessions/:sessionId",
      operationId: "GetSession",
      summary: "A session: with its token (sessionToken=), as its own user, or with session.read.",
      tags: TAGS,
      params: sessionIdParams,
      query: { type: "object", properties: { sessionToken } },
      response: {
        type: "object",
        required: ["session"],
        properties: { session: sessionSchema },
      },
      headers: { "cache-control": "no-store" },
      anonymous: true,
      async handle({ ctx, params: { sessionId }, query }) {
        return { session: sessionJson(await sessions.get(ctx, sessionId, query.sessionToken)) };
      },
    }),
    restRoute<{ sessionId: string }, { sessionToken?: string }>({
      method: "DELETE",
      url: "/v2/sessions/:sessionId",
      operationId: "DeleteSession",
      summary:
        "Ends a session: with its token, as its own user, or with session.delete. A second delete is no error.",
      tags: TAGS,
      params: sessionIdParams,
      body: { type: "object", properties: { sessionToken } },
      response: { type: "object", required: ["details"], properties: { details: v2DetailsSchema } },
      anonymous: true,
      async handle({ ctx, params: { sessionId }, body }) {
        const details = await sessions.delete(ctx, sessionId, body.sessionToken || null);
        return { details: detailsJson(details, "v2") };
      },
    }),
    restRoute<unknown, SearchBody>({
      url: "/v2/sessions/search",
      operationId: "ListSessions",
      summary:
        "Active, verified sessions of one user (yours, or any with session.read), narrowed by the queries.",
      tags: TAGS,
      body: searchBody,
      response: {
        type: "object",
        required: ["details", "sessions"],
        properties: {
          details: {
            type: "object",
            required: ["totalResult", "processedSequence", "timestamp"],
            properties: {
              totalResult: uint64("Sessions matching the queries (uint64 as a decimal string)."),
              processedSequence: uint64("The highest sequence among the sessions listed."),
              timestamp: { ...timestamp, description: "When the listing was read." },
            },
          },
          sessions: { type: "array", items: sessionSchema },
        },
      },
      async handle({ ctx, body }) {
        const { userId, filter } = searchFilter(body);
        const limit = body.query?.limit || null;
        const offset = body.query?.offset
          ? Math.min(Number(body.query.offset), Number.MAX_SAFE_INTEGER)
          : null;
        const listed = await sessions.list(ctx, userId, { limit, offset }, filter);
        return {
          details: {
            totalResult: String(listed.totalResult),
            processedSequence: String(Math.max(0, ...listed.sessions.map((s) => s.sequence))),
            timestamp: listed.timestamp.toISOString(),
          },
          sessions: listed.sessions.map(sessionJson),
        };
      },
    }),
  ];
}
