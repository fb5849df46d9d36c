import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const buildFile = join(root, "build/index.js");

/** Builds the Remix app when the build is missing or older than its sources. */
export function ensureBuild(options: { quiet?: boolean } = {}): void {
  if (!buildIsStale()) return;
  if (!options.quiet) console.log("Building the web app…");
  const result = spawnSync(process.execPath, [join(root, "node_modules/@remix-run/dev/dist/cli.js"), "build"], {
    cwd: root,
    stdio: options.quiet ? "pipe" : "inherit",
    // @remix-run/dev loads Vite through its CJS entry, which warns on every build; nothing to act on.
    env: { ...process.env, NODE_ENV: "production", VITE_CJS_IGNORE_WARNING: "true" },
  });
  if (result.status !== 0) {
    const output = options.quiet ? `\n${result.stdout}${result.stderr}` : " (see above)";
    throw new Error(`The web app build failed${output}`);
  }
}

function buildIsStale(): boolean {
  if (!existsSync(buildFile)) return true;
  const built = statSync(buildFile).mtimeMs;
  return newestChange([join(root, "app"), join(root, "remix.config.js"), join(root, "package-lock.json")]) > built;
}

function newestChange(paths: string[]): number {
  let newest = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    newest = Math.max(newest, stat.mtimeMs);
    if (stat.isDirectory()) newest = Math.max(newest, newestChange(readdirSync(path).map((name) => join(path, name))));
  }
  return newest;
}
