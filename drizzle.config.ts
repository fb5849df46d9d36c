import "dotenv/config";
import { defineConfig } from "drizzle-kit";
import { databasePath, DEFAULT_DATABASE_URL } from "./server/db/path";

// drizzle-kit cannot create the folder of a new database file; the path helper does.
export default defineConfig({
  dialect: "sqlite",
  schema: "./server/db/schema.ts",
  out: "./drizzle",
  dbCredentials: { url: databasePath(process.env.DATABASE_URL || DEFAULT_DATABASE_URL, { ensureDir: true }) },
  strict: true,
  verbose: false,
});
