import { describe, expect, it } from "vitest";
import { endOfDayIn, formatLocalDateTime } from "../../app/lib/format";

describe("dates where people are", () => {
  it("a day picked in the admin's zone ends at the end of that day there", () => {
    expect(endOfDayIn("2026-12-07", "America/New_York")).toBe("2026-12-08T04:59:59.999Z");
    expect(endOfDayIn("2026-12-07", "Asia/Tokyo")).toBe("2026-12-07T14:59:59.999Z");
    expect(endOfDayIn("2026-12-07", "Asia/Kolkata")).toBe("2026-12-07T18:29:59.999Z");
    // The day clocks go back in Berlin: 23:59:59 is in winter time (UTC+1).
    expect(endOfDayIn("2026-10-25", "Europe/Berlin")).toBe("2026-10-25T22:59:59.999Z");
  });

  it("without a zone (no JavaScript), or with one that does not exist, the day ends in UTC", () => {
    expect(endOfDayIn("2026-12-07", undefined)).toBe("2026-12-07T23:59:59.999Z");
    expect(endOfDayIn("2026-12-07", "Mars/Olympus_Mons")).toBe("2026-12-07T23:59:59.999Z");
  });

  it("a moment reads in the viewer's zone, with the zone named", () => {
    expect(formatLocalDateTime("2026-12-07T23:30:00.000Z", "Europe/Berlin")).toBe("2026-12-08 00:30 CET");
    expect(formatLocalDateTime("2026-12-07T23:30:00.000Z", "UTC")).toBe("2026-12-07 23:30 UTC");
  });

  it("refuses what is not a calendar day instead of rolling it into another", () => {
    expect(() => endOfDayIn("2026-02-31", "UTC")).toThrow(RangeError);
    expect(() => endOfDayIn("0024-01-01", "UTC")).toThrow(RangeError);
    expect(() => endOfDayIn("soon", undefined)).toThrow(RangeError);
  });
});
