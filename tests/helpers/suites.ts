import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import { createTestServices, type TestServices } from "./db";
import { startTestUpstream, upstreamEnv } from "./upstream";

/**
 * The usual setup of an integration test file: fresh services over a new migrated SQLite file
 * for each test (with `env` overrides), closed after it.
 */
export function useTestServices(env: Record<string, string> = {}) {
  let services: TestServices | undefined;
  beforeEach(async () => {
    services = await createTestServices(env);
  });
  afterEach(() => services?.close());
  return {
    get services(): TestServices {
      if (!services) throw new Error("services exist only inside a test");
      return services;
    },
  };
}

/**
 * The same, pointed at one fake OpenAI-compatible server for the whole file (its recorded
 * requests cleared before each test).
 */
export function useModelServerSuite(env: Record<string, string> = {}) {
  let upstream: FakeUpstream | undefined;
  let services: TestServices | undefined;
  beforeAll(async () => {
    ({ upstream } = await startTestUpstream());
  });
  afterAll(() => upstream?.close());
  beforeEach(async () => {
    upstream!.requests.length = 0;
    services = await createTestServices(upstreamEnv(upstream!, env));
  });
  afterEach(() => services?.close());
  return {
    get upstream(): FakeUpstream {
      if (!upstream) throw new Error("the fake model server exists only inside the file's tests");
      return upstream;
    },
    get services(): TestServices {
      if (!services) throw new Error("services exist only inside a test");
      return services;
    },
    /** For a test about other settings: its services again, over a new database, with `overrides`. */
    async restartWith(overrides: Record<string, string>): Promise<void> {
      await services?.close();
      services = await createTestServices(upstreamEnv(upstream!, overrides));
    },
  };
}
