import "dotenv/config";
import { ensureBuild } from "./build";

/**
 * `npm start`: builds the web app if needed, then starts the server (which applies
 * pending migrations itself). Production unless NODE_ENV says otherwise.
 */
process.env.NODE_ENV ??= "production";

try {
  ensureBuild();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}

await import("../main");
