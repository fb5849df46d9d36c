import { mkdirSync, rmSync } from "node:fs";
import { openDatabase } from "../../server/db/client";
import { migrateDatabase } from "../../server/db/migrate";
import { ensureBuild } from "../../server/cli/build";
import { ARTIFACTS_DIR, BASE_DATABASE } from "../helpers/paths";

/**
 * Once per run: one migrated base database that every test copies (fast, and every test
 * starts from the real migrations), and an up-to-date web build for the HTTP tests.
 */
export default function setup() {
  rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const base = openDatabase(BASE_DATABASE);
  migrateDatabase(base.db);
  base.sqlite.pragma("wal_checkpoint(TRUNCATE)");
  base.sqlite.pragma("journal_mode = DELETE");
  base.close();
  ensureBuild({ quiet: true });
}
