import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BatchTicker, batchWindowMs } from "../../server/services/reply-followers";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function reply() {
  const wakes: number[] = [];
  return { wakes, wakeNow: () => wakes.push(Date.now()) };
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

describe("the batch window", () => {
  it("stays at 15 ms up to 100 running replies, then widens to 40 ms by 500 and no further", () => {
    expect([1, 100].map(batchWindowMs)).toEqual([15, 15]);
    const widening = [101, 200, 300, 400, 500].map(batchWindowMs);
    expect(widening).toEqual([...widening].sort((a, b) => a - b));
    expect(widening[0]).toBeLessThan(20);
    expect([500, 5000].map(batchWindowMs)).toEqual([40, 40]);
  });
});
