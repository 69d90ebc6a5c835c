// Operations over HTTP (SPEC 16): /metrics, METRICS_PORT, CORS, EXTERNAL_URL following PORT, and
// what request log lines carry.
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { productionEnv, startTestApp } from "./helpers/harness";
import { withDatabaseOutage } from "./helpers/outage";
import { freePort } from "./helpers/ports";
import { eventually, sleep } from "./helpers/wait";

const RETURN_CODE = `mutation Mint($input: CreatePasskeyRegistrationLinkInput!) {
  createPasskeyRegistrationLink(input: $input) { code { id } } }`;

/** The value of one sample line of the exposition, e.g. `name{label="x"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/plain");
  return response.text();
}

describe("GET /metrics", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("exposes the process metrics and every metric SPEC 16 names", async () => {
    const text = await scrape(t.url);
    for (const name of [
      "process_cpu_user_seconds_total",
      "nodejs_eventloop_lag_seconds",
      "http_request_duration_seconds",
      "passkey_codes_issued_total",
      "passkeys_registered_total",
      "outbox_pending_messages",
      "outbox_oldest_pending_age_seconds",
      "mail_deliveries_total",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(sample(text, "passkeys_registered_total")).toBe(0);
  });

  it("counts issued codes by medium and times requests by route pattern", async () => {
    const userId = await addHuman(t, await addOrg(t));
    await t.ok(RETURN_CODE, { input: { userId, returnCode: true } });
    await t.ok(RETURN_CODE, { input: { userId, returnCode: true } });
    await fetch(`${t.url}/no/such/route?x=1`);
    const text = await scrape(t.url);
    expect(sample(text, 'passkey_codes_issued_total{medium="RETURNED"}')).toBe(2);
    expect(
      sample(
        text,
        'http_request_duration_seconds_count{method="POST",route="/graphql",status_code="200"}',
      ),
    ).toBeGreaterThanOrEqual(4);
    expect(
      sample(
        text,
        'http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}',
      ),
    ).toBe(1);
    expect(text).not.toContain("/no/such/route");
  });

  it("reports the outbox backlog and counts deliveries by outcome", async () => {
    const userId = await addHuman(t, await addOrg(t));
    await t.app.outboxWorker.stop();
    await t.ok(RETURN_CODE, { input: { userId } });
    const queued = await scrape(t.url);
    expect(sample(queued, 'passkey_codes_issued_total{medium="EMAIL"}')).toBe(1);
    expect(sample(queued, "outbox_pending_messages")).toBe(1);
    expect(sample(queued, "outbox_oldest_pending_age_seconds")).toBeGreaterThanOrEqual(0);
    t.clock.advance(90_000);
    const later = await scrape(t.url);
    expect(sample(later, "outbox_oldest_pending_age_seconds")).toBeGreaterThanOrEqual(90);
    // No SMTP_URL: the file transport delivers at once.
    await t.app.outboxWorker.drain();
    const sent = await scrape(t.url);
    expect(sample(sent, 'mail_deliveries_total{outcome="sent"}')).toBe(1);
    expect(sample(sent, "outbox_pending_messages")).toBe(0);
    expect(sample(sent, "outbox_oldest_pending_age_seconds")).toBe(0);
  });

  it("exports every known label value at 0 from the first scrape, each app its own", async () => {
    const other = await startTestApp(productionEnv());
    try {
      const text = await scrape(other.url);
      for (const medium of ["RETURNED", "LINK", "EMAIL"]) {
        expect(sample(text, `passkey_codes_issued_total{medium="${medium}"}`)).toBe(0);
      }
      for (const outcome of ["sent", "retried", "failed"]) {
        expect(sample(text, `mail_deliveries_total{outcome="${outcome}"}`)).toBe(0);
      }
    } finally {
      await other.close();
    }
  });
});

it("serves /metrics only on METRICS_PORT when it is set", async () => {
  const metricsPort = await freePort();
  const t = await startTestApp({ METRICS_PORT: String(metricsPort) });
  try {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
    const text = await scrape(`http://127.0.0.1:${metricsPort}`);
    expect(text).toContain("# TYPE outbox_pending_messages gauge");
  } finally {
    await t.close();
  }
  await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
});

describe("CORS_ORIGINS", () => {
  const APP = "https://app.example.com";
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: `${APP}, http://localhost:5173` });
  });
  afterAll(() => t.close());

  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-zitadel-orgid",
      },
    });
  const corsHeaders = (response: Response) =>
    [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));

  it("answers a preflight on /graphql from a listed origin", async () => {
    const response = await preflight(`${t.url}/graphql`, APP);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(APP);
    const allowed = response.headers.get("access-control-allow-headers")!.split(/,\s*/);
    expect(allowed).toEqual(
      expect.arrayContaining(["authorization", "content-type", "x-zitadel-orgid"]),
    );
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
  });

  it("answers preflights on any route, not just /graphql", async () => {
    const response = await preflight(
      `${t.url}/v2/users/some-user/passkeys`,
      "http://localhost:5173",
    );
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
  });

  it("marks the actual request from a listed origin as readable", async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: {
        origin: APP,
        "content-type": "application/json",
        authorization: `Bearer ${t.adminToken}`,
      },
      body: JSON.stringify({ query: "{ me { id } }" }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("access-control-allow-origin")).toBe(APP);
  });

  it("sends no CORS headers to other origins", async () => {
    for (const response of [
      await preflight(`${t.url}/graphql`, "https://evil.example.net"),
      await fetch(`${t.url}/healthz`, { headers: { origin: "https://app.example.com.evil.net" } }),
    ]) {
      expect(corsHeaders(response)).toEqual([]);
    }
  });

  it("sends no CORS headers at all when CORS_ORIGINS is unset", async () => {
    const plain = await startTestApp();
    try {
      expect(corsHeaders(await preflight(`${plain.url}/graphql`, APP))).toEqual([]);
    } finally {
      await plain.close();
    }
  });
});

