import { afterEach, beforeEach, vi } from "vitest";

/**
 * A console.error during a test is a bug unless the test says it expects one
 * (`expectConsoleError()`), as in the Epic Stack.
 */
let expected = 0;
let unexpected: unknown[][] = [];

export function expectConsoleError(count = 1) {
  expected += count;
}

beforeEach(() => {
  expected = 0;
  unexpected = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    if (expected > 0) expected--;
    else unexpected.push(args);
  });
});

afterEach(() => {
  vi.mocked(console.error).mockRestore();
  if (unexpected.length > 0) {
    const text = unexpected.map((args) => args.map(String).join(" ")).join("\n");
    throw new Error(`console.error was called unexpectedly:\n${text}`);
  }
});
