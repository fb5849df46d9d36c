import { afterAll, beforeAll } from "vitest";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import type { Logger } from "../../server/logger";
import { startServer, type RunningServer } from "../../server/server";
import type { AppRuntime } from "../../server/trpc/context";
import { removeDatabaseFile, testEnv } from "./db";
import { TEST_PASSWORD } from "./factories";
import { startTestUpstream, upstreamEnv } from "./upstream";

export interface TestServer extends RunningServer {
  /** A second handle on the server's database, for arranging data and checking results. */
  services: AppRuntime;
  origin: string;
  stop(): Promise<void>;
}

/** The real server (Express, tRPC, the Remix build) on a free port with its own database file. */
export async function startTestServer(overrides: Record<string, string> = {}, options: { logger?: Logger } = {}): Promise<TestServer> {
  const env = testEnv(overrides);
  const running = await startServer(env, options);
  const url = running.url.replace("localhost", "127.0.0.1");
  return {
    ...running,
    url,
    origin: url,
    // The server's own: a test sees the replies it runs and writes through its connection.
    services: running.runtime,
    async stop() {
      await running.close();
      removeDatabaseFile(env.DATABASE_URL);
    },
  };
}

/** Logs in over HTTP as a browser or a script would: the cookie jar and the bearer token. */
export async function logInOverHttp(url: string, username: string, password = TEST_PASSWORD): Promise<{ jar: CookieJar; token: string }> {
  const response = await fetch(`${url}/api/trpc/auth.login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200) throw new Error(`login as ${username} answered ${response.status}: ${await response.text()}`);
  const jar = new CookieJar();
  jar.store(response);
  const token = ((await response.json()) as { result: { data: { token: string } } }).result.data.token;
  return { jar, token };
}

/** Just enough of a browser's cookie jar for one origin. */
export class CookieJar {
  private cookies = new Map<string, string>();

  store(response: Response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const [name, ...value] = pair!.split("=");
      if (/Max-Age=0/i.test(header)) this.cookies.delete(name!.trim());
      else this.cookies.set(name!.trim(), value.join("="));
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  get size() {
    return this.cookies.size;
  }
}

/**
 * For a test file: the production build and settings, as `npm start` runs them, in front of
 * its own fake model server; started once before the file's tests, stopped after.
 */
export function useProductionServer(): { readonly server: TestServer; readonly upstream: FakeUpstream } {
  let upstream: FakeUpstream;
  let server: TestServer;
  beforeAll(async () => {
    ({ upstream } = await startTestUpstream());
    server = await startTestServer({ ...upstreamEnv(upstream), NODE_ENV: "production", PUBLIC_ORIGIN: "http://127.0.0.1" });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  return {
    get server() {
      return server;
    },
    get upstream() {
      return upstream;
    },
  };
}
