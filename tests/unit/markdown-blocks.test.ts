import { describe, expect, it } from "vitest";
import { settledBlocks } from "../../app/lib/markdown-blocks";

describe("streaming markdown: settled blocks and the tail", () => {
  it("settles paragraphs, headings and code blocks once a new block starts after a blank line", () => {
    const text = "# Title\n\nFirst paragraph\nstill first.\n\n```ts\nconst a = 1;\n\nconst b = 2;\n```\n\nLast para\n";
    expect(settledBlocks(text)).toEqual({
      settled: ["# Title\n\n", "First paragraph\nstill first.\n\n", "```ts\nconst a = 1;\n\nconst b = 2;\n```\n\n"],
      tail: "Last para\n",
    });
  });

  it("never splits inside an unclosed fence, however many blank lines it holds", () => {
    const text = "Intro\n\n~~~py\nx = 1\n\n\ny = 2\n\nz";
    expect(settledBlocks(text)).toEqual({ settled: ["Intro\n\n"], tail: "~~~py\nx = 1\n\n\ny = 2\n\nz" });
  });

  it("keeps list items and indented continuations with the block above them", () => {
    const text = "Steps:\n\n1. one\n\n2. two\n\n   more about two\n\n- a\n\n  - nested\n\nDone.\n";
    expect(settledBlocks(text)).toEqual({
      settled: ["Steps:\n\n1. one\n\n2. two\n\n   more about two\n\n- a\n\n  - nested\n\n"],
      tail: "Done.\n",
    });
  });

  it("lets the last line, maybe half written, decide nothing", () => {
    expect(settledBlocks("Para one\n\nPara tw")).toEqual({ settled: [], tail: "Para one\n\nPara tw" });
    expect(settledBlocks("Para one\n\nPara two\n")).toEqual({ settled: ["Para one\n\n"], tail: "Para two\n" });
  });

  it("puts the text back together unchanged", () => {
    const text = "a\n\n```\nb\n\n```\n\n- c\n\nd\n\n\n\ne\r\n\r\nf";
    const { settled, tail } = settledBlocks(text);
    expect(settled.join("") + tail).toBe(text);
    expect(settledBlocks("")).toEqual({ settled: [], tail: "" });
  });
});
