import { z } from "zod";
import { DEFAULT_DATABASE_URL } from "./db/path";

const booleanSwitch = z
  .enum(["on", "off", "true", "false", "1", "0"], { error: 'expected "on" or "off"' })
  .transform((value) => value === "on" || value === "true" || value === "1");

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

const milliseconds = (fallback: number) =>
  z.coerce
    .number({ error: "expected a duration in milliseconds" })
    .int("expected a whole number of milliseconds")
    .min(100, "expected at least 100 milliseconds")
    .max(3_600_000, "expected at most 3600000 milliseconds (an hour)")
    .default(fallback);

const count = (what: string, fallback: number) =>
  z.coerce
    .number({ error: `expected a number of ${what}` })
    .int(`expected a whole number of ${what}`)
    .min(1, `expected at least 1`)
    .max(1_000_000, `expected at most 1000000`)
    .default(fallback);

/**
 * A number for every model, with exceptions: `16384,tiny=512,qwen3:32b=32768` (a bare number is
 * the default; a model's name is everything before its last `=`).
 */
const perModel = (unit: string, min: number, max: number, fallback?: number) =>
  z
    .string()
    .optional()
    .transform((value, context) => {
      const parsed: { default: number | undefined; models: Record<string, number> } = { default: fallback, models: {} };
      for (const entry of (value ?? "")
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean)) {
        const split = entry.lastIndexOf("=");
        const [model, amount] = split === -1 ? [null, entry] : [entry.slice(0, split).trim(), entry.slice(split + 1).trim()];
        const number = Number(amount);
        if (!/^\d+$/.test(amount) || number < min || number > max || model === "") {
          context.addIssue({
            code: "custom",
            message: `expected ${unit} from ${min} to ${max}, or model=${unit} pairs, separated by commas (“${entry}” is neither)`,
          });
          return z.NEVER;
        }
        if (model === null) parsed.default = number;
        else parsed.models[model] = number;
      }
      return parsed;
    });

export const envSchema = z.object({
  NODE_ENV: z
    .enum(["development", "production", "test"], { error: 'expected "development", "production" or "test"' })
    .default("development"),
  PORT: z.coerce
    .number({ error: "expected a port number" })
    .int("expected a whole port number")
    .min(0, "expected a port between 0 and 65535")
    .max(65535, "expected a port between 0 and 65535")
    .default(3000),
  HOST: z.string().trim().min(1, "expected a host name or address").default("0.0.0.0"),
  DATABASE_URL: z.string().trim().min(1, "expected a SQLite file path or file: URL").default(DEFAULT_DATABASE_URL),
  PUBLIC_ORIGIN: optionalText.pipe(
    z
      .url({ protocol: /^https?$/, error: "expected an origin such as https://chat.example.com" })
      .transform((value) => new URL(value).origin)
      .optional(),
  ),
  TRUST_PROXY: z
    .string()
    .trim()
    .regex(
      /^(off|on|\d{1,2}|((loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)\s*,\s*)*(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?))$/,
      'expected "off", "on", "loopback", a number of proxies, or addresses and subnets separated by commas',
    )
    // "100" would otherwise read as the address 0.0.0.100.
    .refine((value) => !/^\d{3,}$/.test(value), "expected a number of proxies from 0 to 99")
    // Off unless told: otherwise a client could pick its own address for the limits.
    .default("off")
    .transform((value): boolean | number | string =>
      value === "off" ? false : value === "on" ? true : /^\d+$/.test(value) ? Number(value) : value,
    ),
  SESSION_DAYS: z.coerce
    .number({ error: "expected a number of days" })
    .positive("expected a positive number of days")
    .max(365, "expected at most 365 days")
    .default(30),
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalText.pipe(
    z.url({ protocol: /^https?$/, error: "expected an http(s) URL such as http://127.0.0.1:11434/v1" }).optional(),
  ),
  OPENAI_MODELS: optionalText.transform((value) =>
    value
      ?.split(",")
      .map((model) => model.trim())
      .filter((model) => model !== ""),
  ),
  SHUTDOWN_GRACE_MS: milliseconds(10_000),
  OPENAI_FIRST_TOKEN_TIMEOUT_MS: milliseconds(60_000),
  OPENAI_IDLE_TIMEOUT_MS: milliseconds(30_000),
  MAX_REPLY_TOKENS: count("tokens", 8192),
  MODEL_TITLES: booleanSwitch.default(true),
  MAX_REPLY_CHARS: z.coerce
    .number({ error: "expected a number of characters" })
    .int("expected a whole number of characters")
    .min(1_000, "expected at least 1000 characters")
    .max(10_000_000, "expected at most 10000000 characters")
    .default(150_000),
  // Superseded by MODEL_CONTEXT_TOKENS; when set, still a cap on the characters of history sent.
  CHAT_HISTORY_CHARS: z.coerce
    .number({ error: "expected a number of characters" })
    .int("expected a whole number of characters")
    .min(1_000, "expected at least 1000 characters")
    .optional(),
  MODEL_CONTEXT_TOKENS: perModel("tokens", 256, 10_000_000, 16_384).transform((value) => ({ ...value, default: value.default ?? 16_384 })),
  MODEL_FIRST_TOKEN_TIMEOUT_MS: perModel("milliseconds", 100, 3_600_000),
  ADMIN_USERNAME: optionalText,
  ADMIN_PASSWORD: optionalText,
  RATE_LIMITS: booleanSwitch.default(true),
  LOGIN_FAILURES_PER_IP: count("failed logins", 50),
  LOGIN_FAILURES_PER_ACCOUNT: count("failed logins", 10),
  REGISTRATION_FAILURES_PER_IP: count("failed registrations and setup or reset links", 10),
  MESSAGES_PER_MINUTE: count("messages", 30),
  CONVERSATIONS_PER_MINUTE: count("conversations", 30),
  MAX_RUNNING_REPLIES: count("replies", 3),
  MAX_STREAMS_PER_USER: count("streams", 20),
  MAX_OPEN_STREAMS: count("streams", 1000),
  CONVERSATIONS_PER_USER: count("conversations", 20_000),
  STORAGE_PER_USER_MB: count("megabytes", 200),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: 'expected "fatal", "error", "warn", "info", "debug", "trace" or "silent"',
    })
    .optional(),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment once; a bad value stops start-up with a message naming the variable. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema.safeParse(blankToUndefined(source));
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "environment";
    return `  ${name}: ${issue.message} (got ${JSON.stringify(source[name] ?? "")})`;
  });
  throw new ConfigError(`Invalid configuration. Fix these variables (in the environment or .env):\n${lines.join("\n")}`);
}

// An empty `PORT=` in .env means "use the default", as people expect from .env files.
function blankToUndefined(source: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(source).map(([key, value]) => [key, value === "" ? undefined : value]));
}
