// GET / for a browser that opens the server's address: where to sign in and where the API and its
// documents are, instead of a JSON 404. Static, like the registration page; plus the favicon.
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { packageRoot } from "./page-common";

/** The hosted sign-in page (SPEC 19), ZITADEL's login path. */
export const SIGN_IN_PAGE_PATH = "/ui/login/login";

const HEADERS = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'none'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** Relative links, so the page also works behind a proxy that serves it under a prefix. */
const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Passkey Links</title>
<link rel="icon" href="favicon.ico" type="image/svg+xml">
</head>
<body>
<main>
<h1>Passkey Links</h1>
<p>This server registers passkeys and signs in with them.</p>
<ul>
<li><a href=".${SIGN_IN_PAGE_PATH}">Sign in</a> with a passkey</li>
<li><a href="graphql">GraphQL API</a> at <code>/graphql</code> (Apollo Sandbox in development)</li>
<li><a href="openapi.json">REST API</a>: the OpenAPI document of the ZITADEL-compatible routes</li>
</ul>
</main>
</body>
</html>
`;

export function registerHomePage(http: FastifyInstance): void {
  const icon = fs.readFileSync(path.join(packageRoot(), "src", "ui", "assets", "favicon.svg"));
  const quiet = { logLevel: "silent" } as const;
  http.get("/", (_request, reply) =>
    reply.headers(HEADERS).header("content-type", "text/html; charset=utf-8").send(PAGE),
  );
  // An SVG under the name browsers ask for: they accept it by its content type.
  for (const file of ["/favicon.ico", "/favicon.svg"]) {
    http.get(file, quiet, (_request, reply) =>
      reply
        .headers(HEADERS)
        .header("cache-control", "public, max-age=86400")
        .header("content-type", "image/svg+xml")
        .send(icon),
    );
  }
}
