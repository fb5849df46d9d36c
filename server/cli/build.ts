import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildSync } from "esbuild";
import { paths, ROOT } from "../paths";

/**
 * Builds what is missing or older than its sources: the Remix app (build/index.js and
 * public/build/) and the server bundle `npm start` runs (build/server/serve.mjs). Running the
 * server as plain JavaScript, not through tsx's loader, saves about 50 MB of memory.
 * `npm run build` runs this file.
 */
export function ensureBuild(options: { quiet?: boolean } = {}): void {
  ensureRemixBuild(options);
  ensureServerBundle(options);
}

function ensureRemixBuild(options: { quiet?: boolean }): void {
  if (!isStale(paths.remixBuild, ["app", "remix.config.js", "package-lock.json"])) return;
  if (!options.quiet) console.log("Building the web app…");
  const result = spawnSync(process.execPath, [join(ROOT, "node_modules/@remix-run/dev/dist/cli.js"), "build"], {
    cwd: ROOT,
    stdio: options.quiet ? "pipe" : "inherit",
    // @remix-run/dev loads Vite through its CJS entry, which warns on every build; nothing to act on.
    env: { ...process.env, NODE_ENV: "production", VITE_CJS_IGNORE_WARNING: "true" },
  });
  if (result.status !== 0) {
    const output = options.quiet ? `\n${String(result.stdout)}${String(result.stderr)}` : " (see above)";
    throw new Error(`The web app build failed${output}`);
  }
}

function ensureServerBundle(options: { quiet?: boolean }): void {
  if (!isStale(paths.serverBundle, ["server", "package-lock.json"])) return;
  if (!options.quiet) console.log("Building the server…");
  buildSync({
    entryPoints: [join(ROOT, "server/cli/serve.ts")],
    outfile: paths.serverBundle,
    bundle: true,
    // Dependencies stay in node_modules: native modules (better-sqlite3, argon2) cannot be bundled.
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20.19",
    sourcemap: true,
    logLevel: options.quiet ? "error" : "warning",
  });
}

function isStale(output: string, sources: string[]): boolean {
  if (!existsSync(output)) return true;
  return newestChange(sources.map((source) => join(ROOT, source))) > statSync(output).mtimeMs;
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

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    ensureBuild();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
