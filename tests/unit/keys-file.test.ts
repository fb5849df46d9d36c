import { describe, expect, it } from "vitest";
import { newRegistrationKey, parseKeysFile } from "../../server/services/registration-keys";

describe("reading a keys file", () => {
  it("takes one key a line, trimmed, skipping blanks and comments", () => {
    const parsed = parseKeysFile("# team keys\n\n  alpha-key-01  \r\nbeta_key_02\n   # indented comment\n");
    expect(parsed).toEqual({ keys: ["alpha-key-01", "beta_key_02"], repeated: 0, invalid: [], invalidCount: 0 });
  });

  it("counts a key repeated in the file once as a duplicate", () => {
    expect(parseKeysFile("alpha-key-01\nalpha-key-01\nalpha-key-01").repeated).toBe(2);
  });

  it("reports each malformed line with its number and reason", () => {
    const parsed = parseKeysFile("good-key-001\nshort\nhas space key\nbad!chars1\n" + "x".repeat(129));
    expect(parsed.invalid).toEqual([
      { line: 2, reason: "too short (5 characters; keys have 8 to 128)" },
      { line: 3, reason: "a key cannot contain spaces (one key a line)" },
      { line: 4, reason: "only letters, digits, - and _ are allowed" },
      { line: 5, reason: "too long (129 characters; keys have 8 to 128)" },
    ]);
  });

  it("ignores the banner npm run prints, so generated files load as they are", () => {
    const output = "\n> teamgpt@0.1.0 keys:generate\n> tsx server/cli/keys-generate.ts --count 1\n\n# 1 key\nabcdefgh123\n";
    expect(parseKeysFile(output)).toEqual({ keys: ["abcdefgh123"], repeated: 0, invalid: [], invalidCount: 0 });
  });

  it("skips a byte-order mark", () => {
    expect(parseKeysFile("\uFEFFabcdefgh123\n").keys).toEqual(["abcdefgh123"]);
  });
});

describe("generated keys", () => {
  it("carry at least 100 random bits and are valid in a keys file", () => {
    const keys = Array.from({ length: 200 }, newRegistrationKey);
    expect(new Set(keys).size).toBe(200);
    for (const key of keys) {
      expect(key).toMatch(/^tgk_[0-9a-z]{26}$/); // 26 base32 characters = 130 bits
      expect(parseKeysFile(key).invalid).toEqual([]);
    }
  });
});

describe("a keys file with very many bad lines", () => {
  it("lists the first thousand and counts them all", () => {
    const parsed = parseKeysFile("!\n".repeat(1_000_000));
    expect(parsed.invalidCount).toBe(1_000_000);
    expect(parsed.invalid).toHaveLength(1_000);
    expect(parsed.invalid.at(-1)).toEqual({ line: 1_000, reason: "too short (1 characters; keys have 8 to 128)" });
  });
});
