import type { ConversationRow, MessageRow } from "../db/schema";
import { fitPrompt, PromptTooLongError, type ContextLimits } from "../llm/context-window";
import type { ChatTurn } from "../llm/provider";
import { ServiceError } from "./errors";
import type { PromptSource } from "./generation";
import { pathEndingAt } from "./message-queries";
import type { ChatDeps } from "./replies";

/** What a reply's model is sent, fitted to its context window (context-window.ts). */

/**
 * What the model is sent for `question` after `parentId`: the system prompt, the question, and
 * as many turns of the branch before it as fit the window, built again for a smaller window
 * when the server says its window is smaller. Built before the question is stored, so a
 * question that cannot fit even alone is refused (BAD_REQUEST on `content`) and stays in the
 * composer; the question and system prompt are tokenized once.
 */
export function promptFor(
  deps: ChatDeps,
  conversation: ConversationRow,
  parentId: string | null,
  question: string,
  model: string,
): PromptSource {
  const refit = (limits: ContextLimits) =>
    fitPrompt({ system: conversation.systemPrompt, question, history: turnsAfter(deps, parentId) }, withReplyLength(limits, conversation));
  try {
    return { plan: refit(deps.modelLimits.limitsFor(model)), refit };
  } catch (error) {
    if (error instanceof PromptTooLongError) throw new ServiceError("BAD_REQUEST", error.message, "content");
    throw error;
  }
}

/** The conversation's longest reply, when it set one shorter than the server's. */
function withReplyLength(limits: ContextLimits, conversation: Pick<ConversationRow, "maxReplyTokens">): ContextLimits {
  const wanted = conversation.maxReplyTokens;
  return wanted !== null && wanted < limits.maxReplyTokens ? { ...limits, maxReplyTokens: wanted } : limits;
}

/**
 * The turns of the branch ending at `parentId`, newest first, read one at a time as far as the
 * caller goes: a long conversation costs no more than a short one. CHAT_HISTORY_CHARS, when set,
 * caps them.
 */
function* turnsAfter(deps: ChatDeps, parentId: string | null): Generator<ChatTurn> {
  let chars = 0;
  // The question's own branch only: never a turn of another version.
  for (const row of pathEndingAt(deps.db, parentId)) {
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
