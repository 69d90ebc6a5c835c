// Environment -> one validated, typed Config. Every problem is reported at once, then start-up stops.
import { z } from "zod";
import { ApiError } from "../errors";
import { LinkTemplate } from "./link-template";
import {
  isIpAddress,
  isLoopbackHost,
  parseExactOrigin,
  smtpSendsCredentials,
  smtpSendsPasswordInClear,
} from "./url-rules";

const DEFAULT_LINK_PATH =
  "/ui/login/login/passwordless/init?userID={{.UserID}}&orgID={{.OrgID}}&codeID={{.CodeID}}&code={{.Code}}";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const httpUrl = z
  .string()
  .trim()
  .refine((value) => URL.canParse(value), "must be an absolute URL")
  .transform((value) => new URL(value))
  .refine(
    (url) =>
      url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname)),
    "must be https (http is allowed only for loopback hosts)",
  );

/** Browsers refuse an IP address as a WebAuthn RP ID, so every registration would fail. */
const NOT_AN_IP =
  "must be a host name, not an IP address (browsers refuse an IP address as a WebAuthn RP ID; use localhost or a DNS name)";

const databaseUrl = z
  .string()
  .trim()
  .refine(
    (value) =>
      value.startsWith("sqlite:") ||
      (URL.canParse(value) && ["mysql:", "mariadb:"].includes(new URL(value).protocol)),
    "must be mysql://user:pass@host:port/db or sqlite:path",
  );

const smtpUrl = z
  .string()
  .trim()
  .refine(
    (value) => URL.canParse(value) && ["smtp:", "smtps:"].includes(new URL(value).protocol),
    "must be smtp://[user:pass@]host[:port] or smtps://...",
  );

const masterKey = z
  .string()
  .trim()
  .transform((value) => Buffer.from(value, "base64"))
  .refine((key) => key.length === 32, "must be the base64 encoding of exactly 32 bytes");

/**
 * A comma-separated list of origins, each an origin alone (url-rules' parseExactOrigin): every bad
 * entry is its own problem, duplicates count once. `hostName` also refuses IP addresses.
 */
const originList = (options: { hostName?: boolean } = {}) =>
  z.string().transform((value, ctx) => {
    const accepted = new Set<string>();
    for (const entry of value.split(",").map((part) => part.trim())) {
      if (entry.length === 0) continue;
      const parsed = parseExactOrigin(entry, options);
      if ("problem" in parsed) ctx.addIssue({ code: "custom", message: parsed.problem });
      else accepted.add(parsed.origin);
    }
    return [...accepted];
  });

const origins = originList();

/** WEBAUTHN_RELATED_ORIGINS: origins on any host that may use the RP ID (related origin requests). */
const relatedOrigins = originList({ hostName: true });

const emptyAsUndefined = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;

/**
 * An address alone or after a display name (quoted or plain): without one, mail would go out with
 * no From header and an empty envelope sender, which SMTP servers refuse or treat as a bounce.
 */
