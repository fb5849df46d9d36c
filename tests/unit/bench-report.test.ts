import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compareReports, previousReport, readReport, saveReport, type BenchReport, type BenchRow } from "../../bench/report";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "teamgpt-bench-report-"));
  dirs.push(dir);
  return dir;
};

function report(date: string, rows: BenchRow[], quick = false): BenchReport {
  return {
    date,
    quick,
    machine: { cpus: 2, model: "test cpu", memoryGiB: 4, node: "v20.20.0" },
    settings: { tokensPerReply: 64, tokenDelayMs: 10 },
    rows,
  };
}

describe("comparing benchmark runs", () => {
  it("calls lower times and memory better, higher rates better, and small changes noise", () => {
    const before = report("2026-11-01T00:00:00.000Z", [
      { metric: "cpu", teamgpt: 4, unit: "ms" },
      { metric: "rss", teamgpt: 100, unit: "MB" },
      { metric: "logins", teamgpt: 100, unit: "/s" },
      { metric: "list", teamgpt: 2, unit: "ms" },
      { metric: "ttfd", teamgpt: 20, floor: 10, ratio: 2, unit: "ms" },
      { metric: "only before", teamgpt: 1, unit: "ms" },
    ]);
    const after = report("2026-11-02T00:00:00.000Z", [
      { metric: "cpu", teamgpt: 3, unit: "ms" },
      { metric: "rss", teamgpt: 120, unit: "MB" },
      { metric: "logins", teamgpt: 80, unit: "/s" },
      { metric: "list", teamgpt: 2.15, unit: "ms" },
      { metric: "ttfd", teamgpt: 15, floor: 10, ratio: 1.5, unit: "ms" },
      { metric: "only after", teamgpt: 1, unit: "ms" },
    ]);
    const changes = compareReports(before, after);
    expect(changes.map(({ metric, verdict }) => [metric, verdict])).toEqual([
      ["cpu", "better"],
      ["rss", "worse"],
      ["logins", "worse"],
      ["list", "same"],
      ["ttfd", "better"],
    ]);
    expect(changes[0]!.change).toBeCloseTo(-0.25);
    expect(changes.find((row) => row.metric === "ttfd")!.ratio).toEqual({ before: 2, after: 1.5 });
  });

  it("saves each run under its own name and finds the previous run of the same kind", () => {
    const dir = tempDir();
    const older = saveReport(report("2026-11-01T10:00:00.123Z", []), dir);
    saveReport(report("2026-11-02T10:00:00.000Z", [], true), dir);
    const newer = saveReport(report("2026-11-03T10:00:00.000Z", []), dir);
    expect(older).toBe(join(dir, "2026-11-01T10-00-00Z-full.json"));
    expect((JSON.parse(readFileSync(join(dir, "latest.json"), "utf8")) as { date: string }).date).toBe("2026-11-03T10:00:00.000Z");

    expect(previousReport(false, "2026-11-04T00:00:00.000Z", dir)?.file).toBe(newer);
    expect(previousReport(false, "2026-11-03T10:00:00.000Z", dir)?.file).toBe(older);
    expect(previousReport(true, "2026-11-04T00:00:00.000Z", dir)?.report.quick).toBe(true);
    expect(previousReport(true, "2026-11-01T00:00:00.000Z", dir)).toBeNull();
    expect(previousReport(false, "2026-11-04T00:00:00.000Z", join(dir, "missing"))).toBeNull();
  });

  it("says plainly when a file is not a saved run", () => {
    const dir = tempDir();
    expect(() => readReport(join(dir, "nope.json"))).toThrow(/^No benchmark result at .*nope\.json/);
    writeFileSync(join(dir, "broken.json"), "{ not json");
    expect(() => readReport(join(dir, "broken.json"))).toThrow(/broken\.json is not a benchmark result/);
    writeFileSync(join(dir, "other.json"), JSON.stringify({ name: "something else" }));
    expect(() => readReport(join(dir, "other.json"))).toThrow(/no date or rows/);
  });
});
