import type { ConversationRow, MessageRow } from "../db/schema";
import { fitPrompt, PromptTooLongError, type ContextLimits } from "../llm/context-window";
import type { ChatTurn } from "../llm/provider";
import { ServiceError } from "./errors";
import type { PromptSource } from "./generation";
import { pathEndingAt } from "./message-queries";
import type { ChatDeps } from "./replies";

/** What a reply's model is sent, fitted to its context window (context-window.ts). */

export function fitOrRefuse<T>(fit: () => T): T {
  try {
    return fit();
  } catch (error) {
    if (error instanceof PromptTooLongError) throw new ServiceError("BAD_REQUEST", error.message, "content");
    throw error;
  }
}

/**
 * What the model is sent: the system prompt, the question, and as many of the turns before it
 * as fit the model's context window (context-window.ts), built again for a smaller window when
 * the server says its window is smaller than configured.
 */
/**
 * Refuses, before anything is stored, a message that cannot fit the model's window even
 * alone with the system prompt: it stays in the composer to be shortened.
 */
export function checkFits(deps: Pick<ChatDeps, "modelLimits">, conversation: ConversationRow, question: string, model: string): void {
  fitOrRefuse(() => fitPrompt({ system: conversation.systemPrompt, question, history: [] }, deps.modelLimits.limitsFor(model)));
}

export function promptSource(deps: ChatDeps, conversation: ConversationRow, question: MessageRow, model: string): PromptSource {
  const refit = (limits: ContextLimits) =>
    fitPrompt({ system: conversation.systemPrompt, question: question.content, history: turnsBefore(deps, question) }, limits);
  return { plan: refit(deps.modelLimits.limitsFor(model)), refit };
}

/**
 * The turns before a message, newest first, read a page at a time as far as the caller goes:
 * a long conversation costs no more than a short one. CHAT_HISTORY_CHARS, when set, caps them.
 */
function* turnsBefore(deps: ChatDeps, question: MessageRow): Generator<ChatTurn> {
  let chars = 0;
  // The question's own branch only: never a turn of another version.
  for (const row of pathEndingAt(deps.db, question.parentId)) {
    if (!isUsableTurn(row)) continue;
    chars += row.content.length;
    if (deps.env.CHAT_HISTORY_CHARS !== undefined && chars > deps.env.CHAT_HISTORY_CHARS) return;
    yield { role: row.role === "assistant" ? "assistant" : "user", content: row.content };
  }
}

function isUsableTurn(row: { role: MessageRow["role"]; content: string; status: MessageRow["status"] }): boolean {
  if (row.role === "system" || row.content === "") return false;
  return row.role === "user" || row.status === "complete" || row.status === "stopped";
}
