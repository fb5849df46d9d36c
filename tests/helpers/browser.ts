import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ARTIFACTS_DIR } from "./paths";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS_DIR = resolve(ARTIFACTS_DIR, "screenshots");

/**
 * Browser tests need Debian's chromium. Locally they are skipped, loudly, when it is
 * missing; in CI (CI=true) a missing browser is a failure, never a silent skip.
 */
export const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) {
  const message = `Browser tests need chromium at ${CHROMIUM_PATH} (apt-get install -y chromium).`;
  if (process.env.CI) throw new Error(message);
  console.warn(`SKIPPING browser tests: ${message}`);
}

/** Playwright gives every launch a fresh temporary profile of its own. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Saves what the page looked like, named after the test, e.g. when it failed. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const file = resolve(SCREENSHOTS_DIR, `${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
