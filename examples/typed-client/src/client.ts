// A minimal GraphQL-over-HTTP client for typed documents: tsc checks variables and results.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

/** A GraphQL error as the server sends it (SPEC section 9). */
export interface ApiErrorBody {
  message: string;
  extensions?: { code?: string; grpcCode?: number; details?: { id: string; message: string }[] };
}

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiErrorBody[],
  ) {
    super(
      errors.map((error) => `${error.extensions?.code ?? status}: ${error.message}`).join("; "),
    );
  }
}

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  url: string;
  /** A personal access token; omitted for the operations a registration code authorises. */
  token?: string;
  /** Sent as x-zitadel-orgid: the organization context. */
  orgId?: string;
}

/** A request function bound to one server and token: `request(Document, variables)`. */
export function createClient(options: ClientOptions) {
  return async function request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult> {
    const response = await fetch(options.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.orgId ? { "x-zitadel-orgid": options.orgId } : {}),
      },
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await response.json()) as { data?: TResult | null; errors?: ApiErrorBody[] };
    if (body.errors?.length || !body.data) {
      throw new ApiRequestError(response.status, body.errors ?? []);
    }
    return body.data;
  };
}

export type Request = ReturnType<typeof createClient>;
