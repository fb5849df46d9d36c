import { z } from "zod";
import { LIMITS } from "../../client/limits";

/** Input fields several services take, defined once (their limits: client/limits.ts). */

/** The id of a conversation, message, user or key. */
export const recordId = z.string().min(1).max(LIMITS.idChars);

/** A model's id as the model server names it. */
export const modelId = z.string().trim().min(1).max(LIMITS.modelIdChars);

export { LIMITS };
