import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const DEFAULT_DATABASE_URL = "./data/teamgpt.db";

/**
 * DATABASE_URL may be a plain path (`./data/app.db`), a `file:` URL (`file:./data/app.db`,
 * `file:///abs/app.db`) or `:memory:`. Returns a path better-sqlite3 and drizzle-kit accept.
 */
export function databasePath(url: string, options: { ensureDir?: boolean } = {}): string {
  const path = toPath(url.trim());
  if (path !== ":memory:" && options.ensureDir) {
    // SQLite will not create missing folders, and drizzle-kit fails obscurely without them.
    mkdirSync(dirname(resolve(path)), { recursive: true });
  }
  return path;
}

function toPath(url: string): string {
  if (url === ":memory:") return url;
  if (url.startsWith("file://")) return fileURLToPath(url);
  if (url.startsWith("file:")) return url.slice("file:".length);
  return url;
}
