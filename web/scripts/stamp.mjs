// After `vite build`: write server/web_static/build.json with the hash of the sources the
// build came from (tests/test_web_ui.py recomputes it, so committed assets cannot go stale
// silently) and each asset's size raw and gzipped (bench/web_lineage.py prints them).
// The hash: sha256 over "<path>\0<sha256 of content>\n" for every source file, sorted by path;
// server/web_ui.py:source_hash computes the same in Python.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(web, "../server/web_static");
export const ROOT_FILES = ["package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "index.html", "graphiql.html"];
export const SOURCE_DIRS = ["src", "scripts"];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const files = [...ROOT_FILES.map((f) => join(web, f)), ...SOURCE_DIRS.flatMap((d) => walk(join(web, d)))]
  .map((p) => relative(web, p).split("\\").join("/"))
  .sort();
const h = createHash("sha256");
for (const f of files) {
  h.update(`${f}\0${createHash("sha256").update(readFileSync(join(web, f))).digest("hex")}\n`);
}
const assets = {};
for (const p of walk(out).sort()) {
  const rel = relative(out, p).split("\\").join("/");
  if (rel === "build.json") continue;
  const body = readFileSync(p);
  assets[rel] = { bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
}
writeFileSync(join(out, "build.json"), JSON.stringify({ sourceHash: h.digest("hex"), sources: files.length, assets }, null, 2) + "\n");
console.log(`stamped ${files.length} sources; ${Object.keys(assets).length} assets`);
