// Bounds on GraphQL documents (SPEC 14): the query text's length, depth (introspection included)
// and aliases. Depth and aliases are validation errors, so they carry grpcCode 3. (Suggestions
// are removed in formatError.)
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import type { FastifyRequest } from "fastify";
import type { GraphQLError, ValidationContext } from "graphql";
import { GraphQLError as ValidationError } from "graphql";
import type { Config } from "../config";
import { ApiError } from "../errors";

/** graphql-armor words its rejections as syntax errors; they are validation errors. */
function report(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(new ValidationError(error.message.replace(/^Syntax Error: /, "")));
}

export function documentLimitRules(config: Config) {
  return [
    maxDepthRule({
      n: config.http.maxDepth,
      ignoreIntrospection: false,
      propagateOnRejection: false,
      onReject: [report],
    }),
    maxAliasesRule({ n: config.http.maxAliases, propagateOnRejection: false, onReject: [report] }),
  ];
}

/**
 * A preHandler for /graphql that refuses query text longer than `maxLength` before Apollo parses
 * it: comments and white space count, though they are no tokens, since the parsed document keeps
 * them (its source) and the body limit alone would let a 60 KB document through.
 */
export function queryLengthLimit(maxLength: number) {
  return (request: FastifyRequest): Promise<void> => {
    const texts = [request.body, request.query].map((part) =>
      part && typeof part === "object" ? (part as { query?: unknown }).query : undefined,
    );
    if (texts.some((text) => typeof text === "string" && text.length > maxLength)) {
      throw ApiError.invalidArgument(
        "GQL-query-too-long",
        `the query is longer than ${maxLength} characters`,
      );
    }
    return Promise.resolve();
  };
}
