import type { AppRuntime } from "../app-runtime";

/**
 * What went wrong with the model server lately, for admins: the message people saw and the
 * server's own words (`detail`: its error text and address), which people never see. Kept in
 * memory, newest first: the log has the full history.
 */
export interface ModelProblem {
  at: string;
  model: string;
  /** What the person waiting for the reply was told (or, for a retry, what happened). */
  message: string;
  /** The server's own words and address. */
  detail: string | null;
}

const KEPT_PROBLEMS = 50;

export class ModelProblems {
  private readonly items: ModelProblem[] = [];

  record(problem: Omit<ModelProblem, "at">): void {
    this.items.unshift({ at: new Date().toISOString(), ...problem });
    this.items.length = Math.min(this.items.length, KEPT_PROBLEMS);
  }

  recent(): ModelProblem[] {
    return [...this.items];
  }
}

/** The admin's view of the models: where they are served, their limits, recent problems. */
export function modelStatus({
  models,
  modelLimits,
  modelProblems,
  modelServer,
}: Pick<AppRuntime, "models" | "modelLimits" | "modelProblems" | "modelServer">) {
  return {
    server: modelServer,
    models: models.models.map(({ id }) => ({ id, ...modelLimits.describe(id) })),
    problems: modelProblems.recent(),
  };
}
