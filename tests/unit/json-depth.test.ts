import { describe, expect, it } from "vitest";
import { jsonNestsDeeperThan } from "../../server/http/json-body";

describe("how deep JSON nests, read before it is parsed", () => {
  it("counts arrays and objects, not brackets inside strings", () => {
    expect(jsonNestsDeeperThan('{"a":[1,{"b":[]}]}', 4)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":[1,{"b":[[]]}]}', 4)).toBe(true);
    expect(jsonNestsDeeperThan(JSON.stringify({ text: "[[[[[[[[{{{{{{{{" }), 1)).toBe(false);
    expect(jsonNestsDeeperThan(JSON.stringify({ text: 'a \\" quote then [[[[' }), 1)).toBe(false);
    expect(jsonNestsDeeperThan(`[${JSON.stringify("\\")}, [[1]]]`, 2)).toBe(true);
  });

  it("reads a 4 MB body in one pass", () => {
    expect(jsonNestsDeeperThan("[".repeat(2_000_000) + "]".repeat(2_000_000), 32)).toBe(true);
    expect(jsonNestsDeeperThan(JSON.stringify({ text: "x".repeat(4_000_000) }), 32)).toBe(false);
  });
});
