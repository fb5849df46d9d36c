import { spawn, type ChildProcess } from "node:child_process";
import { ensureBuild } from "../server/cli/build";
import { paths, ROOT } from "../server/paths";
import { freePort } from "../tests/helpers/llama";

export interface ServerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * The production server as its own process (the bundle `npm start` runs, built if stale) (so its CPU and memory can be read from /proc),
 * pointed at `upstreamUrl`, with limits off and quiet logs.
 */
export async function startServerProcess(options: {
  databaseFile: string;
  upstreamUrl: string;
  nodeFlags?: string[];
}): Promise<ServerProcess> {
  ensureBuild({ quiet: true });
  // Its logs are quiet (warn): it is ready when /healthz answers on the port it was given.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeFlags ?? []), paths.serverBundle], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: options.databaseFile,
      OPENAI_BASE_URL: options.upstreamUrl,
      OPENAI_API_KEY: "bench",
      OPENAI_MODELS: "bench",
      RATE_LIMITS: "off",
      // Replies only: a title request after each first reply would be measured as reply work.
      MODEL_TITLES: "off",
      LOG_LEVEL: "warn",
      PUBLIC_ORIGIN: "http://127.0.0.1",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let waited = 0; ; waited += 50) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (waited > 30_000) throw new Error("the server did not answer /healthz within 30 s");
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((done) => child.once("exit", done));
    },
  };
}
