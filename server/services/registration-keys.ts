import { and, count, desc, eq, gt, isNotNull, isNull, lte, or, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { z } from "zod";
import { LIMITS, recordId } from "./inputs";
import type { Db, Queryable } from "../db/client";
import { newId, randomBase32 } from "../db/ids";
import { registrationKeys, users, type RegistrationKeyRow } from "../db/schema";
import { decodeCursor, encodeCursor, olderThanCursor } from "./cursor";
import { ServiceError } from "./errors";

export const keyStatuses = ["unused", "used", "revoked", "expired"] as const;
export type KeyStatus = (typeof keyStatuses)[number];

const KEY_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;
export const MAX_KEYS_PER_BATCH = 1000;
export const MAX_KEYS_FILE_CHARS = 2_000_000;
export const MAX_NOTE_CHARS = LIMITS.keyNoteChars;

/** What a person types into the register form; the format is checked by the lookup. */
export const registrationKeyInput = z
  .string({ error: "Enter your registration key." })
  .trim()
  .min(1, "Enter your registration key.")
  .max(256, "That is not a registration key.");

export const generateKeysInput = z.object({
  count: z
    .number()
    .int()
    .min(1, "Generate at least 1 key.")
    .max(MAX_KEYS_PER_BATCH, `Generate at most ${MAX_KEYS_PER_BATCH} keys at once.`)
    .default(1),
  note: z.string().trim().max(MAX_NOTE_CHARS, `Keep the note under ${MAX_NOTE_CHARS} characters.`).optional(),
  expiresAt: z.iso
    .datetime({ offset: true, error: "Give the expiry as an ISO date-time, e.g. 2030-01-31T00:00:00Z." })
    .transform((value) => new Date(value))
    .refine((date) => date.getTime() > Date.now(), "The expiry must be in the future.")
    .optional(),
});

export const MAX_KEYS_PER_PAGE = 500;
export const listKeysInput = z
  .object({
    status: z.enum(keyStatuses).optional(),
    /** Without a limit every key comes at once (docs/api.md); with one, a page and the next page's cursor. */
    limit: z.number().int().min(1).max(MAX_KEYS_PER_PAGE, `Ask for at most ${MAX_KEYS_PER_PAGE} keys a page.`).optional(),
    cursor: z.string().max(200).nullish(),
  })
  .default({});
export const keyIdInput = z.object({ id: recordId });
export const loadKeysInput = z.object({
  text: z.string().max(MAX_KEYS_FILE_CHARS, "The keys file is too large (at most 2 MB)."),
});

/** docs/api.md `RegistrationKey`. */
export interface RegistrationKey {
  id: string;
  key: string;
  note: string | null;
  status: KeyStatus;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  usedAt: string | null;
  usedBy: { id: string; username: string } | null;
}

export function keyStatus(row: RegistrationKeyRow, now = new Date()): KeyStatus {
  if (row.revokedAt) return "revoked";
  if (row.usedAt) return "used";
  if (row.expiresAt && row.expiresAt <= now) return "expired";
  return "unused";
}

function toRegistrationKey(row: RegistrationKeyRow, usedBy: RegistrationKey["usedBy"], now = new Date()): RegistrationKey {
  return {
    id: row.id,
    key: row.key,
    note: row.note,
    status: keyStatus(row, now),
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    usedAt: row.usedAt?.toISOString() ?? null,
    usedBy,
  };
}

/** 130 random bits in lower-case base32; `_` keeps a double-click selecting the whole key. */
/** What the keys' services need of the process. */
interface KeysDeps {
  db: Db;
}

export function newRegistrationKey(): string {
  return `tgk_${randomBase32(26)}`;
}

/** `actorId`: the admin generating them (null from the command line). */
export function generateKeys(
  { db }: KeysDeps,
  actorId: string | null,
  input: Pick<z.infer<typeof generateKeysInput>, "count"> & Partial<z.infer<typeof generateKeysInput>>,
): RegistrationKey[] {
  const rows = Array.from({ length: input.count }, () => ({
    id: newId(),
    key: newRegistrationKey(),
    note: input.note || null,
    expiresAt: input.expiresAt ?? null,
    createdBy: actorId,
  }));
  const inserted = db.transaction((tx) => tx.insert(registrationKeys).values(rows).returning().all());
  return inserted.map((row) => toRegistrationKey(row, null));
}

function statusCondition(status: KeyStatus, now: Date): SQL | undefined {
  const live = and(isNull(registrationKeys.revokedAt), isNull(registrationKeys.usedAt));
  switch (status) {
    case "revoked":
      return isNotNull(registrationKeys.revokedAt);
    case "used":
      return and(isNull(registrationKeys.revokedAt), isNotNull(registrationKeys.usedAt));
    case "expired":
      return and(live, lte(registrationKeys.expiresAt, now));
    case "unused":
      return and(live, or(isNull(registrationKeys.expiresAt), gt(registrationKeys.expiresAt, now)));
  }
}

const usedByUser = alias(users, "used_by_user");

/**
 * Newest first, with who used each key. A bulk load makes thousands; the admin page shows a
 * page of them and how many there are, so it renders in milliseconds whatever the count.
 */
export function listKeys(
  { db }: KeysDeps,
  input: z.infer<typeof listKeysInput> = {},
): { items: RegistrationKey[]; nextCursor: string | null; total: number } {
  const now = new Date();
  const filter = input.status ? statusCondition(input.status, now) : undefined;
  const cursor = input.cursor ? decodeCursor(input.cursor) : null;
  const rows = db
    .select({ key: registrationKeys, usedBy: { id: usedByUser.id, username: usedByUser.username } })
    .from(registrationKeys)
    .leftJoin(usedByUser, eq(registrationKeys.usedBy, usedByUser.id))
    .where(and(filter, cursor ? olderThanCursor(registrationKeys.createdAt, registrationKeys.id, cursor) : undefined))
    .orderBy(desc(registrationKeys.createdAt), desc(registrationKeys.id))
    .limit(input.limit === undefined ? -1 : input.limit + 1)
    .all();
  const more = input.limit !== undefined && rows.length > input.limit;
  const page = more ? rows.slice(0, input.limit) : rows;
  const last = more ? page.at(-1)!.key : undefined;
  return {
    items: page.map((row) => toRegistrationKey(row.key, row.usedBy, now)),
    nextCursor: last ? encodeCursor(last.createdAt, last.id) : null,
    total: input.limit === undefined && !cursor ? rows.length : countKeys(db, filter),
  };
}

function countKeys(db: Db, filter: SQL | undefined): number {
  return db.select({ total: count() }).from(registrationKeys).where(filter).get()!.total;
}

function getKey(db: Db, id: string): RegistrationKey {
  const row = db
    .select({ key: registrationKeys, usedBy: { id: usedByUser.id, username: usedByUser.username } })
    .from(registrationKeys)
    .leftJoin(usedByUser, eq(registrationKeys.usedBy, usedByUser.id))
    .where(eq(registrationKeys.id, id))
    .get();
  if (!row) throw new ServiceError("NOT_FOUND", "That registration key does not exist.");
  return toRegistrationKey(row.key, row.usedBy);
}

/** Revoking is idempotent; a used key cannot be revoked, since revoking it would change nothing. */
export function revokeKey({ db }: KeysDeps, { id }: z.infer<typeof keyIdInput>): RegistrationKey {
  const current = getKey(db, id);
  if (current.status === "used") {
    throw new ServiceError(
      "CONFLICT",
      `This key was already used by ${current.usedBy?.username ?? "a deleted account"}; it cannot be revoked.`,
    );
  }
  if (current.status !== "revoked") {
    db.update(registrationKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(registrationKeys.id, id), isNull(registrationKeys.usedAt)))
      .run();
  }
  return getKey(db, id);
}

