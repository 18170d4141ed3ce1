// Prints what the first page load costs in gzipped JavaScript (the entry script and the
// chunks it imports statically) and fails the build above the budget. The lazily loaded
// chunks (GraphiQL) are listed apart. tests/playground/test_bundle.py checks it again.
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const BUDGET_BYTES = 150 * 1024;
const dist = fileURLToPath(new URL("../../neurall/web/playground_dist/", import.meta.url));
const html = readFileSync(join(dist, "index.html"), "utf8");
const first = new Set();
for (const match of html.matchAll(/<(?:script|link)[^>]+(?:src|href)="\/(assets\/[^"]+\.js)"/g)) first.add(match[1]);
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
let total = 0;
for (const file of first) total += gz(file);
const all = readdirSync(join(dist, "assets")).filter((f) => f.endsWith(".js"));
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`playground: first load ${kb(total)} of gzipped JavaScript (budget ${kb(BUDGET_BYTES)})`);
for (const file of all) {
  const path = `assets/${file}`;
  console.log(`  ${first.has(path) ? "first load" : "lazy      "}  ${kb(gz(path)).padStart(9)}  ${path}`);
}
if (total > BUDGET_BYTES) {
  console.error(`playground: over the budget by ${kb(total - BUDGET_BYTES)}`);
  process.exit(1);
}
