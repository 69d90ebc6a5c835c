// The hosted pages and their assets, registered on the HTTP server.
import type { FastifyInstance } from "fastify";
import { registerAccountPage } from "./account-page";
import { registerRegistrationPage } from "./registration-page";
import { registerSignInPage } from "./sign-in-page";
import { registerAssets } from "./ui-assets";

export interface PageOptions {
  /** The lifetime of the sessions the sign-in page creates (SESSION_PAGE_LIFETIME_SECONDS). */
  sessionPageLifetimeSeconds: number;
}

export function registerPages(http: FastifyInstance, options: PageOptions): void {
  registerAssets(http);
  registerRegistrationPage(http);
  registerSignInPage(http, options.sessionPageLifetimeSeconds);
  registerAccountPage(http);
}
