import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * `npm start`: builds the Remix app when the build is missing or older than its sources,
 * then starts the server (which applies pending migrations itself).
 */
const root = resolve(import.meta.dirname, "../..");
const buildFile = join(root, "build/index.js");

process.env.NODE_ENV ??= "production";

if (buildIsStale()) {
  console.log("Building the web app…");
  const result = spawnSync(process.execPath, [join(root, "node_modules/@remix-run/dev/dist/cli.js"), "build"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NODE_ENV: "production" },
  });
  if (result.status !== 0) {
    console.error("The build failed; see above.");
    process.exit(1);
  }
}

await import("../main");

function buildIsStale(): boolean {
  if (!existsSync(buildFile)) return true;
  const built = statSync(buildFile).mtimeMs;
  return newestChange([join(root, "app"), join(root, "remix.config.js")]) > built;
}

function newestChange(paths: string[]): number {
  let newest = 0;
  for (const path of paths) {
    const stat = statSync(path);
    newest = Math.max(newest, stat.mtimeMs);
    if (stat.isDirectory()) newest = Math.max(newest, newestChange(readdirSync(path).map((name) => join(path, name))));
  }
  return newest;
}
