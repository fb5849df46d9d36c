import { randomFillSync } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, no i/l/o/u

/**
 * Random bytes are drawn from the system's generator 4 KiB at a time and used once each: one
 * call per id cost ~3 µs, most of the time to add a key in a bulk load (as nanoid and uuid do).
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

function randomByte(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++]!;
}

/** Random base32 text; `length` characters carry 5 bits each. */
export function randomBase32(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[randomByte() & 31];
  return out;
}

/** Opaque ids for rows: 16 characters, 80 random bits. */
export function newId(): string {
  return randomBase32(16);
}