const ADDRESS = String.raw`[^\s<>@",;]+@[^\s<>@",;]+`;
const MAIL_FROM = new RegExp(
  String.raw`^(?:${ADDRESS}|(?:"[^"\r\n]*"|[^<>"\r\n@]*)\s*<${ADDRESS}>)$`,
);

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: int(0, 65535).default(4000),
  HOST: z.string().trim().min(1).default("0.0.0.0"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATA_DIR: z.string().trim().min(1).default("data"),
  DATABASE_URL: databaseUrl.optional(),
  DATABASE_POOL_SIZE: int(1, 500).default(10),
  DATABASE_RETRIES: int(0, 50).default(8),
  DATABASE_STATEMENT_TIMEOUT_MS: int(100, 3_600_000).default(10_000),
  // Unset: http://localhost:$PORT (see withDerivedDefaults).
  EXTERNAL_URL: httpUrl
    .refine((url) => !url.search && !url.hash, "must not have a query or a fragment")
    .refine((url) => !isIpAddress(url.hostname), NOT_AN_IP),
  LINK_ALLOWED_ORIGINS: origins.default([]),
  LINK_URL_TEMPLATE: z.string().trim().min(1).max(1000).optional(),
  SMTP_URL: smtpUrl.optional(),
  SMTP_REQUIRE_TLS: z
    .enum(["true", "false"], "must be true or false")
    .default("true")
    .transform((value) => value === "true"),
  SMTP_MAX_CONNECTIONS: int(1, 100).default(10),
  MAIL_FROM: z
    .string()
    .trim()
    .regex(
      MAIL_FROM,
      'must be an address, alone or after a display name: "Acme <no-reply@acme.example>"',
    )
    .default("Passkey Links <no-reply@localhost>"),
  MAIL_TEMPLATE_DIR: z.string().trim().min(1).optional(),
  MASTER_KEY: masterKey.optional(),
  PASSKEY_CODE_LENGTH: int(8, 64).default(12),
  PASSKEY_CODE_LIFETIME_SECONDS: int(60, 30 * 24 * 3600).default(3600),
  PASSKEY_CODE_MAX_FAILED_CHECKS: int(1, 100).default(3),
  PASSKEY_CODE_MAX_ACTIVE: int(1, 1_000_000).default(10),
  PASSKEY_CODE_RETENTION_DAYS: int(1, 3650).default(30),
  SEND_RATE_LIMIT: int(1, 10_000).default(5),
  SEND_RATE_WINDOW_SECONDS: int(1, 7 * 24 * 3600).default(3600),
  OUTBOX_POLL_MS: int(10, 60_000).default(500),
  OUTBOX_BATCH_SIZE: int(1, 1000).default(50),
  OUTBOX_MAX_ATTEMPTS: int(1, 100).default(12),
  OUTBOX_GIVE_UP_AFTER_SECONDS: int(60, 30 * 24 * 3600).default(24 * 3600),
  OUTBOX_RETRY_BASE_MS: int(10, 3_600_000).default(2000),
  OUTBOX_RETRY_MAX_MS: int(10, 24 * 3_600_000).default(15 * 60_000),
  OUTBOX_LEASE_MS: int(1000, 3_600_000).default(60_000),
  BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  GRAPHQL_MAX_DEPTH: int(2, 100).default(12),
  GRAPHQL_MAX_TOKENS: int(50, 100_000).default(2000),
  GRAPHQL_MAX_ALIASES: int(1, 1000).default(15),
  GRAPHQL_MAX_QUERY_LENGTH: int(256, 10 * 1024 * 1024).default(16 * 1024),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  WEBAUTHN_RP_ID: z
    .string()
    .trim()
    .toLowerCase()
    .regex(
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
      "must be a host name",
    )
    .refine((host) => !isIpAddress(host), NOT_AN_IP)
    .optional(),
  WEBAUTHN_RP_NAME: z.string().trim().min(1).max(100).default("Passkey Links"),
  WEBAUTHN_ORIGINS: origins.optional(),
  WEBAUTHN_RELATED_ORIGINS: relatedOrigins.default([]),
  WEBAUTHN_TIMEOUT_SECONDS: int(30, 3600).default(300),
  PASSKEY_MAX_PER_USER: int(1, 1000).default(20),
  METRICS_PORT: int(1, 65535).optional(),
  CORS_ORIGINS: origins.default([]),
  SESSION_LIFETIME_SECONDS: int(60, 365 * 86_400).default(86_400),
  SESSION_MAX_LIFETIME_SECONDS: int(60, 365 * 86_400).default(2_592_000),
  SESSION_REAUTH_SECONDS: int(1, 3600).default(300),
  SESSION_RETENTION_DAYS: int(1, 3650).default(7),
  SESSION_PAGE_LIFETIME_SECONDS: int(60, 365 * 86_400).default(3600),
  SIGNIN_RATE_LIMIT: int(1, 1_000_000).default(30),
  SIGNIN_FAILURE_LIMIT: int(1, 1_000_000).default(10),
  TRUST_PROXY: int(0, 10).default(0),
  WEBAUTHN_SIGNAL_UNKNOWN: z
    .enum(["true", "false", "1", "0", "on", "off"])
    .default("true")
    .transform((value) => ["true", "1", "on"].includes(value)),
});

const linkSchema = envSchema.pick({
  EXTERNAL_URL: true,
  LINK_ALLOWED_ORIGINS: true,
  LINK_URL_TEMPLATE: true,
});

