import { createAuth, type Auth } from "./auth/lucia";
import { FirstAdminSetup } from "./services/accounts";
import type { Db } from "./db/client";
import type { Env } from "./env";
import { startFakeUpstream, type FakeUpstream } from "./llm/fake-upstream";
import { ModelLimits } from "./llm/context-window";
import { modelCatalog, usesDemoModel, type ModelCatalog } from "./llm/models";
import { createOpenAIProvider } from "./llm/openai-provider";
import type { ChatProvider } from "./llm/provider";
import { GenerationRegistry } from "./services/generation-registry";
import { TitleWriter } from "./services/titles";
import { ModelProblems } from "./services/model-status";
import { OpenStreams } from "./services/open-streams";
import { StorageQuota } from "./services/storage-quota";
import { RateLimits } from "./services/rate-limits";
import { createLogger, type Logger } from "./logger";

/** At shutdown, how long open streams get to send their last event once replies are saved. */
const STREAMS_DRAIN_MS = 2_000;

/** A human reading pace for the offline demo model. */
const DEMO_TOKEN_DELAY_MS = 35;

/** What one process holds once: the database handle, auth, configuration and running replies. */
export interface AppRuntime {
  db: Db;
  auth: Auth;
  env: Env;
  models: ModelCatalog;
  generations: GenerationRegistry;
  /** Titles written by a model after a conversation's first reply. */
  titles: TitleWriter;
  /** Context windows and first-token timeouts per model: configured, then learned from the servers. */
  modelLimits: ModelLimits;
  /** Recent model-server failures with the server's own words, for the admin's models page. */
  modelProblems: ModelProblems;
  /** Where replies are sent (admins only: it can be an internal address). */
  modelServer: string;
  /** The model server's client (replies go through the registry; admins test it directly). */
  provider: ChatProvider;
  limits: RateLimits;
  /** Event streams clients hold open: capped, and ended when access ends. */
  streams: OpenStreams;
  /** What one person may keep: conversations and text. */
  quota: StorageQuota;
  /** The one-time setup link of an install without an admin. */
  firstAdmin: FirstAdminSetup;
  logger: Logger;
}

export interface ServicesHandle {
  services: AppRuntime;
  /**
   * Lets running replies finish for up to `graceMs` (default: none), saves the rest as
   * interrupted, lets open streams send their last event, stops the demo model.
   */
  close: (graceMs?: number) => Promise<void>;
}

/**
 * Builds what one process holds once. With no model server configured, the offline demo
 * (the same fake the tests use) listens on 127.0.0.1 and the real SDK talks to it.
 */
export async function createAppRuntime(db: Db, env: Env, logger: Logger = createLogger(env)): Promise<ServicesHandle> {
  let demo: FakeUpstream | undefined;
  if (usesDemoModel(env)) demo = await startFakeUpstream({ tokenDelayMs: DEMO_TOKEN_DELAY_MS });
  const provider = createOpenAIProvider({ apiKey: env.OPENAI_API_KEY, baseURL: demo?.url ?? env.OPENAI_BASE_URL });
  const modelLimits = new ModelLimits(env);
  const modelProblems = new ModelProblems();
  const titles = new TitleWriter({ db, provider, logger, enabled: env.MODEL_TITLES && !demo });
  const generations = new GenerationRegistry({
    db,
    provider,
    env,
    logger,
    limits: modelLimits,
    problems: modelProblems,
    onEnded: (reply) => titles.afterReply(reply),
  });
  const streams = new OpenStreams({ perUser: env.MAX_STREAMS_PER_USER, total: env.MAX_OPEN_STREAMS, enabled: env.RATE_LIMITS });
  return {
    services: {
      db,
      auth: createAuth(db, env),
      env,
      models: modelCatalog(env),
      generations,
      titles,
      modelLimits,
      modelProblems,
      provider,
      modelServer: demo ? "the built-in offline demo" : withoutCredentials(env.OPENAI_BASE_URL ?? "https://api.openai.com/v1"),
      limits: new RateLimits(env),
      streams,
      quota: new StorageQuota(db, env),
      firstAdmin: new FirstAdminSetup(db),
      logger,
    },
    close: async (graceMs = 0) => {
      await generations.drain(graceMs);
      // Each interrupted reply's last event is on its way to its followers: let it go out.
      await streams.drained(STREAMS_DRAIN_MS);
      await demo?.close();
    },
  };
}

/** A base URL as admins may see it: a `user:password@` in it stays in the configuration. */
function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  return parsed.toString();
}
