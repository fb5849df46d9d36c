import { describe, expect, it } from "vitest";
import { newId, randomBase32 } from "../../server/db/ids";
import { newRegistrationKey } from "../../server/services/registration-keys";

describe("random ids and keys", () => {
  it("are base32 without look-alike letters, never repeat, and use every character about equally", () => {
    const ids = Array.from({ length: 100_000 }, newId);
    expect(ids.every((id) => /^[0-9a-hjkmnp-tv-z]{16}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);

    const counts = new Map<string, number>();
    for (const char of ids.join("")) counts.set(char, (counts.get(char) ?? 0) + 1);
    const expected = (ids.length * 16) / 32;
    expect(counts.size).toBe(32);
    for (const count of counts.values()) expect(Math.abs(count - expected) / expected).toBeLessThan(0.02);
  });

  it("draw fresh bytes when their pool runs out, at any length", () => {
    expect(randomBase32(5000)).toHaveLength(5000);
    const keys = Array.from({ length: 1000 }, newRegistrationKey);
    expect(keys.every((key) => /^tgk_[0-9a-hjkmnp-tv-z]{26}$/.test(key))).toBe(true);
    expect(new Set(keys).size).toBe(1000);
  });
});
