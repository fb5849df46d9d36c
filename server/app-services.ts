import { createAuth, type Auth } from "./auth/lucia";
import type { Db } from "./db/client";
import type { Env } from "./env";
import { startFakeUpstream, type FakeUpstream } from "./llm/fake-upstream";
import { modelCatalog, usesDemoModel, type ModelCatalog } from "./llm/models";
import { createOpenAIProvider } from "./llm/openai-provider";
import { GenerationRegistry } from "./services/generation";
import { RateLimits } from "./services/rate-limits";
import { createLogger, type Logger } from "./logger";

/** A human reading pace for the offline demo model. */
const DEMO_TOKEN_DELAY_MS = 35;

/** What one process holds once: the database handle, auth, configuration and running replies. */
export interface AppServices {
  db: Db;
  auth: Auth;
  env: Env;
  models: ModelCatalog;
  generations: GenerationRegistry;
  limits: RateLimits;
  logger: Logger;
}

export interface ServicesHandle {
  services: AppServices;
  /** Lets running replies finish for up to `graceMs` (default: none), saves the rest as interrupted, stops the demo model. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Builds what one process holds once. With no model server configured, the offline demo
 * (the same fake the tests use) listens on 127.0.0.1 and the real SDK talks to it.
 */
export async function createAppServices(db: Db, env: Env, logger: Logger = createLogger(env)): Promise<ServicesHandle> {
  let demo: FakeUpstream | undefined;
  if (usesDemoModel(env)) demo = await startFakeUpstream({ tokenDelayMs: DEMO_TOKEN_DELAY_MS });
  const provider = createOpenAIProvider({ apiKey: env.OPENAI_API_KEY, baseURL: demo?.url ?? env.OPENAI_BASE_URL });
  const generations = new GenerationRegistry(db, provider, env, logger);
  return {
    services: {
      db,
      auth: createAuth(db, env),
      env,
      models: modelCatalog(env),
      generations,
      limits: new RateLimits(env),
      logger,
    },
    async close(graceMs = 0) {
      await generations.drain(graceMs);
      await demo?.close();
    },
  };
}
