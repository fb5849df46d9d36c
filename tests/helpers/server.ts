import { createAppServices } from "../../server/app-services";
import { openDatabase } from "../../server/db/client";
import type { Logger } from "../../server/logger";
import { startServer, type RunningServer } from "../../server/server";
import type { AppServices } from "../../server/trpc/context";
import { removeDatabaseFile, testEnv } from "./db";

export interface TestServer extends RunningServer {
  /** A second handle on the server's database, for arranging data and checking results. */
  services: AppServices;
  origin: string;
  stop(): Promise<void>;
}

/** The real server (Express, tRPC, the Remix build) on a free port with its own database file. */
export async function startTestServer(overrides: Record<string, string> = {}, options: { logger?: Logger } = {}): Promise<TestServer> {
  const env = testEnv(overrides);
  const running = await startServer(env, options);
  const database = openDatabase(env.DATABASE_URL);
  const handle = await createAppServices(database.db, env);
  const url = running.url.replace("localhost", "127.0.0.1");
  return {
    ...running,
    url,
    origin: url,
    services: handle.services,
    async stop() {
      await running.close();
      await handle.close();
      database.close();
      removeDatabaseFile(env.DATABASE_URL);
    },
  };
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
