import { spawn, type ChildProcess } from "node:child_process";
import { ensureBuild } from "../server/cli/build";
import { paths, ROOT } from "../server/paths";

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
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeFlags ?? []), paths.serverBundle], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: options.databaseFile,
      OPENAI_BASE_URL: options.upstreamUrl,
      OPENAI_API_KEY: "bench",
      OPENAI_MODELS: "bench",
      RATE_LIMITS: "off",
      LOG_LEVEL: "warn",
      PUBLIC_ORIGIN: "http://127.0.0.1",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/listening on (http:\/\/\S+)/);
      if (match) resolveUrl(match[1]!.replace("localhost", "127.0.0.1"));
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
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
