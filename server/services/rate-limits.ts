import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { Env } from "../env";
import { ServiceError } from "./errors";

/**
 * Abuse limits, in memory (one process). Budgets are per key (a network: an IPv4 address or an
 * IPv6 /64; a username; a user id);
 * running out answers TOO_MANY_REQUESTS with when to try again. RATE_LIMITS=off disables them.
 */
export type LimitsConfig = Pick<
  Env,
  | "RATE_LIMITS"
  | "LOGIN_FAILURES_PER_IP"
  | "LOGIN_FAILURES_PER_ACCOUNT"
  | "REGISTRATION_FAILURES_PER_IP"
  | "MESSAGES_PER_MINUTE"
  | "CONVERSATIONS_PER_MINUTE"
  | "MAX_RUNNING_REPLIES"
>;

function policies(config: LimitsConfig) {
  return {
    /** Failed logins from one address, per 15 minutes: slows password spraying. */
    loginFailuresPerIp: { points: config.LOGIN_FAILURES_PER_IP, duration: 15 * 60 },
    /**
     * Wrong passwords for one account from anywhere (logins, and the current password when
     * changing it), per 15 minutes: slows guessing one account's password.
     */
    loginFailuresPerUsername: { points: config.LOGIN_FAILURES_PER_ACCOUNT, duration: 15 * 60 },
    /**
     * Failed registrations, first-admin setups and password resets from one address, per hour:
     * slows guessing registration keys and the tokens of one-time links.
     */
    registerFailuresPerIp: { points: config.REGISTRATION_FAILURES_PER_IP, duration: 60 * 60 },
    /** Messages one person sends, per minute. */
    messagesPerUser: { points: config.MESSAGES_PER_MINUTE, duration: 60 },
    /** Conversations one person starts, per minute. */
    conversationsPerUser: { points: config.CONVERSATIONS_PER_MINUTE, duration: 60 },
  };
}

export type LimitName = keyof ReturnType<typeof policies>;

const MESSAGES: Record<LimitName, (seconds: number) => string> = {
  loginFailuresPerIp: (s) => `Too many failed logins from your network. Try again in ${s} s.`,
  loginFailuresPerUsername: (s) => `Too many failed logins for this account. Try again in ${s} s.`,
  registerFailuresPerIp: (s) => `Too many wrong registration keys or expired links from your network. Try again in ${s} s.`,
  messagesPerUser: (s) => `You are sending messages too fast. Try again in ${s} s.`,
  conversationsPerUser: (s) => `You are starting conversations too fast. Try again in ${s} s.`,
};

/**
 * An attempt counted before its expensive work starts. Attempts racing each other (a batch,
 * forty parallel requests) each take their point first, so no more of them get through than
 * the budget allows; one that succeeds gives its point back (`succeeded`).
 */
export interface Attempt {
  /** The attempt did not fail: it no longer counts. */
  succeeded(): Promise<void>;
}

const NOTHING_COUNTED: Attempt = { succeeded: async () => {} };

export class RateLimits {
  private readonly limiters = new Map<LimitName, RateLimiterMemory>();
  private readonly inFlight = new Map<string, number>();

  readonly enabled: boolean;
  /** Replies one person may have running at once. */
  readonly maxRunningReplies: number;

  constructor(config: LimitsConfig) {
    this.enabled = config.RATE_LIMITS;
    this.maxRunningReplies = config.MAX_RUNNING_REPLIES;
    for (const [name, policy] of Object.entries(policies(config))) this.limiters.set(name as LimitName, new RateLimiterMemory(policy));
  }

  /** Spends `points` (one message, say, or one per compared model); throws when the budget is used up. */
  async consume(name: LimitName, key: string, points = 1): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.limiter(name).consume(key, points);
    } catch (rejection) {
      throw this.tooMany(name, rejection);
    }
  }

  /**
   * Counts an attempt that only counts if it fails (a login, a registration): its point is
   * taken now, before the work, and given back if it succeeds. Throws when none is left.
   */
  async attempt(name: LimitName, key: string): Promise<Attempt> {
    if (!this.enabled) return NOTHING_COUNTED;
    try {
      await this.limiter(name).consume(key);
    } catch (rejection) {
      // A refused attempt checked nothing, so it is no failure: counted, a burst of right
      // passwords from one office locked everyone there out for 15 minutes.
      if (rejection instanceof RateLimiterRes) await this.limiter(name).reward(key, 1);
      throw this.tooMany(name, rejection);
    }
    let settled = false;
    return {
      succeeded: async () => {
        if (settled) return;
        settled = true;
        await this.limiter(name).reward(key, 1);
      },
    };
  }

  /**
   * Holds one of `max` places for work running now for `key` (password checks from one network):
   * one network cannot take every place in a queue everybody shares. Returns the release.
   */
  hold(key: string, max: number, message: string): () => void {
    if (!this.enabled) return () => {};
    const held = this.inFlight.get(key) ?? 0;
    if (held >= max) throw new ServiceError("TOO_MANY_REQUESTS", message, undefined, 5);
    this.inFlight.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left > 0) this.inFlight.set(key, left);
      else this.inFlight.delete(key);
    };
  }

  async reset(name: LimitName, key: string): Promise<void> {
    if (this.enabled) await this.limiter(name).delete(key);
  }

  private limiter(name: LimitName): RateLimiterMemory {
    return this.limiters.get(name)!;
  }

  private tooMany(name: LimitName, rejection: unknown): ServiceError {
    if (!(rejection instanceof RateLimiterRes)) return rejection as ServiceError;
    const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    return new ServiceError("TOO_MANY_REQUESTS", MESSAGES[name](seconds), undefined, seconds);
  }
}

export const NO_LIMITS = new RateLimits({
  RATE_LIMITS: false,
  LOGIN_FAILURES_PER_IP: 1,
  LOGIN_FAILURES_PER_ACCOUNT: 1,
  REGISTRATION_FAILURES_PER_IP: 1,
  MESSAGES_PER_MINUTE: 1,
  CONVERSATIONS_PER_MINUTE: 1,
  MAX_RUNNING_REPLIES: 1,
});