function linkSettings(e: z.output<typeof linkSchema>) {
  const base = e.EXTERNAL_URL.href.replace(/\/+$/, "");
  const linkAllowedOrigins = [e.EXTERNAL_URL.origin, ...e.LINK_ALLOWED_ORIGINS];
  const linkUrlTemplate = e.LINK_URL_TEMPLATE ?? `${base}${DEFAULT_LINK_PATH}`;
  try {
    LinkTemplate.parse(linkUrlTemplate, linkAllowedOrigins, 1000);
    return { linkAllowedOrigins, linkUrlTemplate, problem: undefined };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return {
      linkAllowedOrigins,
      linkUrlTemplate,
      problem: `LINK_URL_TEMPLATE: ${error.message.replace(/^urlTemplate: /, "")}`,
    };
  }
}

const webauthnSchema = envSchema.pick({
  EXTERNAL_URL: true,
  WEBAUTHN_RP_ID: true,
  WEBAUTHN_RP_NAME: true,
  WEBAUTHN_ORIGINS: true,
  WEBAUTHN_RELATED_ORIGINS: true,
  WEBAUTHN_TIMEOUT_SECONDS: true,
  PASSKEY_MAX_PER_USER: true,
});

/**
 * The relying party: its ID defaults to EXTERNAL_URL's host, its origins to EXTERNAL_URL's origin.
 * Every origin must be the RP ID or a subdomain of it, or browsers refuse the ceremony anyway.
 */
function webauthnSettings(e: z.output<typeof webauthnSchema>) {
  const rpId = e.WEBAUTHN_RP_ID ?? e.EXTERNAL_URL.hostname;
  const origins = e.WEBAUTHN_ORIGINS ?? [e.EXTERNAL_URL.origin];
  const problems = origins
    .filter((origin) => {
      const host = new URL(origin).hostname;
      return host !== rpId && !host.endsWith(`.${rpId}`);
    })
    .map(
      (origin) => `WEBAUTHN_ORIGINS: ${origin} is not on the RP ID ${rpId} or a subdomain of it`,
    );
  if (origins.length === 0) problems.push("WEBAUTHN_ORIGINS: must list at least one origin");
  return {
    webauthn: {
      rpId,
      rpName: e.WEBAUTHN_RP_NAME,
      origins,
      relatedOrigins: e.WEBAUTHN_RELATED_ORIGINS,
      timeoutSeconds: e.WEBAUTHN_TIMEOUT_SECONDS,
      maxPerUser: e.PASSKEY_MAX_PER_USER,
    },
    problems,
  };
}

/** EXTERNAL_URL follows PORT, so links point at this server; a bad PORT is reported only once. */
function withDerivedDefaults(raw: Record<string, unknown>): void {
  const port = envSchema.shape.PORT.safeParse(raw.PORT);
  raw.EXTERNAL_URL ??= `http://localhost:${port.success ? port.data : 4000}`;
}

export type DatabaseConfig = (
  | { kind: "sqlite"; path: string }
  | {
      kind: "mysql";
      url: string;
      poolSize: number;
      /** How often a transaction rolled back by a deadlock (error 1213) is run again. */
      retries: number;
    }
) & {
  /**
   * How long one statement may run or wait: MySQL/MariaDB's session limit plus a client-side
   * guard against a database that stops answering; SQLite's busy timeout. Unset: 10 s.
   */
  statementTimeoutMs?: number;
};

