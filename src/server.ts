// Composition root: builds the services, the GraphQL schema, Apollo and the HTTP routes.
import "reflect-metadata";
import fs from "node:fs";
import path from "node:path";
import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import fastifyApollo from "@as-integrations/fastify";
import Fastify from "fastify";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { GraphQLObjectType, GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { authenticateRequest } from "./http/authentication";
import type { Config } from "./config";
import { connectDatabase, limitStatementTime, migrateDatabase } from "./db/connect";
import type { Database } from "./db/database";
import { ApiError, createFormatError, toGraphQLError } from "./errors";
import { registerCors } from "./http/cors";
import { DocumentCache } from "./http/document-cache";
import { documentLimitRules, queryLengthLimit } from "./http/document-limits";
import {
  graphqlErrorHandler,
  httpStatusOf,
  registerNotFound,
  unavailableStatus,
} from "./http/error-handler";
import { addMetricsRoute, createMetricsServer, recordRequestDurations } from "./http/metrics";
import { assertPortFree } from "./http/port-check";
import { requestLogPlugin, withRequestLog } from "./http/request-log";
import { registerWellKnownWebauthn } from "./http/well-known";
import { loggerOptions } from "./http/logger";
import { MailTemplates } from "./mail/mail-templates";
import { createMailTransport } from "./mail/mail-transport";
import { OutboxService } from "./mail/outbox.service";
import { OutboxWorker } from "./mail/outbox.worker";
import { Metrics } from "./core/metrics";
import { IdentityResolver } from "./resolvers/identity.resolver";
import { PasskeyLinkResolver } from "./resolvers/passkey-link.resolver";
import { PasskeyResolver } from "./resolvers/passkey.resolver";
import { SessionResolver } from "./resolvers/session.resolver";
import { registerRestApi } from "./rest/rest-api";
import type { BootstrapResult } from "./services/identity/bootstrap.service";
import { BootstrapService } from "./services/identity/bootstrap.service";
import { CodeRetentionJob } from "./services/links/code-retention.job";
import type { Clock, IdGenerator } from "./core/clock";
import { systemClock, uuidV7 } from "./core/clock";
import { EventStore } from "./core/event-store";
import type { KeyRing } from "./core/key-ring";
import { openKeyRing } from "./core/key-fingerprint";
import { lockSqliteFile } from "./db/sqlite-lock";
import { MemberService } from "./services/identity/member.service";
import { OrganizationService } from "./services/identity/organization.service";
import { PasskeyCodeService } from "./services/links/passkey-code.service";
import { PasskeyLinkService } from "./services/links/passkey-link.service";
import { PasskeyService } from "./services/passkeys/passkey.service";
import { PermissionService } from "./services/identity/permissions";
import { RelyingParty } from "./services/passkeys/relying-party";
import { SessionService } from "./services/sessions/session.service";
import { SigninRateLimit } from "./services/sessions/signin-rate-limit";
import type { RequestContext } from "./core/request-context";
import { TokenService } from "./services/identity/token.service";
import { UserService } from "./services/identity/user.service";
import { registerHomePage } from "./ui/home-page";
import { registerPages } from "./ui/pages";

export interface AppOptions {
  clock?: Clock;
  ids?: IdGenerator;
  /** Where log lines go (default stdout). */
  logStream?: NodeJS.WritableStream;
  metrics?: Metrics;
}

/** Every service, wired once; resolvers and the CLI take what they need from here. */
export function createServices(
  config: Config,
  db: Database,
  keys: KeyRing,
  options: AppOptions = {},
) {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidV7;
  const metrics = options.metrics ?? new Metrics();
  const events = new EventStore(db, clock);
  const permissions = new PermissionService();
  const organizations = new OrganizationService(db, events, permissions, clock, ids);
  const users = new UserService(db, events, permissions, organizations, clock, ids);
  const members = new MemberService(db, events, permissions, organizations, users, clock);
  const tokens = new TokenService(db, events, users, clock, ids);
  const bootstrap = new BootstrapService(db, events, organizations, users, tokens, clock, ids);
  const outbox = new OutboxService(db, keys, clock, ids, messageIdDomain(config));
  metrics.readBacklogFrom(() => outbox.backlog());
  const passkeyCodes = new PasskeyCodeService(
    db,
    events,
    users,
    permissions,
    outbox,
    keys,
    clock,
    ids,
    config.code,
    config.sendRateLimit.windowSeconds,
  );
  const passkeyLinks = new PasskeyLinkService(
    db,
    events,
    users,
    passkeyCodes,
    outbox,
    clock,
    config,
    metrics,
  );
  const relyingParty = new RelyingParty(config.webauthn);
  const passkeys = new PasskeyService(
    db,
    events,
    users,
    passkeyCodes,
    outbox,
    relyingParty,
    clock,
    ids,
    config,
    metrics,
  );
  const signinLimits = new SigninRateLimit(db, clock, {
    attempt: config.sessions.rateLimit,
    failure: config.sessions.failureLimit,
  });
  const sessions = new SessionService(
    db,
    events,
    users,
    organizations,
    permissions,
    passkeys,
    passkeyCodes,
    relyingParty,
    signinLimits,
    clock,
    ids,
    { ...config.sessions, webauthnTimeoutSeconds: config.webauthn.timeoutSeconds },
    metrics,
  );
  return {
    config,
    db,
    keys,
    clock,
    ids,
    metrics,
    events,
    permissions,
    organizations,
    users,
    members,
    tokens,
    bootstrap,
    outbox,
    passkeyCodes,
    passkeyLinks,
    relyingParty,
    passkeys,
    signinLimits,
    sessions,
  };
}
export type Services = ReturnType<typeof createServices>;

/** The GraphQL schema; resolver instances come from `services` (no container magic). */
export async function buildGraphQLSchema(services?: Services): Promise<GraphQLSchema> {
  const resolvers = services
    ? new Map<unknown, unknown>([
        [
          IdentityResolver,
          new IdentityResolver(
            services.organizations,
            services.users,
            services.members,
            services.tokens,
          ),
        ],
        [
          PasskeyLinkResolver,
          new PasskeyLinkResolver(services.passkeyLinks, services.passkeyCodes),
        ],
        [PasskeyResolver, new PasskeyResolver(services.passkeys)],
        [SessionResolver, new SessionResolver(services.sessions)],
      ])
    : new Map<unknown, unknown>();
  const schema = await buildSchema({
    resolvers: [IdentityResolver, PasskeyLinkResolver, PasskeyResolver, SessionResolver],
    container: { get: (someClass) => resolvers.get(someClass) },
    validate: false,
  });
  // type-graphql has no option to describe the root types; each build makes new type objects.
  describeType(schema.getQueryType(), "Reads. Each needs a token (Authorization: Bearer).");
  describeType(
    schema.getMutationType(),
    "Writes. Each needs a token, except registerPasskey and verifyPasskeyRegistration with a code, and createSession / setSession (the passkey and the session token are the authority).",
  );
  return schema;
}

function describeType(type: GraphQLObjectType | null | undefined, description: string): void {
  if (type) type.description = description;
}

/** Opens the database and brings its schema up to date with the committed migrations. */
export async function openDatabase(config: Config): Promise<Database> {
  const db = await connectDatabase(config.database);
  await migrateDatabase(db);
  return db;
}

export interface App {
  http: FastifyInstance;
  services: Services;
  outboxWorker: OutboxWorker;
  codeRetention: CodeRetentionJob;
  /** Listens on config.port (0: an ephemeral port) and resolves to the base URL. */
  listen(): Promise<string>;
  /**
   * Stops accepting, finishes in-flight requests, lets the outbox worker record the sends in
   * flight, then closes the pool.
   */
  stop(): Promise<void>;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const http = Fastify({
    logger: loggerOptions(config, options.logStream),
    bodyLimit: config.http.bodyLimit,
    trustProxy: false,
    return503OnClosing: true,
  });
  // Everything that can be checked is checked before the first write (key file, schema, owner),
  // so a failed start leaves nothing behind.
  const templates = MailTemplates.load(config.mailTemplateDir);
  const noticeTemplates = MailTemplates.loadPasskeyNotice(config.mailTemplateDir);
  const removedNoticeTemplates = MailTemplates.loadPasskeyRemovedNotice(config.mailTemplateDir);
  const cloneNoticeTemplates = MailTemplates.loadPasskeyCloneNotice(config.mailTemplateDir);
  await assertPortFree("PORT", config.port, config.host);
  if (config.metricsPort) await assertPortFree("METRICS_PORT", config.metricsPort, config.host);
  const unlock =
    config.database.kind === "sqlite" ? lockSqliteFile(config.database.path) : () => undefined;
  let db: Database;
  let services: Services;
  try {
    db = await connectDatabase(config.database);
  } catch (error) {
    unlock();
    throw error;
  }
  try {
    const { keys, createdAt: keyFile } = await openKeyRing(
      config,
      db,
      options.clock ?? systemClock,
      () => migrateDatabase(db),
    );
    if (keyFile)
      http.log.warn({ file: keyFile }, "MASTER_KEY is not set: generated a master key; back it up");
    // After the migrations (which openKeyRing ran): they may take longer than a request may.
    limitStatementTime(db, config.database);
    services = createServices(config, db, keys, options);
    await bootstrapOnFirstRun(services, http);
  } catch (error) {
    await db.dataSource.destroy();
    unlock();
    throw error;
  }
  const { metrics } = services;
  await registerCors(http, config.corsOrigins);
  recordRequestDurations(http, metrics);
  const outboxWorker = new OutboxWorker({
    db,
    outbox: services.outbox,
    transport: createMailTransport(config, http.log),
    templates,
    noticeTemplates,
    removedNoticeTemplates,
    cloneNoticeTemplates,
    metrics,
    events: services.events,
    clock: services.clock,
    settings: config.outbox,
    sendConcurrency: config.smtpMaxConnections,
    mailFrom: config.mailFrom,
    log: http.log,
  });
  services.outbox.onQueued(() => outboxWorker.kick());
  const codeRetention = new CodeRetentionJob(
    [
      (limit) => services.passkeyCodes.purgeEnded(limit),
      (limit) => services.passkeys.purgeClosedRegistrations(limit),
      (limit) => services.passkeyCodes.purgeNotices(limit),
      (limit) => services.sessions.purge(limit),
      (limit) => services.signinLimits.purge(limit),
    ],
    (error, message) => http.log.error({ err: error }, message),
  );

  const apollo = new ApolloServer<RequestContext>({
    schema: await buildGraphQLSchema(services),
    formatError: createFormatError((error, message) => http.log.error({ err: error }, message), {
      hideSuggestions: config.env === "production",
    }),
    // As the configuration says (NODE_ENV, README), not Apollo's own reading of process.env.
    introspection: config.env !== "production",
    csrfPrevention: true,
    // Shutdown has one owner, main.ts: Apollo's own handler (on unless NODE_ENV=test) re-raises
    // the signal once Apollo has stopped, killing the process (exit 143) before the outbox
    // worker records a send the SMTP server already accepted. Hence also no drain plugin:
    // stop() below closes the HTTP server itself, then Apollo.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    parseOptions: { maxTokens: config.http.maxTokens },
    // Bounded by what the documents hold, not the size of their AST (issue 18, item 9).
    documentStore: new DocumentCache(),
    // Automatic persisted queries: unsupported (README), and a cache anonymous callers could fill.
    persistedQueries: false,
    validationRules: documentLimitRules(config),
    plugins: [
      unavailableStatus(),
      requestLogPlugin,
      // Responses are never HTTP-cached (they are mutations and per-caller reads), and the
      // default cache-control plugin would wrap every field resolver to compute cache hints.
      ApolloServerPluginCacheControlDisabled(),
      config.env === "development"
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  // Probes and scrapes come every few seconds: not worth a log line each.
  const quiet = { logLevel: "silent" } as const;
  http.get("/healthz", quiet, () => Promise.resolve({ status: "ok" }));
  http.get("/readyz", quiet, async (_request, reply) => {
    const ready = await db.ping();
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "database unavailable" });
  });
  registerPages(http, { sessionPageLifetimeSeconds: config.sessions.pageLifetimeSeconds });
  registerWellKnownWebauthn(http, services.relyingParty.relatedOrigins);
  registerHomePage(http);
  await http.register(async (scope) => {
    scope.setErrorHandler(graphqlErrorHandler);
    scope.addHook("preHandler", queryLengthLimit(config.http.maxQueryLength));
    await scope.register(fastifyApollo(apollo), {
      path: "/graphql",
      context: withRequestLog((request: FastifyRequest) => requestContext(services, request)),
    });
  });
  registerNotFound(http);
  await registerRestApi(http, services);

  const metricsServer = config.metricsPort ? createMetricsServer(metrics) : undefined;
  if (!metricsServer) addMetricsRoute(http, metrics);

  let stopping: Promise<void> | undefined;
  return {
    http,
    services,
    outboxWorker,
    codeRetention,
    async listen() {
      const address = await http.listen({ port: config.port, host: config.host });
      await metricsServer?.listen({ port: config.metricsPort, host: config.host });
      outboxWorker.start();
      codeRetention.start();
      return address;
    },
    stop() {
      stopping ??= (async () => {
        // Connections that finish their last response during shutdown close at once instead of
        // idling for the keep-alive timeout.
        http.server.keepAliveTimeout = 1;
        const force = setTimeout(
          () => http.server.closeAllConnections(),
          config.http.shutdownTimeoutMs,
        );
        try {
          await http.close();
          await apollo.stop();
          await metricsServer?.close();
          await outboxWorker.stop();
          await codeRetention.stop();
        } finally {
          clearTimeout(force);
          await db.dataSource.destroy();
          unlock();
        }
      })();
      return stopping;
    },
  };
}

/** Right-hand side of Message-IDs: MAIL_FROM's domain, else EXTERNAL_URL's host. */
function messageIdDomain(config: Config): string {
  return /@([A-Za-z0-9.-]+)/.exec(config.mailFrom)?.[1] ?? config.externalUrl.hostname;
}

/** The shared authentication, with its failures as GraphQL errors that fail the whole request. */
async function requestContext(
  services: Services,
  request: FastifyRequest,
): Promise<RequestContext> {
  try {
    return await authenticateRequest(services, request.headers, request.socket.remoteAddress);
  } catch (error) {
    if (error instanceof ApiError) throw toGraphQLError(error, httpStatusOf(error));
    throw error;
  }
}

/** On an empty database: create the instance owner and write its token to DATA_DIR/admin.pat. */
async function bootstrapOnFirstRun(services: Services, http: FastifyInstance): Promise<void> {
  const created = await ensureInstanceOwner(services);
  if (!created) return;
  const { file, result } = created;
  http.log.info(
    { file, organizationId: result.organizationId, userId: result.userId },
    `first run: created the instance owner; its personal access token is in ${file}`,
  );
}

/**
 * Creates the instance owner unless there is one, writing its token to DATA_DIR/admin.pat;
 * resolves to what it created, or null. Shared by the server's first run and `cli demo`.
 */
export async function ensureInstanceOwner(
  services: Services,
): Promise<{ file: string; result: BootstrapResult } | null> {
  if (await services.bootstrap.isBootstrapped()) return null;
  const file = path.join(services.config.dataDir, "admin.pat");
  try {
    // The file is written before the owner commits: a DATA_DIR that cannot be written fails the
    // start with nothing committed, instead of leaving an owner whose token nobody has.
    const result = await services.bootstrap.bootstrap("Default", ({ token }) => {
      fs.mkdirSync(services.config.dataDir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
      fs.chmodSync(file, 0o600);
    });
    return { file, result };
  } catch (error) {
    if (error instanceof ApiError && error.id === "BOOTSTRAP-exists") return null;
    throw error;
  }
}