/** Throws the reason a person can act on when the key cannot be used to register. */
export function requireUsableKey(db: Queryable, key: string): void {
  const row = db.select().from(registrationKeys).where(eq(registrationKeys.key, key)).get();
  const field = "registrationKey";
  if (!row) throw new ServiceError("BAD_REQUEST", "This registration key is not valid. Check it, or ask an admin for a new one.", field);
  switch (keyStatus(row)) {
    case "used":
      throw new ServiceError("CONFLICT", "This registration key has already been used. Ask an admin for a new one.", field);
    case "revoked":
      throw new ServiceError("BAD_REQUEST", "This registration key has been revoked. Ask an admin for a new one.", field);
    case "expired":
      throw new ServiceError("BAD_REQUEST", "This registration key has expired. Ask an admin for a new one.", field);
    case "unused":
      return;
  }
}

/** Marks the key used by `userId` if, and only if, it is still usable at this instant. */
export function consumeRegistrationKey(db: Queryable, key: string, userId: string): void {
  const now = new Date();
  const result = db
    .update(registrationKeys)
    .set({ usedAt: now, usedBy: userId })
    .where(
      and(
        eq(registrationKeys.key, key),
        isNull(registrationKeys.usedAt),
        isNull(registrationKeys.revokedAt),
        or(isNull(registrationKeys.expiresAt), gt(registrationKeys.expiresAt, now)),
      ),
    )
    .run();
  if (result.changes === 1) return;
  requireUsableKey(db, key);
  throw new ServiceError("CONFLICT", "This registration key has already been used. Ask an admin for a new one.", "registrationKey");
}

