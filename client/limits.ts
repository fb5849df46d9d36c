/**
 * The API's input limits (docs/api.md), one definition for the server's checks
 * (server/services/*) and the browser's forms. No imports: the browser bundle takes it whole.
 */
export const LIMITS = {
  /** Ids of conversations, messages, users, keys. */
  idChars: 64,
  modelIdChars: 200,
  messageChars: 100_000,
  titleChars: 200,
  systemPromptChars: 20_000,
  usernameChars: 32,
  passwordChars: 256,
  keyNoteChars: 200,
  /** Models one message may be sent to at once (Compare). */
  comparedModels: 3,
} as const;

/** What a refused message is told, by the server and by the no-JavaScript form before it. */
export const MESSAGE_REFUSALS = {
  empty: "Write a message first.",
  tooLong: `Keep the message under ${LIMITS.messageChars.toLocaleString("en")} characters.`,
} as const;

/** Why a message cannot be sent as it is, or null. */
export function messageRefusal(content: string): string | null {
  if (content.length > LIMITS.messageChars) return MESSAGE_REFUSALS.tooLong;
  return content.trim() === "" ? MESSAGE_REFUSALS.empty : null;
}
