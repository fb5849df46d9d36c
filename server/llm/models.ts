import type { Env } from "../env";

export interface ModelOption {
  id: string;
  label: string;
}

export interface ModelCatalog {
  models: ModelOption[];
  defaultModel: string;
  /** True when no model server is configured and the built-in offline demo answers. */
  demo: boolean;
}

export const DEMO_MODEL: ModelOption = { id: "teamgpt-demo", label: "Offline demo (not an AI)" };
const FALLBACK_MODEL = "gpt-4o-mini";

/** True when neither a key nor a server is configured: `npm start` then serves the offline demo. */
export function usesDemoModel(env: Pick<Env, "OPENAI_API_KEY" | "OPENAI_BASE_URL">): boolean {
  return !env.OPENAI_API_KEY && !env.OPENAI_BASE_URL;
}

export function modelCatalog(env: Pick<Env, "OPENAI_API_KEY" | "OPENAI_BASE_URL" | "OPENAI_MODELS">): ModelCatalog {
  if (usesDemoModel(env)) return { models: [DEMO_MODEL], defaultModel: DEMO_MODEL.id, demo: true };
  const ids = env.OPENAI_MODELS?.length ? env.OPENAI_MODELS : [FALLBACK_MODEL];
  return { models: ids.map((id) => ({ id, label: id })), defaultModel: ids[0]!, demo: false };
}
