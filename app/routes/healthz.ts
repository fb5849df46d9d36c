import { json, type LoaderFunctionArgs } from "@remix-run/node";

export function loader({ context }: LoaderFunctionArgs) {
  const report = context.checkHealth();
  return json(report, { status: report.ok ? 200 : 503, headers: { "Cache-Control": "no-store" } });
}
