import { describe, expect, it } from "vitest";
import { excerptAround } from "../../server/services/conversations";

describe("the words around a search hit", () => {
  it("a short text whole, white space folded", () => {
    expect(excerptAround("Find   the\nneedle here", "needle")).toBe("Find the needle here");
  });

  it("a long text cut between words on both sides, marked with …", () => {
    const text = `${"alpha ".repeat(20)}the needle is here ${"omega ".repeat(30)}`;
    const excerpt = excerptAround(text, "NEEDLE");
    expect(excerpt.startsWith("…alpha")).toBe(true);
    expect(excerpt.endsWith("omega…")).toBe(true);
    expect(excerpt).toContain("the needle is here");
    expect(excerpt.length).toBeLessThan(130);
  });

  it("a hit inside one very long word still shows the hit", () => {
    expect(excerptAround(`${"x".repeat(200)}needle${"y".repeat(200)}`, "needle")).toBe("…needle…");
  });
});
