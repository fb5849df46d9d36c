/** Dates as "2026-11-24 09:30 UTC": the same on server and browser, so hydration agrees. */
export function formatDateTime(iso: string | null): string {
  if (!iso) return "—";
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
