// The pages' files, read once at start-up and served from this server (no CDN): our scripts and
// styles, the @simplewebauthn/browser bundle, and qrcode bundled for the account page.
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { bundleCommonJs } from "./commonjs-bundle";
import { packageRoot, secure } from "./page-common";

export const ASSET_PREFIX = "/ui/assets/";

interface Asset {
  type: string;
  body: Buffer;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const OWN_FILES = [
  "register.js",
  "pages.js",
  "sign-in.js",
  "account.js",
  "register.css",
  "account.css",
];

export function registerAssets(http: FastifyInstance): void {
  const assets = loadAssets();
  http.get(`${ASSET_PREFIX}:file`, (request, reply) => {
    const asset = assets.get((request.params as { file: string }).file);
    if (!asset) return secure(reply).code(404).type("text/plain").send("not found");
    return secure(reply).header("content-type", asset.type).send(asset.body);
  });
}

function loadAssets(): Map<string, Asset> {
  const own = path.join(packageRoot(), "src", "ui", "assets");
  const assets = new Map<string, Asset>(
    OWN_FILES.map((file) => [
      file,
      { type: file.endsWith(".css") ? CSS : JS, body: fs.readFileSync(path.join(own, file)) },
    ]),
  );
  assets.set("simplewebauthn-browser.js", { type: JS, body: fs.readFileSync(webAuthnBundle()) });
  assets.set("qrcode.js", { type: JS, body: Buffer.from(qrcodeBundle(), "utf8") });
  return assets;
}

/** @simplewebauthn/browser's UMD bundle; the package does not export its path. */
function webAuthnBundle(): string {
  const entry = require.resolve("@simplewebauthn/browser");
  const root = entry.slice(0, entry.lastIndexOf(`${path.sep}script${path.sep}`));
  return path.join(root, "dist", "bundle", "index.umd.min.js");
}

/** qrcode's browser entry (its package.json `browser` field) as the global `QRCode`. */
function qrcodeBundle(): string {
  const manifest = require.resolve("qrcode/package.json");
  const { version, browser } = JSON.parse(fs.readFileSync(manifest, "utf8")) as {
    version: string;
    browser: Record<string, string | false>;
  };
  const entry = path.join(path.dirname(manifest), browser["./lib/index.js"] as string);
  return bundleCommonJs(
    entry,
    "QRCode",
    `qrcode ${version} (MIT, Ryan Day) and dijkstrajs (MIT), bundled by passkey-link-api`,
  );
}
