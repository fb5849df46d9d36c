import { z } from "zod";
import type { AppRuntime } from "../app-runtime";
import { ProviderError } from "../llm/provider";
import { ServiceError } from "./errors";

/**
 * Connections to model servers, as admins see them (issue 17). Today there is one, defined by
 * the OPENAI_* variables (or the offline demo when none is set): shown read-only with where it
 * comes from, its key masked, and a test that asks the server for its models.
 */

export const ENVIRONMENT_CONNECTION = "environment";

export const connectionIdInput = z.object({ id: z.string().min(1).max(64) });

export interface ConnectionView {
  id: string;
  name: string;
  /** Where it is defined: `environment` (OPENAI_* variables; change them and restart) or `demo` (none set). */
  source: "environment" | "demo";
  baseUrl: string;
  /** The key's last four characters, never the key: "•••• 1a2b"; null without one. */
  apiKey: string | null;
  /** The models people are offered through it. */
  models: string[];
}

type ConnectionDeps = Pick<AppRuntime, "env" | "models" | "modelServer" | "provider">;

export function listConnections({ env, models, modelServer }: ConnectionDeps): ConnectionView[] {
  return [
    {
      id: ENVIRONMENT_CONNECTION,
      name: models.demo ? "Offline demo" : "From the environment",
      source: models.demo ? "demo" : "environment",
      baseUrl: modelServer,
      apiKey: models.demo || !env.OPENAI_API_KEY ? null : maskKey(env.OPENAI_API_KEY),
      models: models.models.map((model) => model.id),
    },
  ];
}

export function maskKey(key: string): string {
  return `•••• ${key.length > 8 ? key.slice(-4) : ""}`.trimEnd();
}

/** How long a test waits for the server's list of models. */
const TEST_TIMEOUT_MS = 10_000;

export interface ConnectionTest {
  ok: boolean;
  latencyMs: number;
  /** What happened, in words an admin can act on. */
  message: string;
  /** Offered models the server does not list: replies from them will fail. */
  missing: string[];
  /** What the server lists (the first 500, sorted): the names to offer. */
  listed: string[];
}

const LISTED_SHOWN = 500;

/** Asks the server for its models (`GET /v1/models`): reachable, key accepted, offered models there. */
export async function testConnection(deps: ConnectionDeps, { id }: z.infer<typeof connectionIdInput>): Promise<ConnectionTest> {
  if (id !== ENVIRONMENT_CONNECTION) throw new ServiceError("NOT_FOUND", "That connection does not exist.");
  const offered = deps.models.models.map((model) => model.id);
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  try {
    const listed = new Set(await deps.provider.listModels(AbortSignal.timeout(TEST_TIMEOUT_MS)));
    const latencyMs = took();
    const names = [...listed].sort().slice(0, LISTED_SHOWN);
    const missing = offered.filter((model) => !listed.has(model));
    const models = `${listed.size} model${listed.size === 1 ? "" : "s"}`;
    if (missing.length === 0) {
      return {
        ok: true,
        latencyMs,
        missing,
        listed: names,
        message: `Connected in ${latencyMs} ms. The server lists ${models}, including every one offered here.`,
      };
    }
    return {
      ok: false,
      latencyMs,
      missing,
      listed: names,
      message: `Connected in ${latencyMs} ms, but the server does not list ${missing.join(", ")}: replies from ${missing.length === 1 ? "it" : "them"} will fail. Check the model names in OPENAI_MODELS (the server lists ${models}).`,
    };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    const detail = error.details.detail ? ` The server said: ${error.details.detail}` : "";
    return { ok: false, latencyMs: took(), missing: [], listed: [], message: `${error.message}${detail}` };
  }
}
