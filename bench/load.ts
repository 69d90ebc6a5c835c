// One autocannon run against a local port: GraphQL POSTs built per request, GraphQL errors counted.
import autocannon from "autocannon";

export type RequestFactory = () => { token: string; body: string };

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

export async function load(
  port: number,
  next: RequestFactory,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  let graphqlErrors = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/graphql`,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        setupRequest: (request) => {
          const { token, body } = next();
          return {
            ...request,
            body,
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          };
        },
        onResponse: (_status, body) => {
          if (body.includes('"errors"')) graphqlErrors += 1;
        },
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx + graphqlErrors,
    requests: result.requests.total,
  };
}
