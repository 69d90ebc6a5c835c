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
import fastifyApollo, { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import Fastify from "fastify";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import type { Config } from "./config";
import { createDataSource, detectMysqlFlavor } from "./db/data-source";
import { Database } from "./db/database";
import { cachePromiseWrappers } from "./db/mysql2-promise-wrapper";
import { ApiError, createFormatError, toGraphQLError } from "./errors";
import { loggerOptions } from "./logger";
import { MailTemplates } from "./mail/mail-templates";
import { createMailTransport } from "./mail/mail-transport";
import { OutboxService } from "./mail/outbox.service";
import { OutboxWorker } from "./mail/outbox.worker";
import { IdentityResolver } from "./resolvers/identity.resolver";
import { PasskeyLinkResolver } from "./resolvers/passkey-link.resolver";
import { BootstrapService } from "./services/bootstrap.service";
import type { Clock, IdGenerator } from "./services/clock";
import { systemClock, uuidV7 } from "./services/clock";
import { EventStore } from "./services/event-store";
import { KeyRing } from "./services/key-ring";
import { MemberService } from "./services/member.service";
import { OrganizationService } from "./services/organization.service";
import { PasskeyCodeService } from "./services/passkey-code.service";
import { PasskeyLinkService } from "./services/passkey-link.service";
import { PermissionService } from "./services/permissions";
import type { RequestContext } from "./services/request-context";
import { TokenService } from "./services/token.service";
import { UserService } from "./services/user.service";

export interface AppOptions {
  clock?: Clock;
  ids?: IdGenerator;
  /** Where log lines go (default stdout). */
  logStream?: NodeJS.WritableStream;
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
  const events = new EventStore(db, clock);
  const permissions = new PermissionService();
  const organizations = new OrganizationService(db, events, permissions, clock, ids);
  const users = new UserService(db, events, permissions, organizations, clock, ids);
  const members = new MemberService(db, events, permissions, organizations, users, clock);
  const tokens = new TokenService(db, events, users, clock, ids);
  const bootstrap = new BootstrapService(db, events, organizations, users, tokens, clock, ids);
  const outbox = new OutboxService(db, keys, clock, ids, messageIdDomain(config));
  const passkeyCodes = new PasskeyCodeService(
    db,
    events,
    users,
    outbox,
    keys,
    clock,
    ids,
    config.code,
  );
  const passkeyLinks = new PasskeyLinkService(
    db,
    events,
    users,
    passkeyCodes,
    outbox,
    clock,
    config,
  );
  return {
    config,
    db,
    keys,
    clock,
    ids,
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
  };
}
export type Services = ReturnType<typeof createServices>;

/** The GraphQL schema; resolver instances come from `services` (no container magic). */
export function buildGraphQLSchema(services?: Services): Promise<GraphQLSchema> {
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
      ])
    : new Map<unknown, unknown>();
  return buildSchema({
    resolvers: [IdentityResolver, PasskeyLinkResolver],
    container: { get: (someClass) => resolvers.get(someClass) },
    validate: false,
  });
}

/** Opens the database and brings its schema up to date with the committed migrations. */
export async function openDatabase(config: Config): Promise<Database> {
  const flavor =
    config.database.kind === "mysql" ? await detectMysqlFlavor(config.database.url) : undefined;
  const dataSource = createDataSource(config.database, flavor);
  await dataSource.initialize();
  await cachePromiseWrappers(dataSource);
  await dataSource.runMigrations({ transaction: "each" });
  return new Database(dataSource);
}

