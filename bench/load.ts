// One autocannon run against a local port: GraphQL POSTs built per request, GraphQL errors counted.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import autocannon from "autocannon";

export type RequestFactory = () => { token: string; body: string };

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  /** CPU time (user + system) the target process spent per request, in ms. */
  cpuMsPerRequest: number;
  /** The kernel's (system) part of it: sockets, epoll, timers. */
  sysMsPerRequest: number;
}

/** utime + stime of a process, in ms (clock ticks are 10 ms on Linux). */
export function cpuMs(pid: number): number {
  const { user, sys } = cpuSplitMs(pid);
  return user + sys;
}

/** The local MariaDB (or MySQL) server's process, whose CPU time the bench reads. */
export function databasePid(): number {
  for (const name of ["mariadbd", "mysqld"]) {
    try {
      return Number(execFileSync("pidof", [name]).toString().trim().split(" ")[0]);
    } catch {
      // not this name
    }
  }
  throw new Error("no MariaDB or MySQL process on this machine: its CPU time cannot be read");
}

/** utime and stime of a process, in ms. */
export function cpuSplitMs(pid: number): { user: number; sys: number } {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { user: Number(fields[11]) * 10, sys: Number(fields[12]) * 10 };
}

export async function load(
  pid: number,
  port: number,
  next: RequestFactory,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  let graphqlErrors = 0;
  const cpuBefore = cpuSplitMs(pid);
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
  const cpuAfter = cpuSplitMs(pid);
  const user = cpuAfter.user - cpuBefore.user;
  const sys = cpuAfter.sys - cpuBefore.sys;
  const total = result.requests.total;
  return {
    cpuMsPerRequest: total > 0 ? (user + sys) / total : 0,
    sysMsPerRequest: total > 0 ? sys / total : 0,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx + graphqlErrors,
    requests: result.requests.total,
  };
}
