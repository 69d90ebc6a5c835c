// Bounds on GraphQL documents (SPEC 14): depth (introspection included) and aliases. Rejections
// are validation errors, so they carry grpcCode 3. (Suggestions are removed in formatError.)
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import type { GraphQLError, ValidationContext } from "graphql";
import { GraphQLError as ValidationError } from "graphql";
import type { Config } from "../config";

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
