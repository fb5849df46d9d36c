import { afterEach, beforeEach, vi } from "vitest";

/**
 * A console.error during a test is a bug: the logger writes errors there in tests
 * (server/logger.ts), so an error nobody expected fails the test that caused it. A test about
 * logs passes its own destination to the logger instead.
 */
let unexpected: unknown[][] = [];

beforeEach(() => {
  unexpected = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    unexpected.push(args);
  });
});

afterEach(() => {
  vi.mocked(console.error).mockRestore();
  if (unexpected.length > 0) {
    const text = unexpected.map((args) => args.map(String).join(" ")).join("\n");
    throw new Error(`console.error was called unexpectedly:\n${text}`);
  }
});
