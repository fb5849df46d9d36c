import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, onTestFailed } from "vitest";
import type { FakeUpstream } from "../../server/llm/fake-upstream";
import { launchBrowser, screenshot } from "./browser";
import { TEST_PASSWORD } from "./factories";
import { startTestServer, type TestServer } from "./server";
import { startTestUpstream, upstreamEnv } from "./upstream";

export interface BrowserSuite {
  readonly upstream: FakeUpstream;
  readonly server: TestServer;
  /** A fresh browser context; photographed if the test fails. */
  newPage(name: string, viewport?: { width: number; height: number }): Promise<Page>;
  logIn(page: Page, username: string, password?: string): Promise<void>;
}

/** For a describe block: the real server, the fake model server and chromium, once for all its tests. */
export function useBrowserSuite(env: Record<string, string> = {}): BrowserSuite {
  let upstream: FakeUpstream;
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ upstream } = await startTestUpstream());
    [server, browser] = await Promise.all([startTestServer(upstreamEnv(upstream, env)), launchBrowser()]);
  });
  // Pages stay open until the end so a failed test can still be photographed.
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await upstream?.close();
  });

  return {
    get upstream() {
      return upstream;
    },
    get server() {
      return server;
    },
    async newPage(name, viewport = { width: 1280, height: 860 }) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      onTestFailed(async () => {
        console.warn(`screenshot of the failed test: ${await screenshot(page, `failed-${name}`)}`);
      });
      return page;
    },
    async logIn(page, username, password = TEST_PASSWORD) {
      await page.goto(`${server.url}/login`);
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Log in" }).click();
    },
  };
}
