/**
 * A benchmark run as saved in bench/results, and how two runs compare. Every run is kept as
 * `<date>-<quick|full>.json` (and as latest.json), and printed against the previous run of the
 * same kind. Any two runs:
 *   npx tsx bench/report.ts bench/results/<before>.json [bench/results/<after>.json = latest.json]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { round } from "./stats";

export interface BenchRow {
  metric: string;
  teamgpt: number;
  floor?: number;
  /** TeamGPT's value over the floor's. */
  ratio?: number;
  unit: string;
  target?: string;
  pass?: boolean;
}

export interface BenchReport {
  date: string;
  quick: boolean;
  machine: { cpus: number; model: string | undefined; memoryGiB: number; node: string };
  settings: { tokensPerReply: number; tokenDelayMs: number };
  rows: BenchRow[];
}

export interface RowChange {
  metric: string;
  unit: string;
  before: number;
  after: number;
  /** (after − before) / before. */
  change: number;
  verdict: "better" | "worse" | "same";
  /** TeamGPT over the floor, before and after: steadier than raw times on a busy machine. */
  ratio?: { before: number; after: number };
}

/** Changes smaller than this are within the spread between runs on a shared machine. */
export const NOISE = 0.1;

export const RESULTS_DIR = resolve(import.meta.dirname, "results");

/** Saves the run under its own name and as latest.json; returns the file it was saved as. */
export function saveReport(report: BenchReport, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${report.date.replaceAll(":", "-").replace(/\.\d+Z$/, "Z")}-${report.quick ? "quick" : "full"}.json`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(join(dir, "latest.json"), text);
  return file;
}

export function readReport(file: string): BenchReport {
  if (!existsSync(file)) throw new Error(`No benchmark result at ${file}; the saved runs are in ${RESULTS_DIR}.`);
  let report: Partial<BenchReport>;
  try {
    report = JSON.parse(readFileSync(file, "utf8")) as Partial<BenchReport>;
  } catch (error) {
    throw new Error(`${file} is not a benchmark result: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (typeof report.date !== "string" || !Array.isArray(report.rows)) {
    throw new Error(`${file} is not a benchmark result (no date or rows): pick one from ${RESULTS_DIR}`);
  }
  return report as BenchReport;
}

/** The newest saved run of the same kind (quick or full) before `date`, if any. */
export function previousReport(quick: boolean, date: string, dir = RESULTS_DIR): { file: string; report: BenchReport } | null {
  if (!existsSync(dir)) return null;
  const runs = readdirSync(dir)
    .filter((name) => name.endsWith(`-${quick ? "quick" : "full"}.json`))
    .map((name) => ({ file: join(dir, name), report: readReport(join(dir, name)) }))
    .filter(({ report }) => report.date < date)
    .sort((a, b) => a.report.date.localeCompare(b.report.date));
  return runs.at(-1) ?? null;
}

/** Metric by metric, for the metrics both runs measured. Rates are better higher, the rest lower. */
export function compareReports(before: BenchReport, after: BenchReport): RowChange[] {
  const earlier = new Map(before.rows.map((row) => [row.metric, row]));
  return after.rows.flatMap((row) => {
    const old = earlier.get(row.metric);
    if (!old || old.unit !== row.unit || old.teamgpt === 0) return [];
    const change = (row.teamgpt - old.teamgpt) / old.teamgpt;
    const improvement = row.unit.startsWith("/") ? change : -change;
    const verdict = Math.abs(change) < NOISE ? "same" : improvement > 0 ? "better" : "worse";
    const ratio = old.ratio !== undefined && row.ratio !== undefined ? { before: old.ratio, after: row.ratio } : undefined;
    return [{ metric: row.metric, unit: row.unit, before: old.teamgpt, after: row.teamgpt, change, verdict, ...(ratio ? { ratio } : {}) }];
  });
}

export function formatChanges(changes: RowChange[]): string {
  const values = changes.map((row) => `${row.before} → ${row.after} ${row.unit}`);
  const metricWidth = Math.max(0, ...changes.map((row) => row.metric.length));
  const valueWidth = Math.max(0, ...values.map((value) => value.length));
  return changes
    .map((row, i) => {
      const percent = `${row.change >= 0 ? "+" : "−"}${Math.abs(round(row.change * 100))}%`;
      const ratio = row.ratio ? `  (${row.ratio.before}× → ${row.ratio.after}× the floor)` : "";
      const verdict = row.verdict === "same" ? "≈" : row.verdict;
      return `${row.metric.padEnd(metricWidth)}  ${values[i]!.padStart(valueWidth)}  ${percent.padStart(7)} ${verdict.padEnd(6)}${ratio}`.trimEnd();
    })
    .join("\n");
}

function describe(file: string, report: BenchReport): string {
  const { machine } = report;
  return `${basename(file)} (${report.date}, ${machine.cpus} × ${machine.model ?? "cpu"}, Node ${machine.node})`;
}

/** What `npm run bench` prints after its table. */
export function comparisonText(before: { file: string; report: BenchReport }, after: { file: string; report: BenchReport }): string {
  const sameMachine = JSON.stringify(before.report.machine) === JSON.stringify(after.report.machine);
  const sameSettings = JSON.stringify(before.report.settings) === JSON.stringify(after.report.settings);
  return [
    `Against ${describe(before.file, before.report)}; changes under ${NOISE * 100}% are marked ≈:`,
    ...(sameMachine ? [] : ["(measured on another machine or Node: compare the ratios to the floor, not the times)"]),
    ...(sameSettings ? [] : ["(measured with other settings: replies of another length or pace)"]),
    formatChanges(compareReports(before.report, after.report)),
  ].join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const [beforeFile, afterFile = join(RESULTS_DIR, "latest.json")] = process.argv.slice(2);
  if (!beforeFile) {
    console.error("usage: npx tsx bench/report.ts <before.json> [after.json = bench/results/latest.json]");
    process.exit(2);
  }
  try {
    console.log(comparisonText({ file: beforeFile, report: readReport(beforeFile) }, { file: afterFile, report: readReport(afterFile) }));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
