import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, no i/l/o/u

/** Random base32 text; `length` characters carry 5 bits each. */
export function randomBase32(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! & 31];
  return out;
}

/** Opaque ids for rows: 16 characters, 80 random bits. */
export function newId(): string {
  return randomBase32(16);
}