export interface App {
  http: FastifyInstance;
  services: Services;
  outboxWorker: OutboxWorker;
  /** Listens on config.port (0: an ephemeral port) and resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops accepting, finishes in-flight requests, then closes the pool. */
  stop(): Promise<void>;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const http = Fastify({
    logger: loggerOptions(config, options.logStream),
    bodyLimit: config.http.bodyLimit,
    trustProxy: false,
    return503OnClosing: true,
  });
  const { keys, createdAt: keyFile } = KeyRing.load(config.masterKey, config.dataDir);
  if (keyFile)
    http.log.warn({ file: keyFile }, "MASTER_KEY is not set: generated a master key; back it up");
  const db = await openDatabase(config);
  const services = createServices(config, db, keys, options);
  await bootstrapOnFirstRun(services, http);
  const outboxWorker = new OutboxWorker({
    db,
    outbox: services.outbox,
    transport: createMailTransport(config, http.log),
    templates: MailTemplates.load(config.mailTemplateDir),
    events: services.events,
    clock: services.clock,
    settings: config.outbox,
    mailFrom: config.mailFrom,
    log: http.log,
  });
  services.passkeyLinks.onMailQueued(() => outboxWorker.kick());

  const apollo = new ApolloServer<RequestContext>({
    schema: await buildGraphQLSchema(services),
    formatError: createFormatError((error, message) => http.log.error({ err: error }, message)),
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    parseOptions: { maxTokens: config.http.maxTokens },
    validationRules: [
      maxDepthRule({
        n: config.http.maxDepth,
        propagateOnRejection: false,
        onReject: [(context, error) => context?.reportError(error)],
      }),
    ],
    plugins: [
      fastifyApolloDrainPlugin(http),
      // Responses are never HTTP-cached (they are mutations and per-caller reads), and the
      // default cache-control plugin would wrap every field resolver to compute cache hints.
      ApolloServerPluginCacheControlDisabled(),
      config.env === "development"
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  http.get("/healthz", () => Promise.resolve({ status: "ok" }));
  http.get("/readyz", async (_request, reply) => {
    const ready = await db.ping();
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "database unavailable" });
  });
  await http.register(fastifyApollo(apollo), {
    path: "/graphql",
    context: (request: FastifyRequest) => requestContext(services, request),
  });

  let stopping: Promise<void> | undefined;
  return {
    http,
    services,
    outboxWorker,
    async listen() {
      const address = await http.listen({ port: config.port, host: config.host });
      outboxWorker.start();
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
          await outboxWorker.stop();
        } finally {
          clearTimeout(force);
          await db.dataSource.destroy();
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

/** Authenticates the bearer token and resolves the organization context of one request. */
async function requestContext(
  services: Services,
  request: FastifyRequest,
): Promise<RequestContext> {
  const token = bearerToken(request.headers.authorization);
  if (token === null) return { caller: null, orgId: null };
  try {
    const caller = await services.tokens.authenticate(token);
    const header = request.headers["x-zitadel-orgid"];
    const orgId = typeof header === "string" && header.trim() !== "" ? header.trim() : null;
    if (orgId !== null)
      await services.db.read((db) => services.organizations.requireExists(db, orgId));
    return { caller, orgId: orgId ?? caller.organizationId };
  } catch (error) {
    if (error instanceof ApiError) {
      throw toGraphQLError(
        error,
        error.code === "UNAUTHENTICATED" ? 401 : error.code === "NOT_FOUND" ? 404 : 400,
      );
    }
    throw error;
  }
}

/** null: no Authorization header (anonymous). A header that is not "Bearer <token>" is a bad token. */
function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header.trim() === "") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw toGraphQLError(
      ApiError.unauthenticated(
        "AUTH-header-malformed",
        "authorization header must be: Bearer <token>",
      ),
      401,
    );
  }
  return match[1];
}

/** On an empty database: create the instance owner and write its token to DATA_DIR/admin.pat. */
async function bootstrapOnFirstRun(services: Services, http: FastifyInstance): Promise<void> {
  if (await services.bootstrap.isBootstrapped()) return;
  let result;
  try {
    result = await services.bootstrap.bootstrap("Default");
  } catch (error) {
    if (error instanceof ApiError && error.id === "BOOTSTRAP-exists") return;
    throw error;
  }
  const file = path.join(services.config.dataDir, "admin.pat");
  fs.mkdirSync(services.config.dataDir, { recursive: true });
  fs.writeFileSync(file, `${result.token}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  http.log.info(
    { file, organizationId: result.organizationId, userId: result.userId },
    `first run: created the instance owner; its personal access token is in ${file}`,
  );
}
