import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { ARTIFACTS_DIR } from "./paths";

/**
 * llama.cpp's llama-server with a tiny random-weight model (../shared/llama, README there): a
 * real OpenAI-compatible server to test against. Where it cannot run (no ../shared beside the
 * repo, another CPU or OS), its tests are skipped, loudly; in CI (CI=true) that is a failure.
 */
export const LLAMA_START = resolve(process.env.LLAMA_DIR ?? "../shared/llama", "start.sh");
export const LLAMA_LOGS = resolve(ARTIFACTS_DIR, "llama");

export const llamaUnavailable = whyLlamaCannotRun();
if (llamaUnavailable) {
  const message = `llama-server tests need ${LLAMA_START} to run here: ${llamaUnavailable}`;
  if (process.env.CI) throw new Error(message);
  console.warn(`SKIPPING llama-server tests: ${message}`);
}

/** Starts it once, briefly: the script checks the CPU and the OS and says what is missing. */
function whyLlamaCannotRun(): string | null {
  if (!existsSync(LLAMA_START)) return "the folder is missing";
  try {
    const [, pid] = execFileSync(LLAMA_START, ["--owner", String(process.pid), "--", "-c", "256"], { encoding: "utf8", stdio: "pipe" })
      .trim()
      .split("\n");
    process.kill(Number(pid));
    return null;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    return stderr || (error as Error).message;
  }
}

export interface LlamaServer {
  /** The OpenAI base URL, ending in /v1. */
  url: string;
  pid: number;
  /** The server's log so far (start with `log: true`). */
  log(): string;
  stop(): void;
}

/**
 * Starts a llama-server; `args` go to it (`-c 512 --alias tiny`). It stops with the test
 * process at the latest (--owner).
 */
export async function startLlama(
  args: string[],
  options: { reasoning?: boolean; noWait?: boolean; port?: number; log?: boolean } = {},
): Promise<LlamaServer> {
  mkdirSync(LLAMA_LOGS, { recursive: true });
  const script = [
    "--owner",
    String(process.pid),
    ...(options.log ? ["--dir", LLAMA_LOGS] : []),
    ...(options.reasoning ? ["--reasoning"] : []),
    ...(options.noWait ? ["--no-wait"] : []),
    ...(options.port ? ["--port", String(options.port)] : []),
    "--",
    ...args,
  ];
  const { stdout } = await promisify(execFile)(LLAMA_START, script, { encoding: "utf8" });
  const [url, pidText] = stdout.trim().split("\n");
  const pid = Number(pidText);
  return {
    url: url!,
    pid,
    log: () => {
      const file = readdirSync(LLAMA_LOGS).find((name) => name === `llama-server-${pid}.log`);
      return file ? readFileSync(resolve(LLAMA_LOGS, file), "utf8") : "";
    },
    stop: () => {
      try {
        process.kill(pid);
      } catch {
        // Already gone.
      }
    },
  };
}

/** A port nothing listens on now, for a server started later. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
