import pino, { type DestinationStream, type Logger } from "pino";
import type { Env } from "./env";

export type { Logger };

/**
 * Structured JSON logs, one line an event. Never passwords, tokens, keys or message
 * contents: request logs carry the path without its query (tRPC puts inputs there), and the
 * fields below are redacted wherever they appear.
 */
const REDACT = [
  "password",
  "*.password",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "cookie",
  "*.cookie",
  "content",
  "*.content",
  "key",
  "*.key",
  "registrationKey",
  "*.registrationKey",
];

export function createLogger(env: Pick<Env, "NODE_ENV" | "LOG_LEVEL">, destination?: DestinationStream): Logger {
  const options = {
    level: env.LOG_LEVEL ?? (env.NODE_ENV === "test" ? "error" : "info"),
    base: { app: "teamgpt" },
    redact: { paths: REDACT, censor: "[redacted]" },
  };
  if (destination) return pino(options, destination);
  // In tests, errors go through console.error, which fails any test that did not expect one.
  if (env.NODE_ENV === "test") return pino(options, { write: (line: string) => console.error(line.trimEnd()) });
  return pino(options);
}
