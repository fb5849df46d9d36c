import { hash, verify } from "@node-rs/argon2";
import { ServiceError } from "../services/errors";

// `Algorithm` is an ambient const enum, which isolated modules cannot read: 2 is Argon2id.
const ARGON2ID = 2;

// OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane (about 10 ms a hash on our machines).
const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * argon2 runs on libuv's thread pool (4 threads), which every file read shares: the static-file
 * check in front of each page among them. A burst of 1,000 logins filled the pool and kept
 * every page and /healthz waiting ~40 s. At most two hashes run at once, leaving the rest of the
 * pool to everything else; a flood beyond what can be checked in a few seconds is refused.
 */
const MAX_RUNNING_HASHES = 2;
const MAX_WAITING_HASHES = 100;

class HashQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= MAX_RUNNING_HASHES) {
      if (this.waiting.length >= MAX_WAITING_HASHES) {
        throw new ServiceError("TOO_MANY_REQUESTS", "The server is busy checking passwords. Try again in a few seconds.", undefined, 5);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, so nobody can slip in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const hashing = new HashQueue();

export function hashPassword(password: string): Promise<string> {
  return hashing.run(() => hash(password, ARGON2_OPTIONS));
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return hashing.run(async () => {
    try {
      return await verify(passwordHash, password);
    } catch {
      // A malformed stored hash must read as "wrong password", never as a crash.
      return false;
    }
  });
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same argon2 work as a real check, so that "no such user" takes as long as
 * "wrong password" and login timing does not reveal which usernames exist.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword("teamgpt-timing-equaliser").catch((error: unknown) => {
    dummyHash = undefined; // refused while busy: the next check makes it
    throw error;
  });
  await verifyPassword(await dummyHash, password);
  return false;
}