export interface InvalidKeyLine {
  line: number;
  reason: string;
}

export interface ParsedKeysFile {
  keys: string[];
  /** Keys that appear again later in the same file. */
  repeated: number;
  /** The first MAX_INVALID_LINES malformed lines. */
  invalid: InvalidKeyLine[];
  invalidCount: number;
}

/**
 * Malformed lines listed, at most: a 2 MB file of one-character lines listed every one of its
 * million lines, a 72 MB answer that took the server to 680 MB.
 */
export const MAX_INVALID_LINES = 1_000;

/**
 * One key a line; spaces trimmed; blank lines and `#` comments skipped. Lines starting with
 * `>` are skipped too: `npm run` prints such a banner before a script's output, so
 * `npm run keys:generate -- --count 10 > keys.txt` makes a file that loads as it is.
 */
export function parseKeysFile(text: string): ParsedKeysFile {
  const seen = new Set<string>();
  const invalid: InvalidKeyLine[] = [];
  let invalidCount = 0;
  let repeated = 0;
  text.split(/\r\n|\n|\r/).forEach((raw, index) => {
    const value = raw.replace(/^\uFEFF/, "").trim();
    if (value === "" || value.startsWith("#") || value.startsWith(">")) return;
    const reason = invalidKeyReason(value);
    if (reason) {
      if (++invalidCount <= MAX_INVALID_LINES) invalid.push({ line: index + 1, reason });
    } else if (seen.has(value)) repeated++;
    else seen.add(value);
  });
  return { keys: [...seen], repeated, invalid, invalidCount };
}

function invalidKeyReason(value: string): string | null {
  if (KEY_PATTERN.test(value)) return null;
  if (/\s/.test(value)) return "a key cannot contain spaces (one key a line)";
  if (value.length < 8) return `too short (${value.length} characters; keys have 8 to 128)`;
  if (value.length > 128) return `too long (${value.length} characters; keys have 8 to 128)`;
  return "only letters, digits, - and _ are allowed";
}

export interface LoadKeysResult {
  added: number;
  duplicates: number;
  /** The first MAX_INVALID_LINES malformed lines; `invalidCount` says how many there are. */
  invalid: InvalidKeyLine[];
  invalidCount: number;
}

/**
 * Loads a keys file all or nothing: when any line is malformed, nothing is added, so a
 * corrected file can simply be loaded again.
 */
export function loadKeys({ db }: KeysDeps, actorId: string | null, input: { text: string; note?: string | null }): LoadKeysResult {
  const parsed = parseKeysFile(input.text);
  if (parsed.invalidCount > 0) return { added: 0, duplicates: parsed.repeated, invalid: parsed.invalid, invalidCount: parsed.invalidCount };
  // Built once for the whole file: building the insert anew for each key took ~30 µs a key,
  // two seconds for a 2 MB file, during which no other request or reply moved.
  const insert = db
    .insert(registrationKeys)
    .values({ id: sql.placeholder("id"), key: sql.placeholder("key"), note: input.note ?? null, createdBy: actorId })
    .onConflictDoNothing({ target: registrationKeys.key })
    .prepare();
  const added = db.transaction(() => {
    let inserted = 0;
    for (const key of parsed.keys) inserted += insert.run({ id: newId(), key }).changes;
    return inserted;
  });
  return { added, duplicates: parsed.repeated + (parsed.keys.length - added), invalid: [], invalidCount: 0 };
}
