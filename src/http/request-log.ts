// Request log lines that say what happened: the GraphQL operation, the caller and the error code
// are bound to the request's logger, so Fastify's "request completed" line carries them.
import type { ApolloServerPlugin } from "@apollo/server";
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import { GraphQLError } from "graphql";
import type { RequestContext } from "../core/request-context";

// A symbol key, not a WeakMap: Apollo hands plugins a shallow copy of the context.
const REQUEST_LOG = Symbol("requestLog");
type WithLog = RequestContext & { [REQUEST_LOG]?: FastifyBaseLogger };

/** Wraps the GraphQL context function: binds the caller, or the error code when it throws. */
export function withRequestLog(
  build: (request: FastifyRequest) => Promise<RequestContext>,
): (request: FastifyRequest) => Promise<RequestContext> {
  return async (request) => {
    try {
      const context = await build(request);
      (context as WithLog)[REQUEST_LOG] = request.log;
      if (context.caller) bind(request.log, { callerId: context.caller.userId });
      return context;
    } catch (error) {
      if (error instanceof GraphQLError) bind(request.log, { errorCode: codeOf(error) });
      throw error;
    }
  };
}

/** Binds the operation's name and type, and the first error's code, to the request's logger. */
export const requestLogPlugin: ApolloServerPlugin<RequestContext> = {
  requestDidStart({ contextValue }) {
    const log = (contextValue as WithLog)[REQUEST_LOG];
    if (!log) return Promise.resolve();
    return Promise.resolve({
      didResolveOperation({ operationName, operation }) {
        bind(log, { operationType: operation?.operation, operationName });
        return Promise.resolve();
      },
      willSendResponse({ response }) {
        const errors = response.body.kind === "single" ? response.body.singleResult.errors : null;
        const first = errors?.[0];
        if (first) bind(log, { errorCode: first.extensions?.code ?? "INTERNAL" });
        return Promise.resolve();
      },
    });
  },
};

/** pino's child loggers can take more bindings; the no-op logger (LOG_LEVEL=silent) cannot. */
function bind(log: FastifyBaseLogger, bindings: Record<string, unknown>): void {
  const { setBindings } = log as { setBindings?: (bindings: Record<string, unknown>) => void };
  setBindings?.call(log, bindings);
}

function codeOf(error: GraphQLError): unknown {
  return error.extensions.code ?? "INTERNAL";
}
