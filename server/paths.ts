import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * TeamGPT's folder, found from this file: the server runs from its sources (server/, under
 * tsx) and from its bundle (build/server/), and reads build/, public/ and drizzle/ from here.
 */
export const ROOT = findRoot(import.meta.dirname);

export const paths = {
  /** The Remix server build. */
  remixBuild: join(ROOT, "build/index.js"),
  /** The server bundle `npm start` runs. */
  serverBundle: join(ROOT, "build/server/serve.mjs"),
  public: join(ROOT, "public"),
  migrations: join(ROOT, "drizzle"),
};

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "drizzle"))) return dir;
    if (dirname(dir) === dir) throw new Error(`TeamGPT's folder (with package.json and drizzle/) is not above ${from}.`);
  }
}
