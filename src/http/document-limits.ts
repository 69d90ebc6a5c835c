// Bounds on GraphQL documents (SPEC 14): depth (introspection included), aliases, and no field
// suggestions in production. Rejections are validation errors, so they carry grpcCode 3.
import type { ApolloServerPlugin } from "@apollo/server";
import { blockFieldSuggestionsPlugin } from "@escape.tech/graphql-armor-block-field-suggestions";
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

type ValidationEnd = (end: {
  valid: boolean;
  result: readonly Error[];
  setResult(errors: readonly Error[]): void;
}) => void;

/**
 * graphql-armor's suggestion blocker is an envelop plugin; this runs its validation hook in
 * Apollo's (it masks "Did you mean …" in the error messages in place).
 */
export function hideFieldSuggestions(): ApolloServerPlugin {
  const onValidate = blockFieldSuggestionsPlugin().onValidate as unknown as () => ValidationEnd;
  return {
    requestDidStart: () =>
      Promise.resolve({
        validationDidStart: () =>
          Promise.resolve((errors?: readonly Error[]) => {
            if (errors?.length) {
              onValidate()({ valid: false, result: errors, setResult: () => undefined });
            }
            return Promise.resolve();
          }),
      }),
  };
}
