import "dotenv/config";
import { ensureBuild } from "./build";

/**
 * `npm run dev`: builds the web app if needed, then runs the server from its sources (which
 * applies pending migrations itself). `npm start` runs the bundled server instead (serve.ts).
 */
process.env.NODE_ENV ??= "production";

try {
  ensureBuild();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}

await import("../main");
