// ESLint rule "layers/one-way": imports inside src/ point down the floors of STYLE.md, never up
// and never between two folders both ways. Each unit (a folder, or a top-level file) has a rank;
// a file may import its own unit or a unit of lower rank. Strict ranks make folder cycles
// impossible by construction. The API layers map from service results: no entity, no db.
"use strict";
const path = require("node:path");

/** Highest first: who may import whom. Units not listed are free (tests, bench, scripts). */
const UNITS = [
  ["src/main.ts", 100],
  ["src/cli.ts", 100],
  ["src/server.ts", 99],
  ["src/rest", 90],
  ["src/resolvers", 88],
  ["src/ui", 86],
  ["src/http", 80],
  ["src/services/sessions", 74],
  ["src/services/passkeys", 73],
  ["src/services/links", 72],
  ["src/services/identity", 71],
  ["src/mail", 60],
  ["src/core", 50],
  ["src/db", 40],
  ["src/migrations", 35],
  ["src/config", 30],
  ["src/errors.ts", 21],
  ["src/error-ids.ts", 20],
  ["src/entities", 10],
];

/** The API layers read service results, not tables. */
const API_LAYERS = ["src/rest", "src/resolvers", "src/ui"];
const NOT_FOR_API_LAYERS = ["src/entities", "src/db"];

function unitOf(relFile) {
  const file = relFile.split(path.sep).join("/");
  for (const [unit, rank] of UNITS) {
    if (file === unit || file.startsWith(`${unit}/`)) return { unit, rank };
  }
  return undefined;
}

function relativeToRoot(root, absolute) {
  return path.relative(root, absolute).split(path.sep).join("/");
}

const oneWay = {
  meta: {
    type: "problem",
    docs: { description: "Imports point down the floors of STYLE.md's layout" },
    schema: [],
    messages: {
      upward:
        "{{from}} must not import {{to}}: {{to}} stands above it (floors: STYLE.md, eslint/layers.cjs).",
      apiLayer:
        "{{from}} must not import {{to}}: the API layers map from service results, not entities or the database.",
      unplaced:
        "{{file}} is in no floor of eslint/layers.cjs: place it (services/ holds feature folders and at most an index).",
    },
  },
  create(context) {
    const root = context.settings?.layersRoot ?? context.cwd;
    const fileRel = relativeToRoot(root, context.filename);
    if (!fileRel.startsWith("src/")) return {};
    const from = unitOf(fileRel);
    const check = (node, spec) => {
      if (typeof spec !== "string" || !spec.startsWith(".")) return;
      const targetRel = relativeToRoot(root, path.resolve(path.dirname(context.filename), spec));
      const to = unitOf(targetRel);
      if (!from || !to || from.unit === to.unit) return;
      if (API_LAYERS.includes(from.unit) && NOT_FOR_API_LAYERS.some((u) => to.unit === u)) {
        context.report({ node, messageId: "apiLayer", data: { from: from.unit, to: to.unit } });
        return;
      }
      if (to.rank >= from.rank) {
        context.report({ node, messageId: "upward", data: { from: from.unit, to: to.unit } });
      }
    };
    return {
      Program(node) {
        const topLevelService =
          /^src\/services\/[^/]+$/.test(fileRel) && !/\/index\.ts$/.test(fileRel);
        if (!from || topLevelService) {
          context.report({ node, messageId: "unplaced", data: { file: fileRel } });
        }
      },
      ImportDeclaration(node) {
        check(node, node.source.value);
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value);
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value);
      },
      ImportExpression(node) {
        if (node.source.type === "Literal") check(node, node.source.value);
      },
    };
  },
};

module.exports = { rules: { "one-way": oneWay }, UNITS };
