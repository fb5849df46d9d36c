import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BatchTicker } from "../../server/services/generation";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function reply() {
  const wakes: number[] = [];
  return { wakes, wakeFollowers: () => wakes.push(Date.now()) };
}

describe("the beat that wakes running replies", () => {
  it("wakes every reply that is due on one timer, then keeps the beat while text keeps coming", () => {
    const ticker = new BatchTicker(() => 15);
    const [a, b] = [reply(), reply()];
    const start = Date.now();
    ticker.schedule(a, 10);
    vi.advanceTimersByTime(4);
    ticker.schedule(b, 15); // waits for the beat already set, not a timer of its own
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(6);
    expect(a.wakes).toEqual([start + 10]);
    expect(b.wakes).toEqual([start + 10]);

    ticker.schedule(a, 15);
    vi.advanceTimersByTime(15);
    expect(a.wakes).toEqual([start + 10, start + 25]);
    // A beat with nothing due ends it.
    vi.advanceTimersByTime(15);
    expect(vi.getTimerCount()).toBe(0);
    ticker.schedule(b, 7);
    vi.advanceTimersByTime(7);
    expect(b.wakes).toEqual([start + 10, start + 47]);
  });
});
