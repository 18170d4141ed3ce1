// Fails when src/gql/ (committed) differs from what GraphQL Code Generator makes now from
// the contract and the operations: run `npm run codegen` and commit the result.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const committed = join(root, "src", "gql");
const fresh = mkdtempSync(join(tmpdir(), "neurall-codegen-"));
try {
  execFileSync(join(root, "node_modules", ".bin", "graphql-codegen"), ["--config", "codegen.ts", "--silent"], {
    cwd: root,
    env: { ...process.env, CODEGEN_OUT: `${fresh}/` },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const names = new Set([...readdirSync(committed), ...readdirSync(fresh)]);
  const stale = [...names].filter((name) => {
    try {
      return readFileSync(join(committed, name), "utf8") !== readFileSync(join(fresh, name), "utf8");
    } catch {
      return true;
    }
  });
  if (stale.length) {
    console.error(`playground: generated GraphQL types are stale (${stale.join(", ")}); run \`npm run codegen\` in playground/ and commit src/gql/.`);
    process.exit(1);
  }
  console.log("playground: generated GraphQL types are up to date");
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
