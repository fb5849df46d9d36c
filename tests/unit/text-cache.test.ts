import { describe, expect, it } from "vitest";
import { TextCache } from "../../app/lib/text-cache";

describe("values kept by text (parsed markdown of finished messages)", () => {
  const counting = () => {
    const computed: string[] = [];
    return { computed, compute: (text: string) => (computed.push(text), { of: text }) };
  };

  it("computes a kept text once and hands back the same value", () => {
    const cache = new TextCache<{ of: string }>(1000);
    const { computed, compute } = counting();
    const first = cache.get("**done**", true, compute);
    expect(cache.get("**done**", true, compute)).toBe(first);
    expect(computed).toEqual(["**done**"]);
  });

  it("does not keep text that may still change, or text too long to be worth the room", () => {
    const cache = new TextCache<{ of: string }>(800);
    const { computed, compute } = counting();
    cache.get("still stream", false, compute);
    cache.get("still stream", false, compute);
    cache.get("x".repeat(101), true, compute);
    cache.get("x".repeat(101), true, compute);
    expect(computed).toHaveLength(4);
    expect(cache.size).toEqual({ entries: 0, chars: 0 });
  });

  it("lets the least recently used texts go once the kept text passes its budget", () => {
    const cache = new TextCache<{ of: string }>(300);
    const { computed, compute } = counting();
    const texts = ["a", "b", "c", "d"].map((letter) => letter.repeat(30));
    for (const text of texts) cache.get(text, true, compute);
    cache.get(texts[0]!, true, compute); // used again: now the newest
    for (let i = 0; i < 7; i++) cache.get(`${i}`.repeat(30), true, compute);
    expect(cache.size).toEqual({ entries: 10, chars: 300 });
    computed.length = 0;
    cache.get(texts[0]!, true, compute);
    cache.get(texts[1]!, true, compute);
    expect(computed).toEqual([texts[1]]);
  });

  it("counts what a value takes as well as its text", () => {
    const cache = new TextCache<string>(1000, (html) => html.length);
    const render = (text: string) => `<p>${text}</p>`.repeat(3);
    cache.get("a".repeat(20), true, render);
    expect(cache.size).toEqual({ entries: 1, chars: 20 + 81 });
    cache.get("b".repeat(30), true, render); // 30 + 111 > 1000 / 8: not worth the room
    expect(cache.size.entries).toBe(1);
  });
});