export interface Config {
  env: "development" | "production" | "test";
  port: number;
  host: string;
  logLevel: string;
  dataDir: string;
  database: DatabaseConfig;
  externalUrl: URL;
  linkAllowedOrigins: string[];
  linkUrlTemplate: string;
  smtpUrl: string | undefined;
  /**
   * nodemailer's requireTLS: for smtp:// with credentials to a host that is not loopback (unless
   * SMTP_REQUIRE_TLS=false), no mail and no password goes out without STARTTLS.
   */
  smtpRequireTls: boolean;
  /** Pooled SMTP connections per process, and so the outbox worker's parallel sends. */
  smtpMaxConnections: number;
  mailFrom: string;
  mailTemplateDir: string | undefined;
  /** Explicit key; undefined means "load or create DATA_DIR/master.key". */
  masterKey: Buffer | undefined;
  code: {
    length: number;
    lifetimeSeconds: number;
    maxFailedChecks: number;
    /** ACTIVE codes one user may hold at once, all media together. */
    maxActive: number;
    /** Days an ended code is kept before it is purged (its events stay). */
    retentionDays: number;
  };
  sendRateLimit: { max: number; windowSeconds: number };
  outbox: {
    pollMs: number;
    batchSize: number;
    maxAttempts: number;
    giveUpAfterSeconds: number;
    retryBaseMs: number;
    retryMaxMs: number;
    /** How long a claimed row stays invisible to other workers before it counts as abandoned. */
    leaseMs: number;
  };
  http: {
    bodyLimit: number;
    maxDepth: number;
    maxTokens: number;
    maxAliases: number;
    /** Characters of query text, comments included; apart from (and below) the body limit. */
    maxQueryLength: number;
    shutdownTimeoutMs: number;
  };
  /** The WebAuthn relying party; never taken from a request. */
  webauthn: {
    rpId: string;
    rpName: string;
    origins: string[];
    /**
     * Origins on other hosts that may use the RP ID (WEBAUTHN_RELATED_ORIGINS): served at
     * /.well-known/webauthn and accepted in ceremonies like `origins`.
     */
    relatedOrigins: string[];
    timeoutSeconds: number;
    /** Stored passkeys one user may hold (PASSKEY_MAX_PER_USER). */
    maxPerUser: number;
  };
  /** Set: /metrics is served only on this port, not on `port`. */
  metricsPort: number | undefined;
  /** Browser origins allowed to call the API cross-origin (none by default). */
  corsOrigins: string[];
  /** Signing in with a passkey (SPEC 18); all times by the servers' clock. */
  sessions: {
    lifetimeSeconds: number;
    maxLifetimeSeconds: number;
    /** Credential changes through a session need a webAuthN check younger than this. */
    reauthSeconds: number;
    retentionDays: number;
    /** The lifetime the hosted pages ask for (SPEC 19). */
    pageLifetimeSeconds: number;
    /** Session creations and challenges per client address per minute. */
    rateLimit: number;
    /** Failed checks per client address per minute. */
    failureLimit: number;
    /** Trusted proxy hops in front of the server (X-Forwarded-For). */
    trustProxy: number;
    /** Unknown credential IDs carry a signal for signalUnknownCredential. */
    signalUnknown: boolean;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * In production a fallback would be wrong without anyone noticing: links pointing at localhost,
 * and each process generating its own key, so codes minted by one fail on another.
 */
function productionProblems(env: NodeJS.ProcessEnv): string[] {
  if (env.NODE_ENV?.trim() !== "production") return [];
  const required = {
    EXTERNAL_URL: "the public https URL of this server (links and the WebAuthn origin)",
    MASTER_KEY: "base64 of 32 random bytes, the same for every process of one database",
  };
  return Object.entries(required)
    .filter(([name]) => emptyAsUndefined(env[name]) === undefined)
    .map(([name, what]) => `${name}: required when NODE_ENV=production (${what})`);
}

/** A password must not cross the network in clear (SMTP_REQUIRE_TLS, on by default). */
function smtpProblems(e: { SMTP_URL?: string | undefined; SMTP_REQUIRE_TLS: boolean }): string[] {
  if (!e.SMTP_URL || !e.SMTP_REQUIRE_TLS || !smtpSendsPasswordInClear(e.SMTP_URL)) {
    return [];
  }
  return [
    "SMTP_URL: turns TLS off (ignoreTLS or requireTLS=false) while sending a password to a host that is not loopback; use smtps:// or STARTTLS, or set SMTP_REQUIRE_TLS=false",
  ];
}

/** Reads and validates the environment; throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = Object.fromEntries(
    Object.keys(envSchema.shape).map((key) => [key, emptyAsUndefined(env[key])]),
  );
  withDerivedDefaults(raw);
  const parsed = envSchema.safeParse(raw);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  // The link template depends on two other variables; it is checked whenever those are valid,
  // so its problem is reported together with any others.
  const links = linkSchema.safeParse(raw);
  const link = links.success ? linkSettings(links.data) : undefined;
  if (link?.problem) problems.push(link.problem);
  const relyingParty = webauthnSchema.safeParse(raw);
  const rp = relyingParty.success ? webauthnSettings(relyingParty.data) : undefined;
  if (rp) problems.push(...rp.problems);
  const smtp = envSchema.pick({ SMTP_URL: true, SMTP_REQUIRE_TLS: true }).safeParse(raw);
  problems.push(...productionProblems(env), ...(smtp.success ? smtpProblems(smtp.data) : []));
  if (parsed.success && parsed.data.PORT !== 0 && parsed.data.METRICS_PORT === parsed.data.PORT) {
    problems.push("METRICS_PORT: must differ from PORT (the metrics are served on their own port)");
  }
  if (
    parsed.success &&
    parsed.data.SESSION_LIFETIME_SECONDS > parsed.data.SESSION_MAX_LIFETIME_SECONDS
  ) {
    problems.push("SESSION_LIFETIME_SECONDS: must not exceed SESSION_MAX_LIFETIME_SECONDS");
  }
  if (
    parsed.success &&
    parsed.data.SESSION_PAGE_LIFETIME_SECONDS > parsed.data.SESSION_MAX_LIFETIME_SECONDS
  ) {
    problems.push("SESSION_PAGE_LIFETIME_SECONDS: must not exceed SESSION_MAX_LIFETIME_SECONDS");
  }
  if (!parsed.success || !link || !rp || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const externalUrl = e.EXTERNAL_URL;
  const databaseUrl = e.DATABASE_URL ?? `sqlite:${e.DATA_DIR}/passkey-links.sqlite`;
  const { linkAllowedOrigins, linkUrlTemplate } = link;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    database: databaseUrl.startsWith("sqlite:")
      ? {
          kind: "sqlite",
          path: databaseUrl.slice("sqlite:".length),
          statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
        }
      : {
          kind: "mysql",
          url: databaseUrl,
          poolSize: e.DATABASE_POOL_SIZE,
          retries: e.DATABASE_RETRIES,
          statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
        },
    externalUrl,
    linkAllowedOrigins,
    linkUrlTemplate,
    smtpUrl: e.SMTP_URL,
    smtpRequireTls:
      e.SMTP_REQUIRE_TLS && e.SMTP_URL !== undefined && smtpSendsCredentials(e.SMTP_URL),
    smtpMaxConnections: e.SMTP_MAX_CONNECTIONS,
    mailFrom: e.MAIL_FROM,
    mailTemplateDir: e.MAIL_TEMPLATE_DIR,
    masterKey: e.MASTER_KEY,
    code: {
      length: e.PASSKEY_CODE_LENGTH,
      lifetimeSeconds: e.PASSKEY_CODE_LIFETIME_SECONDS,
      maxFailedChecks: e.PASSKEY_CODE_MAX_FAILED_CHECKS,
      maxActive: e.PASSKEY_CODE_MAX_ACTIVE,
      retentionDays: e.PASSKEY_CODE_RETENTION_DAYS,
    },
    sendRateLimit: { max: e.SEND_RATE_LIMIT, windowSeconds: e.SEND_RATE_WINDOW_SECONDS },
    outbox: {
      pollMs: e.OUTBOX_POLL_MS,
      batchSize: e.OUTBOX_BATCH_SIZE,
      maxAttempts: e.OUTBOX_MAX_ATTEMPTS,
      giveUpAfterSeconds: e.OUTBOX_GIVE_UP_AFTER_SECONDS,
      retryBaseMs: e.OUTBOX_RETRY_BASE_MS,
      retryMaxMs: e.OUTBOX_RETRY_MAX_MS,
      leaseMs: e.OUTBOX_LEASE_MS,
    },
    http: {
      bodyLimit: e.BODY_LIMIT_BYTES,
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxQueryLength: e.GRAPHQL_MAX_QUERY_LENGTH,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    },
    webauthn: rp.webauthn,
    metricsPort: e.METRICS_PORT,
    corsOrigins: e.CORS_ORIGINS,
    sessions: {
      lifetimeSeconds: e.SESSION_LIFETIME_SECONDS,
      maxLifetimeSeconds: e.SESSION_MAX_LIFETIME_SECONDS,
      reauthSeconds: e.SESSION_REAUTH_SECONDS,
      retentionDays: e.SESSION_RETENTION_DAYS,
      pageLifetimeSeconds: e.SESSION_PAGE_LIFETIME_SECONDS,
      rateLimit: e.SIGNIN_RATE_LIMIT,
      failureLimit: e.SIGNIN_FAILURE_LIMIT,
      trustProxy: e.TRUST_PROXY,
      signalUnknown: e.WEBAUTHN_SIGNAL_UNKNOWN,
    },
  };
}
