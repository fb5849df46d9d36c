import "dotenv/config";

/**
 * `npm start` runs this file's bundle (build/server/serve.mjs, see build.ts) with plain Node:
 * production unless NODE_ENV says otherwise. `npm run dev` runs start.ts from the sources.
 */
process.env.NODE_ENV ??= "production";

await import("../main");
