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
} as const;