it("builds links on http://localhost:$PORT when EXTERNAL_URL is unset", async () => {
  const port = await freePort();
  const t = await startTestApp({ PORT: String(port) });
  try {
    const userId = await addHuman(t, await addOrg(t));
    const data = await t.ok(
      `mutation($input: AddPasskeyLinkInput) { addPasskeyLink(input: $input) { link } }`,
      { input: { userId } },
    );
    expect(data.addPasskeyLink.link).toMatch(
      new RegExp(`^http://localhost:${port}/ui/login/login/passwordless/init\\?userID=`),
    );
  } finally {
    await t.close();
  }
});

describe("request log lines", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const completed = () =>
    t.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === "request completed");

  it("carry the operation name, the caller and the error code; probes are not logged", async () => {
    const me = await t.ok(`query WhoAmI { me { id } }`);
    await t.gql(
      `mutation Lock($input: UserIdInput!) { lockUser(input: $input) { details { sequence } } }`,
      {
        input: { userId: "no-such-user" },
      },
    );
    const before = t.logs.length;
    for (const path of ["/healthz", "/readyz", "/metrics"]) await fetch(`${t.url}${path}`);
    expect(t.logs.slice(before)).toEqual([]);
    const lines = completed();
    expect(lines).toContainEqual(
      expect.objectContaining({ operationName: "WhoAmI", callerId: me.me.id }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ operationName: "Lock", errorCode: "NOT_FOUND" }),
    );
  });
});

it("logs a failure that repeats on every outbox poll once, not once per poll", async () => {
  await withDatabaseOutage(
    async (t, cut) => {
      await cut();
      const failures = () =>
        t.logs.filter((line) => line.includes('"msg":"outbox worker failed"')).length;
      // 50 ms polls: about 30 failed polls in 1.5 s.
      await eventually("a first logged failure", () => (failures() > 0 ? true : undefined));
      await sleep(1500);
      expect(failures()).toBe(1);
      expect(t.logs.join("")).toContain('"failuresInARow":1');
    },
    { OUTBOX_POLL_MS: "50" },
  );
});

describe("a browser at the server's address", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(productionEnv());
  });
  afterAll(() => t.close());

  it("gets a page at / that links the sign-in page and the APIs", async () => {
    const response = await fetch(`${t.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await response.text();
    for (const href of ['href="./ui/login/login"', 'href="graphql"', 'href="openapi.json"']) {
      expect(page).toContain(href);
    }
  });

  it("gets a favicon", async () => {
    const response = await fetch(`${t.url}/favicon.ico`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/svg+xml");
    expect(await response.text()).toMatch(/^<svg /);
  });

  it("gets OPTIONS answered without CORS headers and without Apollo's CSRF paragraph", async () => {
    for (const path of ["/graphql", "/v2/users/human", "/"]) {
      const response = await fetch(`${t.url}${path}`, {
        method: "OPTIONS",
        headers: { origin: "https://elsewhere.example", "access-control-request-method": "POST" },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get("allow")).toBe("GET, POST, PATCH, DELETE, OPTIONS");
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
      expect(await response.text()).toBe("");
    }
  });
});
