// GET /metrics and the request-duration histogram. With METRICS_PORT the endpoint moves to a
// listener of its own (e.g. reachable only inside the cluster), and the public port has none.
import Fastify from "fastify";
import type { FastifyInstance } from "fastify";
import type { Metrics } from "../core/metrics";

export const METRICS_PATH = "/metrics";

/** Times every request on `http`; unmatched URLs share one label so scanners cannot grow the series. */
export function recordRequestDurations(http: FastifyInstance, metrics: Metrics): void {
  http.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}

export function addMetricsRoute(http: FastifyInstance, metrics: Metrics): void {
  http.get(METRICS_PATH, { logLevel: "silent" }, async (_request, reply) => {
    const body = await metrics.render();
    return reply.type(metrics.contentType).send(body);
  });
}

/** The listener for METRICS_PORT: nothing but /metrics, not logged. */
export function createMetricsServer(metrics: Metrics): FastifyInstance {
  const server = Fastify({ logger: false });
  addMetricsRoute(server, metrics);
  return server;
}
