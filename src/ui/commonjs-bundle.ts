// Bundles a CommonJS package for the browser at start-up: qrcode 1.5 ships no browser build in
// its npm package (only the sources and a `browser` field), and this project has no bundler. The
// modules are wrapped in functions (no eval, so the pages' CSP and Trusted Types hold) and the
// entry's exports become one global.
import fs from "node:fs";
import path from "node:path";

const REQUIRE = /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;

/** `entry` and every module it requires, as one script that sets `window[globalName]`. */
export function bundleCommonJs(entry: string, globalName: string, banner: string): string {
  const ids = new Map<string, number>();
  const modules: string[] = [];
  const visit = (file: string): number => {
    const known = ids.get(file);
    if (known !== undefined) return known;
    const id = modules.length;
    ids.set(file, id);
    modules.push("");
    const source = fs.readFileSync(file, "utf8");
    const dependencies: Record<string, number> = {};
    for (const [, request] of source.matchAll(REQUIRE)) {
      dependencies[request!] = visit(resolveFrom(path.dirname(file), request!));
    }
    modules[id] =
      `[function (require, module, exports) {\n${source}\n}, ${JSON.stringify(dependencies)}]`;
    return id;
  };
  visit(entry);
  return `/* ${banner} */
(function (modules) {
  var cache = [];
  function load(id) {
    if (cache[id]) return cache[id].exports;
    var module = (cache[id] = { exports: {} });
    var definition = modules[id];
    definition[0].call(module.exports, function (request) {
      return load(definition[1][request]);
    }, module, module.exports);
    return module.exports;
  }
  window[${JSON.stringify(globalName)}] = load(0);
})([
${modules.join(",\n")}
]);
`;
}

function resolveFrom(dir: string, request: string): string {
  return request.startsWith(".")
    ? require.resolve(path.resolve(dir, request))
    : require.resolve(request, { paths: [dir] });
}
